"""The part of a checkpoint every kind's trainer restores alike: its networks, its optimisers, the
step, the batch, the RNG state and the data positions. `read_run_state` checks all of it against
the trainer before anything is loaded, and `load_run_state` then loads it, so a file that does not
fit raises CheckpointError (a sentence saying what) and leaves the trainer exactly as it was.

A kind checks its own extra state (preview noise, history pools, augmentation state) between the
two calls, and restores it after the second (`TrainerBase._read_run_state` / `_load_run_state`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from studio.engine.errors import CheckpointError
from studio.engine.train.protocol import check_module_tensors, load_module, load_optimizer, require


@dataclass(frozen=True)
class RunState:
    """What `read_run_state` found to fit, ready for `load_run_state`."""

    step: int
    batch: int
    groups: dict[str, list]  # each optimiser's parameter groups, by the name it is stored under
    cursors: dict[str, int]  # each data order's position, by its tensor's key ("order", "order_A", ...)


def meta_int(meta: dict, key: str, lowest: int = 0, default: int | None = None) -> int:
    """A whole number of at least `lowest` from the checkpoint's metadata (`default` when absent and
    one is given); CheckpointError otherwise."""
    value = meta.get(key, default)
    if value is None:
        raise CheckpointError(f"The checkpoint's metadata is incomplete (no {key}).")
    # JSON gives ints; a float that is a whole number (another writer) is read as one
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
        raise CheckpointError(f"The checkpoint's {key} is {value!r}, not a whole number of at least {lowest}.")
    return value


def check_optimizer(name: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: object) -> None:
    """CheckpointError unless the stored optimiser `name` (its groups from the metadata, its state from
    `tensors`) fits `opt`: as many groups, as many parameters in each, and every per-parameter state
    tensor of its parameter's shape (the step counter: one value).

    torch's own `load_state_dict` checks only the counts: moments of another shape would load and
    break the first step after resuming."""
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise CheckpointError(f"The checkpoint's metadata has no readable optimiser state '{name}'.")
    if len(groups) != len(opt.param_groups):
        raise CheckpointError(f"The checkpoint's optimiser state '{name}' has {len(groups)} parameter groups, "
                              f"this model's {len(opt.param_groups)}.")
    params: dict[int, torch.Tensor] = {}
    for i, (saved, group) in enumerate(zip(groups, opt.param_groups)):
        ids = saved.get("params")
        if not isinstance(ids, list) or len(ids) != len(group["params"]):
            count = len(ids) if isinstance(ids, list) else "no"
            raise CheckpointError(f"The checkpoint's optimiser state '{name}' has {count} parameters in group {i}, "
                                  f"this model {len(group['params'])}.")
        for pid, p in zip(ids, group["params"]):
            if not isinstance(pid, int) or isinstance(pid, bool) or pid in params:
                raise CheckpointError(f"The checkpoint's optimiser state '{name}' numbers its parameters wrongly.")
            params[pid] = p
    prefix = f"{name}.state."
    fields: dict[int, set[str]] = {}
    for key, value in tensors.items():
        if not key.startswith(prefix):
            continue
        idx, _, field = key[len(prefix):].partition(".")
        p = params.get(int(idx)) if idx.isdigit() else None
        if p is None or not field:
            raise CheckpointError(f"The checkpoint holds optimiser state '{key}' for a parameter "
                                  "this model does not have.")
        want = (1,) if field == "step" else tuple(p.shape)
        got = (value.numel(),) if field == "step" else tuple(value.shape)
        if got != want or not value.is_floating_point():
            raise CheckpointError(f"The checkpoint's '{key}' has shape {tuple(value.shape)} {value.dtype}, "
                                  f"this model's parameter {tuple(p.shape)}.")
        fields.setdefault(int(idx), set()).add(field)
    # a parameter with a step but no moments would fail inside the optimiser's step
    if len({frozenset(f) for f in fields.values()}) > 1:
        raise CheckpointError(f"The checkpoint's optimiser state '{name}' is incomplete for some parameters.")


def check_order(key: str, order: torch.Tensor, cursor: int) -> None:
    """CheckpointError unless `order` is a permutation of its length and `cursor` lies within it."""
    n = order.numel()
    if order.ndim != 1 or order.dtype != torch.int64 or not torch.equal(torch.sort(order).values, torch.arange(n)):
        raise CheckpointError(f"The checkpoint's data order '{key}' is not a permutation of the images.")
    if cursor > n:
        raise CheckpointError(f"The checkpoint's position in '{key}' lies past the end of the data.")


def check_rng(state: torch.Tensor) -> None:
    ref = torch.Generator().get_state()
    if state.dtype != ref.dtype or state.shape != ref.shape:
        raise CheckpointError("The checkpoint's random-number state is malformed.")
    try:
        torch.Generator().set_state(state)  # a scratch generator: the trainer's is set only when loading
    except RuntimeError:
        raise CheckpointError("The checkpoint's random-number state is malformed.") from None


def read_run_state(tensors: dict[str, torch.Tensor], meta: dict, nets: dict[str, nn.Module],
                   optimizers: dict[str, torch.optim.Optimizer], orders: dict[str, str],
                   default_batch: int) -> RunState:
    """Check every network, the step, batch and data positions (`orders`: data order tensor key ->
    its cursor's metadata key), every optimiser and the RNG state; changes nothing."""
    require(tensors, "rng", *orders)
    for name, net in nets.items():
        check_module_tensors(name, net, tensors)
    step = meta_int(meta, "global_step")
    batch = meta_int(meta, "batch", lowest=1, default=default_batch)
    cursors = {}
    for key, cursor_key in orders.items():
        cursors[key] = meta_int(meta, cursor_key)
        check_order(key, tensors[key], cursors[key])
    for name, opt in optimizers.items():
        check_optimizer(name, opt, tensors, meta.get(name))
    check_rng(tensors["rng"])
    return RunState(step, batch, {name: meta[name] for name in optimizers}, cursors)


def load_run_state(trainer, tensors: dict[str, torch.Tensor], nets: dict[str, nn.Module],
                   optimizers: dict[str, torch.optim.Optimizer], run: RunState) -> None:
    """Load what `read_run_state` checked: the networks, optimisers, RNG, batch and step (the data
    orders are the kind's to restore after this, from the restored RNG and `run.cursors`)."""
    for name, net in nets.items():
        load_module(name, net, tensors)
    for name, opt in optimizers.items():
        load_optimizer(name, opt, tensors, run.groups[name])
    trainer.rng.set_state(tensors["rng"])
    trainer._set_batch(run.batch)
    trainer.global_step = run.step
