"""The command line under faults: a diverging run and a read-only project folder give one clear line,
the right exit code, and a project that still loads and resumes."""

import hashlib
import json

import pytest
import torch

from studio.cli.main import main
from studio.engine import atomic, images
from studio.engine.data.procedural import discs, write_folder
from studio.engine.models.dcgan.trainer import DCGANTrainer
from studio.engine.project import checkpoints as checkpoint
from studio.engine.project.checkpoints import list_checkpoints, load_checkpoint, load_latest
from studio.engine.project.folder import Project

TINY = ["--size", "32", "--batch", "8", "--width", "8", "--z-dim", "16", "--seed", "1", "--metric-every", "0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_folder(discs(16, 32, seed=4), tmp_path_factory.mktemp("data") / "discs")


def _train(data, out, steps):
    return main(["train", "dcgan", "--data", str(data), "--out", str(out), *TINY, "--steps", str(steps),
                 "--sample-every", "3", "--checkpoint-every", "3", "--log-every", "1"])


def _stderr_lines(capsys) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.strip()]


def _snapshot(root):
    """sha256 of every file that matters for resuming (history may gain lines; it is not a commit; the
    training lock's note only names the last trainer, and _make_read_only cannot reach its os.open)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name not in ("history.jsonl", "training.lock")}


def test_nan_divergence_warns_in_one_line_exits_1_and_resumes(data, tmp_path, monkeypatch, capsys):
    real_step = DCGANTrainer.step

    def poisoned(self):
        if self.global_step == 7:  # the weights blow up: the next losses are NaN
            with torch.no_grad():
                next(self.D.parameters()).fill_(float("nan"))
        return real_step(self)

    monkeypatch.setattr(DCGANTrainer, "step", poisoned)
    out = tmp_path / "proj"
    assert _train(data, out, 12) == 1
    lines = _stderr_lines(capsys)
    warnings = [line for line in lines if line.startswith("warning:")]
    assert len(warnings) == 1, lines
    assert "diverged at step 8" in warnings[0] and "Rolled back" in warnings[0] and "step 6" in warnings[0]
    assert "'stable' preset" in warnings[0]  # what to change
    assert lines[-1] == "gan-studio: training stopped (diverged); the project is at step 6"
    # nothing non-finite was saved, and the project says where it is
    for _, path in list_checkpoints(out / "checkpoints"):
        tensors, _ = load_checkpoint(path)
        assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    assert list_checkpoints(out / "checkpoints")[-1][0] == 6
    assert json.loads((out / "project.json").read_text())["step"] == 6
    monkeypatch.undo()
    assert main(["resume", str(out)]) == 0  # continues from the last good checkpoint to the target
    assert list_checkpoints(out / "checkpoints")[-1][0] == 12
    steps = [json.loads(line)["step"] for line in (out / "history.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 13))  # the rolled-back steps are not in the history twice


def _make_read_only(mp: pytest.MonkeyPatch) -> None:
    """Every write GAN Studio makes into a project fails as on a read-only volume (tests run as root, so
    chmod would not stop them)."""

    def refuse(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    for module in (atomic, checkpoint, images):  # the modules that use write_bytes_atomic
        mp.setattr(module, "write_bytes_atomic", refuse)
    mp.setattr(Project, "append_history", lambda self, record: refuse())


def test_read_only_project_gives_a_clear_error_and_nothing_is_corrupted(data, tmp_path, capsys):
    out = tmp_path / "proj"
    assert _train(data, out, 6) == 0
    capsys.readouterr()
    before = _snapshot(out)
    with pytest.MonkeyPatch.context() as mp:
        _make_read_only(mp)

        # a new total of steps must be written to project.json first: refused before any training
        assert main(["resume", str(out), "--steps", "12"]) == 2
        lines = _stderr_lines(capsys)
        assert len(lines) == 1 and lines[0].startswith("gan-studio: ") and "Read-only file system" in lines[0]

        # training more minutes fails at the first write: paused with a clear message, exit 1
        assert main(["resume", str(out), "--minutes", "0.2"]) == 1
        lines = _stderr_lines(capsys)
        assert not [line for line in lines if line.startswith("warning:")]
        assert lines[-1].startswith("gan-studio: cannot write to") and "Read-only file system" in lines[-1]
        assert "safe at step 6" in lines[-1]  # what is on disk, not the lost in-memory step

        # a new project on a read-only volume
        assert _train(data, tmp_path / "new", 6) == 2
        lines = _stderr_lines(capsys)
        assert len(lines) == 1 and "Read-only file system" in lines[0]

    assert _snapshot(out) == before  # not one byte of the project changed
    tensors, meta = load_latest(out / "checkpoints")
    assert meta["step"] == 6
    assert main(["resume", str(out), "--steps", "9"]) == 0  # writable again: it just carries on
    assert list_checkpoints(out / "checkpoints")[-1][0] == 9
