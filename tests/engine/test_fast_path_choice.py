"""The fast path chosen per machine by measurement (studio/engine/train/fast_path.py): cached, reused,
overridden by an explicit precision, never a path the kind's quality check did not approve."""

import dataclasses
import json

import pytest
import torch

from studio.engine.models import get_kind
from studio.engine.models.cyclegan.trainer import CycleGANConfig
from studio.engine.models.dcgan.trainer import DCGANConfig
from studio.engine.train import fast_path as fp
from studio.engine.train.fast_path import ChoiceCache, FastPath, choose

CPU = torch.device("cpu")
FP32, FP32_CL = FastPath("fp32"), FastPath("fp32", channels_last=True)
BF16_CL_SMALL = FastPath("bf16", channels_last=True, small_maps=True)


class FakeTimer:
    """Injected step times: seconds per path label; records which paths were timed."""

    def __init__(self, seconds: dict[FastPath, float]):
        self.seconds, self.timed = seconds, []

    def __call__(self, path: FastPath) -> float:
        self.timed.append(path)
        return self.seconds.get(path, 1.0)


@pytest.fixture
def native_bf16(monkeypatch):
    def set_native(flag: bool):
        monkeypatch.setattr("studio.engine.device.cpu_has_native_bf16", lambda: flag)

    set_native(True)
    return set_native


