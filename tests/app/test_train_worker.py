"""The training worker: signals, throttling, pause / resume / single step / stop, errors, checkpoints."""

from __future__ import annotations

import os
import sys
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from studio.app import sessions
from studio.app.state import ProjectState
from studio.app.train_worker import TrainController, TrainProgress, TrainResult, WorkerState
from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig
from studio.engine.errors import Cancelled, UserError
from studio.engine.models import get_kind
from studio.engine.models.sessions import open_session
from studio.engine.project.folder import Project
from studio.engine.train.session import TrainEvent

TINY = {"ngf": 8, "ndf": 8, "z_dim": 16, "batch": 8, "preview_count": 16}


class FakeSession:
    """A TrainingSession stand-in with controllable step time (no torch work)."""

    def __init__(self, root, steps: int, delay: float = 0.0):
        self.project = Project.create(root, "dcgan", {"run": {}})
        self.trainer = SimpleNamespace(global_step=0, images_per_step=8, device=torch.device("cpu"),
                                       samples=lambda: np.full((8, 8, 3), self.trainer.global_step % 256, np.uint8))
        self.settings = RunSettings(steps=steps)
        self.warnings = ["hello"]
        self.delay = delay
        self.thread_ids = set()

    def save_samples(self):
        grid = np.full((8, 8, 3), self.trainer.global_step % 256, np.uint8)
        return grid, self.project.save_samples(self.trainer.global_step, grid)

    def close(self):  # a real session gives back the project's training lock here
        pass

    def run(self, until_step=None, minutes=None, should_stop=None):
        while self.trainer.global_step < until_step:
            if should_stop is not None and should_stop():
                break
            self.thread_ids.add(threading.get_ident())
            if self.delay:
                time.sleep(self.delay)
            self.trainer.global_step += 1
            step = self.trainer.global_step
            ev = TrainEvent(step, until_step, {"loss": 1.0 / step}, 100.0, 0.0)
            if step % 50 == 0:
                ev.samples, _ = self.save_samples()
            yield ev


def fake_factory(session):
    return lambda progress, should_cancel: session


class Recorder:
    """Collects every signal of a controller (on the GUI thread)."""

    def __init__(self, c: TrainController):
        self.progress: list[TrainProgress] = []
        self.samples: list[int] = []
        self.paused: list[bool] = []
        self.finished: list[TrainResult] = []
        self.failed: list[str] = []
        self.ready = []
        self.states: list[WorkerState] = []
        c.progress.connect(self.progress.append)
        c.samples.connect(lambda step, grid: self.samples.append(step))
        c.paused_changed.connect(self.paused.append)
        c.finished.connect(self.finished.append)
        c.failed.connect(self.failed.append)
        c.ready.connect(self.ready.append)
        c.state_changed.connect(self.states.append)

    def steps(self) -> list[int]:
        return [s for p in self.progress for s, _ in p.records]

    def last_step(self) -> int:
        return self.progress[-1].step if self.progress else 0


