"""Checkpoint file names and listings: plain paths, no torch.

Split from checkpoints.py so that the project folder (and so the studio's first paint) can list
and name checkpoints without loading torch and safetensors.
"""

from __future__ import annotations

import re
from pathlib import Path

_NAME = re.compile(r"^step-(\d{7,})\.json$")
_STEP_FILE = re.compile(r"^step-(\d{7,})\.(?:json|safetensors)$")


def checkpoint_name(step: int) -> str:
    return f"step-{step:07d}"


def list_checkpoints(folder: Path | str) -> list[tuple[int, Path]]:
    """Committed checkpoints (their JSON exists) as (step, json path), oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = _NAME.match(p.name)
        if m and p.with_suffix(".safetensors").exists():
            found.append((int(m.group(1)), p))
    return sorted(found)


def step_files(folder: Path) -> list[tuple[int, Path]]:
    """Every step-N.json / step-N.safetensors in `folder`, committed or not, as (N, path)."""
    if not folder.is_dir():
        return []
    out = []
    for p in folder.iterdir():
        m = _STEP_FILE.match(p.name)
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out)
