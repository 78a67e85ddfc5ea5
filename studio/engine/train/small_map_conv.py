"""Convolutions on small feature maps (4x4) computed as matrix products while training on a CPU.

On a CPU with AMX, oneDNN's bf16 kernels for a DCGAN's deepest layers, where a batch of 4x4 maps
meets 256-512 channels, run far below the machine's matmul speed. For D's 256 -> 512 channel
conv from 8x8 to 4x4 at batch 64 (bench/train_speed.py's machine, torch 2.14.1): a bf16 matmul of
the same arithmetic takes 1.8 ms, oneDNN's forward 6 ms, its input gradient 9.4 ms and its weight
gradient 19 ms. Written as matrix products:
- weight gradient: im2col (a strided view of the padded NHWC input, copied once) times the
  output gradient: 3.8 ms;
- input gradient of a kernel-4, stride-2, padding-1 conv (and so the forward pass of the
  matching transposed conv, G's 4x4 -> 8x8 layer): each output pixel parity (even/odd row and
  column) receives exactly 2x2 kernel taps, so it is one batched matmul over the four parities
  ("sub-pixel" form), summed inside the matmul in fp32: 4.6 ms;
- the conv's forward pass stays with oneDNN (im2col + matmul took 4.5 ms against 6.2: ~2% of
  the step, not worth another path).
The 64 px DCGAN's bf16 training step (batch 64) took 237-247 ms against 303-329 ms without, in
one interleaved run (1.3x). On 8x8 and larger maps the copied columns grow with the map and
oneDNN is as fast or faster (the sub-pixel input gradient took 11.4 ms against oneDNN's 2.7 ms on
16x16 -> 8x8), so only maps of at most `MAX_PIXELS` take this path.

`SmallMapConv2d` / `SmallMapConvTranspose2d` add no state to their torch.nn parents (same
parameters, same state_dict); `use_small_map_convs` switches the qualifying layers of a network in
place. The matrix products are used only while autograd records on a CPU; everything else (GPU,
inference, export, larger maps) runs the parent's forward unchanged. The backward pass is built
of differentiable operations, so gradient penalties (double backward) work through it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# The small side (a conv's output, a transposed conv's input) of the layers that gained in a
# training step: 4x4 maps and less (module docstring).
MAX_PIXELS = 16

# Kernel rows (or columns) of a kernel-4, stride-2, padding-1 conv that reach an even input row
# from padded output rows i, i + 1, then those that reach an odd input row from rows i + 1, i + 2.
_SUB_PIXEL_TAPS = [3, 1, 2, 0]


def conv_weight_grad(inp: torch.Tensor, grad_out: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int],
                     padding: tuple[int, int]) -> torch.Tensor:
    """Gradient of conv2d(inp, weight, stride, padding) (no dilation, one group) with respect to the
    weight (Co, C, kh, kw), given the output's gradient (N, Co, OH, OW)."""
    n, c, _, _ = inp.shape
    co, oh, ow = grad_out.shape[1:]
    kh, kw = kernel
    (sh, sw), (ph, pw) = stride, padding
    x = inp.permute(0, 2, 3, 1)  # NHWC view: a free view when inp is channels_last
    x = F.pad(x, (0, 0, pw, pw, ph, ph)) if ph or pw else x.contiguous()
    s_n, s_h, s_w, s_c = x.stride()
    # columns[n, oh, ow, i, j, c] = padded input[n, c, oh*sh + i, ow*sw + j]; rows are output pixels
    cols = x.as_strided((n, oh, ow, kh, kw, c), (s_n, sh * s_h, sw * s_w, s_h, s_w, s_c))
    cols = cols.reshape(n * oh * ow, kh * kw * c)
    g = grad_out.permute(0, 2, 3, 1).reshape(n * oh * ow, co)
    return (g.t() @ cols).view(co, kh, kw, c).permute(0, 3, 1, 2)  # channels_last (Co, C, kh, kw)


