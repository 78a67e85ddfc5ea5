"""Fine-tuning from an existing model (models/finetune.py): the parent's weights copied into a new
project (sizes and colours adapted where the networks allow, refused with a reason where not), its
lineage recorded, FreezeD keeping the critic's first blocks, and `train KIND --from` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from studio.cli.main import main as cli_main
from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig
from studio.engine.data.procedural import discs, write_folder
from studio.engine.errors import CheckpointError, UserError
from studio.engine.models import get_kind
from studio.engine.models.finetune import read_parent
from studio.engine.models.sessions import create_session
from studio.engine.project.checkpoints import list_checkpoints, load_checkpoint
from studio.engine.project.folder import Project

DC_SMALL = {"ngf": 8, "ndf": 8, "z_dim": 16, "batch": 4, "precision": "fp32"}
STYLE_SMALL = {"z_dim": 16, "w_dim": 16, "channel_base": 256, "channel_max": 16, "batch": 4}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return write_folder(discs(12, 32, seed=3), tmp_path_factory.mktemp("discs"))


def _train(out, kind, images, overrides, size=32, steps=2, grey=False, parent=None):
    session = create_session(out, kind, {"data": str(images)}, DataConfig(size=size, grayscale=grey),
                             RunSettings(steps=steps, sample_every=1000, checkpoint_every=1000, metric_every=0),
                             dict(overrides), parent=parent)
    try:
        for _ in session.run():
            pass
    finally:
        session.close()
    return session


def _new(out, kind, images, overrides, size=32, grey=False, parent=None):
    """A new project's session (not trained): its trainer holds the starting weights."""
    session = create_session(out, kind, {"data": str(images)}, DataConfig(size=size, grayscale=grey),
                             RunSettings(steps=2, metric_every=0), dict(overrides), parent=parent)
    session.close()
    return session


def _latest(root):
    return load_checkpoint(list_checkpoints(Project(root, {}).checkpoints_dir)[-1][1])


@pytest.fixture(scope="module")
def dc_parent(tmp_path_factory, images):
    out = tmp_path_factory.mktemp("dcp") / "parent"
    _train(out, "dcgan", images, DC_SMALL, steps=3)
    return out


@pytest.fixture(scope="module")
def style_parent(tmp_path_factory, images):
    out = tmp_path_factory.mktemp("stp") / "parent"
    _train(out, "stylegan", images, STYLE_SMALL, steps=2)
    return out


def test_weights_copied_and_parent_recorded(tmp_path, images, dc_parent):
    tensors, meta = _latest(dc_parent)
    session = _new(tmp_path / "child", "dcgan", images, DC_SMALL, parent=dc_parent)
    t = session.trainer
    for prefix, module in t._modules():
        for k, v in module.state_dict().items():
            assert torch.equal(v, tensors[f"{prefix}.{k}"]), f"{prefix}.{k}"
    assert t.global_step == 0 and not t.opt_G.state and not t.opt_D.state  # fresh optimisers, step 0
    record = json.loads((tmp_path / "child" / "project.json").read_text())["parent"]
    assert record["path"] == str(dc_parent.resolve()) and record["kind"] == "dcgan"
    assert record["step"] == 3 and record["checkpoint"] == meta["sha256"]
    assert Project.open(tmp_path / "child").meta["parent"] == record  # the schema accepts it
    # the starting point is a checkpoint of its own: a resume (or another process) starts from it
    start, start_meta = _latest(tmp_path / "child")
    assert start_meta["step"] == 0 and torch.equal(start["G_ema.main.0.weight"], tensors["G_ema.main.0.weight"])


def test_model_file_as_parent(tmp_path, images, dc_parent):
    ckpt = list_checkpoints(Project(dc_parent, {}).checkpoints_dir)[-1][1].with_suffix(".safetensors")
    parent = read_parent(ckpt)
    assert parent.kind == "dcgan" and parent.step == 3
    session = _new(tmp_path / "child", "dcgan", images, DC_SMALL, parent=ckpt)
    assert torch.equal(session.trainer.D.main[0].weight, parent.tensors["D.main.0.weight"])


def test_colour_to_grey_is_adapted(tmp_path, images, dc_parent):
    tensors, _ = _latest(dc_parent)
    session = _new(tmp_path / "grey", "dcgan", images, DC_SMALL, grey=True, parent=dc_parent)
    G, D = session.trainer.G, session.trainer.D
    last = len(G.main) - 2  # the ConvTranspose to the picture's channels: (in, C, 4, 4)
    assert torch.allclose(G.main[last].weight, tensors[f"G.main.{last}.weight"].mean(1, keepdim=True))
    assert torch.allclose(D.main[0].weight, tensors["D.main.0.weight"].sum(1, keepdim=True))
    adapted = " ".join(Project.open(tmp_path / "grey").meta["parent"]["adapted"])
    assert "averaged to grey" in adapted and "summed to grey" in adapted


