"""The files the studio ships beside its code: the icon, the stylesheet, the desktop entry.

They live in the top-level `assets/` folder next to the `studio` package and are found relative to
it, so a checkout, an editable install (`pip install -e .`, what `make` does) and the tests all
read the same files. Everything that loads one goes through `asset_path` or `read_text`.
"""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
ICON_SIZES = (256, 64, 32)  # the PNG renderings of icon.svg (scripts/make_icon.py draws them)


def asset_path(name: str) -> Path:
    """The path of the asset `name` (e.g. "style.qss"); FileNotFoundError with a sentence if absent."""
    path = ASSETS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"GAN Studio's file {name!r} is missing from {ASSETS_DIR}. "
                                "Reinstall the studio from its folder (make setup).")
    return path


def read_text(name: str) -> str:
    """The text of the asset `name` (UTF-8)."""
    return asset_path(name).read_text(encoding="utf-8")
