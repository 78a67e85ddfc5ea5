"""One tiny trained DCGAN project for the reliability tests: built once per module, copied per case."""

import hashlib
import json
import shutil
from pathlib import Path

from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from studio.cli.main import main
from studio.engine.data.procedural import discs, write_folder
from studio.engine.explore.bookmarks import ExploreStore

TINY = ["--size", "32", "--batch", "8", "--width", "8", "--z-dim", "16", "--seed", "1", "--metric-every", "0",
        "--device", "cpu"]


def build(root: Path) -> Path:
    """A project trained 4 steps (checkpoints at 0, 2 and 4; history; samples; one bookmark) in `root`/proj,
    its images in `root`/discs."""
    data = write_folder(discs(16, 32, seed=4), root / "discs")
    proj = root / "proj"
    code = main(["train", "dcgan", "--data", str(data), "--out", str(proj), *TINY, "--steps", "4",
                 "--sample-every", "2", "--checkpoint-every", "2", "--log-every", "1"])
    assert code == 0
    ExploreStore.open(proj, 16).add_latent("a", [0.5] * 16, "test")
    return proj


def copy(proj: Path, dst: Path) -> Path:
    shutil.copytree(proj, dst)
    return dst


def edit_json(path: Path, change) -> None:
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def checkpoint_paths(proj: Path) -> list[Path]:
    return sorted((proj / "checkpoints").glob("step-*.json"))


def edit_checkpoint(json_path: Path, change_meta=None, change_tensors=None) -> None:
    """Edit a checkpoint as a hand (or a tool) could, keeping its integrity hash valid."""
    meta = json.loads(json_path.read_text())
    if change_tensors is not None:
        weights = json_path.with_suffix(".safetensors")
        tensors = st_load(weights.read_bytes())
        change_tensors(tensors)
        blob = st_save(tensors)
        weights.write_bytes(blob)
        meta["sha256"] = hashlib.sha256(blob).hexdigest()
    if change_meta is not None:
        change_meta(meta)
    json_path.write_text(json.dumps(meta))


def weight_files(proj: Path) -> set[str]:
    return {p.name for p in (proj / "checkpoints").glob("*.safetensors")}
