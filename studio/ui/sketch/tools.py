"""What the sketch pad's tools do to a picture: pen and eraser strokes, lines, flood fill, and the
undo history. Plain QImage operations with no widget, so they are tested and reused without one.
GUI thread only (QPainter on QImages)."""

from __future__ import annotations

from enum import Enum

import numpy as np
from PIL import Image, ImageDraw
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from studio.ui.qimage import to_qimage

PAPER = QColor(255, 255, 255)  # the blank canvas, and what the eraser paints: the inputs are lines on white
UNDO_LIMIT = 100  # canvases kept for undo (256 px RGB: 192 KB each)


class Tool(Enum):
    PEN = "pen"
    ERASER = "eraser"
    LINE = "line"
    FILL = "fill"


def blank(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_RGB888)
    image.fill(PAPER)
    return image


def to_array(image: QImage) -> np.ndarray:
    """An RGB888 QImage -> uint8 (H, W, 3), a copy."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = image.width(), image.height(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)
    return rows[:, : w * 3].reshape(h, w, 3).copy()


def from_array(picture: np.ndarray) -> QImage:
    """A uint8 picture (grey, RGB or RGBA; alpha put on paper) -> an RGB888 QImage."""
    image = to_qimage(picture)
    if image.hasAlphaChannel():
        flat = QImage(image.size(), QImage.Format.Format_RGB888)
        flat.fill(PAPER)
        p = QPainter(flat)
        p.drawImage(0, 0, image)
        p.end()
        return flat
    return image.convertToFormat(QImage.Format.Format_RGB888)


def stroke_pen(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, max(0.5, width), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    return pen


def draw_segment(image: QImage, a: QPointF, b: QPointF, colour: QColor, width: float) -> None:
    """A round-capped segment from a to b (a dot when they coincide), antialiased like a soft pencil."""
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(stroke_pen(colour, width))
    if a == b:
        # A zero-length line draws nothing on some paint engines: a disc of the pen's width instead.
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        r = max(0.5, width) / 2
        p.drawEllipse(a, r, r)
    else:
        p.drawLine(a, b)
    p.end()


def flood_fill(image: QImage, at: QPointF, colour: QColor, tolerance: int = 48) -> QImage:
    """`image` with the region of similar colour around `at` painted `colour`. The tolerance (per
    channel) lets the fill cross the soft, antialiased rim of a stroke instead of leaving a halo."""
    x, y = int(at.x()), int(at.y())
    if not (0 <= x < image.width() and 0 <= y < image.height()):
        return image
    pil = Image.fromarray(to_array(image))
    ImageDraw.floodfill(pil, (x, y), (colour.red(), colour.green(), colour.blue()), thresh=tolerance)
    return from_array(np.asarray(pil))


class History:
    """Undo and redo of whole canvases: each edit pushes the canvas as it was before it."""

    def __init__(self, limit: int = UNDO_LIMIT):
        self.limit = limit
        self._undo: list[QImage] = []
        self._redo: list[QImage] = []

    def push(self, before: QImage) -> None:
        self._undo.append(before.copy())
        del self._undo[: -self.limit]
        self._redo.clear()

    def undo(self, current: QImage) -> QImage | None:
        """The canvas before the last edit (None when there is none); `current` becomes redoable."""
        if not self._undo:
            return None
        self._redo.append(current.copy())
        return self._undo.pop()

    def redo(self, current: QImage) -> QImage | None:
        if not self._redo:
            return None
        self._undo.append(current.copy())
        return self._redo.pop()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
