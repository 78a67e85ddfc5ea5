"""The pix2pix kind: U-Net and PatchGAN shapes, learning from pairs (beats step 0 and an unpaired
CycleGAN on the same images), exact resume, the role sets, and translating with the shared path."""

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from studio.cli.main import main
from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig
from studio.engine.data.demo_sets import faces
from studio.engine.errors import CheckpointError, UserError
from studio.engine.explore.translate import Translator
from studio.engine.models import get_kind
from studio.engine.models.cyclegan.trainer import CycleGANConfig, CycleGANTrainer
from studio.engine.models.pix2pix.nets import UnetGenerator, dropout_blocks, unet_levels
from studio.engine.models.pix2pix.trainer import Pix2PixConfig, Pix2PixTrainer
from studio.engine.project.checkpoints import load_checkpoint, save_checkpoint

CFG = Pix2PixConfig(size=64, ngf=4, ndf=4, batch=2, preview_count=3)


def _data(n, seed, cfg=CFG):
    shape = (n, cfg.channels, cfg.load_size, cfg.load_size)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _trainer(cfg=CFG, n=5, seed=3, total_steps=8):
    return Pix2PixTrainer(cfg, _data(n, 1, cfg), _data(n, 2, cfg), seed=seed, total_steps=total_steps)


# ----- networks ----------------------------------------------------------------------------------
def test_unet_levels_follow_the_size_and_keep_the_size():
    assert [unet_levels(s) for s in (64, 128, 256, 512)] == [6, 7, 8, 8]  # 1x1 bottleneck up to 256 px
    assert [dropout_blocks(n) for n in (6, 7, 8)] == [1, 2, 3]  # the reference's 3 at 256 px
    g = UnetGenerator(3, 3, 64, 8)
    assert sum(p.numel() for p in g.parameters()) == 54_409_603  # the reference's unet_256 (instance norm)
    assert sum(isinstance(m, torch.nn.Dropout) for m in g.modules()) == 3
    small = UnetGenerator(1, 1, 4, 6).eval()
    x = torch.randn(2, 1, 64, 64)
    assert small(x).shape == x.shape and small(torch.randn(1, 1, 128, 192)).shape == (1, 1, 128, 192)
    assert small(x).abs().max() <= 1


def test_unsupported_configs_are_user_errors():
    for bad in ({"size": 32}, {"size": 1024}, {"size": 96, "levels": 6}, {"make_pairs": "sepia"}, {"channels": 2}):
        with pytest.raises(UserError):
            dataclasses.replace(CFG, **bad).validate()


# ----- learning ----------------------------------------------------------------------------------
def _channel_rotation_pairs(n, size, seed):
    """Discs of random colour on random backgrounds -> the same picture with its channels rotated.
    Targets are distributed exactly as inputs, so without the pairs nothing tells which target
    belongs to which input: an unpaired model has no signal beyond the identity."""
    rng = np.random.default_rng(seed)
    a = np.empty((n, size, size, 3), np.uint8)
    s = 4
    for i in range(n):
        im = Image.new("RGB", (size * s, size * s), tuple(int(v) for v in rng.integers(0, 256, 3)))
        r = rng.uniform(0.25, 0.45) * size * s
        cx, cy = rng.uniform(r, size * s - r, 2)
        disc = tuple(int(v) for v in rng.integers(0, 256, 3))
        ImageDraw.Draw(im).ellipse([cx - r, cy - r, cx + r, cy + r], fill=disc)
        a[i] = np.asarray(im.resize((size, size), Image.Resampling.BOX))
    to_t = lambda x: torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    return to_t(a), to_t(a[..., [1, 2, 0]])


def _l1(translated, targets):
    return float((translated - (targets.float() / 127.5 - 1)).abs().mean()) / 2  # 0-1 of the pixel range


