"""The Samples tab: a running training's grids are shown straight from the trainer, snapshots from disk."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from studio.app.state import ProjectState
from studio.app.train_worker import TrainController
from studio.engine.config import RunSettings
from studio.engine.project.folder import Project
from studio.engine.train.session import TrainEvent
from studio.ui.samples_area import SamplesView


class GridSession:
    """A stand-in TrainingSession whose sample grid at step s is filled with the value s + offset."""

    def __init__(self, root, steps: int, sample_every: int):
        self.project = Project.create(root, "dcgan", {"run": {}})
        self.trainer = SimpleNamespace(global_step=0, images_per_step=4, device=torch.device("cpu"))
        self.settings = RunSettings(steps=steps)
        self.warnings = []
        self.sample_every = sample_every
        self.offset = 0

    def save_samples(self):
        grid = np.full((8, 8, 3), self.trainer.global_step + self.offset, np.uint8)
        return grid, self.project.save_samples(self.trainer.global_step, grid)

    def close(self):  # a real session gives back the project's training lock here
        pass

    def run(self, until_step=None, minutes=None, should_stop=None):
        while self.trainer.global_step < until_step and not should_stop():
            self.trainer.global_step += 1
            ev = TrainEvent(self.trainer.global_step, until_step, {"loss": 1.0}, 100.0, 0.0)
            if self.trainer.global_step % self.sample_every == 0:
                ev.samples, _ = self.save_samples()
            yield ev


def shown_value(view: SamplesView) -> int:
    return view.image.image.pixelColor(0, 0).red()


def test_live_grids_come_from_the_trainer_and_old_ones_from_disk(qtbot, tmp_path, monkeypatch):
    import studio.engine.images as images

    state, controller = ProjectState(), TrainController()
    view = SamplesView(state, controller)  # before the state follows the controller, as the window does
    qtbot.addWidget(view)
    state.follow(controller)
    reads = []
    real_load = images.load_png
    monkeypatch.setattr(images, "load_png", lambda path: reads.append(path) or real_load(path))

    session = GridSession(tmp_path / "p", steps=60, sample_every=10)
    controller.start(lambda progress, should_cancel: session)
    qtbot.waitUntil(lambda: not controller.busy, timeout=10_000)
    qtbot.waitUntil(lambda: view.timeline.steps() == [0, 10, 20, 30, 40, 50, 60], timeout=5000)
    assert view.timeline.live and view.image.caption.startswith("Step 60")
    assert shown_value(view) == 60
    # Whether each live grid came from memory is not asserted: the project state also lists the
    # samples folder (when the run's project opens and ends), and a step listed from disk before its
    # signal arrives is read back once; after other UI tests that happened now and then. Start the
    # scrubbing checks from an empty snapshot cache, whatever that race left in it.
    reads.clear()
    view._image_cache.clear()

    view.timeline.select_step(50)  # one of the newest grids of the run (or read once, as above)
    assert view.image.caption == "Step 50" and shown_value(view) == 50
    reads.clear()
    view.timeline.select_step(10)  # scrubbing further back reads the saved snapshot
    assert view.image.caption == "Step 10" and shown_value(view) == 10
    assert [p.rsplit("/", 1)[-1] for p in map(str, reads)] == ["step-0000010.png"]
    view.timeline.select_step(20)
    view.timeline.select_step(10)  # the second time from the cache
    assert len(reads) == 2 and shown_value(view) == 10

    # A run resumed from an earlier checkpoint sends a grid for a step the timeline lists already:
    # the new grid is shown, not the old file.
    session.trainer.global_step, session.offset = 50, 100
    view.follow_live()
    controller.start(lambda progress, should_cancel: session, until_step=60)
    qtbot.waitUntil(lambda: not controller.busy, timeout=10_000)
    qtbot.waitUntil(lambda: shown_value(view) == 160, timeout=5000)
    assert view.image.caption.startswith("Step 60")  # 160: the new grid, not the old file of step 60
