"""Live translation for the sketch pad: one fixed-size picture in, its translation out, fast.

The sketch pad translates the whole canvas after every stroke, always at the model's input size, so
there is nothing to pad, tile or crop: what matters is the time of one forward pass. On a GPU that
is the network itself. On a CPU the same network exported to ONNX and run by onnxruntime may be
faster (it is for the DCGAN's transposed convolutions, see `renderer.py`), but for the translating
networks' plain convolutions PyTorch's oneDNN kernels are sometimes as fast, so with
`backend="auto"` both are timed on this machine when the model loads and the faster one is kept
(bench/sketch_latency.py prints both). Both give the same pictures up to float rounding.

A `LiveTranslator` belongs to one thread (the sketch worker's); it owns its net and session.
Nothing here touches Qt.
"""

from __future__ import annotations

import copy
import io
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from studio.engine.errors import UserError
from studio.engine.explore.renderer import default_threads
from studio.engine.images import from_uint8, to_uint8

BACKENDS = ("auto", "torch", "onnxruntime")
INPUT = "image"
OUTPUT = "translated"
TIMING_RUNS = 3  # timed passes per backend when choosing (after one warm-up pass each)


def net_onnx_bytes(net: torch.nn.Module, channels: int, size: int) -> bytes:
    """Serialise an image-to-image net (any device; left untouched) as ONNX bytes for one
    (1, channels, size, size) float32 input in [-1, 1]. A fixed shape: the pad never sends another,
    and onnxruntime plans a fixed shape's memory once."""
    cpu = copy.deepcopy(net).to("cpu").eval().requires_grad_(False)
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        # The TorchScript-based exporter, as explore/onnx.py: onnxscript is not a dependency.
        torch.onnx.export(cpu, (torch.zeros(1, channels, size, size),), buf, dynamo=False,
                          input_names=[INPUT], output_names=[OUTPUT], opset_version=17, do_constant_folding=True)
    return buf.getvalue()


class LiveTranslator:
    """Translates uint8 (size, size, C) pictures with one net. Not thread-safe: one owner thread.

    `net` maps (1, in_channels, size, size) in [-1, 1] to (1, out_channels, size, size) in [-1, 1];
    it is used as given (the caller hands it over). `backend`: auto | torch | onnxruntime."""

    def __init__(self, net: torch.nn.Module, size: int, in_channels: int, *, device: torch.device | str = "cpu",
                 backend: str = "auto", threads: int | None = None, step: int = 0, background: int = 255):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend '{backend}' (choose {', '.join(BACKENDS)})")
        self.size = int(size)
        self.in_channels = int(in_channels)
        self.step = step
        self.background = background
        self.device = torch.device(device)
        self.net = net.to(self.device).eval().requires_grad_(False)
        self.threads = threads or default_threads()
        self.backend = "torch"
        self.timings_ms: dict[str, float] = {}  # backend -> median ms of one pass, when both were timed
        self._session = None
        want_ort = backend == "onnxruntime" or (backend == "auto" and self.device.type == "cpu")
        if want_ort:
            try:
                from studio.engine.explore.onnx import ort_session

                self._session = ort_session(net_onnx_bytes(self.net, self.in_channels, self.size), self.threads)
                self.backend = "onnxruntime"
            except Exception:  # noqa: BLE001 - any exporter/runtime trouble: the net itself still works
                if backend == "onnxruntime":
                    raise
                self._session = None
        if backend == "auto" and self._session is not None:
            self._keep_faster()

    # ----- translating ----------------------------------------------------------------------------
    def translate(self, picture: np.ndarray) -> np.ndarray:
        """uint8 (size, size[, C]) -> uint8 (size, size, out channels). Other sizes: ValueError."""
        x = self._input(picture)
        if self._session is not None:
            from studio.engine.explore.onnx import images_to_uint8

            y = self._session.run(None, {INPUT: x})[0]
            return images_to_uint8(y)[0]
        with torch.inference_mode():
            return to_uint8(self.net(torch.from_numpy(x).to(self.device)))[0]

    def _input(self, picture: np.ndarray) -> np.ndarray:
        from studio.engine.explore.translate import match_channels

        p = np.asarray(picture, dtype=np.uint8)
        if p.shape[:2] != (self.size, self.size):
            raise ValueError(f"the live translator takes {self.size}x{self.size} pictures, "
                             f"got {p.shape[1]}x{p.shape[0]}")
        p = match_channels(p, self.in_channels, self.background)
        return np.ascontiguousarray(from_uint8(np.array(p)).numpy(), dtype=np.float32)

    # ----- choosing the backend -------------------------------------------------------------------
    def _keep_faster(self) -> None:
        """Time onnxruntime and the net on a blank canvas; keep the faster (ties go to onnxruntime,
        which does not share PyTorch's thread pool with a training run)."""
        blank = np.full((self.size, self.size, self.in_channels), self.background, np.uint8)
        session = self._session
        for name in ("onnxruntime", "torch"):
            self._session = session if name == "onnxruntime" else None
            self.translate(blank)  # warm-up: first-call allocations and kernel choice
            runs = []
            for _ in range(TIMING_RUNS):
                t0 = time.perf_counter()
                self.translate(blank)
                runs.append((time.perf_counter() - t0) * 1000)
            self.timings_ms[name] = float(np.median(runs))
        faster_ort = self.timings_ms["onnxruntime"] <= self.timings_ms["torch"] * 1.05
        self._session = session if faster_ort else None
        self.backend = "onnxruntime" if faster_ort else "torch"


