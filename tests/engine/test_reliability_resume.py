"""Issue 15 item 2: resuming never deletes trained weights and never silently starts over.

A trained project whose checkpoint JSON files are gone, whose checkpoints/ folder is gone, or whose
checkpoints are all damaged is refused in one line (exit 2) that says what was found and what
`resume --restart` would do; nothing in the folder changes. `--restart` trains from step 0 and moves
the earlier run's files aside, deleting nothing.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from studio.cli.main import main
from studio.engine.data.procedural import discs, write_folder
from studio.engine.project import checkpoints as ckpt
from studio.engine.project.checkpoints import list_checkpoints, save_checkpoint

TINY = ["--size", "32", "--batch", "4", "--width", "8", "--z-dim", "16", "--seed", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A project trained to step 6 (checkpoints at 0, 3 and 6, a sample grid every 3 steps)."""
    base = tmp_path_factory.mktemp("resume")
    data = write_folder(discs(12, 32, seed=0), base / "data")
    out = base / "proj"
    assert main(["train", "dcgan", "--data", str(data), "--out", str(out), *TINY, "--steps", "6",
                 "--sample-every", "3", "--checkpoint-every", "3", "--log-every", "1"]) == 0
    return out


@pytest.fixture
def project(trained, tmp_path):
    return shutil.copytree(trained, tmp_path / "proj")


def _snapshot(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "training.lock"}


def _one_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("gan-studio: ") and "Traceback" not in lines[0]
    return lines[0]


def _history_steps(root):
    return [json.loads(line)["step"] for line in (root / "history.jsonl").read_text().splitlines()]


def test_missing_checkpoint_json_is_refused_and_no_weight_file_is_deleted(project, capsys):
    for j in (project / "checkpoints").glob("step-*.json"):
        j.unlink()
    before = _snapshot(project)
    capsys.readouterr()

    assert main(["resume", str(project), "--steps", "9"]) == 2

    line = _one_line(capsys)
    assert "3 weight files" in line and "no checkpoint metadata" in line and "--restart" in line
    assert _snapshot(project) == before  # every .safetensors still there, history untouched


def test_missing_checkpoints_folder_is_refused_without_retraining(project, capsys):
    shutil.rmtree(project / "checkpoints")
    before = _snapshot(project)
    capsys.readouterr()

    assert main(["resume", str(project), "--steps", "9"]) == 2

    line = _one_line(capsys)
    assert "checkpoints/ is missing" in line and "step 6" in line and "--restart" in line
    assert _snapshot(project) == before
    assert _history_steps(project) == [1, 2, 3, 4, 5, 6]  # no second run appended


def test_damaged_checkpoints_are_refused(project, capsys):
    for t in (project / "checkpoints").glob("step-*.safetensors"):
        blob = bytearray(t.read_bytes())
        blob[-1] ^= 0xFF
        t.write_bytes(bytes(blob))
    before = _snapshot(project)
    capsys.readouterr()

    assert main(["resume", str(project), "--steps", "9"]) == 2

    line = _one_line(capsys)
    assert "cannot continue" in line and "--restart" in line
    assert _snapshot(project) == before


def test_restart_trains_from_zero_and_keeps_the_old_files_aside(project, capsys):
    shutil.rmtree(project / "checkpoints")  # a project that cannot continue
    old_history = (project / "history.jsonl").read_bytes()
    old_grids = {p.name: p.read_bytes() for p in (project / "samples").iterdir()}
    capsys.readouterr()

    assert main(["resume", str(project), "--steps", "4", "--restart"]) == 0

    assert _history_steps(project) == [1, 2, 3, 4]  # one run, in order
    assert [s for s, _ in list_checkpoints(project / "checkpoints")][-1] == 4
    (aside,) = (project / ckpt.SET_ASIDE_DIR).iterdir()
    assert (aside / "history.jsonl").read_bytes() == old_history
    assert {p.name: p.read_bytes() for p in (aside / "samples").iterdir()} == old_grids


def test_restart_keeps_weights_that_still_load(project, capsys):
    weights = {p.name: p.read_bytes() for p in (project / "checkpoints").glob("step-*")}
    assert main(["resume", str(project), "--steps", "2", "--restart"]) == 0
    (aside,) = (project / ckpt.SET_ASIDE_DIR).iterdir()
    assert {p.name: p.read_bytes() for p in (aside / "checkpoints").iterdir()} == weights


def test_a_project_killed_before_its_first_step_still_starts(project, capsys):
    """Nothing past step 0 anywhere: not a trained project, so it starts from scratch without --restart,
    and an uncommitted step-0 tensor file (a kill inside the very first save) is kept, not deleted."""
    shutil.rmtree(project / "samples")
    (project / "history.jsonl").unlink()
    for p in (project / "checkpoints").iterdir():
        p.unlink()
    (project / "checkpoints" / "step-0000000.safetensors").write_bytes(b"cut short")
    meta = json.loads((project / "project.json").read_text())
    (project / "project.json").write_text(json.dumps({**meta, "step": 0}))

    assert main(["resume", str(project), "--steps", "2"]) == 0
    assert _history_steps(project) == [1, 2]


def test_a_failed_save_removes_only_its_own_tensor_file(tmp_path, monkeypatch):
    import torch

    (tmp_path / "step-0000009.safetensors").write_bytes(b"someone else's")
    save_checkpoint(tmp_path, 1, {"w": torch.ones(2)}, {})

    def refuse(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt, "write_text_atomic", refuse)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path, 2, {"w": torch.zeros(2)}, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "step-0000001.json", "step-0000001.safetensors", "step-0000009.safetensors"]
