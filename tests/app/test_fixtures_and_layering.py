"""The suite's own guards: the dangling-QThread fixture really fails a test, and studio/app stays QtCore-only."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import studio

ROOT = Path(studio.__file__).parent.parent

LEAKY_TEST = textwrap.dedent(
    """
    from PySide6.QtCore import QThread

    def test_leaks_a_thread(qtbot):
        t = QThread()
        t.setObjectName("leaky")
        t.start()
        test_leaks_a_thread.keep = t  # still running when the test ends

    def test_joins_its_thread(qtbot):
        t = QThread()
        t.start()
        t.quit()
        assert t.wait(5000)
    """
)


def test_dangling_qthread_fixture_fails_the_leaking_test(tmp_path):
    tests = tmp_path / "tests"
    (tests / "app").mkdir(parents=True)
    (tests / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tests / "app" / "test_leak.py").write_text(LEAKY_TEST)
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tests)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "test left 1 QThread(s) running: leaky" in out, out
    # the leaking test errors in teardown; the one that joins its thread is clean
    assert "ERROR" in out and "test_leak.py::test_leaks_a_thread" in out, out
    assert "test_joins_its_thread" not in out.split("short test summary info")[-1], out
    assert "1 error" in out, out


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_app_layer_uses_qtcore_only():
    for path in (ROOT / "studio" / "app").rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith(("PySide6.QtWidgets", "PySide6.QtGui", "pyqtgraph", "superqt", "studio.ui")), \
                f"{path.name} imports {name}: studio/app may use QtCore only"


def test_each_worker_signal_is_declared_once():
    """One signals object per worker, owned by its controller: the workers are plain objects that emit
    through it and the controllers declare no signals of their own, so nothing is re-declared and relayed."""
    from PySide6.QtCore import QObject, Signal

    from studio.app import render_worker, task_worker, train_worker, translate_worker
    from studio.app.worker_thread import SignalsOwner

    triples = [
        (task_worker.TaskRunner, task_worker.TaskWorker, task_worker.TaskSignals),
        (train_worker.TrainController, train_worker.TrainWorker, train_worker.TrainSignals),
        (render_worker.RenderController, render_worker.RenderWorker, render_worker.RenderSignals),
        (translate_worker.TranslateController, translate_worker.TranslateWorker, translate_worker.TranslateSignals),
    ]
    for controller, worker, signals in triples:
        assert issubclass(controller, SignalsOwner) and issubclass(signals, QObject)
        assert not issubclass(worker, QObject), f"{worker.__name__} should be a plain object"
        for cls in (controller, worker):
            own = [name for name, value in vars(cls).items() if isinstance(value, Signal)]
            assert not own, f"{cls.__name__} declares {own}: declare them once, in {signals.__name__}"
        assert any(isinstance(value, Signal) for value in vars(signals).values())
