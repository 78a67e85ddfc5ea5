"""A latent kind's generator as an ONNX model: one self-contained file, any batch size.

Used twice: `export.export_onnx` writes it for the user (and checks it against PyTorch with
onnxruntime), and the interactive renderer runs it in onnxruntime because that is ~3x faster than
eager PyTorch for a DCGAN's transposed convolutions on a CPU (see bench/pad_latency.py).

Model contract: input "z" float32 (batch, z_dim); output "image" float32 (batch, channels, size,
size) in [-1, 1] (x * 127.5 + 127.5 gives 0-255 pixels). The metadata properties repeat this, so a
user's script can read the file without GAN Studio.

A style-based generator may be exported with a w input instead (`space="w"`): input "ws" float32
(batch, num_ws, w_dim), one style per layer (repeat one w num_ws times for a plain w; differing rows
are style mixing or a projected w+), and the same output. Only the synthesis network is in that
file: the mapping (z -> w) and truncation towards w_avg (stored in the metadata) are the caller's.

A generator with classes (trained on sub-folders) takes a second input in z, "class_weights" float32
(batch, num_classes): a one-hot row draws that class, mixed rows a point on the way between classes
(the explorer's class walks and blends). The metadata names the classes in order ("class_names", a
JSON list). The ws file of a style-based generator has no class input: the class went into w
through the mapping, so a w (a W bookmark, a projection) already holds it.
"""

from __future__ import annotations

import copy
import io
import json
import warnings

import numpy as np
import torch

OPSET = 17
INPUT = "z"
INPUT_W = "ws"
OUTPUT = "image"
INPUT_CLASS = "class_weights"
INPUTS = {"z": INPUT, "w": INPUT_W}  # the input's name for each space


class _FromStyles(torch.nn.Module):
    """ws (B, num_ws, w_dim) -> image in [-1, 1]: a style-based generator without its mapping."""

    def __init__(self, G: torch.nn.Module):
        super().__init__()
        self.synthesis = G.synthesis

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        return self.synthesis(ws).clamp(-1, 1)


def _fix_parametrizations(net: torch.nn.Module) -> None:
    """Replace every parametrized weight of `net` (an eval-mode copy) by the tensor it computes now,
    so the export records that tensor instead of its computation. Spectral norm (SAGAN's
    self-attention blocks, every layer of the DCGAN "attention" recipe's G) computes its sigma with
    aten::vdot, which ONNX has no operator for; in eval mode it runs no power iteration, so the fixed
    weight is exactly the one PyTorch applies. Not torch's remove_parametrizations: it deletes the
    weight property from the module class, which the copy shares with the caller's generator."""
    from torch.nn.utils import parametrize

    for module in list(net.modules()):
        if not parametrize.is_parametrized(module):
            continue
        fixed = {name: getattr(module, name).detach().clone() for name in module.parametrizations.keys()}
        del module._modules["parametrizations"]
        module.__class__ = parametrize.type_before_parametrizations(module)
        for name, value in fixed.items():
            module.register_parameter(name, torch.nn.Parameter(value, requires_grad=False))


def generator_onnx_bytes(G: torch.nn.Module, z_dim: int, meta: dict[str, str] | None = None,
                         space: str = "z", class_names: tuple[str, ...] = ()) -> bytes:
    """Serialise generator `G` (any device; left untouched) as ONNX bytes with a dynamic batch
    axis and all weights embedded (no external data files). `space` "w" (style-based generators):
    the input is ws instead of z (see the module docstring). `class_names` (GeneratorModel.class_names)
    of a generator with classes: the z graph takes class weights too; without them a conditional
    G is traced drawing its first class only. Any thread that may read G."""
    import onnx

    if space not in INPUTS:
        raise ValueError(f"unknown latent space '{space}' (choose z or w)")
    cpu = copy.deepcopy(G).to("cpu").eval()
    cpu.requires_grad_(False)
    _fix_parametrizations(cpu)
    if space == "w":
        net, example = _FromStyles(cpu), (torch.zeros(2, int(cpu.num_ws), int(cpu.w_dim)),)
        doc = "GAN Studio generator: ws (batch, num_ws, w_dim) -> image (batch, C, H, W) in [-1, 1]"
        props = {"num_ws": str(int(cpu.num_ws)), "w_dim": str(int(cpu.w_dim)),
                 "w_avg": " ".join(f"{v:.9g}" for v in cpu.mapping.w_avg.tolist())}
        if class_names:  # the class is inside w already: recorded so a script knows what the ws may hold
            props["class_names"] = json.dumps(list(class_names))
    else:
        net, example = cpu, (torch.zeros(2, z_dim),)
        doc = "GAN Studio generator: z (batch, z_dim) -> image (batch, C, H, W) in [-1, 1]"
        props = {}
        if class_names:
            # Class weights rather than a class index: an index can only ask for one class, while
            # weights also give the blends between classes that the explorer walks and mixes (the
            # embedding is linear in them), and a one-hot row is exactly the index's class.
            k = len(class_names)
            example = (example[0], torch.eye(k)[torch.arange(2) % k])
            doc = ("GAN Studio generator: z (batch, z_dim), class_weights (batch, num_classes) -> "
                   "image (batch, C, H, W) in [-1, 1]")
            props = {"class_input": INPUT_CLASS, "num_classes": str(k), "class_names": json.dumps(list(class_names))}
    name = INPUTS[space]
    names = [name, INPUT_CLASS][: len(example)]
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript-based exporter: the dynamo exporter needs onnxscript, which is not a
        # dependency, and gives the same graph for this plain convolutional net.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            example,
            buf,
            dynamo=False,
            input_names=names,
            output_names=[OUTPUT],
            dynamic_axes={**{n: {0: "batch"} for n in names}, OUTPUT: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    model = onnx.load_from_string(buf.getvalue())
    model.doc_string = doc
    props = {"producer": "GAN Studio", "input": name, "z_dim": str(z_dim), "output_range": "[-1, 1]", **props,
             **(meta or {})}
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    return model.SerializeToString()


def ort_session(model_bytes: bytes, threads: int = 1):
    """An onnxruntime CPU session for ONNX bytes with `threads` intra-op threads (no spinning, so
    an idle renderer does not burn a core the GUI needs)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, int(threads))
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def images_to_uint8(x: np.ndarray) -> np.ndarray:
    """float (B, C, H, W) in [-1, 1] -> uint8 (B, H, W, C), rounding exactly as images.to_uint8."""
    x = np.clip(np.asarray(x, dtype=np.float32), -1, 1)
    x = np.rint((x + np.float32(1)) * np.float32(127.5)).astype(np.uint8)
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
