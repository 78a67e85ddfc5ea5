"""Registers the CycleGAN kind: two data folders (a, b), images loaded a little larger for random crops."""

from __future__ import annotations

import dataclasses

from studio.engine.config import config_from_dict
from studio.engine.cyclegan_trainer import CycleGANConfig, CycleGANTrainer
from studio.engine.data import DataConfig
from studio.engine.errors import UserError
from studio.engine.kinds import KindSpec, register


def _default_config(data_cfg: DataConfig, datasets: dict, overrides: dict) -> CycleGANConfig:
    fields = {f.name for f in dataclasses.fields(CycleGANConfig)}
    unknown = set(overrides) - fields
    if unknown:
        raise UserError(f"unknown CycleGAN option(s): {', '.join(sorted(unknown))}")
    cfg = config_from_dict(CycleGANConfig, {"size": data_cfg.size, "channels": data_cfg.channels, **overrides})
    cfg.validate()
    return cfg


def _load_config(cfg: CycleGANConfig, data_cfg: DataConfig) -> DataConfig:
    # Decode at ~1.12x the crop size so every step sees a different random crop (reference: 286 -> 256).
    return dataclasses.replace(data_cfg, size=cfg.load_size)


def _make_trainer(cfg: CycleGANConfig, settings, datasets: dict, device) -> CycleGANTrainer:
    return CycleGANTrainer(
        cfg, datasets["a"].images, datasets["b"].images, device=device, seed=settings.seed, total_steps=settings.steps
    )


register(
    KindSpec(
        name="cyclegan",
        title="CycleGAN (translate A <-> B)",
        roles=("a", "b"),
        config_cls=CycleGANConfig,
        make_trainer=_make_trainer,
        load_config=_load_config,
        default_config=_default_config,
    )
)