def conv_input_grad_k4s2p1(grad_out: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Gradient of conv2d(x, weight, stride=2, padding=1) with a 4x4 kernel with respect to x
    (N, C, 2*OH, 2*OW), given the output's gradient (N, Co, OH, OW); equally the forward pass of
    conv_transpose2d(grad_out, weight, stride=2, padding=1). Channels_last result."""
    n, co, oh, ow = grad_out.shape
    c = weight.shape[1]
    g = F.pad(grad_out.permute(0, 2, 3, 1), (0, 0, 1, 1, 1, 1))  # (N, OH + 2, OW + 2, Co)
    s_n, s_h, s_w, s_c = g.stride()
    # cols[a, b, n, i, j, ti, tj, co] = padded grad_out[n, i + a + ti, j + b + tj, co]: the 2x2 output
    # pixels that reach input pixel (2i + a, 2j + b)
    cols = g.as_strided((2, 2, n, oh, ow, 2, 2, co), (s_h, s_w, s_n, s_h, s_w, s_h, s_w, s_c))
    cols = cols.reshape(4, n * oh * ow, 4 * co)
    w = weight.permute(2, 3, 0, 1)[_SUB_PIXEL_TAPS][:, _SUB_PIXEL_TAPS]  # (kh, kw, Co, C) by parity
    w = w.reshape(2, 2, 2, 2, co, c).permute(0, 2, 1, 3, 4, 5).reshape(4, 4 * co, c)  # (a b, ti tj co, c)
    out = torch.bmm(cols, w).view(2, 2, n, oh, ow, c)
    return out.permute(2, 3, 0, 4, 1, 5).reshape(n, 2 * oh, 2 * ow, c).permute(0, 3, 1, 2)


def _k4s2p1(weight: torch.Tensor, stride, padding) -> bool:
    return tuple(weight.shape[2:]) == (4, 4) and tuple(stride) == (2, 2) and tuple(padding) == (1, 1)


class _Conv(torch.autograd.Function):
    """conv2d / conv_transpose2d on small maps: matmul weight gradient, and the sub-pixel matmul for a
    kernel-4 stride-2 layer's input gradient (conv) or forward pass (transposed); oneDNN for the rest."""

    @staticmethod
    def forward(ctx, x, weight, stride, padding, transposed):
        ctx.save_for_backward(x, weight)
        ctx.conf = stride, padding, transposed
        if transposed:
            if _k4s2p1(weight, stride, padding):
                return conv_input_grad_k4s2p1(x, weight)
            return F.conv_transpose2d(x, weight, None, stride, padding)
        return F.conv2d(x, weight, None, stride, padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        stride, padding, transposed = ctx.conf
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            if not transposed and _k4s2p1(weight, stride, padding):
                grad_x = conv_input_grad_k4s2p1(grad_out, weight)
            else:
                grad_x = torch.ops.aten.convolution_backward(
                    grad_out, x, weight, None, list(stride), list(padding), [1, 1], transposed, [0, 0], 1,
                    [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            kernel = tuple(weight.shape[2:])
            # A transposed conv's weight gradient is that of the plain conv mapping its output back
            # to its input: the roles of input and output gradient swap.
            grad_w = (conv_weight_grad(grad_out, x, kernel, stride, padding) if transposed
                      else conv_weight_grad(x, grad_out, kernel, stride, padding))
        return grad_x, grad_w, None, None, None


def _matmul_forward(module, x: torch.Tensor, transposed: bool) -> torch.Tensor:
    weight = module.weight
    if torch.is_autocast_enabled("cpu"):  # cast as autocast would, recorded so gradients flow back
        dtype = torch.get_autocast_dtype("cpu")
        x, weight = x.to(dtype), weight.to(dtype)
    with torch.autocast("cpu", enabled=False):
        return _Conv.apply(x, weight, module.stride, module.padding, transposed)


def _plain(module) -> bool:
    return (module.bias is None and module.groups == 1 and module.dilation == (1, 1)
            and module.padding_mode == "zeros" and not isinstance(module.padding, str))


def _wanted(x: torch.Tensor, small_side_pixels: int) -> bool:
    return x.device.type == "cpu" and x.ndim == 4 and torch.is_grad_enabled() and small_side_pixels <= MAX_PIXELS


class SmallMapConv2d(nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        out_pixels = ((x.shape[-2] + 2 * ph - kh) // sh + 1) * ((x.shape[-1] + 2 * pw - kw) // sw + 1)
        if _wanted(x, out_pixels):
            return _matmul_forward(self, x, transposed=False)
        return super().forward(x)


class SmallMapConvTranspose2d(nn.ConvTranspose2d):
    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if output_size is None and _wanted(x, x.shape[-2] * x.shape[-1]):
            return _matmul_forward(self, x, transposed=True)
        return super().forward(x, output_size)


def use_small_map_convs(net: nn.Module) -> int:
    """Switch `net`'s plain 2-D convolutions to the classes above, in place; returns how many.

    Safe to call on any network: the classes hold nothing their parents do not, and take the
    matmul path per call only where it measured faster."""
    switched = 0
    for m in net.modules():
        if type(m) is nn.Conv2d and _plain(m):
            m.__class__ = SmallMapConv2d
        elif type(m) is nn.ConvTranspose2d and _plain(m) and m.output_padding == (0, 0):
            m.__class__ = SmallMapConvTranspose2d
        else:
            continue
        switched += 1
    return switched
