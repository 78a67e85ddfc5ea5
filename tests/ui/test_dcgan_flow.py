"""The DCGAN path through the real window: new project -> report -> train -> pause/step/resume -> stop -> reopen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from studio.app.train_worker import WorkerState
from studio.engine.models import get_kind
from studio.engine.models.sessions import open_session
from studio.engine.project.folder import Project
from studio.ui.main_window import MainWindow


def _image_bytes(view) -> bytes:
    img = view.image
    return bytes(img.constBits()) if img is not None else b""


def test_new_dcgan_project_train_pause_step_resume_stop_reopen(qtbot, window, fill_wizard, shapes_folder, tmp_path):
    (shapes_folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a real png")
    (shapes_folder / "copy.png").write_bytes((shapes_folder / "shape000.png").read_bytes())
    tp = window.training_panel

    # --- new project: kind, folder, report, settings pre-filled from the data ---------------------------
    window.new_project()
    wizard = window.wizard
    report, settings = fill_wizard(wizard, {"data": shapes_folder}, tmp_path, "discs", steps=100_000, sample_every=3,
                                   batch=8)
    view = report.views["data"]
    assert view.thumbs.count() == 25  # 24 shapes + the copy; the broken file is not used
    titles = view.issue_titles()
    assert any(t.startswith("Skipped 1 file") for t in titles)
    assert any("identical" in t for t in titles)
    assert any(t.startswith("Aspect ratio") for t in titles)
    assert settings.size_combo.currentData() == 32  # the images are 32 px
    assert settings.flip_check.isChecked()  # a small set: augmentation on
    options = settings.option_widgets  # built from the DCGAN kind's options
    assert options["diffaugment"].isChecked() and options["diffaugment"].isVisibleTo(wizard)
    assert "memorise" in settings.option_reasons["diffaugment"].text()  # the suggestion's reason
    assert "identity" not in options  # a CycleGAN option
    options["preset"].setCurrentIndex(options["preset"].findData("stable"))
    request = wizard.request()
    assert request.overrides["diffaugment"] is True and request.overrides["preset"] == "stable"
    assert request.overrides["width"] == 8 and request.data_cfg.size == 32
    assert request.settings.steps == 100_000 and request.settings.sample_every == 3
    options["preset"].setCurrentIndex(0)  # the paper's recipe: quicker steps for this test
    wizard.accept()
    # while the images are prepared (no project yet) the work area shows, not the welcome page
    assert window.stack.currentWidget() is window.work_tabs and not window.training_dock.isHidden()
    assert "Preparing" in window.samples_view.image._placeholder

    # --- training starts: samples signal, grid and loss plot change --------------------------------------
    out = tmp_path / "discs"
    with qtbot.waitSignal(window.controller.samples, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: window.samples_view.image.has_picture(), timeout=10_000)
    assert window.state.project is not None and window.state.project.root == out
    model = window.state.project.meta["model"]
    assert model["diffaugment"] and model["loss"] == "ns" and model["ngf"] == 8 and model["batch"] == 8
    qtbot.waitUntil(lambda: len(window.samples_view.timeline.steps()) >= 3, timeout=30_000)
    first = _image_bytes(window.samples_view.image)
    qtbot.waitUntil(lambda: window.loss_plot.point_count("loss_D") >= 5, timeout=30_000)
    points = window.loss_plot.point_count("loss_D")
    qtbot.waitUntil(lambda: window.loss_plot.point_count("loss_D") > points, timeout=30_000)
    qtbot.waitUntil(lambda: _image_bytes(window.samples_view.image) != first, timeout=30_000)  # the grid changed
    assert not tp.settings_box.isEnabled()  # settings locked while running
    assert tp.device_label.text().startswith("CPU")
    assert "images/s" in tp.speed_label.text()

    # --- pause, single step, resume ----------------------------------------------------------------------
    qtbot.mouseClick(tp.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.state == WorkerState.PAUSED, timeout=10_000)
    assert tp.start_button.text() == "Resume"
    paused_at = window.state.step
    qtbot.wait(200)
    assert window.state.step == paused_at
    qtbot.mouseClick(tp.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.step == paused_at + 1, timeout=10_000)
    assert window.controller.state == WorkerState.PAUSED
    qtbot.mouseClick(tp.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.step >= paused_at + 4, timeout=30_000)
    assert window.controller.state == WorkerState.RUNNING

    # --- stop: a checkpoint at the last step, settings unlocked -------------------------------------------
    with qtbot.waitSignal(window.controller.finished, timeout=30_000) as blocker:
        qtbot.mouseClick(tp.stop_button, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
    assert result.stopped and Path(result.checkpoint_path).exists()
    assert tp.settings_box.isEnabled() and tp.start_button.text() == "Continue training"
    steps_on_disk = [s for s, _ in Project.open(out).sample_steps()]

    # --- reopen in a fresh window: history, timeline, latest grid -----------------------------------------
    w2 = MainWindow(device="cpu")
    qtbot.addWidget(w2)
    w2.show()
    assert str(out.resolve()) in w2.settings.recent_projects()  # remembered in QSettings
    assert w2.open_project(out)
    qtbot.waitUntil(w2.is_rendered, timeout=10_000)
    assert w2.samples_view.timeline.steps() == steps_on_disk
    assert w2.loss_plot.point_count("loss_D") > 0
    assert w2.training_panel.progress_bar.value() == result.step
    w2.samples_view.timeline.select_step(0)
    assert w2.samples_view.image.caption.startswith("Step 0")
    assert not w2.samples_view.timeline.live
    w2.close()


def test_closing_mid_training_asks_and_leaves_a_loadable_checkpoint(qtbot, window, trained_dcgan):
    asked = []
    window.confirm_close_while_training = lambda: asked.append(True) or True
    assert window.open_project(trained_dcgan)
    window.training_panel.steps_spin.setValue(100_000)
    qtbot.mouseClick(window.training_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.step >= 9, timeout=30_000)  # 6 before, a few more now
    window.close()
    assert asked == [True]
    assert not window.controller.busy  # the thread was joined before the window went away
    session = open_session(trained_dcgan, device="cpu")
    assert session.trainer.global_step >= 9
    assert Project.open(trained_dcgan).step == session.trainer.global_step


def test_declining_to_close_keeps_training(qtbot, window, trained_dcgan):
    window.confirm_close_while_training = lambda: False
    window.open_project(trained_dcgan)
    window.training_panel.steps_spin.setValue(100_000)
    window.training.start()
    qtbot.waitUntil(lambda: window.controller.state == WorkerState.RUNNING, timeout=30_000)
    assert not window.close()
    assert window.controller.busy
    window.controller.shutdown()


def _drop(widget, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return drop


def test_dropping_a_folder_starts_a_new_project(qtbot, window, shapes_folder):
    _drop(window, [shapes_folder])
    wizard = window.wizard
    assert wizard.isVisible()
    assert get_kind(wizard.source_page.kind()).title == "DCGAN"  # the first kind with one folder
    assert wizard.source_page.fields["data"].path() == str(shapes_folder)
    assert wizard.source_page.name_edit.text().startswith("shapes")
    wizard.reject()


def test_dropping_two_folders_means_translation(qtbot, window, shapes_folder, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    _drop(window, [shapes_folder, other])
    src = window.wizard.source_page
    assert get_kind(src.kind()).title == "CycleGAN"
    assert src.fields["a"].path() == str(shapes_folder) and src.fields["b"].path() == str(other)
    window.wizard.reject()


def test_dropping_a_project_folder_opens_it(qtbot, window, trained_dcgan):
    _drop(window, [trained_dcgan])
    assert window.state.project is not None and window.state.project.root == trained_dcgan


def test_window_layout_is_remembered(qtbot, trained_dcgan):
    w = MainWindow(device="cpu")
    qtbot.addWidget(w)
    w.show()
    assert w.training_dock.isHidden()  # the welcome page stands alone
    w.open_project(trained_dcgan)
    assert not w.training_dock.isHidden() and not w.losses_dock.isHidden()
    w.losses_dock.hide()
    w.loss_plot.set_smoothing(0.5)
    w.close()
    w2 = MainWindow(device="cpu")
    qtbot.addWidget(w2)
    w2.show()
    assert w2.settings.window_geometry() is not None
    assert w2.loss_plot.smoothing == 0.5  # preferences too
    w2.open_project(trained_dcgan)  # the last project is remembered too
    assert not w2.training_dock.isHidden() and w2.losses_dock.isHidden()
    w2.reset_layout()
    assert not w2.losses_dock.isHidden()
    w2.close()


def test_open_errors_are_messages_not_crashes(qtbot, window, tmp_path):
    assert not window.open_project(tmp_path / "missing")
    assert window.last_message is not None and "does not exist" in window.last_message.text()
    assert window.state.project is None


def test_demo_button_draws_images_and_opens_the_wizard(qtbot, window, tmp_path, monkeypatch):
    import studio.ui.demo_actions as demo_mod
    import studio.ui.new_project as np_mod

    monkeypatch.setattr(np_mod, "default_project_root", lambda: tmp_path / "projects")
    monkeypatch.setitem(demo_mod.DEMO_COUNTS, "scenes", 12)
    qtbot.mouseClick(window.welcome.scenes_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(window, "wizard", None) is not None, timeout=60_000)
    src = window.wizard.source_page
    assert get_kind(src.kind()).title == "CycleGAN"
    assert len(list(Path(src.fields["a"].path()).glob("*.png"))) == 12
    assert Path(src.fields["b"].path()).name == "B"
    window.wizard.reject()
    qtbot.waitUntil(lambda: not window.demos.runner.busy, timeout=5000)


def test_continuing_after_the_images_moved_asks_where_they_are_now(qtbot, window, trained_dcgan, shapes_folder,
                                                                   tmp_path):
    elsewhere = shapes_folder.rename(tmp_path / "moved shapes")
    assert window.open_project(trained_dcgan)
    asked = []
    window.ask_new_image_folder = lambda label, old: asked.append((label, old)) or None  # the user cancels
    window.training.start()
    assert asked == [("training images", str(shapes_folder))] and not window.controller.busy

    window.ask_new_image_folder = lambda label, old: str(elsewhere)
    window.training_panel.steps_spin.setValue(8)
    window.training.start()
    qtbot.waitUntil(lambda: not window.controller.busy and window.state.step == 8, timeout=30_000)
    assert Project.open(trained_dcgan).meta["data"]["folders"]["data"] == str(elsewhere)
    assert window.state.project.meta["data"]["folders"]["data"] == str(elsewhere)  # later saves keep it


def test_continuing_the_bundled_demo_explains_instead_of_failing(qtbot, window, tmp_path, monkeypatch):
    import shutil

    from studio.engine.project.demos import bundled_models_dir

    demo = shutil.copytree(bundled_models_dir() / "demo-faces", tmp_path / "demo")
    window.ask_new_image_folder = lambda label, old: pytest.fail("a demo's images cannot be located")
    assert window.open_project(demo)
    window.training.start()
    assert not window.controller.busy
    assert "pictures that GAN Studio draws" in window.last_message.text()


def test_single_step_shows_the_samples_of_that_step(qtbot, window, trained_dcgan):
    assert window.open_project(trained_dcgan)  # 6 steps, a snapshot every 2
    window.training_panel.steps_spin.setValue(100)
    before = _image_bytes(window.samples_view.image)
    with qtbot.waitSignal(window.controller.preview, timeout=30_000) as got:
        window.training.step()  # starts the run paused and trains one step
    assert got.args[0] == 7
    qtbot.waitUntil(lambda: window.state.step == 7, timeout=10_000)
    view = window.samples_view.image
    assert view.caption.startswith("Step 7") and "single step" in view.caption
    assert _image_bytes(view) != before
    assert 7 not in window.samples_view.timeline.steps()  # shown, not a saved snapshot
    with qtbot.waitSignal(window.controller.finished, timeout=30_000):
        window.controller.stop()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)
