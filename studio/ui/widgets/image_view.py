"""ImageView: one picture on a dark-neutral canvas, scaled to fit with crisp pixels.

Sample grids of 32 px images are tiny; smoothing them when enlarging would blur exactly the
detail a designer is judging, so enlargement uses whole-number nearest-neighbour factors
(every source pixel becomes an exact square). Pictures larger than the view are reduced smoothly.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.ui import style
from studio.ui.qimage import to_qimage


def _checker(size: int = 8) -> QPixmap:
    pm = QPixmap(size * 2, size * 2)
    pm.fill(QColor(60, 60, 64))
    p = QPainter(pm)
    p.fillRect(0, 0, size, size, QColor(80, 80, 86))
    p.fillRect(size, size, size, size, QColor(80, 80, 86))
    p.end()
    return pm


class ImageView(QWidget):
    """Shows one uint8 picture (numpy or QImage). GUI thread only.

    `row_labels` draws a label left of each row of a grid (the CycleGAN A -> B -> A preview)."""

    image_changed = Signal()

    def __init__(self, placeholder: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._image: QImage | None = None
        self._placeholder = placeholder
        self._caption = ""
        self._row_labels: list[str] = []
        self._label_margin = 0
        self._checker: QPixmap | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self.setAutoFillBackground(False)

    # ----- content --------------------------------------------------------------------------------
    def set_picture(self, picture: np.ndarray | QImage | None) -> None:
        """Show a uint8 (H, W, C) array or a QImage; None clears."""
        if picture is None:
            self._image = None
        elif isinstance(picture, QImage):
            self._image = picture
        else:
            self._image = to_qimage(picture)
        self.update()
        self.image_changed.emit()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def set_caption(self, text: str) -> None:
        self._caption = text
        self.update()

    def set_row_labels(self, labels: list[str]) -> None:
        self._row_labels = list(labels)
        self._label_margin = 64 if labels else 0
        self.update()

    @property
    def image(self) -> QImage | None:
        return self._image

    @property
    def caption(self) -> str:
        return self._caption

    def has_picture(self) -> bool:
        return self._image is not None and not self._image.isNull()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(520, 520)

    # ----- geometry --------------------------------------------------------------------------------
    def image_rect(self) -> QRect:
        """Where the picture is drawn: centred, whole-number scale when enlarging."""
        if not self.has_picture():
            return QRect()
        pad = 16
        caption_h = 28 if self._caption else 0
        avail_w = max(1, self.width() - 2 * pad - self._label_margin)
        avail_h = max(1, self.height() - 2 * pad - caption_h)
        iw, ih = self._image.width(), self._image.height()
        scale = min(avail_w / iw, avail_h / ih)
        if scale >= 2:
            scale = float(int(scale))  # crisp: every source pixel an exact square
        w, h = max(1, int(iw * scale)), max(1, int(ih * scale))
        x = self._label_margin + pad + (avail_w - w) // 2
        y = pad + (avail_h - h) // 2
        return QRect(x, y, w, h)

    def scale(self) -> float:
        r = self.image_rect()
        return r.width() / self._image.width() if self.has_picture() else 0.0

    # ----- painting --------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), style.CANVAS)
        if not self.has_picture():
            if self._placeholder:
                p.setPen(style.MUTED)
                p.drawText(self.rect().adjusted(24, 24, -24, -24), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                           self._placeholder)
            p.end()
            return
        r = self.image_rect()
        if self._image.hasAlphaChannel():
            if self._checker is None:
                self._checker = _checker()
            p.fillRect(r, QBrush(self._checker))
        # Whole-number enlargement stays crisp; between 1x and 2x uneven pixel widths would show,
        # so that range (and any reduction) is filtered smoothly.
        crisp = r.width() % self._image.width() == 0 and r.width() >= 2 * self._image.width()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not crisp)
        p.drawImage(QRectF(r), self._image)
        if self._row_labels:
            self._draw_row_labels(p, r)
        if self._caption:
            p.setPen(style.MUTED)
            p.drawText(QRect(r.left(), r.bottom() + 6, r.width(), 22), Qt.AlignmentFlag.AlignHCenter, self._caption)
        p.end()

    def _draw_row_labels(self, p: QPainter, r: QRect) -> None:
        n = len(self._row_labels)
        row_h = r.height() / n
        p.setPen(style.MUTED)
        for i, text in enumerate(self._row_labels):
            box = QRect(r.left() - self._label_margin - 4, int(r.top() + i * row_h), self._label_margin, int(row_h))
            p.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
