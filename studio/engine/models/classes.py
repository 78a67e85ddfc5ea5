"""What a kind that learns from sub-folder classes shares (`ClassesFromSubfolders`, mixed into its
ModelKind): the "Use sub-folders as classes" and "Balanced classes" options, turning the option
into the config's class names, the wizard's suggestion from the prepared folder, and the class of
each training image. No torch at import (the kinds registry stays cheap)."""

from __future__ import annotations

import dataclasses

from studio.engine.data.labels import labels_for, usable_as_classes
from studio.engine.errors import UserError
from studio.engine.models.kind import Option

CLASS_OPTIONS = (
    Option("classes", "Use sub-folders as classes",
           "one model for every first-level sub-folder, asked for by class (default: on for 2-1,000 "
           "sub-folders of at least 20 images each)", "--classes"),
    Option("balanced_classes", "Balanced classes",
           "draw every class equally often, however many images it has", "--balanced-classes", default=False),
)


def chosen_classes(counts: dict[str, int], wanted: bool | None) -> tuple[str, ...]:
    """The class names a new model is made with: all sub-folders when `wanted` (UserError with fewer
    than two), none when not, and for None (auto) all when `usable_as_classes`."""
    if wanted is None:
        wanted = usable_as_classes(counts)
    if not wanted:
        return ()
    if len(counts) < 2:
        raise UserError("Classes need at least two sub-folders with images; the folder has "
                        f"{'one' if counts else 'none'}.")
    return tuple(counts)


class ClassesFromSubfolders:
    """Mixin for a ModelKind whose config has `class_names` and `balanced_classes`."""

    def class_overrides(self, datasets, overrides: dict) -> dict:
        """`overrides` with the "classes" option (True / False / None = auto) turned into class names
        from the data folder's sub-folders (left alone while there are no prepared datasets)."""
        overrides = dict(overrides)
        classes = overrides.pop("classes", None)
        if "data" in datasets and "class_names" not in overrides:
            overrides["class_names"] = chosen_classes(datasets["data"].report.classes, classes)
        return overrides

    def suggest(self, counts, sizes, device):
        # Whether the sub-folders make classes is known once the images are read (suggest_for_datasets
        # for the wizard; default_config for the command line): until then, auto.
        s = super().suggest(counts, sizes, device)
        reason = "Decided from the sub-folders once the images are read"
        return dataclasses.replace(s, options={**s.options, "classes": None},
                                   reasons={**s.reasons, "classes": reason})

    def class_names(self, cfg) -> tuple[str, ...]:
        return tuple(cfg.class_names)

    def suggest_for_datasets(self, suggestion, datasets):
        if "data" not in datasets:
            return suggestion
        counts = datasets["data"].report.classes
        on = usable_as_classes(counts)
        if on:
            reason = f"{len(counts)} sub-folders with enough images each: one model draws any of them on request"
        elif len(counts) < 2:
            reason = "The images are not sorted into sub-folders"
        else:
            reason = f"Some of the {len(counts)} sub-folders have too few images to learn as classes"
        return dataclasses.replace(suggestion, options={**suggestion.options, "classes": on},
                                   reasons={**suggestion.reasons, "classes": reason})

    @staticmethod
    def image_labels(cfg, data):
        """The class of each row of the prepared dataset `data` (a LongTensor), None without classes;
        UserError when the folder has a class the model was not made with."""
        if not cfg.class_names:
            return None
        import torch

        # images[:n] are paths[:n]: a few images stand for the folder when a fast path is timed
        paths = data.paths[: len(data.images)]
        try:
            return torch.tensor(labels_for(paths, data.report.folder, cfg.class_names))
        except ValueError as e:
            raise UserError(str(e)) from None
