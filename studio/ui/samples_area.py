"""The Samples tab: a heading, the sample grid of one snapshot and the timeline under it.

While training runs, the newest grid comes straight from the trainer (numpy, no disk read) and a
live timeline follows it. Scrubbing back shows saved snapshots, read through the engine's image
opener and kept in a small cache so dragging the slider stays smooth. GUI thread only.
"""

from __future__ import annotations

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from studio.app.state import ProjectState
from studio.app.train_worker import TrainController, WorkerState
from studio.engine.models import get_kind
from studio.engine.project.folder import Project
from studio.ui import style
from studio.ui.widgets.image_view import ImageView
from studio.ui.widgets.timeline import TimelineView

SAMPLE_CACHE = 48  # decoded snapshot images kept for fast scrubbing
LIVE_GRIDS = 4  # newest grids from the trainer kept in memory (each a few hundred kB)
WAITING = "Samples appear here as soon as training starts."
PREPARING = "Preparing the images and the model. The first samples appear here in a moment."


class SamplesView(QWidget):
    """Heading, sample grid and timeline of the open project. GUI thread only.

    Create it before `state.follow(training)`: it must hear a new grid before the state lists its
    step (see `_on_samples`)."""

    def __init__(self, state: ProjectState, training: TrainController, parent: QWidget | None = None):
        super().__init__(parent)
        self._state = state
        self._training = training
        # The newest grids this run handed over, by step. More than one: the timeline may select a
        # snapshot after the next one has already arrived (its selection waits for the event loop,
        # late on a busy machine), and that one must not be read back from disk.
        self._live_grids: dict[int, object] = {}
        self._image_cache: dict[str, QImage] = {}

        self.heading = QLabel("")
        self.heading.setWordWrap(True)
        self.heading.setContentsMargins(14, 10, 14, 0)
        style.muted(self.heading)
        self.image = ImageView(WAITING)
        self.timeline = TimelineView()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.heading)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.timeline)
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), style.CANVAS)
        self.setPalette(pal)

        training.samples.connect(self._on_samples)
        training.preview.connect(self._on_preview)
        training.state_changed.connect(self._on_training_state)
        state.project_changed.connect(self._on_project_changed)
        state.samples_changed.connect(self.timeline.set_steps)
        self.timeline.step_selected.connect(self._on_timeline_step)

    # ----- what the user does -------------------------------------------------------------------------
    def nudge(self, delta: int) -> None:
        """Move the timeline `delta` snapshots (Ctrl+Left / Ctrl+Right)."""
        s = self.timeline.slider
        s.setValue(max(0, min(s.maximum(), s.value() + delta)))

    def follow_live(self) -> None:
        self.timeline.set_live(True)

    # ----- the project and its run ------------------------------------------------------------------------
    def _on_project_changed(self, project: Project | None) -> None:
        self._image_cache.clear()
        if project is None:
            self.image.set_picture(None)
            self.heading.setText("")
            return
        kind = get_kind(project.kind)
        translates = kind.capabilities.translates
        self.image.set_row_labels(list(kind.preview_rows()))
        self.heading.setText(
            "Each column is one preview image: translated to the other style, then back again."
            if translates else
            "The same random seeds every snapshot, so what changes is the model, not the luck of the draw."
        )
        if not project.sample_steps():
            self.image.set_picture(None)

    def _on_training_state(self, state: WorkerState) -> None:
        if state == WorkerState.PREPARING:
            self._live_grids.clear()  # a new run: the last run's grids are no longer the newest
        self.image.set_placeholder(PREPARING if state == WorkerState.PREPARING else WAITING)

    def _remember_live(self, step: int, grid) -> None:
        self._live_grids.pop(step, None)
        self._live_grids[step] = grid
        while len(self._live_grids) > LIVE_GRIDS:
            self._live_grids.pop(next(iter(self._live_grids)))

    def _on_samples(self, step: int, grid) -> None:
        self._remember_live(step, grid)
        # The project state hears this signal next and lists the step; a live timeline then selects
        # it and `_on_timeline_step` shows this grid. A step listed already (step 0 again) is not
        # announced a second time, so it is shown here.
        if self.timeline.live and any(s == step for s, _ in self._state.sample_steps):
            self._show_grid(step, grid)

    def _on_preview(self, step: int, grid) -> None:
        """The grid after a single step (not saved): the user steps to watch exactly this."""
        self.timeline.set_live(True)
        self._remember_live(step, grid)
        self.image.set_picture(grid)
        self.image.set_caption(f"Step {step:,}   ·   after a single step (not saved as a snapshot)")

    # ----- showing a snapshot ---------------------------------------------------------------------------
    def _show_grid(self, step: int, picture) -> None:
        live = self._training.busy and self.timeline.live
        self.image.set_picture(picture)
        self.image.set_caption(f"Step {step:,}" + ("   ·   live" if live else ""))

    def _on_timeline_step(self, step: int, path: str) -> None:
        if step in self._live_grids:
            self._show_grid(step, self._live_grids[step])
            return
        img = self._image_cache.get(path)
        if img is None:
            # Through the engine's opener, not QImage(path): Qt's own readers take any format they
            # know (PDF included) by a file's content, whatever it is named.
            from studio.engine.images import load_png
            from studio.ui.qimage import to_qimage

            try:
                img = to_qimage(load_png(path))
            except (OSError, ValueError):
                self.image.set_caption(f"Step {step:,}: snapshot could not be read")
                return
            if len(self._image_cache) >= SAMPLE_CACHE:
                self._image_cache.pop(next(iter(self._image_cache)))
            self._image_cache[path] = img
        self._show_grid(step, img)
