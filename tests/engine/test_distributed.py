"""Data-parallel training with PyTorch DDP (gloo, 2 CPU processes via torchrun): the same losses
and weights as one process on the same global batch, rank 0 alone writing the project, for every
kind through the shared session and trainer base."""

import json
import math
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from studio.cli.main import main
from studio.engine.config import RunSettings, config_from_dict
from studio.engine.data.dataset import DataConfig, prepare_dataset
from studio.engine.data.procedural import discs, write_folder
from studio.engine.errors import UserError
from studio.engine.models import KINDS, get_kind
from studio.engine.models.cyclegan.trainer import CycleGANTrainer
from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer
from studio.engine.models.kind import Capabilities
from studio.engine.models.sessions import create_session, open_session
from studio.engine.project.checkpoints import list_checkpoints, load_checkpoint
from studio.engine.train.distributed import SINGLE, DistInfo


@pytest.mark.timeout(300)
def test_two_processes_match_one_process_on_the_same_global_batch(tmp_path):
    data = write_folder(discs(64, 32, seed=0), tmp_path / "data")
    out = tmp_path / "ddp"
    argv = ["train", "dcgan", "--data", str(data), "--out", str(out), "--size", "32", "--batch", "16",
            "--width", "8", "--z-dim", "16", "--steps", "4", "--log-every", "1", "--metric-every", "0",
            "--checkpoint-every", "4", "--diffaugment", "off", "--precision", "fp32", "--seed", "5",
            "--devices", "2"]
    assert main(argv) == 0

    # rank 0 alone wrote: one history line per step, one set of checkpoints and grids
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [1, 2, 3, 4]
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [0, 4]

    # one process, same global batch of 16, BatchNorm statistics per half batch (what each of the
    # two processes computes on its 8 images)
    meta = json.loads((out / "project.json").read_text())
    cfg = DCGANConfig(**{**meta["model"], "bn_chunks": 2})
    ds = prepare_dataset(data, DataConfig(size=32))
    ref = DCGANTrainer(cfg, ds.images, seed=5)
    ref_losses = [ref.step() for _ in range(4)]
    for h, r in zip(history, ref_losses):
        for k in ("loss_D", "loss_G", "D_real", "D_fake"):
            assert h[k] == pytest.approx(r[k], rel=1e-4, abs=1e-5), (h["step"], k)
    tensors, _ = load_checkpoint(out / "checkpoints" / "step-0000004.json")
    for k, v in ref.G.state_dict().items():
        if v.is_floating_point() and "running" not in k:
            assert torch.allclose(tensors[f"G.{k}"], v, atol=1e-5), k

    # the project opens and continues like any other
    session = open_session(out, steps=5)
    assert session.trainer.global_step == 4
    assert list(session.run())[-1].step == 5


@pytest.mark.timeout(300)
def test_cyclegan_two_processes_match_one_process_on_the_same_global_batch(tmp_path):
    a = write_folder(discs(6, 40, seed=0), tmp_path / "a")
    b = write_folder(discs(5, 40, seed=1), tmp_path / "b")
    out = tmp_path / "ddp"
    argv = ["train", "cyclegan", "--data-a", str(a), "--data-b", str(b), "--out", str(out), "--size", "32",
            "--batch", "4", "--width", "4", "--steps", "3", "--log-every", "1", "--metric-every", "0",
            "--checkpoint-every", "3", "--precision", "fp32", "--seed", "5", "--devices", "2"]
    assert main(argv) == 0

    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [1, 2, 3]
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [0, 3]

    # one process on the same global batch of 4 pairs (InstanceNorm: nothing depends on the split)
    meta = json.loads((out / "project.json").read_text())
    kind = get_kind("cyclegan")
    cfg = config_from_dict(kind.config_cls, meta["model"])
    load_cfg = kind.load_config(cfg, config_from_dict(DataConfig, meta["data"]["config"]))
    ref = CycleGANTrainer(cfg, prepare_dataset(a, load_cfg).images, prepare_dataset(b, load_cfg).images,
                          seed=5, total_steps=3)
    ref_losses = [ref.step() for _ in range(3)]
    for h, r in zip(history, ref_losses):
        assert r.keys() <= h.keys()
        for k in r:
            assert h[k] == pytest.approx(r[k], rel=1e-4, abs=1e-5), (h["step"], k)
    tensors, _ = load_checkpoint(out / "checkpoints" / "step-0000003.json")
    ref_tensors, _ = ref.state_dict()
    # Conv biases in front of an InstanceNorm are left out: their true gradient is zero, so Adam turns
    # rounding noise into full-size steps; they change no output (the translations below show it).
    # The same happens to the odd weight whose gradient is near zero: two processes sum the batch in
    # another order, and on some CPUs (a Zen 4 EPYC: 1-6 of 2,304 elements of a layer, up to 7e-5
    # after 3 steps) Adam turns that rounding into part of a step. So: nearly every weight equal to
    # 1e-5, none further than the 3 steps' Adam could move it (3 x lr); the pooled fakes, drawn by
    # those weights, within a thousandth, and the translations within one grey level (2/255: up to
    # 0.0032 on that EPYC, where this width-4 net's InstanceNorms magnify the few moved weights).
    weights = [k for k in ref_tensors if k.endswith(".weight")]
    moved = torch.cat([(tensors[k] - ref_tensors[k]).abs().flatten() for k in weights])
    assert float((moved > 1e-5).float().mean()) < 0.01 and float(moved.max()) < 3 * cfg.lr
    for k in ("pool_A", "pool_B"):
        assert torch.allclose(tensors[k], ref_tensors[k], atol=1e-3), k
    assert len(tensors["pool_A"]) == 12  # every process's fakes, in rank order

    # a checkpoint of two processes continues in one, translating as the one-process model does
    session = open_session(out, steps=4)
    assert session.trainer.global_step == 3
    for domain, direction in (("A", "a2b"), ("B", "b2a")):
        x = ref.preview[domain]
        assert torch.allclose(session.trainer.translate(x, direction), ref.translate(x, direction), atol=2 / 255)
    assert list(session.run())[-1].step == 4


