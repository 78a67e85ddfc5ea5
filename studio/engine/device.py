"""Choosing the compute device and CPU thread counts."""

from __future__ import annotations

import functools
import os
import sys
import threading

import torch

from studio.engine.errors import UserError
from studio.engine.words import plural

DEVICES = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then the CPU; naming an absent device is a UserError."""
    if name.startswith("cuda:") and name[5:].isdigit() and torch.cuda.is_available():
        return torch.device(name)  # a data-parallel process's own GPU
    if name not in DEVICES:
        raise UserError(f"Unknown device '{name}'; choose one of {', '.join(DEVICES)}.")
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if has_mps else torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA GPU is available on this machine (try --device auto).")
    if name == "mps" and not has_mps:
        raise UserError("--device mps: Apple Metal is not available on this machine (try --device auto).")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """A short human label, e.g. 'CPU (2 threads)' or 'CUDA: NVIDIA H100'."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (Metal)"
    n = torch.get_num_threads()
    return f"CPU ({n} {plural(n, 'thread')})"


def lower_this_thread_priority(nice: int = 5) -> bool:
    """Make the calling thread, and the compute threads it starts afterwards (they inherit it),
    yield to normal-priority threads such as a GUI thread: its nice value goes up by `nice` (at
    most 19). Linux only, where nice is per thread; returns False where it cannot be done. Lowering
    one's own priority needs no privileges."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
        return True
    except OSError:
        return False


def set_cpu_threads(leave_free: int = 0) -> int:
    """Cap torch's intra-op threads at (cores - leave_free), at least 1; returns the count.

    leave_free=1 keeps a core for a GUI thread; the studio instead trains on every core at a lower
    priority (see `lower_this_thread_priority` and bench/ui_latency.py)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = max(1, cores - leave_free)
    torch.set_num_threads(n)
    return n


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True on CPUs that compute in bf16 in hardware (AVX-512 BF16, or AMX tiles: Intel Xeon since
    Cooper Lake / Sapphire Rapids, AMD since Zen 4); elsewhere bf16 is emulated and very slow."""
    checks = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    try:
        return any(check() for check in checks if check is not None)
    except Exception:  # noqa: BLE001 - private torch helpers: a missing or failing probe means "no"
        return False


def fast_path(device: torch.device, precision: str, channels_last: bool,
              cpu_channels_last: bool = False, cpu_bf16: bool = False, gpu_bf16: bool = True) -> tuple[str, bool]:
    """Resolve a config's precision ("auto" | "fp32" | "bf16") and layout for `device`.

    "auto" picks bf16 autocast + channels_last on CUDA GPUs with bf16 (the usual fast path there;
    not yet measured by bench/ in this project). On a CPU the layout is channels_last where the
    model measured faster that way (`cpu_channels_last`), and the precision bf16 autocast where the
    CPU computes bf16 natively (`cpu_has_native_bf16`) and the model passed bench/quality_check.py
    in bf16 (`cpu_bf16`), else fp32. On a 2-core Xeon with AMX, bf16 trained the DCGAN 2.1x faster
    within the fp32 seeds' quality spread; the CycleGAN also ran 2.1x faster but its mean score fell
    just outside the spread over three seeds (inside over eight, later), so its rule stays fp32 and
    bf16 is left to the per-machine measurement (fast_path.py). Without native bf16 (a 2-core AMD EPYC, AVX2) a
    2048^2 bf16 matmul ran at 0.3 GFLOP/s against 140 in fp32. `gpu_bf16=False`: a kind whose quality
    check approved no bf16 at all (the 2014 GAN, pix2pix) keeps fp32 and its layout on a GPU too, as on
    a GPU without bf16 (a measurement may still pick channels_last there). Explicit values are kept.
    """
    if precision != "auto":
        return precision, channels_last
    if device.type == "cuda" and gpu_bf16 and torch.cuda.is_bf16_supported():
        return "bf16", True
    if device.type == "cpu":
        return ("bf16" if cpu_bf16 and cpu_has_native_bf16() else "fp32"), channels_last or cpu_channels_last
    return "fp32", channels_last
