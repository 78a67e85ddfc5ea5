"""What every kind's trainer shares: device and precision set-up, seeded networks, Adam, the
data order, the batch that shrinks after running out of memory, the checkpoint kind check, and
data-parallel training (DDP) under torchrun.

A kind's trainer subclasses `TrainerBase` and keeps its own readable `step()`. For several
processes it needs three calls and nothing else: `self._parallel(...)` for the modules whose
gradients are averaged, `self._mine(...)` on each per-image tensor drawn for the global batch
(every rank draws the whole batch from the same RNG, so ranks stay in lockstep and one
checkpoint fits any number of processes), and `self._report(losses)` for the averaged losses.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterable
from typing import ClassVar

import torch
from torch import nn

from studio.engine.allocator import keep_freed_memory
from studio.engine.errors import CheckpointError, UserError
from studio.engine.train.distributed import SINGLE, DistInfo, gather_across, mean_across
from studio.engine.train.fast_path import current_choice, default_choice
from studio.engine.train.run_state import RunState, load_run_state, read_run_state


def check_batch_split(batch: int, world: int) -> None:
    """UserError unless a batch of `batch` splits evenly between `world` data-parallel processes."""
    if world > 1 and batch % world:
        raise UserError(f"Training on {world} devices needs a batch that splits evenly between them "
                        f"(got {batch}): choose a multiple of {world}.")


def use_cuda_kernels() -> None:
    """cuDNN's kernels for a CUDA run: autotuned (every step has the same shapes, so the fastest
    kernels pay off), and deterministic only when $GAN_STUDIO_DETERMINISTIC=1.

    A resume restores every weight, moment and random number exactly on any device, and a CPU run
    then continues bit for bit. The fastest cuDNN kernels of some layers (the pix2pix U-Net's
    backward passes, on the H200 2026-12-04) add in whatever order their threads finish, so a
    GPU run differs from itself in the last bits after a few steps, resumed or not; the variable
    trades that speed for runs that repeat exactly."""
    torch.backends.cudnn.benchmark = True
    if os.environ.get("GAN_STUDIO_DETERMINISTIC", "").strip() == "1":
        torch.backends.cudnn.deterministic = True  # else torch's setting (off unless the caller chose)
        # cuBLAS (the style kind's mapping network) repeats itself only with a fixed workspace; it
        # reads this when its first handle is made, so it holds where the trainer is the first user
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


class DataOrder:
    """Shuffled passes over `n` items; the next pass is shuffled from the trainer's RNG when
    the current one cannot fill a batch. State: `order` (a permutation) and `cursor`."""

    def __init__(self, n: int, rng: torch.Generator):
        self.order = torch.randperm(n, generator=rng)
        self.cursor = 0

    def take(self, batch: int, rng: torch.Generator) -> torch.Tensor:
        n = len(self.order)
        if n < batch:  # tiny collection: sample with replacement rather than refuse
            return torch.randint(0, n, (batch,), generator=rng)
        if self.cursor + batch > n:
            self.order = torch.randperm(n, generator=rng)
            self.cursor = 0
        idx = self.order[self.cursor : self.cursor + batch]
        self.cursor += batch
        return idx

    def restore(self, order: torch.Tensor, cursor: int, n: int, rng: torch.Generator) -> None:
        """Continue a checkpoint's pass over `n` items (call after restoring `rng`)."""
        if order.numel() == n:
            self.order = order.clone()
            self.cursor = cursor
        else:
            # The folder changed since the checkpoint (the session warns the user): the old order
            # would index images that are gone, so the next pass starts now.
            self.order = torch.randperm(n, generator=rng)
            self.cursor = 0


