"""Untrusted project files (issue 15, items 5 and 8): every file read back from a project folder is checked
against project/schema.py, so a hand-edited or damaged field is one clear line (exit 2 on the command line,
a message box in the studio), never a traceback deep inside torch."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import studio
from studio.cli.main import main
from studio.engine.data.dataset import DataConfig, prepare_dataset
from studio.engine.errors import CheckpointError, UserError
from studio.engine.explore.bookmarks import ExploreStore
from studio.engine.project.checkpoints import load_checkpoint
from studio.engine.project.folder import Project
from tests.engine import reliability_project as rp


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return rp.build(tmp_path_factory.mktemp("fields"))


@pytest.fixture
def proj(built, tmp_path):
    return rp.copy(built, tmp_path / "proj")


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("warning:")]
    assert len(lines) == 1, err
    return lines[0]


def _set(key, value):
    return lambda m: m.__setitem__(key, value)


def _set_in(section, key, value):
    return lambda m: m[section].__setitem__(key, value)


PROJECT_EDITS = {
    "format x": (_set("format", "x"), "format must be a whole number"),
    "kind as list": (_set("kind", ["dcgan"]), "kind must be a text"),
    "model as string": (_set("model", "x"), "model must be a JSON object"),
    "lr as string": (_set_in("model", "lr", "x"), "model.lr must be a number"),
    "z_dim 1e9": (_set_in("model", "z_dim", 10**9), "model.z_dim must be a whole number from 1 to 4,096"),
    "run null then seed string": (_set_in("run", "seed", "x"), "run.seed must be a whole number"),
    "data null": (_set("data", None), "data must be a JSON object"),
    "folders as string": (lambda m: m["data"].__setitem__("folders", "x"), "data.folders must map names"),
    "checkpoint_every 0": (_set_in("run", "checkpoint_every", 0), "run.checkpoint_every must be"),
    "step abc": (_set("step", "abc"), "step must be a whole number"),
    "size 48 (not a DCGAN size)": (_set_in("model", "size", 48), "DCGAN size must be one of"),
    "no model section": (lambda m: m.pop("model"), "model.size (64) does not match the images' size (32)"),
}


@pytest.mark.parametrize("case", list(PROJECT_EDITS))
def test_bad_project_json_fields_are_one_line_user_errors(proj, case, capsys):
    change, message = PROJECT_EDITS[case]
    rp.edit_json(proj / "project.json", change)
    with pytest.raises(UserError, match=re.escape(message)):
        Project.open(proj)
    for argv in (["resume", str(proj), "--steps", "6"], ["generate", str(proj), "--count", "2", "--out",
                                                         str(proj.parent / "gen")]):
        assert main(argv) == 2
        assert message in _one_error_line(capsys)


def test_format_1e400_and_an_unknown_kind(proj, capsys):
    text = (proj / "project.json").read_text()
    (proj / "project.json").write_text(text.replace('"format": 1', '"format": 1e400'))
    assert main(["resume", str(proj)]) == 2
    assert "format must be a whole number" in _one_error_line(capsys)
    rp.edit_json(proj / "project.json", lambda m: m.update(format=1, kind="stylegan9"))
    assert main(["resume", str(proj)]) == 2
    assert "unknown model kind 'stylegan9'" in _one_error_line(capsys)


CHECKPOINT_EDITS = {
    "order out of range": ({"change_tensors": lambda t: t.__setitem__("order", t["order"] + 100)},
                           "not a permutation of the images"),
    "bad rng": ({"change_tensors": lambda t: t.__setitem__("rng", t["rng"][:10])}, "random-number state"),
    "no opt_G": ({"change_meta": lambda m: m.pop("opt_G")}, "incomplete (no opt_G)"),
    "cursor x": ({"change_meta": _set("cursor", "x")}, "cursor must be a whole number"),
    "batch 0": ({"change_meta": _set("batch", 0)}, "batch must be a whole number from 1"),
    "no cursor": ({"change_meta": lambda m: m.pop("cursor")}, "incomplete (no cursor)"),
    "betas true": ({"change_meta": lambda m: m["opt_D"][0].__setitem__("betas", True)},
                   "optimizer setting 'opt_D.betas' is True"),
    "two steps": ({"change_meta": _set("global_step", 3)}, "gives two different steps"),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_EDITS))
def test_bad_checkpoint_metadata_with_a_valid_hash_is_refused_on_resume(proj, case, capsys):
    edits, message = CHECKPOINT_EDITS[case]
    for path in rp.checkpoint_paths(proj):
        rp.edit_checkpoint(path, **edits)
    before = rp.weight_files(proj)
    assert main(["resume", str(proj), "--steps", "6"]) == 2
    line = _one_error_line(capsys)
    assert message in line and "diverged" not in line
    assert rp.weight_files(proj) == before  # refused, nothing deleted


def test_a_checkpoint_without_its_hash_is_refused(proj):
    newest = rp.checkpoint_paths(proj)[-1]
    rp.edit_checkpoint(newest, change_meta=lambda m: m.pop("sha256"))
    with pytest.raises(CheckpointError, match="integrity hash"):
        load_checkpoint(newest)


def test_bad_history_lines_are_skipped_with_a_warning_not_a_blank_plot(proj, caplog):
    good = (proj / "history.jsonl").read_text().splitlines()
    (proj / "history.jsonl").write_text("\n".join(['{"step":"x"}', "[1,2]", *good, '{"step": 9, "swd": null}'])
                                        + "\n")
    project = Project.open(proj)
    with caplog.at_level("WARNING"):
        records = project.read_history()
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert project.history_skipped == 3
    assert "skipped 3 line(s)" in caplog.text


@pytest.mark.parametrize("text", ['{"latents": 5}', '{"format": 1e400}', '{"z_dim": "x"}', "[]"])
def test_a_malformed_explore_json_is_set_aside_with_a_warning(proj, text):
    (proj / "explore.json").write_text(text)
    store = ExploreStore.open(proj, 16)
    assert store.latents == [] and "damaged" in store.warnings[0]
    assert [p.read_text() for p in proj.glob("explore.damaged-*.json")] == [text]  # kept, not lost


def test_step_follows_the_newest_committed_checkpoint(proj):
    """A kill between a checkpoint and project.json's update leaves the file's step behind."""
    rp.edit_json(proj / "project.json", _set("step", 2))
    assert Project.open(proj).step == 4


def test_studio_refuses_a_damaged_project_with_one_line(proj, tmp_path):
    """`"step": "abc"` aborted the studio ("QThread: Destroyed while thread ... is still running")."""
    rp.edit_json(proj / "project.json", _set("step", "abc"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    root = Path(studio.__file__).parent.parent
    r = subprocess.run([sys.executable, "-m", "studio", str(proj), "--screenshot", str(tmp_path / "shot.png")],
                       cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "step must be a whole number" in r.stderr and "Traceback" not in r.stderr


def _lying_jpeg() -> bytes:
    """A real 16 px JPEG whose header claims 8000 x 8000: decoders fill the missing rows with grey."""
    pic = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pic).save(buf, "JPEG", quality=50)
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (8000).to_bytes(2, "big") * 2
    return bytes(data)


def test_a_short_file_claiming_a_huge_size_is_reported_damaged_not_trained_as_grey(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "liar.jpg").write_bytes(_lying_jpeg())
    for i, colour in enumerate(((250, 20, 20), (20, 250, 20))):
        pic = np.zeros((32, 32, 3), np.uint8)
        pic[8:24, 8:24] = colour
        Image.fromarray(pic).save(folder / f"ok{i}.png")
    Image.new("RGB", (32, 32), (30, 90, 200)).save(folder / "flat.png")  # a genuine flat picture stays
    ds = prepare_dataset(folder, DataConfig(size=16), cache_dir=tmp_path / "cache")
    assert sorted(Path(p).name for p in ds.paths) == ["flat.png", "ok0.png", "ok1.png"]
    (path, reason), = ds.report.skipped
    assert Path(path).name == "liar.jpg" and reason.startswith("damaged") and "8000 x 8000" in reason
    assert torch.is_tensor(ds.images)
