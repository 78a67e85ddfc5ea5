"""The style-based kind (StyleGAN2-class): new images from noise through a mapping network and
per-layer styles, learned from one folder (Karras et al. 2019/2020), in plain PyTorch."""

from __future__ import annotations

import dataclasses

from studio.engine.config import SMALL_DATASET
from studio.engine.errors import UserError
from studio.engine.models.classes import CLASS_OPTIONS, ClassesFromSubfolders
from studio.engine.models.kind import Capabilities, ModelKind, Option, Role


class StyleGANKind(ClassesFromSubfolders, ModelKind):
    name = "stylegan"
    title = "Style-based (StyleGAN2)"
    summary = ("new images from noise with per-layer styles (a latent space made for exploring; made for GPUs and "
               "long runs: on a CPU it is slower to a first picture than the DCGAN)")
    roles = (Role("data", "Images", "--data", "folder of training images (searched recursively)"),)
    sizes = (32, 64, 128, 256, 512, 1024)  # 1024 for GPUs, and for fine-tuning imported FFHQ-size models
    capabilities = Capabilities(latent_space=True, style_space=True, multi_device=True, classes=True)
    export_formats = ("png", "gif", "mp4", "webp", "onnx")
    default_steps = 5000
    default_sample_every = 50
    # noise_inputs too: a model trained without them (the bundled demo) draws every feature from w, and
    # a fine-tune that switched them on would start learning noise strengths from 0 (a spotted texture
    # in every face on the CPU, docs/stylegan.md) on top of what it keeps
    architecture_fields = ("preset", "z_dim", "w_dim", "mapping_layers", "channel_base", "channel_max",
                           "critic_width", "conv_clamp", "mbstd_group", "attention", "noise_inputs")
    options = (
        Option("preset", "Capacity", "small: trains on a CPU; full: the paper's widths, for GPUs "
               "(a GPU gets full unless you choose)", "--capacity",
               choices=(("small", "Small (CPU)"), ("full", "Full (GPU)")), default="small"),
        # Cost measured by bench/style_attention.py: 64 px, small, batch 16 on the 2-core Xeon, one thread:
        # 1.72 s a step against 0.42 s (3.75-4.05x in two runs). The block alone, forward and backward on
        # 16 maps: 0.53 s at 32x32 (32 channels), 0.03 s at 16x16 (64 channels).
        Option("attention", "Self-attention", "a SAGAN self-attention block in the generator and the critic, at half "
               "the picture's side (at most 32x32), so distant parts of a picture can agree; on a CPU a 64 px "
               "step takes about 4x as long",
               "--attention", default=False),
        # Cost measured 2026-12-04 (64 px, small, batch 16, one thread, the AMX Xeon): 228 against 194 ms a step.
        Option("path_length", "Smooth style space", "path-length regularisation (StyleGAN2): a step in W changes "
               "the picture about equally wherever it starts, which evens out directions and walks; auto: on with "
               "the Full capacity (the paper's weight), off with Small (on a CPU a step takes 17% longer)",
               "--path-length", choices=(("auto", "With the capacity (on for Full)"), ("on", "On"), ("off", "Off")),
               default="auto"),
        Option("diffaugment", "Augment what the critic sees",
               "DiffAugment colour/shift/cutout (default: on, as often as adaptive augmentation decides)",
               "--diffaugment"),
        Option("ada", "Adaptive augmentation", "adapt how often images are augmented to how sure the critic is "
               "of the real ones (ADA); off: always", "--ada", default=True),
        Option("freeze_d", "Frozen critic blocks", "FreezeD for fine-tuning: keep the critic's first N blocks (those "
               "that look at pixels) as the model it starts from learned them (default 0: none)", "--freeze-d",
               default=0, minimum=0, maximum=8),
        *CLASS_OPTIONS,
    )

    @property
    def config_cls(self):
        from studio.engine.models.stylegan.trainer import StyleGANConfig

        return StyleGANConfig

    def default_config(self, data_cfg, datasets, overrides):
        """The preset's widths and path-length weight (unless the path_length option says on or off),
        the preset's R1 weight for the size (trainer.preset_r1_gamma), the reference's EMA half-life
        for the batch, then the user's values."""
        from studio.engine.models.stylegan.trainer import PL_WEIGHT, PRESETS, StyleGANConfig, preset_r1_gamma

        overrides = dict(overrides)
        preset = overrides.pop("preset", None) or "small"
        if preset not in PRESETS:
            raise UserError(f"Unknown capacity '{preset}' (choose {' or '.join(PRESETS)}).")
        path_length = overrides.pop("path_length", None) or "auto"
        if path_length not in ("auto", "on", "off"):
            raise UserError(f"Path-length regularisation is auto, on or off (got '{path_length}').")
        batch = overrides.get("batch", StyleGANConfig.batch)
        base = {**PRESETS[preset], "preset": preset, "ema_kimg": int(batch) * 10 / 32,
                "r1_gamma": preset_r1_gamma(preset, data_cfg.size, max(int(batch), 1))}
        # auto: the paper's weight with its widths (GPUs); none on the small CPU preset, whose time goes
        # further on plain steps
        on = path_length == "on" or (path_length == "auto" and preset == "full")
        base["pl_weight"] = PL_WEIGHT if on else 0.0
        return super().default_config(data_cfg, datasets, self.class_overrides(datasets, {**base, **overrides}))

    def derived_config(self, datasets):
        # On for every collection, as StyleGAN2-ADA's default: with adaptive augmentation (on by
        # default) how often an image is augmented follows how sure the critic is of the real ones,
        # from 0. Measured (2-core Zen 4 EPYC, 2026-12-04, 3,000 procedural portraits at 64 px, the
        # CPU defaults, seed 1): without it the critic won at once (D(real) 0.99, D(fake) 0.02 by step
        # 2,000) and the samples collapsed towards one face (diversity 0.48, 0.32, 0.32, 0.24 at steps
        # 1,000-4,000; SWD 215-273); with it p rose to 0.46 by step 1,500 and the samples stayed
        # varied (diversity 0.85 and 0.77 at steps 1,000 and 2,000; SWD 266 and 123).
        return {"diffaugment": True} if "data" in datasets else {}

    def suggest(self, counts, sizes, device):
        s = super().suggest(counts, sizes, device)
        if device.kind == "cpu":
            return dataclasses.replace(
                s, options={**s.options, "preset": "small"},
                reasons={**s.reasons, "preset": "Narrow networks: the full widths take minutes a step on a CPU"})
        return dataclasses.replace(
            s, options={**s.options, "preset": "full"},
            reasons={**s.reasons, "preset": "The paper's widths: a GPU trains them at a useful speed"})

    def suggest_options(self, n):
        if n < SMALL_DATASET:
            reason = f"With {n:,} images the critic would memorise them; augmentation keeps it learning"
        else:
            reason = ("Adaptive: images are augmented only as often as the critic is too sure of the real ones "
                      "(without it this model's critic wins early and the pictures collapse towards one)")
        return {"diffaugment": n > 0}, {"diffaugment": reason}

    def bytes_per_image(self, size, width=64):
        # Activations of G and D and their gradients at the small widths, with R1's double backward.
        return 24e6 * (size / 64) ** 2

    def size_cap(self, gpu):
        return 256 if gpu else 64

    def batch_cap(self, gpu):
        return 32 if gpu else 16  # the reference's auto config uses 32-64 on GPUs; CPU steps stay short

    def min_batch(self):
        return 2

    def approved_paths(self):
        # fp32 in either layout: `bench/quality_check.py --model stylegan --fast channels_last` (32 px
        # discs, 400 steps, seeds 0-2; 2-core AMD EPYC Zen 4, 2026-12-03) kept the channels_last
        # layout's SWD within the fp32 seeds' spread (mean 402, seeds 340 / 433 / 434, against fp32's
        # 349-467). bf16 autocast: `--fast bf16 --seeds 0 1 2 3 4` (2-core AMX Xeon, 2026-12-04) kept it
        # there too (mean 414, seeds 290 / 461 / 386 / 461 / 470, against fp32's 301-489, mean 435),
        # once nets.py ran the critic's strided filter in fp32 and kept the modulated activations in
        # bf16: before, bf16 was slower than fp32 on both CPUs, so no check had been run for it. The
        # per-machine measurement decides where it pays; the layout changes no arithmetic.
        from studio.engine.train.fast_path import FastPath

        return (FastPath("fp32"), FastPath("fp32", channels_last=True), FastPath("bf16"),
                FastPath("bf16", channels_last=True))

    def loss_groups(self):
        return (("Losses", ("loss_D", "loss_G")), ("Critic", ("D_real", "D_fake", "augment_p")),
                ("Regularisation", ("R1", "PL")))

    # ----- fine-tuning -----------------------------------------------------------------------------
    def fine_tune_problem(self, parent_cfg, cfg):
        if cfg.size < parent_cfg.size:
            return (f"it makes {parent_cfg.size} px pictures, and a smaller size would drop the layers that learned "
                    f"their finest detail; choose {parent_cfg.size} px or larger.")
        return None  # a larger size adds new top blocks; grey <-> colour is adapted

    def parent_key(self, net, key, parent_cfg, cfg):
        # G grows at the top (its lists start at 4x4: the same indices); D's blocks are listed from
        # the picture's resolution down, so a larger D's block i is the parent's block i - levels.
        if key.startswith(("attention.", "synthesis.attention.")):
            from studio.engine.models.attention import attention_side  # torch: kinds load before it (start-up)

            # The block works on the map of side attention_side(size): where that side changed with the
            # size, the parent's block saw other features (and its gamma would mix fresh convolutions in).
            return key if attention_side(parent_cfg.size) == attention_side(cfg.size) else None
        if net != "D" or not key.startswith("blocks."):
            return key
        index, rest = key[7:].split(".", 1)
        j = int(index) - (cfg.size.bit_length() - parent_cfg.size.bit_length())
        return f"blocks.{j}.{rest}" if j >= 0 else None

    def critic_blocks(self, D):
        """D's blocks from the pixels inwards (FreezeD's "first layers", as the reference's b{res}:
        the first holds fromRGB, and a self-attention block goes with the block it follows); the 4x4
        epilogue is never frozen."""
        groups = [[D.from_rgb, D.blocks[0]], *([b] for b in list(D.blocks)[1:])]
        if D.attention is not None:
            groups[D.attention_after].append(D.attention)
        return groups

    def make_trainer(self, cfg, settings, datasets, device, dist_info):
        from studio.engine.models.stylegan.trainer import StyleGANTrainer

        data = datasets["data"]
        return StyleGANTrainer(cfg, data.images, device=device, seed=settings.seed, dist_info=dist_info,
                               labels=self.image_labels(cfg, data))

    def make_generator(self, cfg):
        from studio.engine.models.stylegan.trainer import build_generator

        return build_generator(cfg)
