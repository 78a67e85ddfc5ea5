"""The one trainer protocol every model kind follows, and helpers to (de)serialise its state.

The studio and the CLI never branch on the model kind: `TrainingSession` and the app's workers
drive any `Trainer` through exactly the members declared here (compare the reference CycleGAN
repository's `optimize_parameters / get_current_losses / get_current_visuals`). A kind's trainer
usually gets the shared half from `studio.engine.train.trainer_base.TrainerBase`;
tests/engine/test_trainer_protocol.py checks every registered kind against this class.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from studio.engine.errors import CheckpointError
from studio.engine.train.distributed import DistInfo
from studio.engine.train.fast_path import Choice


@runtime_checkable
class Trainer(Protocol):
    kind: ClassVar[str]  # the ModelKind's name, stored in every checkpoint
    cfg: Any  # the kind's frozen model config (the dataclass `ModelKind.config_cls` names)
    device: torch.device
    dist: DistInfo  # this process's rank in data-parallel training (SINGLE otherwise)
    global_step: int  # optimisation steps completed
    batch: int  # items per step across all processes; smaller than cfg.batch after reduce_batch()
    images_per_step: int  # training images consumed by one step (for images/s)
    fast: Choice  # the fast path it runs (precision, layout), measured or the device's default: the Device row

    def step(self) -> dict[str, float]:
        """Run one optimisation step; returns the losses by name, the same on every process.
        Called from the training thread."""

    def samples(self) -> np.ndarray:
        """The fixed preview as one uint8 (H, W, C) grid. Called from the training thread."""

    def quality(self) -> dict[str, float]:
        """Offline quality, at least "swd" (lower is better); never touches the training RNG.
        Called from the training thread, on rank 0 only."""

    def reduce_batch(self) -> int | None:
        """Halve the batch after an out-of-memory error; the new batch, or None when it cannot shrink."""

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Everything needed to continue exactly: (tensors, JSON-able metadata with "kind")."""

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Restore from state_dict(); validates everything before changing anything (CheckpointError)."""

    def generator_state(self) -> dict[str, torch.Tensor]:
        """A CPU copy of the weights used for inference (EMA generator), safe to hand to another thread."""


# ----- state (de)serialisation -------------------------------------------------------------------
def module_tensors(prefix: str, module: nn.Module) -> dict[str, torch.Tensor]:
    # contiguous: weights of a channels_last model have NHWC strides, which safetensors refuses
    return {f"{prefix}.{k}": v.contiguous() for k, v in module.state_dict().items()}


def cpu_copy(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU copies, safe to hand to another thread or to safetensors."""
    return {k: v.detach().to("cpu", memory_format=torch.contiguous_format, copy=True) for k, v in tensors.items()}


def optimizer_state(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list]:
    """Flatten an optimizer into tensors + JSON-able param groups."""
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for name, value in st.items():
            tensors[f"{prefix}.state.{idx}.{name}"] = torch.as_tensor(value).contiguous()
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, groups


def store_optimizers(tensors: dict[str, torch.Tensor], **optimizers: torch.optim.Optimizer) -> dict[str, list]:
    """Add each named optimizer's state to `tensors`; returns the param groups by name, for the
    checkpoint's JSON metadata (loaded back with `load_optimizer(name, opt, tensors, meta[name])`)."""
    groups = {}
    for name, opt in optimizers.items():
        state, groups[name] = optimizer_state(name, opt)
        tensors.update(state)
    return groups


def load_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict, groups: list) -> None:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + ".state."):
            idx, name = key[len(prefix) + 7 :].split(".", 1)
            # clone: the optimizer keeps these tensors and updates them in place
            state.setdefault(int(idx), {})[name] = value.clone()
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in groups]
    try:
        opt.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise CheckpointError(f"optimizer state does not fit this model ({e})") from None
    match_param_layouts(opt)


def match_param_layouts(opt: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor (Adam's moments) its parameter's memory layout. A
    checkpoint stores them contiguous, while a channels_last model's weights are NHWC: the fused
    Adam kernels walk parameter, gradient and moments as one flat buffer each, so on a CPU (torch
    2.14) they updated every weight with another element's moments (6e-4 off after five steps of a
    test tensor), and on CUDA they refuse tensors whose layouts differ."""
    for group in opt.param_groups:
        for p in group["params"]:
            for name, t in opt.state.get(p, {}).items():
                if isinstance(t, torch.Tensor) and t.shape == p.shape and t.stride() != p.stride():
                    opt.state[p][name] = torch.empty_like(p, dtype=t.dtype).copy_(t)


def check_module_tensors(prefix: str, module: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Raise CheckpointError unless `tensors` holds every entry of `module` with the right shape and dtype."""
    for k, ref in module.state_dict().items():
        t = tensors.get(f"{prefix}.{k}")
        if t is None:
            raise CheckpointError(f"checkpoint is missing '{prefix}.{k}'")
        if t.shape != ref.shape or t.dtype != ref.dtype:
            raise CheckpointError(
                f"'{prefix}.{k}' has shape {tuple(t.shape)} {t.dtype}, this model needs {tuple(ref.shape)} {ref.dtype}"
            )


def load_module(prefix: str, module: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    check_module_tensors(prefix, module, tensors)
    module.load_state_dict({k: tensors[f"{prefix}.{k}"] for k in module.state_dict()})


def require(tensors: dict, *keys: str) -> None:
    for k in keys:
        if k not in tensors:
            raise CheckpointError(f"checkpoint is missing '{k}'")


# ----- EMA generator -----------------------------------------------------------------------------
class EMA:
    """Exponential moving average of a generator's weights (buffers copied), used for samples and export.

    The decay ramps up from ~0 (`min(decay, (1 + n) / (10 + n))`) so that short runs are not dominated by
    the random initial weights."""

    def __init__(self, model: nn.Module, decay: float):
        self.model = model
        self.decay = decay
        self.ema = copy.deepcopy(model).requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        ema_p = [p for p in self.ema.parameters()]
        src_p = [p.detach() for p in self.model.parameters()]
        torch._foreach_lerp_(ema_p, src_p, 1.0 - d)
        for be, b in zip(self.ema.buffers(), self.model.buffers()):
            be.copy_(b)
        self.updates += 1


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, make_input, batches: int = 4) -> None:
    """Re-estimate BatchNorm running statistics for `model` from fresh forward passes.

    EMA weights do not match the running statistics copied from the live generator; without
    this, eval-mode samples of an EMA generator with BatchNorm come out washed out or blotchy."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [(m.momentum, m.training) for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the passes below
        m.train()
    for i in range(batches):
        model(make_input(i))
    for m, (mom, training) in zip(bns, saved):
        m.momentum = mom
        m.train(training)