def test_fake_run_emits_every_step_throttled_on_worker_thread(qtbot, tmp_path):
    session = FakeSession(tmp_path / "p", steps=400)
    c = TrainController()
    rec = Recorder(c)
    t0 = time.perf_counter()
    c.start(fake_factory(session))
    qtbot.waitUntil(lambda: bool(rec.finished), timeout=10_000)
    elapsed = time.perf_counter() - t0
    assert c.join()
    assert rec.steps() == list(range(1, 401))  # throttled signals still carry every step's losses
    assert len(rec.progress) <= elapsed * 20 + 12  # at most ~20/s, plus forced flushes at sample steps
    assert rec.samples == [0, 50, 100, 150, 200, 250, 300, 350, 400]
    assert threading.get_ident() not in session.thread_ids  # the loop never ran on the GUI thread
    assert rec.ready[0].warnings == ("hello",) and rec.ready[0].device.startswith("CPU")
    assert rec.finished[0].step == 400 and not rec.finished[0].stopped
    assert not c.busy and c.state == WorkerState.IDLE


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")
def test_background_policy_trains_on_every_core_below_the_gui_threads_priority(qtbot, tmp_path):
    session = FakeSession(tmp_path / "p", steps=3)
    seen = {}

    def factory(progress, should_cancel):
        tid = threading.get_native_id()
        seen["nice"], seen["threads"] = os.getpriority(os.PRIO_PROCESS, tid), torch.get_num_threads()
        # compute threads the worker starts from now on inherit its priority
        def child_nice():
            seen["child"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

        child = threading.Thread(target=child_nice)
        child.start()
        child.join()
        return session

    gui_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    before = torch.get_num_threads()
    c = TrainController()
    rec = Recorder(c)
    try:
        c.start(factory, cpu_threads="background")
        qtbot.waitUntil(lambda: bool(rec.finished), timeout=10_000)
        assert c.join()
    finally:
        torch.set_num_threads(before)
    assert seen["nice"] == min(19, gui_nice + 5) and seen["child"] == seen["nice"]
    assert seen["threads"] == len(os.sched_getaffinity(0))
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui_nice  # the GUI thread is untouched


def test_pause_resume_single_step_and_stop(qtbot, tmp_path):
    session = FakeSession(tmp_path / "p", steps=100_000, delay=0.002)
    c = TrainController()
    rec = Recorder(c)
    c.start(fake_factory(session))
    qtbot.waitUntil(lambda: rec.last_step() >= 5, timeout=10_000)

    c.pause()
    qtbot.waitUntil(lambda: rec.paused == [True], timeout=5000)
    assert c.state == WorkerState.PAUSED
    paused_at = session.trainer.global_step
    assert rec.last_step() == paused_at  # progress is flushed when the loop pauses
    qtbot.wait(150)
    assert session.trainer.global_step == paused_at  # really paused

    previews = []
    c.preview.connect(lambda step, grid: previews.append((step, int(grid[0, 0, 0]))))
    c.step_once()
    qtbot.waitUntil(lambda: rec.last_step() == paused_at + 1, timeout=5000)
    qtbot.wait(100)
    assert session.trainer.global_step == paused_at + 1  # exactly one step, then paused again
    assert c.state == WorkerState.PAUSED
    assert previews == [(paused_at + 1, (paused_at + 1) % 256)]  # the samples of that step, to show

    c.resume()
    qtbot.waitUntil(lambda: rec.last_step() >= paused_at + 10, timeout=5000)
    assert rec.paused[-1] is False and c.state == WorkerState.RUNNING

    c.stop()
    assert c.state == WorkerState.STOPPING
    qtbot.waitUntil(lambda: bool(rec.finished), timeout=5000)
    assert c.join()
    result = rec.finished[0]
    assert result.stopped and result.step == session.trainer.global_step
    assert rec.steps() == list(range(1, result.step + 1))
    assert not c.busy


def test_stop_while_paused_ends_the_run(qtbot, tmp_path):
    session = FakeSession(tmp_path / "p", steps=1000, delay=0.001)
    c = TrainController()
    rec = Recorder(c)
    c.start(fake_factory(session), start_paused=True)
    qtbot.waitUntil(lambda: rec.paused == [True], timeout=5000)
    assert session.trainer.global_step == 0
    c.stop()
    assert c.join()  # the window's close path: join before the queued signals are delivered
    assert c.state == WorkerState.IDLE
    qtbot.waitUntil(lambda: bool(rec.finished), timeout=5000)
    assert rec.finished[0].step == 0 and rec.finished[0].stopped
    qtbot.wait(50)
    assert c.state == WorkerState.IDLE  # late queued signals of the ended run do not revive it


@pytest.mark.parametrize("error, expected", [
    (UserError("the folder has no images"), "the folder has no images"),
    (RuntimeError("boom"), "Training failed: RuntimeError: boom"),
])
def test_errors_become_a_failed_signal(qtbot, error, expected):
    def factory(progress, should_cancel):
        raise error

    c = TrainController()
    rec = Recorder(c)
    c.start(factory)
    qtbot.waitUntil(lambda: bool(rec.failed), timeout=5000)
    assert c.join()
    assert rec.failed == [expected] and not rec.finished
    assert not c.busy


def test_stop_while_preparing_says_so(qtbot):
    def factory(progress, should_cancel):
        while not should_cancel():
            time.sleep(0.002)
        raise Cancelled()  # what preparing the images raises when asked to stop

    c = TrainController()
    rec = Recorder(c)
    c.start(factory)
    c.stop()
    qtbot.waitUntil(lambda: bool(rec.failed), timeout=5000)
    assert c.join()
    assert rec.failed == ["Cancelled while preparing the images."]


def test_project_state_follows_the_controller(qtbot, tmp_path):
    session = FakeSession(tmp_path / "p", steps=100)
    c = TrainController()
    state = ProjectState()
    state.follow(c)
    rec = Recorder(c)
    c.start(fake_factory(session))
    qtbot.waitUntil(lambda: bool(rec.finished), timeout=10_000)
    assert c.join()
    assert state.project is not None and state.project.root == session.project.root  # opened on `ready`
    assert [r["step"] for r in state.history] == list(range(1, 101))
    assert [s for s, _ in state.sample_steps] == [0, 50, 100]
    assert state.step == 100

    session.trainer.global_step = 40  # a continued run resumes from an earlier checkpoint
    c.start(fake_factory(session), until_step=60)
    qtbot.waitUntil(lambda: len(rec.finished) == 2, timeout=10_000)
    assert c.join()
    assert [r["step"] for r in state.history] == list(range(1, 61))  # the records past 40 were dropped
    assert state.step == 60


def test_start_twice_is_refused(qtbot, tmp_path):
    session = FakeSession(tmp_path / "p", steps=1000, delay=0.001)
    c = TrainController()
    c.start(fake_factory(session), start_paused=True)
    with pytest.raises(RuntimeError):
        c.start(fake_factory(session))
    assert c.shutdown()


def _tiny_new_project(shapes_folder, out, steps, sample_every=4, checkpoint_every=1000):
    settings = RunSettings(steps=steps, sample_every=sample_every, checkpoint_every=checkpoint_every, log_every=1,
                           device="cpu")
    return sessions.new_project(out, "dcgan", {"data": str(shapes_folder)}, DataConfig(size=32), settings, TINY)


def test_real_dcgan_run_writes_samples_history_and_checkpoint(qtbot, tmp_path, shapes_folder):
    out = tmp_path / "proj"
    c = TrainController()
    rec = Recorder(c)
    prepared = []
    c.preparing.connect(lambda d, t: prepared.append((d, t)))
    c.start(_tiny_new_project(shapes_folder, out, steps=8), cpu_threads=None)
    qtbot.waitUntil(lambda: bool(rec.finished), timeout=30_000)
    assert c.join()
    assert prepared and prepared[-1] == (24, 24)  # decoding progress reached the GUI
    assert rec.samples == [0, 4, 8]
    assert rec.steps() == list(range(1, 9))
    result = rec.finished[0]
    assert result.step == 8 and not result.stopped and result.checkpoint_path
    project = Project.open(out)
    assert [s for s, _ in project.sample_steps()] == [0, 4, 8]
    assert [r["step"] for r in project.read_history()] == list(range(1, 9))
    assert set(rec.progress[-1].losses) >= {"loss_D", "loss_G"}


def test_stop_saves_a_resumable_checkpoint(qtbot, tmp_path, shapes_folder):
    out = tmp_path / "proj"
    c = TrainController()
    rec = Recorder(c)
    c.start(_tiny_new_project(shapes_folder, out, steps=100_000, sample_every=1000), cpu_threads=None)
    qtbot.waitUntil(lambda: rec.last_step() >= 3, timeout=30_000)
    c.stop()
    qtbot.waitUntil(lambda: bool(rec.finished), timeout=30_000)
    assert c.join()
    result = rec.finished[0]
    assert result.stopped and result.step >= 3
    assert result.checkpoint_path and result.checkpoint_path.endswith(f"step-{result.step:07d}.json")
    session = open_session(out, device="cpu")
    assert session.trainer.global_step == result.step


def test_continue_project_applies_new_target_and_schedules(qtbot, tmp_path, shapes_folder):
    out = tmp_path / "proj"
    c = TrainController()
    rec = Recorder(c)
    c.start(_tiny_new_project(shapes_folder, out, steps=4), cpu_threads=None)
    qtbot.waitUntil(lambda: bool(rec.finished), timeout=30_000)
    assert c.join()
    c.start(sessions.continue_project(out, steps=6, sample_every=3, checkpoint_every=50), cpu_threads=None)
    qtbot.waitUntil(lambda: len(rec.finished) == 2, timeout=30_000)
    assert c.join()
    assert rec.ready[1].step == 4 and rec.ready[1].target == 6
    assert rec.finished[1].step == 6
    meta = Project.open(out).meta["run"]
    assert meta["steps"] == 6 and meta["sample_every"] == 3 and meta["checkpoint_every"] == 50
    assert 6 in rec.samples  # sample at the final step


class DivergingSession(FakeSession):
    """Steps 1-5 fine (quality measured at 4), then the engine rolls back to step 3 and stops itself."""

    def run(self, until_step=None, minutes=None, should_stop=None):
        for step in range(1, 6):
            if should_stop():
                return
            self.trainer.global_step = step
            ev = TrainEvent(step, until_step, {"loss": 1.0}, 100.0, 0.0)
            if step == 4:
                ev.quality = {"swd": 12.5, "diversity": 0.7}
            if step == 2:  # an OOM batch halving: a message without a step
                yield TrainEvent(step, until_step, {}, 100.0, 0.0, messages=["continuing with batch 4"])
                self.trainer.images_per_step = 4
            yield ev
        self.trainer.global_step = 3
        yield TrainEvent(3, until_step, {"loss": float("nan")}, 100.0, 0.0, messages=["Training diverged"],
                         stopped="diverged")


def test_engine_stops_are_reported_with_their_reason(qtbot, tmp_path):
    session = DivergingSession(tmp_path / "p", steps=100)
    c = TrainController()
    rec = Recorder(c)
    c.start(fake_factory(session))
    qtbot.waitUntil(lambda: bool(rec.finished), timeout=10_000)
    assert c.join()
    r = rec.finished[0]
    assert r.stopped and r.reason == "diverged" and r.step == 3 and r.messages == ("Training diverged",)
    assert rec.steps() == [1, 2, 3, 4, 5]  # no record for the rolled-back event
    records = dict(rec for p in rec.progress for rec in p.records)
    assert records[4]["swd"] == 12.5  # quality travels with its step's record
    assert rec.progress[-1].quality == {"swd": 12.5, "diversity": 0.7}
    assert any("continuing with batch 4" in m for p in rec.progress for m in p.messages)


def test_generator_weights_are_handed_over_between_steps_and_while_paused(qtbot, tmp_path, shapes_folder):
    c = TrainController()
    rec = Recorder(c)
    got = []
    c.generator_weights.connect(got.append)
    c.start(_tiny_new_project(shapes_folder, tmp_path / "p", steps=100_000, sample_every=1000), cpu_threads=None)
    qtbot.waitUntil(lambda: rec.last_step() >= 2, timeout=30_000)
    assert c.request_generator_weights()
    qtbot.waitUntil(lambda: len(got) == 1, timeout=30_000)
    c.pause()
    qtbot.waitUntil(lambda: c.state == WorkerState.PAUSED, timeout=10_000)
    c.request_generator_weights()  # a paused loop still answers
    qtbot.waitUntil(lambda: len(got) == 2, timeout=10_000)
    w = got[1]
    assert get_kind(w.kind).title == "DCGAN" and w.config.ngf == 8 and w.step == rec.last_step()
    assert all(t.device.type == "cpu" for t in w.state.values())
    assert c.shutdown()
