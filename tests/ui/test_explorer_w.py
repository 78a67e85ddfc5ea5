"""The explorer in W with real widgets, on a tiny style-based project: the space switch keeps the
pictures, truncation pulls towards w_avg, principal directions in W move only the chosen layers,
style mixing on the pad and in its tab, W bookmarks stored with their space, ONNX with a ws input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt

from studio.cli.main import main
from studio.engine.data.procedural import discs, write_folder
from studio.engine.explore import style_space as S
from studio.engine.explore.bookmarks import ExploreStore
from studio.engine.explore.generator import GeneratorModel, load_generator
from studio.engine.models import get_kind
from studio.ui.explorer import ExplorerPanel
from studio.ui.explorer.common import LatentItem


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A tiny style-based project (32 px, small preset: z and w of 128, 8 styles) trained through the CLI."""
    root = tmp_path_factory.mktemp("explore_w")
    data = write_folder(discs(12, 32, seed=0), root / "discs")
    out = root / "proj"
    assert main(["train", "stylegan", "--data", str(data), "--out", str(out), "--size", "32", "--batch", "4",
                 "--steps", "2", "--sample-every", "2", "--checkpoint-every", "2", "--metric-every", "0"]) == 0
    return out


@pytest.fixture(scope="module")
def reference(project):
    return load_generator(project, device="cpu")


@pytest.fixture
def panel(qtbot, project, tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(project, root)
    p = ExplorerPanel(root, backend="torch")
    qtbot.addWidget(p)
    p.resize(1280, 720)
    p.show()
    qtbot.waitUntil(lambda: p.renderer.has_model, timeout=60_000)
    qtbot.waitUntil(lambda: p.pad.shown_latent is not None, timeout=20_000)
    yield p
    p.shutdown()


def settle(qtbot, pad):
    qtbot.waitUntil(lambda: pad.shown_latent is not None and np.array_equal(pad.shown_latent, pad.current_latent()),
                    timeout=20_000)
    return pad.shown_picture.copy()


def close(a, b) -> bool:
    """Pictures equal up to float rounding (a batch and a single image may round a pixel differently)."""
    return a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).max() <= 2


def to_space(qtbot, panel, name: str):
    panel.space_combo.setCurrentIndex(panel.space_combo.findData(name))
    qtbot.waitUntil(lambda: panel.pad.space is not None and panel.pad.space.name == name, timeout=10_000)
    return settle(qtbot, panel.pad)


def to_w(qtbot, panel):
    return to_space(qtbot, panel, "w")


def test_a_style_based_project_opens_in_w_and_reloading_keeps_the_space_chosen(qtbot, panel):
    assert panel.space_combo.isVisible() and panel.space_combo.currentData() == "w"
    assert panel.renderer.space == "w" and panel.pad.space.name == "w" and "w 128 × 8" in panel.info_label.text()
    to_space(qtbot, panel, "z")
    panel.reload()  # "Reload latest": the same project, the space the user chose
    qtbot.waitUntil(lambda: panel.renderer.info is not None and panel.renderer.info.space == "z", timeout=20_000)
    assert panel.space_combo.currentData() == "z"
    panel.set_project(panel.project_dir)  # opened again: its default space
    qtbot.waitUntil(lambda: panel.renderer.space == "w" and panel.space_combo.currentData() == "w", timeout=20_000)


def test_switching_to_w_keeps_the_pictures_and_truncates_towards_w_avg(qtbot, panel, reference):
    pad = panel.pad
    assert panel.tabs.isTabVisible(panel.tabs.indexOf(panel.mixing))
    pad.psi_slider.setValue(50)
    to_space(qtbot, panel, "z")
    # in z the slider could change nothing (the mapping normalises z): off, at 1, saying where it works
    assert not pad.psi_slider.isEnabled() and pad.model.psi == 1.0 and "W (styles)" in pad.psi_slider.toolTip()
    pad.surface.set_position(0.0, 0.0)
    in_z = settle(qtbot, pad)
    assert np.array_equal(in_z, reference.generate_seeded(1, 1)[0])  # the top-left corner is seed 1

    in_w = to_w(qtbot, panel)
    assert pad.psi_slider.isEnabled() and pad.model.psi == 0.5  # back in W: the truncation left there
    pad.psi_slider.setValue(100)
    in_w = settle(qtbot, pad)
    # the corner's latent mapped to w: the same picture, up to rounding (G(z) feeds the synthesis an
    # expanded w, the W path a contiguous copy: their style products may round differently)
    assert close(in_w, in_z)
    assert pad.current_latent().shape == (reference.num_ws * reference.w_dim,)
    assert "w 128 × 8" in panel.info_label.text()
    assert not pad.spherical_check.isVisible()  # W is not a sphere: straight blends only
    # the gallery's seeds are the same pictures in W
    qtbot.waitUntil(panel.gallery.all_drawn, timeout=20_000)
    item = panel.gallery.items()[0]
    assert close(panel.gallery._picture_for(item), reference.generate_seeded(1, 0)[0])
    # truncation 0 is the average image, w_avg on every layer, wherever the point is
    pad.psi_slider.setValue(0)
    pad.surface.set_position(0.8, 0.3)
    assert np.array_equal(settle(qtbot, pad), reference.generate_w(reference.w_avg)[0])