@pytest.fixture(autouse=True)
def _measuring_on(monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_FAST_PATH", "measure")  # the suite turns it off (tests/conftest.py)


def _dcgan(cache, timer, **cfg):
    kind = get_kind("dcgan")
    cfg = DCGANConfig(**{"size": 32, "batch": 8, **cfg})
    return choose("dcgan", cfg, CPU, kind.approved_paths(), timer, cache=cache)


def test_the_fastest_approved_path_is_measured_once_then_reused(tmp_path, native_bf16):
    cache = ChoiceCache(tmp_path / "fast-paths.json")
    timer = FakeTimer({FP32: 0.9, FP32_CL: 0.7, BF16_CL_SMALL: 0.2})
    first = _dcgan(cache, timer)
    assert first.how == "measured" and first.path == BF16_CL_SMALL
    assert set(timer.timed) == set(get_kind("dcgan").approved_paths())  # every approved path, each once
    assert first.step_ms[BF16_CL_SMALL.label] == 200.0 and first.step_ms[FP32.label] == 900.0
    assert "bf16 + channels_last + small-map matmuls (measured fastest on this machine: 200 ms a step" in \
        first.describe()

    again = FakeTimer({FP32: 0.1})  # would win now, but nothing is timed: the choice is remembered
    second = _dcgan(cache, again, lr=1e-3)  # a learning rate changes no step's work
    assert again.timed == [] and second.how == "cached" and second.path == BF16_CL_SMALL
    assert second.step_ms == first.step_ms

    other_shape = FakeTimer({FP32: 0.1})
    assert _dcgan(cache, other_shape, batch=16).path == FP32 and other_shape.timed  # a new shape: measured


class NoisyTimer(FakeTimer):
    """Step times per path for each pass in turn: a neighbour's burst can slow one pass down."""

    def __init__(self, passes: dict[FastPath, list[float]]):
        super().__init__({})
        self.passes = {p: list(t) for p, t in passes.items()}

    def __call__(self, path: FastPath) -> float:
        self.timed.append(path)
        return self.passes[path].pop(0)


def test_a_close_call_is_timed_twice_and_each_path_keeps_its_faster_time(tmp_path, native_bf16):
    native_bf16(False)
    # the faster layout's first step landed in a burst: 186 against 183 ms; timed again, 140
    timer = NoisyTimer({FP32: [0.183, 0.190], FP32_CL: [0.186, 0.140]})
    choice = _dcgan(ChoiceCache(tmp_path / "c.json"), timer)
    assert choice.path == FP32_CL and timer.timed.count(FP32) == 2 and timer.timed.count(FP32_CL) == 2
    assert choice.step_ms == {FP32.label: 183.0, FP32_CL.label: 140.0}
    # a clear gap (beyond fast_path.CLOSE_CALL) is not timed again
    clear = NoisyTimer({FP32: [0.25], FP32_CL: [0.15]})
    assert _dcgan(ChoiceCache(tmp_path / "d.json"), clear).path == FP32_CL and len(clear.timed) == 2
    assert 0.25 > fp.CLOSE_CALL * 0.15


def test_measuring_again_replaces_a_choice_made_on_a_busy_machine(tmp_path, native_bf16, monkeypatch):
    cache = ChoiceCache(tmp_path / "fast-paths.json")
    _dcgan(cache, FakeTimer({FP32: 0.1}))  # a neighbour slowed every other candidate down
    monkeypatch.setenv("GAN_STUDIO_FAST_PATH", "again")
    quiet = FakeTimer({BF16_CL_SMALL: 0.2})
    assert _dcgan(cache, quiet).path == BF16_CL_SMALL and quiet.timed
    monkeypatch.setenv("GAN_STUDIO_FAST_PATH", "measure")
    assert _dcgan(cache, FakeTimer({})).how == "cached" and _dcgan(cache, FakeTimer({})).path == BF16_CL_SMALL


def test_an_explicit_precision_wins_over_measurement_and_cache(tmp_path, native_bf16):
    cache = ChoiceCache(tmp_path / "fast-paths.json")
    _dcgan(cache, FakeTimer({BF16_CL_SMALL: 0.1}))  # bf16 remembered as fastest
    timer = FakeTimer({})
    mine = _dcgan(cache, timer, precision="fp32")
    assert timer.timed == [] and mine.how == "yours" and mine.path == FP32
    bf16 = _dcgan(cache, timer, precision="bf16", channels_last=True)
    assert bf16.path == BF16_CL_SMALL and bf16.how == "yours" and timer.timed == []


def test_a_path_the_quality_check_rejected_is_never_timed_nor_taken_from_the_cache(tmp_path, native_bf16):
    """Only a kind's approved paths are candidates: the DCGAN's quality check approved bf16 with the
    channels_last layout or the small-map matmuls, never plain bf16 alone, so that one is neither
    timed nor taken from a cache that names it."""
    dcgan = get_kind("dcgan")
    plain_bf16 = FastPath("bf16")
    assert plain_bf16 not in dcgan.approved_paths()
    cache = ChoiceCache(tmp_path / "fast-paths.json")
    rest = {p: 0.5 for p in dcgan.approved_paths()}
    first = _dcgan(cache, FakeTimer({**rest, FP32: 0.3, plain_bf16: 0.01}))
    assert first.path == FP32

    # a remembered plain bf16 (a hand-edited file, or an approval since withdrawn) is measured over, not used
    data = json.loads(cache.path.read_text())
    (key,) = data["choices"]
    data["choices"][key]["path"] = dataclasses.asdict(plain_bf16)
    cache.path.write_text(json.dumps(data))
    redo = FakeTimer({**rest, FP32_CL: 0.2, plain_bf16: 0.01})
    again = _dcgan(cache, redo)
    assert again.how == "measured" and again.path == FP32_CL and plain_bf16 not in redo.timed


def test_bf16_is_not_timed_where_the_cpu_emulates_it(tmp_path, native_bf16):
    native_bf16(False)  # an AVX2 CPU: one emulated bf16 step would take minutes
    timer = FakeTimer({FP32: 0.5, FP32_CL: 0.4})
    choice = _dcgan(ChoiceCache(tmp_path / "c.json"), timer)
    assert sorted(p.label for p in timer.timed) == ["fp32", "fp32 + channels_last"] and choice.path == FP32_CL


def test_one_candidate_needs_no_measurement_and_an_oom_candidate_is_passed_over(tmp_path, native_bf16):
    gan = get_kind("gan")
    timer = FakeTimer({})
    only = choose("gan", gan.config_cls(), CPU, gan.approved_paths(), timer, cache=ChoiceCache(tmp_path / "c.json"))
    assert only.how == "only" and only.path == FP32 and timer.timed == []

    def oom_for_fp32(path):
        if path == FP32:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return 0.3

    native_bf16(False)
    assert _dcgan(ChoiceCache(tmp_path / "d.json"), oom_for_fp32).path == FP32_CL


def test_data_parallel_processes_and_a_damaged_file_measure_nothing(tmp_path, native_bf16):
    path = tmp_path / "fast-paths.json"
    path.write_text("{not json")
    timer = FakeTimer({})
    kind = get_kind("dcgan")
    cfg = DCGANConfig(size=32, batch=8)
    assert choose("dcgan", cfg, CPU, kind.approved_paths(), timer, cache=ChoiceCache(path), may_measure=False) is None
    assert timer.timed == []  # None: each process takes the trainer's own default, all alike


def test_a_real_measurement_through_the_session_then_the_cached_choice(tmp_path, monkeypatch):
    """Tiny DCGAN on this machine: the first session times each candidate on the real batch and
    writes the cache; the second, for another project of the same shape, measures nothing."""
    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import DataConfig
    from studio.engine.data.procedural import discs
    from studio.engine.images import save_png
    from studio.engine.models.sessions import create_session

    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "images"
    folder.mkdir()
    for i, pic in enumerate(discs(12, 16, seed=0)):
        save_png(folder / f"{i}.png", pic)
    timed = []
    real_time_steps = fp.time_steps
    monkeypatch.setattr(fp, "time_steps", lambda t: timed.append(t.fast.path) or real_time_steps(t))
    overrides = {"batch": 4, "ngf": 8, "ndf": 8}
    settings = RunSettings(steps=2, device="cpu")
    first = create_session(tmp_path / "p1", "dcgan", {"data": str(folder)}, DataConfig(size=32), settings, overrides)
    first.close()
    choice = first.trainer.fast
    assert choice.how == "measured" and len(timed) >= 2 and choice.path in timed
    assert set(choice.step_ms) == {p.label for p in timed} and all(ms > 0 for ms in choice.step_ms.values())
    assert first.trainer.memory_format == (torch.channels_last if choice.path.channels_last
                                           else torch.contiguous_format)
    assert (tmp_path / "cache" / "fast-paths.json").is_file()

    timed.clear()
    second = create_session(tmp_path / "p2", "dcgan", {"data": str(folder)}, DataConfig(size=32), settings, overrides)
    second.close()
    assert timed == [] and second.trainer.fast.how == "cached" and second.trainer.fast.path == choice.path
    from studio.engine.train.fast_path import describe_training

    assert describe_training(second.trainer).startswith("CPU (") and "measured fastest" in \
        describe_training(second.trainer)


def test_without_a_measurement_a_gpu_takes_bf16_only_for_kinds_that_approved_it(monkeypatch):
    from studio.engine.device import fast_path

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    gpu = torch.device("cuda")
    assert fast_path(gpu, "auto", False) == ("bf16", True)  # the DCGAN's rule on a GPU
    assert fast_path(gpu, "auto", False, gpu_bf16=False) == ("fp32", False)  # pix2pix's, the 2014 GAN's
    assert fast_path(gpu, "bf16", False, gpu_bf16=False) == ("bf16", False)  # asked for: kept


@pytest.mark.parametrize("name", ["cyclegan", "stylegan"])
def test_kinds_with_approved_bf16_time_it_where_the_cpu_computes_it_natively(tmp_path, native_bf16, name):
    """bf16 autocast passed the CycleGAN's quality check over eight seeds and the style kind's over five
    (kind.approved_paths): a CPU with native bf16 times it beside fp32 in both layouts and keeps it
    when it is fastest; one that emulates bf16 never times it. The style kind's precision is measured
    unless the user sets one."""
    from studio.engine.data.dataset import DataConfig

    kind = get_kind(name)
    bf16, bf16_cl = FastPath("bf16"), FastPath("bf16", channels_last=True)
    assert set(kind.approved_paths()) == {FP32, FP32_CL, bf16, bf16_cl}
    cfg = (CycleGANConfig(size=32, ngf=4, ndf=4) if name == "cyclegan"
           else kind.default_config(DataConfig(size=32), {}, {"batch": 4}))
    assert cfg.precision == "auto"
    for native, expected in ((True, bf16), (False, FP32)):
        native_bf16(native)
        timer = FakeTimer({FP32: 0.5, FP32_CL: 0.6, bf16: 0.25, bf16_cl: 0.3})
        choice = choose(name, cfg, CPU, kind.approved_paths(), timer, cache=ChoiceCache(tmp_path / f"c-{native}.json"))
        assert choice.path == expected and (bf16 in timer.timed and bf16_cl in timer.timed) == native
        assert choice.how == "measured" and {FP32, FP32_CL} <= set(timer.timed)