def test_style_kind_grows_to_a_larger_size(tmp_path, images, style_parent):
    tensors, _ = _latest(style_parent)
    session = _new(tmp_path / "big", "stylegan", images, STYLE_SMALL, size=64, parent=style_parent)
    G, D = session.trainer.G, session.trainer.D
    syn = G.synthesis
    n_old = 2 * 5 - 3  # layers of a 32 px synthesis network: 1 at 4x4, 2 per doubling
    for i in range(n_old):
        assert torch.equal(syn.layers[i].weight, tensors[f"G.synthesis.layers.{i}.weight"])
    assert torch.equal(G.mapping.w_avg, tensors["G.mapping.w_avg"]) and G.mapping.w_avg.abs().sum() > 0
    assert torch.equal(session.trainer.ema.ema.mapping.w_avg, tensors["G_ema.mapping.w_avg"])
    assert len(syn.layers) == n_old + 2  # the 64 px block is new
    # D's blocks are listed from the picture down: the parent's 32 px block is the child's second
    assert torch.equal(D.blocks[1].conv0.weight, tensors["D.blocks.0.conv0.weight"])
    assert torch.equal(D.fc.weight, tensors["D.fc.weight"])
    lines = Project.open(tmp_path / "big").meta["parent"]["adapted"]
    assert any("newly initialised" in line for line in lines)
    with torch.no_grad():
        assert torch.isfinite(G(torch.randn(2, 16))).all()


def test_refusals_say_why(tmp_path, images, dc_parent, style_parent):
    with pytest.raises(UserError, match=r"smaller size would drop"):
        _new(tmp_path / "a", "dcgan", images, DC_SMALL, size=32, parent=_grown(tmp_path, images, dc_parent))
    with pytest.raises(UserError, match=r"is a DCGAN model; a Style-based \(StyleGAN2\) project can only start"):
        _new(tmp_path / "b", "stylegan", images, STYLE_SMALL, parent=dc_parent)
    with pytest.raises(UserError, match=r"another network shape \(network width \(ngf\) 8 there, 16 here"):
        _new(tmp_path / "c", "dcgan", images, {**DC_SMALL, "ngf": 16, "ndf": 16}, parent=dc_parent)
    with pytest.raises(UserError, match=r"no trained checkpoint|neither a GAN Studio project"):
        _new(tmp_path / "d", "dcgan", images, DC_SMALL, parent=images)
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()  # refused before any folder


def _grown(tmp_path, images, dc_parent):
    out = tmp_path / "grown64"
    _new(out, "dcgan", images, DC_SMALL, size=64, parent=dc_parent)
    return out


@pytest.mark.parametrize("kind,overrides,first", [
    ("dcgan", DC_SMALL, lambda D: D.main[0].weight),
    ("stylegan", STYLE_SMALL, lambda D: D.blocks[0].conv0.weight),
])
def test_freeze_d_keeps_the_first_blocks(tmp_path, images, kind, overrides, first):
    t = _new(tmp_path / "run", kind, images, {**overrides, "freeze_d": 1}).trainer
    frozen = first(t.D).detach().clone()
    last = {k: v.clone() for k, v in t.D.state_dict().items()}
    for _ in range(3):
        t.step()
    assert torch.equal(first(t.D), frozen)
    moved = [k for k, v in t.D.state_dict().items() if v.is_floating_point() and not torch.equal(v, last[k])]
    assert moved  # the rest of the critic trains
    assert all(p.requires_grad for p in t.D.parameters() if all(p is not q for q in t._frozen_D))


def test_freeze_d_beyond_the_critic_is_refused(tmp_path, images):
    with pytest.raises(UserError, match=r"critic has 3 blocks that can be frozen"):
        _new(tmp_path / "x", "dcgan", images, {**DC_SMALL, "freeze_d": 5})


def test_fine_tune_suggestion_keeps_the_network(dc_parent):
    kind = get_kind("dcgan")
    from studio.engine.models.suggest import DeviceInfo

    s = kind.suggest([100], [(64, 64)] * 10, DeviceInfo("cpu", "CPU", 8 << 30))
    f = kind.fine_tune_suggestion(s, read_parent(dc_parent).model_config(kind))
    assert f.options["width"] == 8 and f.options["z_dim"] == 16 and f.options["diffaugment"] is True
    assert f.size == 32 and f.steps < s.steps


