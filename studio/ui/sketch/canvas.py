"""SketchCanvas: a drawing at the model's input size, shown large, drawn with mouse or tablet.

The picture is kept at exactly the size the model takes (e.g. 256 x 256), so what is drawn is what
is translated, pixel for pixel; the widget only enlarges it for the eye, in crisp pixels. A tablet
pen's pressure narrows or widens the stroke where Qt reports it (`tabletEvent`); the pen's eraser
end erases. Every change emits `changed` at once (while a stroke is being drawn too), so the
result beside it follows the pen. GUI thread only.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPointingDevice
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.ui import style
from studio.ui.sketch.tools import PAPER, History, Tool, blank, draw_segment, flood_fill, from_array, to_array

MARGIN = 16  # around the picture, as the image view beside it leaves: both then enlarge by the same factor


class SketchCanvas(QWidget):
    changed = Signal()  # the picture changed (also in the middle of a stroke)
    stroke_finished = Signal()  # a pen, eraser, line or fill edit is complete
    history_changed = Signal()  # undo / redo availability may have changed

    def __init__(self, size: int = 256, parent: QWidget | None = None):
        super().__init__(parent)
        self._image = blank(size)
        self.history = History()
        self.tool = Tool.PEN
        self.pen_width = 4.0  # stroke width in canvas pixels at full pressure
        self.colour = QColor(0, 0, 0)
        self._last: QPointF | None = None  # previous point of the stroke being drawn
        self._line_start: QPointF | None = None
        self._before: QImage | None = None  # the canvas when the current stroke started
        self._hover: QPointF | None = None  # for the brush outline
        self._tablet_eraser = False
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)

    # ----- the picture ----------------------------------------------------------------------------
    @property
    def canvas_size(self) -> int:
        return self._image.width()

    def picture(self) -> np.ndarray:
        """The drawing as uint8 (size, size, 3)."""
        return to_array(self._image)

    def image(self) -> QImage:
        return self._image.copy()

    def set_canvas_size(self, size: int) -> None:
        """Start over on a blank canvas of `size` px (another model); the history is dropped."""
        if size == self.canvas_size:
            return
        self._image = blank(size)
        self.history.clear()
        self._changed(finished=True)

    def set_picture(self, picture: np.ndarray | QImage) -> None:
        """Replace the drawing (undoable) with a picture, fitted to the canvas: the centre square,
        scaled smoothly to the canvas size."""
        image = picture if isinstance(picture, QImage) else from_array(picture)
        side = min(image.width(), image.height())
        image = image.copy((image.width() - side) // 2, (image.height() - side) // 2, side, side)
        if side != self.canvas_size:
            image = image.scaled(self.canvas_size, self.canvas_size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        self._edit(image.convertToFormat(QImage.Format.Format_RGB888))

    def clear(self) -> None:
        """A blank canvas (undoable)."""
        self._edit(blank(self.canvas_size))

    def undo(self) -> None:
        self._cancel_stroke()
        before = self.history.undo(self._image)
        if before is not None:
            self._image = before
            self._changed(finished=True)

    def redo(self) -> None:
        self._cancel_stroke()
        after = self.history.redo(self._image)
        if after is not None:
            self._image = after
            self._changed(finished=True)

    def _edit(self, image: QImage) -> None:
        self._cancel_stroke()
        self.history.push(self._image)
        self._image = image
        self._changed(finished=True)

    def _changed(self, finished: bool = False) -> None:
        self.update()
        self.changed.emit()
        if finished:
            self.stroke_finished.emit()
            self.history_changed.emit()

    # ----- geometry ---------------------------------------------------------------------------------
    def picture_rect(self) -> QRectF:
        """Where the enlarged picture is drawn in the widget: centred, as large as fits at a whole-number
        factor (every canvas pixel the same size on screen, and the same size as the result's beside
        it, which the image view enlarges by whole numbers too); smaller than the canvas only when
        the widget is."""
        pad = MARGIN if min(self.width(), self.height()) > 2 * MARGIN + self.canvas_size else 0
        room = min(self.width(), self.height()) - 2 * pad
        n = self.canvas_size
        side = room // n * n if room >= n else room
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_canvas(self, pos: QPointF) -> QPointF:
        """Widget position -> canvas pixel coordinates (pixel centres at .5)."""
        r = self.picture_rect()
        scale = self.canvas_size / max(1.0, r.width())
        return QPointF((pos.x() - r.x()) * scale, (pos.y() - r.y()) * scale)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(512, 512)

    # ----- drawing ----------------------------------------------------------------------------------
    def _paint_colour(self, erase: bool = False) -> QColor:
        return PAPER if erase or self.tool == Tool.ERASER else self.colour

    def _begin(self, pos: QPointF, pressure: float, erase: bool = False) -> None:
        self._cancel_stroke()
        self._before = self._image.copy()
        p = self.to_canvas(pos)
        if self.tool == Tool.FILL and not erase:
            self._image = flood_fill(self._image, p, self.colour)
            self._finish()
            return
        if self.tool == Tool.LINE and not erase:
            self._line_start = p
            return
        self._last = p
        draw_segment(self._image, p, p, self._paint_colour(erase), self.pen_width * pressure)
        self._changed()

    def _move(self, pos: QPointF, pressure: float, erase: bool = False) -> None:
        p = self.to_canvas(pos)
        if self._line_start is not None:
            # The line follows the pointer: redrawn on the canvas as it was when the line began.
            self._image = self._before.copy()
            draw_segment(self._image, self._line_start, p, self.colour, self.pen_width * pressure)
            self._changed()
        elif self._last is not None:
            draw_segment(self._image, self._last, p, self._paint_colour(erase), self.pen_width * pressure)
            self._last = p
            self._changed()

    def _finish(self) -> None:
        if self._before is None:
            return
        self.history.push(self._before)
        self._before = None
        self._last = self._line_start = None
        self._changed(finished=True)

    def _cancel_stroke(self) -> None:
        """A stroke still open (e.g. undo pressed mid-stroke) is kept as drawn and made undoable."""
        if self._before is not None:
            self.history.push(self._before)
            self._before = None
            self._last = self._line_start = None

    # ----- events -----------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton:
            self._begin(event.position(), 1.0)
        elif event.button() == Qt.MouseButton.RightButton:  # the right button erases, as on many paint apps
            self._begin(event.position(), 1.0, erase=True)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._hover = event.position()
        if event.buttons() & Qt.MouseButton.RightButton:
            self._move(event.position(), 1.0, erase=True)
        elif event.buttons() & Qt.MouseButton.LeftButton:
            self._move(event.position(), 1.0)
        else:
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self._move(event.position(), 1.0, erase=event.button() == Qt.MouseButton.RightButton)
            self._finish()

    def tabletEvent(self, event) -> None:  # noqa: N802 - Qt API
        # Pressure from 0 to 1 where the tablet reports it; a light touch still leaves a thin line.
        pressure = max(0.15, event.pressure()) if event.pressure() > 0 else 1.0
        t = event.type()
        if t == event.Type.TabletPress:
            self._tablet_eraser = event.pointerType() == QPointingDevice.PointerType.Eraser
            self._begin(event.position(), pressure, erase=self._tablet_eraser)
        elif t == event.Type.TabletMove:
            self._hover = event.position()
            if event.buttons() & Qt.MouseButton.LeftButton:
                self._move(event.position(), pressure, erase=self._tablet_eraser)
            else:
                self.update()
        elif t == event.Type.TabletRelease:
            self._finish()
        event.accept()  # no synthesised mouse events: the stroke would be drawn twice

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._hover = None
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), style.CANVAS)
        r = self.picture_rect()
        # Crisp pixels: the canvas is what the model sees, and a smooth enlargement would hide that.
        p.drawImage(r, self._image)
        if self._hover is not None and self.tool in (Tool.PEN, Tool.ERASER, Tool.LINE):
            radius = self.pen_width * r.width() / self.canvas_size / 2
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(QPen(QColor(120, 120, 128), 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(self._hover, radius, radius)
        p.end()
