"""File ▸ Import Model…: a StyleGAN2-ADA network pickle (.pkl) becomes a style-based project.

The user picks the file; the project goes into a new folder named after it beside their other
projects. The file is read on a task thread, behind a progress dialog that can cancel, as data only
(studio.engine.models.stylegan.safe_unpickle: its code is never run, a file naming anything else to
load is refused); then the project opens, ready for the explorer or for "New project from this
model". GUI thread only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

from studio.app.task_worker import TaskRunner

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

TITLE = "Import Model"


class ImportModelAction(QObject):
    """Asks for a network pickle and imports it as a project for `window`. GUI thread only."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self._window = window
        self.runner = TaskRunner("import-model", self)
        self.runner.finished.connect(self._on_imported)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.progress.connect(self._on_progress)
        self.dialog: QProgressDialog | None = None

    def choose_and_import(self) -> None:
        window = self._window
        if window.controller.busy:
            window.show_message("Training is running", "Stop training before importing a model.")
            return
        path, _ = QFileDialog.getOpenFileName(
            window, "Import a StyleGAN2-ADA network pickle", window.settings.last_folder("import-model"),
            "StyleGAN2-ADA network pickles (*.pkl);;All files (*)")
        if path:
            window.settings.set_last_folder("import-model", str(Path(path).parent))
            self.start(path)

    def start(self, path: str | Path, out: str | Path | None = None) -> None:
        """Import `path` into `out` (default: a new folder named after the file beside the user's projects)."""
        from studio.ui.new_project import default_project_root, unique_project_dir

        path = Path(path)
        out = Path(out) if out is not None else unique_project_dir(default_project_root(), path.stem)
        from studio.engine.models.stylegan.pkl_import import STAGES

        self._window.statusBar().showMessage(f"Importing {path.name} (read as data, never run)…")
        self.dialog = QProgressDialog(f"Importing {path.name}…", "Cancel", 0, len(STAGES), self._window)
        self.dialog.setWindowTitle(TITLE)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(400)  # a small file is done before the dialog would show
        self.dialog.setMinimumWidth(420)
        self._name = path.name
        self.dialog.canceled.connect(self.runner.cancel)

        def task(progress, should_cancel):
            from studio.engine.models.stylegan.pkl_import import describe, import_network_pickle

            project = import_network_pickle(path, out, progress=progress, should_cancel=should_cancel)
            return str(project.root), describe(project)

        self.runner.start(task)

    def _on_progress(self, done: int, total: int, text: str) -> None:
        if self.dialog is not None:
            self.dialog.setLabelText(f"{self._name}: {text}\nRead as data; its code is never run.")
            self.dialog.setValue(done)

    def _close_dialog(self) -> None:
        if self.dialog is not None:
            self.dialog.canceled.disconnect(self.runner.cancel)  # closing is not the user cancelling
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None

    def _on_imported(self, result) -> None:
        root, text = result
        window = self._window
        self._close_dialog()
        window.statusBar().clearMessage()
        if window.open_project(root):
            window.work_tabs.setCurrentIndex(window.explore_tab)
            window.statusBar().showMessage(text, 15000)

    def _on_cancelled(self) -> None:
        self._close_dialog()
        self._window.statusBar().showMessage("Import cancelled; nothing was written.", 8000)

    def _on_failed(self, message: str) -> None:
        self._close_dialog()
        self._window.statusBar().clearMessage()
        self._window.show_message("Cannot import the model", message, QMessageBox.Icon.Warning)

    def shutdown(self) -> None:
        """Cancel an import in progress (at its next stage) and wait for its thread."""
        self.runner.cancel_and_join()
