"""The sketch pad: strokes drawn with simulated mouse (and tablet) events change the translated
result, undo / redo / clear bring the earlier results back, the tools paint what they say, and the
drawing and its result export as PNGs. The model is a tiny pix2pix trained in the test on pairs
made from one folder (edges -> pictures), the wizard previews such pairs, and the window shows the
pad for that kind and not for a CycleGAN."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QInputDevice, QMouseEvent, QPointingDevice, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from studio.app.sketch_worker import SketchController
from studio.engine.models import KINDS
from studio.ui.sketch import SketchPanel
from studio.ui.sketch.tools import Tool

DRAWN = next(k for k in KINDS.values() if k.capabilities.drawable_input)  # pix2pix
SIZE = min(DRAWN.sizes)  # the canvas side
K = SIZE // 32  # coordinates below are on a 32-pixel grid, scaled to the canvas


@pytest.fixture(scope="module")
def trained_drawable(tmp_path_factory):
    """A pix2pix project at its smallest size, 2 steps on 8 pictures with inputs made as edges (one
    training for the module: nothing here changes the project)."""
    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import DataConfig
    from studio.engine.data.procedural import discs, write_folder
    from studio.engine.models.sessions import create_session

    root = tmp_path_factory.mktemp("drawable")
    made = next(rs for rs in DRAWN.role_sets() if DRAWN.made_inputs_option(rs))
    folder = write_folder(discs(8, SIZE, seed=0), root / "pictures")
    settings = RunSettings(steps=2, sample_every=2, checkpoint_every=1000, log_every=1, device="cpu")
    session = create_session(root / "project", DRAWN.name, {made[0].name: str(folder)}, DataConfig(size=SIZE),
                             settings, {DRAWN.made_inputs_option(made).name: "edges", "width": 8, "batch": 1})
    for _ in session.run():
        pass
    return root / "project"


@pytest.fixture
def pad(qtbot, trained_drawable):
    controller = SketchController(device="cpu", backend="torch")  # no ONNX export: a quicker test
    panel = SketchPanel(controller)
    qtbot.addWidget(panel)
    panel.resize(900, 520)
    panel.show()
    panel.set_project(trained_drawable)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=20000)
    yield panel
    panel.shutdown()


def settled(qtbot, panel: SketchPanel) -> np.ndarray:
    """The result once it answers the newest canvas sent."""
    qtbot.waitUntil(lambda: panel.result is not None and panel.result.stamp == panel.controller.latest_stamp,
                    timeout=10000)
    return panel.result.result.copy()


def widget_point(panel: SketchPanel, x: float, y: float) -> QPoint:
    """The widget position over grid point (x, y)."""
    r = panel.canvas.picture_rect()
    scale = r.width() / panel.canvas.canvas_size
    return QPoint(int(r.x() + (x * K + 0.5) * scale), int(r.y() + (y * K + 0.5) * scale))


def stroke(panel: SketchPanel, points: list[tuple[float, float]], button=Qt.MouseButton.LeftButton) -> None:
    c = panel.canvas
    QTest.mousePress(c, button, Qt.KeyboardModifier.NoModifier, widget_point(panel, *points[0]))
    for x, y in points[1:]:
        # QTest.mouseMove carries no buttons: send the move with the button held, as a real drag does
        pos = QPointF(widget_point(panel, x, y))
        ev = QMouseEvent(QMouseEvent.Type.MouseMove, pos, c.mapToGlobal(pos), Qt.MouseButton.NoButton, button,
                         Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(c, ev)
    QTest.mouseRelease(c, button, Qt.KeyboardModifier.NoModifier, widget_point(panel, *points[-1]))


def grid(picture: np.ndarray) -> np.ndarray:
    """The canvas sampled at the grid's points (the centre pixel of each K x K cell)."""
    return picture[K // 2 :: K, K // 2 :: K]


def test_strokes_change_the_result_and_undo_redo_clear_restore_it(qtbot, pad):
    blank_result = settled(qtbot, pad)
    assert pad.canvas.picture().min() == 255  # blank paper
    assert pad.canvas.canvas_size == SIZE  # the model's input size

    stroke(pad, [(4, 4), (10, 8), (16, 16), (26, 20)])
    drawn = pad.canvas.picture()
    assert (drawn < 128).any(), "the stroke left no dark pixels"
    first = settled(qtbot, pad)
    assert np.abs(first.astype(int) - blank_result).mean() > 0.5, "the result did not follow the drawing"
    assert np.array_equal(pad.result.drawing, drawn)

    stroke(pad, [(28, 4), (4, 28)])
    second = settled(qtbot, pad)
    assert not np.array_equal(second, first)

    QTest.keyClick(pad.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Z
    assert np.array_equal(pad.canvas.picture(), drawn)
    assert np.array_equal(settled(qtbot, pad), first), "undo did not restore the earlier result"
    pad.canvas.undo()
    assert np.array_equal(settled(qtbot, pad), blank_result)
    assert not pad.undo_button.isEnabled()

    pad.clear_button.setFocus()  # the keys work wherever the focus is in the pad
    QTest.keyClick(pad.clear_button, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(settled(qtbot, pad), first), "redo did not bring the stroke back"
    pad.redo_button.click()
    assert np.array_equal(settled(qtbot, pad), second)

    pad.clear_button.click()
    assert pad.canvas.picture().min() == 255
    assert np.array_equal(settled(qtbot, pad), blank_result)
    pad.canvas.undo()  # clearing is undoable too
    assert np.array_equal(settled(qtbot, pad), second)


def test_eraser_line_and_fill(qtbot, pad):
    pad.width_spin.setValue(2 * K)
    pad.set_tool(Tool.LINE)
    # across the whole canvas (from beyond its edges); the line follows the pointer, only its end counts
    stroke(pad, [(-3, 16), (9, 26), (35, 16)])
    p = grid(pad.canvas.picture())
    assert (p[15:18] < 128).any(axis=0).all(), "the line is not continuous"
    assert p[:12].min() == 255 and p[21:].min() == 255, "the line strayed"
    assert len(pad.canvas.history._undo) == 1  # one line, one undo step, however long the drag

    pad.set_tool(Tool.FILL)
    pad.set_colour(QColor(255, 0, 0))
    stroke(pad, [(16, 4)])  # the part above the line
    p = grid(pad.canvas.picture())
    assert (p[2, 16] == [255, 0, 0]).all() and (p[26, 16] == 255).all(), "the fill crossed the line"

    pad.set_tool(Tool.ERASER)
    pad.width_spin.setValue(6 * K)
    stroke(pad, [(16, 2), (16, 30)])
    p = grid(pad.canvas.picture())
    assert (p[:, 15:18] >= 250).all(), "the eraser left paint behind"

    stroke(pad, [(6, 6), (6, 8)], button=Qt.MouseButton.RightButton)  # the right button erases with any tool
    assert (grid(pad.canvas.picture())[6, 6] >= 250).all()


def test_tablet_pressure_sets_the_width(qtbot, pad):
    pen = QPointingDevice("test pen", 7, QInputDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen,
                          QInputDevice.Capability.Position | QInputDevice.Capability.Pressure, 1, 3)
    pad.width_spin.setValue(8 * K)

    def tablet_stroke(y: int, pressure: float) -> int:
        c = pad.canvas
        before = (pad.canvas.picture() < 128).any(axis=2).sum()
        for kind, x, buttons in ((QTabletEvent.Type.TabletPress, 4, Qt.MouseButton.LeftButton),
                                 (QTabletEvent.Type.TabletMove, 28, Qt.MouseButton.LeftButton),
                                 (QTabletEvent.Type.TabletRelease, 28, Qt.MouseButton.NoButton)):
            pos = QPointF(widget_point(pad, x, y))
            ev = QTabletEvent(kind, pen, pos, c.mapToGlobal(pos), pressure, 0.0, 0.0, 0.0, 0.0, 0.0,
                              Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, buttons)
            QApplication.sendEvent(c, ev)
        return (pad.canvas.picture() < 128).any(axis=2).sum() - before

    light, firm = tablet_stroke(6, 0.25), tablet_stroke(22, 1.0)
    assert 0 < light < firm * 0.6, (light, firm)
    assert len(pad.canvas.history._undo) == 2


def test_export_and_training_input(qtbot, pad, tmp_path, trained_drawable):
    stroke(pad, [(4, 4), (28, 28)])
    settled(qtbot, pad)
    written = pad.export(tmp_path / "out" / "my sketch")
    assert [p.name for p in written] == ["my sketch.png", "my sketch-result.png"]
    from studio.engine.images import load_png

    assert np.array_equal(load_png(written[0]), pad.result.drawing)
    assert np.array_equal(load_png(written[1]), pad.result.result)

    from studio.engine.data.pairs import TRAINING_SEED, make_input

    drawing = pad.canvas.picture()
    assert pad.load_training_input()  # the input training made from the first picture (on a task thread)
    qtbot.waitUntil(lambda: not np.array_equal(pad.canvas.picture(), drawing), timeout=20000)
    first = pad.canvas.picture()
    # what training made: the first picture at the size training loaded it, its edges, the centre cut out
    from studio.engine.data.dataset import DataConfig, prepare_dataset
    from studio.engine.project.folder import Project

    cfg = DRAWN.default_config(DataConfig(size=SIZE), {}, Project.open(trained_drawable).meta["model"])
    load = DRAWN.load_config(cfg, DataConfig(size=SIZE))
    target = prepare_dataset(trained_drawable.parent / "pictures", load).images[0].permute(1, 2, 0).numpy()
    made = make_input("edges", target, TRAINING_SEED)
    m = (load.size - SIZE) // 2
    assert np.array_equal(first, made[m : m + SIZE, m : m + SIZE])
    qtbot.waitUntil(lambda: pad.example_button.isEnabled(), timeout=20000)
    assert pad.load_training_input()
    qtbot.waitUntil(lambda: not np.array_equal(pad.canvas.picture(), first), timeout=20000)
    pad.canvas.undo()
    assert np.array_equal(pad.canvas.picture(), first)


def test_while_training_the_pad_draws_with_the_live_weights(qtbot, pad, trained_drawable):
    from studio.app.train_worker import GeneratorWeights
    from studio.engine.config import config_from_dict
    from studio.engine.project.checkpoints import list_checkpoints, load_checkpoint
    from studio.engine.project.folder import Project

    saved = settled(qtbot, pad)
    project = Project.open(trained_drawable)
    tensors, meta = load_checkpoint(list_checkpoints(project.checkpoints_dir)[-1][1])
    cfg = config_from_dict(DRAWN.config_cls, meta["config"])
    # the running training's weights: the saved ones, moved on (every weight scaled)
    state = {k: v * 1.5 if v.is_floating_point() else v for k, v in tensors.items() if k.startswith("G.")}
    with qtbot.waitSignal(pad.weights_wanted, timeout=2000):
        pad.set_training(True)
    pad.set_live_weights(GeneratorWeights(DRAWN.name, cfg, state, 7), project.meta)
    qtbot.waitUntil(lambda: pad.controller.model is not None and pad.controller.model.live, timeout=20000)
    pad.canvas.clear()  # a new canvas, translated with them
    live = settled(qtbot, pad)
    assert not np.array_equal(live, saved)
    assert "as it is now" in pad.status.text()
    with qtbot.waitSignal(pad.weights_wanted, timeout=2000):
        stroke(pad, [(4, 4), (20, 20)])  # each finished stroke asks for newer weights
    pad.set_training(False)  # the run saved: back to the newest checkpoint
    qtbot.waitUntil(lambda: pad.controller.model is not None and not pad.controller.model.live, timeout=20000)
    pad.canvas.undo()
    assert np.array_equal(settled(qtbot, pad), saved)


def test_the_window_shows_the_pad_for_kinds_whose_input_is_drawn(qtbot, window, trained_cyclegan, trained_drawable):
    assert window.open_project(trained_cyclegan)  # translates, but its input is not a drawing
    assert not window.work_tabs.isTabVisible(window.sketch_tab)
    window.close_project()
    assert window.open_project(trained_drawable)
    assert window.work_tabs.isTabVisible(window.sketch_tab)
    assert window.sketch_panel.controller.model is None  # nothing loaded until the tab is looked at
    window.work_tabs.setCurrentIndex(window.sketch_tab)
    qtbot.waitUntil(lambda: window.sketch_panel.result is not None, timeout=20000)
    assert window.sketch_panel.canvas.canvas_size == SIZE
    # beside the docks on a 1280 px laptop screen (the toolbar row is the widest part)
    from studio.ui.main_window import DOCK_WIDTH

    assert window.sketch_panel.minimumSizeHint().width() <= 1280 - DOCK_WIDTH
    window.close_project()
    assert not window.work_tabs.isTabVisible(window.sketch_tab)


def test_the_wizard_previews_eight_pairs_made_from_one_folder(qtbot, tmp_path, shapes_factory, monkeypatch):
    from studio.app import prepare
    from studio.engine.data.pairs import TRAINING_SEED, make_input
    from studio.engine.models import KINDS
    from studio.ui.new_project import NewProjectWizard
    from studio.ui.qimage import to_qimage

    kind = next(k for k in KINDS.values() if k.capabilities.drawable_input)
    # the set of folders whose inputs are made from the pictures
    index, roles = next((i, rs) for i, rs in enumerate(kind.role_sets()) if kind.made_inputs_option(rs))
    made = kind.made_inputs_option(roles)
    folder = shapes_factory(tmp_path / "pictures", count=12, size=72)
    # no training steps timed for the estimate: not what this test is about, and the slowest part
    monkeypatch.setattr(prepare, "timing_task", lambda *a, **k: (lambda progress, should_cancel: None))
    wizard = NewProjectWizard(device="cpu")
    qtbot.addWidget(wizard)
    wizard.show()
    src = wizard.source_page
    src.kind_radios[kind.name].setChecked(True)
    assert src.roles_combo.isVisible()
    src.roles_combo.setCurrentIndex(index)
    assert src.made_row.isVisible()
    src.made_combo.setCurrentIndex(src.made_combo.findData("edges"))
    assert "sketch" in src.made_note.text().lower()  # which collection the way suits
    (field,) = [src.fields[r.name] for r in roles]
    field.set_path(str(folder))
    src.location_field.set_path(str(tmp_path / "projects"))
    src.name_edit.setText("sketches")
    src._on_name_edited()
    assert src.isComplete()
    wizard.next()
    report = wizard.report_page
    qtbot.waitUntil(lambda: len(report.pairs_view.pairs) == 8, timeout=60_000)
    assert report.tabs.widget(0) is report.pairs_view and report.tabs.currentIndex() == 0
    targets = report.prepared.datasets[roles[0].name].images[:8].permute(0, 2, 3, 1).numpy()

    def same(label, picture) -> bool:
        shown = label.pixmap().toImage()
        return shown == to_qimage(picture).scaled(shown.width(), shown.height()).convertToFormat(shown.format())

    for (made_label, target_label), target in zip(report.pairs_view.pairs, targets):
        assert same(target_label, target), "a target is not the prepared picture"
        assert same(made_label, make_input("edges", target, TRAINING_SEED)), "an input is not the one training makes"
    wizard.next()
    page = wizard.settings_page
    control = page.option_widgets[made.name]
    assert control.currentData() == "edges" and not control.isEnabled()
    assert page.request().overrides[made.name] == "edges"
    wizard.reject()


def test_help_opens_the_sketch_demo_on_its_pad(qtbot, tmp_path, trained_drawable, monkeypatch):
    import shutil

    from studio.ui.main_window import MainWindow

    models = tmp_path / "models"
    shutil.copytree(trained_drawable, models / "demo-sketch")  # standing in for the bundled demo
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(models))
    monkeypatch.setenv("GAN_STUDIO_DATA", str(tmp_path / "data"))
    w = MainWindow(device="cpu", remember_layout=False)
    qtbot.addWidget(w)
    w.show()
    assert w.demo_sketch_action.isVisible()
    w.demo_sketch_action.trigger()
    assert w.state.project is not None and w.state.project.root.is_relative_to(tmp_path / "data")  # a copy
    assert w.work_tabs.currentIndex() == w.sketch_tab
    qtbot.waitUntil(lambda: w.sketch_panel.result is not None, timeout=30000)
    w.close()
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(tmp_path / "nothing"))
    w2 = MainWindow(device="cpu", remember_layout=False)
    qtbot.addWidget(w2)
    assert not w2.demo_sketch_action.isVisible()  # no bundled sketch demo: no menu entry leading nowhere
    w2.close()


def test_a_project_not_trained_yet_says_so(qtbot, tmp_path, trained_drawable):
    import shutil

    from studio.ui.sketch.panel import NO_MODEL

    shutil.copytree(trained_drawable, tmp_path / "new")
    shutil.rmtree(tmp_path / "new" / "checkpoints")  # as a new project is before its first save
    (tmp_path / "new" / "checkpoints").mkdir()
    panel = SketchPanel(SketchController(device="cpu", backend="torch"))
    qtbot.addWidget(panel)
    panel.show()
    panel.set_project(tmp_path / "new")
    qtbot.waitUntil(lambda: panel.status.text() == NO_MODEL, timeout=20000)
    stroke(panel, [(4, 4), (20, 20)])  # drawing still works; nothing to translate with
    assert (panel.canvas.picture() < 128).any() and panel.result is None
    panel.shutdown()


def test_a_demo_trained_on_drawn_pictures_gives_its_training_inputs(tmp_path, trained_drawable):
    """A bundled demo's pictures are drawn again (they are not shipped): its training inputs too."""
    import json
    import shutil

    from studio.engine.config import config_from_dict
    from studio.engine.data.dataset import DataConfig
    from studio.engine.data.demo_sets import faces
    from studio.engine.data.pairs import TRAINING_SEED, make_input
    from studio.engine.explore.live_translate import TrainingInputs

    demo = tmp_path / "demo"
    shutil.copytree(trained_drawable, demo)
    meta = json.loads((demo / "project.json").read_text())
    (role,) = meta["data"]["folders"]
    cfg = config_from_dict(DRAWN.config_cls, meta["model"])
    load = DRAWN.load_config(cfg, DataConfig(size=SIZE)).size  # drawn at the size training loads
    meta["data"]["folders"][role] = f"(procedural: gan-studio demo-data faces DIR --count 3 --size {load} --seed 3)"
    (demo / "project.json").write_text(json.dumps(meta))
    inputs = TrainingInputs(demo, SIZE)
    made = make_input("edges", faces(3, load, 3)[0][1], TRAINING_SEED)
    m = (load - SIZE) // 2
    assert np.array_equal(inputs.get(1), made[m : m + SIZE, m : m + SIZE])
    assert np.array_equal(inputs.get(4), inputs.get(1))  # wrapping round
