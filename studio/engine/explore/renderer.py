"""Interactive rendering: latents -> uint8 pictures as fast as the device allows.

A `Renderer` wraps a `GeneratorModel` and picks a backend. On a GPU that is the model itself. On a
CPU it is the same generator exported to ONNX and run by onnxruntime (~4.5 ms instead of ~12-20 ms
for one 64 px image with default widths on one core of this machine: PyTorch's CPU transposed
convolutions are the bottleneck; bench/pad_latency.py measures both in one run). Both backends give
the same pictures up to float rounding (a pixel may differ by 1 level where a value sits on a
rounding boundary).

A Renderer belongs to one thread (the render worker's); it owns its model and session.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from studio.engine.explore.generator import GeneratorModel
from studio.engine.models.kind import ModelKind

BACKENDS = ("auto", "torch", "onnxruntime")


def default_threads() -> int:
    """Intra-op threads for interactive rendering: half the cores (at most 4), leaving the rest to
    the GUI and a training run; one on a 2-core laptop."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class Renderer:
    """Renders latents with one model. Not thread-safe: one owner thread."""

    def __init__(self, model: GeneratorModel, backend: str = "auto", threads: int | None = None):
        if backend not in BACKENDS:
            raise ValueError(f"unknown render backend '{backend}' (choose {', '.join(BACKENDS)})")
        self.model = model
        self.threads = threads or default_threads()
        self._session = None
        self.backend = "torch"
        self.setup_s = 0.0
        want_ort = backend == "onnxruntime" or (backend == "auto" and model.device.type == "cpu")
        if want_ort:
            try:
                t0 = time.perf_counter()
                self._session = _build_session(model, self.threads)
                self.setup_s = time.perf_counter() - t0
                self.backend = "onnxruntime"
            except Exception:  # noqa: BLE001 - any exporter/runtime trouble: eager torch still works
                if backend == "onnxruntime":
                    raise
                self._session = None

    @property
    def cfg(self):
        return self.model.cfg

    @property
    def z_dim(self) -> int:
        return self.model.z_dim

    @property
    def step(self) -> int:
        return self.model.step

    def generate(self, z, space: str = "z", labels=None) -> np.ndarray:
        """Latents of `space` ((B, z_dim) or (z_dim,) in z; flat or (B, num_ws, w_dim) in w) -> uint8
        (B, H, W, C). `labels`: the class to draw, for a generator with classes (see
        `GeneratorModel.generate`); rendered by the model itself, as the exported graph takes z alone.
        Latents of W need no class: it entered through the mapping (`LatentSpace.from_z(z, labels)`)."""
        if labels is not None and space == "z":
            return self.model.generate(z, labels)
        if self._session is None:
            return self.model.generate_in(z, space)
        if space == "w" or self._input == "ws":
            # A style-based model's session takes ws: z goes through the mapping in torch first
            # (a few small matrix products), the synthesis runs in onnxruntime.
            x = self.model.as_ws(z) if space == "w" else self.model.to_ws(z)
        else:
            x = np.asarray(z, dtype=np.float32)
            if x.ndim == 1:
                x = x[None]
            if x.shape[-1] != self.z_dim:
                raise ValueError(f"latents must have {self.z_dim} values, got {x.shape[-1]}")
        out = [self._session.run(None, {self._input: np.ascontiguousarray(x[i : i + 64])})[0]
               for i in range(0, len(x), 64)]
        from studio.engine.explore.onnx import images_to_uint8

        return images_to_uint8(np.concatenate(out))

    @property
    def _input(self) -> str:
        from studio.engine.explore.onnx import INPUTS

        return INPUTS["w" if "w" in self.model.spaces else "z"]


def _build_session(model: GeneratorModel, threads: int):
    """A style-based model's session takes ws, so one session serves the explorer in z and in W."""
    from studio.engine.explore.onnx import generator_onnx_bytes, ort_session

    space = "w" if "w" in model.spaces else "z"
    return ort_session(generator_onnx_bytes(model.G, model.z_dim, space=space), threads)


def model_from_state(cfg, state: dict[str, torch.Tensor], step: int = 0, device: str | torch.device = "cpu", *,
                     kind: ModelKind) -> GeneratorModel:
    """A GeneratorModel of `kind` from a copy of EMA weights (e.g. `trainer.generator_state()` handed over
    by a running training). The tensors are copied into the model's own parameters: nothing is shared."""
    return GeneratorModel(cfg, state, device, step=step, kind=kind)
