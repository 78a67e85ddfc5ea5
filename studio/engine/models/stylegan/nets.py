"""StyleGAN2-class networks in plain PyTorch (Karras et al. 2020, "Analyzing and Improving the Image
Quality of StyleGAN"; facts from NVlabs/stylegan2-ada-pytorch training/networks.py): a mapping network
z -> w, a synthesis network from a learned 4x4 constant with modulated/demodulated convolutions,
per-layer noise and a skip (toRGB) output, and a residual discriminator with minibatch standard
deviation. Equalized learning rate everywhere: weights are stored N(0, 1) and scaled at run time.

No custom ops, so it runs on CPUs, Apple GPUs and any CUDA GPU, and exports to ONNX:
- resampling convolutions follow the reference's conv2d_resample: G's up-sampling 3x3 layers are a
  stride-2 transposed convolution followed by the FIR [1, 3, 3, 1] filter, D's down-sampling ones
  the filter followed by a stride-2 convolution (a depthwise conv2d stands in for upfirdn2d). Each
  convolves at the smaller resolution: at 64 px, small preset, batch 16 on the 2-core CPU with one
  thread, those layers' forward + backward took 2-3x less time than up-sampling (or convolving at
  full size) and pooling, and the whole training step 1.3x less (3.65 -> 2.79 s a step, the two
  forms trained side by side under load 6-8; tests/engine/test_stylegan.py checks the form
  against the reference's generic path). The skip image is up-sampled with the same
  filter (the reference's upsample2d, zero outside the picture), so a StyleGAN2-ADA network pickle
  imported by pkl_import.py gives the reference's pictures (tests/engine/test_pkl_import.py);
- `conv_clamp` > 0 clamps activations to +-conv_clamp where the reference does (it trains with it
  whenever it uses fp16; imported models keep theirs); 0, the default, never clamps;
- modulation scales the input activations and demodulation the output ones around one shared
  convolution (the reference's `fused_modconv=False` form, which it uses while training) instead of
  per-sample weights in a grouped convolution. Both are the same arithmetic (tests/engine/test_stylegan.py
  checks each against a per-sample reference); timed on the shared 2-core CPU (G forward + backward,
  64 px, batch 16, small preset, 2 x 4 alternating runs) they were within the machine's noise
  (grouped 4.3-12.3 s, scaled 4.5-11.8 s), so the one that needs no batch-sized reshape wins: it
  exports to ONNX with a dynamic batch as plain Mul/Conv nodes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from studio.engine.models.attention import SelfAttention, attention_side
from studio.engine.models.conditioning import ClassEmbedding

SIZES = (32, 64, 128, 256, 512, 1024)  # 1024: StyleGAN2-ADA models imported at it (FFHQ, MetFaces)
LRELU_GAIN = math.sqrt(2)  # keeps activations' magnitude through leaky ReLU (as the reference's bias_act)
_FIR_1D = torch.tensor([1.0, 3.0, 3.0, 1.0])
FIR_4x4 = torch.outer(_FIR_1D, _FIR_1D) / 64  # the reference's resampling filter (sums to 1)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


class FC(nn.Module):
    """Equalized-LR fully connected layer; `lr_mul` slows a layer's learning (0.01 in the mapping)."""

    def __init__(self, in_f: int, out_f: int, act: bool = True, lr_mul: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_f, in_f) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_f,), float(bias_init)))
        self.weight_gain = lr_mul / math.sqrt(in_f)
        self.bias_gain = lr_mul
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain)
        return lrelu(x) if self.act else x


