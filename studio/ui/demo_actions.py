"""The studio's demos, for someone with no images at hand.

Two ways in: Help ▸ Open Demo opens the user's copy of a bundled, already trained project; the
welcome page's demo buttons draw a procedural image collection (once, on a task thread) and start
the new-project wizard on it, so the user trains a model of their own. GUI thread only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from studio.app.task_worker import TaskRunner
from studio.engine.errors import UserError

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

DEMO_COUNTS = {"faces": 1000, "scenes": 400}  # images drawn for the demo collections (per domain for scenes)
DEMO_SIZE = 64  # side of the drawn images in pixels
DEMO_SEED = 0


class DemoActions(QObject):
    """Opens bundled demo projects and draws demo image collections for `window`. GUI thread only."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self._window = window
        self.runner = TaskRunner("demo-data", self)
        self.runner.finished.connect(self._on_images_ready)
        self.runner.failed.connect(lambda m: window.show_message("Demo images", m, QMessageBox.Icon.Warning))
        welcome = window.welcome
        self.runner.busy_changed.connect(lambda busy: (welcome.faces_button.setEnabled(not busy),
                                                       welcome.scenes_button.setEnabled(not busy)))

    def open_project(self, which: str) -> bool:
        """Open the user's copy of a bundled demo project (copied on first use; bundled files stay untouched)."""
        from studio.engine.project.demos import demo_project

        window = self._window
        try:
            root = demo_project(which)
        except (UserError, OSError) as e:
            window.show_message("Demo", str(e), QMessageBox.Icon.Warning)
            return False
        opened = window.open_project(root)
        if opened and which in ("faces", "style"):  # the generators of faces are there to be explored
            window.work_tabs.setCurrentIndex(window.explore_tab)
        elif opened and which == "sketch":  # and the sketch demo to be drawn on
            window.work_tabs.setCurrentIndex(window.sketch_tab)
        return opened

    def draw_images(self, which: str) -> None:
        """Draw a procedural demo collection (once) and open the new-project wizard on it."""
        from studio.ui.new_project import default_project_root

        folder = default_project_root() / "demo images" / which
        marker = folder.parent / f".{which}-complete"  # outside the image folder: not a stray file in its report
        if marker.exists() and folder.is_dir():
            self._on_images_ready((which, str(folder)))
            return
        self._window.statusBar().showMessage("Drawing demo images…")

        def task(progress, should_cancel):
            import shutil

            from studio.engine.data.demo_sets import write_faces, write_scenes

            if folder.exists():
                shutil.rmtree(folder)  # an interrupted earlier attempt
            (write_faces if which == "faces" else write_scenes)(folder, DEMO_COUNTS[which], DEMO_SIZE, DEMO_SEED)
            marker.write_text("")
            return which, str(folder)

        self.runner.start(task)

    def _on_images_ready(self, result) -> None:
        which, folder = result
        self._window.statusBar().clearMessage()
        folders = [folder] if which == "faces" else [str(Path(folder) / "A"), str(Path(folder) / "B")]
        self._window.new_project(folders)

    def shutdown(self) -> None:
        """Cancel and join a collection being drawn."""
        self.runner.cancel_and_join()
