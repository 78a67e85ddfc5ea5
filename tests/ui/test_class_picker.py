"""The explorer with a generator trained with classes: the class picker redraws the pad and the
gallery as the chosen class, the class walk draws the pad's image between two classes and saves it
as a strip and an animation, and a model without classes shows no picker. Also: the wizard starts
with "Use sub-folders as classes" on for a folder sorted into classes, and its report lists them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))
from shape_classes import SHAPES, write_class_folders  # noqa: E402

from studio.cli.main import main  # noqa: E402
from studio.engine.explore.generator import load_generator  # noqa: E402
from studio.ui.explorer import ExplorerPanel  # noqa: E402

TINY = ["--size", "32", "--batch", "8", "--width", "8", "--z-dim", "8", "--seed", "1", "--metric-every", "0",
        "--steps", "2", "--sample-every", "2", "--checkpoint-every", "2", "--device", "cpu"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_class_folders(tmp_path_factory.mktemp("classes") / "shapes", {name: 20 for name in SHAPES})


@pytest.fixture(scope="module")
def project(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("proj") / "p"
    assert main(["train", "dcgan", "--data", str(folder), "--out", str(out), *TINY]) == 0
    return out


def open_panel(qtbot, project) -> ExplorerPanel:
    p = ExplorerPanel(project, backend="torch")
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    qtbot.waitUntil(lambda: p.renderer.has_model, timeout=30_000)
    qtbot.waitUntil(lambda: p.pad.shown_latent is not None, timeout=10_000)
    return p


def test_class_picker_redraws_the_pad_and_gallery_as_the_chosen_class(qtbot, project):
    reference = load_generator(project, device="cpu")
    panel = open_panel(qtbot, project)
    try:
        picker = panel.class_picker
        assert picker.isVisible() and picker.classes == SHAPES
        assert [picker.combo.itemText(i) for i in range(picker.combo.count())] == list(SHAPES)
        pad = panel.pad
        z = pad.current_latent()
        assert np.array_equal(pad.shown_picture, reference.generate(z, 0)[0])  # the first class to start with

        picker.set_class("standing")
        want = reference.generate(z, 2)[0]
        qtbot.waitUntil(lambda: np.array_equal(pad.shown_picture, want), timeout=10_000)
        assert not np.array_equal(want, reference.generate(z, 0)[0])  # another class, another picture
        items = panel.gallery.items()
        batch = np.stack([it.z for it in items])  # rendered as one batch, as the gallery does
        want_batch = reference.generate(batch, 2).astype(int)

        def drawn_now():
            if not panel.gallery.all_drawn():
                return None
            return np.stack([panel.gallery._pictures[it.z.tobytes()] for it in items]).astype(int)

        # The class-0 pictures stay cached (and count as drawn) until the redrawn batch arrives: on a
        # busy machine that is a while after the switch, so wait for the chosen class's pictures.
        qtbot.waitUntil(lambda: (d := drawn_now()) is not None and np.abs(d - want_batch).max() <= 1, timeout=30_000)
        drawn = drawn_now()
        assert np.abs(drawn - reference.generate(batch, 0).astype(int)).max() > 8
        ctx = panel.export_context()  # exports draw the chosen class too
        assert np.array_equal(ctx.render(reference)(z[None]), reference.generate(z, 2))
    finally:
        panel.shutdown()


def test_class_walk_draws_the_pad_image_between_classes_and_saves_strip_and_animation(qtbot, project, tmp_path):
    reference = load_generator(project, device="cpu")
    panel = open_panel(qtbot, project)
    try:
        dialog = panel.open_class_walk()
        assert (dialog.src, dialog.dst) == (0, 1)
        dialog.to_combo.setCurrentIndex(2)
        dialog.steps_spin.setValue(5)
        qtbot.waitUntil(lambda: dialog.pictures is not None and len(dialog.pictures) == 5 and dialog.dst == 2,
                        timeout=10_000)
        z = panel.pad.current_latent()
        assert np.array_equal(dialog.pictures[0], reference.generate(z, 0)[0])  # the ends are the two classes
        assert np.array_equal(dialog.pictures[-1], reference.generate(z, 2)[0])
        mid = np.array([0.5, 0.0, 0.5], np.float32)  # halfway: half of each embedding
        assert np.array_equal(dialog.pictures[2], reference.generate(z, mid)[0])

        saved = []
        dialog.saved.connect(saved.append)
        dialog.save(tmp_path / "walk.png")
        qtbot.waitUntil(lambda: len(saved) == 1, timeout=10_000)
        with Image.open(saved[0]) as im:
            assert im.width > 4 * im.height  # one row of five pictures
        dialog.save(tmp_path / "walk.gif")
        qtbot.waitUntil(lambda: len(saved) == 2, timeout=20_000)
        with Image.open(saved[1]) as im:
            assert im.n_frames > 10  # there and back
        dialog.save(tmp_path / "walk.txt")
        qtbot.waitUntil(lambda: "neither" in dialog.status.text(), timeout=10_000)
        assert dialog.status.text().endswith(".")
        dialog.close()
    finally:
        panel.shutdown()


def test_no_picker_for_a_model_without_classes(qtbot, folder, tmp_path):
    out = tmp_path / "plain"
    assert main(["train", "dcgan", "--data", str(folder), "--out", str(out), *TINY, "--classes", "off"]) == 0
    panel = open_panel(qtbot, out)
    try:
        assert not panel.class_picker.isVisible()
        assert panel.open_class_walk() is None
    finally:
        panel.shutdown()


# ----- the wizard -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("counts, on", [({"disc": 20, "lying": 20, "standing": 20}, True),
                                        ({"disc": 30, "lying": 30, "standing": 4}, False)])
def test_wizard_lists_the_classes_warns_and_suggests_classes(qtbot, tmp_path, counts, on):
    from studio.engine.data.dataset import DataConfig
    from studio.engine.models import get_kind
    from studio.ui.new_project import NewProjectWizard
    from studio.ui.widgets.dataset_report_view import DatasetReportView

    data = write_class_folders(tmp_path / "shapes", counts)
    wizard = NewProjectWizard(device="cpu")
    qtbot.addWidget(wizard)
    wizard.show()
    try:
        src = wizard.source_page
        src.kind_radios["dcgan"].setChecked(True)
        src.fields["data"].set_path(str(data))
        src.location_field.set_path(str(tmp_path / "projects"))
        wizard.next()
        report = wizard.report_page
        qtbot.waitUntil(report.isComplete, timeout=60_000)
        view = report.findChild(DatasetReportView)
        assert "3 classes from sub-folders" in view.issue_titles()
        top = next(view.issues.topLevelItem(i) for i in range(view.issues.topLevelItemCount())
                   if view.issues.topLevelItem(i).text(0) == "3 classes from sub-folders")
        children = [top.child(i).text(0) for i in range(top.childCount())]
        assert children[:3] == sorted(counts, key=lambda n: (-counts[n], n))
        assert any("'standing' has fewer than 20 images" in c for c in children) == (not on)
        wizard.next()
        page = wizard.settings_page
        box = page.option_widgets["classes"]
        assert box.text() == "Use sub-folders as classes" and box.isChecked() == on
        want = tuple(sorted(counts)) if on else ()
        request = page.request()
        assert request.overrides["classes"] is on
        cfg = get_kind("dcgan").default_config(DataConfig(size=32), report.prepared.datasets, request.overrides)
        assert cfg.class_names == want
    finally:
        wizard.done(0)


def test_arithmetic_across_classes_draws_the_class_the_slots_add_up_to(qtbot, project):
    """"open-winged moth − moth + butterfly": exemplars keep the class their pictures showed when
    they were picked, and the result is drawn as the slots' classes combined like their latents
    (disc − disc + standing = standing), shown in the equation; sent to the pad, the picker follows."""
    from studio.engine.explore import latent as L

    reference = load_generator(project, device="cpu")
    panel = open_panel(qtbot, project)
    try:
        gallery, ar, picker = panel.gallery, panel.arithmetic, panel.class_picker
        items = gallery.items()
        gallery.select_rows([0])
        ar.slots[0].add_selection()  # A: a disc
        gallery.select_rows([1])
        ar.slots[1].add_selection()  # − B: a disc
        picker.set_class("standing")
        qtbot.waitUntil(lambda: gallery.all_drawn(), timeout=20_000)
        gallery.select_rows([2])
        ar.slots[2].add_selection()  # + C: a standing bar
        assert [list(s.items[0].labels) for s in ar.slots] == [[1, 0, 0], [1, 0, 0], [0, 0, 1]]
        picker.set_class("lying")  # what the explorer draws now does not change the exemplars' classes
        assert np.array_equal(ar.result_classes(), [0, 0, 1])
        assert ar.equation.text() == "A − B + C, as standing"
        z = [i.z.astype(np.float64) for i in items[:3]]
        r = (z[0] - z[1] + z[2]).astype(np.float32)
        qtbot.waitUntil(lambda: ar.result_shown_for is not None and np.array_equal(ar.result_shown_for, r),
                        timeout=10_000)
        want = reference.generate(r, 2)[0]
        assert np.abs(want.astype(int) - reference.generate(r, 1)[0].astype(int)).mean() > 1  # classes differ
        assert np.array_equal(ar.result_picture, want)
        # a mix: A (disc) + C (standing) is half of each
        b = ar.slots[1].items[0]
        ar.slots[1].clear()
        assert np.allclose(ar.result_classes(), [0.5, 0, 0.5])
        assert ar.equation.text() == "A + C, as 50% standing + 50% disc"
        ar.slots[1].add([b])
        ar._send_to_pad()  # one class: the pad draws the result as standing
        assert picker.current == 2
        assert L.combine_classes([(1, [[1, 0, 0]]), (-1, [[0, 1, 0]]), (1, [[0, 0, 1]])]).tolist() == [0.5, 0, 0.5]
        with pytest.raises(ValueError, match="cancel"):
            L.combine_classes([(1, [[1, 0, 0]]), (-1, [[1, 0, 0]])])
    finally:
        panel.shutdown()


def test_bookmarks_and_favourites_keep_the_class_they_were_saved_as(qtbot, project, tmp_path):
    """Saved as "standing", a gallery bookmark and a pad favourite still show their "standing" pictures
    after the picker moves to another class, and after the project is opened again."""
    import shutil

    root = tmp_path / "p"
    shutil.copytree(project, root)
    reference = load_generator(root, device="cpu")
    panel = open_panel(qtbot, root)
    try:
        panel.class_picker.set_class("standing")
        gallery = panel.gallery
        qtbot.waitUntil(gallery.all_drawn, timeout=30_000)
        gallery.select_rows([3])
        z = gallery.selected_items()[0].z
        assert gallery.bookmark_selected("a standing one") == "a standing one"
        pad_z = panel.pad.current_latent()
        panel.pad.favourite_current()
        panel.class_picker.set_class(0)
        want = {"bookmarks": reference.generate(z, 2)[0], "favourites": reference.generate(pad_z, 2)[0]}
        assert not np.array_equal(want["bookmarks"], reference.generate(z, 0)[0])

        def shows(source):
            gallery.set_source(source)
            qtbot.waitUntil(gallery.all_drawn, timeout=30_000)
            (item,) = gallery.items()
            assert np.abs(gallery.picture(item).astype(int) - want[source].astype(int)).max() <= 1
            return item

        assert np.array_equal(shows("bookmarks").labels, np.eye(len(SHAPES))[SHAPES.index("standing")])
        shows("favourites")
    finally:
        panel.shutdown()
    panel = open_panel(qtbot, root)  # the class is in explore.json: reopened, the same pictures
    try:
        gallery = panel.gallery
        gallery.set_source("bookmarks")
        qtbot.waitUntil(gallery.all_drawn, timeout=30_000)
        (item,) = gallery.items()
        assert np.abs(gallery.picture(item).astype(int) - want["bookmarks"].astype(int)).max() <= 1
    finally:
        panel.shutdown()


def test_exports_draw_saved_entries_as_their_own_class(qtbot, project, tmp_path):
    """A grid of saved bookmarks and a walk through them draw each as the class it was saved as, as
    the gallery shows them, whatever class the picker draws now."""
    import shutil

    import imageio.v3 as iio

    from studio.engine.images import load_png

    root = tmp_path / "p"
    shutil.copytree(project, root)
    reference = load_generator(root, device="cpu")
    panel = open_panel(qtbot, root)
    try:
        gallery = panel.gallery
        qtbot.waitUntil(gallery.all_drawn, timeout=30_000)
        zs = [it.z for it in gallery.items()[:2]]
        panel.class_picker.set_class("standing")
        gallery.select_rows([0])
        assert gallery.bookmark_selected("standing") == "standing"
        panel.class_picker.set_class("disc")
        gallery.select_rows([1])
        assert gallery.bookmark_selected("disc") == "disc"
        panel.class_picker.set_class("lying")  # neither entry's class
        gallery.set_source("bookmarks")
        qtbot.waitUntil(gallery.all_drawn, timeout=30_000)
        want = [reference.generate(zs[0], SHAPES.index("standing"))[0],
                reference.generate(zs[1], SHAPES.index("disc"))[0]]
        assert not np.array_equal(want[0], reference.generate(zs[0], SHAPES.index("lying"))[0])

        d = panel.open_export("grid")
        d.grid_from.setCurrentIndex(d.grid_from.findData("gallery"))
        d.grid_scale.setValue(1)
        d.grid_cols.setValue(2)
        d.set_path(tmp_path / "grid.png")
        with qtbot.waitSignal(d.exported, timeout=30_000):
            assert d.start()
        grid = load_png(tmp_path / "grid.png")
        s = reference.cfg.size
        tiles = [grid[2 : 2 + s, 2 + i * (s + 2) : 2 + i * (s + 2) + s] for i in range(2)]
        for tile, w in zip(tiles, want):
            assert np.abs(tile.astype(int) - w.astype(int)).max() <= 1
        d.close()

        d = panel.open_export("walk")
        d.keys_combo.setCurrentIndex(d.keys_combo.findData("bookmarks"))
        d.transition_spin.setValue(0.5)
        d.hold_spin.setValue(0.5)
        d.fps_spin.setValue(4)
        d.walk_scale.setValue(1)
        d.walk_smooth.setChecked(False)
        d.set_path(tmp_path / "walk.gif")
        with qtbot.waitSignal(d.exported, timeout=30_000):
            assert d.start()
        first = iio.imread(tmp_path / "walk.gif", index=0, plugin="pillow")[..., :3].astype(int)
        as_picked = reference.generate(zs[0], SHAPES.index("lying"))[0]
        # a GIF's palette rounds: nearer the saved class's picture than the picker's
        assert np.abs(first - want[0]).mean() < 0.5 * np.abs(first - as_picked).mean()
        d.close()
    finally:
        panel.shutdown()


def test_pad_corners_of_other_classes_are_blended_with_their_class(qtbot, project):
    """In z a corner keeps the class it was saved as: the pad draws it as that class there, and
    between the corners the classes blend as the latents do (the seed corners being the chosen class)."""
    from studio.ui.explorer.common import LatentItem
    from tests.ui.test_explorer import settle

    reference = load_generator(project, device="cpu")
    panel = open_panel(qtbot, project)
    try:
        pad, k = panel.pad, len(SHAPES)
        standing = np.eye(k, dtype=np.float32)[SHAPES.index("standing")]
        kept = np.random.default_rng(4).standard_normal(reference.z_dim).astype(np.float32)
        pad.set_corner(3, LatentItem(kept, "a standing one", "bookmark", labels=standing))  # bottom right
        first = np.eye(k, dtype=np.float32)[0]  # the picker's class: the seed corners'
        points = (((1.0, 1.0), standing), ((0.0, 0.0), first), ((0.5, 0.5), 0.75 * first + 0.25 * standing))
        for (u, v), weights in points:
            pad.surface.set_position(u, v)
            assert np.allclose(pad.point_labels(), weights), (u, v)
            want = reference.generate(pad.current_latent(), weights)[0]
            assert np.abs(settle(qtbot, pad).astype(int) - want.astype(int)).max() <= 1, (u, v)
        pad.surface.set_position(1.0, 1.0)
        assert not np.array_equal(settle(qtbot, pad), reference.generate(kept, 0)[0])  # not the picker's class
        assert np.allclose(pad.sheet_labels(3)[-1], standing) and np.allclose(pad.sheet_labels(3)[0], first)
        assert np.allclose(panel.export_context().current_labels, standing)  # an image export draws it so
    finally:
        panel.shutdown()
