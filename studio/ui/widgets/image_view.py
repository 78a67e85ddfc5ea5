"""ImageView: one picture on a dark-neutral canvas, enlarged to fit, smoothly or in pixels.

Sample grids of 32 px images are tiny and are shown many times their size. Enlarged with
nearest-neighbour, they look like blocks, and a designer judges the blocks instead of the
picture; so enlargement is smooth (bicubic: calmer than Lanczos around the hard edges of tiny
pictures) unless the "Pixels" toggle in the corner asks for crisp squares, which shows what the
model really made. The geometry is the same either way: whole-number factors from 2x, so
toggling never moves the picture. Pictures larger than the view are reduced smoothly.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QToolButton, QWidget

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
    pixels_changed = Signal(bool)  # the "Pixels" toggle: True = crisp squares when enlarging

    def __init__(self, placeholder: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._image: QImage | None = None
        self._placeholder = placeholder
        self._caption = ""
        self._row_labels: list[str] = []
        self._label_margin = 0
        self._checker: QPixmap | None = None
        self._smooth_cache: dict[tuple, QImage] = {}  # (image key, width, height) -> enlarged copy
        self.pixels_button = QToolButton(self)
        self.pixels_button.setText("Pixels")
        self.pixels_button.setCheckable(True)
        self.pixels_button.setToolTip("Show every pixel as a crisp square instead of enlarging smoothly")
        # a framed chip (assets/style.qss), not a bare word: under the caption a frameless "Pixels"
        # read as a second caption at laptop sizes, not as something to click
        self.pixels_button.setObjectName("pixelsToggle")
        self.pixels_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.pixels_button.toggled.connect(self._pixels_toggled)
        self.pixels_button.hide()
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
        self._smooth_cache.clear()
        self._place_pixels_button()
        self.update()
        self.image_changed.emit()

    def pixels(self) -> bool:
        """True when enlargement shows crisp squares, False (the default) when it is smooth."""
        return self.pixels_button.isChecked()

    def set_pixels(self, on: bool) -> None:
        self.pixels_button.setChecked(on)

    def _pixels_toggled(self, on: bool) -> None:
        self.update()
        self.pixels_changed.emit(on)

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def set_caption(self, text: str) -> None:
        self._caption = text
        self._place_pixels_button()
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

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._place_pixels_button()

    def _place_pixels_button(self) -> None:
        """Under the picture's right edge where the canvas has room, else over its corner; shown only
        while the picture is enlarged (otherwise the toggle would change nothing)."""
        b = self.pixels_button
        b.setVisible(self.has_picture() and self.scale() > 1)
        if not b.isVisible():
            return
        r, size = self.image_rect(), b.sizeHint()
        x = min(r.right() + 1, self.width() - 6) - size.width()
        below = r.bottom() + 4 + (28 if self._caption else 0)
        y = below if below + size.height() <= self.height() else self.height() - size.height() - 6
        b.setGeometry(x, y, size.width(), size.height())

    # ----- painting --------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), style.CANVAS)
        if not self.has_picture():
            if self._placeholder:
                p.setPen(style.MUTED)
                p.drawText(self.rect().adjusted(24, 24, -24, -24),
                           Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)
            p.end()
            return
        r = self.image_rect()
        if self._image.hasAlphaChannel():
            if self._checker is None:
                self._checker = _checker()
            p.fillRect(r, QBrush(self._checker))
        self.draw_picture(p, r, self._image)
        if self._row_labels:
            self._draw_row_labels(p, r)
        if self._caption:
            p.setPen(style.MUTED)
            p.drawText(QRect(r.left(), r.bottom() + 6, r.width(), 22), Qt.AlignmentFlag.AlignHCenter, self._caption)
        p.end()

    def draw_picture(self, p: QPainter, r: QRect, image: QImage) -> None:
        """Draw `image` into `r`: enlarged smoothly, or in crisp squares with the Pixels toggle on."""
        if r.width() > image.width() and not self.pixels():
            p.drawImage(r.topLeft(), self._smooth_copy(image, r.size()))
            return
        # Whole-number enlargement stays crisp; between 1x and 2x uneven pixel widths would show,
        # so that range (and any reduction) is filtered smoothly.
        crisp = r.width() % image.width() == 0 and r.width() >= 2 * image.width()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not crisp)
        p.drawImage(QRectF(r), image)

    def _smooth_copy(self, image: QImage, size: QSize) -> QImage:
        """`image` enlarged bicubically to `size` in device pixels (a HiDPI screen gets its full detail).
        Qt's own smooth filter is bilinear, which looks soft and shows a faint grid at large factors."""
        ratio = self.devicePixelRatioF()
        w, h = max(1, round(size.width() * ratio)), max(1, round(size.height() * ratio))
        key = (image.cacheKey(), w, h)
        cached = self._smooth_cache.get(key)
        if cached is None:
            src = image.convertToFormat(QImage.Format.Format_RGBA8888)
            rows = np.frombuffer(src.constBits(), np.uint8).reshape(src.height(), src.bytesPerLine())
            pixels = rows[:, : src.width() * 4].reshape(src.height(), src.width(), 4)
            # Pillow resizes RGBA premultiplied: transparent edges do not grow dark fringes
            big = Image.fromarray(pixels, "RGBA").resize((w, h), Image.Resampling.BICUBIC)
            cached = to_qimage(np.asarray(big))
            cached.setDevicePixelRatio(ratio)
            if len(self._smooth_cache) >= 4:  # the picture and a SplitView's second one, at a size or two
                self._smooth_cache.clear()
            self._smooth_cache[key] = cached
        return cached

    def _draw_row_labels(self, p: QPainter, r: QRect) -> None:
        n = len(self._row_labels)
        row_h = r.height() / n
        p.setPen(style.MUTED)
        for i, text in enumerate(self._row_labels):
            box = QRect(r.left() - self._label_margin - 4, int(r.top() + i * row_h), self._label_margin, int(row_h))
            p.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
