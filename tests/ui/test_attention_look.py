"""“Where does it look?” in the explorer (issue 20): on a tiny DCGAN project trained with the
"attention" preset, the toggle beside the preview, a click that overlays where the pixel draws from,
and no toggle for a generator without attention."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage

from studio.engine.data.procedural import discs, write_folder
from studio.engine.explore.generator import GeneratorModel
from studio.engine.models import get_kind
from studio.engine.models.dcgan.trainer import DCGANConfig
from studio.ui.explorer import ExplorerPanel
from tests.ui.conftest import TINY_DCGAN, train_project


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("attention-look")
    data = write_folder(discs(16, 32, seed=0), root / "discs")
    return train_project(root / "proj", "dcgan", {"data": str(data)}, 4, {**TINY_DCGAN, "preset": "attention"})


@pytest.fixture
def panel(qtbot, project):
    p = ExplorerPanel(project, backend="torch")
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    qtbot.waitUntil(lambda: p.renderer.has_model and p.pad.shown_latent is not None, timeout=30_000)
    yield p
    p.shutdown()


def _grab(view) -> np.ndarray:
    img = view.grab().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return rows[:, : img.width() * 4].copy()


def _inside(look, rgba: np.ndarray) -> np.ndarray:
    """The part of a grab of the preview (as _grab returns it) where the picture is drawn."""
    r = look.preview.image_rect()
    return rgba.reshape(rgba.shape[0], -1, 4)[r.top(): r.bottom() + 1, r.left(): r.right() + 1, :3]


def _click(qtbot, look, x: float, y: float):
    """Click the preview at (x, y) of its picture and wait for that point's map."""
    r = look.preview.image_rect()
    qtbot.mouseClick(look.preview, Qt.MouseButton.LeftButton,
                     pos=QPoint(int(r.left() + x * r.width()), int(r.top() + y * r.height())))
    qtbot.waitUntil(lambda: look.result is not None and np.allclose(look.result.point, look.point)
                    and np.allclose(look.point, (x, y), atol=0.02), timeout=10_000)
    return look.result


def test_clicking_the_preview_overlays_where_the_pixel_looks(qtbot, panel):
    look = panel.pad.attention
    qtbot.waitUntil(lambda: look.probed, timeout=10_000)
    assert look.available and look.button.isVisible() and look.button.isEnabled()
    assert "attention" in look.button.toolTip()
    plain = _grab(look.preview)

    qtbot.mouseClick(look.button, Qt.MouseButton.LeftButton)
    assert look.button.isChecked() and look.overlay.isVisible() and look.caption.isVisible()
    assert look.caption.text().startswith("Click a pixel")
    on = _grab(look.preview)  # the caption's line takes some of the preview's height: nothing picked yet
    a = _click(qtbot, look, 0.2, 0.25)
    assert look.overlay.heat is not None and look.overlay.heat.shape == (32, 32)
    assert np.array_equal(a.picture, panel.pad.shown_picture)  # the map belongs to the picture shown
    assert a.side == (16, 16) and a.pixel == (6, 8)
    assert look.caption.text().startswith("Bright = where the pixel at (6, 8) draws from (self-attention at 16×16)")
    first = _grab(look.preview)
    # the map tints the whole picture (the marker alone changes a few dozen pixels)
    assert _inside(look, np.abs(first.astype(int) - on)).mean() > 5

    b = _click(qtbot, look, 0.8, 0.7)
    assert b.cell != a.cell and np.abs(b.heat - a.heat).max() > 0.05
    second = _grab(look.preview)
    assert _inside(look, np.abs(second.astype(int) - first)).mean() > 2
    assert "(25, 22)" in look.caption.text()

    # a click outside the picture picks nothing
    r = look.preview.image_rect()
    qtbot.mouseClick(look.preview, Qt.MouseButton.LeftButton, pos=QPoint(max(0, r.left() - 5), r.top() + 5))
    assert look.point == pytest.approx((0.8, 0.7), abs=0.02)

    # the contact sheet hides it; off again, the preview is the plain picture
    panel.pad.grid_check.setChecked(True)
    assert not look.overlay.isVisible()
    panel.pad.grid_check.setChecked(False)
    qtbot.mouseClick(look.button, Qt.MouseButton.LeftButton)
    assert not look.button.isChecked() and not look.overlay.isVisible() and not look.caption.isVisible()
    qtbot.waitUntil(lambda: np.array_equal(_grab(look.preview), plain), timeout=5_000)


def test_the_map_follows_the_pad(qtbot, panel):
    look = panel.pad.attention
    qtbot.waitUntil(lambda: look.available, timeout=10_000)
    look.button.setChecked(True)
    before = _click(qtbot, look, 0.5, 0.5)
    panel.pad.surface.set_position(0.9, 0.1)  # another picture under the same pixel
    qtbot.waitUntil(lambda: look.result is not before, timeout=10_000)
    qtbot.waitUntil(lambda: np.array_equal(look.result.picture, panel.pad.shown_picture), timeout=10_000)
    assert not np.array_equal(look.result.picture, before.picture)
    assert look.result.cell == before.cell


def test_a_generator_without_attention_has_no_button(qtbot, panel):
    look = panel.pad.attention
    qtbot.waitUntil(lambda: look.available, timeout=10_000)
    look.button.setChecked(True)
    _click(qtbot, look, 0.3, 0.3)
    # the toggle sits on the preview's canvas: it must not widen the explorer (a 1280 px laptop's tab)
    width_with = panel.pad.minimumSizeHint().width()
    assert look.button.parent() is look.preview and look.preview.image_rect().left() <= look.button.x()

    kind = get_kind("dcgan")
    cfg = DCGANConfig(size=32, **{k: v for k, v in TINY_DCGAN.items() if k in ("ngf", "ndf", "z_dim")})
    panel.set_model(GeneratorModel(cfg, kind.make_generator(cfg).state_dict(), kind=kind))
    qtbot.waitUntil(lambda: look.probed and not look.available, timeout=10_000)
    assert not look.button.isVisible() and not look.button.isEnabled() and not look.button.isChecked()
    assert not look.overlay.isVisible() and look.overlay.heat is None and not look.caption.isVisible()
    assert panel.pad.minimumSizeHint().width() == width_with
