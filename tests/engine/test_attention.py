"""Self-attention (SAGAN) in the DCGAN: the block, the "attention" preset's recipe, and that it learns.

Whether attention beats the same network on a long-range dependency takes more steps than a unit
test affords: bench/attention_long_range.py prints that figure (two discs of one colour in opposite
corners). Here: the block starts as the identity (gamma = 0) and lets a position draw on a distant
one, the preset builds what SAGAN prescribes, and a short run learns (the pictures' brightness
moves towards the data's; SAGAN's slow G rate of 1e-4 moves SWD only ~10% in 120 steps) and brings
attention in (gamma leaves 0)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from studio.engine.data.procedural import discs
from studio.engine.models import get_kind
from studio.engine.models.attention import SelfAttention, attention_side
from studio.engine.models.dcgan.nets import Discriminator, Generator
from studio.engine.models.dcgan.trainer import ATTENTION_PRESET, DCGANConfig, DCGANTrainer


def test_block_starts_as_identity_and_relates_distant_positions():
    torch.manual_seed(0)
    block = SelfAttention(16)
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(block(x), x)  # gamma = 0: a new network trains as the plain one
    with torch.no_grad():
        block.gamma.fill_(1.0)
    block.record = True
    y = block(x)
    assert block.last_map.shape == (2, 64, 64)
    assert torch.allclose(block.last_map.sum(-1), torch.ones(2, 64))  # each position's weights sum to 1
    x2 = x.clone()
    x2[:, :, 7, 7] += 5.0  # change only the far corner
    changed = (block(x2) - y).abs().sum(1)[:, 0, 0]
    assert (changed > 1e-4).all()  # ... and the opposite corner's output moves: one layer spans the picture


def test_attention_preset_is_the_sagan_recipe():
    from studio.engine.data.dataset import DataConfig

    cfg = get_kind("dcgan").default_config(DataConfig(size=32), {}, {"preset": "attention", "width": 16})
    assert (cfg.attention, cfg.loss, cfg.spectral_norm, cfg.g_spectral_norm) == (True, "hinge", True, True)
    G, D = Generator(32, 8, 16, 3, attention=True, spectral_norm=True), Discriminator(32, 16, 3, True, attention=True)
    assert attention_side(32) == 16 and attention_side(256) == 32
    for net in (G, D):
        blocks = [m for m in net.modules() if isinstance(m, SelfAttention)]
        assert len(blocks) == 1
    # G's block sits on its 16x16 map, D's after its first downsampling (16x16 too)
    seen = {}
    hooks = [m.register_forward_hook(lambda m, i, o, net=n: seen.__setitem__(net, o.shape[-1]))
             for n, net in (("G", G), ("D", D)) for m in net.modules() if isinstance(m, SelfAttention)]
    G(torch.randn(2, 8))
    D(torch.randn(2, 3, 32, 32))
    for h in hooks:
        h.remove()
    assert seen == {"G": 16, "D": 16}
    assert all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in G.modules()
               if isinstance(m, torch.nn.ConvTranspose2d))  # spectral norm in G too
    cfg = DCGANConfig(**{**ATTENTION_PRESET, "size": 32, "ngf": 16, "ndf": 16, "z_dim": 8, "batch": 4,
                         "precision": "fp32"})
    trainer = DCGANTrainer(cfg, torch.zeros(4, 3, 32, 32, dtype=torch.uint8))
    assert trainer.opt_G.param_groups[0]["lr"] == 1e-4 and trainer.opt_D.param_groups[0]["lr"] == 4e-4
    assert trainer.opt_D.param_groups[0]["betas"] == (0.0, 0.9)  # two time-scale rule, Adam(0, 0.9)


def test_attention_preset_learns_and_resumes_exactly():
    torch.set_num_threads(1)
    images = torch.from_numpy(discs(256, 32, seed=0)).permute(0, 3, 1, 2).contiguous()
    cfg = DCGANConfig(**{**ATTENTION_PRESET, "size": 32, "ngf": 16, "ndf": 16, "z_dim": 32, "batch": 32,
                         "precision": "fp32", "preview_count": 4, "ema_decay": 0.99})
    trainer = DCGANTrainer(cfg, images)
    z = torch.randn(64, 32, generator=torch.Generator().manual_seed(1))
    data_mean = float(images.float().mean())

    def gap() -> float:  # how far the samples' mean brightness is from the data's (0-255)
        return abs(float(trainer.generate(z).astype(np.float32).mean()) - data_mean)

    before = gap()
    for _ in range(100):
        trainer.step()
    assert gap() < 0.7 * before, (before, gap())  # measured: 66 -> 37
    gamma = [float(m.gamma.detach()) for m in trainer.G.modules() if isinstance(m, SelfAttention)]
    assert abs(gamma[0]) > 1e-3  # attention was brought in (0.0096 measured)

    tensors, meta = trainer.state_dict()
    other = DCGANTrainer(cfg, images, seed=3)
    other.load_state_dict({k: v.clone() for k, v in tensors.items()}, meta)
    assert trainer.step() == other.step()
    assert np.array_equal(trainer.samples(), other.samples())


def test_critics_with_spectral_norm_have_biases_and_older_projects_keep_theirs():
    """A bias-free critic without BatchNorm is positively homogeneous (D(2x) = 2 D(x)); on sparse
    pictures both spectral-norm recipes collapsed to the empty background with it (measured with
    bench/attention_long_range.py's discs: SWD 1,076-1,130 at step 1,000, 303 with biases)."""
    from studio.engine.config import config_from_dict
    from studio.engine.data.dataset import DataConfig
    from studio.engine.models.dcgan.trainer import STABLE_PRESET

    kind = get_kind("dcgan")
    for preset in ("stable", "attention"):
        cfg = kind.default_config(DataConfig(size=32), {}, {"preset": preset, "width": 16})
        assert cfg.d_bias and cfg.spectral_norm
        trainer = DCGANTrainer(dataclasses.replace(cfg, batch=4, precision="fp32"),
                               torch.zeros(4, 3, 32, 32, dtype=torch.uint8))
        D = trainer.D.eval()
        assert any(k.endswith(".bias") for k in D.state_dict())
        x = torch.rand(3, 3, 32, 32) * 2 - 1
        with torch.no_grad():
            torch.nn.init.normal_(next(m for m in D.modules() if isinstance(m, torch.nn.Conv2d)).bias, 0, 0.5)
            assert not torch.allclose(D(2 * x), 2 * D(x), atol=1e-4)
    # the paper recipe keeps its bias-free D (BatchNorm follows every convolution but the first)
    assert not kind.default_config(DataConfig(size=32), {}, {"width": 16}).d_bias
    # a project saved before the field trained a bias-free critic and still loads as one
    old = dataclasses.asdict(DCGANConfig(**{**STABLE_PRESET, "size": 32}))
    del old["d_bias"]
    assert config_from_dict(DCGANConfig, old).d_bias is False
