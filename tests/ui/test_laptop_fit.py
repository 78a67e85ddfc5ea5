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
    # The pad, its picture and its controls are all on screen without scrolling: the hidden tabs (the
    # taller arithmetic panel) ask for no room, and the pad's square shrinks to fit.
    for w, h in LAPTOPS:
        window.resize(w, h)
        QApplication.processEvents()
        need, room = window.explorer.minimumSizeHint().height(), window.explore_area.viewport().height()
        assert need <= room, f"the explorer needs {need} px of height, {room} px on screen at {w}x{h}"
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


def test_the_explorer_in_w_never_scrolls_sideways_on_a_laptop(qtbot, window, tmp_path):
    """A style project's Explore tab in z and W, blend and plane mode: at 1280x720 and 1366x768 the
    tab scrolls up and down only, even with a status message longer than the tab is wide."""
    from studio.cli.main import main
    from studio.engine.data.procedural import discs, write_folder

    data = write_folder(discs(12, 32, seed=0), tmp_path / "discs")
    project = tmp_path / "style"
    assert main(["train", "stylegan", "--data", str(data), "--out", str(project), "--size", "32", "--batch", "4",
                 "--steps", "2", "--sample-every", "2", "--checkpoint-every", "2", "--metric-every", "0"]) == 0
    assert window.open_project(project)
    window.work_tabs.setCurrentIndex(window.explore_tab)
    explorer, bar = window.explorer, window.explore_area.horizontalScrollBar()
    pad = explorer.pad
    qtbot.waitUntil(lambda: explorer.renderer.has_model, timeout=60_000)
    for space in ("z", "w"):
        explorer.set_space(space)
        qtbot.waitUntil(lambda s=space: pad.space is not None and pad.space.name == s, timeout=20_000)
        for mode in ("blend", "plane"):
            pad.mode_combo.setCurrentIndex(pad.mode_combo.findData(mode))
            if mode == "plane":  # its axes are principal directions, computed on the render thread
                qtbot.waitUntil(lambda: pad.model.axes[0] is not None and pad.model.axes[0].vector is not None,
                                timeout=30_000)
                qtbot.waitUntil(lambda: "Principal directions" in explorer.status_label.text(), timeout=10_000)
            for w, h in LAPTOPS:
                window.resize(w, h)
                QApplication.processEvents()
                assert bar.maximum() == 0, f"{space} {mode}: the tab scrolls {bar.maximum()} px sideways at {w}x{h}"
    # In W every tab fits without scrolling up and down too: the pad with its Mix row, the style mixing
    # panel (it needed 758 px at 1280x720, 609 on screen, before its three columns)
    assert pad.space.name == "w"
    for tab in (explorer.pad, explorer.mixing, explorer.arithmetic):
        explorer.tabs.setCurrentWidget(tab)
        for w, h in LAPTOPS:
            window.resize(w, h)
            QApplication.processEvents()
            need, room = explorer.minimumSizeHint().height(), window.explore_area.viewport().height()
            assert need <= room, f"{type(tab).__name__} in W needs {need} px of height, {room} on screen at {w}x{h}"
            assert bar.maximum() == 0, f"{type(tab).__name__} scrolls sideways at {w}x{h}"
    explorer.tabs.setCurrentWidget(explorer.pad)
    long = "This project's bookmarks cannot be opened: " + "/a/long/folder" * 20 + "/bookmarks.json is not valid."
    pad.message.emit(long)
    window.resize(1280, 720)
    QApplication.processEvents()
    assert bar.maximum() == 0, "a long status message widens the Explore tab"
    assert explorer.status_label.text() == long and explorer.status_label.toolTip() == long  # shortened, not lost


def test_a_long_project_name_never_widens_the_explorer(qtbot, window, tmp_path):
    """The Explore heading names the project and the info line beside it gives step, size, space and
    backend: with a long folder name they once asked for more than a 1280 px laptop's width."""
    from studio.cli.main import main
    from studio.engine.data.procedural import discs, write_folder

    data = write_folder(discs(12, 32, seed=0), tmp_path / "discs")
    name = "my moths and beetles collection from the summer of 2026 (second try, larger)"
    project = tmp_path / name
    assert main(["train", "dcgan", "--data", str(data), "--out", str(project), "--size", "32", "--batch", "4",
                 "--steps", "2", "--sample-every", "2", "--checkpoint-every", "2", "--metric-every", "0"]) == 0
    assert window.open_project(project)
    window.work_tabs.setCurrentIndex(window.explore_tab)
    explorer, bar = window.explorer, window.explore_area.horizontalScrollBar()
    qtbot.waitUntil(lambda: explorer.renderer.has_model, timeout=60_000)
    window.resize(1280, 720)
    QApplication.processEvents()
    assert bar.maximum() == 0, f"the tab scrolls {bar.maximum()} px sideways at 1280x720"
    assert "…" in explorer.title.text() and explorer.title.toolTip() == name  # shortened, not lost
