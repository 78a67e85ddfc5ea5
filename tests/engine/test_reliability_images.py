"""Issue 15 item 1: no image the program opens may start an external program.

Pillow opens EPS and PostScript files by running Ghostscript on them. A file with such content under an
image name (a sample grid, a translate input, a training image) must be refused by content before any
decoder runs. The proof is a fake `gs` first on PATH that leaves a marker file when it is started.
"""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from PIL import EpsImagePlugin

from studio.cli.main import main
from studio.engine.data import video
from studio.engine.data.decode import ImageDecodeError, decode
from studio.engine.errors import UserError
from studio.engine.images import load_png, open_image, save_png
from studio.engine.models.suggest import probe_sizes
from studio.engine.project.folder import Project

EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\n"
       b"newpath 0 0 moveto 16 16 lineto stroke\nshowpage\n%%EOF\n")
PS = b"%!PS-Adobe-3.0\n%%BoundingBox: 0 0 16 16\nshowpage\n"


@pytest.fixture
def fake_ghostscript(tmp_path, monkeypatch):
    """A `gs` first on PATH that writes a marker when started; returns the marker's path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "ghostscript-ran"
    gs = bin_dir / "gs"
    # Pillow asks `gs --version` before using it; any other call is Ghostscript at work.
    gs.write_text(f"#!/bin/sh\n[ \"$1\" = --version ] && {{ echo 10.0; exit 0; }}\n"
                  f"echo \"$@\" > '{marker}'\nexit 1\n")
    gs.chmod(gs.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # Pillow caches where it found gs
    monkeypatch.setattr(EpsImagePlugin, "gs_windows_binary", None)
    assert EpsImagePlugin.has_ghostscript()  # the plant works: Pillow would run it
    return marker


def _tiny_project(root) -> Project:
    project = Project.create(root, "dcgan", {"model": {}, "data": {}, "run": {}})
    rng = np.random.default_rng(0)
    for step in (0, 10):
        project.save_samples(step, rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    return project


@pytest.mark.parametrize("content", [EPS, PS], ids=["eps", "ps"])
def test_timelapse_over_a_planted_postscript_sample_starts_no_program(tmp_path, fake_ghostscript, content, capsys):
    project = _tiny_project(tmp_path / "p")
    (project.samples_dir / "step-0000020.png").write_bytes(content)

    code = main(["export", str(project.root), "--timelapse", str(tmp_path / "t.gif")])

    assert not fake_ghostscript.exists(), "Ghostscript was started on a project file"
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "step-0000020.png" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_every_opener_refuses_postscript_by_content(tmp_path, fake_ghostscript):
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(EPS)

    with pytest.raises(OSError):
        load_png(bad)
    with pytest.raises(OSError):
        open_image(bad)
    with pytest.raises(ImageDecodeError, match="not an image"):
        decode(bad)  # training images, translate inputs
    with pytest.raises(ImageDecodeError, match="not an image"):
        decode(EPS)
    assert probe_sizes([bad]) == []  # the new-project wizard's size probe
    clip = tmp_path / "clip.gif"
    clip.write_bytes(EPS)
    with pytest.raises(UserError):
        video.probe(clip)  # a collection given as an animation
    assert not fake_ghostscript.exists()


def test_allowed_formats_still_open(tmp_path):
    picture = np.arange(16 * 16 * 3, dtype=np.uint8).reshape(16, 16, 3)
    save_png(tmp_path / "a.png", picture)
    assert np.array_equal(load_png(tmp_path / "a.png"), picture)
    with open_image(tmp_path / "a.png") as im:
        assert im.format == "PNG" and im.size == (16, 16)
    with pytest.raises(OSError):
        open_image(tmp_path / "a.png", formats=("JPEG",))  # a caller may narrow the list further
