"""Suite-wide settings: headless Qt, and small thread counts so parallel helpers do not thrash."""

import os
import signal
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One intra-op thread per test process (subprocesses inherit it): with more threads than free cores,
# OpenMP workers spin-wait on each other and a tiny training step gets 30x slower (measured here).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("GAN_STUDIO_CACHE", os.path.join(os.environ.get("TMPDIR", "/tmp"), "gan-studio-test-cache"))
# Trainers take their built-in fast path instead of timing candidates on the first run of a shape
# (studio/engine/train/fast_path.py): runs built directly and through a session then compute alike.
os.environ.setdefault("GAN_STUDIO_FAST_PATH", "default")


# ----- Qt fixtures for tests/app and tests/ui (Qt is imported lazily: tests/engine never loads it) -----
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

_TESTS = Path(__file__).parent
QT_TEST_DIRS = ("app", "ui")


def _is_qt_test(request) -> bool:
    try:
        rel = Path(str(request.node.path)).resolve().relative_to(_TESTS.resolve())
    except ValueError:
        return False
    return len(rel.parts) > 1 and rel.parts[0] in QT_TEST_DIRS


@pytest.fixture(autouse=True)
def _qt_isolation(request, tmp_path_factory):
    """app/ui tests: QSettings in a temporary folder (never the developer's real preferences), and
    FAIL any test that leaves a QThread running (DESIGN.md §5; napari's dangling-QThread fixture)."""
    if not _is_qt_test(request):
        yield
        return
    request.getfixturevalue("qtbot")  # the QApplication exists before QSettings is configured
    from PySide6.QtCore import QCoreApplication, QSettings, QThread

    from studio.app.settings import APPLICATION, ORGANIZATION

    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    settings_dir = tmp_path_factory.mktemp("qsettings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings_dir))

    started: dict = {}
    base_start = QThread.start

    def start_and_remember(self, *args, **kwargs):
        import traceback

        started[self] = "".join(traceback.format_stack(limit=6)[:-1])
        return base_start(self, *args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(QThread, "start", start_and_remember)
    try:
        yield
    finally:
        mp.undo()
        # The studio's training worker sets torch's (process-wide) thread count for its machine:
        # put the suite's back so later tests run as configured.
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    dangling = []
    for thread, where in started.items():
        try:
            running = thread.isRunning()
        except RuntimeError:  # the C++ object is already gone: it cannot be running
            continue
        if running:
            dangling.append((thread, where))
    for thread, _ in dangling:  # clean up so one leak does not cascade into later tests
        try:
            thread.quit()
            thread.wait(10_000)
        except RuntimeError:
            pass
    if dangling:
        names = ", ".join(t.objectName() or "QThread" for t, _ in dangling)
        details = "\n".join(where for _, where in dangling)
        pytest.fail(f"test left {len(dangling)} QThread(s) running: {names}\nstarted at:\n{details}", pytrace=False)


# ----- procedural image folders (no Qt) --------------------------------------------------------------
def make_shapes(folder, count: int = 24, size: int = 32, seed: int = 0, colors=None):
    """Write `count` PNGs of coloured discs and squares on light backgrounds into `folder`."""
    import numpy as np
    from PIL import Image, ImageDraw

    colors = colors or [(230, 57, 70), (42, 157, 143), (233, 196, 106), (38, 70, 83)]
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        bg = tuple(int(v) for v in rng.integers(200, 256, 3))
        im = Image.new("RGB", (size, size), bg)
        r = rng.uniform(0.2, 0.35) * size
        cx, cy = rng.uniform(r, size - r, 2)
        color = tuple(colors[int(rng.integers(len(colors)))])
        draw = ImageDraw.Draw(im)
        if i % 2:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
        else:
            draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=color)
        im.save(folder / f"shape{i:03d}.png")
    return folder


@pytest.fixture
def shapes_folder(tmp_path):
    """A folder of 24 coloured 32 px shapes."""
    return make_shapes(tmp_path / "shapes")


@pytest.fixture
def shapes_factory():
    """make_shapes(folder, count=24, size=32, seed=0, colors=None) for tests that need several folders."""
    return make_shapes


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    """FAIL any test that leaves a stop signal's handler changed: a leftover Ctrl-C handler once made a
    later test's first Ctrl-C do nothing (test_reliability_signals), a leak seen in one full run and not
    found since (a full run with this check, 2026-12-04: none)."""
    from studio.cli.signals import STOP_SIGNALS

    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    yield
    changed = {s: (old, signal.getsignal(s)) for s, old in before.items() if signal.getsignal(s) != old}
    for s, (old, _new) in changed.items():
        signal.signal(s, old)  # put it back so one leak does not cascade into later tests
    assert not changed, ("the test left signal handlers changed (before, after): "
                         f"{ {signal.Signals(s).name: v for s, v in changed.items()} }")
