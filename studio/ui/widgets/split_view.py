"""SplitView: before / after of a translated image, with a divider the user drags across."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from studio.ui import style
from studio.ui.qimage import to_qimage
from studio.ui.widgets.image_view import ImageView


class SplitView(ImageView):
    """Left of the divider: the original; right: the translation. GUI thread only."""

    split_changed = Signal(float)

    def __init__(self, placeholder: str = "", parent=None):
        super().__init__(placeholder, parent)
        self._after: QImage | None = None
        self._split = 0.5
        self.setMouseTracking(True)

    def set_pair(self, before: np.ndarray | QImage | None, after: np.ndarray | QImage | None) -> None:
        """Show a before / after pair of the same size (None clears)."""
        self._after = None if after is None else (after if isinstance(after, QImage) else to_qimage(after))
        self.set_picture(before)

    @property
    def after_image(self) -> QImage | None:
        return self._after

    @property
    def split(self) -> float:
        return self._split

    def set_split(self, fraction: float) -> None:
        self._split = min(max(fraction, 0.0), 1.0)
        self.update()
        self.split_changed.emit(self._split)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().paintEvent(event)  # canvas, placeholder, and the "before" picture
        if not self.has_picture() or self._after is None:
            return
        r = self.image_rect()
        x = r.left() + int(round(r.width() * self._split))
        p = QPainter(self)
        p.setClipRect(QRect(x, r.top(), r.right() - x + 1, r.height()))
        self.draw_picture(p, r, self._after)
        p.setClipping(False)
        p.setPen(QPen(QColor(255, 255, 255, 220), 2))
        p.drawLine(x, r.top(), x, r.bottom())
        handle = QRect(x - 9, r.center().y() - 18, 18, 36)
        p.setBrush(QColor(255, 255, 255, 230))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawRoundedRect(handle, 6, 6)
        p.setPen(QPen(style.CANVAS, 2))
        p.drawLine(x - 3, handle.top() + 10, x - 3, handle.bottom() - 10)
        p.drawLine(x + 3, handle.top() + 10, x + 3, handle.bottom() - 10)
        self._tag(p, QRect(r.left() + 8, r.top() + 8, 80, 22), "Before", Qt.AlignmentFlag.AlignLeft)
        self._tag(p, QRect(r.right() - 88, r.top() + 8, 80, 22), "After", Qt.AlignmentFlag.AlignRight)
        p.end()

    @staticmethod
    def _tag(p: QPainter, box: QRect, text: str, align) -> None:
        w = p.fontMetrics().horizontalAdvance(text) + 14
        tag = QRect(box.left() if align == Qt.AlignmentFlag.AlignLeft else box.right() - w, box.top(), w, box.height())
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(tag, 4, 4)
        p.setPen(QColor(240, 240, 240))
        p.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)

    # ----- dragging the divider ------------------------------------------------------------------------
    def _split_at(self, x: float) -> None:
        r = self.image_rect()
        if r.width() > 0:
            self.set_split((x - r.left()) / r.width())

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._after is not None and event.button() == Qt.MouseButton.LeftButton:
            self._split_at(event.position().x())
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._after is not None:
            r = self.image_rect()
            near = abs(event.position().x() - (r.left() + r.width() * self._split)) < 12
            self.setCursor(Qt.CursorShape.SplitHCursor if near or event.buttons() else Qt.CursorShape.ArrowCursor)
            if event.buttons() & Qt.MouseButton.LeftButton:
                self._split_at(event.position().x())
        super().mouseMoveEvent(event)
