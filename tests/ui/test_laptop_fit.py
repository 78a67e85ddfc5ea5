"""The studio fits the commonest laptop screens (1280x720, 1366x768) in every tab and state.

The window's minimum must fit the screen (else the window manager cuts it off), and at that size
no panel may be squeezed below its own minimum (that would cut off its controls)."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QScrollArea

from studio.app.train_worker import WorkerState

LAPTOPS = ((1280, 720), (1366, 768))


def _assert_fits(window, what: str) -> None:
    QApplication.processEvents()
    for size in (window.minimumSizeHint(), window.minimumSize()):
        assert size.width() <= 1280 and size.height() <= 720, f"{what}: the window needs {size.toTuple()}"
    for w, h in LAPTOPS:
        window.resize(w, h)
        QApplication.processEvents()
        assert window.size().toTuple() == (w, h), f"{what}: {window.size().toTuple()} at {w}x{h}"
        for dock in (window.training_dock, window.losses_dock, window.project_dock, window.translate_dock):
            if not dock.isVisible() or dock.visibleRegion().isEmpty():
                continue  # hidden, or a tab behind another one
            area = dock.widget()
            panel, room = (area.widget(), area.viewport().size()) if isinstance(area, QScrollArea) \
                else (area, area.size())
            # A panel scrolls up and down, never sideways: its full width must be on screen.
            assert room.width() >= panel.minimumSizeHint().width(), \
                f"{what}: {dock.windowTitle()} is cut off at {w}x{h}"
            if not isinstance(area, QScrollArea):
                assert room.height() >= panel.minimumSizeHint().height(), \
                    f"{what}: {dock.windowTitle()} is squeezed at {w}x{h}"


def test_the_window_fits_a_laptop_in_every_tab_and_state(qtbot, window, trained_dcgan):
    _assert_fits(window, "welcome page")
    assert window.open_project(trained_dcgan)
    _assert_fits(window, "samples")
    window.work_tabs.setCurrentIndex(window.explore_tab)
    _assert_fits(window, "explore")
    for w, h in LAPTOPS:  # the gallery goes above the pad: the pad and its picture stay on screen
        window.resize(w, h)
        QApplication.processEvents()
        viewport, pad = window.explore_area.viewport(), window.explorer.tabs
        right = pad.mapTo(viewport, QPoint(pad.width(), 0)).x()
        assert right <= viewport.width(), f"the pad ends at {right} px of {viewport.width()} at {w}x{h}"
    window.work_tabs.setCurrentIndex(0)

    window.training_panel.steps_spin.setValue(100_000)
    window.training.start()
    qtbot.waitUntil(lambda: window.controller.state == WorkerState.RUNNING, timeout=30_000)
    _assert_fits(window, "training")
    window.controller.pause()
    qtbot.waitUntil(lambda: window.controller.state == WorkerState.PAUSED, timeout=30_000)
    _assert_fits(window, "paused")
    window.work_tabs.setCurrentIndex(window.explore_tab)
    _assert_fits(window, "exploring while paused")
    window.reset_layout()
    _assert_fits(window, "after Reset Layout")
    with qtbot.waitSignal(window.controller.finished, timeout=30_000):
        window.controller.stop()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10_000)


def test_the_translate_panel_fits_a_laptop(qtbot, window, tmp_path):
    import shutil

    from studio.engine.project.demos import bundled_models_dir

    # the bundled day/night demo: a long history with three quality figures per measurement
    demo = shutil.copytree(bundled_models_dir() / "demo-scenes", tmp_path / "scenes")
    assert window.open_project(demo)
    window.translate_dock.raise_()
    _assert_fits(window, "translate")
    window.translate_panel.set_direction("b2a")
    _assert_fits(window, "translate B to A")
    window.loss_plot.set_advanced(True)  # three loss plots: adversarial, cycle, identity
    _assert_fits(window, "CycleGAN losses")
