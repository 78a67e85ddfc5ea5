"""scripts/check_qt_libs.py: `make run` names the missing Qt system libraries and the one install command."""

import importlib.util
import stat
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_qt_libs.py"
spec = importlib.util.spec_from_file_location("check_qt_libs", SCRIPT)
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)

# What ldd prints for PySide6 6.x's libqxcb.so on a fresh Debian 12 (shortened)
FRESH_DEBIAN = """\
\tlinux-vdso.so.1 (0x00007ffd4c5f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f9b8ab56000)
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007f9b8ab40000)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-image.so.0 => /lib/x86_64-linux-gnu/libxcb-image.so.0 (0x00007f9b8ab2b000)
\tlibxcb-cursor.so.0 => not found
\tlibweird-vendor.so.3 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f9b88e1e000)
"""


def test_ldd_output_gives_each_missing_library_once():
    assert check.missing_from_ldd(FRESH_DEBIAN) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libweird-vendor.so.3"]
    assert check.missing_from_ldd(FRESH_DEBIAN.replace("not found", "/lib/x.so (0x1)")) == []


def test_the_advice_is_one_install_command():
    text = check.install_advice(["libxcb-cursor.so.0", "libxcb-icccm.so.4"], has_apt=True)
    assert "    sudo apt-get install libxcb-cursor0 libxcb-icccm4\n" in text
    assert text.count("apt-get") == 1 and "libxcb-cursor.so.0" in text.splitlines()[0]
    assert "libweird" in check.install_advice(["libxcb-cursor.so.0", "libweird-vendor.so.3"], has_apt=True)
    assert "apt-get" not in check.install_advice(["libxcb-cursor.so.0"], has_apt=False)


@pytest.mark.parametrize("platform, qpa, checked", [
    ("linux", "", True), ("linux", "xcb", True), ("linux", "xcb:display=:1", True),
    ("linux", "offscreen", False), ("linux", "wayland", False), ("darwin", "", False), ("win32", "xcb", False),
])
def test_only_where_qt_will_load_the_x11_plugin(platform, qpa, checked):
    assert check.should_check(platform, {"QT_QPA_PLATFORM": qpa} if qpa else {}) is checked


def test_main_with_a_fake_ldd(tmp_path, monkeypatch, capsys):
    fake = tmp_path / "bin" / "ldd"
    fake.parent.mkdir()
    (tmp_path / "ldd-output.txt").write_text(FRESH_DEBIAN)
    fake.write_text(f"#!/bin/sh\ncat '{tmp_path / 'ldd-output.txt'}'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    monkeypatch.setattr(check, "xcb_plugin", lambda: tmp_path / "libqxcb.so")
    monkeypatch.setattr(check.sys, "platform", "linux")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    which = check.shutil.which
    monkeypatch.setattr(check.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else which(name))
    assert check.main() == 1
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in capsys.readouterr().err
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")  # Qt tries Wayland first: warn, do not block
    assert check.main() == 0 and "Wayland" in capsys.readouterr().err
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert check.main() == 0 and capsys.readouterr().err == ""
    (tmp_path / "ldd-output.txt").write_text(FRESH_DEBIAN.replace("not found", "/lib/x.so (0x1)"))
    monkeypatch.delenv("QT_QPA_PLATFORM")
    assert check.main() == 0 and capsys.readouterr().err == ""
