"""The Help menu's guide and keyboard shortcuts.

`guide_path()` finds the README that documents the studio: beside the package in a source checkout
or an editable install, otherwise the copy every installed package carries in its metadata
(pyproject's `readme`), written once into the user's data folder so a browser or editor can open
it. `ShortcutsDialog` lists the window's actions that have a key, read from the actions themselves
so the list never goes stale, plus the keys the explorer's pad takes. GUI thread only.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

# Keys handled inside widgets rather than by window actions (studio/ui/explorer/pad_surface.py).
WIDGET_KEYS = (
    ("Arrow keys", "Move the point on the latent pad (Shift: larger steps)"),
    ("Home", "Put the pad's point back in the centre"),
    ("Double-click a slider", "Set “Amount of” back to none"),
)


def guide_path() -> Path | None:
    """The README to open from Help, or None when neither the file nor the package metadata has it."""
    beside = Path(__file__).resolve().parents[2] / "README.md"
    if beside.is_file():
        return beside
    try:
        from importlib.metadata import PackageNotFoundError, metadata

        text = metadata("gan-studio").get_payload()
    except (PackageNotFoundError, OSError):
        return None
    if not text:
        return None
    from studio.engine.project.demos import user_data_dir

    copy = user_data_dir() / "README.md"
    try:
        copy.parent.mkdir(parents=True, exist_ok=True)
        if not copy.is_file() or copy.read_text(encoding="utf-8") != text:
            copy.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return copy


def shortcut_rows(actions) -> list[tuple[str, str]]:
    """(keys, what they do) for every action with a shortcut, in the order given, then WIDGET_KEYS."""
    rows = []
    for a in actions:
        keys = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if keys:
            rows.append((keys, a.text().replace("&", "").rstrip("…")))
    return rows + list(WIDGET_KEYS)


class ShortcutsDialog(QDialog):
    """A table of the keyboard shortcuts. Non-modal; GUI thread only."""

    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = rows
        body = "".join(f"<tr><td style='padding-right:18px'><b>{keys}</b></td><td>{what}</td></tr>"
                       for keys, what in rows)
        self.table = QLabel(f"<table>{body}</table>")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
