"""The `gan-studio` command line: DCGAN train / resume / generate, and clean user errors."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from studio.cli.main import main
from studio.engine.data.procedural import discs, write_folder
from studio.engine.images import load_png
from studio.engine.models import KINDS, get_kind
from studio.engine.project.checkpoints import list_checkpoints, load_checkpoint

TINY = ["--size", "32", "--batch", "8", "--width", "8", "--z-dim", "16", "--seed", "1"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = write_folder(discs(24, 32, seed=0), tmp_path_factory.mktemp("data") / "discs")
    (folder / "notes.txt").write_text("not an image: ignored")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return folder


def _train(data, out, steps, *extra):
    return main(["train", "dcgan", "--data", str(data), "--out", str(out), *TINY, "--steps", str(steps),
                 "--sample-every", "5", "--checkpoint-every", "5", "--log-every", "1", *extra])


def test_train_writes_the_project_folder(data, tmp_path, capsys):
    out = tmp_path / "proj"
    assert _train(data, out, 10) == 0
    printed = capsys.readouterr().out
    assert "24 images" in printed and "broken.png" in printed  # the dataset report
    meta = json.loads((out / "project.json").read_text())
    assert get_kind(meta["kind"]).title == "DCGAN" and meta["step"] == 10 and meta["model"]["size"] == 32
    assert meta["data"]["counts"] == {"data": 24} and meta["data"]["fingerprints"]["data"]
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [0, 5, 10]  # step 0: rollback target
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "step-0000000.png", "step-0000005.png", "step-0000010.png"]
    grid = load_png(out / "samples" / "step-0000010.png")
    assert grid.shape[2] == 3 and grid.std() > 5  # a real picture, not a blank
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == list(range(1, 11))
    assert all(h["images_per_s"] > 0 and "loss_D" in h and "time" in h for h in history)


def test_resume_continues_exactly(data, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _train(data, straight, 10) == 0
    assert _train(data, split, 5) == 0
    assert main(["resume", str(split), "--steps", "10"]) == 0
    a, _ = load_checkpoint(straight / "checkpoints" / "step-0000010.json")
    b, meta = load_checkpoint(split / "checkpoints" / "step-0000010.json")
    assert meta["step"] == 10
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    steps = [json.loads(line)["step"] for line in (split / "history.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 11))


def test_resume_after_moving_the_images_says_how_and_continues_exactly(data, tmp_path, capsys):
    import shutil

    straight, moved = tmp_path / "straight", tmp_path / "moved"
    assert _train(data, straight, 10) == 0
    images = shutil.copytree(data, tmp_path / "images")
    assert _train(images, moved, 5) == 0
    images.rename(tmp_path / "elsewhere")
    capsys.readouterr()
    assert main(["resume", str(moved), "--steps", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "gone" in err and str(images) in err and "--data NEW_FOLDER" in err
    assert main(["resume", str(moved), "--steps", "10", "--data", str(tmp_path / "elsewhere")]) == 0
    assert json.loads((moved / "project.json").read_text())["data"]["folders"]["data"] == str(tmp_path / "elsewhere")
    a, _ = load_checkpoint(straight / "checkpoints" / "step-0000010.json")
    b, _ = load_checkpoint(moved / "checkpoints" / "step-0000010.json")
    assert all(torch.equal(a[k], b[k]) for k in a)  # same images, same training
    assert main(["resume", str(moved), "--data", str(tmp_path / "nowhere")]) == 2
    assert "Folder not found" in capsys.readouterr().err
    # naming the place already recorded writes nothing (every rank of a multi-process run does)
    meta_file = moved / "project.json"
    before = meta_file.stat().st_mtime_ns
    from studio.engine.project import relocation as data_folders
    from studio.engine.project.folder import Project

    data_folders.relocate(Project.open(moved), {"data": str(tmp_path / "elsewhere")})
    assert meta_file.stat().st_mtime_ns == before


def test_resuming_the_bundled_demo_says_how_to_draw_its_images(tmp_path, capsys):
    import shutil

    from studio.engine.project.demos import bundled_models_dir

    demo = shutil.copytree(bundled_models_dir() / "demo-faces", tmp_path / "demo")
    assert main(["resume", str(demo), "--steps", "7001"]) == 2
    err = capsys.readouterr().err
    assert "drawn by the program" in err and "gan-studio demo-data faces DIR" in err and "--data NEW_FOLDER" in err


def test_generate_is_reproducible_by_seed(data, tmp_path):
    proj = tmp_path / "proj"
    assert _train(data, proj, 5) == 0
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        assert main(["generate", str(proj), "--count", "6", "--out", str(tmp_path / name), "--seed", str(seed)]) == 0
    files = sorted((tmp_path / "a").iterdir())
    assert len(files) == 6
    a = [load_png(p) for p in files]
    b = [load_png(p) for p in sorted((tmp_path / "b").iterdir())]
    c = [load_png(p) for p in sorted((tmp_path / "c").iterdir())]
    assert a[0].shape == (32, 32, 3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[0], a[1])


def _error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def test_user_errors_exit_2_with_one_line(data, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    proj = tmp_path / "proj"
    assert _train(data, proj, 2) == 0
    capsys.readouterr()
    cases = [
        (["train", "dcgan", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o1")], "not found"),
        (["train", "dcgan", "--data", str(empty), "--out", str(tmp_path / "o2")], "no images found"),
        (["train", "dcgan", "--data", str(data), "--out", str(tmp_path / "o3"), "--size", "48"], "32, 64, 128"),
        (["train", "dcgan", "--data", str(data), "--out", str(proj)], "already holds a project"),
        (["train", "dcgan", "--data", str(data), "--out", str(empty)], "not empty"),
        (["resume", str(tmp_path / "missing")], "does not exist"),
        (["resume", str(empty)], "not a GAN Studio project"),
        (["generate", str(tmp_path / "missing"), "--count", "2", "--out", str(tmp_path / "g")], "does not exist"),
        (["train", "dcgan", "--data", str(data), "--out", str(tmp_path / "o4"), "--steps", "-3"], "positive"),
        (["train", "dcgan", "--out", str(tmp_path / "o5")], "--data"),
        (["train", "dcgan", "--data", str(data), "--out", str(tmp_path / "o6"), "--device", "cuda"] if not
         torch.cuda.is_available() else ["resume", str(empty)], "CUDA" if not torch.cuda.is_available() else "project"),
        (["resume", str(proj)], "already reached step 2"),
        (["--bogus"], "unrecognized arguments: --bogus (see 'gan-studio --help')"),
        (["train", "--data", str(data), "--out", str(tmp_path / "o7")], "name the kind of model to train first"),
        (["train"], "KIND: dcgan, cyclegan"),
        (["generate", str(proj)], "generate: the following arguments are required: --count, --out"),
    ]
    for argv, expected in cases:
        assert main(argv) == 2, argv
        line = _error_line(capsys)
        assert expected.lower() in line.lower(), (argv, line)
        assert line.startswith("gan-studio: ") and line.count("gan-studio:") == 1, line  # the program named once
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o3").exists()  # no half-made projects


def test_entry_point_and_ctrl_c_saves_a_checkpoint(data, tmp_path):
    out = tmp_path / "proj"
    cmd = [sys.executable, "-m", "studio", "train", "dcgan", "--data", str(data), "--out", str(out), *TINY,
           "--steps", "100000", "--checkpoint-every", "100000", "--sample-every", "100000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 120
    while not (out / "history.jsonl").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    found = list_checkpoints(out / "checkpoints")
    assert found, "Ctrl-C must leave a checkpoint"
    step = found[-1][0]
    assert 0 < step < 100000
    assert "stopped early" in stdout
    assert json.loads((out / "project.json").read_text())["step"] == step


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kinds_train_help_prints_each_option(kind, capsys):
    """`gan-studio train KIND --help` lists every option of the kind (a '%' in an option's help once made
    argparse raise a TypeError here instead)."""
    assert main(["train", kind, "--help"]) == 0
    out = capsys.readouterr().out
    assert all(option.cli_flag in out for option in get_kind(kind).options)
