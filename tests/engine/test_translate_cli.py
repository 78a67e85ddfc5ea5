"""`gan-studio train cyclegan`, `resume` and `translate` end to end, and their user errors (exit 2, one line)."""

import json

import numpy as np
import pytest
from PIL import Image

from studio.cli.main import main
from studio.engine.images import load_png
from studio.engine.models import get_kind
from studio.engine.project.folder import Project


def _folder(path, count, colour, seed):
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    for i in range(count):
        pic = np.full((40, 48, 3), rng.integers(190, 250), np.uint8)
        y, x = rng.integers(4, 24, 2)
        pic[y : y + 12, x : x + 16] = colour
        Image.fromarray(pic).save(path / f"img{i}.png")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny CycleGAN project trained for 2 steps through the CLI."""
    root = tmp_path_factory.mktemp("cyclegan_cli")
    a = _folder(root / "a" / "sub", 5, (200, 40, 50), 1).parent
    b = _folder(root / "b", 3, (40, 60, 200), 2)
    code = main(["train", "cyclegan", "--data-a", str(a), "--data-b", str(b), "--out", str(root / "proj"),
                 "--size", "32", "--steps", "2", "--width", "4", "--device", "cpu", "--sample-every", "1",
                 "--no-identity"])
    assert code == 0
    return root


def test_train_creates_a_cyclegan_project(trained):
    project = Project.open(trained / "proj")
    assert get_kind(project.kind).title == "CycleGAN" and project.step == 2
    meta = json.loads((trained / "proj" / "project.json").read_text())
    assert meta["model"]["ngf"] == 4 and meta["model"]["identity"] is False and meta["model"]["size"] == 32
    assert meta["data"]["counts"] == {"a": 5, "b": 3}
    assert [s for s, _ in project.sample_steps()] == [0, 1, 2]
    grid = load_png(project.sample_path(2))
    assert grid.shape == (6 * 34 + 2, 4 * 34 + 2, 3)  # rows A, G(A), F(G(A)), B, F(B), G(F(B)); 4 previews
    history = project.read_history()
    assert history[-1]["step"] == 2 and "cycle_A" in history[-1] and "idt_A" not in history[-1]


def test_resume_continues_the_run(trained, tmp_path):
    import shutil

    proj = tmp_path / "proj"
    shutil.copytree(trained / "proj", proj)
    assert main(["resume", str(proj), "--steps", "3"]) == 0
    assert Project.open(proj).step == 3


def test_translate_a_folder_and_a_file(trained, tmp_path, capsys):
    src = _folder(tmp_path / "in" / "nested", 2, (200, 40, 50), 3).parent
    Image.fromarray(np.zeros((23, 41, 3), np.uint8)).save(tmp_path / "odd.jpg")
    (src / "broken.png").write_bytes(b"nope")
    code = main(["translate", str(trained / "proj"), str(src), str(tmp_path / "odd.jpg"), "--out",
                 str(tmp_path / "out"), "--direction", "b2a", "--tile", "32", "--device", "cpu"])
    assert code == 0
    out, err = capsys.readouterr()
    assert "translated 3 images" in out and "skipped 1" in out
    assert "broken.png" in err
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")) == [
        "nested/img0.png", "nested/img1.png", "odd.jpg"]
    with Image.open(tmp_path / "out" / "odd.jpg") as im:
        assert im.format == "JPEG" and im.size == (41, 23)


def _user_error(argv, capsys, match):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "\n" not in err and "Traceback" not in err and match in err, err


def test_user_errors_exit_2_with_one_line(trained, tmp_path, capsys):
    proj = str(trained / "proj")
    pic = tmp_path / "x.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(pic)
    Project.create(tmp_path / "dc", "dcgan", {})
    _user_error(["translate", str(tmp_path / "dc"), str(pic), "--out", str(tmp_path / "o")], capsys,
                "'translate' needs a CycleGAN or")
    _user_error(["translate", str(tmp_path / "nothing"), str(pic), "--out", str(tmp_path / "o")], capsys,
                "does not exist")
    _user_error(["translate", proj, str(tmp_path / "missing.png"), "--out", str(tmp_path / "o")], capsys,
                "Input not found")
    _user_error(["translate", proj, str(pic), "--out", str(tmp_path / "o"), "--tile", "8"], capsys,
                "at least 32")
    _user_error(["translate", proj, str(pic), "--out", str(tmp_path)], capsys, "would overwrite")
    (tmp_path / "empty").mkdir()
    _user_error(["translate", proj, str(tmp_path / "empty"), "--out", str(tmp_path / "o")], capsys,
                "No image files")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.png").write_bytes(b"nope")
    _user_error(["translate", proj, str(tmp_path / "junk"), "--out", str(tmp_path / "o")], capsys,
                "No image could be translated")
    a = str(trained / "a")
    _user_error(["train", "cyclegan", "--data-a", a, "--data-b", str(tmp_path / "nope"), "--out",
                 str(tmp_path / "p1"), "--size", "32", "--width", "4"], capsys, "nope")
    _user_error(["train", "cyclegan", "--data-a", a, "--data-b", a, "--out", str(tmp_path / "p2"),
                 "--size", "600"], capsys, "between 32 and 512")
    _user_error(["train", "cyclegan", "--data-a", a, "--out", str(tmp_path / "p3")], capsys, "--data-b")
