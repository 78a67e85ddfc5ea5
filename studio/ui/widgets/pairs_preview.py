"""PairsPreview: example training pairs, input beside target, before a paired model trains.

When the inputs are made from the pictures (a sketch of each, a grey copy, ...), this is where a
designer sees whether the made inputs look like what they will draw or give the model later: a
mode that gives faint or noisy lines on their collection is better found here than after an
hour of training. GUI thread only.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from studio.ui import style
from studio.ui.qimage import to_qimage

CELL = 96  # px on screen per picture: small pictures enlarged (crisp), large ones reduced (smooth)
COLUMNS = 2  # pairs per row: with input and target side by side, four pictures across


def _pixmap(picture: np.ndarray) -> QPixmap:
    img = to_qimage(picture)
    smooth = img.width() > CELL
    mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
    return QPixmap.fromImage(img.scaled(CELL, CELL, Qt.AspectRatioMode.KeepAspectRatio, mode))


class PairsPreview(QWidget):
    """A grid of (input, target) pairs with a line saying how the inputs were made."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        style.muted(self.caption)
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setHorizontalSpacing(6)
        self._grid.setVerticalSpacing(10)
        area = QScrollArea()
        area.setWidget(self._grid_host)
        area.setWidgetResizable(True)
        area.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(area, 1)
        self.pairs: list[tuple[QLabel, QLabel]] = []

    def set_pairs(self, pairs: list[tuple[np.ndarray, np.ndarray]], caption: str = "",
                  titles: tuple[str, str] = ("Input", "Target")) -> None:
        """Show uint8 (H, W, C) (input, target) pairs; `titles` head each pair's two columns."""
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.pairs = []
        self.caption.setText(caption)
        for col in range(COLUMNS):
            for k, title in enumerate(titles):
                head = QLabel(title)
                head.setObjectName("heading")
                head.setAlignment(Qt.AlignmentFlag.AlignCenter)
                self._grid.addWidget(head, 0, col * 3 + k)
            if col < COLUMNS - 1:
                self._grid.setColumnMinimumWidth(col * 3 + 2, 18)  # a gap between pairs
        for i, (made, target) in enumerate(pairs):
            row, col = 1 + i // COLUMNS, (i % COLUMNS) * 3
            labels = []
            for k, picture in enumerate((made, target)):
                label = QLabel()
                label.setPixmap(_pixmap(picture))
                label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                self._grid.addWidget(label, row, col + k)
                labels.append(label)
            self.pairs.append((labels[0], labels[1]))
        self._grid.setRowStretch(1 + (len(pairs) + COLUMNS - 1) // COLUMNS, 1)