def test_an_uneven_batch_is_refused_before_the_project_is_made(tmp_path, capfd):
    # Rank 0 makes the project alone and every rank then opens it: a batch the processes cannot share
    # must stop the run before a folder exists that no process could train.
    a = write_folder(discs(4, 32, seed=0), tmp_path / "a")
    b = write_folder(discs(4, 32, seed=1), tmp_path / "b")
    with pytest.raises(UserError, match="multiple of 2"):
        create_session(tmp_path / "p", "cyclegan", {"a": str(a), "b": str(b)}, DataConfig(size=32),
                       RunSettings(steps=1), {"batch": 3, "width": 4}, devices=2)
    assert not (tmp_path / "p").exists()

    # through the command line: the failing rank's one line, and nothing from the launcher
    code = main(["train", "cyclegan", "--data-a", str(a), "--data-b", str(b), "--out", str(tmp_path / "q"),
                 "--size", "32", "--width", "4", "--steps", "1", "--batch", "3", "--devices", "2"])
    err = capfd.readouterr().err
    assert code == 2 and not (tmp_path / "q").exists()
    assert err.count("choose a multiple of 2.") == 1 and "Traceback" not in err and "exitcode" not in err, err


def test_devices_need_a_kind_that_supports_them(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(KINDS["cyclegan"], "capabilities", Capabilities(translates=True, multi_device=False))
    a = write_folder(discs(8, 32, seed=0), tmp_path / "a")
    b = write_folder(discs(8, 32, seed=1), tmp_path / "b")
    code = main(["train", "cyclegan", "--data-a", str(a), "--data-b", str(b), "--out", str(tmp_path / "p"),
                 "--size", "32", "--width", "8", "--steps", "2", "--devices", "2"])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot train on several devices" in err and "Traceback" not in err


# ----- every kind that offers --devices: the ranks stay in lockstep ----------------------------------
def _tiny_trainer(kind, root, dist_info=SINGLE):
    """A trainer of `kind` at its smallest size and width, batch 4, on the folders under `root`."""
    data_cfg = DataConfig(size=min(kind.sizes))
    overrides = {"batch": 4, **{o.name: o.minimum for o in kind.options if o.name == "width"}}
    load_cfg = kind.load_config(kind.default_config(data_cfg, {}, overrides), data_cfg)
    datasets = {r.name: prepare_dataset(root / r.name, load_cfg, cache_dir=root / "cache") for r in kind.roles}
    cfg = kind.default_config(data_cfg, datasets, overrides)
    return kind.make_trainer(cfg, RunSettings(steps=4, seed=3), datasets, torch.device("cpu"), dist_info)


def _lockstep_rank(rank: int, world: int, root: Path, names: list[str]) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{root / 'group'}", rank=rank, world_size=world)
    try:
        result = {}
        for name in names:
            t = _tiny_trainer(KINDS[name], root, DistInfo(rank, world, rank))
            losses = [t.step() for _ in range(2)]
            result[name] = (losses, *t.state_dict())
        torch.save(result, root / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.timeout(300)
def test_every_multi_device_kind_keeps_its_processes_in_lockstep(tmp_path):
    """Through the shared trainer base alone: both processes log the same losses and hold the same
    weights (each its own normalisation statistics), and rank 0's state continues in one process."""
    names = sorted(n for n, k in KINDS.items() if k.capabilities.multi_device)
    assert {"dcgan", "cyclegan"} <= set(names)
    for i, role in enumerate(sorted({r.name for n in names for r in KINDS[n].roles})):
        write_folder(discs(6, 64, seed=i), tmp_path / role)
    for name in names:  # decoded once here, so the two processes only read the cache
        _tiny_trainer(KINDS[name], tmp_path)
    mp.spawn(_lockstep_rank, args=(2, tmp_path, names), nprocs=2)

    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]
    for name in names:
        (losses0, tensors0, meta0), (losses1, tensors1, _) = ranks[0][name], ranks[1][name]
        assert losses0 == losses1, name
        for k, v in tensors0.items():
            if "running_" not in k:  # BatchNorm statistics stay per process
                assert torch.equal(v, tensors1[k]), (name, k)
        single = _tiny_trainer(KINDS[name], tmp_path)
        single.load_state_dict(tensors0, meta0)
        assert single.global_step == 2 and all(math.isfinite(v) for v in single.step().values())
