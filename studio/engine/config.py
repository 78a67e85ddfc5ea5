"""Configuration dataclasses shared by every model kind, serialised into project.json."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

# Collections with fewer images than this get DiffAugment by default: the discriminator would
# otherwise memorise them (Zhao et al. 2020 show the gap from ~1k-5k images down).
SMALL_DATASET = 2000


@dataclass(frozen=True)
class RunSettings:
    """How a training run is driven (not what is trained)."""

    steps: int = 5000  # total optimisation steps to reach (a resume continues towards it)
    sample_every: int = 100  # save a fixed-noise sample grid every N steps
    checkpoint_every: int = 500  # write a resumable checkpoint every N steps
    log_every: int = 10  # append a history.jsonl line every N steps
    metric_every: int = 250  # measure the offline quality metric (SWD) every N steps; 0 = never
    keep_checkpoints: int = 3  # newest checkpoints kept on disk
    seed: int = 0  # seed for weights, noise and data order: same seed, same run
    device: str = "auto"  # auto | cpu | cuda | mps


def config_to_dict(cfg) -> dict:
    """A config as the plain JSON values it is stored as (tuples as lists), so what a checkpoint's
    metadata holds before saving equals what is read back."""

    def plain(v):
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(cfg))


def config_from_dict(cls, data: dict | None):
    """Build a frozen config dataclass from a dict, ignoring unknown keys (newer/older projects)
    and converting nested dataclass fields. Missing keys take their defaults."""
    data = data or {}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        hint = hints.get(f.name)
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = config_from_dict(hint, value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)
