"""The CycleGAN kind: unpaired translation between two folders A <-> B (Zhu et al. 2017)."""

from __future__ import annotations

import dataclasses

from studio.engine.models.kind import WIDTH_OPTION, Capabilities, ModelKind, Option, Role


class CycleGANKind(ModelKind):
    name = "cyclegan"
    title = "CycleGAN"
    summary = "unpaired translation between two folders A <-> B"
    roles = (
        Role("a", "Folder A", "--data-a", "folder of domain A images"),
        Role("b", "Folder B", "--data-b", "folder of domain B images"),
    )
    sizes = (32, 64, 128, 256, 512)
    capabilities = Capabilities(translates=True, multi_device=True)
    options = (
        Option("identity", "Identity loss", "keep colours when the input already looks like the target",
               "--identity", default=True),
        WIDTH_OPTION,
    )
    batch_unit = "pairs"
    width_fields = ("ngf", "ndf")
    export_formats = ("png",)
    default_steps = 10000
    default_sample_every = 200
    preview_layout = "rows: A, A -> B, back to A; then B, B -> A, back to B"

    @property
    def config_cls(self):
        from studio.engine.models.cyclegan.trainer import CycleGANConfig

        return CycleGANConfig

    def preview_rows(self):
        # each preview column goes A -> B -> A, then B -> A -> B (the trainer's samples())
        return ("A", "A → B", "back to A", "B", "B → A", "back to B")

    def loss_groups(self):
        # Eight curves on three scales: the adversarial losses hover near 0.25 (least squares), the
        # cycle and identity L1 losses start near 1 and fall; one plot would flatten the first four.
        return (("Adversarial", ("D_A", "D_B", "G", "F")), ("Cycle", ("cycle_A", "cycle_B")),
                ("Identity", ("idt_A", "idt_B")))

    def load_config(self, cfg, data_cfg):
        # Decode at ~1.12x the crop size so every step sees a different random crop (reference: 286 -> 256).
        return dataclasses.replace(data_cfg, size=cfg.load_size)

    def bytes_per_image(self, size, width=64):
        return 1.0e9 * (size / 256) ** 2 * (width / 64)  # a 256 px pair needs ~1 GB

    def size_cap(self, gpu):
        return 256 if gpu else 128

    def default_size(self):
        return 128

    def batch_cap(self, gpu):
        return 4 if gpu else 1

    def min_batch(self):
        return 1

    def approved_paths(self):
        # bf16 autocast: `bench/quality_check.py --model cyclegan --fast bf16 --seeds 0 1 2 3 4 5 6 7`
        # (2-core AMX Xeon, 2026-12-04) kept its colour error within the fp32 seeds' spread (bf16 mean
        # 0.0794, fp32 0.0689-0.0917, mean 0.0805). Over three seeds on another Xeon it fell just outside
        # (0.086 against 0.077-0.084): three seeds were too few to tell. The layout changes no arithmetic;
        # bf16 + channels_last is the GPU's usual path (and the rule's there without a measurement).
        from studio.engine.train.fast_path import FastPath

        return (FastPath("fp32"), FastPath("fp32", channels_last=True), FastPath("bf16"),
                FastPath("bf16", channels_last=True))

    def make_trainer(self, cfg, settings, datasets, device, dist_info):
        from studio.engine.models.cyclegan.trainer import CycleGANTrainer

        return CycleGANTrainer(cfg, datasets["a"].images, datasets["b"].images, device=device, seed=settings.seed,
                               total_steps=settings.steps, dist_info=dist_info)

    def directions(self, cfg):
        return ("a2b", "b2a")

    def translation(self, cfg, direction="a2b"):
        from studio.engine.models.cyclegan.nets import ResnetGenerator
        from studio.engine.models.kind import Translation

        c = cfg.channels
        # Peak memory per input pixel per unit of ngf: measured 14-17 on a CPU (ngf 32-64); 20 leaves slack.
        return Translation(ResnetGenerator(c, c, cfg.ngf, cfg.blocks), "G" if direction == "a2b" else "F", c,
                           ResnetGenerator.MULTIPLE, 20.0 * cfg.ngf)

    def generator_modules(self, cfg):
        from studio.engine.models.cyclegan.nets import ResnetGenerator

        c = cfg.channels
        # generator_state() holds both directions: G (A -> B) and F (B -> A).
        return {"G.": ResnetGenerator(c, c, cfg.ngf, cfg.blocks), "F.": ResnetGenerator(c, c, cfg.ngf, cfg.blocks)}
