"""Entry point of the desktop studio: `run_studio(project, screenshot)` (called by `gan-studio`)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication

from studio.app.settings import StudioSettings, configure_application
from studio.ui.stop_signals import StopSignals
from studio.ui.style import apply_theme

SCREENSHOT_TIMEOUT_S = 20.0
# Set (to anything) by bench/startup.py: the studio prints when its window first paints.
STARTUP_REPORT_ENV = "GAN_STUDIO_REPORT_STARTUP"


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


def run_studio(project: str | None = None, screenshot: str | None = None,
               window_size: tuple[int, int] | None = None) -> int:
    """Open the studio window, with `project` (or the last project) loaded; returns the exit code.

    With `screenshot`, waits until the samples and loss curves are drawn, saves a PNG of the
    window to that file and returns 0 (2 if the project cannot be opened). `window_size` (width,
    height) opens the window at that size; a screenshot then has exactly that size."""
    from studio.engine.errors import UserError
    from studio.engine.project.folder import Project
    from studio.engine.project.lock import describe_process
    from studio.ui.main_window import MainWindow

    if screenshot and project:
        try:
            Project.open(project)  # fail fast with one line, before any window exists
        except UserError as e:
            print(f"gan-studio: {e}", file=sys.stderr)
            return 2
    app = create_application()
    _install_excepthook()
    describe_process("GAN Studio")  # named to a command line refused while the studio trains a project
    settings = StudioSettings()
    # screenshots: the default layout and size every time, whatever the user arranged
    window = MainWindow(settings, remember_layout=not screenshot)
    if window_size:
        _apply_window_size(window, window_size, exact=bool(screenshot))
    report = bool(os.environ.get(STARTUP_REPORT_ENV))
    target = project or (None if screenshot else settings.last_project())
    if screenshot:
        window.show()
        opened = _open_initial(window, target)
        if project and not opened:
            msg = window.last_message.text() if window.last_message is not None else f"cannot open {project}"
            print(f"gan-studio: {msg}", file=sys.stderr)
            window.close()
            return 2
        return _screenshot(app, window, Path(screenshot))
    # The window paints first; the project (torch, the model, the first pictures: a second or two)
    # opens right after, with a note in the status bar meanwhile (bench/startup.py).
    if target or _demo_available():
        window.statusBar().showMessage("Opening the project…" if target else "Opening the demo…")
    def open_initial():
        _open_initial(window, target)
        if report:
            _report_when_drawn(window)

    _after_first_paint(window, open_initial, report)  # before show(): it may paint at once
    stop = StopSignals(lambda signum: _close_for_signal(app, window), window).install()
    window.show()
    try:
        return app.exec()
    finally:
        stop.uninstall()


def _close_for_signal(app: QApplication, window) -> None:
    """The session ends (SIGTERM, SIGHUP, Ctrl-C): close the window as if by hand, which stops training
    after the current step and saves it, then leave the event loop (and any dialog's)."""
    window.confirm_close_while_training = lambda: True  # nobody is there to answer: save and quit
    window.close()
    app.quit()


def _apply_window_size(window, size: tuple[int, int], exact: bool) -> None:
    """Size the window. For a screenshot the size is fixed, so the picture shows the window as it
    looks at that size even where the layout would need more room (_warn_if_cut_off says so)."""
    if exact:
        window.setFixedSize(*size)
    else:
        window.resize(*size)


def _warn_if_cut_off(window) -> None:
    need = window.layout().minimumSize() if window.layout() is not None else window.minimumSizeHint()
    w, h = window.width(), window.height()
    if need.width() > w or need.height() > h:
        print(f"gan-studio: warning: the window needs at least {need.width()}x{need.height()} px for all it "
              f"shows; at {w}x{h} px some of it is cut off.", file=sys.stderr)


def _open_initial(window, target: str | None) -> bool:
    """The named or last project; on a first launch (nothing named, nothing recent) the faces demo,
    so there is something alive to play with at once. False when a named project failed to open."""
    if target:
        opened = window.open_project(target)
    else:
        opened = True
        if _demo_available():
            window.demos.open_project("faces")
    if window.statusBar().currentMessage().startswith("Opening the"):
        window.statusBar().clearMessage()
    return opened


class _FirstPaint(QObject):
    """Calls `then` once, just after the window's first paint (or after `fallback_ms` if no paint
    comes, e.g. on a minimised start); with `report`, prints when that paint happened."""

    def __init__(self, window, then, report: bool, fallback_ms: int = 1000):
        super().__init__(window)
        self.then, self.report, self.done = then, report, False
        QTimer.singleShot(fallback_ms, self._run)

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            obj.removeEventFilter(self)
            if self.report:
                # CLOCK_MONOTONIC is system-wide on Linux: the launching process subtracts its own reading
                print(f"gan-studio startup: window painted at monotonic {time.monotonic():.6f}", file=sys.stderr,
                      flush=True)
            QTimer.singleShot(0, self._run)  # after this paint has reached the screen
        return False

    def _run(self):
        if not self.done:
            self.done = True
            self.then()


def _after_first_paint(window, then, report: bool) -> None:
    window.installEventFilter(_FirstPaint(window, then, report))


def _report_when_drawn(window) -> None:
    def poll():  # when the project's pictures are on screen
        if window.is_rendered():
            print(f"gan-studio startup: project drawn at monotonic {time.monotonic():.6f}", file=sys.stderr,
                  flush=True)
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)


def _demo_available() -> bool:
    from studio.engine.project.demos import demo_available

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
        _warn_if_cut_off(window)
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
