"""Small-map convolutions as matrix products: the same results and gradients as torch's, used only where meant."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from studio.engine import device as device_mod
from studio.engine.models.dcgan.nets import Discriminator, Generator
from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer
from studio.engine.train import small_map_conv as smc

# (transposed, in channels, out channels, kernel, stride, padding, input side): DCGAN's layers and odd ones
LAYERS = [
    (False, 6, 10, 4, 2, 1, 8),  # D's deep conv, 8x8 -> 4x4
    (False, 6, 1, 4, 1, 0, 4),  # D's last conv, 4x4 -> 1x1
    (True, 10, 6, 4, 2, 1, 4),  # G's conv-transpose, 4x4 -> 8x8
    (True, 12, 10, 4, 1, 0, 1),  # G's first layer, z -> 4x4
    (False, 5, 7, 3, 2, 1, 7),  # odd size: the last input row is not used
    (True, 5, 7, 3, 2, 1, 3),
    (False, 5, 7, 3, 1, 1, 4),  # stride 1
]


def _layer(transposed, c_in, c_out, k, s, p):
    cls = nn.ConvTranspose2d if transposed else nn.Conv2d
    return cls(c_in, c_out, k, s, p, bias=False)


@pytest.mark.parametrize("transposed,c_in,c_out,k,s,p,side", LAYERS)
def test_weight_and_input_gradients_equal_torchs(transposed, c_in, c_out, k, s, p, side):
    torch.manual_seed(0)
    plain = _layer(transposed, c_in, c_out, k, s, p)
    fast = _layer(transposed, c_in, c_out, k, s, p)
    fast.load_state_dict(plain.state_dict())
    assert smc.use_small_map_convs(fast) == 1 and type(fast).__name__.startswith("SmallMap")
    x = torch.randn(3, c_in, side, side)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = plain(xa), fast(xb)
    assert yb.grad_fn is not None and "_Conv" in type(yb.grad_fn).__name__  # the matmul path ran
    g = torch.randn_like(ya)
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(yb, ya, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast.weight.grad, plain.weight.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("transposed,c_in,c_out,k,s,p,side", LAYERS[:4])
def test_gradients_and_second_order_gradients_check_numerically(transposed, c_in, c_out, k, s, p, side):
    """gradcheck/gradgradcheck in float64: the backward is differentiable, so R1-style penalties work."""
    torch.manual_seed(1)
    x = torch.randn(2, c_in, side, side, dtype=torch.float64, requires_grad=True)
    w = torch.randn(*((c_in, c_out) if transposed else (c_out, c_in)), k, k, dtype=torch.float64, requires_grad=True)

    def f(x, w):
        return smc._Conv.apply(x, w, (s, s), (p, p), transposed)

    assert torch.autograd.gradcheck(f, (x, w))
    assert torch.autograd.gradgradcheck(f, (x, w))


def test_frozen_weights_get_no_gradient_and_inputs_the_right_one():
    """The DCGAN's G step runs D frozen: only the input gradient is computed."""
    torch.manual_seed(4)
    plain = _layer(False, 6, 10, 4, 2, 1).requires_grad_(False)
    fast = _layer(False, 6, 10, 4, 2, 1)
    fast.load_state_dict(plain.state_dict())
    smc.use_small_map_convs(fast.requires_grad_(False))
    xa, xb = (torch.randn(2, 6, 8, 8, generator=torch.Generator().manual_seed(5)).requires_grad_() for _ in "ab")
    plain(xa).square().sum().backward()
    out = fast(xb)
    assert "_Conv" in type(out.grad_fn).__name__
    out.square().sum().backward()
    assert fast.weight.grad is None
    torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("channels_last", [False, True])
def test_sub_pixel_input_gradient_equals_a_transposed_conv_on_non_square_maps(channels_last):
    g = torch.randn(2, 5, 3, 2, dtype=torch.float64)
    w = torch.randn(5, 7, 4, 4, dtype=torch.float64)
    if channels_last:
        g, w = (t.contiguous(memory_format=torch.channels_last) for t in (g, w))
    out = smc.conv_input_grad_k4s2p1(g, w)
    assert out.shape == (2, 7, 6, 4)
    torch.testing.assert_close(out, F.conv_transpose2d(g, w, None, 2, 1), rtol=1e-12, atol=1e-12)


def test_bf16_autocast_gradients_match_onednns_within_bf16_rounding():
    torch.manual_seed(2)
    plain = Discriminator(32, ndf=8).to(memory_format=torch.channels_last)
    fast = Discriminator(32, ndf=8).to(memory_format=torch.channels_last)
    fast.load_state_dict(plain.state_dict())
    assert smc.use_small_map_convs(fast) == 4
    x = torch.randn(16, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    for net in (plain, fast):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = net(x)
        out.float().square().mean().backward()
    for (name, a), b in zip(plain.named_parameters(), fast.parameters()):
        assert b.grad.dtype == torch.float32
        scale = a.grad.abs().max()
        assert (a.grad - b.grad).abs().max() <= 0.03 * scale, name


def test_the_parents_path_runs_where_the_matmul_would_not_pay_or_is_not_needed():
    torch.manual_seed(3)
    conv = _layer(False, 4, 4, 4, 2, 1)
    smc.use_small_map_convs(conv)
    big = torch.randn(2, 4, 16, 16, requires_grad=True)  # 8x8 output map: above MAX_PIXELS
    assert "_Conv" not in type(conv(big).grad_fn).__name__
    small = torch.randn(2, 4, 8, 8, requires_grad=True)
    with torch.no_grad():
        assert conv(small).grad_fn is None


def test_switching_keeps_the_state_and_skips_layers_it_does_not_cover():
    g = Generator(32, ngf=8)
    keys = list(g.state_dict())
    assert smc.use_small_map_convs(g) == 4
    assert list(g.state_dict()) == keys and isinstance(g.main[0], nn.ConvTranspose2d)
    assert smc.use_small_map_convs(g) == 0  # idempotent
    sn = Discriminator(32, ndf=8, spectral_norm=True)
    with_bias = nn.Conv2d(3, 3, 4, 2, 1)
    assert smc.use_small_map_convs(sn) == 0 and smc.use_small_map_convs(with_bias) == 0


@pytest.mark.parametrize("native_bf16", [False, True])
def test_dcgan_trainer_uses_it_on_the_cpu_bf16_path_only(monkeypatch, native_bf16):
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda: native_bf16)
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    t = DCGANTrainer(DCGANConfig(size=32, batch=4, ngf=8, ndf=8), images)
    switched = {type(m) for m in (*t.G.modules(), *t.D.modules())}
    assert (smc.SmallMapConv2d in switched) is native_bf16
    assert (smc.SmallMapConvTranspose2d in switched) is native_bf16
    assert smc.SmallMapConvTranspose2d not in {type(m) for m in t.ema.ema.modules()}  # export stays plain
    losses = t.step()
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