@pytest.mark.timeout(300)
def test_paired_data_beats_step_zero_and_an_unpaired_cyclegan():
    n, size, steps = 48, 64, 80
    inputs, targets = _channel_rotation_pairs(n + 8, size, seed=0)
    train_a, train_b, test_a, test_b = inputs[:n], targets[:n], inputs[n:], targets[n:]
    p = Pix2PixTrainer(Pix2PixConfig(size=size, ngf=8, ndf=8, batch=4, lr=1e-3, jitter=False), train_a, train_b,
                       seed=1, total_steps=10 * steps)
    start = _l1(p.translate(test_a), test_b)
    for _ in range(steps):
        p.step()
    paired = _l1(p.translate(test_a), test_b)

    ccfg = CycleGANConfig(size=size, ngf=8, ndf=8, n_blocks=1, batch=4, pool_size=8, lr=1e-3)
    grow = lambda x: torch.nn.functional.interpolate(  # noqa: E731 - CycleGAN decodes at its load size
        x.float(), size=ccfg.load_size, mode="bilinear", antialias=True).round().clamp(0, 255).to(torch.uint8)
    c = CycleGANTrainer(ccfg, grow(train_a), grow(train_b), seed=1, total_steps=10 * steps)
    for _ in range(steps):
        c.step()
    unpaired = _l1(c.translate(test_a, "a2b"), test_b)
    print(f"\nL1 to held-out targets after {steps} steps: pix2pix {start:.3f} -> {paired:.3f}, "
          f"unpaired CycleGAN {unpaired:.3f}")
    assert paired < 0.6 * start, (start, paired)
    assert paired < 0.7 * unpaired, (paired, unpaired)


# ----- training state ----------------------------------------------------------------------------
def test_step_losses_samples_and_quality():
    t = _trainer()
    losses = t.step()
    assert set(losses) == {"D_real", "D_fake", "G_gan", "G_L1"}
    grid = t.samples()
    assert grid.shape[2] == 3 and grid.shape[0] > grid.shape[1] / 3 * 2  # 3 rows: input, translation, target
    state = t.rng.get_state()
    q = t.quality()
    assert {"swd", "l1"} <= set(q) and 0 <= q["l1"] <= 1
    assert torch.equal(t.rng.get_state(), state) and t.G.training  # quality and samples leave the run alone
    assert np.array_equal(t.samples(), grid)  # dropout off: the same preview every time


def test_exact_resume_through_checkpoint_files(tmp_path):
    """N+M steps in one go == N steps, save, load in a fresh trainer, M steps: bit-identical weights,
    optimizer moments, RNG (dropout masks included) and data position, across the LR decay."""
    one_go = _trainer()
    for _ in range(8):
        one_go.step()
    first = _trainer()
    for _ in range(5):
        first.step()
    tensors, meta = first.state_dict()
    path = save_checkpoint(tmp_path, first.global_step, tensors, meta)
    resumed = _trainer(seed=9)  # another seed: everything must come from the checkpoint
    resumed.load_state_dict(*load_checkpoint(path))
    for _ in range(3):
        resumed.step()
    expected, got = one_go.state_dict()[0], resumed.state_dict()[0]
    assert expected.keys() == got.keys()
    for k in expected:
        assert torch.equal(expected[k], got[k]), k
    assert resumed.lr == one_go.lr < CFG.lr
    assert np.array_equal(resumed.samples(), one_go.samples())


def test_a_checkpoint_that_does_not_fit_leaves_the_trainer_unchanged():
    t = _trainer()
    t.step()
    before = t.state_dict()[0]
    other, meta = _trainer(dataclasses.replace(CFG, ngf=8)).state_dict()
    with pytest.raises(CheckpointError):
        t.load_state_dict(other, meta)
    assert all(torch.equal(before[k], v) for k, v in t.state_dict()[0].items())


# ----- projects ----------------------------------------------------------------------------------
def _faces_folder(path, n=6, size=64, seed=0):
    path.mkdir(parents=True)
    for i, pic in enumerate(faces(n, size, seed=seed)[0]):
        Image.fromarray(pic).save(path / f"face{i}.png")
    return path


