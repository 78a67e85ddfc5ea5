"""Importing model files from outside a project: safetensors + JSON only; pickle is never run.

Designers share generators. A PyTorch ``.pt`` / ``.pth`` / ``.ckpt`` / ``.bin`` file is a pickle (usually inside
a zip), and unpickling runs whatever code the file names. So files are recognised by their first bytes, not
their name: safetensors (with an optional GAN Studio ``.json`` next to it) is read; a pickle is refused
without being opened by the unpickler, unless the caller passes ``allow_plain_weights=True`` after asking the
user, and even then it is read with ``torch.load(weights_only=True)``, which only rebuilds tensors and plain
containers and rejects anything else in the file. Every imported tensor is then checked against a freshly
built network of the target model (names, shapes, dtypes, finite values) before anything is returned, so a
bad file changes nothing in the studio.
"""

from __future__ import annotations

import json
import struct
import warnings
from pathlib import Path

import torch
from torch import nn

from studio.engine.errors import CheckpointError
from studio.engine.project.checkpoints import (
    FORMAT_VERSION,
    MAX_CHECKPOINT_BYTES,
    load_checkpoint,
    load_safetensors_bytes,
)
from studio.engine.train.protocol import check_module_tensors

# What a file's first bytes say it is (see sniff_format).
SAFETENSORS, TORCH_ZIP, PICKLE, UNKNOWN = "safetensors", "torch-zip", "pickle", "unknown"
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle")
# Where generators sit inside other programs' files, tried in this order (GAN Studio's own first).
_GENERATOR_PREFIXES = ("G_ema.", "G.", "netG.", "generator.", "state_dict.G.", "state_dict.", "model.", "")
_MAX_HEADER = 100 * 1024 * 1024  # the safetensors library's own limit on the JSON header


