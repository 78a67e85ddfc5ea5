"""StyleGAN2-ADA networks (read as data by safe_unpickle.py) onto the style-based kind's nets.

Supported: what stylegan2-ada-pytorch's train.py builds for unconditional models (cfg auto, stylegan2 =
config-f, paper256, paper512, paper1024, cifar without labels): a Generator with a mapping network of
any depth (lrelu, any learning-rate multiplier), a skip-architecture synthesis network with noise
inputs and the [1, 3, 3, 1] filter, and a resnet Discriminator with minibatch standard deviation
(one feature). FP16 layers of the original run in fp32 here (the same weights; the reference's fp16
arithmetic differs from its own fp32 by about 1e-3). `conv_clamp` is kept.

Refused with a reason: StyleGAN3 (alias-free) networks, conditional models (c_dim > 0), 'orig' or
'resnet' generators, other filters and activations, sizes the kind does not build. A discriminator
that does not fit (other architecture, mbstd settings) is left out: the import then keeps a fresh
critic for fine-tuning and says so.

Name mapping (ours <- theirs):
    mapping.fcs.{i}.*               <- mapping.fc{i}.* (rescaled to our 0.01 learning-rate multiplier)
    mapping.w_avg                   <- mapping.w_avg
    synthesis.const                 <- synthesis.b4.const
    synthesis.layers.{j}.*          <- synthesis.b{r}.conv0.*, synthesis.b{r}.conv1.* in order
    synthesis.torgbs.{k}.*          <- synthesis.b{r}.torgb.*
    from_rgb.*                      <- b{size}.fromrgb.*
    blocks.{k}.conv0/conv1/skip.*   <- b{r}.conv0/conv1/skip.* from the largest r down
    conv.*, fc.*, out.*             <- b4.conv.*, b4.fc.*, b4.out.*
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from studio.engine.models.stylegan.safe_unpickle import NetworkRecord, PickleRefused

OUR_MAPPING_LR = 0.01  # MappingNetwork's learning-rate multiplier (nets.py)
_FIR = torch.outer(torch.tensor([1.0, 3.0, 3.0, 1.0]), torch.tensor([1.0, 3.0, 3.0, 1.0])) / 64


@dataclass
class MappedModel:
    """What the import builds the project from: config values for StyleGANConfig, our state dicts
    (D's None when it was left out), and sentences for the user about what was adapted."""

    config: dict
    G: dict[str, torch.Tensor]
    G_ema: dict[str, torch.Tensor]
    D: dict[str, torch.Tensor] | None
    notes: list[str] = field(default_factory=list)


def _kw(record: NetworkRecord, name: str, default=None):
    return record.init_kwargs.get(name, default)


def _sub(kwargs: object) -> dict:
    return dict(kwargs) if isinstance(kwargs, dict) else {}


def _refuse_generator(G: NetworkRecord, sizes: tuple[int, ...]) -> None:
    """PickleRefused unless G is a StyleGAN2-ADA generator of the supported configuration."""
    src = G.source
    if G.class_name != "Generator":
        raise PickleRefused(f"The file's generator is a '{G.class_name}', not a StyleGAN2-ADA Generator.")
    if "synthesis.input" in G.modules or "SynthesisInput" in src or any(
            k.startswith("synthesis.L") for k in G.modules):
        raise PickleRefused("This is a StyleGAN3 (alias-free) network: its synthesis network (Fourier features "
                            "and filtered non-linearities) is another architecture, which cannot be imported. "
                            "StyleGAN2-ADA pickles can.")
    c_dim = _kw(G, "c_dim", 0) or 0
    if c_dim:
        raise PickleRefused(f"This is a conditional model ({c_dim} class labels); only unconditional StyleGAN2 "
                            "models can be imported.")
    mapping, synthesis = _sub(_kw(G, "mapping_kwargs")), _sub(_kw(G, "synthesis_kwargs"))
    arch = synthesis.get("architecture", "skip")
    if arch != "skip":
        raise PickleRefused(f"The generator uses the '{arch}' architecture; only the 'skip' generator of "
                            "StyleGAN2 (config-f, paper256/512/1024) can be imported.")
    for where, kwargs in (("mapping", mapping), ("synthesis", synthesis)):
        act = kwargs.get("activation", "lrelu")
        if act != "lrelu":
            raise PickleRefused(f"The generator's {where} network uses the '{act}' activation; only leaky ReLU "
                                "(StyleGAN2's) can be imported.")
    size = _kw(G, "img_resolution")
    if size not in sizes:
        raise PickleRefused(f"The model makes {size} px images; the style-based kind builds "
                            f"{', '.join(map(str, sizes))} px.")
    w_dim = _kw(G, "w_dim")
    if mapping.get("layer_features") not in (None, w_dim):
        raise PickleRefused("The mapping network's inner layers are narrower or wider than w; only StyleGAN2's "
                            "equal widths can be imported.")
    if synthesis.get("kernel_size", 3) != 3:
        raise PickleRefused("The generator's convolutions are not 3x3; only StyleGAN2's can be imported.")
    _check_filters(G, "generator")


def _check_filters(record: NetworkRecord, what: str) -> None:
    for name, t in record.tensors.items():
        if name.endswith("resample_filter") and (t.shape != _FIR.shape or not torch.allclose(t.float(), _FIR)):
            raise PickleRefused(f"The {what} resamples with another filter than StyleGAN2's [1, 3, 3, 1] "
                                f"({name}); it cannot be imported.")


def _clamp(value: object) -> float:
    if value is None:
        return 0.0
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise PickleRefused(f"The network's conv_clamp ({value!r}) is not a clamp value.")
    return float(value)


def model_config(G: NetworkRecord, sizes: tuple[int, ...]) -> dict:
    """StyleGANConfig values for the pickle's generator (after `_refuse_generator`)."""
    mapping, synthesis = _sub(_kw(G, "mapping_kwargs")), _sub(_kw(G, "synthesis_kwargs"))
    layers = sum(1 for k in G.tensors if k.startswith("mapping.fc") and k.endswith(".weight"))
    channels = _kw(G, "img_channels")
    if channels not in (1, 3, 4):
        raise PickleRefused(f"The model makes images with {channels} channels; 1, 3 or 4 can be imported.")
    values = {
        "size": int(_kw(G, "img_resolution")),
        "channels": int(channels),
        "z_dim": int(_kw(G, "z_dim")),
        "w_dim": int(_kw(G, "w_dim")),
        "mapping_layers": int(mapping.get("num_layers", layers)),
        "channel_base": int(synthesis.get("channel_base", 32768)),
        "channel_max": int(synthesis.get("channel_max", 512)),
        "conv_clamp": _clamp(synthesis.get("conv_clamp")),
    }
    _check_ranges(values, G)
    return values


# What any StyleGAN2-ADA configuration stays within (its largest: 512 wide, channel_base 32768, 8 mapping
# layers): checked before a network is built, so settings in a file cannot ask for absurd allocations.
_RANGES = {"z_dim": (1, 4096), "w_dim": (1, 4096), "mapping_layers": (1, 16), "channel_base": (4, 2**17),
           "channel_max": (1, 2048)}


def _check_ranges(values: dict, G: NetworkRecord) -> None:
    for key, (lo, hi) in _RANGES.items():
        v = values[key]
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise PickleRefused(f"The generator's {key} ({v!r}) is outside what StyleGAN2 networks use.")
    const = G.tensors.get("synthesis.b4.const")
    want = min(values["channel_base"] // 4, values["channel_max"])
    if const is None or tuple(const.shape) != (want, 4, 4):
        raise PickleRefused("The generator's widths do not match its settings (channel_base, channel_max): it is "
                            "not a StyleGAN2-ADA network of a supported configuration.")


def _take(src: dict[str, torch.Tensor], used: set[str], name: str) -> torch.Tensor:
    if name not in src:
        raise PickleRefused(f"The network has no '{name}', which a StyleGAN2-ADA network of its size has.")
    used.add(name)
    return src[name].detach().float()  # a view of the file's bytes (copied once shapes are checked)


def _generator_state(G: NetworkRecord, size: int, ours: dict[str, torch.Tensor], notes: list[str]) -> dict:
    """Our Generator's state dict from the pickle's generator tensors (strict: every tensor either way)."""
    src, used, out = G.tensors, set(), {}
    mapping = _sub(_kw(G, "mapping_kwargs"))
    lr = float(mapping.get("lr_multiplier", 0.01))
    # Equalized learning rate: the layer uses weight * lr / sqrt(in); our multiplier is fixed, so the
    # stored values are scaled to give the same effective weights (exact in the forward pass).
    ratio = lr / OUR_MAPPING_LR
    layers = sum(1 for k in ours if k.startswith("mapping.fcs.") and k.endswith(".weight"))
    for i in range(layers):  # more in the file: _check_all_used says so
        for p in ("weight", "bias"):
            t, ref = _take(src, used, f"mapping.fc{i}.{p}"), ours[f"mapping.fcs.{i}.{p}"]
            if t.shape != ref.shape:  # before any arithmetic on what the file claims
                raise PickleRefused(f"The generator's mapping layer {i} is {tuple(t.shape)}, the matching network "
                                    f"needs {tuple(ref.shape)}.")
            out[f"mapping.fcs.{i}.{p}"] = t * ratio
    if "mapping.w_avg" in src:
        out["mapping.w_avg"] = _take(src, used, "mapping.w_avg")
    else:
        out["mapping.w_avg"] = torch.zeros_like(ours["mapping.w_avg"])
        notes.append("The file tracks no average w, so truncation pulls towards zero.")
    out["synthesis.const"] = _take(src, used, "synthesis.b4.const")
    layer = rgb = 0
    no_noise = False
    for r in (2**k for k in range(2, int(math.log2(size)) + 1)):
        convs = ("conv1",) if r == 4 else ("conv0", "conv1")
        for conv in convs:
            theirs, mine = f"synthesis.b{r}.{conv}", f"synthesis.layers.{layer}"
            for p in ("affine.weight", "affine.bias", "weight", "bias"):
                out[f"{mine}.{p}"] = _take(src, used, f"{theirs}.{p}")
            if f"{theirs}.noise_strength" in src:
                out[f"{mine}.noise_strength"] = _take(src, used, f"{theirs}.noise_strength")
                out[f"{mine}.noise_const"] = _take(src, used, f"{theirs}.noise_const")
            else:  # use_noise=False: a zero strength adds nothing, as the original adds nothing
                no_noise = True
                out[f"{mine}.noise_strength"] = torch.zeros(())
                out[f"{mine}.noise_const"] = torch.zeros(r, r)
            layer += 1
        for p in ("affine.weight", "affine.bias", "weight", "bias"):
            out[f"synthesis.torgbs.{rgb}.{p}"] = _take(src, used, f"synthesis.b{r}.torgb.{p}")
        rgb += 1
    if no_noise:
        notes.append("The generator was trained without noise inputs; they are kept at zero strength.")
    _check_all_used(src, used, "generator")
    _check_shapes(out, ours, "generator")
    return out


def _discriminator_state(D: NetworkRecord, size: int, ours: dict[str, torch.Tensor]) -> dict:
    """Our Discriminator's state dict from the pickle's (PickleRefused when it does not fit)."""
    if D.class_name != "Discriminator":
        raise PickleRefused(f"the critic is a '{D.class_name}'")
    if _kw(D, "c_dim", 0):
        raise PickleRefused("the critic is conditional")
    if _kw(D, "architecture", "resnet") != "resnet":
        raise PickleRefused(f"the critic uses the '{_kw(D, 'architecture')}' architecture, not 'resnet'")
    epilogue = _sub(_kw(D, "epilogue_kwargs"))
    if epilogue.get("mbstd_num_channels", 1) != 1:
        raise PickleRefused("the critic's minibatch standard deviation has more than one feature")
    if epilogue.get("mbstd_group_size", 4) is None:
        raise PickleRefused("the critic's minibatch standard deviation spans the whole batch")
    for kwargs in (_sub(_kw(D, "block_kwargs")), epilogue):
        if kwargs.get("activation", "lrelu") != "lrelu":
            raise PickleRefused("the critic does not use leaky ReLU")
    _check_filters(D, "critic")
    src, used, out = D.tensors, set(), {}
    for p in ("weight", "bias"):
        out[f"from_rgb.{p}"] = _take(src, used, f"b{size}.fromrgb.{p}")
    for k, r in enumerate(2**i for i in range(int(math.log2(size)), 2, -1)):
        for conv in ("conv0", "conv1"):
            for p in ("weight", "bias"):
                out[f"blocks.{k}.{conv}.{p}"] = _take(src, used, f"b{r}.{conv}.{p}")
        out[f"blocks.{k}.skip.weight"] = _take(src, used, f"b{r}.skip.weight")
    for mine, theirs in (("conv", "b4.conv"), ("fc", "b4.fc"), ("out", "b4.out")):
        for p in ("weight", "bias"):
            out[f"{mine}.{p}"] = _take(src, used, f"{theirs}.{p}")
    _check_all_used(src, used, "critic")
    _check_shapes(out, ours, "critic")
    return out


def _check_all_used(src: dict[str, torch.Tensor], used: set[str], what: str) -> None:
    # Filters are checked separately; anything else unread would be a part our nets do not have.
    left = sorted(k for k in src if k not in used and not k.endswith("resample_filter"))
    if left:
        more = f" and {len(left) - 3} more" if len(left) > 3 else ""
        raise PickleRefused(f"The {what} has parts the style-based kind does not ({', '.join(left[:3])}{more}); "
                            "it is not a StyleGAN2-ADA network of a supported configuration.")


def _check_shapes(out: dict[str, torch.Tensor], ours: dict[str, torch.Tensor], what: str) -> None:
    for k, ref in ours.items():
        t = out.get(k)
        if t is None:
            raise PickleRefused(f"The {what} has nothing for '{k}'.")
        if t.shape != ref.shape:
            raise PickleRefused(f"The {what}'s '{k}' is {tuple(t.shape)}, the matching network needs "
                                f"{tuple(ref.shape)}: the file's channel widths are not StyleGAN2's rule.")
    extra = sorted(set(out) - set(ours))
    if extra:
        raise PickleRefused(f"The {what} has parts the style-based kind does not ({', '.join(extra[:3])}).")


def map_network_pickle(data: dict, sizes: tuple[int, ...], build_G, build_D) -> MappedModel:
    """`data` (safe_unpickle.read_network_pickle) -> MappedModel. `build_G(cfg_values)` / `build_D(cfg_values)`
    make our fresh networks of that configuration, whose state dicts the mapped ones must match exactly.
    PickleRefused when the generator cannot be imported."""
    G_ema = data.get("G_ema")
    if not isinstance(G_ema, NetworkRecord):
        raise PickleRefused("The file holds no generator ('G_ema'): it is not a StyleGAN2-ADA network pickle.")
    _refuse_generator(G_ema, sizes)
    cfg = model_config(G_ema, sizes)
    notes: list[str] = []
    ours_G = build_G(cfg).state_dict()
    g_ema = _generator_state(G_ema, cfg["size"], ours_G, notes)
    G = data.get("G")
    if isinstance(G, NetworkRecord):
        _refuse_generator(G, sizes)
        if model_config(G, sizes) != cfg:
            raise PickleRefused("The file's training generator ('G') and its average ('G_ema') differ in "
                                "configuration.")
        g = _generator_state(G, cfg["size"], ours_G, [])
    else:
        g = {k: v.clone() for k, v in g_ema.items()}
        notes.append("The file holds only the averaged generator; training continues from it.")
    d = None
    D = data.get("D")
    if isinstance(D, NetworkRecord):
        try:
            d_cfg = dict(cfg)
            epilogue = _sub(_kw(D, "epilogue_kwargs"))
            d_cfg["mbstd_group"] = int(epilogue.get("mbstd_group_size", 4))
            same = (_kw(D, "img_resolution") == cfg["size"] and _kw(D, "img_channels") == cfg["channels"]
                    and _kw(D, "channel_base", 32768) == cfg["channel_base"]
                    and _kw(D, "channel_max", 512) == cfg["channel_max"]
                    and _clamp(_kw(D, "conv_clamp")) == cfg["conv_clamp"])
            if not same:
                raise PickleRefused("its size or widths differ from the generator's")
            d = _discriminator_state(D, cfg["size"], build_D(d_cfg).state_dict())
            cfg = d_cfg
        except PickleRefused as e:
            notes.append(f"The critic was not imported ({str(e).rstrip('.')}); fine-tuning starts with a fresh one.")
    else:
        notes.append("The file holds no critic ('D'); fine-tuning starts with a fresh one.")
    return MappedModel(cfg, g, g_ema, d, notes)
