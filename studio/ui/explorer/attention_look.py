"""“Where does it look?”: the self-attention map of a point of the pad's picture, over the preview.

For generators with self-attention blocks (SAGAN: the DCGAN's "attention" preset, or any kind whose
G holds one), a checkable button beside the preview; while it is on, a click (or a drag) on the
preview picks a pixel and the preview shows, in colour over the picture, where that pixel draws
from (`engine/explore/attention_map.py`), with a marker at the pixel and a muted line saying what
the colours mean. The map follows the picture as the pad moves. GUI thread only.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QToolButton, QWidget

from studio.ui.explorer.common import muted_label, unique_key
from studio.ui.qimage import to_qimage

# A perceptual dark-to-bright ramp (after matplotlib's "inferno"): bright means "draws from here",
# and the ramp reads the same to colour-blind eyes, unlike red-green.
_RAMP = np.array([(0.0, 0, 0, 4), (0.25, 87, 16, 110), (0.5, 188, 55, 84), (0.75, 249, 142, 9),
                  (1.0, 252, 255, 164)], np.float32)
# Opacity from faint (the picture stays readable where the pixel does not look) to strong at the peak.
ALPHA_LOW, ALPHA_HIGH = 40, 230


def heat_rgba(heat: np.ndarray) -> np.ndarray:
    """(H, W) 0..1 -> uint8 (H, W, 4): the ramp's colour, more opaque where the map is brighter."""
    h = np.clip(np.asarray(heat, np.float32), 0, 1)
    rgb = np.stack([np.interp(h, _RAMP[:, 0], _RAMP[:, c]) for c in (1, 2, 3)], axis=-1)
    alpha = ALPHA_LOW + (ALPHA_HIGH - ALPHA_LOW) * h
    return np.round(np.concatenate([rgb, alpha[..., None]], axis=-1)).astype(np.uint8)


class AttentionOverlay(QWidget):
    """Paints a heat map and the chosen pixel over an ImageView's picture. A child of the view that
    covers it and lets every mouse event through to the view (and its Pixels toggle)."""

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.heat: np.ndarray | None = None  # (H, W) 0..1 at the picture's size
        self.point: tuple[float, float] | None = None  # (x, y) 0..1 in the picture
        self._image = None  # the heat as a QImage, made once per map
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setGeometry(view.rect())
        self.lower()  # under the view's other children (the Pixels toggle), above its own painting

    def set_map(self, heat: np.ndarray | None, point: tuple[float, float] | None) -> None:
        self.heat, self.point = heat, point
        self._image = to_qimage(heat_rgba(heat)) if heat is not None else None
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        if not self.view.has_picture() or (self._image is None and self.point is None):
            return
        r = QRectF(self.view.image_rect())
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._image is not None:
            # smooth: the map is already a bilinear enlargement of a coarser one, it has no pixels to show
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(r, self._image)
        if self.point is not None:
            c = QPointF(r.left() + self.point[0] * r.width(), r.top() + self.point[1] * r.height())
            for colour, width in ((QColor(0, 0, 0, 200), 4.0), (QColor(255, 255, 255), 2.0)):  # seen on any picture
                p.setPen(QPen(colour, width))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawEllipse(c, 7.0, 7.0)
                p.drawLine(QPointF(c.x() - 12, c.y()), QPointF(c.x() - 4, c.y()))
                p.drawLine(QPointF(c.x() + 4, c.y()), QPointF(c.x() + 12, c.y()))
                p.drawLine(QPointF(c.x(), c.y() - 12), QPointF(c.x(), c.y() - 4))
                p.drawLine(QPointF(c.x(), c.y() + 4), QPointF(c.x(), c.y() + 12))
        p.end()


