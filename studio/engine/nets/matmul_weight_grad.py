"""Convolutions whose weight gradient is one matrix product, for layers with a small feature map.

On a CPU with AMX, oneDNN's bf16 weight gradient of a DCGAN's deep layers runs far below the
machine's matmul speed: for D's 256 -> 512 channel conv from 8x8 to 4x4 at batch 64 it took 19 ms,
against 6 ms for the forward pass of the same layer and 1.8 ms for a bf16 matmul of the same
arithmetic (bench/train_speed.py's machine, torch 2.14.1). Written as im2col (a strided view of the
padded NHWC input, copied once) times the output gradient, the same gradient took 3.8 ms: the
64 px DCGAN's training step went from ~285 to ~235 ms. On 8x8 maps the matmul was 1.4x faster
alone but made no measurable difference to the step; on 16x16 and larger maps it is slower, as the
copied columns grow with the map. The forward pass and the input gradient stay with oneDNN.

`MatmulWeightGradConv2d` / `MatmulWeightGradConvTranspose2d` add no state to their torch.nn
parents (same parameters, same state_dict); `use_matmul_weight_grads` switches the qualifying
layers of a network in place. The matmul path is taken only while autograd records on a CPU and
the layer's small side has at most `MAX_PIXELS` pixels; everything else (GPU, inference, export,
large maps) runs the parent's forward unchanged. The backward pass is built of differentiable
operations, so gradient penalties (double backward) work through it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# The small side of the layers that gained in a training step (module docstring): 4x4 maps and less.
MAX_PIXELS = 16


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


class _Conv(torch.autograd.Function):
    """conv2d / conv_transpose2d with oneDNN forward and input gradient, matmul weight gradient."""

    @staticmethod
    def forward(ctx, x, weight, stride, padding, transposed):
        ctx.save_for_backward(x, weight)
        ctx.conf = stride, padding, transposed
        conv = F.conv_transpose2d if transposed else F.conv2d
        return conv(x, weight, None, stride, padding)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        stride, padding, transposed = ctx.conf
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
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


def _wanted(module, x: torch.Tensor, small_side_pixels: int) -> bool:
    return (x.device.type == "cpu" and x.ndim == 4 and torch.is_grad_enabled() and module.weight.requires_grad
            and small_side_pixels <= MAX_PIXELS)


class MatmulWeightGradConv2d(nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        out_pixels = ((x.shape[-2] + 2 * ph - kh) // sh + 1) * ((x.shape[-1] + 2 * pw - kw) // sw + 1)
        if _wanted(self, x, out_pixels):
            return _matmul_forward(self, x, transposed=False)
        return super().forward(x)


class MatmulWeightGradConvTranspose2d(nn.ConvTranspose2d):
    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if output_size is None and _wanted(self, x, x.shape[-2] * x.shape[-1]):
            return _matmul_forward(self, x, transposed=True)
        return super().forward(x, output_size)


def use_matmul_weight_grads(net: nn.Module) -> int:
    """Switch `net`'s plain 2-D convolutions to the classes above, in place; returns how many.

    Safe to call on any network: the classes hold nothing their parents do not, and pick the matmul
    path per call only where it measured faster."""
    switched = 0
    for m in net.modules():
        if type(m) is nn.Conv2d and _plain(m):
            m.__class__ = MatmulWeightGradConv2d
        elif type(m) is nn.ConvTranspose2d and _plain(m) and m.output_padding == (0, 0):
            m.__class__ = MatmulWeightGradConvTranspose2d
        else:
            continue
        switched += 1
    return switched
