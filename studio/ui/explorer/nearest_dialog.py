"""The memorization check: the training images nearest to the image on the pad, so an artist can
see whether the model makes new images or copies theirs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from studio.app.task_worker import TaskRunner
from studio.ui.widgets.image_view import ImageView

K = 8


def verdict(copy_ratio: float) -> str:
    """Plain words for nearest distance / typical distance between training images."""
    if copy_ratio < 0.25:
        return "This image is nearly identical to one of your training images: the model may be copying."
    if copy_ratio < 0.6:
        return "This image is close to one of your training images, closer than they are to each other."
    return "This image is new: it is as far from your images as they are from each other."


class NearestImagesDialog(QDialog):
    """Shows `picture` and its K nearest training images with distances. Indexing runs on a
    worker thread; closing the dialog cancels it."""

    def __init__(self, project_dir: Path | str, picture: np.ndarray, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Nearest training images")
        self.picture = picture
        self.neighbours = None
        self.runner = TaskRunner("nearest-images", self)
        self.status = QLabel("Indexing your training images…")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.grid = QGridLayout()
        query = ImageView("")
        query.setMinimumSize(160, 160)
        query.set_picture(picture)
        self.grid.addWidget(query, 0, 0, 2, 1)
        self.grid.addWidget(QLabel("Generated"), 2, 0, Qt.AlignmentFlag.AlignHCenter)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        root = QVBoxLayout(self)
        root.addWidget(self.status)
        root.addWidget(self.progress)
        root.addLayout(self.grid)
        root.addWidget(buttons)
        self.runner.progress.connect(lambda done, total, _: (self.progress.setMaximum(max(total, 1)),
                                                             self.progress.setValue(done)))
        self.runner.finished.connect(self._on_indexed)
        self.runner.failed.connect(self._on_failed)
        self.finished.connect(lambda _: self.runner.cancel_and_join())
        project_dir = Path(project_dir)

        def task(progress, should_cancel):
            from studio.engine.explore.nearest_images import index_project

            index = index_project(project_dir, lambda d, t: progress(d, t, ""), should_cancel)
            return index, index.query(picture, k=K, space="feature")

        self.runner.start(task)

    def _on_indexed(self, result) -> None:
        index, nb = result
        self.neighbours = nb
        self.progress.hide()
        self.status.setText(f"{verdict(nb.copy_ratio)} The nearest is {nb.copy_ratio:.2f} × the usual distance "
                            f"between two of the {len(index):,} training images.")
        for i, (row, dist) in enumerate(zip(nb.indices, nb.distances)):
            view = ImageView("")
            view.setMinimumSize(96, 96)
            view.set_picture(index.picture(int(row)))
            name = Path(nb.paths[i]).name if nb.paths[i] else f"#{row}"
            view.setToolTip(nb.paths[i])
            r, c = divmod(i, 4)
            self.grid.addWidget(view, r * 2, 1 + c)
            self.grid.addWidget(QLabel(f"{name}\n{dist:.3f}"), r * 2 + 1, 1 + c, Qt.AlignmentFlag.AlignHCenter)

    def _on_failed(self, message: str) -> None:
        self.progress.hide()
        self.status.setText(message)
