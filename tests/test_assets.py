"""The files in assets/: found through studio.assets, in step with the script that draws the icon,
and a desktop entry a Linux desktop accepts."""

from __future__ import annotations

import configparser
import importlib.util

import pytest
from PIL import Image

from studio.assets import ASSETS_DIR, ICON_SIZES, asset_path, read_text


def test_every_shipped_asset_is_found_through_the_helper():
    names = ["icon.svg", "style.qss", "gan-studio.desktop", *(f"icon-{s}.png" for s in ICON_SIZES)]
    for name in names:
        assert asset_path(name).is_file()
    # nothing in assets/ that the studio does not know about
    assert sorted(p.name for p in ASSETS_DIR.iterdir()) == sorted(names)


def test_a_missing_asset_is_a_sentence_naming_it():
    with pytest.raises(FileNotFoundError, match=r"'nope\.qss' is missing from .*\.$"):
        read_text("nope.qss")


def test_the_icon_renderings_have_their_sizes():
    for size in ICON_SIZES:
        with Image.open(asset_path(f"icon-{size}.png")) as im:
            assert im.size == (size, size) and im.mode == "RGBA"
            assert im.getpixel((0, 0))[3] == 0  # transparent corner: the tile is rounded


def test_the_svg_is_what_the_script_draws():
    spec = importlib.util.spec_from_file_location("make_icon", ASSETS_DIR.parent / "scripts" / "make_icon.py")
    make_icon = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_icon)
    assert read_text("icon.svg") == make_icon.icon_svg()


def test_the_desktop_entry_launches_gan_studio_with_its_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive in desktop entries
    entry.read_string(read_text("gan-studio.desktop"))
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Name"] == "GAN Studio"
    assert d["Exec"] == "gan-studio"  # `make desktop` points it at this checkout's .venv
    assert d["Icon"] == "gan-studio"  # the name `make desktop` installs the icons under
    assert d["Categories"].endswith(";") and "Graphics" in d["Categories"].split(";")
