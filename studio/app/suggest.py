"""Training settings pre-filled from the dataset and the device, with the reason for each.

A designer should not have to know what a batch size is: the new-project flow proposes a
training size from the images' own sizes, a batch that fits the device's memory, and mirroring
augmentation for small collections, and shows why. Plain Python (no Qt); any thread.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from pathlib import Path

DCGAN_SIZES = (32, 64, 128, 256)
CYCLEGAN_SIZES = (32, 64, 128, 256, 512)
SMALL_SET = 1000  # below this many images per folder, random mirroring noticeably helps
PROBE_LIMIT = 400  # image headers read to estimate the collection's sizes (enough for a median)


@dataclass(frozen=True)
class DeviceInfo:
    """What the suggestion knows about the compute device."""

    kind: str  # "cpu" | "cuda" | "mps"
    label: str  # e.g. "CPU (2 cores)" or "CUDA: NVIDIA H100"
    free_bytes: int  # memory the run may use (GPU memory free, or RAM available)


@dataclass(frozen=True)
class Suggestion:
    """Pre-filled settings and a one-line reason for each, shown next to the controls."""

    size: int  # training image side in pixels
    size_reason: str
    batch: int  # images (DCGAN) or image pairs (CycleGAN) per step
    batch_reason: str
    flip: bool  # random left-right mirroring (both kinds)
    flip_reason: str
    diffaugment: bool  # DiffAugment for the DCGAN discriminator (colour, shift, cutout); False for CycleGAN
    diffaugment_reason: str
    steps: int  # total training steps
    sample_every: int  # save a sample grid every N steps
    checkpoint_every: int  # write a checkpoint every N steps


def probe_sizes(paths: list[str | Path], limit: int = PROBE_LIMIT) -> list[tuple[int, int]]:
    """(width, height) of up to `limit` images, read from their headers only (fast, no decode).

    Files that cannot be opened are left out (the dataset report lists them)."""
    from PIL import Image

    out = []
    step = max(1, len(paths) // limit) if limit else 1
    for p in list(paths)[::step][:limit]:
        try:
            with Image.open(p) as im:
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
    return DeviceInfo("cpu", f"CPU ({cores} core{'s' if cores != 1 else ''})", ram)


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


def _bytes_per_image(kind: str, size: int, width: int = 64) -> float:
    """Rough training memory per image (activations + gradients, fp32), measured order of magnitude:
    a 64 px DCGAN at width 64 needs ~10 MB per image, a 256 px CycleGAN ~1 GB per pair."""
    if kind == "cyclegan":
        return 1.0e9 * (size / 256) ** 2 * (width / 64)
    return 10e6 * (size / 64) ** 2 * (width / 64)


def suggest(
    kind: str,
    counts: list[int],
    sizes: list[tuple[int, int]],
    device: DeviceInfo,
    width: int = 64,
) -> Suggestion:
    """Settings for a new project of `kind` with image folders of `counts` images whose probed
    (w, h) are `sizes`, trained on `device`."""
    choices = CYCLEGAN_SIZES if kind == "cyclegan" else DCGAN_SIZES
    gpu = device.kind in ("cuda", "mps")
    # On a CPU, large sizes make every step slow: cap so samples visibly evolve within minutes.
    cap = (256 if kind == "cyclegan" else 256) if gpu else (128 if kind == "cyclegan" else 64)
    if sizes:
        short = statistics.median(min(w, h) for w, h in sizes)
        fitting = [s for s in choices if s <= short] or [choices[0]]
        size = min(fitting[-1], cap)
        size_reason = f"Most images are about {int(short)} px on their short side"
        if fitting[-1] > cap:
            size_reason += f"; {size} px keeps training on the {'CPU' if not gpu else 'GPU'} quick"
        elif short < choices[0]:
            size_reason += f"; {size} px is the smallest size this model trains at (images are enlarged)"
    else:
        size = min(64 if kind == "dcgan" else 128, cap)
        size_reason = "Default size"

    n = min(counts) if counts else 0
    budget = device.free_bytes * (0.5 if gpu else 0.25)
    fits = max(1, int(budget // _bytes_per_image(kind, size, width)))
    mem = _human_bytes(device.free_bytes)
    if kind == "cyclegan":
        cap_b = 4 if gpu else 1
        batch = _pow2_floor(min(cap_b, fits))
        batch_reason = (
            "One pair per step, as in the CycleGAN paper (best quality on a CPU)"
            if batch == 1
            else f"The most that fits in the {mem} of memory free on {device.label}"
        )
    else:
        cap_b = 128 if gpu else 64
        batch = max(2, _pow2_floor(min(cap_b, fits, max(n, 2))))
        if batch == cap_b:
            batch_reason = (f"{'As in the DCGAN paper' if gpu else 'A quick size on a CPU'}; "
                            f"fits easily in the {mem} of memory free")
        elif n and batch >= _pow2_floor(n):
            batch_reason = f"The folder holds only {n} images"
        else:
            batch_reason = f"The most that fits in the {mem} of memory free on {device.label}"

    flip = 0 < n < SMALL_SET
    flip_reason = (
        f"Only {n} images: mirroring doubles the variety the model sees"
        if flip
        else f"{n} images are plenty; turn on if mirrored images look right"
    )
    from studio.engine.augment import SMALL_DATASET as DIFFAUGMENT_BELOW

    diffaugment = kind == "dcgan" and 0 < n < DIFFAUGMENT_BELOW
    diffaugment_reason = (
        "" if kind != "dcgan" else
        f"With {n:,} images the discriminator would memorise them; augmentation keeps it learning"
        if diffaugment else f"{n:,} images are enough without it"
    )
    steps = 5000 if kind == "dcgan" else 10000
    return Suggestion(
        size=size,
        size_reason=size_reason,
        batch=batch,
        batch_reason=batch_reason,
        flip=flip,
        flip_reason=flip_reason,
        diffaugment=diffaugment,
        diffaugment_reason=diffaugment_reason,
        steps=steps,
        sample_every=100 if kind == "dcgan" else 200,
        checkpoint_every=500,
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
