"""The CycleGAN path through the real window: two folders -> train -> stop -> drop an image -> translate a folder."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from studio.engine.models import get_kind
from studio.engine.project.folder import Project
from studio.ui.main_window import MainWindow

RED = [(220, 40, 40), (180, 20, 30)]
BLUE = [(40, 60, 220), (20, 30, 170)]


def _drop_files(widget, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(widget, QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                              Qt.KeyboardModifier.NoModifier))


def test_cyclegan_project_train_translate_dropped_image_and_folder(qtbot, window, fill_wizard, tmp_path,
                                                                    shapes_factory):
    make_shapes = shapes_factory
    a = make_shapes(tmp_path / "red", count=8, colors=RED, seed=1)
    make_shapes(a / "more", count=2, colors=RED, seed=3)  # a subfolder: folder translation mirrors it
    b = make_shapes(tmp_path / "blue", count=6, colors=BLUE, seed=2)

    window.new_project()
    report, settings = fill_wizard(window.wizard, {"a": a, "b": b}, tmp_path, "red2blue", steps=100_000,
                                   sample_every=1)
    assert set(report.views) == {"a", "b"}
    assert report.views["a"].thumbs.count() == 10 and report.views["b"].thumbs.count() == 6
    assert settings.size_combo.currentData() == 32
    assert settings.batch_spin.value() == 1  # the paper's choice on a CPU
    assert settings.option_widgets["identity"].isVisibleTo(window.wizard)
    assert "diffaugment" not in settings.option_widgets  # a DCGAN option
    assert settings.batch_spin.suffix() == " pair per step"  # the kind's unit, one of it
    assert window.wizard.request().overrides["identity"] is True
    window.wizard.accept()

    qtbot.waitUntil(lambda: len(window.samples_view.timeline.steps()) >= 2, timeout=60_000)
    assert get_kind(window.state.project.kind).capabilities.translates
    assert window.samples_view.image.has_picture()
    assert window.samples_view.image._row_labels == list(get_kind(window.state.project.kind).preview_rows())
    assert window.samples_view.image._row_labels[1] == "A → B"
    assert window.translate_dock is not None and not window.translate_dock.isHidden()
    qtbot.waitUntil(lambda: window.loss_plot.point_count() > 0, timeout=10_000)
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        window.controller.stop()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)

    # --- drop an image of an odd size onto the translate panel -------------------------------------------
    panel = window.translate_panel
    assert panel.choose_button.isEnabled()  # a checkpoint exists now
    odd = tmp_path / "odd.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (31, 45, 3), dtype=np.uint8)).save(odd)
    with qtbot.waitSignal(panel.translated, timeout=30_000) as got:
        _drop_files(panel, [odd])
    r = got.args[0]
    assert r.direction == "a2b" and r.before.shape == r.after.shape == (31, 45, 3)
    assert panel.view.after_image is not None and panel.view.after_image.width() == 45
    assert "model at step" in panel.caption.text()
    with qtbot.waitSignal(panel.translated, timeout=30_000) as got:
        panel.set_direction("b2a")  # switching direction re-translates the same image
    assert got.args[0].direction == "b2a"
    saved = tmp_path / "result.png"
    panel.save_result_to(saved)
    assert Image.open(saved).size == (45, 31)

    # --- batch-translate a folder -------------------------------------------------------------------------
    out = tmp_path / "translated"
    with qtbot.waitSignal(panel.folder_done, timeout=60_000) as done:
        panel.translate_folder(a, out)
    result = done.args[0]
    assert len(result.written) == 10 and not result.failed
    assert (out / "more").is_dir() and len(list((out / "more").glob("*.png"))) == 2
    assert "Wrote 10 images" in panel.folder_status.text()
    qtbot.waitUntil(lambda: not panel.runner.busy, timeout=10_000)

    # --- reopen: timeline and translate panel come back ---------------------------------------------------
    root = window.state.project.root
    w2 = MainWindow(device="cpu")
    qtbot.addWidget(w2)
    w2.show()
    assert w2.open_project(root)
    qtbot.waitUntil(w2.is_rendered, timeout=10_000)
    assert w2.samples_view.timeline.steps() == [s for s, _ in Project.open(root).sample_steps()]
    assert not w2.translate_dock.isHidden() and w2.translate_panel.choose_button.isEnabled()
    w2.close()


def test_folder_translation_can_be_cancelled(qtbot, window, trained_cyclegan, tmp_path):
    assert window.open_project(trained_cyclegan)
    panel = window.translate_panel
    with qtbot.waitSignal(panel.runner.cancelled, timeout=30_000):
        panel.translate_folder(tmp_path / "red", tmp_path / "out")
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert panel.folder_status.text().startswith("Cancelled")
    qtbot.waitUntil(lambda: not panel.runner.busy, timeout=10_000)


def test_translate_needs_a_trained_model(qtbot, window, tmp_path, shapes_factory):
    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import DataConfig
    from studio.engine.models.sessions import create_session

    a = shapes_factory(tmp_path / "a", count=4)
    b = shapes_factory(tmp_path / "b", count=4)
    create_session(tmp_path / "fresh", "cyclegan", {"a": str(a), "b": str(b)}, DataConfig(size=32),
                   RunSettings(steps=5, device="cpu"), {"ngf": 8, "ndf": 8, "n_blocks": 1})
    assert window.open_project(tmp_path / "fresh")
    panel = window.translate_panel
    assert not panel.choose_button.isEnabled() and "Train for a while first" in panel.caption.text()
    assert panel.translate_file(a / "shape000.png") is None


def test_bad_dropped_file_is_a_message(qtbot, window, trained_cyclegan, tmp_path):
    window.open_project(trained_cyclegan)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    panel = window.translate_panel
    with qtbot.waitSignal(panel.controller.image_failed, timeout=30_000):
        _drop_files(panel, [bad])
    assert "bad.png" in panel.caption.text()


def test_translate_uses_the_live_weights_while_training(qtbot, window, tmp_path, shapes_factory):
    from studio.app.train_worker import WorkerState
    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import DataConfig
    from studio.engine.models.sessions import create_session
    from studio.ui.panels.translate_panel import TRAIN_FIRST

    a = shapes_factory(tmp_path / "day", count=4, colors=RED, seed=1)
    b = shapes_factory(tmp_path / "night", count=4, colors=BLUE, seed=2)
    create_session(tmp_path / "fresh", "cyclegan", {"a": str(a), "b": str(b)}, DataConfig(size=32),
                   RunSettings(steps=100_000, checkpoint_every=100_000, device="cpu"),
                   {"ngf": 8, "ndf": 8, "n_blocks": 1, "preview_count": 2}).close()
    assert window.open_project(tmp_path / "fresh")
    panel = window.translate_panel
    assert not panel.choose_button.isEnabled() and panel.caption.text() == TRAIN_FIRST
    assert "day pictures into night" in panel.a2b_button.toolTip()  # the folders' own names

    window.training.start()
    qtbot.waitUntil(lambda: window.controller.state == WorkerState.RUNNING and window.state.step >= 2,
                    timeout=60_000)
    saved = [p.name for p in (tmp_path / "fresh" / "checkpoints").glob("*.json")]
    assert saved in ([], ["step-0000000.json"])  # no trained model saved yet
    assert panel.choose_button.isEnabled() and panel.a2b_button.isEnabled()
    with qtbot.waitSignal(panel.translated, timeout=60_000) as got:
        panel.translate_file(a / "shape000.png")
    r = got.args[0]
    assert r.live and r.step >= 2 and "training now" in panel.caption.text()

    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        window.controller.stop()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert panel.choose_button.isEnabled()
    assert "Train for a while first" not in panel.caption.text()  # stale after the stop's save
    with qtbot.waitSignal(panel.translated, timeout=60_000) as got:
        panel.set_direction("b2a")
    assert not got.args[0].live and got.args[0].step == window.state.step


def test_one_way_model_offers_no_direction_choice(qtbot, window, trained_cyclegan, tmp_path):
    import shutil
    from pathlib import Path

    sketch = Path(__file__).resolve().parents[2] / "models" / "demo-sketch"
    if not sketch.is_dir():
        import pytest

        pytest.skip("models/demo-sketch missing")
    shutil.copytree(sketch, tmp_path / "sketch")
    assert window.open_project(tmp_path / "sketch")  # pix2pix: inputs -> targets only
    panel = window.translate_panel
    assert not panel.a2b_button.isVisibleTo(panel) and not panel.b2a_button.isVisibleTo(panel)
    panel.b2a_button.setChecked(True)  # even a stale choice translates the one way the model goes
    assert panel.direction() == "a2b"
    assert window.open_project(trained_cyclegan)  # a two-way model shows both again
    assert panel.a2b_button.isVisibleTo(panel) and panel.b2a_button.isVisibleTo(panel)
