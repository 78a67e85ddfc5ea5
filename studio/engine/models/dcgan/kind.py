"""The DCGAN kind: new images from noise, learned from one folder (Radford et al. 2015)."""

from __future__ import annotations

import dataclasses

from studio.engine.config import SMALL_DATASET
from studio.engine.errors import UserError
from studio.engine.models.classes import CLASS_OPTIONS, ClassesFromSubfolders
from studio.engine.models.kind import WIDTH_OPTION, Capabilities, ModelKind, Option, Role


class DCGANKind(ClassesFromSubfolders, ModelKind):
    name = "dcgan"
    title = "DCGAN"
    summary = "new images from noise, learned from one folder"
    roles = (Role("data", "Images", "--data", "folder of training images (searched recursively)"),)
    sizes = (32, 64, 128, 256)
    capabilities = Capabilities(latent_space=True, multi_device=True, classes=True)
    export_formats = ("png", "gif", "mp4", "webp", "onnx")
    width_fields = ("ngf", "ndf")
    architecture_fields = ("z_dim", "ngf", "ndf", "attention", "g_spectral_norm", "d_bias")
    options = (
        Option("preset", "Recipe", "stable = hinge loss + spectral norm + R1 penalty: slower, harder to knock over; "
               "attention = self-attention (SAGAN) so distant parts of a picture agree",
               "--preset", choices=(("default", "Paper (fast)"), ("stable", "Stable (slower, sturdier)"),
                                    ("attention", "Self-attention (SAGAN)")),
               default="default"),
        *CLASS_OPTIONS,
        Option("diffaugment", "Augment what the critic sees",
               f"DiffAugment colour/shift/cutout (default: on below {SMALL_DATASET:,} images)", "--diffaugment"),
        Option("z_dim", "Noise length", "length of the noise vector (default 100)", "--z-dim", default=100),
        WIDTH_OPTION,
        Option("freeze_d", "Frozen critic blocks", "FreezeD for fine-tuning: keep the critic's first N blocks (those "
               "that look at pixels) as the model it starts from learned them (default 0: none)", "--freeze-d",
               default=0, minimum=0, maximum=8),
    )

    # The bundled faces demo (32 px, width 32, batch 32) shows heads and hair from ~300-400 steps.
    first_shapes_steps = 400

    def recommendation(self, device_kind):
        # bench/equal_time.py, each kind's CPU defaults for the same 8 minutes at 64 px on 1,000
        # procedural faces, one thread each: the DCGAN's grid is faces and the style-based kind's is
        # rougher on every CPU measured (2026-12-05, Zen 4 EPYC, faces seeds 0 / 1 / 2: SWD 56.6 / 63.7 / 52.2
        # against 69.5 / 118.8 / 89.2, ~200 against ~106 images a second; the style kind's grids are heads
        # with smeared, swirl-drawn faces; earlier: 70-94 against 146-279 on a Xeon and an AVX2 EPYC).
        # No GPU has been lent to compare them on one.
        if device_kind == "cpu":
            return ("On this computer's processor it draws recognisable pictures within minutes: trained for the "
                    "same 8 minutes, it made clear faces where the style-based model drew rough, smeared ones.")
        return ("The tried classic. The style-based model is made for GPUs and long runs, but has not "
                "been compared with it on one yet.")

    @property
    def config_cls(self):
        from studio.engine.models.dcgan.trainer import DCGANConfig

        return DCGANConfig

    def default_config(self, data_cfg, datasets, overrides):
        """The paper's recipe, DiffAugment for small collections, the "stable" preset on request."""
        from studio.engine.models.dcgan.trainer import ATTENTION_PRESET, STABLE_PRESET

        overrides = dict(overrides)
        preset = overrides.pop("preset", None) or "default"
        if preset not in ("default", "stable", "attention"):
            raise UserError(f"Unknown preset '{preset}' (choose default, stable or attention).")
        if preset == "stable":
            overrides = {**STABLE_PRESET, **overrides}
        elif preset == "attention":
            overrides = {**ATTENTION_PRESET, **overrides}
        return super().default_config(data_cfg, datasets, self.class_overrides(datasets, overrides))

    def derived_config(self, datasets):
        if "data" in datasets:
            return {"diffaugment": len(datasets["data"].images) < SMALL_DATASET}
        return {}

    # On a CPU the defaults aim at first recognisable shapes within ~10 minutes: measured on a shared
    # 2-core CPU with the faces demo, one step at 64 px, width 64, batch 64 took ~7x as long as at
    # 32 px, width 32, batch 32 (the demo's recipe); 400 steps of the latter take ~4-12 min there.
    def size_cap(self, gpu):
        return 256 if gpu else 32

    def batch_cap(self, gpu):
        return 128 if gpu else 32

    def suggest(self, counts, sizes, device):
        s = super().suggest(counts, sizes, device)
        if device.kind != "cpu":
            return s
        return dataclasses.replace(
            s, sample_every=50, options={**s.options, "width": 32},
            reasons={**s.reasons, "width": "Half the usual width: about 3x quicker on a CPU, enough for a first look"},
        )

    def suggest_options(self, n):
        on = 0 < n < SMALL_DATASET
        reason = (f"With {n:,} images the discriminator would memorise them; augmentation keeps it learning"
                  if on else f"{n:,} images are enough without it")
        return {"diffaugment": on}, {"diffaugment": reason}

    def approved_paths(self):
        # bench/quality_check.py kept bf16 autocast within the fp32 seeds' spread (8 seeds, 2026-12-02);
        # the layout and the small-map matmuls change no arithmetic, only its order.
        from studio.engine.train.fast_path import FastPath

        return (FastPath("fp32"), FastPath("fp32", channels_last=True), FastPath("bf16", channels_last=True),
                FastPath("bf16", channels_last=True, small_maps=True), FastPath("bf16", small_maps=True))

    # ----- fine-tuning -----------------------------------------------------------------------------
    def fine_tune_problem(self, parent_cfg, cfg):
        if cfg.size < parent_cfg.size:
            return (f"it makes {parent_cfg.size} px pictures, and a smaller size would drop the layers that learned "
                    f"them; choose {parent_cfg.size} px or larger.")
        return None  # a larger size gains blocks; grey <-> colour is adapted

    def parent_key(self, net, key, parent_cfg, cfg):
        # G's blocks are listed from 4x4 up to the picture and D's from the picture down: a larger G
        # gains its new block at the 4x4 end, so its modules line up with the parent's from the
        # picture's end; D's line up from the start.
        if net == "D" or parent_cfg.size == cfg.size or not key.startswith("main."):
            return key
        index, rest = key[5:].split(".", 1)
        j = int(index) - (self._g_length(cfg) - self._g_length(parent_cfg))
        return f"main.{j}.{rest}" if j >= 0 else None

    def _g_length(self, cfg) -> int:
        cache = self.__dict__.setdefault("_g_lengths", {})
        if cfg not in cache:
            cache[cfg] = len(self.make_generator(cfg).main)
        return cache[cfg]

    def critic_blocks(self, D):
        """D's blocks from the pixels inwards (FreezeD's "first layers"): each starts at a convolution;
        the last (the 4x4 logit) is never frozen."""
        from torch import nn

        starts = [i for i, m in enumerate(D.main) if isinstance(m, nn.Conv2d)]
        return [list(D.main[a:b]) for a, b in zip(starts, starts[1:])]

    def make_trainer(self, cfg, settings, datasets, device, dist_info):
        from studio.engine.models.dcgan.trainer import DCGANTrainer

        data = datasets["data"]
        labels = self.image_labels(cfg, data)
        return DCGANTrainer(cfg, data.images, device=device, seed=settings.seed, dist_info=dist_info, labels=labels)

    def make_generator(self, cfg):
        from studio.engine.models.dcgan.trainer import make_generator

        return make_generator(cfg)

