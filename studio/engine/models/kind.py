"""What the rest of the program may ask about a model kind: `ModelKind`.

A kind is one folder under `studio/engine/models/` (nets, trainer, kind-specific inference) whose
`kind.py` defines a `ModelKind` subclass. The studio, the app layer and the command line never
compare a kind's name: they ask its `ModelKind` for titles, data roles, sizes, options,
capabilities and suggested settings, and for its trainer. Plain Python; any thread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studio.engine.config import config_from_dict
from studio.engine.errors import UserError

if TYPE_CHECKING:  # only for annotations: the kinds module must not pull torch into a bare import
    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import DataConfig, ImageDataset
    from studio.engine.train.distributed import DistInfo


@dataclass(frozen=True)
class Role:
    """One data folder a kind trains from."""

    name: str  # key in project.json's data.folders, e.g. "data", "a", "b"
    title: str  # shown to users, e.g. "Folder A"
    cli_flag: str  # e.g. "--data-a"
    help: str  # one line for --help and the wizard


@dataclass(frozen=True)
class Option:
    """A model setting a user may change, offered alike by the wizard and the command line.

    Three sorts, told apart by `choices` and `default`:
    - choices: (value, label) pairs; a combo box in the wizard, `--flag VALUE` on the command line;
    - a whole number (no choices, an int default): a spin box, `--flag N`, within minimum..maximum;
    - a switch (no choices, a bool default, or None): a check box; on the command line
      `--flag/--no-flag`, or `--flag auto|on|off` when the default is None, meaning the value is
      derived from the data (see `ModelKind.suggest_options`)."""

    name: str  # key of the overrides dict handed to `default_config`
    title: str  # wizard label
    help: str  # one line for --help and the wizard's tooltip
    cli_flag: str  # e.g. "--diffaugment"
    choices: tuple[tuple[Any, str], ...] | None = None
    default: Any = None
    minimum: int = 1  # whole-number options: the range offered
    maximum: int = 4096

    @property
    def is_switch(self) -> bool:
        return self.choices is None and (self.default is None or isinstance(self.default, bool))

    @property
    def is_number(self) -> bool:
        return self.choices is None and not self.is_switch

    @property
    def derived(self) -> bool:
        """Whether the value follows from the data unless the user sets it."""
        return self.default is None


@dataclass(frozen=True)
class Translation:
    """How a translating kind's generator for one direction is built and fed (`ModelKind.translation`).

    The translate path pads any picture to `multiple`, runs `net` and crops back, so it needs no
    more than this about the network."""

    net: Any  # an untrained nn.Module: (B, channels, H, W) in [-1, 1] -> (B, channels, H, W) in [-1, 1]
    prefix: str  # the name prefix of its tensors in checkpoints and `generator_state()`, e.g. "G"
    channels: int  # picture channels in and out
    multiple: int  # H and W must be multiples of this (the net's total downsampling)
    bytes_per_pixel: float  # peak memory of one forward pass per input pixel (fp32, no grad)
    upscale: int = 1  # pictures are enlarged by this factor before the net (super-resolution models)


# The G/D width option of the convolutional kinds (DCGAN, CycleGAN, pix2pix): one number sets ngf and
# ndf together (`ModelKind.width_fields`).
WIDTH_OPTION = Option("width", "Network width", "network width ngf/ndf: smaller trains faster, larger can learn "
                      "more detail (default 64)", "--width", default=64, maximum=1024)


@dataclass(frozen=True)
class Capabilities:
    """What a trained model of the kind can do; the UI shows the matching panels."""

    latent_space: bool = False  # a generator from noise: pad, arithmetic, walks, `generate`
    translates: bool = False  # image -> image: Translate panel, `translate`
    drawable_input: bool = False  # its input can be drawn (sketch pad)
    classes: bool = False  # conditional on sub-folder classes
    # A mapping network z -> w and per-layer styles (the generator exposes `mapping`, `synthesis`,
    # `num_ws`, `w_dim`): the explorer works in W, mixes styles by layer group, projects into w+.
    style_space: bool = False
    multi_device: bool = True  # data-parallel training (--devices N) through the shared session


@dataclass(frozen=True)
class Suggestion:
    """Pre-filled settings for a new project and a one-line reason for each, shown in the wizard.

    The command line applies the same suggestion for every value the user did not give, so the
    studio and the CLI build the same model config for the same folder."""

    size: int  # training image side in pixels
    batch: int  # images (or pairs) per step
    flip: bool  # random left-right mirroring
    steps: int  # total training steps
    sample_every: int  # a sample grid every N steps
    checkpoint_every: int  # a checkpoint every N steps
    options: dict[str, Any] = field(default_factory=dict)  # every Option's value: derived from the data, or its default
    reasons: dict[str, str] = field(default_factory=dict)  # "size", "batch", "flip" or an Option name -> reason

    def overrides(self) -> dict[str, Any]:
        """The model-config overrides this suggestion stands for (what `default_config` takes)."""
        return {"batch": self.batch, "flip": self.flip, **self.options}

    def chosen(self, **given: Any) -> Suggestion:
        """This suggestion with the values a user gave (None: not given, the suggestion stands).

        Names are the fields above (size, batch, flip, steps, sample_every, checkpoint_every) or an
        Option's name. The wizard and the command line both end here, so a value nobody changed is
        the suggested one in both."""
        top = {f.name for f in dataclasses.fields(self)} - {"options", "reasons"}
        given = {k: v for k, v in given.items() if v is not None}
        return dataclasses.replace(
            self,
            **{k: v for k, v in given.items() if k in top},
            options={**self.options, **{k: v for k, v in given.items() if k not in top}},
            reasons={k: ("Chosen by you" if k in given else r) for k, r in self.reasons.items()},
        )

    def project_settings(self, data_cfg: DataConfig, run: RunSettings) -> tuple[DataConfig, RunSettings, dict]:
        """What a new project is created with (`create_session`'s data config, run settings and model
        overrides): this suggestion's size, schedules and model values over `data_cfg` and `run`,
        which bring the rest (fitting, colour, seed, device...)."""
        return (
            dataclasses.replace(data_cfg, size=self.size),
            dataclasses.replace(run, steps=self.steps, sample_every=self.sample_every,
                                checkpoint_every=self.checkpoint_every),
            self.overrides(),
        )


class ModelKind:
    """Base class: one subclass per kind, one instance in the registry (`studio.engine.models.KINDS`).

    Subclasses set the class attributes and implement `make_trainer`; the rest has defaults that
    fit a kind trained on square images from its roles' folders."""

    name: str = ""  # stored in project.json; the CLI's `train NAME`
    title: str = ""  # short, e.g. "DCGAN"
    summary: str = ""  # one line for the wizard and --help, e.g. "new images from noise"
    roles: tuple[Role, ...] = ()  # the usual folders; training needs all of them
    # Other sets of folders the kind can train from instead of `roles` (e.g. one folder of
    # side-by-side pairs); a project gives exactly one set (`roles_for`).
    alternative_roles: tuple[tuple[Role, ...], ...] = ()
    sizes: tuple[int, ...] = (32, 64, 128, 256)
    config_cls: type = object
    capabilities: Capabilities = Capabilities()
    options: tuple[Option, ...] = ()
    batch_unit: str = "images"  # "images per step" / "pairs per step"
    export_formats: tuple[str, ...] = ("png",)
    default_steps: int = 5000
    default_sample_every: int = 100
    # Steps after which samples usually show recognisable shapes (the wizard's estimate says when);
    # None: not known for the kind.
    first_shapes_steps: int | None = None
    preview_layout: str = "a grid of samples from fixed noise"  # what the sample grid shows
    # Config fields a "width" option sets together (G's and D's widths: one number is what a user
    # picks); () when "width" is a config field of its own or there is no such option.
    width_fields: tuple[str, ...] = ()
    # Config fields that shape the networks besides size and channels: a project fine-tuned from
    # another model keeps them (models/finetune.py).
    architecture_fields: tuple[str, ...] = ()

    # ----- data -----------------------------------------------------------------------------------
    def role(self, name: str) -> Role:
        for r in self.all_roles():
            if r.name == name:
                return r
        raise KeyError(name)

    def role_sets(self) -> tuple[tuple[Role, ...], ...]:
        """Every set of folders the kind can train from, the usual one (`roles`) first."""
        return (self.roles, *self.alternative_roles)

    def all_roles(self) -> tuple[Role, ...]:
        """Every role of every set, once each, in order."""
        seen: dict[str, Role] = {}
        for roles in self.role_sets():
            for r in roles:
                seen.setdefault(r.name, r)
        return tuple(seen.values())

    def roles_for(self, folders: dict[str, str]) -> tuple[Role, ...]:
        """The role set that the given folders (role name -> folder; empty ones do not count) fill
        exactly; UserError saying what is missing or which sets there are otherwise."""
        given = {name for name, folder in folders.items() if folder}
        for roles in self.role_sets():
            if {r.name for r in roles} == given:
                return roles
        if len(self.role_sets()) == 1:
            missing = [r.title for r in self.roles if r.name not in given]
            if missing:
                raise UserError(f"{self.title} needs a data folder for: {', '.join(missing)}.")
            extra = sorted(given - {r.name for r in self.roles})
            raise UserError(f"{self.title} takes no folder for: {', '.join(extra)}.")
        ways = ", or ".join(" and ".join(r.title for r in roles) for roles in self.role_sets())
        raise UserError(f"{self.title} trains from {ways}; give the folders of one of these.")

    def prepare_datasets(self, roles: tuple[Role, ...], folders: dict[str, str], data_cfg: DataConfig, cfg,
                         progress=None, should_cancel=None) -> dict[str, ImageDataset]:
        """The prepared datasets of `roles` (a set from `roles_for`) at `data_cfg` (from `load_config`),
        for the model config `cfg`. A kind whose folders relate (pairs) overrides this."""
        from studio.engine.data.dataset import prepare_dataset

        return {r.name: prepare_dataset(folders[r.name], data_cfg, progress=progress, should_cancel=should_cancel)
                for r in roles}

    def made_inputs_option(self, roles: tuple[Role, ...]) -> Option | None:
        """For a set of folders whose inputs the model makes from the pictures (pairs from one folder):
        the option saying how; None when the set's inputs are pictures of their own (the default).
        The wizard asks for it beside the folder."""
        return None

    def example_pairs(self, cfg, datasets: dict[str, ImageDataset], count: int = 8) -> list:
        """Up to `count` (input, target) uint8 (H, W, C) pairs of the prepared `datasets` as a model of
        config `cfg` learns from them (made inputs made), for the wizard's preview; [] for a kind that
        does not learn from pairs (the default). Any thread."""
        return []

    def load_config(self, cfg, data_cfg: DataConfig) -> DataConfig:
        """The DataConfig the folders are decoded with (a kind may load larger, for random crops)."""
        return data_cfg

    # ----- config ---------------------------------------------------------------------------------
    def default_config(self, data_cfg: DataConfig, datasets: dict[str, ImageDataset], overrides: dict):
        """The model config: data-derived values, then `overrides`; validated (UserError)."""
        overrides = dict(overrides)
        if self.width_fields and "width" in overrides:
            width = overrides.pop("width")
            for f in self.width_fields:
                overrides.setdefault(f, width)  # an explicit ngf / ndf wins
        fields = {f.name for f in dataclasses.fields(self.config_cls)}
        unknown = set(overrides) - fields
        if unknown:
            raise UserError(f"Unknown {self.title} option(s): {', '.join(sorted(unknown))}.")
        derived = {"size": data_cfg.size, "channels": data_cfg.channels}
        cfg = config_from_dict(self.config_cls, {**derived, **self.derived_config(datasets), **overrides})
        cfg.validate()
        return cfg

    def derived_config(self, datasets: dict[str, ImageDataset]) -> dict:
        """Config values that follow from the prepared datasets when the user did not set them."""
        return {}

    # ----- training -------------------------------------------------------------------------------
    def make_trainer(self, cfg, settings, datasets: dict[str, ImageDataset], device, dist_info: DistInfo):
        raise NotImplementedError

    # ----- inference -----------------------------------------------------------------------------
    def directions(self, cfg) -> tuple[str, ...]:
        """The directions a translating kind translates in ("a2b" first)."""
        return ("a2b",)

    def translation(self, cfg, direction: str = "a2b") -> Translation:
        """The untrained translating net of `direction` for `cfg` and how to feed it (translates kinds)."""
        raise NotImplementedError(f"{self.title} does not translate pictures")

    def make_generator(self, cfg):
        """An untrained generator for `cfg` (latent_space kinds): an nn.Module mapping latents
        (B, z_dim) to images (B, C, H, W) in [-1, 1]. Its state_dict keys are the checkpoint's
        `G_ema.*` keys without the prefix. The explorer, `generate` and ONNX export load it."""
        raise NotImplementedError(f"{self.title} has no latent space")

    def z_dim(self, cfg) -> int:
        """Length of the latent vector of `cfg` (latent_space kinds)."""
        return cfg.z_dim

    def class_names(self, cfg) -> tuple[str, ...]:
        """The classes a model of `cfg` draws on request (its generator then takes a class as well as
        a latent: indices (B,) or weights (B, len(classes))); () for a model without classes. Only
        kinds with `capabilities.classes` make such models."""
        return ()

    def generator_modules(self, cfg) -> dict:
        """Freshly built, untrained generator(s) of `cfg` keyed by the name prefix of their tensors in
        the trainer's `generator_state()` ("" for a single generator). Importing weights made
        elsewhere checks a file against these (`studio.engine.models.weight_import`)."""
        return {"": self.make_generator(cfg)}

    # ----- fine-tuning (models/finetune.py) --------------------------------------------------------
    def fine_tune_problem(self, parent_cfg, cfg) -> str | None:
        """Why a model with `parent_cfg` cannot be carried over to `cfg` (one sentence), or None.
        Default: the size and the channels must stay; kinds whose networks adapt say more."""
        if parent_cfg.size != cfg.size:
            return (f"it makes {parent_cfg.size} px pictures and {self.title} cannot change the picture size "
                    f"of a trained model; choose {parent_cfg.size} px.")
        if parent_cfg.channels != cfg.channels:
            return f"{self.title} cannot change a trained model between grey and colour; choose as it was trained."
        return None

    def parent_key(self, net: str, key: str, parent_cfg, cfg) -> str | None:
        """The name, in the parent's network `net` ("G", "D", "G_ema"), of the tensor `key` of the new
        network corresponds to; None when the parent has none (a block it never had). Default: the
        same name. Kinds whose networks grow with the size map their blocks by resolution."""
        return key

    def fine_tune_suggestion(self, s: Suggestion, parent_cfg) -> Suggestion:
        """The suggestion for a project that starts from a trained model of this kind: its network
        shape and size, augmentation on (a fine-tuning set is small) and a fifth of the steps.

        The learning rate stays the kind's: on 100 pictures (bench/finetune_vs_scratch.py, DCGAN from the
        faces demo, 300 steps) 5x and 10x the paper's rate ended worse (SWD 237 and 341 against 197)."""
        arch = {f: getattr(parent_cfg, f) for f in self.architecture_fields if hasattr(parent_cfg, f)}
        same = "As in the model it starts from (fine-tuning keeps its network)"
        reasons = {f: same for f in arch}
        widths = {arch[f] for f in self.width_fields if f in arch}
        if self.width_fields and len(widths) == 1 and any(o.name == "width" for o in self.options):
            for f in self.width_fields:
                arch.pop(f, None)
                reasons.pop(f, None)
            arch["width"], reasons["width"] = widths.pop(), same
        for o in self.options:
            if o.name in arch:
                continue
            if o.name == "diffaugment":
                arch[o.name] = True
                reasons[o.name] = ("Fine-tuning usually has few images: augmentation keeps the critic from "
                                   "memorising them")
        return dataclasses.replace(
            s, size=parent_cfg.size, steps=max(self.default_steps // 5, 1),
            options={**s.options, **arch},
            reasons={**s.reasons, **reasons,
                     "size": f"The size of the model it starts from ({parent_cfg.size} px)",
                     "steps": "Starting from a trained model needs far fewer steps than from noise"},
        )

    # ----- speed ----------------------------------------------------------------------------------
    def approved_paths(self) -> tuple:
        """The fast paths (`studio.engine.train.fast_path.FastPath`) whose numerics this kind's quality
        check (bench/quality_check.py) approved. Training times those the device runs well on the first
        run of a model shape on a machine and keeps the fastest. Default: plain fp32 only."""
        from studio.engine.train.fast_path import FastPath

        return (FastPath("fp32"),)

    # ----- suggestions ----------------------------------------------------------------------------
    def bytes_per_image(self, size: int, width: int = 64) -> float:
        """Rough training memory per image (or pair) in fp32, for the batch that fits the device."""
        return 10e6 * (size / 64) ** 2 * (width / 64)

    def size_cap(self, gpu: bool) -> int:
        """The largest size suggested by default: on a CPU, large sizes make every step slow."""
        return 256 if gpu else 64

    def default_size(self) -> int:
        return 64

    def batch_cap(self, gpu: bool) -> int:
        return 128 if gpu else 64

    def min_batch(self) -> int:
        return 2

    def recommendation(self, device_kind: str) -> str | None:
        """Why the new-project wizard picks this kind by default on a `device_kind` ("cpu", "cuda",
        "mps") device, in a user's words and from a measurement: at most one kind says so for a
        device. None: another kind is the default there."""
        return None

    def suggest(self, counts: list[int], sizes: list[tuple[int, int]], device) -> Suggestion:
        """Settings for folders of `counts` images whose probed (w, h) are `sizes`, trained on
        `device` (a `studio.engine.device.DeviceInfo`). One path for the studio and the CLI."""
        from studio.engine.models.suggest import suggest_common

        return suggest_common(self, counts, sizes, device)

    def suggest_options(self, n: int) -> tuple[dict[str, Any], dict[str, str]]:
        """Values and reasons for this kind's data-derived options, for `n` images in the smallest folder."""
        return {}, {}

    def suggest_for_datasets(self, suggestion: Suggestion, datasets: dict[str, ImageDataset]) -> Suggestion:
        """`suggestion` completed from the prepared images (e.g. whether their sub-folders make
        classes), for the wizard, which has them before the settings page. Default: unchanged. The
        command line leaves such options to `default_config`, which decides the same from the data."""
        return suggestion

    def option(self, name: str) -> Option:
        for o in self.options:
            if o.name == name:
                return o
        raise KeyError(name)

    # ----- what the studio shows ------------------------------------------------------------------
    def preview_rows(self) -> tuple[str, ...]:
        """Labels of the sample grid's rows, top to bottom, when each row means something (see
        `preview_layout`); () when the rows are just more samples."""
        return ()

    def loss_groups(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The training losses drawn together (one plot each, sharing a scale): (title, loss names)
        pairs. A loss no group names joins the first group that names none. Default: one plot."""
        return (("Losses", ()),)

