"""studio/cli/qt_libs.py: before Qt loads, `gan-studio` (and so `make run`) says in a sentence why its
window cannot open here (no display, or the missing Qt system libraries and the one install command)
instead of Qt's abort."""

import stat

import pytest

from studio.cli import main as cli
from studio.cli import qt_libs as check

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


@pytest.fixture
def fresh_debian(tmp_path, monkeypatch):
    """A Linux X11 session whose `ldd` reports FRESH_DEBIAN's missing libraries, with apt-get."""
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
    monkeypatch.setenv("DISPLAY", ":0")
    which = check.shutil.which
    monkeypatch.setattr(check.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else which(name))
    return tmp_path / "ldd-output.txt"


def test_main_with_a_fake_ldd(fresh_debian, monkeypatch, capsys):
    assert check.report_window_problem() == 1
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in capsys.readouterr().err
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")  # Qt tries Wayland first: warn, do not block
    assert check.report_window_problem() == 0 and "Wayland" in capsys.readouterr().err
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert check.report_window_problem() == 0 and capsys.readouterr().err == ""
    fresh_debian.write_text(FRESH_DEBIAN.replace("not found", "/lib/x.so (0x1)"))
    monkeypatch.delenv("QT_QPA_PLATFORM")
    assert check.report_window_problem() == 0 and capsys.readouterr().err == ""


def test_no_display_is_said_before_the_libraries(fresh_debian, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY")
    assert check.report_window_problem() == 1
    err = capsys.readouterr().err
    assert "no display" in err and "gan-studio --help" in err and "apt-get" not in err
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # screenshots without a display: nothing to say
    assert check.report_window_problem() == 0 and capsys.readouterr().err == ""


def test_gan_studio_says_it_instead_of_letting_qt_abort(fresh_debian, monkeypatch, capsys):
    """`gan-studio` with no command opens the window: where it cannot, one message and exit 1,
    and the studio is not started."""
    import studio.ui.main

    def must_not_open(*a, **k):
        raise AssertionError("the studio was started")

    monkeypatch.setattr(studio.ui.main, "run_studio", must_not_open)
    assert cli.main([]) == 1
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in capsys.readouterr().err
    monkeypatch.delenv("DISPLAY")
    assert cli.main(["some-project"]) == 1 and "no display" in capsys.readouterr().err
    # Wayland: a warning, then the studio starts
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setattr(studio.ui.main, "run_studio", lambda project, **k: 7)
    assert cli.main(["some-project"]) == 7 and "Wayland" in capsys.readouterr().err
