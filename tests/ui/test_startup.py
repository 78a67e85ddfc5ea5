"""Start-up: the window paints before torch loads, and the project opens right after."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from studio.engine.project.demos import demo_available
from studio.ui.main import STARTUP_REPORT_ENV
from tests.ui.test_first_launch import _fresh_env

PAINTED = "gan-studio startup: window painted at monotonic "
DRAWN = "gan-studio startup: project drawn at monotonic "


def test_the_main_window_module_does_not_import_torch():
    code = "import sys, studio.ui.main_window, studio.ui.main; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(not demo_available("faces"), reason="models/ has no bundled demo")
def test_first_launch_paints_the_window_then_opens_the_demo(tmp_path):
    env = {**_fresh_env(tmp_path / "home"), STARTUP_REPORT_ENV: "1"}
    proc = subprocess.Popen([sys.executable, "-m", "studio"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 150
    try:
        for line in proc.stderr:
            lines.append(line)
            if line.startswith(DRAWN) or time.monotonic() > deadline:
                break
    finally:
        proc.kill()
        proc.wait()
    painted = [float(x[len(PAINTED):]) for x in lines if x.startswith(PAINTED)]
    drawn = [float(x[len(DRAWN):]) for x in lines if x.startswith(DRAWN)]
    assert painted and drawn, "".join(lines)[-2000:]
    assert painted[0] < drawn[0]  # the window was on screen before the demo's pictures
    assert (tmp_path / "home/.local/share/gan-studio/demos/demo-faces/project.json").is_file()