def load_live_translator(project_dir: Path | str, direction: str = "a2b", *, device: str = "auto",
                         backend: str = "auto", threads: int | None = None) -> LiveTranslator:
    """The live translator of a translating project's newest checkpoint, at the project's training size.
    Raises UserError for a project that does not translate or has no trained model yet."""
    from studio.engine.explore.translate import Translator
    from studio.engine.project.folder import Project

    project = Project.open(project_dir, clean=False)
    size = int((project.meta.get("model") or {}).get("size") or 0)
    if size <= 0:
        raise UserError(f"{project_dir}: project.json does not say the model's image size.")
    translator = Translator.load(project_dir, direction=direction, device=device)
    return live_from_translator(translator, size, backend=backend, threads=threads)


def live_from_translator(translator, size: int, *, backend: str = "auto", threads: int | None = None) -> LiveTranslator:
    """A LiveTranslator of a translate-path Translator's net (which it takes over) at `size` px."""
    return LiveTranslator(translator.net, size, translator.channels, device=translator.device, backend=backend,
                          threads=threads, step=translator.step, background=translator.data_cfg.background)


class TrainingInputs:
    """The inputs a project's model was trained on, one at a time, for the sketch pad's starting canvas:
    for a paired kind the input of each pair (made from its picture when the inputs are made, the
    left half of a side-by-side picture...), for other translating kinds the pictures of their first
    folder. The folders are prepared as training prepared them, so the dataset cache usually has them.

    Blocks while it loads (the first `get`): call it off the GUI thread. One thread at a time."""

    def __init__(self, project_dir: Path | str, size: int):
        self.project_dir = Path(project_dir)
        self.size = int(size)
        self._inputs = None  # (count, the i-th input as uint8 (L, L, C)), once loaded

    @property
    def loaded(self) -> bool:
        """Whether the pictures are read already (the next `get` is quick)."""
        return self._inputs is not None

    def get(self, index: int) -> np.ndarray:
        """The `index`-th input (wrapping round) as uint8 (size, size, C): the centre of the picture at
        the size training loaded it (which then cropped at random), as the model saw it.

        Raises UserError when the project's images are not on this computer (a bundled demo trained
        on generated pictures, or a folder moved away)."""
        if self._inputs is None:
            self._inputs = self._load()
        count, made = self._inputs
        picture = made(index % count)
        h, w = picture.shape[:2]
        top, left = max(0, (h - self.size) // 2), max(0, (w - self.size) // 2)
        return np.ascontiguousarray(picture[top : top + self.size, left : left + self.size])

    def _load(self):
        from types import SimpleNamespace

        from studio.engine.config import config_from_dict
        from studio.engine.data.dataset import DataConfig
        from studio.engine.data.demo_sets import draw_procedural_folder, is_procedural_folder
        from studio.engine.models import get_kind
        from studio.engine.project.folder import Project

        project = Project.open(self.project_dir, clean=False)
        kind = get_kind(project.kind)
        data = project.meta.get("data") or {}
        folders = {role: str(folder) for role, folder in (data.get("folders") or {}).items()}
        roles = kind.roles_for(folders)
        cfg = config_from_dict(kind.config_cls, project.meta.get("model"))
        data_cfg = kind.load_config(cfg, config_from_dict(DataConfig, data.get("config")))
        if all(is_procedural_folder(folders[r.name]) for r in roles):
            # A bundled demo's pictures are not shipped but drawn again, exactly as it was trained on them.
            datasets = {r.name: SimpleNamespace(images=_at_size(draw_procedural_folder(folders[r.name])[0],
                                                                data_cfg.size)) for r in roles}
        else:
            for role in roles:
                if not Path(folders[role.name]).expanduser().is_dir():
                    raise UserError(f"This model's training pictures are not on this computer "
                                    f"({folders[role.name]}); load an image of your own instead.")
            datasets = kind.prepare_datasets(roles, folders, data_cfg, cfg)
        count = min(len(ds.images) for ds in datasets.values())
        first = datasets[roles[0].name].images

        def made(i: int) -> np.ndarray:  # one pair's input, made only when asked for (edges take a while)
            one = {role: SimpleNamespace(images=ds.images[i : i + 1]) for role, ds in datasets.items()}
            pairs = kind.example_pairs(cfg, one, 1)
            # not a paired kind: the first folder's pictures are its inputs
            return pairs[0][0] if pairs else first[i].permute(1, 2, 0).numpy()

        return count, made


def _at_size(pictures: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (N, H, W, C) square pictures -> uint8 (N, C, size, size), resized smoothly when they differ."""
    if pictures.shape[1] != size:
        from PIL import Image

        pictures = np.stack([np.asarray(Image.fromarray(p).resize((size, size), Image.Resampling.LANCZOS))
                             for p in pictures])
    return torch.from_numpy(np.ascontiguousarray(pictures)).permute(0, 3, 1, 2)
