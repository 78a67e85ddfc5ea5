"""Importing StyleGAN2-ADA network pickles: a pickle in the reference's layout is built here (persistent
networks carrying source code that would write a marker file if run, known small weights, tensors
pickled by torch itself), imported, and the imported generator and critic are compared with a
reference forward written here from stylegan2-ada-pytorch's networks.py maths (upfirdn2d,
conv2d_resample, fused modulated convolution, bias_act), independent of the kind's nets.
Pickles naming any other global are refused and nothing in them runs."""

from __future__ import annotations

import math
import pickle
import sys
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from studio.cli.main import main
from studio.engine.config import config_from_dict
from studio.engine.errors import Cancelled, UserError
from studio.engine.explore.generator import load_generator
from studio.engine.models.stylegan.pkl_import import import_network_pickle
from studio.engine.models.stylegan.safe_unpickle import PickleRefused, read_network_pickle
from studio.engine.models.stylegan.trainer import StyleGANConfig, build_discriminator
from studio.engine.project.checkpoints import list_checkpoints, load_checkpoint
from studio.engine.project.folder import Project

FIR = [1.0, 3.0, 3.0, 1.0]
TRAP_MODULES = ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util")
CFG = {"z_dim": 24, "w_dim": 32, "size": 32, "channels": 3, "layers": 2, "lr_mul": 0.02,
       "channel_base": 256, "channel_max": 32, "conv_clamp": 1.5, "mbstd": 2}


# ----- a pickle in the StyleGAN2-ADA layout ---------------------------------------------------------
def _trap_source(marker) -> str:
    # What the file's networks carry as their module source: it would write the marker if executed.
    return (f"import pathlib\npathlib.Path({str(marker)!r}).write_text('the pickle ran code')\n"
            "import torch\nclass Generator(torch.nn.Module):\n    pass\n")


def _fake_modules(marker):
    """sys.modules entries pickle needs to name torch_utils.persistence and dnnlib.util.EasyDict as globals
    (the names a real network pickle refers to); the reconstruct function writes the marker if called."""
    persistence = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):
        marker.write_text("reconstruct was called")
        return meta

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    util = types.ModuleType("dnnlib.util")

    class EasyDict(dict):
        pass

    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    util.EasyDict = EasyDict
    return {"torch_utils": types.ModuleType("torch_utils"), "torch_utils.persistence": persistence,
            "dnnlib": types.ModuleType("dnnlib"), "dnnlib.util": util}


class Persistent:
    """Pickles as the reference's persistent_class instances do: (_reconstruct_persistent_obj, (meta,)),
    meta holding the module source and the torch module's __dict__ (parameters, buffers, sub-modules)."""

    def __init__(self, class_name, source, params=(), buffers=(), modules=(), attrs=None, init_kwargs=None):
        self.class_name, self.source = class_name, source
        self.params, self.buffers, self.modules = OrderedDict(params), OrderedDict(buffers), OrderedDict(modules)
        self.attrs, self.init_kwargs = attrs or {}, init_kwargs or {}

    def __reduce__(self):
        state = {"training": False,
                 "_parameters": OrderedDict((k, None if v is None else torch.nn.Parameter(v, requires_grad=False))
                                            for k, v in self.params.items()),
                 "_buffers": OrderedDict(self.buffers), "_non_persistent_buffers_set": set(),
                 "_backward_hooks": OrderedDict(), "_forward_hooks": OrderedDict(),
                 "_forward_pre_hooks": OrderedDict(), "_state_dict_hooks": OrderedDict(),
                 "_load_state_dict_pre_hooks": OrderedDict(), "_modules": OrderedDict(self.modules),
                 "_init_args": (), "_init_kwargs": self.init_kwargs, **self.attrs}
        meta = {"type": "class", "version": 6, "module_src": self.source, "class_name": self.class_name,
                "state": state}
        return sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj, (meta,)


