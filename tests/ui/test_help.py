"""Help menu: the guide shipped with the package, and the keyboard shortcuts read from the actions."""

from __future__ import annotations

from studio.ui.help import WIDGET_KEYS, guide_path


def test_guide_is_the_readme_shipped_with_the_package():
    path = guide_path()
    assert path is not None and path.name == "README.md"
    assert "gan-studio train" in path.read_text(encoding="utf-8")


def test_help_menu_opens_the_guide_and_lists_the_shortcuts(window, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert window.guide_action in help_menu.actions() and window.shortcuts_action in help_menu.actions()

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    window.guide_action.trigger()
    assert len(opened) == 1 and opened[0].toLocalFile() == str(guide_path())

    dialog = window._show_shortcuts()
    keys = dict((what, key) for key, what in dialog.rows)
    assert keys["Start / Pause"] == "Space" and keys["Keyboard Shortcuts"] == "Ctrl+/"
    assert "Single Step" in keys and "Previous Snapshot" in keys
    assert all(row in dialog.rows for row in WIDGET_KEYS)
    assert "Space" in dialog.table.text()
    dialog.close()
