"""Starting a new project from a trained model of the same kind (fine-tuning).

A designer with a hundred pictures gets further by starting from a model that already learned
something related than from noise (the StyleGAN2-ADA authors report transfer reaching good results
in a fraction of the training). `read_parent` reads the other project's newest checkpoint, or a model
file (a GAN Studio checkpoint's ``.safetensors`` / ``.json``; pickles are never run, see
weight_import.py); `check_parent` refuses, with one sentence, what cannot be carried over; and
`transfer` copies the generator, EMA generator and discriminator weights into a freshly built trainer.

One loader for every kind with a latent space: trainers name their networks' tensors ``G.*``,
``D.*`` and ``G_ema.*`` (train/latent_trainer.py), and a tensor is copied when the parent has one of
the same name and shape. What differs is adapted where that keeps its meaning and left freshly
initialised otherwise, and the report says which:
- image channels (grey <-> colour, an alpha channel): the generator's colour outputs are averaged
  (colour -> grey) or replicated (grey -> colour); the discriminator's colour inputs are summed or
  divided, so a grey picture gets the same response either way; an alpha channel the parent never
  had starts fresh;
- a larger size: the kind says which of the parent's tensors a module of the larger network
  corresponds to (`ModelKind.parent_key`); the blocks the parent never had start fresh.
Optimisers, data order and the step count start anew (step 0); buffers come along (a style-based
generator's tracked w average, BatchNorm statistics). Plain torch; any thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from studio.engine.config import config_from_dict
from studio.engine.errors import CheckpointError, UserError
from studio.engine.models import get_kind
from studio.engine.models.kind import ModelKind
from studio.engine.project.checkpoints import checkpoints_to_try, load_checkpoint
from studio.engine.project.folder import Project

NETWORKS = ("G", "D", "G_ema")  # the trainer's networks, by the prefix of their checkpoint tensors
GENERATORS = ("G", "G_ema")  # image channels are their outputs; the discriminator's are its inputs


@dataclass(frozen=True)
class Parent:
    """A trained model a new project starts from. Read-only; any thread."""

    path: str  # the project folder or model file, absolute
    kind: str  # its model kind's name
    step: int  # the training step its weights are from
    checkpoint: str  # sha256 of the weights file they were read from
    config: dict  # its model config as recorded (JSON)
    tensors: dict[str, torch.Tensor] = field(repr=False)  # G.*, D.*, G_ema.* on the CPU

    @property
    def name(self) -> str:
        return Path(self.path).name

    def model_config(self, kind: ModelKind):
        """The parent's model config as `kind`'s dataclass."""
        try:
            return config_from_dict(kind.config_cls, self.config)
        except (TypeError, ValueError) as e:
            raise UserError(f"{self.name}: its model settings cannot be read ({e}).") from None


@dataclass
class TransferReport:
    """What `transfer` did: tensors copied as they were, adapted (with how), and left fresh."""

    copied: int = 0
    adapted: list[str] = field(default_factory=list)  # "D.main.0.weight: colour inputs summed to grey"
    fresh: list[str] = field(default_factory=list)  # tensor names the parent had nothing for
    notes: list[str] = field(default_factory=list)  # what the kind's training does about it (started_from_parent)

    def lines(self) -> list[str]:
        """The report in sentences, for the CLI and project.json."""
        out = [f"{self.copied:,} weight tensors copied from the parent."]
        if self.adapted:
            out.append(f"{len(self.adapted)} adapted: " + "; ".join(self.adapted) + ".")
        if self.fresh:
            nets = sorted({name.split(".", 1)[0] for name in self.fresh})
            out.append(f"{len(self.fresh)} newly initialised (layers the parent does not have, in "
                       f"{', '.join(nets)}).")
        return out + self.notes


# ----- reading -------------------------------------------------------------------------------------
def read_parent(source: Path | str) -> Parent:
    """The model at `source`: a project folder (its newest checkpoint that verifies) or a model file
    GAN Studio wrote (a checkpoint's .safetensors or .json). UserError with one sentence otherwise."""
    path = Path(source).expanduser().resolve()
    if Project.is_project(path):
        project = Project.open(path, clean=False)
        errors = []
        try:
            candidates = checkpoints_to_try(project)
        except UserError:
            raise UserError(f"{path.name} has no trained checkpoint yet: train it first, then start a "
                            "new project from it.") from None
        for ckpt in candidates:
            try:
                tensors, meta = load_checkpoint(ckpt)
            except CheckpointError as e:
                errors.append(str(e))
                continue
            return _parent(path, project.kind, meta, tensors, project.meta.get("model"))
        raise UserError(f"{path.name}: none of its checkpoints can be read ({errors[0]}).")
    if path.is_dir():
        raise UserError(f"{path} is neither a GAN Studio project nor a model file.")
    if not path.exists():
        raise UserError(f"{path} does not exist.")
    from studio.engine.models.weight_import import read_weights

    try:
        tensors, meta = read_weights(path)
    except CheckpointError as e:
        raise UserError(_sentence(str(e))) from None
    kind, config = meta.get("kind"), meta.get("config")
    if isinstance(config, str):  # a safetensors header's metadata holds texts only
        try:
            config = json.loads(config)
        except json.JSONDecodeError:
            config = None
    if not isinstance(kind, str) or not isinstance(config, dict):
        raise UserError(f"{path.name} does not say which model it is (no kind and settings beside its weights): "
                        "start from the project folder it came from, or from one of its checkpoints.")
    return _parent(path, kind, meta, tensors, config)


def _parent(path: Path, kind: str, meta: dict, tensors: dict, config) -> Parent:
    weights = {k: v for k, v in tensors.items() if k.split(".", 1)[0] in NETWORKS}
    if not any(k.startswith("G.") or k.startswith("G_ema.") for k in weights):
        raise UserError(f"{path.name} holds no generator weights to start from.")
    sha = meta.get("sha256")
    if not isinstance(sha, str):  # a model file without GAN Studio's metadata: hash what was read
        import hashlib

        sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    step = meta.get("step", meta.get("global_step", 0))
    return Parent(str(path), kind, int(step) if isinstance(step, int) else 0, sha,
                  dict(config) if isinstance(config, dict) else {}, weights)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


# ----- checking ------------------------------------------------------------------------------------
def check_parent(kind: ModelKind, parent: Parent, cfg) -> None:
    """UserError unless a `kind` project with model config `cfg` can start from `parent`: the same
    kind, the same network shape (`ModelKind.architecture_fields`), and a size and colour change the
    kind can adapt (`ModelKind.fine_tune_problem`)."""
    if not kind.capabilities.latent_space:
        raise UserError(f"{kind.title} projects cannot start from another model yet: fine-tuning carries over a "
                        "generator from noise and its critic.")
    if parent.kind != kind.name:
        try:
            theirs = get_kind(parent.kind).title
        except UserError:
            theirs = str(parent.kind)
        raise UserError(f"{parent.name} is a {theirs} model; a {kind.title} project can only start from a "
                        f"{kind.title} model.")
    pcfg = parent.model_config(kind)
    differ = [f for f in kind.architecture_fields if getattr(pcfg, f, None) != getattr(cfg, f, None)]
    if differ:
        said = "; ".join(f"{_field_title(kind, f)} {getattr(pcfg, f)} there, {getattr(cfg, f)} here" for f in differ)
        raise UserError(f"{parent.name} has another network shape ({said}). Fine-tuning keeps the network of the "
                        "model it starts from: leave these settings as they are.")
    problem = kind.fine_tune_problem(pcfg, cfg)
    if problem:
        raise UserError(f"Cannot start from {parent.name}: {problem}")


def _field_title(kind: ModelKind, name: str) -> str:
    for option in kind.options:
        if option.name == name or (option.name == "width" and name in kind.width_fields):
            return f"{option.title.lower()} ({name})"
    return name.replace("_", " ")


# ----- copying -------------------------------------------------------------------------------------
@torch.no_grad()
def transfer(trainer, kind: ModelKind, parent: Parent) -> TransferReport:
    """Copy `parent`'s G, D and G_ema weights into `trainer` (a LatentTrainer just built for a new
    project), adapting what `check_parent` allowed. Validates every tensor before changing any, so
    a refused parent leaves the trainer as it was. Training thread."""
    pcfg = parent.model_config(kind)
    cfg = trainer.cfg
    report = TransferReport()
    planned: list[tuple[torch.Tensor, torch.Tensor]] = []
    for prefix, module in trainer._modules():
        for key, dst in module.state_dict().items():
            name = f"{prefix}.{key}"
            src_key = kind.parent_key(prefix, key, pcfg, cfg)
            src = parent.tensors.get(f"{prefix}.{src_key}") if src_key is not None else None
            if src is None and prefix in GENERATORS and src_key is not None:
                # A model with one generator (an import keeps only the averaged one): it serves as both.
                other = "G" if prefix == "G_ema" else "G_ema"
                src = parent.tensors.get(f"{other}.{src_key}")
            if src is None or src.dtype != dst.dtype:
                report.fresh.append(name)
                continue
            if src.shape == dst.shape:
                planned.append((dst, src))
                report.copied += 1
                continue
            adapted = _adapt_channels(src, dst, prefix in GENERATORS, pcfg.channels, cfg.channels)
            if adapted is None:
                report.fresh.append(name)
                continue
            value, how = adapted
            planned.append((dst, value))
            report.adapted.append(f"{name}: {how}")
    g_total = sum(1 for prefix, module in trainer._modules() if prefix == "G" for _ in module.state_dict())
    if sum(1 for n in report.fresh if n.startswith("G.")) == g_total:
        raise UserError(f"Nothing of {parent.name}'s generator fits this model.")
    for dst, value in planned:
        dst.copy_(value.to(dst.device))
    return report


def _adapt_channels(src: torch.Tensor, dst: torch.Tensor, generator: bool, c_old: int,
                    c_new: int) -> tuple[torch.Tensor, str] | None:
    """`src` reshaped to `dst`'s image-channel count, or None when the tensors differ otherwise.

    A generator's channels are outputs: grey from colour is their mean, colour from grey copies it.
    A discriminator's are inputs: grey weights are the colour ones summed, colour weights a third of
    the grey ones, so a grey picture (r = g = b) meets the same weights either way. A fourth (alpha)
    channel the parent lacked keeps its fresh values; one it had is dropped."""
    if src.ndim != dst.ndim or c_old == c_new:
        return None
    diff = [d for d in range(src.ndim) if src.shape[d] != dst.shape[d]]
    if len(diff) != 1 or (src.shape[diff[0]], dst.shape[diff[0]]) != (c_old, c_new):
        return None
    d = diff[0]
    out = dst.detach().clone().cpu()
    src = src.to(out.dtype)
    rgb_new, rgb_old = min(c_new, 3), min(c_old, 3)
    old_rgb = src.narrow(d, 0, rgb_old)
    if rgb_old == rgb_new:
        out.narrow(d, 0, rgb_new).copy_(old_rgb)
        how = "alpha channel added, starting fresh" if c_new > c_old else "alpha channel dropped"
    elif rgb_new == 1:  # colour -> grey
        out.narrow(d, 0, 1).copy_(old_rgb.mean(d, keepdim=True) if generator else old_rgb.sum(d, keepdim=True))
        how = "colour outputs averaged to grey" if generator else "colour inputs summed to grey"
    else:  # grey -> colour
        one = old_rgb if generator else old_rgb / 3
        out.narrow(d, 0, 3).copy_(one.expand(*[3 if i == d else -1 for i in range(src.ndim)]))
        how = "grey output copied to each colour" if generator else "grey input shared by the colours"
    return out, how


def parent_record(parent: Parent, report: TransferReport) -> dict:
    """What project.json's "parent" holds (see project/schema.py): where the model came from, its kind,
    step and checkpoint hash, and what was adapted."""
    return {"path": parent.path, "kind": parent.kind, "step": parent.step, "checkpoint": parent.checkpoint,
            "adapted": report.lines()}


# ----- FreezeD -------------------------------------------------------------------------------------
def frozen_critic(kind_name: str, n: int):
    """FreezeD (Mo et al. 2020): a function giving the modules of a critic's first `n` blocks, the ones
    nearest the pixels, which the kind names (`critic_blocks`); None for 0. For `LatentTrainer._use_nets`.
    The function raises UserError when the critic has fewer blocks than `n`."""
    if n <= 0:
        return None
    kind = get_kind(kind_name)
    blocks_of = getattr(kind, "critic_blocks", None)
    if blocks_of is None:
        raise UserError(f"{kind.title} cannot freeze its critic's blocks.")

    def pick(D) -> list:
        blocks = blocks_of(D)
        if n > len(blocks):
            raise UserError(f"This critic has {len(blocks)} blocks that can be frozen; FreezeD asked for {n}. "
                            f"Choose {len(blocks)} or fewer.")
        return [m for block in blocks[:n] for m in block]

    return pick
