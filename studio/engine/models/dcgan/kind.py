"""The DCGAN kind: new images from noise, learned from one folder (Radford et al. 2015)."""

from __future__ import annotations

from studio.engine.config import SMALL_DATASET
from studio.engine.models.kind import Capabilities, ModelKind, Option, Role


class DCGANKind(ModelKind):
    name = "dcgan"
    title = "DCGAN"
    summary = "new images from noise, learned from one folder"
    roles = (Role("data", "Images", "--data", "folder of training images (searched recursively)"),)
    sizes = (32, 64, 128, 256)
    capabilities = Capabilities(latent_space=True, multi_device=True)
    export_formats = ("png", "gif", "mp4", "webp", "onnx")
    width_fields = ("ngf", "ndf")
    options = (
        Option("preset", "Recipe", "stable = hinge loss + spectral norm + R1 penalty: slower, harder to knock over",
               "--preset", choices=(("default", "Paper (fast)"), ("stable", "Stable (slower, sturdier)")),
               default="default"),
        Option("diffaugment", "Augment what the critic sees",
               f"DiffAugment colour/shift/cutout (default: on below {SMALL_DATASET:,} images)", "--diffaugment"),
        Option("z_dim", "Noise length", "length of the noise vector (default 100)", "--z-dim", default=100),
        Option("width", "Network width", "network width ngf/ndf: smaller trains faster, larger can learn more detail "
               "(default 64)", "--width", default=64, maximum=1024),
    )

    @property
    def config_cls(self):
        from studio.engine.models.dcgan.trainer import DCGANConfig

        return DCGANConfig

    def default_config(self, data_cfg, datasets, overrides):
        """The paper's recipe, DiffAugment for small collections, the "stable" preset on request."""
        from studio.engine.models.dcgan.trainer import STABLE_PRESET

        overrides = dict(overrides)
        preset = overrides.pop("preset", None) or "default"
        if preset not in ("default", "stable"):
            from studio.engine.errors import UserError

            raise UserError(f"Unknown preset '{preset}' (choose default or stable).")
        if preset == "stable":
            overrides = {**STABLE_PRESET, **overrides}
        return super().default_config(data_cfg, datasets, overrides)

    def derived_config(self, datasets):
        if "data" in datasets:
            return {"diffaugment": len(datasets["data"].images) < SMALL_DATASET}
        return {}

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

    def make_trainer(self, cfg, settings, datasets, device, dist_info):
        from studio.engine.models.dcgan.trainer import DCGANTrainer

        return DCGANTrainer(cfg, datasets["data"].images, device=device, seed=settings.seed, dist_info=dist_info)

    def make_generator(self, cfg):
        from studio.engine.models.dcgan.nets import Generator

        return Generator(cfg.size, cfg.z_dim, cfg.ngf, cfg.channels)
