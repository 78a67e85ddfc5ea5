"""Background tasks (prepare / cancel), settings suggestions, project state and QSettings."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from studio.app.prepare import PreparedData, prepare_folders
from studio.app.settings import StudioSettings
from studio.app.state import ProjectState
from studio.app.task_worker import TaskRunner
from studio.engine.errors import Cancelled, UserError
from studio.engine.models import get_kind
from studio.engine.models.suggest import DeviceInfo
from studio.engine.project.folder import Project


def suggest(kind, counts, sizes, device):
    return get_kind(kind).suggest(counts, sizes, device)


GB = 1024**3


class Signals:
    def __init__(self, runner: TaskRunner):
        self.progress, self.finished, self.failed, self.cancelled = [], [], [], []
        runner.progress.connect(lambda d, t, s: self.progress.append((d, t, s)))
        runner.finished.connect(self.finished.append)
        runner.failed.connect(self.failed.append)
        runner.cancelled.connect(lambda: self.cancelled.append(True))

    def done(self) -> bool:
        return bool(self.finished or self.failed or self.cancelled)


def test_task_runs_off_the_gui_thread_and_reports_progress(qtbot):
    runner = TaskRunner("t")
    sig = Signals(runner)
    gui = threading.get_ident()

    def task(progress, should_cancel):
        for i in range(5):
            progress(i + 1, 5, f"item {i + 1}")
        return threading.get_ident()

    runner.start(task)
    qtbot.waitUntil(sig.done, timeout=5000)
    assert runner.join()
    assert sig.finished and sig.finished[0] != gui
    assert sig.progress[-1] == (5, 5, "item 5")  # the last update is never throttled away


def test_task_cancel(qtbot):
    runner = TaskRunner("t")
    sig = Signals(runner)
    started = threading.Event()

    def task(progress, should_cancel):
        started.set()
        while not should_cancel():
            time.sleep(0.005)
        return "too late"

    runner.start(task)
    assert started.wait(5)
    runner.cancel()
    qtbot.waitUntil(sig.done, timeout=5000)
    assert runner.join()
    assert sig.cancelled and not sig.finished
    assert not runner.busy


def test_task_user_error_is_a_message(qtbot):
    runner = TaskRunner("t")
    sig = Signals(runner)

    def task(progress, should_cancel):
        raise UserError("No images found in /x")

    runner.start(task)
    qtbot.waitUntil(sig.done, timeout=5000)
    assert runner.join()
    assert sig.failed == ["No images found in /x"]


def test_cancelled_is_known_by_its_type_not_its_name(qtbot):
    runner = TaskRunner("t")
    sig = Signals(runner)

    def task(progress, should_cancel):
        raise Cancelled()

    runner.start(task)
    qtbot.waitUntil(sig.done, timeout=5000)
    assert runner.join()
    assert sig.cancelled and not sig.failed

    class Cancelled2(Exception):  # another exception that happens to share the name
        pass

    Cancelled2.__name__ = "Cancelled"
    sig2 = Signals(runner)

    def other(progress, should_cancel):
        while not should_cancel():
            time.sleep(0.002)
        raise Cancelled2("disk gone")

    runner.start(other)
    runner.cancel()
    qtbot.waitUntil(sig2.done, timeout=5000)
    assert runner.join()
    assert sig2.failed == ["Cancelled: disk gone"] and not sig2.cancelled


def test_prepare_folders_reports_and_suggests(qtbot, shapes_folder):
    (shapes_folder / "notes.txt").write_text("not an image")
    (shapes_folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    runner = TaskRunner("prepare")
    sig = Signals(runner)
    runner.start(prepare_folders("dcgan", {"data": str(shapes_folder)}))
    qtbot.waitUntil(sig.done, timeout=30_000)
    assert runner.join()
    assert not sig.failed, sig.failed
    prepared: PreparedData = sig.finished[0]
    ds = prepared.datasets["data"]
    assert len(ds) == 24 and tuple(ds.images.shape[1:]) == (3, 32, 32)
    assert prepared.data_cfg.size == 32  # from the images' own size
    assert [Path(p).name for p, _ in ds.report.skipped] == ["broken.png"]
    assert prepared.suggestion.flip  # 24 images: a small set
    assert 2 <= prepared.suggestion.batch <= 16
    assert any("Preparing" in text for _, _, text in sig.progress)


def test_prepare_folders_cyclegan_needs_both(qtbot, shapes_folder):
    with pytest.raises(UserError, match="Folder B"):
        prepare_folders("cyclegan", {"a": str(shapes_folder), "b": ""})


CPU = DeviceInfo("cpu", "CPU (2 cores)", 8 * GB)
GPU = DeviceInfo("cuda", "CUDA: Big", 70 * GB)


def test_suggest_size_from_images_and_device():
    big = [(1024, 768)] * 10
    cpu = suggest("dcgan", [5000], big, CPU)
    # On a CPU a DCGAN aims at first shapes within ~10 minutes: small, narrow, frequent snapshots
    assert (cpu.size, cpu.options["width"], cpu.sample_every) == (32, 32, 50)
    assert "10 minutes" in cpu.reasons["size"] and "CPU" in cpu.reasons["width"]
    assert suggest("dcgan", [5000], big, GPU).options["width"] == 64
    assert suggest("dcgan", [5000], big, GPU).size == 256
    assert suggest("dcgan", [5000], [(100, 90)] * 10, GPU).size == 64  # largest size not above the images
    assert suggest("dcgan", [50], [(20, 20)] * 10, GPU).size == 32  # tiny images: smallest size
    assert suggest("cyclegan", [300], big, GPU).size == 256
    assert suggest("cyclegan", [300], big, CPU).size == 128


def test_suggest_batch_from_memory_and_count():
    assert suggest("dcgan", [5000], [(64, 64)], GPU).batch == 128
    assert suggest("dcgan", [5000], [(64, 64)], CPU).batch == 32
    assert suggest("dcgan", [20], [(64, 64)], GPU).batch == 16  # never more than the folder holds
    tight = DeviceInfo("cuda", "CUDA: small", 200 * 1024**2)  # 200 MB free
    assert suggest("dcgan", [5000], [(64, 64)], tight).batch < 16
    assert suggest("cyclegan", [500], [(256, 256)], CPU).batch == 1


def test_suggest_mirroring_for_small_sets():
    assert suggest("dcgan", [200], [(64, 64)], CPU).flip
    assert not suggest("dcgan", [20_000], [(64, 64)], CPU).flip
    s = suggest("dcgan", [200], [(64, 64)], CPU)
    assert "200" in s.reasons["flip"] and s.reasons["size"] and s.reasons["batch"]
    assert s.options["diffaugment"] and not suggest("dcgan", [20_000], [(64, 64)], CPU).options["diffaugment"]
    assert "diffaugment" not in suggest("cyclegan", [200], [(64, 64)], CPU).options  # a DCGAN option


def _project(tmp_path, kind="dcgan") -> Project:
    p = Project.create(tmp_path / "proj", kind, {"run": {"steps": 10}})
    p.append_history({"step": 1, "loss_D": 1.0})
    p.append_history({"step": 2, "loss_D": 0.9})
    import numpy as np

    p.save_samples(0, np.zeros((4, 4, 3), np.uint8))
    p.save_samples(2, np.zeros((4, 4, 3), np.uint8))
    return p


def test_project_state_open_and_live_updates(qtbot, tmp_path):
    p = _project(tmp_path)
    st = ProjectState()
    seen = {"reset": [], "appended": [], "samples": []}
    st.history_reset.connect(seen["reset"].append)
    st.history_appended.connect(seen["appended"].append)
    st.samples_changed.connect(seen["samples"].append)
    st.open(p.root)
    assert [r["step"] for r in seen["reset"][-1]] == [1, 2]
    assert [s for s, _ in seen["samples"][-1]] == [0, 2]
    st.add_records([{"step": 3, "loss_D": 0.8}])
    assert st.step == 3 and seen["appended"][-1] == [{"step": 3, "loss_D": 0.8}]
    st.add_sample(4)
    assert [s for s, _ in st.sample_steps] == [0, 2, 4]
    st.truncate_after(2)
    assert [r["step"] for r in st.history] == [1, 2]
    with pytest.raises(UserError):
        st.open(tmp_path / "nothing")


def test_following_a_run_leaves_the_trainers_temp_files_alone(qtbot, tmp_path):
    """The state opens a new project when its run says ready, while the training thread of this same
    process is writing the first sample grid: opening must not clean that write away."""
    from PySide6.QtCore import QObject, Signal

    from studio.app.train_worker import TrainReady, TrainResult
    from studio.engine.atomic import TEMP_PREFIX

    class Training(QObject):
        ready, progress, finished = Signal(object), Signal(object), Signal(object)
        samples = Signal(int, object)

    p = _project(tmp_path)
    writing = p.samples_dir / f"{TEMP_PREFIX}123-grid"
    writing.write_bytes(b"half a sample grid")
    training, st = Training(), ProjectState()
    st.follow(training)
    training.ready.emit(TrainReady(str(p.root), "dcgan", 2, 10, "CPU", 8))
    assert st.project is not None and st.project.root == p.root
    training.finished.emit(TrainResult(str(p.root), 2, 10, None, stopped=True))
    assert writing.exists()


def test_recent_projects_remembered(qtbot, tmp_path):
    a, b = _project(tmp_path / "a"), _project(tmp_path / "b")
    s = StudioSettings()
    s.add_recent_project(a.root)
    s.add_recent_project(b.root)
    s.add_recent_project(a.root)
    assert StudioSettings().recent_projects() == [str(a.root.resolve()), str(b.root.resolve())]
    import shutil

    shutil.rmtree(b.root)
    assert StudioSettings().recent_projects() == [str(a.root.resolve())]  # vanished projects drop out