def test_session_with_made_pairs_resumes_like_one_go(tmp_path):
    from studio.engine.models.sessions import create_session, open_session
    from studio.engine.project.checkpoints import load_latest

    data = _faces_folder(tmp_path / "faces")
    settings = RunSettings(steps=4, sample_every=100, checkpoint_every=100, metric_every=0, device="cpu")
    overrides = {"ngf": 4, "ndf": 4, "batch": 2, "make_pairs": "edges"}

    def create(name):
        return create_session(tmp_path / name, "pix2pix", {"data": str(data)}, DataConfig(size=64), settings,
                              overrides)

    for _ in create("one").run():
        pass
    for _ in create("two").run(until_step=2):
        pass
    resumed = open_session(tmp_path / "two")
    assert resumed.trainer.global_step == 2
    for _ in resumed.run():
        pass
    one, meta_one = load_latest(tmp_path / "one" / "checkpoints")
    two, meta_two = load_latest(tmp_path / "two" / "checkpoints")
    assert meta_one["step"] == meta_two["step"] == 4
    assert all(torch.equal(one[k], two[k]) for k in one)


def test_role_sets_are_told_apart_and_mistakes_explained(tmp_path, capsys):
    kind = get_kind("pix2pix")
    assert [tuple(r.name for r in s) for s in kind.role_sets()] == [("a", "b"), ("pairs",), ("data",)]
    assert [r.name for r in kind.roles_for({"pairs": "p", "a": ""})] == ["pairs"]
    with pytest.raises(UserError, match="trains from Inputs and Targets, or Side-by-side pairs, or"):
        kind.roles_for({"a": "x"})
    data = _faces_folder(tmp_path / "faces", n=2)
    for flags, says in ((["--data-a", str(data)], "--data-a FOLDER and --data-b FOLDER, or --pairs FOLDER"),
                        (["--data", str(data)], "choose one of edges, lineart"),
                        (["--data-a", str(data), "--data-b", str(data), "--make-pairs", "blur"],
                         "give that folder alone")):
        code = main(["train", "pix2pix", *flags, "--out", str(tmp_path / "p"), "--steps", "1"])
        err = capsys.readouterr().err
        assert code == 2 and says in err and "Traceback" not in err, err
        assert not (tmp_path / "p").exists()


def test_cli_trains_from_side_by_side_pairs_and_from_matched_folders(tmp_path, capsys):
    import json

    pics = faces(4, 64, seed=2)[0]
    for i, pic in enumerate(pics):
        _save_png(tmp_path / "sbs" / f"p{i}.png", np.concatenate([255 - pic, pic], axis=1))
        _save_png(tmp_path / "a" / "sub" / f"p{i}.png", 255 - pic)
        if i:  # p0 has no target
            _save_png(tmp_path / "b" / "sub" / f"p{i}.jpg", pic)
    common = ["--size", "64", "--width", "4", "--batch", "2", "--steps", "1", "--metric-every", "0"]
    assert main(["train", "pix2pix", "--pairs", str(tmp_path / "sbs"), "--out", str(tmp_path / "p1"), *common]) == 0
    meta = json.loads((tmp_path / "p1" / "project.json").read_text())
    assert set(meta["data"]["folders"]) == {"pairs"} and meta["data"]["counts"] == {"pairs": 4}
    capsys.readouterr()
    assert main(["train", "pix2pix", "--data-a", str(tmp_path / "a"), "--data-b", str(tmp_path / "b"),
                 "--out", str(tmp_path / "p2"), *common]) == 0
    out = capsys.readouterr().out
    assert "p0.png: no target of the same name in" in out  # the unmatched input is listed, then skipped
    meta = json.loads((tmp_path / "p2" / "project.json").read_text())
    assert meta["data"]["counts"] == {"a": 3, "b": 3}


def _save_png(path, picture):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(picture).save(path)


