"""The studio and the command line make the same project from the same folders (issue 14).

`gan-studio train KIND` fills every value its user did not give from the kind's suggestion for the
folders, as the studio's wizard pre-fills its fields; left alone, both create identical projects.
The kind-specific flags are generated from the kind's roles and options."""

import json

import pytest

from studio.app.prepare import build_request, prepare_folders
from studio.cli import main as cli
from studio.cli.kind_args import train_settings
from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig
from studio.engine.data.procedural import discs, write_folder
from studio.engine.errors import UserError
from studio.engine.models import KINDS, get_kind
from studio.engine.models.sessions import create_session
from studio.engine.models.suggest import DeviceInfo

ROLE_NAMES = sorted({r.name for k in KINDS.values() for r in k.roles})


@pytest.fixture(scope="module")
def image_folders(tmp_path_factory):
    """One small folder of 40 px pictures per role name any kind uses."""
    root = tmp_path_factory.mktemp("images")
    return {name: str(write_folder(discs(12, 40, seed=i), root / name)) for i, name in enumerate(ROLE_NAMES)}


def _folder_flags(kind, folders):
    return [x for r in kind.roles for x in (r.cli_flag, folders[r.name])]


def _meta(root):
    return json.loads((root / "project.json").read_text())


@pytest.mark.parametrize("name", list(KINDS))
def test_cli_train_and_the_untouched_wizard_make_the_same_project(name, image_folders, tmp_path, monkeypatch):
    kind = get_kind(name)
    folders = {r.name: image_folders[r.name] for r in kind.roles}

    # The studio: the wizard's preparation of the folders, then its request with nothing changed.
    prepared = prepare_folders(name, folders, DataConfig())(lambda *a: None, lambda: False)
    request = build_request(prepared, str(tmp_path / "studio"), DataConfig(), RunSettings())
    create_session(request.out, request.kind, request.folders, request.data_cfg, request.settings, request.overrides)

    # The command line with only the folders and --out, stopped before its first step.
    monkeypatch.setattr(cli, "_drive", lambda session, minutes: 0)
    assert cli.main(["train", name, *_folder_flags(kind, folders), "--out", str(tmp_path / "cli")]) == 0

    studio, line = _meta(tmp_path / "studio"), _meta(tmp_path / "cli")
    assert studio["model"] == line["model"]
    assert studio["run"] == line["run"]
    assert studio["data"]["config"] == line["data"]["config"]
    # The values came from the suggestion, not from the config classes' defaults.
    s = prepared.suggestion
    assert (line["model"]["size"], line["model"]["batch"], line["model"]["flip"]) == (s.size, s.batch, s.flip)
    assert (line["run"]["steps"], line["run"]["sample_every"]) == (s.steps, s.sample_every)
    # 12 pictures of 40 px: mirrored, trained at the size below theirs (or the kind's smallest)
    assert s.flip and s.size == max([z for z in kind.sizes if z <= 32] or [min(kind.sizes)])


def test_suggestion_fills_only_what_was_not_given():
    kind = get_kind("dcgan")
    s = kind.suggest([12], [(40, 40)] * 12, DeviceInfo("cpu", "CPU", 8 * 1024**3))
    assert set(s.options) == {o.name for o in kind.options}  # every option has a value to show
    chosen = s.chosen(batch=4, flip=None, width=16, steps=None)
    assert (chosen.batch, chosen.flip, chosen.steps, chosen.options["width"]) == (4, s.flip, s.steps, 16)
    assert chosen.reasons["batch"] == "Chosen by you" and chosen.reasons["flip"] == s.reasons["flip"]
    data_cfg, run, overrides = chosen.project_settings(DataConfig(fit="pad"), RunSettings(seed=3))
    assert (data_cfg.size, data_cfg.fit, run.seed, run.steps) == (s.size, "pad", 3, s.steps)
    cfg = kind.default_config(data_cfg, {}, overrides)
    assert (cfg.batch, cfg.ngf, cfg.ndf) == (4, 16, 16)  # "width" sets both networks' widths


def _settings(argv):
    return train_settings(cli.build_parser().parse_args(argv))


def test_train_flags_are_generated_from_roles_and_options(image_folders, tmp_path):
    dc = ["train", "dcgan", "--data", image_folders["data"], "--out", str(tmp_path / "p")]
    data_cfg, run, overrides = _settings(dc + ["--batch", "4", "--no-flip", "--diffaugment", "off",
                                               "--preset", "stable", "--width", "8", "--z-dim", "16",
                                               "--size", "64", "--sample-every", "7"])
    assert (data_cfg.size, run.sample_every) == (64, 7)
    assert {k: overrides[k] for k in ("batch", "flip", "diffaugment", "preset", "width", "z_dim")} == {
        "batch": 4, "flip": False, "diffaugment": False, "preset": "stable", "width": 8, "z_dim": 16}
    _, _, auto = _settings(dc + ["--diffaugment", "auto"])
    assert auto["diffaugment"] is True and auto["flip"] is True  # 12 images: both from the suggestion

    cg = ["train", "cyclegan", "--data-a", image_folders["a"], "--data-b", image_folders["b"], "--out", str(tmp_path)]
    assert _settings(cg + ["--no-identity"])[2]["identity"] is False
    assert _settings(cg)[2]["identity"] is True
    with pytest.raises(UserError, match="invalid choice"):  # a choice the option does not offer
        cli.build_parser().parse_args(dc + ["--preset", "fastest"])


def test_resume_takes_the_role_flags_of_the_project_kind(tmp_path):
    from studio.cli.kind_args import moved_folders

    args = cli.build_parser().parse_args(["resume", str(tmp_path), "--data-a", str(tmp_path / "moved")])
    assert moved_folders(args, get_kind("cyclegan")) == {"a": str(args.data_a)}  # the role, not the flag
    with pytest.raises(UserError, match="--data-a is not a folder of a DCGAN project"):
        moved_folders(args, get_kind("dcgan"))
