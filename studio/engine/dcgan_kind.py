"""Registers the DCGAN kind: its config defaults derived from the data, and its trainer."""

from __future__ import annotations

import dataclasses

from studio.engine.config import config_from_dict
from studio.engine.data import DataConfig
from studio.engine.augment import SMALL_DATASET
from studio.engine.dcgan_trainer import STABLE_PRESET, DCGANConfig, DCGANTrainer
from studio.engine.distributed import SINGLE
from studio.engine.errors import UserError
from studio.engine.kinds import KindSpec, register


def _default_config(data_cfg: DataConfig, datasets: dict, overrides: dict) -> DCGANConfig:
    """Defaults that work without tuning: the paper's recipe, DiffAugment for small collections,
    and the "stable" preset on request (`overrides["preset"] = "stable"`)."""
    overrides = dict(overrides)
    preset = overrides.pop("preset", None) or "default"
    if preset not in ("default", "stable"):
        raise UserError(f"unknown preset '{preset}' (choose default or stable)")
    fields = {f.name for f in dataclasses.fields(DCGANConfig)}
    unknown = set(overrides) - fields
    if unknown:
        raise UserError(f"unknown DCGAN option(s): {', '.join(sorted(unknown))}")
    derived = {"size": data_cfg.size, "channels": data_cfg.channels}
    if "data" in datasets:
        derived["diffaugment"] = len(datasets["data"].images) < SMALL_DATASET
    if preset == "stable":
        derived.update(STABLE_PRESET)
    cfg = config_from_dict(DCGANConfig, {**derived, **overrides})
    cfg.validate()
    return cfg


def _make_trainer(cfg: DCGANConfig, settings, datasets: dict, device, dist_info=SINGLE) -> DCGANTrainer:
    return DCGANTrainer(cfg, datasets["data"].images, device=device, seed=settings.seed, dist_info=dist_info)


register(
    KindSpec(
        name="dcgan",
        title="DCGAN (new images)",
        roles=("data",),
        config_cls=DCGANConfig,
        make_trainer=_make_trainer,
        distributed=True,
        load_config=lambda cfg, data_cfg: data_cfg,
        default_config=_default_config,
    )
)
