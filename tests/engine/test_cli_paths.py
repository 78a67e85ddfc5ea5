"""Every command takes relative, `~`, space-containing and non-ASCII paths, from any working folder."""

import numpy as np
import pytest
from PIL import Image

from studio.cli.main import main
from studio.engine.project.folder import Project

TINY_DC = ["--size", "32", "--batch", "4", "--width", "4", "--z-dim", "8", "--device", "cpu",
           "--sample-every", "1", "--checkpoint-every", "1", "--metric-every", "0"]
ODD = "my dätä 画像"  # a space, Latin accents and CJK in one folder name


@pytest.fixture
def place(tmp_path, monkeypatch):
    """Work from tmp/'wörk dir' with HOME at tmp/home; returns tmp_path."""
    home, work = tmp_path / "home", tmp_path / "wörk dir"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return tmp_path


def test_every_command_with_relative_home_and_odd_paths(place, capsys):
    # demo-data: a relative folder with spaces and non-ASCII letters; then one under ~
    assert main(["demo-data", "faces", f"{ODD}/faces", "--count", "8", "--size", "32"]) == 0
    assert len(list((place / "wörk dir" / ODD / "faces").glob("*.png"))) == 8
    assert main(["demo-data", "scenes", "~/scènes", "--count", "3", "--size", "32"]) == 0
    assert (place / "home" / "scènes" / "A").is_dir()

    # train from relative folders into a relative project; the project records absolute places
    assert main(["train", "dcgan", "--data", f"{ODD}/faces", "--out", f"{ODD}/proj", "--steps", "2", *TINY_DC]) == 0
    project = Project.open(place / "wörk dir" / ODD / "proj")
    assert project.step == 2
    assert project.meta["data"]["folders"]["data"] == str(place / "wörk dir" / ODD / "faces")
    # resume through a relative path that climbs out and back in
    assert main(["resume", f"../wörk dir/{ODD}/proj", "--steps", "3"]) == 0
    assert Project.open(project.root).step == 3

    assert main(["generate", f"./{ODD}/proj", "--count", "2", "--out", "~/néw pics", "--device", "cpu"]) == 0
    assert len(list((place / "home" / "néw pics").glob("*.png"))) == 2
    assert main(["export", f"{ODD}/proj", "--grid", "grids/one grid.png", "--count", "4", "--device", "cpu"]) == 0
    assert (place / "wörk dir" / "grids" / "one grid.png").is_file()

    assert main(["train", "cyclegan", "--data-a", "~/scènes/A", "--data-b", "../home/scènes/B", "--out", "cyc",
                 "--steps", "1", "--size", "32", "--width", "4", "--device", "cpu", "--no-identity"]) == 0
    # translate a relative folder (this crashed: relative folder vs absolute files inside it) and a file
    Image.fromarray(np.full((20, 28, 3), 90, np.uint8)).save(place / "wörk dir" / ODD / "single shot.png")
    capsys.readouterr()
    assert main(["translate", "cyc", f"{ODD}/faces", f"{ODD}/single shot.png", "--out", "out/x",
                 "--device", "cpu"]) == 0
    assert "translated 9 images" in capsys.readouterr().out
    out = place / "wörk dir" / "out" / "x"
    assert (out / "face-00000.png").is_file() and (out / "single shot.png").is_file()


def test_relative_inputs_and_output_inside_the_input_folder(place, capsys):
    """`translate ... inB --out inB/sub` with relative paths: earlier results are not read back as inputs."""
    assert main(["demo-data", "scenes", "sc", "--count", "2", "--size", "32"]) == 0
    assert main(["train", "cyclegan", "--data-a", "sc/A", "--data-b", "sc/B", "--out", "p", "--steps", "1",
                 "--size", "32", "--width", "4", "--device", "cpu", "--no-identity"]) == 0
    for _ in range(2):  # the second run must not translate the first run's results
        capsys.readouterr()
        assert main(["translate", "p", "sc/B", "--out", "sc/B/sub", "--device", "cpu"]) == 0
        assert "translated 2 images" in capsys.readouterr().out


def test_an_empty_path_is_a_one_line_error(place, capsys):
    assert main(["generate", "", "--count", "1", "--out", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert "empty path" in err and "\n" not in err


def test_scale_enlarges_smoothly_or_in_pixels_and_is_bounded(place, capsys):
    assert main(["demo-data", "faces", "f", "--count", "8", "--size", "32"]) == 0
    assert main(["train", "dcgan", "--data", "f", "--out", "p", "--steps", "1", *TINY_DC]) == 0
    assert main(["generate", "p", "--count", "1", "--out", "plain", "--device", "cpu"]) == 0
    assert main(["generate", "p", "--count", "1", "--out", "smooth", "--scale", "4", "--device", "cpu"]) == 0
    assert main(["generate", "p", "--count", "1", "--out", "px", "--scale", "4", "--pixels", "--device", "cpu"]) == 0
    plain, smooth, px = (np.asarray(Image.open(place / "wörk dir" / d / "seed0-00000.png")).astype(int)
                         for d in ("plain", "smooth", "px"))
    assert plain.shape[:2] == (32, 32) and smooth.shape[:2] == px.shape[:2] == (128, 128)
    assert np.array_equal(px[::4, ::4], plain) and np.array_equal(px[3::4, 3::4], plain)  # exact squares
    lanczos = Image.fromarray(plain.astype(np.uint8)).resize((128, 128), Image.Resampling.LANCZOS)
    assert np.array_equal(smooth, np.asarray(lanczos)) and not np.array_equal(smooth, px)
    assert main(["export", "p", "--grid", "g.png", "--count", "4", "--scale", "3", "--device", "cpu"]) == 0
    assert Image.open(place / "wörk dir" / "g.png").width > 3 * 2 * 32
    for bad in ("0", "17", "two"):
        for argv in (["generate", "p", "--count", "1", "--out", "x"], ["export", "p", "--grid", "x.png"]):
            capsys.readouterr()
            assert main([*argv, "--scale", bad]) == 2
            err = capsys.readouterr().err.strip()
            assert "--scale" in err and "\n" not in err, err


def test_translation_planning_takes_relative_paths_from_any_caller(place):
    from studio.engine.explore.translate import plan_outputs

    (place / "wörk dir" / "in A").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(place / "wörk dir" / "in A" / "a.png")
    jobs = plan_outputs(["in A"], "out/x")  # raised ValueError (relative_to) before
    assert [(src.name, dst) for src, dst, _ in jobs] == [("a.png", place / "wörk dir" / "out" / "x" / "a.png")]