class TrainerBase:
    """Shared state and helpers of the `Trainer` protocol (see protocol.py). Subclasses set
    `kind`, `min_batch` and `images_per_item`, build their nets with `_make_nets` and their
    optimizers with `_adam`, and implement step, samples, quality and the state methods."""

    kind: ClassVar[str] = ""
    min_batch: ClassVar[int] = 1  # reduce_batch never goes below this
    images_per_item: ClassVar[int] = 1  # training images in one batch item (a pair of domains: 2)

    def __init__(self, cfg, device: torch.device | str, seed: int, dist_info: DistInfo = SINGLE, *,
                 cpu_channels_last: bool, cpu_bf16: bool = False, gpu_bf16: bool = True):
        """`cfg` is the kind's validated config (needs batch, lr, beta1, beta2, precision and
        channels_last); the `cpu_*` flags say which fast-path levers measured faster for this kind,
        `gpu_bf16=False` that its quality check approved no bf16 (fp32 on a GPU too, unmeasured)."""
        cfg.validate()
        check_batch_split(cfg.batch, dist_info.world)
        self.cfg = cfg
        self.device = torch.device(device)
        self.dist = dist_info
        self.global_step = 0
        self.batch = cfg.batch  # global batch; may shrink after running out of GPU memory (reduce_batch)
        self.images_per_step = cfg.batch * self.images_per_item
        keep_freed_memory()  # steps reuse their activation buffers instead of page-faulting fresh ones
        if self.device.type == "cuda":
            use_cuda_kernels()
        # The path measured fastest for this machine when a session chose one (train/fast_path.py),
        # else the built-in rule for the device.
        self.fast = current_choice() or default_choice(self.device, cfg.precision, cfg.channels_last,
                                                       cpu_channels_last, cpu_bf16, gpu_bf16)
        self.precision = self.fast.path.precision
        self.memory_format = torch.channels_last if self.fast.path.channels_last else torch.contiguous_format
        # All randomness of the run flows from this CPU generator, so a checkpoint can restore it exactly.
        self.rng = torch.Generator().manual_seed(seed + 1)

    # ----- set-up ------------------------------------------------------------------------------
    def _make_nets(self, seed: int, build: Callable[[], dict[str, nn.Module]]) -> dict[str, nn.Module]:
        """The networks `build()` returns, initialised from `seed` alone (the global RNG is left as
        it was) and moved to the device in the trainer's memory format."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            nets = build()
        for net in nets.values():
            net.to(self.device, memory_format=self.memory_format)
        return nets

    def _adam(self, params: Iterable[nn.Parameter]) -> torch.optim.Adam:
        # Fused on GPUs and CPUs: on the 2-core Zen 4 EPYC with torch 2.14 one CPU step of the fused
        # kernel took a third to a fifth of the multi-tensor (foreach) path's (pix2pix's 54M-parameter
        # U-Net 31 against 162 ms, the DCGAN's G 2.7 against 8.5 ms), the same updates up to rounding
        # (2.4e-7 apart after 50 steps). Elsewhere (Apple GPUs) the multi-tensor path. A checkpoint
        # keeps the path it was saved with (its param groups say which), so a resumed run continues alike.
        kw = {"fused": True} if self.device.type in ("cuda", "cpu") else {"foreach": True}
        return torch.optim.Adam(params, lr=self.cfg.lr, betas=(self.cfg.beta1, self.cfg.beta2), **kw)

    def _parallel(self, *modules: nn.Module) -> tuple[nn.Module, ...]:
        """The modules to run forward passes through: DDP wrappers that average gradients across
        processes when data-parallel, else the modules themselves. State stays with the bare modules,
        and passes that need no weight gradients (samples, a frozen critic) use the bare ones too."""
        if not self.dist.active:
            return modules
        from torch.nn.parallel import DistributedDataParallel as DDP

        # broadcast_buffers=False: a network may run several times per step, and normalisation
        # statistics stay per device (its replacement, forward_sync_buffers, would still sync them at init).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return tuple(DDP(m, broadcast_buffers=False) for m in modules)

    # ----- data --------------------------------------------------------------------------------
    def _mine(self, x: torch.Tensor) -> torch.Tensor:
        """This process's slice of a global-batch tensor (all of it in a single process)."""
        if not self.dist.active:
            return x
        b = len(x) // self.dist.world
        return x[self.dist.rank * b : (self.dist.rank + 1) * b]

    def _gather(self, x: torch.Tensor) -> torch.Tensor:
        """The global batch from every process's slice `x`, in rank order (`x` in a single process)."""
        return gather_across(self.dist, x)

    # ----- the step ----------------------------------------------------------------------------
    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _report(self, losses: dict[str, torch.Tensor | float]) -> dict[str, float]:
        """The step's losses as floats, averaged over processes so every rank logs, and reacts to
        NaN, identically."""
        values = {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in losses.items()}
        return mean_across(self.dist, values, self.device)

    def reduce_batch(self) -> int | None:
        """Halve the batch after an out-of-memory error; None when it cannot shrink further (or, with
        several processes, no longer splits evenly between them)."""
        smaller = max(self.min_batch, self.batch // 2)
        if smaller == self.batch or smaller % self.dist.world:
            return None
        self._set_batch(smaller)
        return smaller

    def _set_batch(self, batch: int) -> None:
        self.batch = batch
        self.images_per_step = batch * self.images_per_item

    # ----- checkpoints -------------------------------------------------------------------------
    def _check_kind(self, meta: dict) -> None:
        if meta.get("kind") != self.kind:
            raise CheckpointError(f"The checkpoint is for a {meta.get('kind')} model, not a {self.kind} one.")

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The optimisers a checkpoint stores, by the name it stores them under (every kind has a G's and a D's)."""
        return {"opt_G": self.opt_G, "opt_D": self.opt_D}

    def _read_run_state(self, tensors: dict[str, torch.Tensor], meta: dict, nets: dict[str, nn.Module],
                        orders: dict[str, str]) -> RunState:
        """The first half of every `load_state_dict`: check the kind, `nets`, the step, batch, data
        positions (`orders`: data order tensor key -> its cursor's metadata key), the optimisers and
        the RNG state, changing nothing (CheckpointError). The kind then checks its own extra state
        and calls `_load_run_state`."""
        self._check_kind(meta)
        return read_run_state(tensors, meta, nets, self._optimizers(), orders, self.cfg.batch)

    def _load_run_state(self, tensors: dict[str, torch.Tensor], nets: dict[str, nn.Module], run: RunState) -> None:
        """Load what `_read_run_state` checked: nets, optimisers, RNG, batch and step."""
        load_run_state(self, tensors, nets, self._optimizers(), run)