def sniff_format(path: Path | str) -> str:
    """SAFETENSORS, TORCH_ZIP (torch.save's zip holding a pickle), PICKLE or UNKNOWN, from the first bytes.

    Reads 16 bytes; never unpickles. Raises CheckpointError if the file cannot be read. Any thread."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(16)
        size = path.stat().st_size
    except FileNotFoundError:
        raise CheckpointError(f"{path.name}: file not found") from None
    except OSError as e:
        raise CheckpointError(f"{path.name}: cannot read ({e.strerror})") from None
    if head[:4] == b"PK\x03\x04":
        return TORCH_ZIP
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # PROTO opcode: every pickle >= protocol 2
        return PICKLE
    if len(head) >= 9:
        (n,) = struct.unpack("<Q", head[:8])
        if 2 <= n <= size - 8 and head[8:9] == b"{":
            return SAFETENSORS
    return UNKNOWN


def read_weights(path: Path | str, *, allow_plain_weights: bool = False) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a weights file from outside: (CPU tensors by name, metadata).

    `path` may name a ``.safetensors`` file or the GAN Studio ``.json`` next to one (then the pair is
    verified like a checkpoint: hash, format version). A pickle-based PyTorch file raises CheckpointError
    unless `allow_plain_weights`; then it is read with ``torch.load(weights_only=True)`` and must hold
    nothing but (nested dicts of) tensors and plain numbers. Nested dicts are flattened to dotted names.
    Every error is a CheckpointError with one line for the user. Any thread; touches no model."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        path = path.with_suffix(".safetensors")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CheckpointError(f"{path.name}: file not found") from None
    except OSError as e:
        raise CheckpointError(f"{path.name}: cannot read ({e.strerror})") from None
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{path.name}: file is implausibly large for a generator ({size >> 20} MB)")
    kind = sniff_format(path)
    if kind in (TORCH_ZIP, PICKLE):
        if not allow_plain_weights:
            raise CheckpointError(
                f"{path.name}: this is a PyTorch pickle file, which can run code when opened; GAN Studio did not "
                "open it. Ask for a .safetensors file, or allow loading plain weights from it if you trust it"
            )
        return _read_plain_weights(path), {}
    if kind != SAFETENSORS:
        if path.suffix.lower() in PICKLE_SUFFIXES:
            raise CheckpointError(f"{path.name}: not a PyTorch weights file GAN Studio can read (damaged?)")
        if path.suffix.lower() == ".safetensors":
            raise CheckpointError(f"{path.name}: not a valid safetensors file (empty, or its header is damaged)")
        raise CheckpointError(f"{path.name}: not a model file GAN Studio can read (expected .safetensors)")
    if _is_studio_sidecar(path.with_suffix(".json")):
        return load_checkpoint(path)  # GAN Studio's own pair: hash and format version checked there
    try:
        blob = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"{path.name}: cannot read ({e.strerror})") from None
    meta = _safetensors_metadata(blob)
    version = meta.get("format")
    if version is not None:
        try:
            newer = int(version) > FORMAT_VERSION
        except (TypeError, ValueError):
            newer = True
        if newer:
            raise CheckpointError(f"{path.name}: made by a newer GAN Studio (format {version}); "
                                  "please update GAN Studio")
    return load_safetensors_bytes(blob, path.name), meta


def _is_studio_sidecar(path: Path) -> bool:
    """Whether `path` is GAN Studio checkpoint metadata (another tool's same-named .json is ignored)."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return True  # let load_checkpoint report the damaged metadata
    return isinstance(meta, dict) and ("format" in meta or "sha256" in meta)


def _safetensors_metadata(blob: bytes) -> dict:
    """The optional ``__metadata__`` (str -> str) of a safetensors header; {} when absent or unparsable
    (load_safetensors_bytes then reports what is wrong with the header)."""
    if len(blob) < 8:
        return {}
    (n,) = struct.unpack("<Q", blob[:8])
    if n > min(len(blob) - 8, _MAX_HEADER):
        return {}
    try:
        header = json.loads(blob[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return dict(meta) if isinstance(meta, dict) else {}


def _read_plain_weights(path: Path) -> dict[str, torch.Tensor]:
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it was not written with
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - the unpickler raises many types; all mean "refused"
        text = str(e)
        if "weights only" in text.lower() or "weights_only" in text.lower():
            raise CheckpointError(
                f"{path.name}: refused: the file holds more than plain weights (code or custom objects), "
                "which GAN Studio never runs"
            ) from None
        first = text.strip().splitlines()[0][:120] if text.strip() else e.__class__.__name__
        raise CheckpointError(f"{path.name}: cannot read this PyTorch file ({first})") from None
    tensors: dict[str, torch.Tensor] = {}
    _flatten("", obj, tensors)
    if not tensors:
        raise CheckpointError(f"{path.name}: the file holds no weights")
    for k, t in tensors.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise CheckpointError(f"{path.name}: tensor '{k}' holds NaN or infinite values")
    return tensors


def _flatten(prefix: str, obj, out: dict[str, torch.Tensor]) -> None:
    if isinstance(obj, torch.Tensor):
        out[prefix[:-1]] = obj.detach().cpu()
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(f"{prefix}{k}.", v, out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _flatten(f"{prefix}{i}.", v, out)
    # plain numbers and strings (epoch counters, names) are not weights: ignored


# ----- generators ----------------------------------------------------------------------------------
def _target(target):
    """(kind, model config) from a model config dataclass or a Project."""
    from studio.engine.models import KINDS, get_kind

    for kind in KINDS.values():
        if isinstance(target, kind.config_cls):
            return kind, target
    meta = getattr(target, "meta", None)
    if isinstance(meta, dict) and "kind" in meta:  # a Project
        from studio.engine.config import config_from_dict

        kind = get_kind(meta["kind"])
        return kind, config_from_dict(kind.config_cls, meta.get("model"))
    raise TypeError(f"import_generator needs a model config or a Project, not {type(target).__name__}")


def _pick(tensors: dict[str, torch.Tensor], module: nn.Module, name: str, prefixes: tuple[str, ...]) -> dict:
    """The tensors of one network, found under the first prefix that holds any of its weight names."""
    wanted = set(module.state_dict())
    for p in prefixes:
        sub = {k[len(p) :]: v for k, v in tensors.items() if k.startswith(p)}
        if wanted & set(sub):
            if p == "":  # a bare file: it must be this network and nothing else
                extra = sorted(set(sub) - wanted)
                if extra:
                    raise CheckpointError(
                        f"{name}: {len(extra)} weight(s) this model does not have (e.g. '{extra[0]}'): "
                        "made for a different network"
                    )
            return sub
    example = next(iter(wanted))
    raise CheckpointError(f"{name}: holds no weights of this generator (expected names like '{example}')")


def import_generator(path: Path | str, target, *, allow_plain_weights: bool = False) -> dict[str, torch.Tensor]:
    """Read a generator from a file made elsewhere and check it fits `target` (a model config or Project).

    Returns CPU tensors keyed like the kind's ``Trainer.generator_state()``: a DCGAN generator's own names
    (``main.0.weight``...; give them to ``inference.GeneratorModel``), or ``G.*`` (A -> B) and ``F.*``
    (B -> A) for a CycleGAN. Accepts GAN Studio checkpoints (their EMA generator is used), bare
    generator files, and files with the generator under a common prefix (``G.``, ``netG.``...).
    Raises CheckpointError with one line (pickle refused, damaged, newer format, wrong kind, missing names,
    wrong shapes or dtypes, NaN); builds its own networks for the checks, so no model the caller holds is
    touched. Any thread."""
    path = Path(path)
    kind, cfg = _target(target)
    tensors, meta = read_weights(path, allow_plain_weights=allow_plain_weights)
    if meta.get("kind") not in (None, kind.name):
        raise CheckpointError(f"{path.name}: this is a {_title(meta['kind'])} model; the project is a {kind.title}")
    out: dict[str, torch.Tensor] = {}
    for prefix, module in kind.generator_modules(cfg).items():
        prefixes = (prefix,) if prefix else _GENERATOR_PREFIXES
        sub = _pick(tensors, module, path.name, prefixes)
        name = prefix.rstrip(".") or "G"
        try:
            check_module_tensors(name, module, {f"{name}.{k}": v for k, v in sub.items()})
        except CheckpointError as e:
            raise CheckpointError(f"{path.name}: {e}") from None
        for k in module.state_dict():
            t = sub[k]
            if t.is_floating_point() and not torch.isfinite(t).all():
                raise CheckpointError(f"{path.name}: '{prefix}{k}' holds NaN or infinite values")
        try:
            module.load_state_dict({k: sub[k] for k in module.state_dict()})
        except RuntimeError as e:
            raise CheckpointError(f"{path.name}: does not fit this model ({str(e).splitlines()[0][:120]})") from None
        out.update({f"{prefix}{k}": v.detach().clone() for k, v in module.state_dict().items()})
    return out


def _title(name: object) -> str:
    """A kind's title for a message; the raw name when this version does not know the kind."""
    from studio.engine.models import KINDS

    return KINDS[name].title if isinstance(name, str) and name in KINDS else str(name)
