"""studio/engine must import and run with no Qt installed (DESIGN.md §2)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import studio

SCRIPT = textwrap.dedent(
    """
    import importlib, importlib.abc, pkgutil, sys

    class BlockQt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "superqt", "PyQt5", "PyQt6"):
                raise ImportError(f"Qt is blocked in this test: {name}")
            return None

    sys.meta_path.insert(0, BlockQt())
    import studio.engine
    names = [m.name for m in pkgutil.walk_packages(studio.engine.__path__, "studio.engine.")]
    for name in names:
        importlib.import_module(name)
    import studio.cli.main  # the CLI imports no Qt either until the studio opens

    import torch
    from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer
    t = DCGANTrainer(DCGANConfig(size=32, batch=4, ngf=4, ndf=4, z_dim=8, preview_count=4),
                     torch.zeros(8, 3, 32, 32, dtype=torch.uint8))
    t.step()
    assert t.samples().shape[2] == 3
    leaked = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "superqt")]
    assert not leaked, leaked
    print("ok", len(names))
    """
)


def test_engine_imports_and_trains_without_qt():
    root = Path(studio.__file__).parent.parent
    r = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith("ok")
    assert int(r.stdout.split()[1]) >= 10  # it really walked the engine's modules


def test_engine_source_never_mentions_qt():
    engine = Path(studio.__file__).parent / "engine"
    for path in engine.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for banned in ("PySide6", "pyqtgraph", "superqt", "QtCore"):
            assert f"import {banned}" not in text and f"from {banned}" not in text, f"{path} imports {banned}"
