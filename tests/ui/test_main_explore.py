"""The explorer lives in the main window as the "Explore" tab of a DCGAN project."""

from __future__ import annotations

from studio.engine.project.folder import Project


def test_explore_tab_follows_the_project_kind(qtbot, window, trained_dcgan, trained_cyclegan):
    assert window.open_project(trained_dcgan)
    tabs = window.work_tabs
    assert tabs.isTabEnabled(window.explore_tab)
    tabs.setCurrentIndex(window.explore_tab)
    pad = window.explorer.pad
    # the generator of the project's latest checkpoint renders on the pad
    qtbot.waitUntil(lambda: pad.preview.has_picture(), timeout=30_000)
    assert window.explorer.project_dir == Project.open(trained_dcgan).root

    assert window.open_project(trained_cyclegan)
    assert not tabs.isTabEnabled(window.explore_tab)
    assert tabs.currentWidget() is window.samples_view
    assert window.explorer.project_dir is None