def _up(cfg) -> list[int]:
    """The generator's block resolutions, 4 up to the size."""
    return [2**i for i in range(2, int(math.log2(cfg["size"])) + 1)]


def _weights(seed: int, cfg=CFG) -> dict[str, torch.Tensor]:
    """Known weights under the reference's names (G.*, D.*), drawn from a seed."""
    g = torch.Generator().manual_seed(seed)
    W: dict[str, torch.Tensor] = {}

    def rnd(name, *shape, scale=1.0, offset=0.0):
        W[name] = torch.randn(shape, generator=g) * scale + offset

    ch = {r: min(cfg["channel_base"] // r, cfg["channel_max"]) for r in _up(cfg)}
    dims = [cfg["z_dim"]] + [cfg["w_dim"]] * cfg["layers"]
    for i in range(cfg["layers"]):
        rnd(f"G.mapping.fc{i}.weight", dims[i + 1], dims[i], scale=1 / cfg["lr_mul"])
        rnd(f"G.mapping.fc{i}.bias", dims[i + 1], scale=3.0)
    rnd("G.mapping.w_avg", cfg["w_dim"], scale=0.3)
    rnd("G.synthesis.b4.const", ch[4], 4, 4)
    for r in _up(cfg):
        convs = ("conv1",) if r == 4 else ("conv0", "conv1")
        for conv in convs:
            cin = ch[r] if (conv == "conv1" or r == 4) else ch[r // 2]
            p = f"G.synthesis.b{r}.{conv}"
            rnd(f"{p}.affine.weight", cin, cfg["w_dim"])
            rnd(f"{p}.affine.bias", cin, scale=0.1, offset=1.0)
            rnd(f"{p}.weight", ch[r], cin, 3, 3)
            rnd(f"{p}.bias", ch[r], scale=0.1)
            rnd(f"{p}.noise_strength", scale=0.2)
            rnd(f"{p}.noise_const", r, r)
        p = f"G.synthesis.b{r}.torgb"
        rnd(f"{p}.affine.weight", ch[r], cfg["w_dim"])
        rnd(f"{p}.affine.bias", ch[r], scale=0.1, offset=1.0)
        rnd(f"{p}.weight", cfg["channels"], ch[r], 1, 1)
        rnd(f"{p}.bias", cfg["channels"], scale=0.1)
    top = cfg["size"]
    rnd(f"D.b{top}.fromrgb.weight", ch[top], cfg["channels"], 1, 1)
    rnd(f"D.b{top}.fromrgb.bias", ch[top], scale=0.1)
    for r in _up(cfg)[:0:-1]:
        rnd(f"D.b{r}.conv0.weight", ch[r], ch[r], 3, 3)
        rnd(f"D.b{r}.conv0.bias", ch[r], scale=0.1)
        rnd(f"D.b{r}.conv1.weight", ch[r // 2], ch[r], 3, 3)
        rnd(f"D.b{r}.conv1.bias", ch[r // 2], scale=0.1)
        rnd(f"D.b{r}.skip.weight", ch[r // 2], ch[r], 1, 1)
    rnd("D.b4.conv.weight", ch[4], ch[4] + 1, 3, 3)
    rnd("D.b4.conv.bias", ch[4], scale=0.1)
    rnd("D.b4.fc.weight", ch[4], ch[4] * 16)
    rnd("D.b4.fc.bias", ch[4], scale=0.1)
    rnd("D.b4.out.weight", 1, ch[4])
    rnd("D.b4.out.bias", 1, scale=0.1)
    return W


def _networks(W, src, easy, cfg=CFG, g_ema_offset=0.0):
    """G / D Persistent trees in the reference's module layout over the weights `W`."""
    filt = torch.outer(torch.tensor(FIR), torch.tensor(FIR)) / 64

    def take(prefix, names):
        return [(n, W[f"{prefix}.{n}"] + (g_ema_offset if prefix.startswith("G") else 0.0)) for n in names]

    def fc(prefix, lr=1.0, act="linear"):
        gain = np.float64(lr / math.sqrt(W[f"{prefix}.weight"].shape[1]))  # pickled as a numpy scalar
        return Persistent("FullyConnectedLayer", src, take(prefix, ("weight", "bias")),
                          attrs={"activation": act, "weight_gain": gain, "bias_gain": lr})

    def conv(prefix, names=("weight", "bias")):
        params = take(prefix, [n for n in names if n])
        if "bias" not in names:
            params.append(("bias", None))
        return Persistent("Conv2dLayer", src, params, [("resample_filter", filt)], attrs={"activation": "lrelu"})

    mapping = Persistent("MappingNetwork", src, buffers=take("G.mapping", ("w_avg",)),
                         modules=[(f"fc{i}", fc(f"G.mapping.fc{i}", cfg["lr_mul"], "lrelu"))
                                  for i in range(cfg["layers"])])
    blocks = []
    for r in _up(cfg):
        mods = []
        for c in (("conv1",) if r == 4 else ("conv0", "conv1")):
            p = f"G.synthesis.b{r}.{c}"
            mods.append((c, Persistent("SynthesisLayer", src, take(p, ("weight", "noise_strength", "bias")),
                                       [("resample_filter", filt), *take(p, ("noise_const",))],
                                       [("affine", fc(f"{p}.affine"))])))
        p = f"G.synthesis.b{r}.torgb"
        mods.append(("torgb", Persistent("ToRGBLayer", src, take(p, ("weight", "bias")),
                                         modules=[("affine", fc(f"{p}.affine"))])))
        params = take("G.synthesis.b4", ("const",)) if r == 4 else []
        blocks.append((f"b{r}", Persistent("SynthesisBlock", src, params, [("resample_filter", filt)], mods)))
    synthesis = Persistent("SynthesisNetwork", src, modules=blocks)
    kw = easy(z_dim=cfg["z_dim"], c_dim=0, w_dim=cfg["w_dim"], img_resolution=cfg["size"], img_channels=cfg["channels"],
              mapping_kwargs=easy(num_layers=cfg["layers"], lr_multiplier=cfg["lr_mul"]),
              synthesis_kwargs=easy(channel_base=cfg["channel_base"], channel_max=cfg["channel_max"], num_fp16_res=4,
                                    conv_clamp=cfg["conv_clamp"], architecture="skip"))
    G = Persistent("Generator", src, modules=[("synthesis", synthesis), ("mapping", mapping)], init_kwargs=kw)
    dblocks = []
    for r in _up(cfg)[:0:-1]:
        mods = [("fromrgb", conv(f"D.b{r}.fromrgb"))] if r == cfg["size"] else []
        mods += [("conv0", conv(f"D.b{r}.conv0")), ("conv1", conv(f"D.b{r}.conv1")),
                 ("skip", conv(f"D.b{r}.skip", ("weight",)))]
        dblocks.append((f"b{r}", Persistent("DiscriminatorBlock", src, buffers=[("resample_filter", filt)],
                                            modules=mods)))
    epi = Persistent("DiscriminatorEpilogue", src, modules=[
        ("mbstd", Persistent("MinibatchStdLayer", src, attrs={"group_size": cfg["mbstd"], "num_channels": 1})),
        ("conv", conv("D.b4.conv")), ("fc", fc("D.b4.fc", act="lrelu")), ("out", fc("D.b4.out"))])
    dkw = easy(c_dim=0, img_resolution=cfg["size"], img_channels=cfg["channels"], architecture="resnet",
               channel_base=cfg["channel_base"], channel_max=cfg["channel_max"], num_fp16_res=4,
               conv_clamp=cfg["conv_clamp"], block_kwargs=easy(), mapping_kwargs=easy(),
               epilogue_kwargs=easy(mbstd_group_size=cfg["mbstd"]))
    D = Persistent("Discriminator", src, modules=[*dblocks, ("b4", epi)], init_kwargs=dkw)
    return G, D


def write_network_pickle(path, marker, W, extra=None, protocol=4, cfg=CFG):
    """A network pickle as stylegan2-ada-pytorch's training loop writes it (G, D, G_ema, augment_pipe,
    training_set_kwargs), its G_ema's weights those of `W` and G's slightly different."""
    saved = {k: sys.modules.get(k) for k in TRAP_MODULES}
    sys.modules.update(_fake_modules(marker))
    try:
        easy = sys.modules["dnnlib.util"].EasyDict
        src = _trap_source(marker)
        G, D = _networks(W, src, easy, cfg, g_ema_offset=0.0)
        G_live, _ = _networks(W, src, easy, cfg, g_ema_offset=0.01)
        pipe = Persistent("AugmentPipe", src, buffers=[("p", torch.tensor(0.25))],
                          attrs={"xflip": 1.0, "imgfilter_bands": np.array([1.0, 1.0, 1.0, 1.0])})
        data = {"G": G_live, "D": D, "G_ema": G, "augment_pipe": pipe,
                "training_set_kwargs": easy(path="~/datasets/faces.zip", resolution=32), **(extra or {})}
        path.write_bytes(pickle.dumps(data, protocol=protocol))
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


# ----- the reference forward (stylegan2-ada-pytorch networks.py maths, written from its text) -----------
def upfirdn2d(x, f, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0):
    b, c, h, w = x.shape
    x = x.reshape(b, c, h, 1, w, 1)
    x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(b, c, h * up, w * up)
    x = F.pad(x, [pad[0], pad[1], pad[2], pad[3]])
    f = (f * gain).flip([0, 1])[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, f, groups=c)[:, :, ::down, ::down]


def conv2d_resample(x, w, f, up=1, down=1, padding=0, groups=1, flip_weight=True):
    kh = w.shape[-1]
    p = [padding] * 4
    if up > 1:
        p = [p[0] + (4 + up - 1) // 2, p[1] + (4 - up) // 2] * 2
    if down > 1:
        p = [p[0] + (4 - down + 1) // 2, p[1] + (4 - down) // 2] * 2
    if kh == 1 and down > 1:
        return F.conv2d(upfirdn2d(x, f, down=down, pad=p), w, groups=groups)
    if down > 1:
        return F.conv2d(upfirdn2d(x, f, pad=p), w, stride=down, groups=groups)
    if up > 1:
        if groups == 1:
            wt = w.transpose(0, 1)
        else:
            o, i = w.shape[0] // groups, w.shape[1]
            wt = w.reshape(groups, o, i, kh, kh).transpose(1, 2).reshape(groups * i, o, kh, kh)
        p = [p[0] - (kh - 1), p[1] - (kh - up)] * 2
        wt = wt if not flip_weight else wt.flip([2, 3])  # the wrapper flips when flip_weight is False
        x = F.conv_transpose2d(x, wt, stride=up, groups=groups)
        return upfirdn2d(x, f, pad=p, gain=up**2)
    if not flip_weight:
        w = w.flip([2, 3])
    return F.conv2d(x, w, padding=padding, groups=groups)


def bias_act(x, b, act="linear", gain=None, clamp=None):
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.ndim - 2))
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2)
        gain = math.sqrt(2) * (gain if gain is not None else 1)
    else:
        gain = gain if gain is not None else 1
    x = x * gain
    return x.clamp(-clamp, clamp) if clamp is not None else x


def fully_connected(W, name, x, lr=1.0, act="linear"):
    w = W[f"{name}.weight"] * (lr / math.sqrt(W[f"{name}.weight"].shape[1]))
    return bias_act(x @ w.t(), W[f"{name}.bias"] * lr, act)


def modulated_conv2d(x, weight, styles, noise=None, up=1, padding=0, f=None, demodulate=True, flip_weight=True):
    b = x.shape[0]
    w = weight[None] * styles.reshape(b, 1, -1, 1, 1)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(b, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])
    w = w.reshape(-1, weight.shape[1], *weight.shape[2:])
    x = conv2d_resample(x, w, f, up=up, padding=padding, groups=b, flip_weight=flip_weight)
    x = x.reshape(b, -1, *x.shape[2:])
    return x + noise if noise is not None else x


def reference_G(W, z, cfg=CFG, psi=1.0):
    """Generator.forward(z, c=None, truncation_psi=psi, noise_mode='const') in fp32, fused modconv."""
    f = torch.outer(torch.tensor(FIR), torch.tensor(FIR)) / 64
    x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
    for i in range(cfg["layers"]):
        x = fully_connected(W, f"G.mapping.fc{i}", x, cfg["lr_mul"], "lrelu")
    num_ws = 2 * int(math.log2(cfg["size"])) - 2
    ws = W["G.mapping.w_avg"].lerp(x[:, None].repeat(1, num_ws, 1), psi)
    clamp = cfg["conv_clamp"]
    x = img = None
    wi = 0
    for r in _up(cfg):
        p = f"G.synthesis.b{r}"
        if r == 4:
            x = W[f"{p}.const"][None].repeat(len(z), 1, 1, 1)
            convs = ("conv1",)
        else:
            convs = ("conv0", "conv1")
        for c in convs:
            q = f"{p}.{c}"
            styles = fully_connected(W, f"{q}.affine", ws[:, wi])
            up = 2 if c == "conv0" else 1
            noise = W[f"{q}.noise_const"] * W[f"{q}.noise_strength"]
            x = modulated_conv2d(x, W[f"{q}.weight"], styles, noise, up=up, padding=1, f=f, flip_weight=(up == 1))
            x = bias_act(x, W[f"{q}.bias"], "lrelu", clamp=clamp)
            wi += 1
        if img is not None:
            img = upfirdn2d(img, f, up=2, pad=[2, 1, 2, 1], gain=4)
        q = f"{p}.torgb"
        styles = fully_connected(W, f"{q}.affine", ws[:, wi]) / math.sqrt(W[f"{q}.weight"].shape[1])
        y = bias_act(modulated_conv2d(x, W[f"{q}.weight"], styles, demodulate=False), W[f"{q}.bias"], clamp=clamp)
        img = y if img is None else img + y
    return img


def reference_D(W, img, cfg=CFG):
    f = torch.outer(torch.tensor(FIR), torch.tensor(FIR)) / 64
    clamp = cfg["conv_clamp"]

    def conv(name, x, down=1, act="lrelu", gain=1.0, bias=True, use_clamp=True):
        w = W[f"{name}.weight"]
        w = w * (1 / math.sqrt(w[0].numel()))
        x = conv2d_resample(x, w, f, down=down, padding=w.shape[-1] // 2)
        return bias_act(x, W[f"{name}.bias"] if bias else None, act, gain,
                        clamp * gain if (use_clamp and clamp is not None) else None)

    x = conv(f"D.b{cfg['size']}.fromrgb", img)
    for r in _up(cfg)[:0:-1]:
        y = conv(f"D.b{r}.skip", x, down=2, act="linear", gain=math.sqrt(0.5), bias=False, use_clamp=False)
        x = conv(f"D.b{r}.conv0", x)
        x = conv(f"D.b{r}.conv1", x, down=2, gain=math.sqrt(0.5))
        x = y + x
    n, c, h, w = x.shape
    g = min(cfg["mbstd"], n)
    y = x.reshape(g, -1, 1, c, h, w)
    y = ((y - y.mean(dim=0)).square().mean(dim=0) + 1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, 1, 1, 1)
    x = torch.cat([x, y.repeat(g, 1, h, w)], dim=1)
    x = conv("D.b4.conv", x)
    x = fully_connected(W, "D.b4.fc", x.flatten(1), act="lrelu")
    return fully_connected(W, "D.b4.out", x)


# ----- tests ----------------------------------------------------------------------------------------
@pytest.fixture
def trap(tmp_path, monkeypatch):
    """A marker path, and a torch_utils package on sys.path that writes it when imported: importing the
    pickle's module names or running its source would leave the marker."""
    marker = tmp_path / "MARKER"
    pkg = tmp_path / "trap" / "torch_utils"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n")
    (pkg / "persistence.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\n"
        "def _reconstruct_persistent_obj(meta):\n"
        "    exec(compile(meta['module_src'], 'pickled', 'exec'), {})\n"  # as the original does
        "    return meta\n")
    dnnlib = tmp_path / "trap" / "dnnlib"
    dnnlib.mkdir()
    (dnnlib / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n")
    (dnnlib / "util.py").write_text("class EasyDict(dict):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path / "trap"))
    for name in TRAP_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    return marker


@pytest.fixture(scope="module")
def weights():
    return _weights(7)


def test_import_reproduces_the_reference_forward_and_runs_nothing(tmp_path, trap, weights, monkeypatch):
    pkl = tmp_path / "network-snapshot-000400.pkl"
    write_network_pickle(pkl, trap, weights)
    assert not trap.exists()
    # The trap works: an ordinary unpickler imports torch_utils and runs the carried source.
    with open(pkl, "rb") as f:
        pickle.load(f)
    assert trap.exists()
    trap.unlink()
    for name in TRAP_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)

    project = import_network_pickle(pkl, tmp_path / "imported")
    assert not trap.exists() and not set(TRAP_MODULES) & set(sys.modules)
    meta = Project.open(project.root).meta
    assert meta["kind"] == "stylegan" and meta["imported"]["from"].endswith("network-snapshot-000400.pkl")
    assert meta["data"]["folders"] == {}
    (step, grid), = Project.open(project.root).sample_steps()  # the Samples tab shows the model's pictures
    assert step == 0 and grid.is_file()
    assert meta["model"]["conv_clamp"] == CFG["conv_clamp"] and meta["model"]["mbstd_group"] == CFG["mbstd"]

    gen = load_generator(project.root, device="cpu")  # what the explorer opens
    z = torch.randn(4, CFG["z_dim"], generator=torch.Generator().manual_seed(1))
    want = reference_G(weights, z)
    assert want.abs().max() > CFG["conv_clamp"] * 0.5  # the clamp is exercised, not idle
    got = gen.G.synthesis(gen.G.mapping(z))
    assert torch.allclose(got, want, atol=2e-5, rtol=1e-4), (got - want).abs().max()
    # truncation towards the file's w_avg, through the explorer's W path
    ws = torch.from_numpy(gen.to_ws(z.numpy(), psi=0.5))
    assert torch.allclose(gen.G.synthesis(ws), reference_G(weights, z, psi=0.5), atol=2e-5, rtol=1e-4)
    pictures = gen.generate(z)
    assert pictures.shape == (4, 32, 32, 3) and pictures.dtype == np.uint8

    # The checkpoint holds G (the file's live generator), G_ema and the critic, all matching the file.
    (_, path), = list_checkpoints(project.checkpoints_dir)
    tensors, _ = load_checkpoint(path)
    assert torch.allclose(tensors["G.synthesis.const"], weights["G.synthesis.b4.const"] + 0.01)
    assert torch.equal(tensors["G_ema.mapping.w_avg"], weights["G.mapping.w_avg"])
    D = build_discriminator(config_from_dict(StyleGANConfig, meta["model"]))
    D.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("D.")})
    img = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.allclose(D(img), reference_D(weights, img).squeeze(1), atol=1e-4, rtol=1e-4)


def test_a_1024_px_model_imports(tmp_path, trap):
    """The size of the community's FFHQ and MetFaces models (narrow here, so the test stays small)."""
    cfg = {**CFG, "size": 1024, "channel_base": 2048, "channel_max": 8, "conv_clamp": None}
    W = _weights(11, cfg)
    pkl = tmp_path / "ffhq-like.pkl"
    write_network_pickle(pkl, trap, W, cfg=cfg)
    gen = load_generator(import_network_pickle(pkl, tmp_path / "big").root, device="cpu")
    z = torch.randn(2, cfg["z_dim"], generator=torch.Generator().manual_seed(1))
    want = reference_G(W, z, cfg)
    assert want.shape == (2, 3, 1024, 1024)
    assert torch.allclose(gen.G.synthesis(gen.G.mapping(z)), want, atol=2e-5, rtol=1e-4)
    assert not trap.exists()


def test_progress_and_cancel(tmp_path, trap, weights):
    pkl = tmp_path / "net.pkl"
    write_network_pickle(pkl, trap, weights)
    seen = []
    import_network_pickle(pkl, tmp_path / "a", progress=lambda done, total, text: seen.append((done, total, text)))
    assert [d for d, _, _ in seen] == [0, 1, 2, 3, 4] and seen[0] == (0, 4, "Reading…") and seen[-1][2] == "Done."
    asked = []
    with pytest.raises(Cancelled):  # cancelled once the project folder exists: it goes again
        import_network_pickle(pkl, tmp_path / "b", should_cancel=lambda: asked.append(1) or len(asked) >= 4)
    assert len(asked) == 4 and not (tmp_path / "b").exists()


def test_reader_returns_plain_data(tmp_path, trap, weights):
    pkl = tmp_path / "net.pkl"
    write_network_pickle(pkl, trap, weights, protocol=2)  # protocol 2 spells bytes through _codecs.encode
    data = read_network_pickle(pkl)
    G = data["G_ema"]
    assert G.class_name == "Generator" and "write_text" in G.source  # the source as text, never run
    assert torch.equal(G.tensors["mapping.fc1.weight"], weights["G.mapping.fc1.weight"])
    assert G.init_kwargs["mapping_kwargs"] == {"num_layers": 2, "lr_multiplier": CFG["lr_mul"]}
    assert G.modules["synthesis.b8.conv0.affine"] == "FullyConnectedLayer"
    assert G.attrs["mapping.fc0.weight_gain"] == pytest.approx(CFG["lr_mul"] / math.sqrt(CFG["z_dim"]))
    assert np.array_equal(data["augment_pipe"].attrs["imgfilter_bands"], np.ones(4))
    assert data["training_set_kwargs"]["resolution"] == 32
    assert not trap.exists()


class _Call:
    """Pickles as a call of `func(*args)`: how an attacker would get code run by an unpickler."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize("func, name", [(__import__("os").system, "system"), (eval, "builtins.eval"),
                                        (exec, "builtins.exec"), (getattr, "builtins.getattr")])
def test_any_other_global_is_refused_and_nothing_runs(tmp_path, trap, weights, func, name):
    danger = tmp_path / "DANGER"
    pkl = tmp_path / "evil.pkl"
    payload = _Call(func, f"open({str(danger)!r}, 'w').write('x')") if func is not getattr else _Call(getattr, 1, "x")
    if func is __import__("os").system:
        payload = _Call(func, f"touch {danger}")
    write_network_pickle(pkl, trap, weights, extra={"augment_pipe": payload})
    with pytest.raises(PickleRefused, match=name.replace(".", r"\.")) as e:
        import_network_pickle(pkl, tmp_path / "out")
    assert "nothing in it was run" in str(e.value)
    assert not danger.exists() and not trap.exists() and not (tmp_path / "out").exists()


def test_hand_written_malicious_pickles_are_refused(tmp_path):
    for blob, name in ((b"cos\nsystem\n(S'echo hi'\ntR.", "os.system"),
                       (b"\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1\x85R.", "builtins.eval"),
                       (pickle.dumps(_Call(exec, "print('hi')"), protocol=5), "builtins.exec"),
                       (pickle.dumps({"G_ema": _Call(__import__("subprocess").call, ["true"])}), "subprocess.call")):
        pkl = tmp_path / "x.pkl"
        pkl.write_bytes(blob)
        with pytest.raises(UserError, match=name.replace(".", r"\.")):
            read_network_pickle(pkl)


class _Giant:
    """A tensor claiming 10^12 elements over a one-element storage (stride 0)."""

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, (torch.zeros(1).storage(), 0, (10**12,), (0,), False, OrderedDict())


@pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")
def test_small_files_cannot_pose_as_huge_data(tmp_path):
    pkl = tmp_path / "giant.pkl"
    pkl.write_bytes(pickle.dumps({"G_ema": _Giant()}))
    with pytest.raises(PickleRefused, match="impossible layout"):
        read_network_pickle(pkl)
    laughs = []
    for _ in range(60):  # 2^60 values once shared references are expanded, in a few hundred bytes
        laughs = [laughs, laughs]
    pkl.write_bytes(pickle.dumps({"G_ema": laughs}))
    assert pkl.stat().st_size < 2000
    with pytest.raises(PickleRefused, match="far more values"):
        read_network_pickle(pkl)


def test_unsupported_networks_are_refused_with_a_reason(tmp_path, trap, weights):
    pkl = tmp_path / "sg3.pkl"
    extra_w = dict(weights)
    extra_w["G.synthesis.input.freqs"] = torch.zeros(4, 2)
    saved = {k: sys.modules.get(k) for k in TRAP_MODULES}
    sys.modules.update(_fake_modules(trap))
    try:
        easy = sys.modules["dnnlib.util"].EasyDict
        G, D = _networks(weights, "class SynthesisInput: pass", easy)
        G.modules["synthesis"].modules["input"] = Persistent("SynthesisInput", "", [("freqs", torch.zeros(4, 2))])
        pkl.write_bytes(pickle.dumps({"G_ema": G, "D": D}))
        G2, _ = _networks(weights, "", easy)
        G2.init_kwargs["c_dim"] = 10
        (tmp_path / "cond.pkl").write_bytes(pickle.dumps({"G_ema": G2}))
        G3, _ = _networks(weights, "", easy)
        G3.init_kwargs["w_dim"] = 10**9  # would allocate 10^18 weights if believed
        (tmp_path / "huge.pkl").write_bytes(pickle.dumps({"G_ema": G3}))
    finally:
        for k, v in saved.items():
            sys.modules.pop(k, None) if v is None else sys.modules.__setitem__(k, v)
    with pytest.raises(PickleRefused, match="StyleGAN3"):
        import_network_pickle(pkl, tmp_path / "a")
    with pytest.raises(PickleRefused, match="conditional"):
        import_network_pickle(tmp_path / "cond.pkl", tmp_path / "b")
    with pytest.raises(PickleRefused, match="w_dim"):
        import_network_pickle(tmp_path / "huge.pkl", tmp_path / "d")
    (tmp_path / "not.pkl").write_bytes(b"hello")
    with pytest.raises(PickleRefused, match="not a readable network pickle"):
        import_network_pickle(tmp_path / "not.pkl", tmp_path / "c")
    assert not trap.exists()


def test_cli_import_model(tmp_path, trap, weights, capsys):
    pkl = tmp_path / "net.pkl"
    write_network_pickle(pkl, trap, weights)
    assert main(["import-model", str(pkl), "--out", str(tmp_path / "proj")]) == 0
    out = capsys.readouterr().out
    assert "Imported" in out and "never run" in out
    assert main(["generate", str(tmp_path / "proj"), "--count", "2", "--out", str(tmp_path / "gen")]) == 0
    assert len(list((tmp_path / "gen").glob("*.png"))) == 2
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"cos\nsystem\n(S'echo hi'\ntR.")
    assert main(["import-model", str(evil), "--out", str(tmp_path / "p2")]) == 2
    err = capsys.readouterr().err
    assert "os.system" in err and "Traceback" not in err
    assert not trap.exists()
