"""Checkpoint files: atomic commit, verification, and refusal of damaged or hostile files."""

import hashlib
import json
import os
import struct

import pytest
import torch

from studio.engine import atomic
from studio.engine.errors import CheckpointError
from studio.engine.models import get_kind
from studio.engine.project.checkpoints import (
    clean_checkpoint_folder,
    list_checkpoints,
    load_checkpoint,
    load_latest,
    prune_checkpoints,
    save_checkpoint,
)


def _tensors(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"G.w": torch.randn(4, 3, generator=g), "rng": torch.arange(5, dtype=torch.uint8)}


def test_roundtrip_and_listing(tmp_path):
    save_checkpoint(tmp_path, 10, _tensors(0), {"kind": "dcgan"})
    save_checkpoint(tmp_path, 20, _tensors(1), {"kind": "dcgan"})
    assert [s for s, _ in list_checkpoints(tmp_path)] == [10, 20]
    tensors, meta = load_latest(tmp_path)
    assert meta["step"] == 20 and get_kind(meta["kind"]).title == "DCGAN"
    assert torch.equal(tensors["G.w"], _tensors(1)["G.w"])


def test_nan_weights_are_never_saved(tmp_path):
    t = _tensors()
    t["G.w"][0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="NaN"):
        save_checkpoint(tmp_path, 5, t, {})
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, 1, _tensors(0), {})
    before = sorted(p.name for p in tmp_path.iterdir())

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path, 1, _tensors(1), {})
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temp file, no partial file
    tensors, _ = load_checkpoint(tmp_path / "step-0000001.json")
    assert torch.equal(tensors["G.w"], _tensors(0)["G.w"])


def test_uncommitted_checkpoint_is_ignored_temp_files_cleaned_and_tensors_kept(tmp_path):
    save_checkpoint(tmp_path, 1, _tensors(0), {})
    # a kill between the two renames: tensors at the final name, no JSON yet
    (tmp_path / "step-0000002.safetensors").write_bytes(b"partial")
    (tmp_path / (atomic.TEMP_PREFIX + "step-0000002.json.abc")).write_text("{")
    assert [s for s, _ in list_checkpoints(tmp_path)] == [1]
    clean_checkpoint_folder(tmp_path)
    # Nothing proves a tensor file without JSON is a partial save rather than weights whose JSON was
    # lost: it stays (ignored) until a save of the same step replaces it.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "step-0000001.json", "step-0000001.safetensors", "step-0000002.safetensors"]
    save_checkpoint(tmp_path, 2, _tensors(1), {})
    assert torch.equal(load_checkpoint(tmp_path / "step-0000002.json")[0]["G.w"], _tensors(1)["G.w"])


def test_damaged_newest_falls_back_to_older(tmp_path):
    save_checkpoint(tmp_path, 1, _tensors(0), {})
    save_checkpoint(tmp_path, 2, _tensors(1), {})
    p = tmp_path / "step-0000002.safetensors"
    blob = bytearray(p.read_bytes())
    blob[-1] ^= 0xFF
    p.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(p)
    _, meta = load_latest(tmp_path)
    assert meta["step"] == 1


def test_prune_keeps_newest(tmp_path):
    for s in range(1, 6):
        save_checkpoint(tmp_path, s, _tensors(s), {})
    prune_checkpoints(tmp_path, 2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [4, 5]
    assert len(list(tmp_path.glob("*.safetensors"))) == 2


def _write_raw(tmp_path, blob: bytes, meta_extra=None):
    (tmp_path / "step-0000001.safetensors").write_bytes(blob)
    # the real hash: these files test what lies beyond the integrity check (which a missing hash fails)
    meta = {"format": 1, "step": 1, "sha256": hashlib.sha256(blob).hexdigest(), **(meta_extra or {})}
    (tmp_path / "step-0000001.json").write_text(json.dumps(meta))
    return tmp_path / "step-0000001.json"


def _header_blob(header: dict, data: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x00" * 4,
        struct.pack("<Q", 10**12) + b"{}",  # header length far beyond the file
        _header_blob({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                      "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, b"\x00" * 24),  # overlap
        _header_blob({"a": {"dtype": "F32", "shape": [100], "data_offsets": [0, 400]}}, b"\x00" * 16),  # short
        _header_blob({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, b"\x00" * 16),  # bad size
        b"\x80\x04\x95pickle-payload",
    ],
    ids=["empty", "tiny", "huge-header", "overlap", "short-data", "shape-mismatch", "pickle"],
)
def test_crafted_safetensors_give_a_clear_error(tmp_path, blob):
    path = _write_raw(tmp_path, blob)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    assert "\n" not in str(e.value)


def test_nan_in_file_and_newer_format_are_refused(tmp_path):
    from safetensors.torch import save

    blob = save({"w": torch.tensor([1.0, float("inf")])})
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        load_checkpoint(_write_raw(tmp_path, blob))
    blob = save({"w": torch.tensor([1.0])})
    with pytest.raises(CheckpointError, match="newer GAN Studio"):
        load_checkpoint(_write_raw(tmp_path, blob, {"format": 99}))


def test_write_is_atomic_at_the_os_level(tmp_path):
    target = tmp_path / "f.bin"
    atomic.write_bytes_atomic(target, b"one")
    atomic.write_bytes_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask  # normal permissions, not mkstemp's 0600
