"""The model kinds the studio knows: one folder each, one line each in `KINDS`.

Adding a kind: a folder `models/<name>/` with `kind.py` (a `ModelKind` subclass), its nets and its
trainer, and one line below. Nothing else in the program names a kind. Importing this module is
cheap (no torch): each kind imports its trainer only when asked to train.
"""

from __future__ import annotations

from studio.engine.errors import UserError
from studio.engine.models.cyclegan.kind import CycleGANKind
from studio.engine.models.dcgan.kind import DCGANKind
from studio.engine.models.gan.kind import GANKind
from studio.engine.models.kind import ModelKind
from studio.engine.models.pix2pix.kind import Pix2PixKind
from studio.engine.models.stylegan.kind import StyleGANKind
from studio.engine.project.schema import register_sections

KINDS: dict[str, ModelKind] = {
    k.name: k
    for k in (
        DCGANKind(),
        CycleGANKind(),
        GANKind(),
        StyleGANKind(),
        Pix2PixKind(),
    )
}


def _project_sections(kind: object) -> dict[str, type]:
    # For project/schema.py: the classes project.json's "model" and "data.config" are built as.
    from studio.engine.data.dataset import DataConfig

    return {"model": get_kind(kind).config_cls, "data.config": DataConfig}


register_sections(_project_sections)


def get_kind(name: object) -> ModelKind:
    """The kind called `name` (as stored in project.json); UserError for anything else."""
    if not isinstance(name, str) or name not in KINDS:
        raise UserError(f"Unknown model kind {name!r} (known: {', '.join(KINDS)}).")
    return KINDS[name]
