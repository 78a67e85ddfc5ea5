"""The latent explorer with real widgets: pad dragging, keyboard, grid and plane modes, arithmetic,
gallery, bookmarks across reopening, exports with progress and cancel."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from studio.cli.main import main
from studio.engine.data.procedural import discs, write_folder
from studio.engine.explore import latent as L
from studio.engine.explore.generator import load_generator
from studio.ui.explorer import ExplorerPanel
from studio.ui.explorer.common import LatentItem

Z = 16
TINY = ["--size", "32", "--batch", "8", "--width", "8", "--z-dim", str(Z), "--seed", "1", "--metric-every", "0"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A tiny DCGAN project trained through the command line."""
    root = tmp_path_factory.mktemp("explore")
    data = write_folder(discs(16, 32, seed=0), root / "discs")
    out = root / "proj"
    assert main(["train", "dcgan", "--data", str(data), "--out", str(out), *TINY, "--steps", "4",
                 "--sample-every", "2", "--checkpoint-every", "4"]) == 0
    return out


@pytest.fixture(scope="module")
def reference(project):
    """The project's generator in PyTorch: what the explorer's pictures must equal."""
    return load_generator(project, device="cpu")


@pytest.fixture
def panel(qtbot, project, tmp_path):
    """An explorer on a copy of the project (bookmarks written by one test stay in that test)."""
    import shutil

    root = tmp_path / "proj"
    shutil.copytree(project, root)
    p = ExplorerPanel(root, backend="torch")
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    qtbot.waitUntil(lambda: p.renderer.has_model, timeout=30_000)
    qtbot.waitUntil(lambda: p.pad.shown_latent is not None, timeout=10_000)
    yield p
    p.shutdown()


def settle(qtbot, pad):
    """Wait until the preview shows the picture of the pad's current latent."""
    qtbot.waitUntil(lambda: pad.shown_latent is not None and np.array_equal(pad.shown_latent, pad.current_latent()),
                    timeout=10_000)
    return pad.shown_picture.copy()


def pad_point(pad, u, v) -> QPoint:
    return pad.surface.point_for(u, v).toPoint()


# ----- the pad --------------------------------------------------------------------------------------------
def test_dragging_changes_the_image_continuously_and_corners_are_exact(qtbot, panel, reference):
    pad = panel.pad
    s = pad.surface
    corners = np.stack([c.z for c in pad.corner_items()])
    assert np.array_equal(corners[0], L.seed_latent(1, Z))  # default corners: seeds 1-4

    qtbot.mousePress(s, Qt.MouseButton.LeftButton, pos=pad_point(pad, 0.3, 0.4))
    pictures, positions = [], []
    for i in range(11):  # a slow drag to the right, 2 % of the pad per move
        target = pad_point(pad, 0.3 + 0.02 * i, 0.4)
        qtbot.mouseMove(s, target)
        positions.append((s.u, s.v))
        pictures.append(settle(qtbot, pad).astype(int))
    qtbot.mouseRelease(s, Qt.MouseButton.LeftButton, pos=pad_point(pad, 0.5, 0.4))
    assert positions[-1][0] > positions[0][0] + 0.15 and abs(positions[-1][1] - 0.4) < 0.02
    steps = [np.abs(a - b).mean() for a, b in zip(pictures, pictures[1:])]
    far = np.abs(reference.generate(corners[0])[0].astype(int) - reference.generate(corners[3])[0]).mean()
    assert sum(d > 0 for d in steps) >= 5  # the picture follows the point
    assert max(steps) < 0.25 * far  # nearby positions give nearby pictures
    assert np.abs(pictures[0] - pictures[-1]).mean() > max(steps)  # and they add up along the way

    # drag past each corner (clamped): exactly the corner latent, exactly its picture
    for i, (u, v) in enumerate(((-0.2, -0.2), (1.3, -0.1), (-0.1, 1.2), (1.2, 1.2))):
        qtbot.mousePress(s, Qt.MouseButton.LeftButton, pos=pad_point(pad, 0.5, 0.5))
        a = s.active()
        qtbot.mouseMove(s, QPointF(a.left() + u * a.width(), a.top() + v * a.height()).toPoint())
        qtbot.mouseRelease(s, Qt.MouseButton.LeftButton)
        assert np.array_equal(pad.current_latent(), corners[i])
        assert np.array_equal(settle(qtbot, pad), reference.generate(corners[i])[0])


