"""The big picture: smooth enlargement by default, crisp squares with the Pixels toggle."""

import numpy as np
from PySide6.QtGui import QImage

from studio.ui.widgets.image_view import ImageView
from studio.ui.widgets.split_view import SplitView


def _shown(view) -> np.ndarray:
    """The pixels inside the picture's rectangle, as drawn on screen (without the toggle on top)."""
    r = view.image_rect()
    view.pixels_button.hide()
    img = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    view.pixels_button.show()
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    a = rows[:, : img.width() * 3].reshape(img.height(), img.width(), 3)
    return a[r.top() : r.bottom() + 1, r.left() : r.right() + 1].copy()  # img owns the memory


def _checkerboard(n=8):
    return (np.indices((n, n)).sum(0) % 2 * 255).astype(np.uint8)[:, :, None].repeat(3, 2)


def test_enlargement_is_smooth_until_pixels_is_on(qtbot):
    v = ImageView()
    qtbot.addWidget(v)
    v.resize(420, 420)
    v.show()
    v.set_picture(_checkerboard())
    assert v.scale() >= 40 and v.pixels_button.isVisible() and not v.pixels()
    rect = v.image_rect()
    smooth = _shown(v)
    assert len(np.unique(smooth[:, :, 0])) > 50  # bicubic ramps between the squares
    seen = []
    v.pixels_changed.connect(seen.append)
    v.pixels_button.click()
    crisp = _shown(v)
    assert seen == [True] and v.pixels()
    assert set(np.unique(crisp[:, :, 0])) == {0, 255}  # exact squares, nothing in between
    assert v.image_rect() == rect  # toggling never moves the picture
    v.set_picture(np.zeros((1000, 1000, 3), np.uint8))
    assert not v.pixels_button.isVisible()  # reduced: nothing to toggle


def test_split_view_smooths_both_sides(qtbot):
    v = SplitView()
    qtbot.addWidget(v)
    v.resize(420, 420)
    v.show()
    board = _checkerboard()
    v.set_pair(board, 255 - board)
    right = _shown(v)[:, -60:-10]
    assert len(np.unique(right[:, :, 0])) > 30
    v.set_pixels(True)
    right = _shown(v)[40:-40, -60:-10]  # below the "After" tag
    assert set(np.unique(right[:, :, 0])) <= {0, 255}
