"""What the screenshot scripts share: the event-loop waits and the explorer in a bare window.

A script imports it as `import screenshot_window` (Python puts scripts/ on the path when it runs a
script from there); importing it puts the repository root on the path too, so `studio` imports.
The scripts set QT_QPA_PLATFORM themselves, before the QApplication exists, since they differ
(explorer_screenshots.py wants a real X display, the others run offscreen).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def themed_app():
    """A plain QApplication with the studio's theme. Not create_application: that names the
    application, so QSettings would hand the windows the user's own saved settings and layout."""
    from PySide6.QtWidgets import QApplication

    from studio.ui import style

    app = QApplication(sys.argv[:1])
    style.apply_theme(app)
    return app


def _process_events() -> None:
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()


def pump(seconds: float = 1.0) -> None:
    """Run the event loop for `seconds`: lets pending renders and paints land before a grab."""
    end = time.time() + seconds
    while time.time() < end:
        _process_events()
        time.sleep(0.01)


def wait(cond, *, timeout: float = 120.0) -> bool:
    """Run the event loop until cond() holds or `timeout` passes; whether it holds."""
    end = time.time() + timeout
    while not cond() and time.time() < end:
        _process_events()
        time.sleep(0.01)
    return cond()


def open_explorer(title: str, width: int, height: int):
    """For a script called with PROJECT_DIR OUT_DIR: the themed app, OUT_DIR made, and ExplorerPanel
    on PROJECT_DIR alone in a shown main window of that size: (project, out, window, panel)."""
    from PySide6.QtWidgets import QMainWindow

    project, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    themed_app()
    from studio.ui.explorer import ExplorerPanel

    window = QMainWindow()
    window.setWindowTitle(title)
    panel = ExplorerPanel(project)
    window.setCentralWidget(panel)
    window.resize(width, height)
    window.show()
    return project, out, window, panel
