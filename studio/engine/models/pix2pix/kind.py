"""The pix2pix kind: translation learned from paired examples, input -> target (Isola et al. 2017).

Pairs come from two folders matched by file name, from one folder of side-by-side input|target
pictures, or from one folder of targets whose inputs are made from them (`data.pairs.PAIR_MODES`).
"""

from __future__ import annotations

import dataclasses

from studio.engine.data.pairs import PAIR_MODES, UPSCALE
from studio.engine.errors import UserError
from studio.engine.models.kind import WIDTH_OPTION, Capabilities, ModelKind, Option, Role

PAIR_TITLES = {
    "edges": "Sketch lines from edges",
    "lineart": "Thin line art",
    "grey": "Grey (learn colouring)",
    "blur": "Blurred (learn sharpening)",
    "lowres": "Quarter resolution (4x super-resolution)",
    "masked": "Holes (learn filling in)",
}

INPUTS = Role("a", "Inputs", "--data-a", "folder of input pictures (e.g. sketches), each named like its target")
TARGETS = Role("b", "Targets", "--data-b", "folder of target pictures, each named like its input "
               "(same sub-folder and name, any extension)")
SIDE_BY_SIDE = Role("pairs", "Side-by-side pairs", "--pairs",
                    "folder of pictures each holding an input (left) and its target (right)")
TARGETS_ONLY = Role("data", "Pictures to make pairs from", "--data",
                    "folder of target pictures; the inputs are made from them (--make-pairs)")


class Pix2PixKind(ModelKind):
    name = "pix2pix"
    title = "Pix2pix"
    summary = "translate with paired examples: input -> target, e.g. your sketch -> your finished picture"
    roles = (INPUTS, TARGETS)
    alternative_roles = ((SIDE_BY_SIDE,), (TARGETS_ONLY,))
    sizes = (64, 128, 256, 512)
    capabilities = Capabilities(translates=True, drawable_input=True, multi_device=True)
    options = (
        Option("make_pairs", "Make inputs from the pictures",
               "make each input from its picture, for one folder of pictures: sketches (edges, lineart), "
               "colouring (grey), sharpening (blur), 4x super-resolution (lowres) or filling in holes (masked)",
               "--make-pairs", choices=(("none", "No: the inputs are pictures of their own"),
                                        *((m, t) for m, t in PAIR_TITLES.items())),
               default="none"),
        WIDTH_OPTION,
    )
    batch_unit = "pairs"
    width_fields = ("ngf", "ndf")
    export_formats = ("png",)
    default_steps = 10000
    default_sample_every = 200
    preview_layout = "rows: input, its translation, the target"

    @property
    def config_cls(self):
        from studio.engine.models.pix2pix.trainer import Pix2PixConfig

        return Pix2PixConfig

    def preview_rows(self):
        return ("Input", "Translation", "Target")

    def loss_groups(self):
        # The adversarial losses hover near 0.7 (cross-entropy); L1 x 100 starts near 50 and falls.
        return (("Adversarial", ("D_real", "D_fake", "G_gan")), ("L1 to the target", ("G_L1",)))

    def load_config(self, cfg, data_cfg):
        # Decode ~1.12x the crop size so every step sees a different random crop (reference: 286 -> 256).
        return dataclasses.replace(data_cfg, size=cfg.load_size)

    def prepare_datasets(self, roles, folders, data_cfg, cfg, progress=None, should_cancel=None):
        from studio.engine.data.dataset import prepare_dataset
        from studio.engine.data.pairs import match_by_name, prepare_side_by_side

        names = {r.name for r in roles}
        making = cfg is not None and cfg.make_pairs != "none"
        if names == {TARGETS_ONLY.name} and cfg is not None and not making:
            raise UserError(f"One folder of pictures needs a way to make the inputs from them: choose one of "
                            f"{', '.join(PAIR_MODES)} ({TARGETS_ONLY.cli_flag} goes with --make-pairs).")
        if making and names != {TARGETS_ONLY.name}:
            raise UserError(f"Making pairs builds the inputs from one folder of targets: give that folder alone "
                            f"({TARGETS_ONLY.cli_flag} FOLDER), not {' and '.join(r.title for r in roles)}.")

        def load(role):
            return prepare_dataset(folders[role.name], data_cfg, progress=progress, should_cancel=should_cancel)

        if names == {SIDE_BY_SIDE.name}:
            return {SIDE_BY_SIDE.name: prepare_side_by_side(folders[SIDE_BY_SIDE.name], data_cfg, progress=progress,
                                                            should_cancel=should_cancel)}
        if names == {TARGETS_ONLY.name}:
            return {TARGETS_ONLY.name: load(TARGETS_ONLY)}
        inputs, targets = match_by_name(load(INPUTS), load(TARGETS))
        return {INPUTS.name: inputs, TARGETS.name: targets}

    def made_inputs_option(self, roles):
        return self.option("make_pairs") if tuple(roles) == (TARGETS_ONLY,) else None

    def example_pairs(self, cfg, datasets, count=8):
        from types import SimpleNamespace

        from studio.engine.models.pix2pix.trainer import paired_images

        # The first `count` of each dataset, paired exactly as training pairs them.
        few = {role: SimpleNamespace(images=ds.images[:count]) for role, ds in datasets.items()}
        inputs, targets = paired_images(few, cfg)
        return [(i.permute(1, 2, 0).numpy().copy(), t.permute(1, 2, 0).numpy().copy())
                for i, t in zip(inputs, targets)]

    def suggest(self, counts, sizes, device):
        s = super().suggest(counts, sizes, device)
        if device.kind != "cpu":
            return s
        # A U-Net's arithmetic grows with the width squared: 32 is a quarter of the reference's 64, the
        # difference between hours and a day of training on a laptop, and between a sketch pad that
        # follows the pen and one that lags. The reference's width stays one choice away.
        return dataclasses.replace(
            s, options={**s.options, "width": 32},
            reasons={**s.reasons, "width": "Half the reference's width: about 4x less arithmetic a step on a CPU, "
                                           "and a drawing translates while you draw; 64 learns finer detail"})

    def bytes_per_image(self, size, width=64):
        return 0.6e9 * (size / 256) ** 2 * (width / 64)  # a 256 px pair: ~0.6 GB of activations and gradients

    def size_cap(self, gpu):
        return 256 if gpu else 128

    def default_size(self):
        return 128

    def batch_cap(self, gpu):
        return 8 if gpu else 1

    def min_batch(self):
        return 1

    def make_trainer(self, cfg, settings, datasets, device, dist_info):
        from studio.engine.models.pix2pix.trainer import Pix2PixTrainer, paired_images

        inputs, targets = paired_images(datasets, cfg)
        return Pix2PixTrainer(cfg, inputs, targets, device=device, seed=settings.seed, total_steps=settings.steps,
                              dist_info=dist_info)

    def generator_modules(self, cfg):
        return {"G.": self.translation(cfg).net}

    def translation(self, cfg, direction="a2b"):
        from studio.engine.models.kind import Translation
        from studio.engine.models.pix2pix.nets import UnetGenerator, bytes_per_pixel

        c = cfg.channels
        net = UnetGenerator(c, c, cfg.ngf, cfg.unet_levels)
        return Translation(net, "G", c, net.multiple, bytes_per_pixel(cfg.ngf), UPSCALE.get(cfg.make_pairs, 1))
