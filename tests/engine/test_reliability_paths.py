"""Paths (issue 15, item 7): a project never trains on its own sample grids, outputs never silently
overwrite, long export names work, and temp files of a killed export are cleaned up on the next run.
(`translate inB --out inB/sub2` with relative paths is covered by test_cli_paths.py.)"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import studio
from studio.cli.main import main
from studio.engine.atomic import remove_stale_temp_files
from studio.engine.data.dataset import DataConfig, prepare_dataset, scan_folder
from tests.engine import reliability_project as rp


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return rp.build(tmp_path_factory.mktemp("paths"))


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.strip()][-1]


def test_a_project_cannot_be_created_inside_its_image_folder(built, capsys):
    data = built.parent / "discs"
    out = data / "my-project"
    assert main(["train", "dcgan", "--data", str(data), "--out", str(out), *rp.TINY, "--steps", "2"]) == 2
    line = _error_line(capsys)
    assert "is inside the image folder" in line and "sample grids would be trained on" in line
    assert not out.exists()


def test_scanning_skips_project_folders_inside_an_image_folder(built, tmp_path):
    data = rp.copy(built.parent / "discs", tmp_path / "imgs")
    rp.copy(built, data / "old-project")  # e.g. made there by an earlier version
    files = scan_folder(data)
    assert len(files) == 16 and not any("old-project" in str(p) for p in files)
    ds = prepare_dataset(data, DataConfig(size=32), cache_dir=tmp_path / "cache")
    assert len(ds) == 16
    assert any(p.endswith("old-project") and "GAN Studio project" in why for p, why in ds.report.skipped)


def test_generate_never_overwrites_without_force_and_warns_in_a_training_folder(built, tmp_path, capsys):
    out = tmp_path / "gen"
    assert main(["generate", str(built), "--count", "3", "--out", str(out)]) == 0
    capsys.readouterr()
    (out / "seed0-00001.png").write_bytes(b"mine")
    assert main(["generate", str(built), "--count", "3", "--out", str(out)]) == 2
    assert "already holds 3 of these pictures" in _error_line(capsys)
    assert (out / "seed0-00001.png").read_bytes() == b"mine"
    assert main(["generate", str(built), "--count", "3", "--out", str(out), "--force"]) == 0
    assert (out / "seed0-00001.png").read_bytes() != b"mine"

    data = rp.copy(built.parent / "discs", tmp_path / "discs")
    proj = rp.copy(built, tmp_path / "proj")
    rp.edit_json(proj / "project.json", lambda m: m["data"]["folders"].update(data=str(data)))
    capsys.readouterr()
    assert main(["generate", str(proj), "--count", "2", "--out", str(data / "more")]) == 0
    err = capsys.readouterr().err
    assert f"warning: {data / 'more'} is inside the training folder {data}" in err


def test_generate_refusal_names_the_way_out(built, tmp_path, capsys):
    out = tmp_path / "gen"
    out.mkdir()
    (out / "seed0-00000.png").write_bytes(b"mine")
    assert main(["generate", str(built), "--count", "2", "--out", str(out)]) == 2
    line = _error_line(capsys)
    assert line == (f"gan-studio: {out} already holds 1 of these pictures (seed0-00000.png); choose another --out, "
                    "or pass --force to replace them.")


@pytest.mark.parametrize("length", [250, 254])
def test_export_names_up_to_the_file_system_limit(built, tmp_path, length):
    name = "g" * (length - 4) + ".png"
    assert main(["export", str(built), "--grid", str(tmp_path / name), "--count", "4"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == [name]


def _killed_writer(folder) -> str:
    """A process that starts an atomic write into `folder`, then is SIGKILLed: its temp file stays."""
    code = ("import sys, time; from studio.engine.atomic import make_temp; fd, t = make_temp(sys.argv[1]);"
            "print(t, flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder / "walk.gif")], stdout=subprocess.PIPE, text=True,
                            cwd=Path(studio.__file__).parent.parent)
    tmp = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    return tmp


def test_temp_files_of_a_killed_export_are_removed_by_the_next_export(built, tmp_path):
    out = tmp_path / "exports"
    out.mkdir()
    stale = _killed_writer(out)
    assert os.path.basename(stale).startswith(".tmp-") and len(os.path.basename(stale)) < 40
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        theirs = out / f".tmp-{live.pid}-abcdefgh.gif"  # an export still running in another process
        theirs.write_bytes(b"in progress")
        other = out / ".tmp-notes.txt"  # not a name this program makes
        other.write_bytes(b"keep")
        assert main(["export", str(built), "--grid", str(out / "g.png"), "--count", "4"]) == 0
        assert sorted(p.name for p in out.iterdir()) == sorted(["g.png", theirs.name, other.name])
    finally:
        live.kill()
        live.wait(10)
    assert remove_stale_temp_files(out, dead_writers_only=True) == [theirs]  # its writer has ended now
