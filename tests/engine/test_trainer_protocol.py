"""Every registered kind's trainer is a whole `Trainer`: each member the session and the app's workers
use is there with the right kind of value, and the methods answer in the declared shapes."""

import json
import math
import os
import typing

import numpy as np
import pytest
import torch

from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig, prepare_dataset
from studio.engine.data.procedural import discs, write_folder
from studio.engine.models import KINDS
from studio.engine.train.distributed import SINGLE
from studio.engine.train.protocol import Trainer

BATCH = 4


def _tiny_trainer(kind, root, seed=1):
    """A trainer of `kind` at its smallest size and width, on a few procedural images per role."""
    data_cfg = DataConfig(size=min(kind.sizes))
    overrides = {"batch": BATCH, **{o.name: o.minimum for o in kind.options if o.name == "width"}}
    load_cfg = kind.load_config(kind.default_config(data_cfg, {}, overrides), data_cfg)
    datasets = {}
    for i, role in enumerate(kind.roles):
        folder = root / role.name
        if not folder.exists():
            write_folder(discs(6, 64, seed=i), folder)
        datasets[role.name] = prepare_dataset(folder, load_cfg)
    cfg = kind.default_config(data_cfg, datasets, overrides)
    return kind.make_trainer(cfg, RunSettings(steps=4, seed=seed), datasets, torch.device("cpu"), SINGLE)


def _declared_methods() -> list[str]:
    return [n for n, v in vars(Trainer).items() if callable(v) and not n.startswith("_")]


def test_the_protocol_declares_what_the_session_uses():
    hints = typing.get_type_hints(Trainer)
    assert {"kind", "cfg", "device", "dist", "global_step", "batch", "images_per_step", "fast"} <= hints.keys()
    assert {"step", "samples", "quality", "reduce_batch", "state_dict", "load_state_dict",
            "generator_state"} <= set(_declared_methods())


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kinds_trainer_follows_the_protocol(name, tmp_path):
    kind = KINDS[name]
    t = _tiny_trainer(kind, tmp_path)
    assert isinstance(t, Trainer)

    # every declared attribute, with a value of the declared type
    for member, hint in typing.get_type_hints(Trainer).items():
        assert hasattr(t, member), f"{name} trainer has no '{member}'"
        if typing.get_origin(hint) is typing.ClassVar:
            assert member in vars(type(t)) or any(member in vars(c) for c in type(t).__mro__[1:-1]), member
            hint = typing.get_args(hint)[0]
        if hint is not typing.Any:
            assert isinstance(getattr(t, member), hint), f"{name} trainer: '{member}' is not a {hint.__name__}"
    for member in _declared_methods():
        assert callable(getattr(t, member)), f"{name} trainer: '{member}' is not a method"
    assert type(t).kind == name and isinstance(t.cfg, kind.config_cls)
    assert (t.global_step, t.batch, t.dist) == (0, BATCH, SINGLE) and t.images_per_step >= t.batch
    # what a kind's capabilities promise its trainer can do on the training thread
    if kind.capabilities.latent_space:
        assert callable(getattr(t, "generate", None))
    if kind.capabilities.translates:
        assert callable(getattr(t, "translate", None))

    losses = t.step()
    assert losses and all(isinstance(k, str) and isinstance(v, float) and math.isfinite(v) for k, v in losses.items())
    assert t.global_step == 1
    grid = t.samples()
    assert isinstance(grid, np.ndarray) and grid.dtype == np.uint8 and grid.ndim == 3
    quality = t.quality()
    assert isinstance(quality["swd"], float)
    weights = t.generator_state()
    assert weights and all(v.device.type == "cpu" for v in weights.values())

    tensors, meta = t.state_dict()
    assert meta["kind"] == name and json.loads(json.dumps(meta)) == meta
    fresh = _tiny_trainer(kind, tmp_path, seed=2)
    fresh.load_state_dict(tensors, meta)
    assert fresh.global_step == 1
    assert all(torch.equal(fresh.state_dict()[0][k], v) for k, v in tensors.items())

    per_item = t.images_per_step // t.batch
    assert t.reduce_batch() == BATCH // 2
    assert (t.batch, t.images_per_step) == (BATCH // 2, BATCH // 2 * per_item)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_unmeasured_on_a_gpu_a_trainer_takes_bf16_only_if_its_kind_approved_it(name, tmp_path, monkeypatch):
    """Without a measurement (data-parallel processes, GAN_STUDIO_FAST_PATH=default) each trainer takes
    the device's rule; on a GPU that rule is bf16 autocast unless the trainer says its kind's quality
    check approved no bf16 (kind.approved_paths): pix2pix and the 2014 GAN once took bf16 there."""
    import studio.engine.train.trainer_base as base

    asked = {}
    real = base.default_choice

    def recording(device, precision, channels_last, cpu_channels_last, cpu_bf16, gpu_bf16):
        asked["gpu_bf16"] = gpu_bf16
        return real(device, precision, channels_last, cpu_channels_last, cpu_bf16, gpu_bf16)

    monkeypatch.setattr(base, "default_choice", recording)
    monkeypatch.setenv("GAN_STUDIO_FAST_PATH", "default")
    kind = KINDS[name]
    _tiny_trainer(kind, tmp_path)
    assert asked["gpu_bf16"] == any(p.precision == "bf16" for p in kind.approved_paths())


def test_cuda_kernels_are_autotuned_and_deterministic_only_when_asked(monkeypatch):
    """A GPU run repeats bit for bit only with deterministic cuDNN kernels, which cost speed: the
    variable asks for them (the CUDA resume test of pix2pix does); otherwise the fastest are used."""
    from studio.engine.train.trainer_base import use_cuda_kernels

    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)  # both restored after the test
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", False)
    monkeypatch.delenv("GAN_STUDIO_DETERMINISTIC", raising=False)
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", "")  # so the teardown restores what was there before
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    use_cuda_kernels()
    assert torch.backends.cudnn.benchmark and not torch.backends.cudnn.deterministic
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    monkeypatch.setenv("GAN_STUDIO_DETERMINISTIC", "1")
    use_cuda_kernels()
    assert torch.backends.cudnn.benchmark and torch.backends.cudnn.deterministic
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
