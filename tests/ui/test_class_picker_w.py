"""The class picker in W (issue 20), with real widgets on a tiny style-based generator with classes:
choosing a class redraws the pad's seed corners and the gallery's samples as that class (their w
mapped again; a stored w keeps its own class), and the principal directions in W are computed anew
for the class."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.engine.explore import style_space as S
from studio.engine.explore.generator import GeneratorModel
from studio.engine.explore.latent import random_latents
from studio.engine.models import get_kind
from studio.engine.models.stylegan.trainer import StyleGANConfig, build_generator
from studio.ui.explorer import ExplorerPanel
from studio.ui.explorer.common import LatentItem
from tests.ui.test_explorer_w import close, settle, to_w  # the same waits and picture comparison

CLASSES = ("disc", "lying", "standing")
CFG = StyleGANConfig(size=32, z_dim=16, w_dim=16, mapping_layers=2, channel_base=128, channel_max=16,
                     class_names=CLASSES)


@pytest.fixture(scope="module")
def state():
    torch.manual_seed(3)
    return build_generator(CFG).state_dict()


def _model(state) -> GeneratorModel:
    return GeneratorModel(CFG, state, kind=get_kind("stylegan"))


@pytest.fixture
def panel(qtbot, state):
    p = ExplorerPanel(backend="torch")
    qtbot.addWidget(p)
    p.resize(1280, 720)
    p.show()
    p.set_model(_model(state))
    qtbot.waitUntil(lambda: p.renderer.has_model, timeout=30_000)
    qtbot.waitUntil(lambda: p.pad.shown_latent is not None, timeout=20_000)
    yield p
    p.shutdown()


def test_choosing_a_class_in_w_redraws_the_seed_pictures_as_that_class(qtbot, panel, state):
    reference = _model(state)
    pad, gallery, picker = panel.pad, panel.gallery, panel.class_picker
    assert picker.isVisible() and picker.classes == CLASSES
    to_w(qtbot, panel)
    pad.surface.set_position(0.0, 0.0)  # the top-left corner: seed 1
    z1 = random_latents(1, 1, CFG.z_dim)
    first = settle(qtbot, pad)
    assert close(first, reference.generate(z1, 0)[0])
    stored = S.flat(reference.to_ws(random_latents(9, 1, CFG.z_dim), labels=1))[0]
    pad.set_corner(3, LatentItem(stored, "kept", "bookmark kept"))  # a stored w (it holds its class)

    picker.set_class("standing")
    want = reference.generate(z1, 2)[0]
    assert np.abs(want.astype(int) - first.astype(int)).mean() > 2  # another class, another picture
    qtbot.waitUntil(lambda: pad.shown_picture is not None and close(pad.shown_picture, want), timeout=20_000)
    corner = pad.model.corners[0]
    assert corner.source == "seed 1"
    assert np.allclose(corner.z, S.flat(reference.to_ws(z1, labels=2))[0], atol=1e-5)
    assert np.array_equal(pad.model.corners[3].z, stored)  # the stored w is left as it was

    # the gallery's samples: the same seeds, drawn as the chosen class
    items = gallery.items()
    seed, count = gallery.seed_spin.value(), gallery.count_spin.value()
    zs = random_latents(seed, count, CFG.z_dim)
    assert len(items) == count
    assert np.allclose(np.stack([it.z for it in items]), S.flat(reference.to_ws(zs, labels=2)), atol=1e-5)
    want_batch = reference.generate(zs, 2)
    qtbot.waitUntil(lambda: gallery.all_drawn()
                    and all(close(gallery._picture_for(it), w) for it, w in zip(gallery.items(), want_batch)),
                    timeout=30_000)

    # back to the first class: the first picture again
    picker.set_class(0)
    qtbot.waitUntil(lambda: close(pad.shown_picture, first), timeout=20_000)


def test_principal_directions_in_w_follow_the_class(qtbot, panel, state):
    reference = _model(state)
    pad, picker = panel.pad, panel.class_picker
    to_w(qtbot, panel)
    pad.mode_combo.setCurrentIndex(1)  # plane: asks for the principal directions
    qtbot.waitUntil(lambda: pad._w_pcs is not None, timeout=30_000)
    expected = {k: S.principal_w_directions(lambda z, k=k: reference.to_w(z, labels=k), CFG.z_dim, count=8)
                for k in (0, 1)}
    assert np.abs(expected[0].mean - expected[1].mean).max() > 0.05  # the classes' w clouds differ
    assert np.allclose(pad._w_pcs.mean, expected[0].mean, atol=1e-4)

    picker.set_class("lying")
    qtbot.waitUntil(lambda: pad._w_pcs is not None and np.allclose(pad._w_pcs.mean, expected[1].mean, atol=1e-4),
                    timeout=30_000)
    assert np.allclose(pad._w_pcs.sigmas, expected[1].sigmas, rtol=1e-3)
    assert np.allclose(np.abs(pad._w_pcs.vectors), np.abs(expected[1].vectors), atol=1e-3)
    x, _ = pad.model.axes
    assert x is not None and x.name == "PC1" and x.vector is not None  # the plane moves along the class's PC1


def test_the_pads_truncation_in_w_pulls_towards_the_chosen_class(qtbot, panel, state):
    """At truncation 0 the pad shows the chosen class's average picture (its own mean w), not the
    average over all classes."""
    reference = _model(state)
    pad, picker = panel.pad, panel.class_picker
    to_w(qtbot, panel)
    picker.set_class("standing")
    pad.psi_slider.setValue(0)
    pad.surface.set_position(0.3, 0.7)
    centre = S.mean_flat(reference.w_centres(2)[0], reference.num_ws)
    assert np.allclose(pad.current_latent(), centre, atol=1e-5)
    qtbot.waitUntil(lambda: pad.shown_picture is not None and close(pad.shown_picture, reference.generate_w(centre)[0]),
                    timeout=20_000)
    picker.set_class("disc")
    assert np.allclose(pad.current_latent(), S.mean_flat(reference.w_centres(0)[0], reference.num_ws), atol=1e-5)
    assert np.abs(reference.w_centres(0) - reference.w_centres(2)).max() > 0.05


def test_a_class_walk_in_w_says_to_switch_to_z(qtbot, panel):
    """The walk moves the class embedding under one z; a W picture has no z to walk from, so the
    explorer says what to do instead of failing on the render thread."""
    to_w(qtbot, panel)
    settle(qtbot, panel.pad)
    assert panel.open_class_walk() is None
    assert "switch the space to z" in panel.status_label.text()
    panel.space_combo.setCurrentIndex(panel.space_combo.findData("z"))
    qtbot.waitUntil(lambda: panel.pad.space is not None and panel.pad.space.name == "z", timeout=10_000)
    settle(qtbot, panel.pad)
    dialog = panel.open_class_walk()
    assert dialog is not None
    dialog.close()


def test_z_items_that_keep_their_class_map_into_w_as_it(state):
    """An arithmetic exemplar picked as class 2 keeps that class when the explorer moves to W, while
    items without a class of their own are mapped as the chosen class."""
    from studio.ui.explorer.common import convert_items

    reference = _model(state)
    z_space, w_space = reference.latent_space("z"), reference.latent_space("w")
    z = random_latents(4, 2, CFG.z_dim)
    items = [LatentItem(z[0], "a", "a", labels=np.eye(3, dtype=np.float32)[2]), LatentItem(z[1], "b", "b")]
    chosen = np.eye(3, dtype=np.float32)[1]
    ws = convert_items(items, z_space, w_space, chosen)
    assert np.allclose(ws[0].z, S.flat(reference.to_ws(z[:1], labels=2))[0], atol=1e-5)
    assert np.allclose(ws[1].z, S.flat(reference.to_ws(z[1:], labels=1))[0], atol=1e-5)