def test_cli_train_from(tmp_path, images, dc_parent, capsys):
    out = tmp_path / "cli-child"
    code = cli_main(["train", "dcgan", "--data", str(images), "--out", str(out), "--from", str(dc_parent),
                     "--steps", "2", "--batch", "4", "--freeze-d", "1", "--metric-every", "0"])
    assert code == 0, capsys.readouterr().err
    meta = Project.open(out).meta
    assert meta["parent"]["path"] == str(dc_parent.resolve()) and meta["model"]["freeze_d"] == 1
    assert meta["model"]["ngf"] == 8 and meta["step"] == 2  # the parent's width, not the CPU suggestion's
    assert "fine-tuned from" in capsys.readouterr().out
    code = cli_main(["train", "stylegan", "--data", str(images), "--out", str(tmp_path / "bad"),
                     "--from", str(dc_parent), "--steps", "1"])
    assert code == 2 and "can only start from" in capsys.readouterr().err
    assert np.isfinite(meta["parent"]["step"])


def test_a_model_with_only_its_averaged_generator(tmp_path, images, dc_parent):
    """An imported model may hold only G_ema (and no critic): it starts both generators; D starts fresh."""
    from studio.engine.models.finetune import Parent

    full = read_parent(dc_parent)
    only = Parent(full.path, full.kind, full.step, full.checkpoint, full.config,
                  {k: v for k, v in full.tensors.items() if k.startswith("G_ema.")})
    t = _new(tmp_path / "child", "dcgan", images, DC_SMALL, parent=only).trainer
    assert torch.equal(t.G.main[0].weight, full.tensors["G_ema.main.0.weight"])
    assert torch.equal(t.ema.ema.main[0].weight, full.tensors["G_ema.main.0.weight"])
    assert not torch.equal(t.D.main[0].weight, full.tensors["D.main.0.weight"])
    lines = Project.open(tmp_path / "child").meta["parent"]["adapted"]
    assert any("newly initialised" in line and "D" in line for line in lines)


def test_a_fresh_style_critic_keeps_a_floor_on_augmentation(tmp_path, images, style_parent):
    """A style-based parent without its critic (the bundled demo, imports): the fresh critic gets ADA's
    p at a floor it never lowers (without one it overfit and undid the demo's generator, README), kept
    through a resume; a parent that brings its critic starts at p = 0 with no floor."""
    from studio.engine.models.finetune import Parent
    from studio.engine.models.stylegan.trainer import FRESH_CRITIC_ADA_FLOOR

    full = read_parent(style_parent)
    only = Parent(full.path, full.kind, full.step, full.checkpoint, full.config,
                  {k: v for k, v in full.tensors.items() if k.startswith("G_ema.")})
    with_critic = _new(tmp_path / "kept", "stylegan", images, STYLE_SMALL, parent=style_parent).trainer
    assert with_critic.ada_floor == 0 and with_critic.ada_p == 0
    t = _new(tmp_path / "fresh", "stylegan", images, STYLE_SMALL, parent=only).trainer
    assert 0 < FRESH_CRITIC_ADA_FLOOR < 1
    assert t.ada_floor == FRESH_CRITIC_ADA_FLOOR and t.ada_p == FRESH_CRITIC_ADA_FLOOR
    said = " ".join(Project.open(tmp_path / "fresh").meta["parent"]["adapted"])
    assert "critic starts fresh" in said and f"{FRESH_CRITIC_ADA_FLOOR:.0%}" in said  # shown by the CLI and panel
    assert "critic starts fresh" not in " ".join(Project.open(tmp_path / "kept").meta["parent"]["adapted"])
    for _ in range(400):  # a critic never sure of the reals: ADA lowers p, down to the floor only
        t._adjust_ada(torch.full((4,), -1.0))
    assert t.ada_p == FRESH_CRITIC_ADA_FLOOR
    for _ in range(40):
        t._adjust_ada(torch.full((4,), 1.0))
    assert t.ada_p > FRESH_CRITIC_ADA_FLOOR  # above it, ADA still adapts
    tensors, meta = t.state_dict()
    resumed = _new(tmp_path / "again", "stylegan", images, STYLE_SMALL).trainer
    assert resumed.ada_floor == 0
    resumed.load_state_dict(tensors, meta)
    assert resumed.ada_floor == FRESH_CRITIC_ADA_FLOOR and resumed.ada_p == t.ada_p
    with pytest.raises(CheckpointError, match="augmentation floor"):
        resumed.load_state_dict(tensors, {**meta, "ada": {**meta["ada"], "floor": "high"}})
