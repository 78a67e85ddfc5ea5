"""Before the studio's window opens (`gan-studio`, the desktop entry, `make run`): can Qt open one here?

PySide6 brings Qt itself, but Qt's X11 plugin (libqxcb.so) links against system libraries that a
fresh Debian or Ubuntu lacks, libxcb-cursor0 first of all. Without them Qt aborts the process with
"Could not load the Qt platform plugin "xcb"" and a page of advice; without a display at all (an
SSH session on a GPU machine) it aborts with "could not connect to display". `window_problem` says
either in a sentence instead: no display, or which of the plugin's libraries `ldd` reports missing
and the one command that installs them. None when everything is present, off Linux, when
QT_QPA_PLATFORM names another platform (offscreen, wayland, ...), or when the check itself cannot
run (no ldd, no PySide6): the studio then starts and Qt speaks for itself. Nothing here imports Qt.

`gan-studio` runs it before opening the window; `python -m studio.cli.qt_libs` runs it alone (exit 1: no window).
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
        return "\n".join(lines + ["Then start GAN Studio again."])
    return "\n".join([head, "Install the packages that provide them with your system's package manager "
                      "(on Fedora, for example: sudo dnf install xcb-util-cursor), then start GAN Studio again."])


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


NO_DISPLAY = ("GAN Studio cannot open its window here: this session has no display (neither DISPLAY nor "
              "WAYLAND_DISPLAY is set), as over SSH. The command-line tools work without one: 'gan-studio --help'. "
              "For a screenshot without a display, set QT_QPA_PLATFORM=offscreen.")


def window_problem(platform: str, env: dict[str, str]) -> tuple[str, bool] | None:
    """Why Qt's window would fail to open here, as (the message, whether to stop); None when it
    should open. On a Wayland session with libraries missing the message is a warning only: Qt
    tries its Wayland plugin first and may not need them."""
    if not should_check(platform, env):
        return None
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return NO_DISPLAY, True
    plugin = xcb_plugin()
    missing = missing_libraries(plugin) if plugin is not None else None
    if not missing:
        return None
    advice = install_advice(missing, shutil.which("apt-get") is not None)
    if env.get("WAYLAND_DISPLAY") and not env.get("QT_QPA_PLATFORM"):
        return advice + "\n(This is a Wayland session, so the studio may open anyway; starting it.)", False
    return advice, True


def report_window_problem() -> int:
    """Print this machine's problem, if any, to stderr; 1 when the window cannot open, else 0."""
    problem = window_problem(sys.platform, dict(os.environ))
    if problem is None:
        return 0
    message, stop = problem
    print(message, file=sys.stderr)
    return 1 if stop else 0


if __name__ == "__main__":
    sys.exit(report_window_problem())
