"""The import contracts in pyproject.toml hold for the real tree, and each one can fail.

`make test` runs `lint-imports` before pytest; these tests prove that the contracts are not
vacuous: a copy of `studio/` with one forbidden import added (some inside a function, since a lazy
import is still a dependency) breaks exactly the contract meant to catch it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "pyproject.toml"
CONTRACTS = {c["id"]: c["name"] for c in tomllib.loads(CONFIG.read_text())["tool"]["importlinter"]["contracts"]}
RUN = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    """lint-imports with the project's contracts over the `studio` package found in `tree`."""
    # PYTHONPATH comes before the editable install's finder, so `studio` is the copy's
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, "-c", RUN, "--no-cache", "--no-logo", str(CONFIG)], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=120)


def verdicts(output: str) -> dict[str, str]:
    """contract id -> "KEPT" / "BROKEN", from lint-imports' summary lines."""
    found = {}
    for line in output.splitlines():
        for cid, name in CONTRACTS.items():
            if line.startswith(name + " ") and line.split()[len(name.split())] in ("KEPT", "BROKEN"):
                found[cid] = line.split()[len(name.split())]
    return found


def copy_tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "studio", tmp_path / "studio", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_real_tree_keeps_every_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == dict.fromkeys(CONTRACTS, "KEPT")


def lazy(statement: str) -> str:
    """Source for a function that imports inside its body: no cost at import time, still a dependency."""
    return f"\n\ndef _leak():\n    {statement}\n"


@pytest.mark.parametrize(
    "module, code, broken",
    [
        ("engine/errors.py", lazy("from studio.ui import style"), ("engine-without-qt", "top-layers")),
        ("engine/images.py", lazy("import PySide6.QtGui"), ("engine-without-qt",)),
        ("app/state.py", lazy("from studio.ui import style"), ("top-layers",)),
        ("cli/export.py", lazy("from studio.ui import style"), ("top-layers",)),  # only cli/main.py opens the studio
        ("engine/data/cache.py", lazy("from studio.engine.models import get_kind"), ("engine-layers",)),
        ("engine/project/checkpoints.py", lazy("from studio.engine.data import dataset"),
         ("engine-layers",)),  # data | project are independent siblings
        ("engine/helpers.py", '"""A new foundation module nobody placed in a layer."""\n', ("engine-layers",)),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, code, broken):
    tree = copy_tree(tmp_path)
    path = tree / "studio" / module
    path.write_text((path.read_text() if path.exists() else "") + code)
    result = lint_imports(tree)
    assert result.returncode != 0, result.stdout
    expected = dict.fromkeys(CONTRACTS, "KEPT") | dict.fromkeys(broken, "BROKEN")
    assert verdicts(result.stdout) == expected, result.stdout + result.stderr