def test_principal_directions_in_w_move_only_the_chosen_layers(qtbot, panel):
    pad = panel.pad
    to_w(qtbot, panel)
    pad.mode_combo.setCurrentIndex(1)  # plane: asks for the principal directions
    qtbot.waitUntil(lambda: pad._w_pcs is not None, timeout=30_000)
    assert pad.layers_combo.isVisible()
    pad.layers_combo.setCurrentIndex(pad.layers_combo.findText("fine"))
    # each group's tooltip names this model's resolutions (a 32 px model: fine is its 32 px layers)
    tip = pad.layers_combo.itemData(pad.layers_combo.currentIndex(), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("32 px layers") and tip == S.group_help(8, "fine")
    assert panel.mixing.group_checks["middle"].toolTip().startswith("16 px layers")
    x, y = pad.model.axes
    assert (x.name, y.name) == ("PC1", "PC2")
    fine = S.layer_groups(8)["fine"]
    for axis in (x, y):
        rows = axis.vector.reshape(8, -1)
        assert np.linalg.norm(rows[fine], axis=1).min() > 0 and not rows[: fine.start].any()
    centre = pad.current_latent()
    pad.surface.set_position(1.0, 0.5)
    moved = pad.current_latent().reshape(8, -1) - centre.reshape(8, -1)
    assert not moved[: fine.start].any() and np.abs(moved[fine]).max() > 0
    picture = settle(qtbot, pad)
    pad.layers_combo.setCurrentIndex(pad.layers_combo.findText("coarse"))
    assert pad.model.axes[0].name == "PC1"  # the pick survives the change of layers
    assert not np.array_equal(settle(qtbot, pad), picture)


def test_style_mixing_from_the_gallery_and_on_the_pad(qtbot, panel, reference):
    to_w(qtbot, panel)
    gallery = panel.gallery
    qtbot.waitUntil(gallery.all_drawn, timeout=20_000)
    gallery.select_rows([0, 1])
    a, b = gallery.selected_items()
    panel._on_send("mix", [a, b])  # the gallery menu's "Mix styles (first two selected)"
    mixing = panel.mixing
    assert panel.tabs.currentWidget() is mixing and mixing.groups() == ("coarse",)
    want = S.flat(reference.mix(a.z, b.z, "coarse"))[0]
    assert np.array_equal(mixing.result_latent(), want)
    qtbot.waitUntil(lambda: mixing.result_picture is not None and mixing.table_pictures is not None, timeout=20_000)
    assert np.array_equal(mixing.result_picture, reference.generate_w(want)[0])
    assert close(mixing.table_pictures[2], reference.generate_w(reference.mix(a.z, b.z, "fine"))[0])
    mixing.set_groups(("middle", "fine"))
    assert np.array_equal(mixing.result_latent(), S.flat(reference.mix(a.z, b.z, ("middle", "fine")))[0])

    # on the pad: every point takes the coarse styles of `a`
    pad = panel.pad
    pad.set_mix("coarse", a)
    pad.surface.set_position(0.7, 0.2)
    z = pad.current_latent().reshape(8, -1)
    coarse = S.layer_groups(8)["coarse"]
    assert np.array_equal(z[coarse], a.z.reshape(8, -1)[coarse])
    assert not np.array_equal(z[coarse.stop :], a.z.reshape(8, -1)[coarse.stop :])
    assert np.array_equal(settle(qtbot, pad), reference.generate_w(z[None])[0])
    pad.set_mix(())
    assert not np.array_equal(pad.current_latent().reshape(8, -1)[coarse], a.z.reshape(8, -1)[coarse])


def test_w_bookmarks_keep_their_space(qtbot, panel, reference):
    pad = panel.pad
    to_space(qtbot, panel, "z")
    pad.surface.set_position(0.0, 0.0)
    settle(qtbot, pad)
    assert pad.bookmark_current("in z") == "in z"
    to_w(qtbot, panel)
    assert [e.name for e in panel.store.latents] == []  # z bookmarks are not W's
    pad.surface.set_position(0.0, 0.0)
    plain = pad.current_latent()
    assert pad.bookmark_current("plain w") == "plain w"
    pad.set_mix("fine", LatentItem(pad.corner_items()[3].z, "corner", "pad"))
    mixed = pad.current_latent()
    assert pad.bookmark_current("mixed") == "mixed"
    saved = json.loads(panel.store.path.read_text())
    by_name = {e["name"]: e for e in saved["latents"]}
    assert "space" not in by_name["in z"] and len(by_name["in z"]["z"]) == 128
    assert by_name["plain w"]["space"] == "w" and len(by_name["plain w"]["z"]) == 128
    assert by_name["mixed"]["space"] == "w+" and len(by_name["mixed"]["z"]) == 8 * 128
    again = ExploreStore.open(panel.project_dir, 128, space="w", w_shape=(8, 128))
    assert np.array_equal(again.latent("plain w"), plain) and np.array_equal(again.latent("mixed"), mixed)
    assert [e.name for e in ExploreStore.open(panel.project_dir, 128).latents] == ["in z"]
    panel.space_combo.setCurrentIndex(panel.space_combo.findData("z"))
    qtbot.waitUntil(lambda: pad.space.name == "z", timeout=10_000)
    assert [e.name for e in panel.store.latents] == ["in z"]


def test_a_walk_export_in_w_blends_in_straight_lines(qtbot, panel):
    d = panel.open_export("walk")
    qtbot.addWidget(d)
    assert d.ctx.space.name == "w"
    assert [d.interp_combo.itemData(i) for i in range(d.interp_combo.count())] == ["lerp"]  # no slerp in W
    assert d.walk_settings()[0].interpolation == "lerp"
    d.close()
    to_space(qtbot, panel, "z")
    d = panel.open_export("walk")
    qtbot.addWidget(d)
    assert d.walk_settings()[0].interpolation == "slerp"  # z keeps its spherical default
    d.close()


def test_a_z_only_model_offers_no_space_switch_and_no_mixing(qtbot):
    kind = get_kind("dcgan")
    cfg = kind.config_cls(size=32, z_dim=8, ngf=8, ndf=8)
    p = ExplorerPanel(backend="torch")
    qtbot.addWidget(p)
    p.show()
    p.set_model(GeneratorModel(cfg, kind.make_generator(cfg).state_dict(), kind=kind))
    qtbot.waitUntil(lambda: p.renderer.has_model, timeout=20_000)
    assert not p.space_combo.isVisible() and not p.tabs.isTabVisible(p.tabs.indexOf(p.mixing))
    assert not p.pad.mix_row.isVisible() and not p.pad.layers_combo.isVisible()
    p.shutdown()


def test_cli_exports_onnx_with_a_w_input(project, tmp_path, capsys):
    assert main(["export", str(project), "--onnx", str(tmp_path / "g.onnx"), "--onnx-input", "w"]) == 0
    out = capsys.readouterr().out
    assert "ws 8x128" in out and "onnxruntime matches PyTorch" in out


def test_cli_truncation_of_a_style_based_model_pulls_its_styles(project, reference, tmp_path):
    """`export --grid/--walk --truncation` from seeds (z) truncate as the model does: its styles
    (shortening the z would have drawn the same pictures)."""
    from studio.engine.images import load_png

    def export(what, name, *extra):
        path = tmp_path / name
        assert main(["export", str(project), what, str(path), *extra]) == 0
        return path

    plain, pulled = export("--grid", "plain.png", "--count", "4"), export("--grid", "pulled.png", "--count", "4",
                                                                         "--truncation", "0.5")
    assert not np.array_equal(load_png(plain), load_png(pulled))
    walk_plain = export("--walk", "plain.gif", "--frames", "4")
    walk_pulled = export("--walk", "pulled.gif", "--frames", "4", "--truncation", "0.5")
    assert walk_plain.read_bytes() != walk_pulled.read_bytes()