class AttentionLook(QObject):
    """The “Where does it look?” toggle of a LatentPadView's preview. The button sits on the preview's
    canvas under the picture's left edge, as the Pixels toggle sits under its right one (in the pad's
    button row it would widen the explorer past a 1280 px laptop's tab: +171 px of minimum width);
    the pad places `caption` under the preview. Asks the render thread whether the loaded generator
    has attention: the button is hidden, disabled and off when it has none."""

    def __init__(self, renderer, pad, parent: QObject | None = None):
        super().__init__(parent or pad)
        self.renderer = renderer
        self.pad = pad
        self.preview = pad.preview
        self.available = False  # the loaded generator has a self-attention block
        self.probed = False  # the render thread has answered `available` for the model loaded now
        self.point: tuple[float, float] | None = None  # (x, y) 0..1 picked on the preview
        self.result = None  # the newest AttentionMap shown
        self._key_probe = unique_key(self, "has-attention")
        self._key_map = unique_key(self, "map")

        self.button = QToolButton(self.preview)
        self.button.setText("Where does it look?")
        self.button.setCheckable(True)
        self.button.setAutoRaise(True)
        self.button.setToolTip("Self-attention: click a pixel of the picture to see which parts of the picture\n"
                               "the generator's attention block draws on for it (bright = draws most).\n"
                               "Distant parts that must agree (two eyes, a pair of wings) look at each other.")
        self.button.toggled.connect(self._on_toggled)
        self.button.hide()
        self.button.setEnabled(False)
        self.caption = muted_label("")
        # two lines' height whatever the text: a wrapped line more or less on each click would resize
        # the preview, and the picture under the user's pointer would jump
        self.caption.setFixedHeight(2 * self.caption.fontMetrics().lineSpacing() + 4)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.caption.hide()
        self.overlay = AttentionOverlay(self.preview)
        self.overlay.hide()
        self.preview.installEventFilter(self)

        renderer.model_ready.connect(self._on_model_ready)
        renderer.computed.connect(self._on_computed)
        pad.picture_shown.connect(lambda _: self._request())
        pad.grid_check.toggled.connect(lambda _: self._sync())
        self.preview.image_changed.connect(self._place_button)
        if renderer.info is not None:
            self._on_model_ready(renderer.info)

    # ----- the model ---------------------------------------------------------------------------------
    def _on_model_ready(self, info) -> None:
        from studio.engine.explore.attention_map import has_attention

        self.probed = False
        # A new model (or space): the map shown belongs to the old one; the point stays for the new one.
        self.overlay.set_map(None, self.point if self._active() else None)
        # Asked on the render thread, which owns the model: the GUI thread never touches its modules.
        self.renderer.compute(self._key_probe, lambda r: has_attention(r.model), priority=1)

    def _set_available(self, on: bool) -> None:
        self.available, self.probed = on, True
        self.button.setEnabled(on)
        if not on:
            self.button.setChecked(False)
        self._sync()
        self._place_button()
        if on:
            self._request()

    # ----- user -------------------------------------------------------------------------------------
    def _on_toggled(self, on: bool) -> None:
        if on:
            self.preview.setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.preview.unsetCursor()
        if on and self.point is None:
            self.caption.setText("Click a pixel of the picture to see where it draws from.")
        self._sync()
        if on:
            self._request()

    def pick(self, x: float, y: float) -> None:
        """Show where the pixel at (x, y) (0..1 from the picture's left / top) draws from."""
        self.point = (min(1.0, max(0.0, x)), min(1.0, max(0.0, y)))
        self.overlay.set_map(self.overlay.heat, self.point)  # the marker moves at once, the map follows
        self._request()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        t = event.type()
        if obj is self.preview and t == QEvent.Type.Resize:
            self.overlay.setGeometry(self.preview.rect())
            self._place_button()
        elif (obj is self.preview and self.button.isChecked() and self.preview.has_picture()
              and not self.pad.grid_check.isChecked()
              and (t == QEvent.Type.MouseButtonPress
                   or (t == QEvent.Type.MouseMove and event.buttons() & Qt.MouseButton.LeftButton))):
            r = self.preview.image_rect()
            pos = event.position()
            if r.contains(pos.toPoint()):
                self.pick((pos.x() - r.left()) / r.width(), (pos.y() - r.top()) / r.height())
                return True
        return False

    def _place_button(self) -> None:
        """Under the picture's left edge where the canvas has room, else over its bottom-left corner
        (the Pixels toggle's rule, mirrored); left of the Pixels toggle when the picture is too narrow
        for both. Shown with a picture of a generator that has attention."""
        b, view = self.button, self.preview
        b.setVisible(self.available and view.has_picture())
        if not b.isVisible():
            return
        r, size = view.image_rect(), b.sizeHint()
        below = r.bottom() + 4 + (28 if view.caption else 0)
        y = below if below + size.height() <= view.height() else view.height() - size.height() - 6
        x = r.left()
        # where the view puts its Pixels toggle (computed: a Resize reaches this filter before the view
        # has moved the toggle)
        pixels_x = min(r.right() + 1, view.width() - 6) - view.pixels_button.sizeHint().width()
        if view.scale() > 1 and x + size.width() + 4 > pixels_x:
            x = max(4, pixels_x - size.width() - 4)
        b.setGeometry(x, y, size.width(), size.height())

    # ----- rendering --------------------------------------------------------------------------------
    def _active(self) -> bool:
        return self.available and self.button.isChecked() and not self.pad.grid_check.isChecked()

    def _sync(self) -> None:
        active = self._active()
        self.overlay.setVisible(active)
        self.caption.setVisible(active)
        if not active:
            self.overlay.set_map(None, None)
            self.result = None

    def _request(self) -> None:
        """Ask the render thread for the map of the point on the picture the preview shows now.

        Through the render worker like every picture (newest wins, so a drag never queues up) rather
        than a direct call, although one map takes milliseconds (3.8 ms for a 32 px DCGAN on this
        2-core CPU, see `attention_map`): the model belongs to the render thread, and the map's pass
        flips its attention blocks' `record` flag and hooks them, which must not happen mid-render."""
        z, info = self.pad.shown_latent, self.renderer.info
        if not self._active() or self.point is None or z is None or info is None:
            return
        if len(z) != info.dim:
            return  # the space just changed (z -> W): the pad's picture in the new space asks again
        from studio.engine.explore.attention_map import attention_map

        point, space = self.point, self.renderer.space
        labels = self.renderer.class_weights

        def job(r):
            return attention_map(r.model, z, point, space=space, labels=labels)

        self.renderer.compute(self._key_map, job, priority=0)

    def _on_computed(self, key: str, stamp: int, result) -> None:
        if key == self._key_probe:
            self._set_available(bool(result))
        elif key == self._key_map and self._active():
            self.result = result
            self.overlay.set_map(result.heat, self.point)
            self.caption.setText(self.describe(result))

    @staticmethod
    def describe(m) -> str:
        """The muted line under the preview for an AttentionMap."""
        (h, w), (px, py) = m.side, m.pixel
        text = f"Bright = where the pixel at ({px}, {py}) draws from (self-attention at {h}×{w})"
        if abs(m.gamma) < 1e-3:
            # a new block (gamma starts at 0) computes its map but adds (almost) nothing to the picture yet
            text += f"; its weight γ is {m.gamma:.2g}, so it barely changes the picture yet"
        return text