class Conv(nn.Module):
    """Equalized-LR convolution (the discriminator's), optionally halving the resolution after it.
    `out_gain` scales the output (after the activation and clamp), as DBlock's 1/sqrt(2)."""

    def __init__(self, in_c: int, out_c: int, k: int, act: bool = True, bias: bool = True, down: bool = False,
                 clamp: float = 0.0, out_gain: float = 1.0):
        super().__init__()
        self.clamp = clamp
        self.weight = nn.Parameter(torch.randn(out_c, in_c, k, k))
        self.bias = nn.Parameter(torch.zeros(out_c)) if bias else None
        self.weight_gain = 1 / math.sqrt(in_c * k * k)
        self.act, self.down, self.pad = act, down, k // 2
        self.out_gain = out_gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Leaky ReLU is positively homogeneous, so lrelu(conv(x)) * gain = lrelu(conv(x) * gain): the
        # activation's gain and out_gain ride on the weight and bias (a few thousand numbers) instead
        # of a multiply over every activation, forward and backward.
        gain = (LRELU_GAIN if self.act else 1.0) * self.out_gain
        weight = self.weight * (self.weight_gain * gain)
        bias = None if self.bias is None else self.bias * gain
        if self.down:
            # The reference's conv2d_resample: low-pass, then a stride-2 convolution (a 1x1 one after
            # the down-sampling), so the convolution runs at the output's resolution, a quarter of
            # the arithmetic of convolving at the input's and pooling.
            k = self.weight.shape[-1]
            x = fir_filter(x, k // 2 + 1, stride=2 if k == 1 else 1)
            x = F.conv2d(x, weight, bias, stride=1 if k == 1 else 2)
        else:
            x = F.conv2d(x, weight, bias, padding=self.pad)
        if self.act:
            x = F.leaky_relu(x, 0.2, inplace=True)  # the convolution's output: its backward does not need it
        return _clamp(x, self.clamp * self.out_gain)


def fir_filter(x: torch.Tensor, pad: int, stride: int = 1, gain: float = 1.0) -> torch.Tensor:
    """The reference's upfirdn2d without up-sampling: zero-pad each side by `pad`, then filter each
    channel with the normalised 4x4 [1, 3, 3, 1] outer product (times `gain`), keeping every
    `stride`-th pixel."""
    c = int(x.shape[1])  # a constant even when traced for ONNX with a dynamic batch: the kernel's shape must be known
    if stride == 2 and x.device.type == "cpu" and (x.dtype == torch.bfloat16 or torch.is_autocast_enabled("cpu")):
        # oneDNN's bf16 depthwise convolution with a stride of 2 has a slow backward on CPUs: 22-30 ms
        # for a 64 px critic's skip branch against 1-5 ms in fp32 (2-core AMX Xeon, batch 16), a
        # third of the whole bf16 step. In fp32 the next convolution converts back (autocast).
        with torch.autocast("cpu", enabled=False):
            return fir_filter(x.float(), pad, stride, gain)
    f = (FIR_4x4 * gain).to(x)[None, None].repeat(c, 1, 1, 1)
    # the convolution's own zero padding, not F.pad: the same sums without writing a padded copy
    # (at 64 px the padded copy and its zero fill cost as much as the filter itself)
    return F.conv2d(x, f, stride=stride, padding=pad, groups=c)


def upsample_2x(x: torch.Tensor) -> torch.Tensor:
    """The reference's upfirdn2d.upsample2d (zeros between the samples, then the FIR filter with a gain of
    4) for (B, C, H, W) -> (B, C, 2H, 2W). Bilinear interpolation is that filter away from the border;
    a zero border first, cropped after, makes it the reference's at the border too (no kernel tensor,
    so ONNX exports it with any number of channels)."""
    return F.interpolate(F.pad(x, [1, 1, 1, 1]), scale_factor=2, mode="bilinear", align_corners=False)[:, :, 2:-2, 2:-2]


def _clamp(x: torch.Tensor, clamp: float) -> torch.Tensor:
    return x.clamp(-clamp, clamp) if clamp > 0 else x


def modulated_conv(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                   padding: int = 1, up: bool = False) -> torch.Tensor:
    """Convolution of each sample with `weight` (O, I, k, k) scaled by its `styles` (B, I) along the
    input channels and, when `demodulate`, normalised to unit output variance per sample. `up`: a
    3x3 convolution that doubles the resolution (`conv_up`)."""
    x = x * styles[:, :, None, None].to(x.dtype)  # bf16 activations stay bf16 (an fp32 style would promote them)
    x = conv_up(x, weight) if up else F.conv2d(x, weight, padding=padding)
    if demodulate:
        x = x * demodulation(weight, styles)[:, :, None, None].to(x.dtype)
    return x


def demodulation(weight: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """(B, O): 1 / the norm of each sample's modulated weight, the sum over I, k, k of (w * s)^2 as
    one (B, I) x (I, O) product."""
    return (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()


def modulated_conv_grouped(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                           padding: int = 1, up: bool = False) -> torch.Tensor:
    """The same as `modulated_conv` with per-sample weights in one grouped convolution (the paper's
    form); kept to check the two agree and to time them (see the module docstring)."""
    b, c_in, h, w = x.shape
    wt = weight[None] * styles[:, None, :, None, None]  # (B, O, I, k, k)
    if demodulate:
        wt = wt * (wt.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    if up:
        # per-sample weights as the transposed convolution's groups: (B * I, O, k, k)
        wt = wt.transpose(1, 2).reshape(b * c_in, -1, *weight.shape[2:])
        out = F.conv_transpose2d(x.reshape(1, b * c_in, h, w), wt, stride=2, groups=b)
        out = fir_filter(out, 1, gain=4)
    else:
        out = F.conv2d(x.reshape(1, b * c_in, h, w), wt.reshape(-1, c_in, *weight.shape[2:]), padding=padding,
                       groups=b)
    return out.reshape(b, -1, *out.shape[2:])


def conv_up(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """3x3 convolution (`weight` (O, I, 3, 3)) at twice the resolution of `x`, as the reference's
    conv2d_resample(up=2): a stride-2 transposed convolution on the small map, then the [1, 3, 3, 1]
    filter with a gain of 4 (for the zeros between samples). A quarter of the arithmetic of
    up-sampling first and convolving the large map, and the same 2x output size."""
    return fir_filter(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2), 1, gain=4)


class MappingNetwork(nn.Module):
    """z -> w: normalised z through `layers` FC layers at 1/100 learning rate, w broadcast to every
    layer's style (B, num_ws, w_dim). Keeps the running average of w (`w_avg`) for truncation.

    With `num_classes` > 0 the class (`c`: indices (B,) or weights (B, num_classes)) is embedded to
    w_dim values, normalised like z and concatenated to it before the FC layers (StyleGAN2-ADA's
    c_dim); without `c` it draws class 0."""

    def __init__(self, z_dim: int, w_dim: int, num_ws: int, layers: int, lr_mul: float = 0.01,
                 w_avg_beta: float = 0.995, num_classes: int = 0):
        super().__init__()
        self.z_dim, self.w_dim, self.num_ws, self.w_avg_beta = z_dim, w_dim, num_ws, w_avg_beta
        self.num_classes = num_classes
        if num_classes:
            self.embed = ClassEmbedding(num_classes, w_dim)
        dims = [z_dim + (w_dim if num_classes else 0)] + [w_dim] * layers
        self.fcs = nn.ModuleList(FC(a, b, lr_mul=lr_mul) for a, b in zip(dims[:-1], dims[1:]))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, psi: float = 1.0, track_w_avg: bool = False,
                c: torch.Tensor | None = None) -> torch.Tensor:
        x = normalize_2nd_moment(z)
        if self.num_classes:
            if c is None:
                c = z.new_zeros(z.shape[0], dtype=torch.long)  # traced with the batch size, for ONNX
            x = torch.cat([x, normalize_2nd_moment(self.embed(c.to(z.device)).to(x.dtype))], dim=1)
        for fc in self.fcs:
            x = fc(x)
        if track_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if psi != 1:
            x = self.w_avg.lerp(x, psi)
        return x[:, None, :].expand(-1, self.num_ws, -1)


class ClassMap(nn.Module):
    """The discriminator's map of a class (indices (B,) or weights (B, num_classes)) -> (B, dim):
    the class embedded and normalised, then `layers` FC layers at 1/100 learning rate, as
    StyleGAN2-ADA's discriminator mapping network (no z). No layers by default, not the reference's
    8: those random, barely-learning layers start the classes' maps alike (cosine 0.72 at 8 layers,
    0.19 at one, 64 values, 5 seeds), and on bench/conditional_control.py --kind stylegan (shared
    2-core VM, load 4) 1,000 steps gave 61% of samples the asked class at 8 layers, 77% at one and
    90% at none."""

    def __init__(self, num_classes: int, dim: int, layers: int = 0, lr_mul: float = 0.01):
        super().__init__()
        self.embed = ClassEmbedding(num_classes, dim)
        self.fcs = nn.ModuleList(FC(dim, dim, lr_mul=lr_mul) for _ in range(layers))

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        x = normalize_2nd_moment(self.embed(c))
        for fc in self.fcs:
            x = fc(x)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution (optionally doubling the resolution), noise with a learned strength,
    bias and leaky ReLU."""

    def __init__(self, in_c: int, out_c: int, w_dim: int, res: int, up: bool = False, clamp: float = 0.0):
        super().__init__()
        self.clamp = clamp
        self.affine = FC(w_dim, in_c, act=False, bias_init=1.0)  # styles start at 1: an unmodulated conv
        self.weight = nn.Parameter(torch.randn(out_c, in_c, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_c))
        self.noise_strength = nn.Parameter(torch.zeros(()))
        # the fixed noise used for inference (explorer, export): one image per w, reproducibly
        self.register_buffer("noise_const", torch.randn(res, res))
        self.weight_gain = 1 / math.sqrt(in_c * 9)
        self.up, self.res = up, res

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The reference's lrelu(conv * demod + noise * strength + bias) * gain, in three passes over
        the convolution's output instead of five: the gain (leaky ReLU is positively homogeneous) rides on the
        (B, O) demodulation, the bias and the noise strength, the demodulation and bias are one
        multiply-add, the noise is added in place, and the activation too (each of those outputs is
        fresh and nothing's backward reads it)."""
        weight, styles = self.weight * self.weight_gain, self.affine(w)
        x = modulated_conv(x, weight, styles, demodulate=False, up=self.up)
        scale = (demodulation(weight, styles) * LRELU_GAIN).to(x.dtype)
        x = torch.addcmul((self.bias * LRELU_GAIN).to(x.dtype)[None, :, None, None], x, scale[:, :, None, None])
        x = x.addcmul_((self.noise_const if noise is None else noise).to(x.dtype), self.noise_strength * LRELU_GAIN)
        return _clamp(F.leaky_relu(x, 0.2, inplace=True), self.clamp)


class ToRGB(nn.Module):
    """Modulated 1x1 convolution to image channels, without demodulation or activation."""

    def __init__(self, in_c: int, channels: int, w_dim: int, clamp: float = 0.0):
        super().__init__()
        self.clamp = clamp
        self.affine = FC(w_dim, in_c, act=False, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(channels, in_c, 1, 1))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.weight_gain = 1 / math.sqrt(in_c)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = modulated_conv(x, self.weight, self.affine(w) * self.weight_gain, demodulate=False, padding=0)
        return _clamp(x + self.bias[None, :, None, None], self.clamp)


def channels_for(res: int, channel_base: int, channel_max: int) -> int:
    # at least one: the small preset's half-width critic (channel_base 512) would have none at 1024 px
    return max(min(channel_base // res, channel_max), 1)


class SynthesisNetwork(nn.Module):
    """ws (B, num_ws, w_dim) -> image (B, C, size, size), unbounded (about [-1, 1] once trained).

    One block per resolution from 4x4: the 4x4 block is the learned constant, one layer and toRGB;
    each larger block up-samples with its first layer, has a second, and adds its toRGB to the
    up-sampled image so far (skip architecture). Consecutive blocks share the w of the toRGB of one
    and the first layer of the next, so num_ws = 2 * log2(size) - 2.

    `attention`: a SAGAN self-attention block on the features of resolution attention_side(size)
    (half the picture, at most 32x32), after that block's layers and before its toRGB, so the skip
    image and every layer above see it. It takes no w and no noise: num_ws and the noise inputs stay
    those of the plain network (the explorer, projection, style mixing and ONNX export rely on them)."""

    def __init__(self, size: int, w_dim: int, channels: int, channel_base: int, channel_max: int,
                 conv_clamp: float = 0.0, attention: bool = False):
        super().__init__()
        self.size, self.w_dim = size, w_dim
        self.resolutions = [2**i for i in range(2, int(math.log2(size)) + 1)]
        ch = {r: channels_for(r, channel_base, channel_max) for r in self.resolutions}
        self.const = nn.Parameter(torch.randn(ch[4], 4, 4))
        self.layers = nn.ModuleList()
        self.torgbs = nn.ModuleList()
        for r in self.resolutions:
            if r == 4:
                self.layers.append(SynthesisLayer(ch[4], ch[4], w_dim, 4, clamp=conv_clamp))
            else:
                self.layers.append(SynthesisLayer(ch[r // 2], ch[r], w_dim, r, up=True, clamp=conv_clamp))
                self.layers.append(SynthesisLayer(ch[r], ch[r], w_dim, r, clamp=conv_clamp))
            self.torgbs.append(ToRGB(ch[r], channels, w_dim, clamp=conv_clamp))
        self.num_ws = len(self.layers) + 1
        # Spectral norm on the block's 1x1 convolutions only, where SAGAN normalises all of G: the
        # modulated convolutions' weight is scaled by each sample's style at run time and demodulated
        # to unit output variance, so the norm of the stored weight bounds nothing that is applied.
        self.attention_res = attention_side(size) if attention else 0
        self.attention = SelfAttention(ch[self.attention_res], spectral_norm=True) if attention else None

    def noise_shapes(self) -> list[tuple[int, int]]:
        """(res, res) of each layer's noise input, in the order `forward` takes them."""
        return [(layer.res, layer.res) for layer in self.layers]

    def forward(self, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """`noise`: one (B, 1, res, res) tensor per layer (training), or None for each layer's fixed noise."""
        x = self.const[None].expand(ws.shape[0], -1, -1, -1)
        img = None
        li = 0  # layer index; layer li takes ws[:, li], toRGB after layer li takes ws[:, li + 1]
        for r, torgb in zip(self.resolutions, self.torgbs):
            for _ in range(1 if r == 4 else 2):
                x = self.layers[li](x, ws[:, li], None if noise is None else noise[li])
                li += 1
            if r == self.attention_res:
                x = self.attention(x)
            y = torgb(x, ws[:, li])
            img = y if img is None else upsample_2x(img) + y
        return img


class Generator(nn.Module):
    """z (B, z_dim) -> image (B, C, size, size) in [-1, 1], as every latent kind's generator.

    `mapping(z)` gives ws (B, num_ws, w_dim) and `synthesis(ws)` the image (unclamped), for style
    mixing and exploring in W. Outside training the output is clamped to [-1, 1] and each layer's
    noise is its fixed `noise_const`, so one z always gives the same picture. `attention`: see
    SynthesisNetwork."""

    def __init__(self, size: int = 64, z_dim: int = 128, w_dim: int = 128, channels: int = 3,
                 channel_base: int = 4096, channel_max: int = 128, mapping_layers: int = 2,
                 conv_clamp: float = 0.0, num_classes: int = 0, attention: bool = False):
        super().__init__()
        if size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {size}")
        self.size, self.z_dim, self.w_dim = size, z_dim, w_dim
        self.synthesis = SynthesisNetwork(size, w_dim, channels, channel_base, channel_max, conv_clamp, attention)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, w_dim, self.num_ws, mapping_layers, num_classes=num_classes)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, psi: float = 1.0) -> torch.Tensor:
        img = self.synthesis(self.mapping(z, psi=psi, c=c))
        return img if self.training else img.clamp(-1, 1)


class MinibatchStd(nn.Module):
    """Appends the standard deviation across groups of `group` images as extra channels: a critic
    that sees the batch's variety can tell when the generator collapses to a few images."""

    def __init__(self, group: int = 4, num_channels: int = 1):
        super().__init__()
        self.group, self.num_channels = group, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group, n)
        while n % g:  # a batch the group does not divide (after reduce_batch, or a small last rank share)
            g -= 1
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = y - y.mean(dim=0)
        y = (y.square().mean(dim=0) + 1e-8).sqrt()  # (n/g, f, c/f, h, w)
        y = y.mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class DBlock(nn.Module):
    """Residual discriminator block: two 3x3 convolutions (the second halving the resolution) plus
    a 1x1 down-sampled skip, summed with 1/sqrt(2) to keep the variance."""

    def __init__(self, in_c: int, out_c: int, clamp: float = 0.0):
        super().__init__()
        self.conv0 = Conv(in_c, in_c, 3, clamp=clamp)
        # the 1/sqrt(2) on each branch's weights (Conv's out_gain); the reference clamps before it
        self.conv1 = Conv(in_c, out_c, 3, down=True, clamp=clamp, out_gain=math.sqrt(0.5))
        self.skip = Conv(in_c, out_c, 1, act=False, bias=False, down=True, out_gain=math.sqrt(0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(self.conv0(x))
        # in place on the skip's output: a convolution's backward does not read its output
        return self.skip(x).add_(y)


class Discriminator(nn.Module):
    """image (B, C, size, size) -> logit (B,): fromRGB, residual blocks down to 4x4, minibatch
    standard deviation, a 3x3 convolution and two FC layers; with `num_classes`, `forward(x, c)` asks
    "is this a real picture of class c" (the second FC's values projected on the class's map).
    `attention`: a SAGAN self-attention block (spectral norm on its convolutions, as G's) after the
    residual block whose output has side attention_side(size), `blocks[attention_after]`."""

    def __init__(self, size: int = 64, channels: int = 3, channel_base: int = 4096, channel_max: int = 128,
                 mbstd_group: int = 4, conv_clamp: float = 0.0, num_classes: int = 0, attention: bool = False):
        super().__init__()
        if size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {size}")
        ch = {r: channels_for(r, channel_base, channel_max) for r in (2**i for i in range(2, int(math.log2(size)) + 1))}
        self.from_rgb = Conv(channels, ch[size], 1, clamp=conv_clamp)
        res = [2**i for i in range(int(math.log2(size)), 2, -1)]
        self.blocks = nn.Sequential(*(DBlock(ch[r], ch[r // 2], conv_clamp) for r in res))
        self.mbstd = MinibatchStd(mbstd_group)
        self.conv = Conv(ch[4] + 1, ch[4], 3, clamp=conv_clamp)
        self.fc = FC(ch[4] * 16, ch[4])
        self.num_classes = num_classes
        # Conditional: StyleGAN2-ADA's projection epilogue. `out` gives ch[4] values and the logit is
        # their inner product with the class's map, so every class has its own real/fake direction
        # from the first step. An unconditional logit plus a small class term (as the DCGAN's
        # projection) let this critic ignore the class: 9-72% of samples the asked class.
        self.out = FC(ch[4], ch[4] if num_classes else 1, act=False)
        if num_classes:
            self.class_map = ClassMap(num_classes, ch[4])
        # Made last, so the other weights draw the same random numbers as the plain critic's.
        self.attention, self.attention_after = None, -1
        if attention:
            side = attention_side(size)
            self.attention_after = res.index(2 * side)  # block i halves res[i]
            self.attention = SelfAttention(ch[side], spectral_norm=True)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None,
                class_logits: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The logit (B,); with `class_logits` also the logit under every class (B, num_classes), for
        the trainer's class loss."""
        x = self.from_rgb(x)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i == self.attention_after:
                x = self.attention(x)
        x = self.conv(self.mbstd(x))
        h = self.out(self.fc(x.flatten(1)))
        if not self.num_classes:
            return h.squeeze(1)
        if c is None:
            raise ValueError("a conditional discriminator needs the images' classes")
        cmap = self.class_map(c.to(h.device))
        logit = (h * cmap.to(h.dtype)).sum(dim=1) / math.sqrt(h.shape[1])
        if not class_logits:
            return logit
        every = self.class_map(torch.eye(self.num_classes, device=h.device)).to(h.dtype)
        return logit, h @ every.t() / math.sqrt(h.shape[1])
