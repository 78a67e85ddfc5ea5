"""A StyleGAN2-ADA network pickle (.pkl) -> an ordinary style-based project folder.

The file is read by `safe_unpickle.read_network_pickle` (nothing from it is imported or run: its
networks' source code is kept as text), mapped onto the kind's networks by `sg2ada_weights` (refused
with a reason where the architecture differs), and written as a project: project.json (kind, model
config, an `imported` record naming the file and its sha256, no training images) and one step-0
checkpoint holding G, G_ema (with w_avg) and D. The explorer opens it like any trained project, and a
new project can fine-tune from it on the user's own images.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import torch

from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig
from studio.engine.errors import Cancelled
from studio.engine.images import make_grid, to_uint8
from studio.engine.models import get_kind
from studio.engine.models.stylegan import nets
from studio.engine.models.stylegan.safe_unpickle import PickleRefused, read_network_pickle
from studio.engine.models.stylegan.sg2ada_weights import map_network_pickle
from studio.engine.models.stylegan.trainer import StyleGANConfig, build_discriminator, build_generator
from studio.engine.project.checkpoints import save_checkpoint
from studio.engine.project.folder import Project

KIND = "stylegan"
FORMAT = "StyleGAN2-ADA network pickle"
PREVIEW_PIXELS = 64 * 64 * 16  # the step-0 sample grid: 16 pictures at 64 px, 4 at 128, one from 256 px up
STAGES = ("Reading", "Matching the networks", "Writing the project", "Drawing a first sample grid")


@torch.no_grad()
def _preview(G, cfg: StyleGANConfig, seed: int):
    """The step-0 sample grid from the fixed noise a fine-tuning run of this project would start with
    (the trainer's preview noise: seed + 2), so the Samples tab shows the imported model's pictures."""
    count = max(1, min(cfg.preview_count, PREVIEW_PIXELS // (cfg.size * cfg.size)))
    z = torch.randn(cfg.preview_count, cfg.z_dim, generator=torch.Generator().manual_seed(seed + 2))[:count]
    G.eval()
    return make_grid(to_uint8(torch.cat([G(c) for c in z.split(16)])))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _config(values: dict) -> StyleGANConfig:
    """The kind's config for the imported widths: the full preset's training settings (R1 for the size,
    augmentation on: fine-tuning usually has few images), the file's architecture."""
    size, channels = values["size"], values["channels"]
    data_cfg = DataConfig(size=size, grayscale=channels == 1, alpha="keep" if channels == 4 else "white")
    return get_kind(KIND).default_config(data_cfg, {}, {"preset": "full", "diffaugment": True, **values})


def _fields(values: dict) -> dict:
    return {k: v for k, v in values.items() if k in {f.name for f in dataclasses.fields(StyleGANConfig)}}


def import_network_pickle(path: Path | str, out: Path | str, seed: int = 0,
                          progress: Callable[[int, int, str], None] | None = None,
                          should_cancel: Callable[[], bool] | None = None) -> Project:
    """Import the network pickle at `path` as a new project at `out` (absent or an empty folder).

    UserError (PickleRefused for the file itself) with one sentence for anything the user can fix:
    an occupied `out`, a file that is not a network pickle or names code to load, an architecture the
    kind cannot reproduce. `progress(done, total, text)` hears of each of the STAGES; `should_cancel()`
    is asked between them (Cancelled). A refused or cancelled import leaves no folder behind. A 280 MB
    paper256 pickle takes ~10 s on a busy 2-core CPU; any thread."""
    path = Path(path).expanduser()
    root = Project.check_new_root(out)

    def stage(i: int) -> None:
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        if progress is not None:
            progress(i, len(STAGES), f"{STAGES[i]}…" if i < len(STAGES) else "Done.")

    stage(0)
    data = read_network_pickle(path)
    stage(1)
    try:
        mapped = map_network_pickle(
            data, nets.SIZES, lambda v: build_generator(StyleGANConfig(**_fields(v))),
            lambda v: build_discriminator(StyleGANConfig(**_fields(v))))
    except (TypeError, ValueError, AttributeError, KeyError) as e:  # a setting of the wrong type in the file
        raise PickleRefused(f"{path.name} holds network settings that are not StyleGAN2-ADA's "
                            f"({e.__class__.__name__}).") from None
    cfg = _config(mapped.config)
    torch.manual_seed(seed)
    D = build_discriminator(cfg)
    if mapped.D is not None:
        D.load_state_dict(mapped.D)
    G = build_generator(cfg)
    G.load_state_dict(mapped.G_ema)  # strict: every tensor of our generator comes from the file
    tensors = {
        **{f"G.{k}": v for k, v in mapped.G.items()},
        **{f"G_ema.{k}": v for k, v in G.state_dict().items()},
        **{f"D.{k}": v for k, v in D.state_dict().items()},
    }
    stage(2)
    created = not root.exists()
    try:
        project = Project.create(root, KIND, {
            "model": dataclasses.asdict(cfg),
            "data": {"config": dataclasses.asdict(DataConfig(size=cfg.size, grayscale=cfg.channels == 1,
                                                             alpha="keep" if cfg.channels == 4 else "white")),
                     "folders": {}},
            "run": dataclasses.asdict(RunSettings()),
            "imported": {
                "from": str(path.resolve()),
                "format": FORMAT,
                "sha256": _sha256(path),
                "about": (f"Imported from {path.name}. Its networks' code was read as text and never run. "
                          "It has no training images: start a new project from it to fine-tune on yours."),
                "critic": "imported" if mapped.D is not None else "fresh",
                "notes": mapped.notes,
            },
        })
        save_checkpoint(project.checkpoints_dir, 0, tensors,
                        {"kind": KIND, "config": dataclasses.asdict(cfg), "global_step": 0, "imported": True})
        stage(3)
        project.save_samples(0, _preview(G, cfg, seed))
        stage(4)
    except BaseException:
        # the folder was absent or empty: leave it as it was
        if created:
            shutil.rmtree(root, ignore_errors=True)
        elif root.is_dir():
            for child in root.iterdir():
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
        raise
    return project


def describe(project: Project) -> str:
    """One line for the user about an imported project (what the CLI prints and the studio shows)."""
    meta = project.meta.get("imported", {})
    cfg = project.meta.get("model", {})
    text = (f"Imported {Path(meta.get('from', '?')).name} as {project.root}: a {cfg.get('size')} px style-based "
            f"model (w {cfg.get('w_dim')}, {cfg.get('mapping_layers')} mapping layers). The file's code was never run.")
    notes = meta.get("notes") or []
    return " ".join([text, *notes])

