"""A folder picker for results: an existing folder, or the name of a new one typed into it.

Qt's directory dialog refuses a folder that does not exist yet ("Directory not found"), so a
user who wants the results in a new folder had to leave the dialog to make one. `OutputFolderDialog`
takes a typed new name whose parent exists (the task writing the results creates it); it uses Qt's
own dialog, not the system's, because only that one can be told to accept such a name. GUI thread only.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget


class OutputFolderDialog(QFileDialog):
    """Choose an existing folder or type a new folder's name."""

    def __init__(self, parent: QWidget | None, title: str, suggested: Path):
        super().__init__(parent, title, str(suggested.parent))
        self.setFileMode(QFileDialog.FileMode.Directory)
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        self.setOption(QFileDialog.Option.ShowDirsOnly, True)
        self.setLabelText(QFileDialog.DialogLabel.FileName, "Folder")
        self.setLabelText(QFileDialog.DialogLabel.Accept, "Choose")
        self.selectFile(suggested.name)
        self.problem: QMessageBox | None = None  # the last "does not exist" note shown

    def chosen(self) -> Path | None:
        files = self.selectedFiles()
        return Path(files[0]) if files else None

    def accept(self) -> None:
        path = self.chosen()
        if path is not None and not path.exists():
            if path.parent.is_dir():
                QDialog.accept(self)  # a new folder's name: the results' task makes it
                return
            # Qt's own answer is a blocking "Directory not found"; this one says what to do
            self.problem = QMessageBox(QMessageBox.Icon.Warning, self.windowTitle(),
                                       f"{path.parent} does not exist. Choose a folder that does, or type a new "
                                       "folder's name inside one.", QMessageBox.StandardButton.Ok, self)
            self.problem.open()
            return
        super().accept()


def choose_output_folder(parent: QWidget | None, title: str, suggested: Path) -> str | None:
    """The folder the user chose or named (it may not exist yet), or None when cancelled."""
    dialog = OutputFolderDialog(parent, title, suggested)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    path = dialog.chosen()
    return str(path) if path is not None else None
