"""What a project folder's files may contain: typed, ranged checks of everything read back from disk.

A project folder is user-editable (and copyable from anywhere), so every file in it is untrusted
input: project.json, the checkpoints' JSON metadata (and the few bookkeeping tensors beside it),
history.jsonl lines and explore.json. Each reader calls one function here and turns a bad file
into one clear line (a UserError) instead of a TypeError deep inside torch or a QThread abort.

Config sections are checked against the dataclass that will be built from them, field by field
from its type hints, with ranges by field name (`INT_RANGES`, `FLOAT_RANGES`), then the class's
own `validate()`: a new model kind's config is checked without any code here.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path

from studio.engine.config import RunSettings, config_from_dict
from studio.engine.errors import CheckpointError, UserError

# Inclusive ranges of int fields by name, for any config class. The upper bounds keep a hand-edited
# file from asking for absurd allocations (a 10^9-long noise vector, a 10^6-wide network).
INT_RANGES: dict[str, tuple[int, int]] = {
    "size": (1, 4096),
    "channels": (1, 4),
    "z_dim": (1, 4096),
    "ngf": (1, 1024),
    "ndf": (1, 1024),
    "batch": (1, 4096),
    "preview_count": (1, 1024),
    "bn_chunks": (1, 4096),
    "n_blocks": (0, 64),
    "n_layers_D": (1, 8),
    "pool_size": (0, 10_000),
    "steps": (1, 10**9),
    "sample_every": (1, 10**9),
    "checkpoint_every": (1, 10**9),
    "log_every": (1, 10**9),
    "metric_every": (0, 10**9),
    "keep_checkpoints": (1, 1000),
    "seed": (0, 2**63 - 1),
}
DEFAULT_INT_RANGE = (0, 10**9)
# Adam refuses betas of 1 or more with a ValueError, so they stop just short of it.
FLOAT_RANGES: dict[str, tuple[float, float]] = {
    "lr": (1e-12, 1.0),
    "beta1": (0.0, 0.999999),
    "beta2": (0.0, 0.999999),
    "ema_decay": (0.0, 1.0),
    "decay_start": (0.0, 1.0),
}
DEFAULT_FLOAT_RANGE = (0.0, 1e6)
MAX_TEXT = 1000  # characters of a string field: names and choices, never essays
MAX_STEP = 10**12


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def is_int(value: object) -> bool:
    """A JSON whole number (JSON true/false are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bad(where: str, field: str, expected: str, value: object, error: type[UserError]) -> UserError:
    return error(f"{where}: {field} must be {expected}, not {_describe(value)}.")


def check_int(value: object, where: str, field: str, lo: int, hi: int, error: type[UserError] = UserError) -> int:
    if not is_int(value) or not lo <= value <= hi:
        raise _bad(where, field, f"a whole number from {lo:,} to {hi:,}", value, error)
    return value


def check_value(hint, value: object, where: str, field: str, error: type[UserError] = UserError) -> None:
    """Raise `error` unless `value` (read from JSON) fits the type hint `hint` and the field's range."""
    name = field.rsplit(".", 1)[-1]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return
        hint = next(a for a in options if a is not type(None))
        origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise _bad(where, field, "a JSON object", value, error)
        check_fields(hint, value, where, field + ".", error)
    elif hint is bool:
        if not isinstance(value, bool):
            raise _bad(where, field, "true or false", value, error)
    elif hint is int:
        check_int(value, where, field, *INT_RANGES.get(name, DEFAULT_INT_RANGE), error=error)
    elif hint is float:
        lo, hi = FLOAT_RANGES.get(name, DEFAULT_FLOAT_RANGE)
        if not is_number(value) or not math.isfinite(value) or not lo <= value <= hi:
            raise _bad(where, field, f"a number from {lo:g} to {hi:g}", value, error)
    elif hint is str:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise _bad(where, field, "a short text", value, error)
    elif origin in (tuple, list) or hint in (tuple, list):
        if not isinstance(value, list):
            raise _bad(where, field, "a list", value, error)
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        for i, item in enumerate(value):
            if args:
                check_value(args[0] if len(args) == 1 else args[min(i, len(args) - 1)], item, where,
                            f"{field}[{i}]", error)
    # Other hints (Any, dicts) carry no checkable shape; the class's validate() still runs.


def check_fields(cls, data: dict, where: str, prefix: str = "", error: type[UserError] = UserError) -> None:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in data:
            check_value(hints.get(f.name), data[f.name], where, prefix + f.name, error)


def check_config(cls, data: object, where: str, section: str, error: type[UserError] = UserError):
    """Build config dataclass `cls` from `data` (a JSON object; None means all defaults), checking
    every field's type and range and then `cls.validate()`. Unknown keys are ignored, as
    `config_from_dict` does (files from newer or older versions)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{where}: {section} must be a JSON object, not {_describe(data)}.")
    check_fields(cls, data, where, section + ".", error)
    try:
        cfg = config_from_dict(cls, data)
        if hasattr(cfg, "validate"):
            cfg.validate()
    except UserError as e:
        raise error(f"{where}: {section}: {_sentence(str(e))}") from None
    return cfg


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


# The classes of the sections a project layer may not import: a kind's model config (models/) and
# the data config (data/). Their owner registers one resolver, `resolver(kind) -> {section: class}`
# (studio.engine.models does, on import), so every kind's config is checked here without this
# module naming any; a KeyError/UserError from it means an unknown kind.
_section_resolvers: list[Callable[[object], dict[str, type]]] = []


def register_sections(resolver: Callable[[object], dict[str, type]]) -> None:
    if resolver not in _section_resolvers:
        _section_resolvers.append(resolver)


def _section_classes(kind: object, where: str, error: type[UserError]) -> dict[str, type]:
    if not isinstance(kind, str):
        raise error(f"{where}: the model kind must be a text, not {_describe(kind)}.")
    classes: dict[str, type] = {}
    for resolve in _section_resolvers:
        try:
            classes.update(resolve(kind))
        except (KeyError, UserError):
            raise error(f"{where}: unknown model kind {kind!r}; it may need a newer GAN Studio.") from None
    return classes


def _check_str_map(value: object, where: str, field: str) -> None:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise UserError(f"{where}: {field} must map names to texts, not {_describe(value)}.")


def _check_section(cls, data: object, where: str, section: str, error: type[UserError] = UserError):
    """The section built as `cls` (None when no class is registered for it)."""
    if cls is not None:
        return check_config(cls, data, where, section, error)
    if data is not None and not isinstance(data, dict):
        raise error(f"{where}: {section} must be a JSON object, not {_describe(data)}.")
    return None


# ----- project.json ------------------------------------------------------------------------------------
def check_project_meta(meta: object, path: Path | str, newest_format: int) -> dict:
    """Check a parsed project.json; returns it unchanged or raises UserError with one line."""
    where = str(path)
    if not isinstance(meta, dict):
        raise UserError(f"{where} is not a valid project file (not a JSON object).")
    if "format" in meta:
        fmt = check_int(meta["format"], where, "format", 0, 10**6)
        if fmt > newest_format:
            raise UserError(f"{Path(path).parent} was made by a newer GAN Studio; please update GAN Studio.")
    if "kind" not in meta:
        raise UserError(f"{where} is not a valid project file (no model kind).")
    classes = _section_classes(meta["kind"], where, UserError)
    if "step" in meta:
        check_int(meta["step"], where, "step", 0, MAX_STEP)
    model = _check_section(classes.get("model"), meta.get("model"), where, "model")
    check_config(RunSettings, meta.get("run"), where, "run")
    data = meta.get("data", {})
    if not isinstance(data, dict):
        raise UserError(f"{where}: data must be a JSON object, not {_describe(data)}.")
    data_cfg = _check_section(classes.get("data.config"), data.get("config"), where, "data.config")
    # A kind's model config takes its size and channels from the data config (ModelKind.default_config):
    # a mismatch would hand the trainer images of another shape.
    for field in ("size", "channels"):
        ours, theirs = getattr(model, field, None), getattr(data_cfg, field, None)
        if ours is not None and theirs is not None and ours != theirs:
            raise UserError(f"{where}: model.{field} ({ours}) does not match the images' {field} ({theirs}) "
                            "set in data.config.")
    for key in ("folders", "fingerprints"):
        if key in data:
            _check_str_map(data[key], where, f"data.{key}")
    counts = data.get("counts", {})
    if not isinstance(counts, dict) or not all(is_int(v) and v >= 0 for v in counts.values()):
        raise UserError(f"{where}: data.counts must map names to image counts, not {_describe(counts)}.")
    reports = data.get("reports", {})
    if not isinstance(reports, dict) or not all(isinstance(v, dict) for v in reports.values()):
        raise UserError(f"{where}: data.reports must map names to reports, not {_describe(reports)}.")
    for key in ("created",):
        if key in meta and not isinstance(meta[key], str):
            raise UserError(f"{where}: {key} must be a text, not {_describe(meta[key])}.")
    if "versions" in meta and not isinstance(meta["versions"], dict):
        raise UserError(f"{where}: versions must be a JSON object, not {_describe(meta['versions'])}.")
    if "parent" in meta:
        _check_parent(meta["parent"], where)
    return meta


def _check_parent(parent: object, where: str) -> None:
    """A fine-tuned project's lineage (models/finetune.py `parent_record`): the model it started from."""
    if not isinstance(parent, dict):
        raise UserError(f"{where}: parent must be a JSON object, not {_describe(parent)}.")
    for key in ("path", "kind", "checkpoint"):
        if not isinstance(parent.get(key), str) or len(parent[key]) > 4 * MAX_TEXT:
            raise UserError(f"{where}: parent.{key} must be a text, not {_describe(parent.get(key))}.")
    check_int(parent.get("step"), where, "parent.step", 0, MAX_STEP)
    adapted = parent.get("adapted", [])
    if not isinstance(adapted, list) or not all(isinstance(line, str) for line in adapted):
        raise UserError(f"{where}: parent.adapted must be a list of texts, not {_describe(adapted)}.")


# ----- checkpoints -------------------------------------------------------------------------------------
# Bookkeeping values every kind's trainer writes into its checkpoint JSON (see Trainer.state_dict).
_CHECKPOINT_COUNTERS = {"step": (0, MAX_STEP), "global_step": (0, MAX_STEP), "ema_updates": (0, MAX_STEP),
                        "total_steps": (1, MAX_STEP), "batch": (1, 4096)}
_SHA256_HEX = frozenset("0123456789abcdef")


def _optimizer_value_ok(key: str, value: object) -> bool:
    """A param-group setting as torch optimizers store it: numbers finite and not negative, `betas` two
    numbers below 1, switches true/false/null (foreach, fused, amsgrad, ...)."""
    if key == "betas":
        return (isinstance(value, list) and len(value) == 2
                and all(is_number(b) and math.isfinite(b) and 0 <= b < 1 for b in value))
    if isinstance(value, bool) or value is None:
        return True
    return is_number(value) and math.isfinite(value) and value >= 0


_CHECKPOINT_NAME = re.compile(r"^step-(\d+)\.json$")


def check_checkpoint_meta(meta: dict, name: str) -> None:
    """Check a checkpoint's JSON metadata (after its format is known to be readable); CheckpointError."""
    E = CheckpointError
    sha = meta.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64 or not set(sha) <= _SHA256_HEX:
        raise E(f"{name}: the checkpoint's integrity hash (sha256) is missing or malformed.")
    for key, (lo, hi) in _CHECKPOINT_COUNTERS.items():
        if key in meta:
            check_int(meta[key], name, key, lo, hi, E)
    named = _CHECKPOINT_NAME.match(name)
    if named and "step" in meta and meta["step"] != int(named.group(1)):
        raise E(f"{name}: its metadata says step {meta['step']}, its name another.")
    for key, value in meta.items():
        if key.startswith("cursor"):
            check_int(value, name, key, 0, 10**9, E)
    for opt in [k for k in meta if k.startswith("opt_")]:
        groups = meta[opt]
        if not isinstance(groups, list) or not groups or not all(isinstance(g, dict) for g in groups):
            raise E(f"{name}: checkpoint metadata has no valid optimizer state '{opt}'.")
        for g in groups:
            params = g.get("params", [])
            if not isinstance(params, list) or not all(is_int(p) and p >= 0 for p in params):
                raise E(f"{name}: optimizer state '{opt}' is malformed.")
            for k, v in g.items():
                if k != "params" and not _optimizer_value_ok(k, v):
                    raise E(f"{name}: optimizer setting '{opt}.{k}' is {_describe(v)}, which no optimizer takes.")
    if "config" in meta:
        model_cls = _section_classes(meta.get("kind"), name, E).get("model")
        _check_section(model_cls, meta["config"], name, "config", E)
    if "run" in meta and not isinstance(meta["run"], dict):
        raise E(f"{name}: run must be a JSON object, not {_describe(meta['run'])}.")


# What every kind's Trainer.state_dict() writes and its load_state_dict() reads back.
TRAINER_KEYS = ("global_step", "opt_G", "opt_D")


def check_trainer_state(tensors: dict, meta: dict, name: str) -> None:
    """Check what a trainer needs to continue from a checkpoint, beyond its weights: the counters and
    optimizer groups in the metadata, the RNG state and the data orders; CheckpointError.

    Weight shapes are the trainer's to check against its networks; these are checked here because a
    bad one passes every shape test and fails later, inside a training step."""
    import torch

    E = CheckpointError
    missing = [k for k in TRAINER_KEYS if k not in meta]
    if missing:
        raise E(f"{name}: checkpoint metadata is incomplete (no {', '.join(missing)}).")
    if "step" in meta and meta["global_step"] != meta["step"]:  # save_checkpoint writes both alike
        raise E(f"{name}: its metadata gives two different steps ({meta['global_step']} and {meta['step']}).")
    rng = tensors.get("rng")
    if rng is not None:
        ref = torch.Generator().get_state()
        if rng.dtype != ref.dtype or rng.shape != ref.shape:
            raise E(f"{name}: the saved random-number state is malformed.")
        try:
            torch.Generator().set_state(rng)
        except RuntimeError:
            raise E(f"{name}: the saved random-number state is malformed.") from None
    for key, order in tensors.items():
        if key != "order" and not key.startswith("order_"):
            continue
        n = order.numel()
        if order.ndim != 1 or order.dtype != torch.int64 or not torch.equal(torch.sort(order).values,
                                                                             torch.arange(n)):
            raise E(f"{name}: the saved data order '{key}' is not a permutation of the images.")
        cursor_key = "cursor" + key[len("order"):]  # each data order has its position: order_A, cursor_A
        cursor = meta.get(cursor_key)
        if not is_int(cursor):
            raise E(f"{name}: checkpoint metadata is incomplete (no {cursor_key}).")
        if cursor > n:
            raise E(f"{name}: the saved data position '{cursor_key}' lies past the end of the data.")


# ----- history.jsonl ---------------------------------------------------------------------------------
def history_record(value: object) -> dict | None:
    """A parsed history line as a record, or None when it is not one: a JSON object with a whole,
    non-negative `step` and a number for every other field (NaN included: a diverged step is
    logged as such); the studio formats each field as a number."""
    if not isinstance(value, dict):
        return None
    step = value.get("step")
    if not is_int(step) or not 0 <= step <= MAX_STEP:
        return None
    if not all(is_number(v) for v in value.values()):
        return None
    return value


# ----- explore.json ----------------------------------------------------------------------------------
def explore_problem(data: object, newest_format: int) -> str | None:
    """Why a parsed explore.json cannot be used as a whole (None when its structure is sound).
    Raises UserError for a file written by a newer version (moving it aside would lose it)."""
    if not isinstance(data, dict):
        return "not a JSON object"
    fmt = data.get("format", 1)
    if not is_int(fmt) or fmt < 0:
        return f"format is {_describe(fmt)}"
    if fmt > newest_format:
        raise UserError("explore.json was written by a newer GAN Studio; please update GAN Studio.")
    z_dim = data.get("z_dim")
    if z_dim is not None and (not is_int(z_dim) or not 1 <= z_dim <= INT_RANGES["z_dim"][1]):
        return f"z_dim is {_describe(z_dim)}"
    for key in ("latents", "directions", "favourites"):
        if data.get(key) is not None and not isinstance(data[key], list):
            return f"{key} is {_describe(data[key])}, not a list"
    return None
