"""PadSurface: the square the user drags on. It paints the map of the plane (a contact sheet whose
cells are centred on the positions they show), the corner tags or axis labels and the point, and
turns mouse and keys into positions in [0, 1]. It knows nothing of latents: the view (pad.py) hands
it pictures and labels and listens to `position_changed`. GUI thread only."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.ui import style
from studio.ui.qimage import to_qimage

MAP_CELLS = 5  # the pad background's map: 5 x 5 thumbnails


class PadSurface(QWidget):
    """The square pad: map background, corner tags or axis labels, the draggable point."""

    position_changed = Signal(float, float)  # (u, v) in [0, 1]
    corner_clicked = Signal(int, object)  # (corner index, global QPoint) on right-click or corner double-click
    drag_finished = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.u, self.v = 0.5, 0.5
        self._map: list = []  # n * n QImages
        self._map_n = MAP_CELLS
        self._corner_tags: list[str] = []
        self._axis_labels: tuple[str, str] | None = None
        self._dragging = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(140, 140)  # 1280x720 in W, where the Mix row takes a line more
        # No height-for-width: the square is drawn centred in whatever the layout gives (`square`), so
        # on a laptop's short screen the pad shrinks to fit beside its controls instead of growing
        # as tall as it is wide and pushing them below the fold. Where there is room it grows up to
        # square (its maximum height follows its width, resizeEvent), the controls right under it.
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Drag to explore. Arrow keys nudge (Shift: bigger steps), Home recentres.\n"
                        "Right-click a corner to choose its image.")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(360, 360)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        tallest = max(self.minimumHeight(), self.width())
        if self.maximumHeight() != tallest:
            self.setMaximumHeight(tallest)  # the width never depends on the height: no resize loop

    # ----- content ----------------------------------------------------------------------------------------
    def set_map(self, pictures: np.ndarray | None, n: int = MAP_CELLS) -> None:
        self._map = [] if pictures is None else [to_qimage(p) for p in pictures]
        self._map_n = n
        self.update()

    def set_corner_tags(self, tags: list[str]) -> None:
        self._corner_tags = list(tags)
        self.update()

    def set_axis_labels(self, labels: tuple[str, str] | None) -> None:
        self._axis_labels = labels
        self.update()

    def set_position(self, u: float, v: float, emit: bool = True) -> None:
        u, v = float(np.clip(u, 0, 1)), float(np.clip(v, 0, 1))
        if (u, v) == (self.u, self.v):
            return
        self.u, self.v = u, v
        self.update()
        if emit:
            self.position_changed.emit(u, v)

    # ----- geometry ---------------------------------------------------------------------------------------
    def square(self) -> QRectF:
        """The pad's square, centred in the widget."""
        side = min(self.width(), self.height()) - 2
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def active(self) -> QRectF:
        """Where positions live: inset by half a map cell, so each cell is centred on its position."""
        sq = self.square()
        half = sq.width() / self._map_n / 2
        return sq.adjusted(half, half, -half, -half)

    def point_for(self, u: float, v: float) -> QPointF:
        a = self.active()
        return QPointF(a.left() + u * a.width(), a.top() + v * a.height())

    def position_at(self, p: QPointF) -> tuple[float, float]:
        a = self.active()
        return (float(np.clip((p.x() - a.left()) / a.width(), 0, 1)),
                float(np.clip((p.y() - a.top()) / a.height(), 0, 1)))

    def corner_at(self, p: QPointF) -> int | None:
        """Index of the corner map cell under `p`, if any."""
        sq = self.square()
        cell = sq.width() / self._map_n
        col = 0 if p.x() < sq.left() + cell else 1 if p.x() > sq.right() - cell else None
        row = 0 if p.y() < sq.top() + cell else 1 if p.y() > sq.bottom() - cell else None
        if col is None or row is None:
            return None
        return row * 2 + col

    # ----- input ------------------------------------------------------------------------------------------
    def mousePressEvent(self, e: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if e.button() == Qt.MouseButton.RightButton:
            corner = self.corner_at(e.position())
            if corner is not None:
                self.corner_clicked.emit(corner, e.globalPosition().toPoint())
            return
        if e.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self.set_position(*self.position_at(e.position()))

    def mouseMoveEvent(self, e: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._dragging:
            self.set_position(*self.position_at(e.position()))

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._dragging and e.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
            self.drag_finished.emit()

    def mouseDoubleClickEvent(self, e: QMouseEvent) -> None:  # noqa: N802 - Qt API
        corner = self.corner_at(e.position())
        if corner is not None and self._corner_tags:
            self.corner_clicked.emit(corner, e.globalPosition().toPoint())

    def keyPressEvent(self, e: QKeyEvent) -> None:  # noqa: N802 - Qt API
        step = 0.05 if e.modifiers() & Qt.KeyboardModifier.ShiftModifier else 0.01
        moves = {Qt.Key.Key_Left: (-step, 0), Qt.Key.Key_Right: (step, 0), Qt.Key.Key_Up: (0, -step),
                 Qt.Key.Key_Down: (0, step)}
        if e.key() in moves:
            du, dv = moves[e.key()]
            self.set_position(self.u + du, self.v + dv)
        elif e.key() == Qt.Key.Key_Home:
            self.set_position(0.5, 0.5)
        else:
            super().keyPressEvent(e)

    # ----- painting ---------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        sq = self.square()
        p.fillRect(sq, style.CANVAS)  # outside the square the page shows through
        if not self.isEnabled():  # no generator yet: say so instead of showing a dead pad
            p.setPen(style.MUTED)
            p.drawText(sq, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, "No generator loaded")
            p.end()
            return
        n = self._map_n
        cell = sq.width() / n
        if len(self._map) == n * n:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            for i, img in enumerate(self._map):
                r, c = divmod(i, n)
                p.drawImage(QRectF(sq.left() + c * cell, sq.top() + r * cell, cell, cell), img)
            p.fillRect(sq, QColor(0, 0, 0, 55))  # dim the map so the point and labels read clearly
        # light grid through the cell centres
        p.setPen(QPen(QColor(255, 255, 255, 28), 1))
        a = self.active()
        for i in range(n):
            x = a.left() + i * a.width() / (n - 1)
            y = a.top() + i * a.height() / (n - 1)
            p.drawLine(QPointF(x, a.top()), QPointF(x, a.bottom()))
            p.drawLine(QPointF(a.left(), y), QPointF(a.right(), y))
        if self._axis_labels:
            self._paint_axes(p, a)
        elif self._corner_tags:
            self._paint_corner_tags(p, sq, cell)
        # the point
        pt = self.point_for(self.u, self.v)
        p.setPen(QPen(QColor(0, 0, 0, 160), 4))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(pt, 9, 9)
        p.setPen(QPen(QColor(255, 255, 255), 2))
        p.drawEllipse(pt, 9, 9)
        p.setBrush(style.ACCENT)
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(pt, 3.5, 3.5)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(style.ACCENT if self.hasFocus() else QColor(70, 72, 78), 1.5))
        p.drawRect(sq.adjusted(0.5, 0.5, -0.5, -0.5))
        p.end()

    def _tag(self, p: QPainter, anchor: QPointF, text: str, align) -> None:
        f = QFont(self.font())
        f.setPointSizeF(max(8.0, self.font().pointSizeF() - 1))
        p.setFont(f)
        m = p.fontMetrics()
        w, h = m.horizontalAdvance(text) + 10, m.height() + 4
        flag = Qt.AlignmentFlag
        x = anchor.x() if align & flag.AlignLeft else anchor.x() - w if align & flag.AlignRight else anchor.x() - w / 2
        y = anchor.y() if align & flag.AlignTop else anchor.y() - h if align & flag.AlignBottom else anchor.y() - h / 2
        box = QRectF(x, y, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 175))
        p.drawRoundedRect(box, 4, 4)
        p.setPen(QColor(235, 236, 240))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_corner_tags(self, p: QPainter, sq: QRectF, cell: float) -> None:
        pad = 4
        spots = [
            (QPointF(sq.left() + pad, sq.top() + pad), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
            (QPointF(sq.right() - pad, sq.top() + pad), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop),
            (QPointF(sq.left() + pad, sq.bottom() - pad), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom),
            (QPointF(sq.right() - pad, sq.bottom() - pad), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom),
        ]
        for (anchor, align), text in zip(spots, self._corner_tags):
            self._tag(p, anchor, text, align)

    def _paint_axes(self, p: QPainter, a: QRectF) -> None:
        x_name, y_name = self._axis_labels
        c = a.center()
        p.setPen(QPen(QColor(255, 255, 255, 110), 1.2, Qt.PenStyle.DashLine))
        p.drawLine(QPointF(a.left(), c.y()), QPointF(a.right(), c.y()))
        p.drawLine(QPointF(c.x(), a.top()), QPointF(c.x(), a.bottom()))
        sq = self.square()
        pad = 4
        flag = Qt.AlignmentFlag
        self._tag(p, QPointF(sq.right() - pad, c.y() - pad), f"{x_name} +", flag.AlignRight | flag.AlignBottom)
        self._tag(p, QPointF(sq.left() + pad, c.y() - pad), f"− {x_name}", flag.AlignLeft | flag.AlignBottom)
        self._tag(p, QPointF(c.x() + pad, sq.top() + pad), f"{y_name} +", flag.AlignLeft | flag.AlignTop)
        self._tag(p, QPointF(c.x() + pad, sq.bottom() - pad), f"− {y_name}", flag.AlignLeft | flag.AlignBottom)
