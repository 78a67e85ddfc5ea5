"""`gan-studio PROJECT --screenshot FILE`: renders the window with the project and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from PIL import Image

import studio


def _run(args, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               HOME=str(tmp_path / "home"))
    root = os.path.dirname(os.path.dirname(studio.__file__))
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


def test_screenshot_of_a_project(trained_dcgan, tmp_path):
    shot = tmp_path / "shot.png"
    r = _run([str(trained_dcgan), "--screenshot", str(shot)], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    im = np.asarray(Image.open(shot).convert("RGB"))
    assert im.shape[0] >= 400 and im.shape[1] >= 600
    assert len(np.unique(im.reshape(-1, 3), axis=0)) > 200  # samples, text and curves, not a blank window


def test_screenshot_of_a_missing_project_is_a_one_line_error(tmp_path):
    r = _run([str(tmp_path / "nope"), "--screenshot", str(tmp_path / "x.png")], tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "does not exist" in r.stderr
    assert not (tmp_path / "x.png").exists()
