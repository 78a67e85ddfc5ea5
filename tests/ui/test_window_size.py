"""`gan-studio PROJECT --screenshot F.png --window-size WxH`: the picture has exactly that size."""

from __future__ import annotations

import os
import subprocess
import sys

from PIL import Image

import studio


def _run(args, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               HOME=str(tmp_path / "home"))
    root = os.path.dirname(os.path.dirname(studio.__file__))
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


def test_screenshot_has_exactly_the_asked_size(trained_dcgan, tmp_path):
    shot = tmp_path / "small.png"
    r = _run([str(trained_dcgan), "--screenshot", str(shot), "--window-size", "1280x720"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    with Image.open(shot) as im:
        assert im.size == (1280, 720)


def test_a_bad_window_size_is_a_one_line_error(tmp_path):
    for bad, words in (("1280", "WIDTHxHEIGHT"), ("100x720", "between 320")):
        r = _run(["--screenshot", str(tmp_path / "x.png"), "--window-size", bad], tmp_path)
        assert r.returncode == 2
        assert r.stderr.strip().count("\n") == 0 and words in r.stderr, r.stderr
    assert not (tmp_path / "x.png").exists()