def _trained_project(tmp_path, make_pairs="edges", size=64):
    data = _faces_folder(tmp_path / "faces", n=4, size=size)
    out = tmp_path / "proj"
    assert main(["train", "pix2pix", "--data", str(data), "--make-pairs", make_pairs, "--out", str(out),
                 "--size", str(size), "--width", "4", "--batch", "2", "--steps", "2", "--metric-every", "0",
                 "--device", "cpu"]) == 0
    return out


def test_translate_keeps_odd_sizes_and_mirrors_folders(tmp_path, capsys):
    proj = _trained_project(tmp_path)
    t = Translator.load(proj, device="cpu")
    assert (t.step, t.multiple, t.channels, t.upscale) == (2, 64, 3, 1)
    rng = np.random.default_rng(0)
    odd = rng.integers(0, 256, (131, 203, 3), dtype=np.uint8)
    out = t.translate_array(odd)
    assert out.shape == (131, 203, 3)
    assert np.array_equal(t.translate_array(odd), out)  # no dropout at inference: repeatable
    # tiles of a 64-multiple grid give the same size too
    assert t.translate_array(odd, tile=128).shape == (131, 203, 3)
    with pytest.raises(UserError, match="one way only"):
        Translator.load(proj, direction="b2a")

    src = tmp_path / "in"
    (src / "deep" / "er").mkdir(parents=True)
    Image.fromarray(odd).save(src / "deep" / "er" / "odd.png")
    Image.fromarray(odd[:50, :70]).save(src / "small.jpg")
    assert main(["translate", str(proj), str(src), "--out", str(tmp_path / "out"), "--device", "cpu"]) == 0
    assert Image.open(tmp_path / "out" / "deep" / "er" / "odd.png").size == (203, 131)
    assert Image.open(tmp_path / "out" / "small.jpg").size == (70, 50)


def test_a_super_resolution_model_upscales_by_its_factor(tmp_path):
    proj = _trained_project(tmp_path, make_pairs="lowres")
    t = Translator.load(proj, device="cpu")
    assert t.upscale == 4
    assert t.translate_array(np.zeros((13, 21, 3), np.uint8)).shape == (52, 84, 3)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_trains_resumes_exactly_and_translates_on_cuda(monkeypatch):
    """On a GPU the dropout masks come from the CUDA generator: seeded per step, a resume repeats them.
    Bit for bit only with deterministic cuDNN kernels: the U-Net's fastest backward kernels add in
    a varying order (this test failed without them on the H200, 2026-12-04)."""
    monkeypatch.setenv("GAN_STUDIO_DETERMINISTIC", "1")
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", False)  # restored after the test
    def make():
        return Pix2PixTrainer(CFG, _data(5, 1), _data(5, 2), device="cuda", seed=3, total_steps=8)

    one_go, first = make(), make()
    for _ in range(4):
        one_go.step()
    for _ in range(2):
        first.step()
    resumed = make()
    resumed.load_state_dict(*first.state_dict())
    for _ in range(2):
        resumed.step()
    expected, got = one_go.state_dict()[0], resumed.state_dict()[0]
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    spec = get_kind("pix2pix").translation(CFG)
    spec.net.load_state_dict({k[2:]: v for k, v in one_go.generator_state().items()})
    t = Translator.from_translation(spec, device="cuda", max_pixels=64 * 64)
    assert t.translate_array(np.zeros((131, 203, 3), np.uint8)).shape == (131, 203, 3)


def test_cpu_suggestion_is_narrower_with_its_reason():
    from studio.engine.models import get_kind
    from studio.engine.models.suggest import DeviceInfo

    kind = get_kind("pix2pix")
    cpu = kind.suggest([200], [(256, 256)] * 200, DeviceInfo("cpu", "CPU", 8 << 30))
    assert cpu.options["width"] == 32 and "CPU" in cpu.reasons["width"]
    assert cpu.chosen(width=64).options["width"] == 64  # the user's width wins
    gpu = kind.suggest([200], [(256, 256)] * 200, DeviceInfo("cuda", "CUDA: Big", 70 << 30))
    assert gpu.options["width"] == 64  # the reference's width where the arithmetic is cheap
