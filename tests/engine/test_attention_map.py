"""Where does this pixel look (issue 20): the self-attention map of one point of a generated picture,
on a tiny DCGAN with the "attention" preset's generator, and on a toy net with two blocks (the map
code finds blocks by module type, never by kind)."""

import numpy as np
import pytest
import torch
from torch import nn

from studio.engine.explore.attention_map import attention_blocks, attention_map, has_attention, record_attention
from studio.engine.explore.generator import GeneratorModel
from studio.engine.models import get_kind
from studio.engine.models.attention import SelfAttention
from studio.engine.models.dcgan.nets import init_weights
from studio.engine.models.dcgan.trainer import ATTENTION_PRESET, DCGANConfig

DCGAN = get_kind("dcgan")
PRESET = {k: v for k, v in ATTENTION_PRESET.items() if k != "attention"}


def _model(attention=True, gamma=0.7, seed=0) -> GeneratorModel:
    cfg = DCGANConfig(size=32, z_dim=16, ngf=16, ndf=16, **PRESET, attention=attention)
    torch.manual_seed(seed)
    G = DCGAN.make_generator(cfg)
    G.apply(init_weights)
    for b in attention_blocks(G):
        b.gamma.data.fill_(gamma)  # a trained block's weight; 0 (a new one) leaves the picture as without it
    # BatchNorm statistics of G's own activations, as training leaves them: the defaults (mean 0, variance 1)
    # let activations grow ~1,000x through the layers and turn every attention row into a one-hot one
    for bn in (m for m in G.modules() if isinstance(m, nn.BatchNorm2d)):
        bn.reset_running_stats()
        bn.momentum = None  # a plain average over the passes below
    with torch.no_grad():
        G.train()(torch.randn(256, cfg.z_dim))
    return GeneratorModel(cfg, G.state_dict(), kind=DCGAN)


@pytest.fixture(scope="module")
def model():
    return _model()


def _z(seed=3):
    return torch.randn(16, generator=torch.Generator().manual_seed(seed)).numpy()


def test_map_has_the_pictures_size_and_is_a_normalised_attention_row(model):
    m = attention_map(model, _z(), (0.25, 0.6))
    assert np.array_equal(m.picture, model.generate(_z())[0])  # the picture the map belongs to
    assert m.heat.shape == m.picture.shape[:2] == (32, 32)
    assert m.side == (16, 16)  # the DCGAN's block sits on G's last hidden map, half the picture
    assert m.heat.dtype == np.float32 and m.heat.min() >= 0 and m.heat.max() == pytest.approx(1.0)
    assert m.row.sum() == pytest.approx(1.0, abs=1e-5) and m.row.min() > 0  # a softmax row
    # 0.25 * 16 = 4.0 -> column 4; 0.6 * 16 = 9.6 -> row 9 (the cell whose centre is nearest)
    assert m.cell == (4, 9) and m.pixel == (8, 19)
    # the peak of the enlarged map lies where the row's peak is, give or take the bilinear blend
    py, px = np.unravel_index(m.heat.argmax(), m.heat.shape)
    ry, rx = np.unravel_index(m.row.argmax(), m.row.shape)
    assert abs(py // 2 - ry) <= 1 and abs(px // 2 - rx) <= 1
    assert m.gamma == pytest.approx(0.7)


def test_map_changes_with_the_point_and_the_latent(model):
    a = attention_map(model, _z(), (0.1, 0.1))
    b = attention_map(model, _z(), (0.9, 0.8))
    assert a.cell != b.cell
    assert np.abs(a.heat - b.heat).max() > 0.05
    same_cell = attention_map(model, _z(), (0.1 + 0.01, 0.1))  # still cell (1, 1)
    assert np.array_equal(same_cell.row, a.row)
    other = attention_map(model, _z(seed=4), (0.1, 0.1))
    assert not np.allclose(other.row, a.row)


def test_map_equals_the_softmax_row_computed_by_hand_from_query_and_key(model):
    (block,) = attention_blocks(model.G)
    seen = {}
    hook = block.register_forward_hook(lambda mod, inp, out: seen.setdefault("x", inp[0].detach().clone()))
    try:
        m = attention_map(model, _z(), (0.7, 0.3))
    finally:
        hook.remove()
    x = seen["x"]  # (1, C, 16, 16): what the block saw
    with torch.no_grad():
        q = block.query(x).flatten(2)[0]  # (C/8, 256)
        k = block.key(x).flatten(2)[0]
    i = m.cell[1] * 16 + m.cell[0]  # row-major position of cell (11, 4)
    assert m.cell == (11, 4)
    by_hand = torch.softmax(q[:, i] @ k, dim=0).view(16, 16).numpy()
    np.testing.assert_allclose(m.row, by_hand, rtol=1e-4, atol=1e-7)
    up = torch.nn.functional.interpolate(torch.from_numpy(by_hand)[None, None], size=(32, 32), mode="bilinear")[0, 0]
    np.testing.assert_allclose(m.heat, (up / up.max()).numpy(), atol=1e-5)


def test_recording_is_switched_off_again_and_pictures_are_unchanged(model):
    before = model.generate(_z())
    attention_map(model, _z(), (0.5, 0.5))
    assert all(not b.record and b.last_map is None for b in attention_blocks(model.G))
    assert np.array_equal(model.generate(_z()), before)


def test_a_model_without_attention_reports_none():
    plain = _model(attention=False)
    assert not has_attention(plain)
    assert has_attention(_model())
    with pytest.raises(ValueError, match="no self-attention"):
        attention_map(plain, _z(), (0.5, 0.5))


class _TwoBlocks(nn.Module):
    """Not a kind: a net with attention at 8x8 and at 16x16, nested in a Sequential."""

    def __init__(self):
        super().__init__()
        self.coarse = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), SelfAttention(16))
        self.fine = nn.Sequential(nn.Upsample(scale_factor=2), SelfAttention(16), nn.Conv2d(16, 3, 1))

    def forward(self, x):
        return self.fine(self.coarse(x))


def test_blocks_are_found_in_any_net_and_the_largest_map_is_the_default():
    torch.manual_seed(0)
    net = _TwoBlocks().eval()
    x = torch.randn(1, 3, 16, 16)

    def render():
        with torch.no_grad():
            return ((net(x).tanh() + 1) * 127.5).byte().permute(0, 2, 3, 1).numpy()

    assert len(attention_blocks(net)) == 2
    fine = record_attention(net, render, (0.5, 0.5))
    assert fine.side == (16, 16) and fine.heat.shape == (16, 16)
    coarse = record_attention(net, render, (0.5, 0.5), block=0)
    assert coarse.side == (8, 8) and coarse.heat.shape == (16, 16)
