"""The command line's kind-specific flags, generated from the model kinds, and the one path from
`gan-studio train KIND ...` to a new project's settings.

Each kind in `studio.engine.models.KINDS` gets a `train KIND` parser: one folder flag per `Role` (its
`cli_flag`; required when the kind has one set of folders, else the given ones must form one of its
`role_sets`) and one flag per `Option`:
- choices: `--flag VALUE`;
- a whole number: `--flag N` within the option's range;
- a switch derived from the data (default None): `--flag auto|on|off`;
- a switch with a fixed default: `--flag` / `--no-flag`.

Every value the user does not give comes from the kind's suggestion for the folders
(`studio.engine.models.suggest.suggest_for_files`, `Suggestion.chosen`), exactly as the studio's wizard
fills its fields, so the same folder gives the same project from either.
"""

from __future__ import annotations

import argparse
from typing import Any

from studio.cli import values
from studio.cli.values import user_path
from studio.engine.errors import UserError
from studio.engine.models import KINDS, get_kind
from studio.engine.models.kind import ModelKind, Option, Role

AUTO_ON_OFF = {"auto": None, "on": True, "off": False}


def role_dest(role: Role) -> str:
    """The argparse attribute of a role's folder flag ("--data-a" -> "data_a")."""
    return role.cli_flag.lstrip("-").replace("-", "_")


def _option_dest(option: Option) -> str:
    return "option_" + option.name


def add_train_parsers(tsub, add_common) -> None:
    """One `train KIND` parser per kind on the `tsub` subparsers; `add_common(parser, kind)` adds the
    flags every kind shares (output, schedules, device, image preparation)."""
    for kind in KINDS.values():
        p = tsub.add_parser(kind.name, help=kind.summary, description=f"{kind.title}: {kind.summary}.")
        alone = len(kind.role_sets()) == 1
        for role in kind.all_roles():
            p.add_argument(role.cli_flag, dest=role_dest(role), type=user_path, required=alone, default=None,
                           help=role.help)
        for option in kind.options:
            _add_option(p, option)
        add_common(p, kind)


def _add_option(p: argparse.ArgumentParser, option: Option) -> None:
    dest = _option_dest(option)
    help_text = option.help.replace("%", "%%")  # argparse formats help with %: a plain '%' made --help raise
    if option.choices is not None:
        by_text = {str(value): value for value, _label in option.choices}
        listed = ", ".join(f"{text} = {label}" for text, (_v, label) in zip(by_text, option.choices))
        # argparse checks the converted value against `choices`: unknown text stays text and is refused.
        p.add_argument(option.cli_flag, dest=dest, type=lambda text: by_text.get(text, text),
                       choices=list(by_text.values()), metavar="{" + ",".join(by_text) + "}", default=None,
                       help=f"{help_text} (choices: {listed}; default: {option.default})")
    elif option.is_number:
        p.add_argument(option.cli_flag, dest=dest, type=values.whole(option.minimum, option.maximum), default=None,
                       metavar="N", help=help_text)
    elif option.derived:
        p.add_argument(option.cli_flag, dest=dest, choices=tuple(AUTO_ON_OFF), default="auto",
                       help=f"{help_text}; auto decides from the images")
    else:
        p.add_argument(option.cli_flag, dest=dest, action=argparse.BooleanOptionalAction, default=None,
                       help=f"{help_text} (default: {'on' if option.default else 'off'})")


def _option_value(args, option: Option) -> Any:
    """The value the user gave for `option`; None when they did not (the suggestion stands)."""
    value = getattr(args, _option_dest(option))
    if option.is_switch and option.derived:
        return AUTO_ON_OFF[value]
    return value


def train_folders(args) -> dict[str, str]:
    """Role -> folder given to `train KIND`: one of the kind's role sets (UserError otherwise)."""
    kind = get_kind(args.kind)
    given = {r.name: str(getattr(args, role_dest(r))) for r in kind.all_roles()
             if getattr(args, role_dest(r), None) is not None}
    try:
        roles = kind.roles_for(given)
    except UserError:
        ways = ", or ".join(" and ".join(f"{r.cli_flag} FOLDER" for r in s) for s in kind.role_sets())
        raise UserError(f"{kind.title} trains from {ways}.") from None
    return {r.name: given[r.name] for r in roles}


def train_settings(args):
    """(data config, run settings, model overrides) for `train KIND` with parsed `args`: what the
    user gave, the kind's suggestion for the folders for everything else. Reads image headers."""
    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import DataConfig, scan_folder
    from studio.engine.models.suggest import suggest_for_files

    kind = get_kind(args.kind)
    files = {role: scan_folder(folder) for role, folder in train_folders(args).items()}
    suggestion, _device = suggest_for_files(kind, files, args.device)
    if getattr(args, "parent", None) is not None:
        from studio.engine.models.finetune import read_parent

        parent = read_parent(args.parent)
        if parent.kind == kind.name:  # another kind is refused with its reason when the project is made
            suggestion = kind.fine_tune_suggestion(suggestion, parent.model_config(kind))
    steps = args.steps if args.steps is not None else (values.MAX_STEPS if args.minutes else None)
    chosen = suggestion.chosen(
        size=args.size, batch=args.batch, flip=args.flip, steps=steps, sample_every=args.sample_every,
        checkpoint_every=args.checkpoint_every, **{o.name: _option_value(args, o) for o in kind.options},
    )
    data_cfg = DataConfig(fit=args.fit, alpha=args.alpha, grayscale=args.grayscale)
    run = RunSettings(log_every=args.log_every, metric_every=args.metric_every, seed=args.seed, device=args.device)
    data_cfg, settings, overrides = chosen.project_settings(data_cfg, run)
    if args.precision:
        overrides["precision"] = args.precision
    return data_cfg, settings, overrides


def _role_flags() -> dict[str, list[str]]:
    """Every kind's role flag, once each, with what it stands for in each kind."""
    flags: dict[str, list[str]] = {}
    for kind in KINDS.values():
        for role in kind.all_roles():
            flags.setdefault(role.cli_flag, []).append(f"{kind.title}: {role.title}")
    return flags


def add_relocation_flags(p: argparse.ArgumentParser) -> None:
    """`resume`'s flags for the new place of moved image folders: the roles' flags of every kind."""
    for flag, uses in _role_flags().items():
        p.add_argument(flag, type=user_path, default=None,
                       help=f"new place of the images after moving them ({', '.join(uses)})")


def moved_folders(args, kind: ModelKind) -> dict[str, str]:
    """Role -> new folder given to `resume` for a project of `kind`; UserError for a flag of a role
    that kind does not have."""
    from studio.engine.errors import UserError

    own = {r.cli_flag: r.name for r in kind.all_roles()}
    moved = {}
    for flag in _role_flags():
        folder = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if folder is None:
            continue
        if flag not in own:
            raise UserError(f"{flag} is not a folder of a {kind.title} project; it takes {' and '.join(own)}.")
        moved[own[flag]] = str(folder)
    return moved


def relocation_hint(kind: ModelKind, roles) -> str:
    """'--data NEW_FOLDER' for the roles whose images are missing."""
    flags = []
    for role in roles:
        try:
            flags.append(kind.role(role).cli_flag)
        except KeyError:  # a role an older version recorded: name it as stored
            flags.append(f"--{role}")
    return " ".join(f"{flag} NEW_FOLDER" for flag in flags)
