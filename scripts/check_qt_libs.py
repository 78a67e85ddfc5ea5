"""Before the studio opens (`make run`): does Qt find the system libraries its Linux desktop plugin needs?

PySide6 brings Qt itself, but Qt's X11 plugin (libqxcb.so) links against system libraries that a
fresh Debian or Ubuntu lacks, libxcb-cursor0 first of all. Without them Qt aborts with "Could not
load the Qt platform plugin "xcb"" and a page of advice. This script asks `ldd` which of the
plugin's libraries are not found and prints the one command that installs them; exit 1 then, so
`make run` stops there. Exit 0 when everything is present, off Linux, when QT_QPA_PLATFORM names
another platform (offscreen, wayland, ...), or when the check itself cannot run (no ldd, no
PySide6): the studio then starts and Qt speaks for itself.

Usage: python scripts/check_qt_libs.py
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

# Shared library -> the Debian / Ubuntu package that holds it (the libraries libqxcb.so links).
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libz.so.1": "zlib1g",
}


def missing_from_ldd(output: str) -> list[str]:
    """The libraries `ldd` reports as "not found", each once, in the order it names them."""
    missing: list[str] = []
    for line in output.splitlines():
        name, arrow, where = line.strip().partition("=>")
        if arrow and where.strip() == "not found" and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def install_advice(missing: list[str], has_apt: bool) -> str:
    """What to tell the user: the one apt-get line where the packages are known, the library names otherwise."""
    names = ", ".join(missing)
    head = f"GAN Studio cannot open its window yet: Qt needs system libraries this computer lacks ({names})."
    packages = sorted({DEBIAN_PACKAGES[m] for m in missing if m in DEBIAN_PACKAGES})
    unknown = [m for m in missing if m not in DEBIAN_PACKAGES]
    if has_apt and packages:
        lines = [head, "Install them with:", f"    sudo apt-get install {' '.join(packages)}"]
        if unknown:
            lines.append(f"and the packages that provide {', '.join(unknown)}.")
        return "\n".join(lines + ["Then run 'make run' again."])
    return "\n".join([head, "Install the packages that provide them with your system's package manager "
                      "(on Fedora, for example: sudo dnf install xcb-util-cursor), then run 'make run' again."])


def xcb_plugin() -> Path | None:
    """PySide6's X11 platform plugin, found without importing Qt."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        plugin = Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def missing_libraries(plugin: Path) -> list[str] | None:
    """Libraries the plugin needs and the system lacks; None when ldd cannot tell."""
    ldd = shutil.which("ldd")
    if ldd is None:
        # Without ldd, at least the library a fresh Debian/Ubuntu lacks
        return None if ctypes.util.find_library("xcb-cursor") else ["libxcb-cursor.so.0"]
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return missing_from_ldd(out.stdout)


def should_check(platform: str, env: dict[str, str]) -> bool:
    """Only where Qt will load the X11 plugin: Linux, and no other platform asked for."""
    asked = env.get("QT_QPA_PLATFORM", "").strip().lower()
    return platform.startswith("linux") and (asked in ("", "xcb") or asked.startswith("xcb:"))


def main() -> int:
    if not should_check(sys.platform, dict(os.environ)):
        return 0
    plugin = xcb_plugin()
    missing = missing_libraries(plugin) if plugin is not None else None
    if not missing:
        return 0
    print(install_advice(missing, shutil.which("apt-get") is not None), file=sys.stderr)
    if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"):
        # A Wayland session: Qt opens its Wayland plugin first and may not need these at all.
        print("(This is a Wayland session, so the studio may open anyway; starting it.)", file=sys.stderr)
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
