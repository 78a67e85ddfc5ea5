"""Self-attention (SAGAN) in the style-based kind (issue 20): where the blocks sit in G and D, that a
new attention net draws what the plain net with the same weights draws (gamma starts at 0), that
training brings attention in, exact resume, ONNX export, old projects without the field, fine-tuning
and FreezeD around the block, and `gan-studio train stylegan --attention`."""

import json

import numpy as np
import pytest
import torch

from studio.cli import main as cli
from studio.engine.config import config_from_dict, config_to_dict
from studio.engine.data.procedural import discs, write_folder
from studio.engine.errors import UserError
from studio.engine.explore import export as E
from studio.engine.explore.generator import GeneratorModel
from studio.engine.models import get_kind
from studio.engine.models.attention import SelfAttention, attention_side
from studio.engine.models.stylegan import nets
from studio.engine.models.stylegan.trainer import StyleGANConfig, StyleGANTrainer, build_discriminator
from tests.engine.style_helpers import assert_exact_resume

# 16 channels on the 16x16 and 32x32 maps: the block's queries and keys get 2
TINY = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 256, "channel_max": 16}
# ada_target 0 moves the augmentation probability within a few steps (as tests/engine/test_stylegan.py),
# so the resume test carries an ADA state that has moved as well as the block's spectral-norm vectors.
CFG = StyleGANConfig(size=32, batch=4, preview_count=4, diffaugment=True, r1_gamma=0.01, ada_kimg=0.1,
                     ada_target=0.0, attention=True, **TINY)


def _data(n=12, seed=0):
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _blocks(net):
    return [m for m in net.modules() if isinstance(m, SelfAttention)]


def _sides(G, D, size):
    """The side of the feature map each net's attention block works on, for one forward pass."""
    seen = {}
    hooks = [b.register_forward_hook(lambda m, i, o, n=name: seen.__setitem__(n, tuple(o.shape[-2:])))
             for name, net in (("G", G), ("D", D)) for b in _blocks(net)]
    with torch.no_grad():
        G(torch.randn(2, G.z_dim))
        D(torch.randn(2, 3, size, size))
    for h in hooks:
        h.remove()
    return seen


@pytest.mark.parametrize("size", [32, 128])
def test_one_block_in_each_net_at_the_chosen_side_with_spectral_norm(size):
    torch.manual_seed(0)
    G = nets.Generator(size, channels=3, attention=True, **TINY)
    D = nets.Discriminator(size, 3, TINY["channel_base"], TINY["channel_max"], attention=True)
    assert len(_blocks(G)) == 1 and len(_blocks(D)) == 1
    side = attention_side(size)  # 16 at 32 px, 32 (the cap) at 128 px
    assert _sides(G, D, size) == {"G": (side, side), "D": (side, side)}
    for block in _blocks(G) + _blocks(D):
        convs = [block.query, block.key, block.value, block.out]
        assert all(torch.nn.utils.parametrize.is_parametrized(c, "weight") for c in convs)
        assert float(block.gamma.detach()) == 0.0
    # without the option neither net has one, and the latent interface is the same either way
    plain = nets.Generator(size, channels=3, **TINY)
    assert not _blocks(plain) and not _blocks(nets.Discriminator(size, 3, TINY["channel_base"], TINY["channel_max"]))
    assert (plain.num_ws, plain.synthesis.noise_shapes()) == (G.num_ws, G.synthesis.noise_shapes())


def test_at_init_the_attention_nets_draw_what_the_plain_nets_with_the_same_weights_draw():
    torch.manual_seed(0)
    plain_cfg = StyleGANConfig(size=32, **TINY)
    G0, D0 = nets.Generator(32, channels=3, **TINY).eval(), build_discriminator(plain_cfg)
    G1 = nets.Generator(32, channels=3, attention=True, **TINY).eval()
    D1 = build_discriminator(StyleGANConfig(size=32, attention=True, **TINY))
    for plain, att, prefix in ((G0, G1, "synthesis.attention."), (D0, D1, "attention.")):
        missing, unexpected = att.load_state_dict(plain.state_dict(), strict=False)
        assert not unexpected and missing and all(k.startswith(prefix) for k in missing)
    z, x = torch.randn(3, 16), torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(G0(z), G1(z)) and torch.equal(D0(x), D1(x))
        for net in (G1, D1):
            _blocks(net)[0].gamma.fill_(0.5)  # and the block is on the path: a gamma changes the output
        assert not torch.allclose(G0(z), G1(z)) and not torch.allclose(D0(x), D1(x))


def test_training_brings_attention_in():
    torch.set_num_threads(1)
    t = StyleGANTrainer(CFG, _data(), seed=0)
    for _ in range(3):
        losses = t.step()
    assert all(np.isfinite(v) for v in losses.values())
    gammas = [float(_blocks(net)[0].gamma.detach()) for net in (t.G, t.D)]
    assert all(abs(g) > 1e-4 for g in gammas), gammas  # both players moved their gamma off 0
    # the EMA generator follows (its block is the one samples and export use)
    assert float(_blocks(t.ema.ema)[0].gamma) != 0.0