def test_keyboard_nudging(qtbot, panel):
    s = panel.pad.surface
    s.setFocus()
    s.set_position(0.5, 0.5)
    qtbot.keyClick(s, Qt.Key.Key_Right)
    assert (s.u, s.v) == pytest.approx((0.51, 0.5))
    qtbot.keyClick(s, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    assert (s.u, s.v) == pytest.approx((0.51, 0.45))
    for _ in range(80):
        qtbot.keyClick(s, Qt.Key.Key_Left)
    assert s.u == 0.0  # clamped at the edge
    qtbot.keyClick(s, Qt.Key.Key_Home)
    assert (s.u, s.v) == (0.5, 0.5)
    settle(qtbot, panel.pad)


def test_seed_entry_truncation_spherical_and_contact_sheet(qtbot, panel, reference):
    pad = panel.pad
    pad.seeds_edit.setText("5, 6, 7, 8")
    qtbot.keyClick(pad.seeds_edit, Qt.Key.Key_Return)
    assert [c.label for c in pad.corner_items()] == ["seed 5", "seed 6", "seed 7", "seed 8"]
    corners = np.stack([L.seed_latent(s, Z) for s in (5, 6, 7, 8)])
    pad.surface.set_position(0.25, 0.75)
    assert np.allclose(pad.current_latent(), L.bilinear(corners, 0.25, 0.75), atol=1e-6)
    pad.spherical_check.setChecked(True)
    assert np.allclose(pad.current_latent(), L.bilinear(corners, 0.25, 0.75, spherical=True), atol=1e-6)
    pad.psi_slider.setValue(50)
    assert pad.psi_label.text() == "0.50"
    assert np.allclose(pad.current_latent(), 0.5 * L.bilinear(corners, 0.25, 0.75, spherical=True), atol=1e-6)
    settle(qtbot, pad)
    pad.psi_slider.setValue(100)

    pad.seeds_edit.setText("1, 2")
    pad.apply_seed_text()
    assert "four seeds" in panel.status_label.text()  # a clear message, corners unchanged
    assert pad.corner_items()[0].label == "seed 5"

    pad.grid_spin.setValue(4)
    pad.grid_check.setChecked(True)
    qtbot.waitUntil(lambda: pad.preview.caption == "contact sheet 4 × 4", timeout=10_000)
    sheet = pad.shown_picture
    assert sheet.shape == (4 * 34 + 2, 4 * 34 + 2, 3)
    top_left = reference.generate(L.bilinear(corners, 0, 0, spherical=True))[0]
    assert np.array_equal(sheet[2:34, 2:34], top_left)
    pad.grid_check.setChecked(False)
    settle(qtbot, pad)


def test_gallery_pick_to_corner_and_plane_along_a_saved_direction(qtbot, panel, reference):
    gallery, pad = panel.gallery, panel.pad
    assert len(gallery.items()) == 24
    # the gallery's images are `gan-studio generate --seed 0 --count 24`'s images
    qtbot.waitUntil(lambda: gallery.picture(gallery.items()[5]) is not None, timeout=10_000)
    assert np.array_equal(gallery.picture(gallery.items()[5]), reference.generate_seeded(24, 0)[5])
    gallery.select_rows([5])
    panel._on_send("corner:3", gallery.selected_items())
    assert np.array_equal(pad.corner_items()[3].z, gallery.items()[5].z)

    glasses = L.difference([gallery.items()[0].z], [gallery.items()[1].z])
    panel.store.add_direction("glasses", glasses)
    pad.refresh_directions()
    center = gallery.items()[2]
    pad.set_center(center)
    assert pad.model.mode == "plane" and pad.plane_row.isVisible()
    pad.x_combo.setCurrentIndex(pad.x_combo.findText("glasses"))
    pad.span_spin.setValue(1.5)
    # y is PC1 (the first direction after the saved one), computed on the render thread on first use
    qtbot.waitUntil(lambda: pad.model.axes[1] is not None and pad.model.axes[1].vector is not None, timeout=30_000)
    assert pad.model.axes[0].name == "glasses"
    assert pad.surface._axis_labels[0] == "glasses"  # the pad's axes are labelled
    pad.surface.set_position(1.0, 0.5)
    assert np.allclose(pad.current_latent(), center.z + 1.5 * glasses, atol=1e-5)
    pad.surface.set_position(0.5, 0.5)
    assert np.array_equal(pad.current_latent(), center.z)
    assert np.array_equal(settle(qtbot, pad), reference.generate(center.z)[0])

    # "amount of glasses" on any image
    pad.set_adjust("glasses", 0.8)
    assert pad.amount_label.text() == "+0.80"
    assert np.allclose(pad.current_latent(), center.z + 0.8 * glasses, atol=1e-5)
    settle(qtbot, pad)


def test_principal_directions_become_plane_axes(qtbot, panel):
    pad = panel.pad
    pad.mode_combo.setCurrentIndex(1)  # plane through the current image: asks for the PCs
    qtbot.waitUntil(lambda: pad.model.axes[0] is not None and pad.model.axes[0].vector is not None, timeout=30_000)
    x, y = pad.model.axes
    assert (x.name, y.name) == ("PC1", "PC2")
    assert abs(float(x.vector @ y.vector)) < 1e-4 and float(np.linalg.norm(x.vector)) == pytest.approx(1, abs=1e-4)
    assert "σ" in pad.position_label.text()
    settle(qtbot, pad)


def test_plane_mode_starts_on_two_different_directions(qtbot, panel):
    pad, store = panel.pad, panel.store
    rng = np.random.default_rng(0)
    store.add_direction("glasses", rng.standard_normal(Z).astype(np.float32))
    pad.refresh_directions()
    pad.mode_combo.setCurrentIndex(1)
    # one saved direction: it, then the first principal one (computed on first use)
    qtbot.waitUntil(lambda: all(a is not None and a.vector is not None for a in pad.model.axes), timeout=30_000)
    assert [a.name for a in pad.model.axes] == ["glasses", "PC1"]
    store.add_direction("smile", rng.standard_normal(Z).astype(np.float32))
    pad.y_combo.setCurrentIndex(pad.y_combo.findText("smile"))
    pad.y_combo.activated.emit(pad.y_combo.currentIndex())  # as a user's pick signals it
    store.add_direction("frown", -store.directions[-1].vector)
    pad.refresh_directions()  # a choice the user made is kept
    assert [a.name for a in pad.model.axes] == ["glasses", "smile"]
    assert pad.surface._axis_labels == ("glasses", "smile")
    settle(qtbot, pad)


def test_a_fresh_pad_with_saved_directions_offers_the_first_two(qtbot, project, tmp_path):
    import shutil

    from studio.engine.explore.bookmarks import ExploreStore

    root = tmp_path / "proj"
    shutil.copytree(project, root)
    store = ExploreStore.open(root, Z)
    for name in ("glasses", "long hair", "smile"):
        store.add_direction(name, np.random.default_rng(len(name)).standard_normal(Z).astype(np.float32))
    p = ExplorerPanel(root, backend="torch")
    qtbot.addWidget(p)
    qtbot.waitUntil(lambda: p.renderer.has_model and p.pad.shown_latent is not None, timeout=30_000)
    p.pad.mode_combo.setCurrentIndex(1)
    assert [a.name for a in p.pad.model.axes] == ["glasses", "long hair"]  # was glasses on both axes
    settle(qtbot, p.pad)
    p.shutdown()


def test_amount_slider_range_follows_the_direction_and_double_click_resets(qtbot, panel):
    pad = panel.pad
    long = np.full(Z, 3.0, np.float32)  # 3 x sqrt(Z) long: +1 of it is already far outside typical latents
    panel.store.add_direction("long", long)
    pad.refresh_directions()
    pad.adjust_combo.setCurrentIndex(pad.adjust_combo.findText("long"))
    limit = pad.amount_range()
    assert limit == pytest.approx(1 / 3, rel=1e-3)
    base = pad.model.latents(pad.surface.u, pad.surface.v) if pad.model.amount == 0 else None
    pad.amount_slider.setValue(pad.amount_slider.maximum())
    step = pad.current_latent() - base
    # the slider's end adds a step as long as a typical latent (sqrt(z_dim)), not 3x the direction
    assert float(np.linalg.norm(step)) == pytest.approx(np.sqrt(Z), rel=1e-3)
    assert pad.amount_label.text() == "+0.33"
    qtbot.mouseDClick(pad.amount_slider, Qt.MouseButton.LeftButton)
    assert pad.amount_slider.value() == 0 and pad.model.amount == 0 and pad.amount_label.text() == "+0.00"
    assert np.array_equal(pad.current_latent(), base)
    settle(qtbot, pad)


# ----- arithmetic ---------------------------------------------------------------------------------------
def test_arithmetic_result_is_generate_of_mean_a_minus_mean_b_plus_mean_c(qtbot, panel, reference):
    gallery, ar = panel.gallery, panel.arithmetic
    items = gallery.items()
    for slot, rows in zip(ar.slots, ([0, 1, 2], [3, 4], [5])):
        gallery.select_rows(rows)
        slot.add_selection()
    assert [len(s.items) for s in ar.slots] == [3, 2, 1]
    assert [s.sign for s in ar.slots] == [1, -1, 1]
    assert ar.equation.text() == "avg(A) − avg(B) + C"
    z = [i.z.astype(np.float64) for i in items]
    want = ((z[0] + z[1] + z[2]) / 3 - (z[3] + z[4]) / 2 + z[5]).astype(np.float32)
    assert np.allclose(ar.result_latent(), want, atol=1e-6)
    qtbot.waitUntil(lambda: ar.result_shown_for is not None and np.array_equal(ar.result_shown_for, ar.result_latent()),
                    timeout=10_000)
    assert np.array_equal(ar.result_picture, reference.generate(ar.result_latent())[0])
    # the strip runs from the base slot (C) to the result
    qtbot.waitUntil(lambda: ar.strip_view.has_picture(), timeout=10_000)
    assert ar.strip_view.image.width() == 7 * 34 + 2
    # difference = result − base = mean(A) − mean(B): saved as a direction, offered on the pad
    assert ar.base_index() == 2
    assert np.allclose(ar.difference(), want - z[5], atol=1e-5)
    assert ar.save_difference("glasses") == "glasses"
    assert ar.save_result("glasses woman") == "glasses woman"
    assert panel.pad.adjust_combo.findText("glasses") >= 0
    assert np.allclose(panel.store.direction("glasses"), want - z[5], atol=1e-5)

    # signs flip, slots can be added and removed (at least three stay)
    ar.slots[1].toggle_sign()
    assert ar.equation.text() == "avg(A) + avg(B) + C"
    d = ar.add_slot(-1)
    assert ar.slot_names() == ["A", "B", "C", "D"]
    ar.remove_slot(d)
    ar.remove_slot(ar.slots[0])  # refused: three is the minimum
    assert len(ar.slots) == 3
    ar.send_to_pad.emit(LatentItem(ar.result_latent(), "result"))
    assert np.array_equal(panel.pad.current_latent(), ar.result_latent())


def test_typical_length_option_rescales_the_result_but_not_the_difference(qtbot, panel, reference):
    from studio.engine.explore import latent as L

    gallery, ar = panel.gallery, panel.arithmetic
    for slot, rows in zip(ar.slots, ([0, 1, 2, 3], [4, 5, 6], [7, 8])):
        gallery.select_rows(rows)
        slot.add_selection()
    plain, plain_diff = ar.result_latent(), ar.difference()
    assert not ar.typical_check.isChecked()  # the paper's plain sum unless asked
    ar.typical_check.setChecked(True)
    r = ar.result_latent()
    assert np.allclose(r, L.to_typical_length(plain), atol=1e-6)
    assert float(np.linalg.norm(r)) == pytest.approx(np.sqrt(len(r)), rel=1e-5)
    assert not np.allclose(r, plain, atol=1e-3)
    assert np.allclose(ar.difference(), plain_diff, atol=1e-6)
    assert ar.equation.text().endswith(", at typical length")
    qtbot.waitUntil(lambda: ar.result_shown_for is not None and np.array_equal(ar.result_shown_for, r), timeout=10_000)
    assert np.array_equal(ar.result_picture, reference.generate(r)[0])
    assert ar.save_difference("d") == "d" and np.allclose(panel.store.direction("d"), plain_diff, atol=1e-5)
    ar.typical_check.setChecked(False)
    assert np.array_equal(ar.result_latent(), plain)


# ----- gallery and bookmarks ---------------------------------------------------------------------------
def test_gallery_generate_favourite_delete(qtbot, panel):
    g = panel.gallery
    g.count_spin.setValue(6)
    g.seed_spin.setValue(9)
    g.generate()
    assert [i.label for i in g.items()] == [f"seed 9 #{i}" for i in range(6)]
    g.select_rows([1, 2])
    g.toggle_favourite()
    assert len(panel.store.favourites) == 2
    g.select_rows([0])
    g.delete_selected()
    assert [i.label for i in g.items()] == [f"seed 9 #{i}" for i in range(1, 6)]
    g.set_source("favourites")
    assert len(g.items()) == 2
    g.select_rows([0])
    g.toggle_favourite()  # in the favourites list: unfavourite
    assert len(panel.store.favourites) == 1 and len(g.items()) == 1
    g.set_source("samples")
    g.next_seed()
    assert g.items()[0].label == "seed 10 #0"


def test_bookmarks_survive_reopening_the_project(qtbot, panel, reference):
    root = panel.project_dir
    pad, gallery = panel.pad, panel.gallery
    pad.surface.set_position(0.2, 0.7)
    keep = pad.current_latent()
    picture = settle(qtbot, pad)
    assert pad.bookmark_current("keeper") == "keeper"
    gallery.select_rows([3, 4])
    gallery.toggle_favourite()
    panel.store.add_direction("smile", gallery.items()[7].z - gallery.items()[8].z)
    fav = [gallery.items()[3].z, gallery.items()[4].z]
    panel.shutdown()
    panel.close()

    again = ExplorerPanel(root, backend="torch")
    qtbot.addWidget(again)
    try:
        qtbot.waitUntil(lambda: again.renderer.has_model, timeout=30_000)
        assert [e.name for e in again.store.latents] == ["keeper"]
        assert np.array_equal(again.store.latent("keeper"), keep)
        again.gallery.set_source("bookmarks")
        assert [i.label for i in again.gallery.items()] == ["keeper"]
        qtbot.waitUntil(lambda: again.gallery.picture(again.gallery.items()[0]) is not None, timeout=10_000)
        assert np.array_equal(again.gallery.picture(again.gallery.items()[0]), picture)
        again.gallery.set_source("favourites")
        assert all(np.array_equal(a.z, b) for a, b in zip(again.gallery.items(), fav))
        assert again.pad.adjust_combo.findText("smile") >= 0
        # a bookmark can become a pad corner again
        again.pad.set_corner(0, LatentItem(again.store.latent("keeper"), "keeper"))
        again.pad.surface.set_position(0, 0)
        assert np.array_equal(settle(qtbot, again.pad), reference.generate(keep)[0])
    finally:
        again.shutdown()


# ----- exports ----------------------------------------------------------------------------------------
def test_export_dialog_walk_with_progress(qtbot, panel, tmp_path):
    import imageio.v3 as iio

    d = panel.open_export("walk")
    qtbot.addWidget(d)
    assert d.keyframes() and len(d.keyframes()) == 4  # the pad corners
    d.transition_spin.setValue(0.5)
    d.hold_spin.setValue(0)
    d.fps_spin.setValue(8)
    d.walk_scale.setValue(2)
    d.easing_combo.setCurrentText("linear")
    _, frames = d.walk_settings()
    assert frames == 16 and "16 frames" in d.length_label.text()
    out = tmp_path / "walk.webp"
    d.walk_format.setCurrentIndex(2)
    d.set_path(out)
    seen = []
    d.runner.progress.connect(lambda done, total, text: seen.append((done, total)))
    with qtbot.waitSignal(d.exported, timeout=30_000):
        assert d.start()
    assert out.exists() and str(out) in d.status.text()
    assert seen and seen[-1] == (16, 16)
    assert d.progress.value() == d.progress.maximum()
    assert iio.imread(out, index=0, plugin="pillow").shape[:2] == (64, 64)
    d.close()


def test_export_dialog_cancel_leaves_no_file(qtbot, panel, tmp_path):
    d = panel.open_export("walk")
    qtbot.addWidget(d)
    d.transition_spin.setValue(30)  # 4 x 30 s at 24 fps: far longer than the test
    out = tmp_path / "long.gif"
    d.set_path(out)
    with qtbot.waitSignal(d.runner.progress, timeout=30_000):
        d.start()
    assert d.cancel_button.text() == "Cancel" and not d.export_button.isEnabled()
    with qtbot.waitSignal(d.runner.cancelled, timeout=30_000):
        d.cancel_button.click()
    assert "Cancelled" in d.status.text()
    assert not out.exists() and not list(tmp_path.glob(".tmp-*"))
    d.close()


@pytest.mark.parametrize("kind, name", [("image", "img.png"), ("grid", "grid.png"), ("sheet", "sheet.png"),
                                        ("onnx", "g.onnx"), ("timelapse", "t.gif")])
def test_export_dialog_other_kinds(qtbot, panel, tmp_path, kind, name):
    d = panel.open_export(kind)
    qtbot.addWidget(d)
    assert d._extension() == "." + name.split(".")[1]
    d.set_path(tmp_path / name)
    with qtbot.waitSignal(d.exported, timeout=30_000):
        d.start()
    assert (tmp_path / name).stat().st_size > 0
    d.close()


def test_cyclegan_project_gets_a_clear_message(qtbot, tmp_path):
    from studio.engine.project.folder import Project

    Project.create(tmp_path / "cyc", "cyclegan", {"model": {}})
    p = ExplorerPanel(tmp_path / "cyc")
    qtbot.addWidget(p)
    try:
        assert "works with models that make images from noise" in p.info_label.text()
        assert "is a CycleGAN project" in p.info_label.text()
        assert not p.renderer.has_model and p.gallery.items() == []
    finally:
        p.shutdown()


def test_exploring_weights_handed_over_by_a_running_training(qtbot, tmp_path):
    import torch

    from studio.engine.explore.generator import GeneratorModel
    from studio.engine.models import get_kind
    from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer

    dcgan = get_kind("dcgan")
    cfg = DCGANConfig(size=32, ngf=8, ndf=8, z_dim=Z, batch=4, preview_count=4)
    trainer = DCGANTrainer(cfg, torch.zeros(4, 3, 32, 32, dtype=torch.uint8), seed=3)
    state = trainer.generator_state()
    p = ExplorerPanel(backend="torch")
    qtbot.addWidget(p)
    try:
        p.set_generator_state(cfg, state, step=42, kind=dcgan)
        qtbot.waitUntil(lambda: p.renderer.has_model, timeout=30_000)
        assert "live weights from training, step 42" in p.info_label.text()
        pic = settle(qtbot, p.pad)
        assert np.array_equal(pic, GeneratorModel(cfg, state, kind=dcgan).generate(p.pad.current_latent())[0])
        d = p.open_export("image")  # exports build their own generator from the same weights
        qtbot.addWidget(d)
        d.set_path(tmp_path / "live.png")
        with qtbot.waitSignal(d.exported, timeout=30_000):
            d.start()
        from studio.engine.images import load_png

        assert np.array_equal(load_png(tmp_path / "live.png")[::4, ::4], pic)
        d.close()
    finally:
        p.shutdown()
