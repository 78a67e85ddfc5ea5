"""Entry point of the desktop studio: `run_studio(project, screenshot)` (called by `gan-studio`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from studio.app.settings import StudioSettings, configure_application
from studio.ui.style import apply_theme

SCREENSHOT_TIMEOUT_S = 20.0


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with the studio's names (for QSettings) and theme; reuses an existing one."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else [sys.argv[0]])
    configure_application()
    if app.platformName() == "offscreen":
        _quiet_offscreen_warnings()
    app.setApplicationDisplayName("GAN Studio")
    apply_theme(app)
    return app


def _quiet_offscreen_warnings() -> None:
    """The headless platform (screenshots, tests, benchmarks) warns about every dock it cannot
    resize natively; those lines are noise, everything else still reaches stderr."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(mode, context, message):
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(handler)


def run_studio(project: str | None = None, screenshot: str | None = None) -> int:
    """Open the studio window, with `project` (or the last project) loaded; returns the exit code.

    With `screenshot`, waits until the samples and loss curves are drawn, saves a PNG of the
    window to that file and returns 0 (2 if the project cannot be opened)."""
    from studio.engine.errors import UserError
    from studio.engine.project import Project
    from studio.ui.main_window import MainWindow

    if screenshot and project:
        try:
            Project.open(project)  # fail fast with one line, before any window exists
        except UserError as e:
            print(f"gan-studio: {e}", file=sys.stderr)
            return 2
    app = create_application()
    _install_excepthook()
    settings = StudioSettings()
    # screenshots: the default layout and size every time, whatever the user arranged
    window = MainWindow(settings, remember_layout=not screenshot)
    window.show()
    target = project or (None if screenshot else settings.last_project())
    opened = True
    if target:
        opened = window.open_project(target)
    elif _demo_available():
        # first launch (nothing named, nothing recent): something alive to play with at once
        window.open_demo("faces")
    if screenshot:
        if project and not opened:
            msg = window.last_message.text() if window.last_message is not None else f"cannot open {project}"
            print(f"gan-studio: {msg}", file=sys.stderr)
            window.close()
            return 2
        return _screenshot(app, window, Path(screenshot))
    return app.exec()


def _demo_available() -> bool:
    from studio.engine.demo_projects import demo_available

    return demo_available("faces")


def _install_excepthook() -> None:
    """An unexpected error in a slot becomes a message (and a traceback on stderr), never a silent
    half-broken window: PySide6 would only print it."""
    import traceback

    from PySide6.QtWidgets import QMessageBox

    def hook(exc_type, exc, tb):
        traceback.print_exception(exc_type, exc, tb)
        from studio.engine.errors import UserError

        text = str(exc) if isinstance(exc, UserError) else f"Something went wrong: {exc_type.__name__}: {exc}"
        parent = QApplication.activeWindow()
        box = QMessageBox(QMessageBox.Icon.Warning, "GAN Studio", text, QMessageBox.StandardButton.Ok, parent)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    sys.excepthook = hook


def _screenshot(app: QApplication, window, path: Path) -> int:
    deadline = time.monotonic() + SCREENSHOT_TIMEOUT_S
    result = {"code": 1}

    def poll():
        if not window.is_rendered() and time.monotonic() < deadline:
            QTimer.singleShot(50, poll)
            return
        # two more turns of the event loop: pending paints and pyqtgraph's deferred updates land
        QTimer.singleShot(150, grab)

    def grab():
        app.processEvents()
        pixmap = window.grab()
        path.parent.mkdir(parents=True, exist_ok=True)
        ok = pixmap.save(str(path), "PNG")
        if not ok:
            print(f"gan-studio: could not write {path}", file=sys.stderr)
        result["code"] = 0 if ok else 2
        window.close()
        app.quit()

    QTimer.singleShot(100, poll)
    app.exec()
    return result["code"]
