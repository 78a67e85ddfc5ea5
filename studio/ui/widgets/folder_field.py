"""FolderField: a path box with a Browse… button (native dialog) that also accepts a dropped folder
(or, where a collection of images is asked for, a dropped video clip: its frames are the images)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget

from studio.engine.data.video import ANIMATION_EXTENSIONS, VIDEO_EXTENSIONS


def is_clip_name(path: str | Path) -> bool:
    """A file whose name says video clip (or animation): taken where a folder of images is asked for."""
    p = Path(path)
    return p.suffix.lower() in VIDEO_EXTENSIONS | ANIMATION_EXTENSIONS and p.is_file()


def dropped_folders(mime, videos: bool = False) -> list[str]:
    """Local folders in a drag's mime data, and with `videos` video clips too (other files are ignored)."""
    if not mime.hasUrls():
        return []
    out = []
    for url in mime.urls():
        path = url.toLocalFile() if url.isLocalFile() else ""
        if path and (Path(path).is_dir() or (videos and is_clip_name(path))):
            out.append(path)
    return out


class FolderField(QWidget):
    """Pick a folder by typing, browsing or dropping. GUI thread only."""

    changed = Signal(str)

    def __init__(self, placeholder: str = "", dialog_title: str = "Choose a folder", start_dir: str = "",
                 parent: QWidget | None = None, videos: bool = False):
        super().__init__(parent)
        self._title = dialog_title
        self._videos = videos  # a dropped video clip is taken too (a collection of its frames)
        self._start_dir = start_dir
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setClearButtonEnabled(True)
        self.edit.textChanged.connect(self.changed)
        self.button = QPushButton("Browse…")
        self.button.clicked.connect(self.browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.button)
        self.setAcceptDrops(True)

    def path(self) -> str:
        return self.edit.text().strip()

    def set_path(self, path: str) -> None:
        self.edit.setText(str(path))

    def browse(self) -> None:
        start = self.path() if self.path() and Path(self.path()).is_dir() else self._start_dir
        folder = QFileDialog.getExistingDirectory(self, self._title, start)
        if folder:
            self.set_path(folder)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if dropped_folders(event.mimeData(), self._videos):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        folders = dropped_folders(event.mimeData(), self._videos)
        if folders:
            self.set_path(folders[0])
            event.acceptProposedAction()
