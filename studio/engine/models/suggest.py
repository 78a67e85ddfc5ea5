"""Training settings pre-filled from the dataset and the device, with the reason for each.

The studio's wizard and the command line both call `ModelKind.suggest`, which lands here, so the
same folder gives the same settings in both.

A designer should not have to know what a batch size is: the new-project flow proposes a
training size from the images' own sizes, a batch that fits the device's memory, and mirroring
augmentation for small collections, and shows why. Plain Python (no Qt); any thread.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studio.engine.words import counted

if TYPE_CHECKING:
    from studio.engine.models.kind import Suggestion

SMALL_SET = 1000  # below this many images per folder, random mirroring noticeably helps
PROBE_LIMIT = 400  # image headers read to estimate the collection's sizes (enough for a median)


@dataclass(frozen=True)
class DeviceInfo:
    """What the suggestion knows about the compute device."""

    kind: str  # "cpu" | "cuda" | "mps"
    label: str  # e.g. "CPU (2 cores)" or "CUDA: NVIDIA H100"
    free_bytes: int  # memory the run may use (GPU memory free, or RAM available)


def probe_sizes(paths: list[str | Path], limit: int = PROBE_LIMIT) -> list[tuple[int, int]]:
    """(width, height) of up to `limit` images, read from their headers only (fast, no decode).

    Files that cannot be opened are left out (the dataset report lists them). A video clip's frame
    list (studio.engine.data.video.FrameList) carries its frame size instead of files to open."""
    from studio.engine.images import open_image

    frame_size = getattr(paths, "frame_size", None)
    if frame_size is not None:
        return [tuple(frame_size)] * min(len(paths), limit or len(paths))

    out = []
    step = max(1, len(paths) // limit) if limit else 1
    for p in list(paths)[::step][:limit]:
        try:
            with open_image(p) as im:
                out.append(im.size)
        except Exception:  # noqa: BLE001 - any unreadable file is simply not probed
            continue
    return out


def device_info(name: str = "auto") -> DeviceInfo:
    """Describe the device `name` would pick, with the memory a run may use."""
    import torch

    from studio.engine.device import pick_device

    dev = pick_device(name)
    if dev.type == "cuda":
        free, _total = torch.cuda.mem_get_info(dev)
        return DeviceInfo("cuda", f"CUDA: {torch.cuda.get_device_name(dev)}", int(free))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    ram = _available_ram()
    if dev.type == "mps":
        return DeviceInfo("mps", "Apple GPU (Metal)", ram // 2)  # unified memory, shared with the system
    return DeviceInfo("cpu", f"CPU ({counted(cores, 'core')})", ram)


def _available_ram() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4 * 1024**3


def suggest_for_files(kind, files: dict[str, list[Path]], device: str = "auto") -> tuple[Suggestion, DeviceInfo]:
    """The suggestion for a new project of `kind` (a ModelKind) from its roles' scanned image files
    (role -> paths, see `studio.engine.data.dataset.scan_folder`) on `device` ("auto", "cpu"...),
    and the device described. The wizard's preparation and `gan-studio train` both call this."""
    sizes = [wh for found in files.values() for wh in probe_sizes(found)]
    dev = device_info(device)
    return kind.suggest([len(found) for found in files.values()], sizes, dev), dev


def suggest_common(kind, counts: list[int], sizes: list[tuple[int, int]], device: DeviceInfo) -> Suggestion:
    """Settings for a new project of `kind` (a ModelKind) with image folders of `counts` images whose
    probed (w, h) are `sizes`, trained on `device`. Called through `ModelKind.suggest`."""
    from studio.engine.models.kind import Suggestion

    choices = kind.sizes
    gpu = device.kind in ("cuda", "mps")
    cap = kind.size_cap(gpu)
    where = "GPU" if gpu else "CPU"
    if sizes:
        short = statistics.median(min(w, h) for w, h in sizes)
        fitting = [s for s in choices if s <= short] or [choices[0]]
        size = min(fitting[-1], cap)
        size_reason = f"Most images are about {int(short)} px on their short side"
        if fitting[-1] > cap and not gpu:
            size_reason += (f"; on a CPU, {size} px shows first results within about 10 minutes "
                            "(each larger size is about 4x slower)")
        elif fitting[-1] > cap:
            size_reason += f"; {size} px keeps training on the {where} quick"
        elif short < choices[0]:
            size_reason += f"; {size} px is the smallest size this model trains at (images are enlarged)"
    else:
        size = min(kind.default_size(), cap)
        size_reason = "Default size"

    n = min(counts) if counts else 0
    budget = device.free_bytes * (0.5 if gpu else 0.25)
    fits = max(1, int(budget // kind.bytes_per_image(size)))
    mem = _human_bytes(device.free_bytes)
    cap_b = kind.batch_cap(gpu)
    batch = max(kind.min_batch(), _pow2_floor(min(cap_b, fits, max(n, kind.min_batch()))))
    if batch == 1:
        batch_reason = f"One {kind.batch_unit[:-1]} per step, as in the paper (best quality on a CPU)"
    elif batch == cap_b:
        batch_reason = (f"{'As in the paper' if gpu else 'A quick size on a CPU'}; "
                        f"fits easily in the {mem} of memory free")
    elif n and batch >= _pow2_floor(n):
        batch_reason = f"The folder holds only {n} images"
    else:
        batch_reason = f"The most that fits in the {mem} of memory free on {device.label}"

    flip = 0 < n < SMALL_SET
    flip_reason = (
        f"Only {n} images: mirroring doubles the variety the model sees"
        if flip
        else f"{n:,} images are plenty; turn on if mirrored images look right"
    )
    derived, reasons = kind.suggest_options(n)
    # Every option gets a value, so the wizard's widgets and the command line start from the same one.
    options = {o.name: o.default for o in kind.options if o.default is not None}
    options.update(derived)
    return Suggestion(
        size=size,
        batch=batch,
        flip=flip,
        steps=kind.default_steps,
        sample_every=kind.default_sample_every,
        checkpoint_every=500,
        options=options,
        reasons={"size": size_reason, "batch": batch_reason, "flip": flip_reason, **reasons},
    )


def _pow2_floor(n: int) -> int:
    p = 1
    while p * 2 <= n:
        p *= 2
    return p


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB", "MB") else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