def test_exact_resume_with_attention(tmp_path):
    """N+M steps in one go == N steps, save, load in a fresh trainer, M steps: bit-identical, with the
    blocks' weights, gammas and spectral-norm power-iteration vectors in the checkpoint."""
    torch.set_num_threads(1)
    tensors = assert_exact_resume(tmp_path, CFG, _data(), steps=8, save_at=3)
    assert any(".attention." in k and k.endswith("._u") for k in tensors)  # the power iteration's state is saved


def test_a_project_saved_before_the_field_loads_without_attention():
    plain = StyleGANConfig(size=32, batch=4, preview_count=4, **TINY)
    saved = config_to_dict(plain)
    del saved["attention"]  # project.json of a model made before the option
    cfg = config_from_dict(StyleGANConfig, saved)
    assert cfg.attention is False and cfg == plain
    old = StyleGANTrainer(plain, _data(), seed=0)
    old.step()
    fresh = StyleGANTrainer(cfg, _data(), seed=1)
    fresh.load_state_dict(*old.state_dict())
    assert np.array_equal(fresh.samples(), old.samples())


@pytest.mark.parametrize("space", ["z", "w"])
def test_onnx_of_an_attention_generator_matches_pytorch(space, tmp_path):
    import onnx

    kind = get_kind("stylegan")
    cfg = kind.config_cls(size=32, attention=True, **TINY)
    torch.manual_seed(0)
    G = kind.make_generator(cfg)
    with torch.no_grad():
        G.mapping.w_avg.normal_()
        _blocks(G)[0].gamma.fill_(0.7)  # a trained-looking gamma, so the export must carry the attention
    path = tmp_path / "g.onnx"
    # export_onnx runs onnxruntime on batches of 1 and 5 (w: w+ rows that differ) against PyTorch
    assert E.export_onnx(GeneratorModel(cfg, G.state_dict(), kind=kind), path, space=space) <= 1e-4
    assert "Softmax" in {n.op_type for n in onnx.load(str(path)).graph.node}


def test_onnx_of_the_dcgan_attention_recipe_matches_pytorch_and_leaves_the_generator_as_it_was(tmp_path):
    """Spectral norm (in G's attention block and every G layer of the DCGAN's recipe) computes sigma
    with an operator ONNX lacks: the export fixes each weight first, on its own copy."""
    kind = get_kind("dcgan")
    cfg = kind.config_cls(size=32, z_dim=16, ngf=16, ndf=16, attention=True, g_spectral_norm=True,
                          spectral_norm=True)
    torch.manual_seed(0)
    G = kind.make_generator(cfg)
    with torch.no_grad():
        _blocks(G)[0].gamma.fill_(0.7)
    m = GeneratorModel(cfg, G.state_dict(), kind=kind)
    z = torch.randn(2, 16)
    with torch.no_grad():
        before = m.G(z)
    assert E.export_onnx(m, tmp_path / "g.onnx") <= 1e-4
    with torch.no_grad():
        assert torch.equal(m.G(z), before)  # the caller's generator still runs, parametrized as it was
    assert torch.nn.utils.parametrize.is_parametrized(_blocks(m.G)[0].query, "weight")


def test_config_checks_and_fine_tuning_keep_the_block_where_its_map_is():
    with pytest.raises(UserError, match="attention"):
        StyleGANConfig(size=32, attention=True, channel_base=64, channel_max=16).validate()  # 4 channels at 16x16
    kind = get_kind("stylegan")
    c32, c64, c128 = (StyleGANConfig(size=s, attention=True, **TINY) for s in (32, 64, 128))
    # 64 -> 128 px: the block stays on a 32x32 map, so it carries over; 32 -> 64 moves it (16 -> 32)
    assert kind.parent_key("G", "synthesis.attention.gamma", c64, c128) == "synthesis.attention.gamma"
    assert kind.parent_key("D", "attention.gamma", c64, c128) == "attention.gamma"
    assert kind.parent_key("G", "synthesis.attention.gamma", c32, c64) is None
    assert kind.parent_key("D", "attention.gamma", c32, c64) is None
    # FreezeD: the block belongs with the critic block it follows (the second at 128 px: 128 -> 64 -> 32)
    D = build_discriminator(c128)
    groups = kind.critic_blocks(D)
    assert D.attention in groups[1] and all(D.attention not in g for i, g in enumerate(groups) if i != 1)


def test_cli_flag_reaches_the_config(tmp_path, monkeypatch):
    data = write_folder(discs(8, 32, seed=0), tmp_path / "discs")
    monkeypatch.setattr(cli, "_drive", lambda session, minutes: 0)  # made, stopped before its first step
    base = ["train", "stylegan", "--data", str(data), "--size", "32", "--batch", "4"]
    assert cli.main([*base, "--out", str(tmp_path / "on"), "--attention"]) == 0
    assert cli.main([*base, "--out", str(tmp_path / "off")]) == 0
    on, off = (json.loads((tmp_path / p / "project.json").read_text())["model"] for p in ("on", "off"))
    assert on["attention"] is True and off["attention"] is False
