"""Training that survives: NaN rollback, out-of-memory retry, unwritable project folders,
health warnings, the quality metric in history, data folders that change between runs."""

import dataclasses
import json
import math

import pytest
import torch

from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig
from studio.engine.data.procedural import discs, write_folder
from studio.engine.models.sessions import create_session, open_session
from studio.engine.project import folder as project_module
from studio.engine.project.checkpoints import list_checkpoints, load_checkpoint
from studio.engine.train.health import COLLAPSE, D_WINS, HealthMonitor

TINY = {"batch": 8, "ngf": 8, "ndf": 8, "z_dim": 16, "preview_count": 16}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_folder(discs(24, 32, seed=0), tmp_path_factory.mktemp("d") / "discs")


def _session(data, out, **run):
    settings = RunSettings(**{"steps": 12, "sample_every": 5, "checkpoint_every": 5, "log_every": 1,
                              "metric_every": 4, **run})
    return create_session(out, "dcgan", {"data": str(data)}, DataConfig(size=32), settings, dict(TINY))


def test_quality_metric_is_logged_and_small_sets_get_diffaugment(data, tmp_path):
    s = _session(data, tmp_path / "p")
    assert s.trainer.cfg.diffaugment  # 24 images < 2,000
    events = list(s.run())
    assert [e.step for e in events if e.quality] == [4, 8, 12]
    assert all(e.quality["swd"] > 0 and 0 <= e.quality["diversity"] for e in events if e.quality)
    hist = s.project.read_history()
    assert [h["step"] for h in hist if "swd" in h] == [4, 8, 12]
    meta = json.loads((tmp_path / "p" / "project.json").read_text())
    assert meta["model"]["diffaugment"] is True


def test_nan_rolls_back_to_last_good_checkpoint_and_pauses(data, tmp_path):
    s = _session(data, tmp_path / "p")
    it = s.run()
    for ev in it:
        if ev.step == 7:
            break
    with torch.no_grad():  # poison the discriminator: the next losses are NaN
        next(s.trainer.D.parameters()).fill_(float("nan"))
    ev = next(s.run())
    assert ev.stopped == "diverged" and "rolled back" in ev.messages[0].lower()
    assert s.trainer.global_step == 5 and ev.step == 5
    assert all(torch.isfinite(p).all() for p in s.trainer.D.parameters())
    for _, path in list_checkpoints(s.project.checkpoints_dir):  # nothing non-finite was ever saved
        tensors, _ = load_checkpoint(path)
        assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    assert all(h["step"] <= 5 for h in s.project.read_history())  # history rolled back with it
    rest = list(s.run())  # and training continues from there
    assert rest[-1].step == 12 and not any(e.stopped for e in rest)


def test_out_of_memory_halves_the_batch_and_retries(data, tmp_path, monkeypatch):
    s = _session(data, tmp_path / "p")
    real_step, calls = s.trainer.step, {"n": 0}

    def flaky_step():
        calls["n"] += 1
        if calls["n"] in (3, 4):
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_step()

    monkeypatch.setattr(s.trainer, "step", flaky_step)
    events = list(s.run())
    notes = [m for e in events for m in e.messages if "Out of memory" in m]
    assert notes == ["Out of memory at batch 8: continuing with batch 4.",
                     "Out of memory at batch 4: continuing with batch 2."]
    assert events[-1].step == 12 and s.trainer.batch == 2
    monkeypatch.setattr(s.trainer, "step", lambda: (_ for _ in ()).throw(torch.OutOfMemoryError("again")))
    s.settings = dataclasses.replace(s.settings, steps=20)
    ev = list(s.run())[-1]
    assert ev.stopped == "out_of_memory" and list_checkpoints(s.project.checkpoints_dir)[-1][0] == 12


def test_disk_full_pauses_with_state_kept(data, tmp_path, monkeypatch):
    s = _session(data, tmp_path / "p", steps=20)
    for _ in s.run(until_step=6):
        pass
    before = {k: v.clone() for k, v in s.trainer.state_dict()[0].items()}

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(project_module, "save_png", full)
    events = list(s.run())
    assert events[-1].stopped == "write_error"
    assert "No space left on device" in events[-1].messages[-1] and "kept in memory" in events[-1].messages[-1]
    assert events[-1].step == 10  # it stopped at the first failed write (sample grid at step 10)
    # the latest checkpoint on disk is intact and loads
    step, path = list_checkpoints(s.project.checkpoints_dir)[-1]
    load_checkpoint(path)
    monkeypatch.undo()
    assert not any(torch.equal(before[k], v) for k, v in s.trainer.state_dict()[0].items()
                   if k.startswith("G.") and v.is_floating_point())  # training state moved on in memory
    s.save_checkpoint()  # once space is back, the in-memory state is saved
    assert list_checkpoints(s.project.checkpoints_dir)[-1][0] == 10


def test_changed_data_folder_is_reported_on_resume(data, tmp_path):
    folder = write_folder(discs(12, 32, seed=3), tmp_path / "mine")
    s = create_session(tmp_path / "p", "dcgan", {"data": str(folder)}, DataConfig(size=32),
                       RunSettings(steps=2, metric_every=0), dict(TINY))
    list(s.run())
    assert open_session(tmp_path / "p", steps=3).warnings == []
    (folder / "img00000.png").unlink()
    write_folder(discs(1, 32, seed=9), folder, prefix="new")
    warnings = open_session(tmp_path / "p", steps=3).warnings
    assert len(warnings) == 1 and "changed" in warnings[0]
    for p in sorted(folder.glob("img*.png"))[:6]:  # the folder shrinks: the saved data order is stale
        p.unlink()
    s = open_session(tmp_path / "p", steps=6)
    assert s.warnings and len(s.trainer.images) == 6
    assert list(s.run())[-1].step == 6


def test_resume_lists_each_data_folder_once(data, tmp_path, monkeypatch):
    from studio.engine.data import dataset as dataset_module

    s = _session(data, tmp_path / "p", steps=1)
    list(s.run())
    del s  # done training: it holds the project no longer
    scanned = []
    real_scan = dataset_module._scan
    monkeypatch.setattr(dataset_module, "_scan", lambda root, *a, **k: scanned.append(root) or real_scan(root, *a, **k))
    assert open_session(tmp_path / "p", steps=2).warnings == []
    assert scanned == [data]  # the fingerprint comes from the scan the data was prepared from


def test_stable_preset_trains(data, tmp_path):
    s = create_session(tmp_path / "p", "dcgan", {"data": str(data)}, DataConfig(size=32),
                       RunSettings(steps=6, metric_every=0), {**TINY, "preset": "stable"})
    cfg = s.trainer.cfg
    assert (cfg.loss, cfg.spectral_norm, cfg.r1_gamma) == ("hinge", True, 0.2)
    events = list(s.run())
    assert any("R1" in e.losses for e in events)
    assert all(math.isfinite(v) for e in events for v in e.losses.values())
    reopened = open_session(tmp_path / "p", steps=8)  # spectral-norm state resumes too
    assert reopened.trainer.global_step == 6


def test_health_monitor_warns_once_per_quiet_period():
    h = HealthMonitor(window=10, quiet_steps=100, warmup=0)
    said = []
    for step in range(1, 60):
        said += h.observe_losses(step, {"loss_D": 0.001, "loss_G": 8 + step % 3, "D_real": 0.999, "D_fake": 0.001})
    assert said == [D_WINS]
    assert h.observe_quality(60, {"diversity": 0.02}) == [COLLAPSE]
    assert h.observe_quality(70, {"diversity": 0.02}) == []
    assert h.observe_quality(80, {"diversity": 0.8}) == []
