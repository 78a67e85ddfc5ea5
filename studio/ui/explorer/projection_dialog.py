"""Project a photo: find the latent whose picture is closest to an image of the user's, show the
target, the result and their difference, and add the latent to the gallery, where the pad, the
arithmetic panel and the direction sliders can edit it ("my photo + glasses"). GUI thread only;
the search runs on a TaskRunner thread with its own copy of the generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.app.task_worker import TaskRunner
from studio.ui.explorer.common import muted_label
from studio.ui.widgets.image_view import ImageView

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif);;All files (*)"


class ProjectionDialog(QDialog):
    """Pick an image, project it with progress and Cancel, compare, add to the gallery.

    `model_factory()` builds a fresh GeneratorModel (called on the worker thread: the explorer's
    render worker keeps its own); `project_dir` decodes the image as the project's training images
    were. Emits `add_requested(latent, name, source, space)` with the explorer's flat latent and the
    explorer space it belongs to ("w" for w and w+ projections)."""

    add_requested = Signal(object, str, str, str)  # (float32 flat latent, suggested name, provenance, "z" | "w")

    def __init__(self, project_dir: Path | str, model_factory, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Project a photo")
        self.project_dir = Path(project_dir)
        self._factory = model_factory
        self.image_path: Path | None = None
        self.result = None  # the Projection once a search has finished
        self.runner = TaskRunner("projection", self)

        self.choose_button = QPushButton("Choose image…")
        self.choose_button.clicked.connect(lambda: self.choose_image())
        self.path_label = muted_label("No image chosen yet.", wrap=False)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(20, 5000)
        self.steps_spin.setSingleStep(50)
        self.steps_spin.setValue(300)
        self.steps_spin.setSuffix(" steps")
        self.steps_spin.setToolTip("More steps find a closer latent and take longer")
        self.start_button = QPushButton("Project")
        self.start_button.setObjectName("primary")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.status = QLabel("Choose a picture of yours: the search finds the generated image closest to it.")
        self.status.setWordWrap(True)

        self.views: dict[str, ImageView] = {}
        grid = QGridLayout()
        for col, (key, title) in enumerate((("target", "Your image"), ("result", "Projected"),
                                            ("difference", "Difference (×4)"))):
            view = ImageView("")
            view.setMinimumSize(180, 180)
            self.views[key] = view
            grid.addWidget(view, 0, col)
            grid.addWidget(QLabel(title), 1, col, Qt.AlignmentFlag.AlignHCenter)
        self.add_button = QPushButton("Add to gallery")
        self.add_button.setToolTip("Save the projected latent as a bookmark, to edit it on the pad and in arithmetic")
        self.add_button.clicked.connect(self.add_to_gallery)
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.reject)

        top = QHBoxLayout()
        top.addWidget(self.choose_button)
        top.addWidget(self.path_label, 1)
        top.addWidget(self.steps_spin)
        top.addWidget(self.start_button)
        run = QHBoxLayout()
        run.addWidget(self.progress, 1)
        run.addWidget(self.cancel_button)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.add_button)
        bottom.addWidget(close_button)
        root = QVBoxLayout(self)
        root.addLayout(top)
        root.addLayout(run)
        root.addWidget(self.status)
        root.addLayout(grid, 1)
        root.addLayout(bottom)

        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.busy_changed.connect(lambda _: self._update_buttons())
        self.finished.connect(lambda _: self.runner.cancel_and_join())
        self._update_buttons()

    # ----- choosing and running ---------------------------------------------------------------------------
    def choose_image(self, path: Path | str | None = None) -> bool:
        """Show the image (a file dialog when no path is given); the search starts with Project."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Project a photo", str(Path.home()), IMAGE_FILTER)
            if not path:
                return False
        from studio.engine.errors import UserError
        from studio.engine.explore.projection import load_target

        try:
            target = load_target(self.project_dir, path)
        except UserError as e:
            self.status.setText(str(e))
            return False
        self.image_path = Path(path)
        self.result = None
        self.path_label.setText(self.image_path.name)
        self.path_label.setToolTip(str(self.image_path))
        self.views["target"].set_picture(target)
        for key in ("result", "difference"):
            self.views[key].set_picture(None)
        self.status.setText(f"Ready: {target.shape[1]}x{target.shape[0]} px, as the model sees it. Press Project.")
        self._update_buttons()
        return True

    def start(self) -> None:
        """Project the chosen image on the worker thread."""
        if self.image_path is None or self.runner.busy:
            return
        from studio.engine.explore.projection import ProjectionSettings, load_target, project

        factory, root, path = self._factory, self.project_dir, self.image_path
        settings = ProjectionSettings(steps=self.steps_spin.value())

        def task(progress, should_cancel):
            progress(0, settings.steps, "Loading the generator…")
            model = factory()
            return project(model, load_target(root, path), settings, progress, should_cancel)

        self.result = None
        self.progress.setRange(0, settings.steps)
        self.progress.setValue(0)
        self.status.setText("Searching the latent space…")
        self.runner.start(task)
        self._update_buttons()

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        if text:
            self.status.setText(text)

    def _on_finished(self, result) -> None:
        self.result = result
        self.views["target"].set_picture(result.target)
        self.views["result"].set_picture(result.picture)
        self.views["difference"].set_picture(result.difference)
        space = {"z": "z", "w": "W (one style for every layer)", "w+": "W+ (a style per layer)"}[result.space]
        self.status.setText(f"Found a latent in {space} after {result.steps:,} steps: it differs from your image "
                            f"by {result.error:.1f} levels of 255 on average (RMS). Add it to the gallery to edit it.")
        self._update_buttons()

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)
        self._update_buttons()

    def _on_cancelled(self) -> None:
        self.progress.setValue(0)
        self.status.setText("Cancelled. Press Project to search again.")
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.runner.busy
        self.choose_button.setEnabled(not busy)
        self.steps_spin.setEnabled(not busy)
        self.start_button.setEnabled(not busy and self.image_path is not None)
        self.cancel_button.setEnabled(busy)
        self.add_button.setEnabled(not busy and self.result is not None)

    # ----- the result -----------------------------------------------------------------------------------------
    def add_to_gallery(self) -> None:
        """Hand the projected latent to the explorer (which bookmarks it)."""
        if self.result is None:
            return
        from studio.engine.explore.projection import explorer_latent

        name = self.image_path.stem if self.image_path else "projected"
        source = f"projected from {self.image_path.name if self.image_path else 'an image'} ({self.result.space})"
        space = "z" if self.result.space == "z" else "w"
        self.add_requested.emit(np.asarray(explorer_latent(self.result)), name, source, space)
