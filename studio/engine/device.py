"""Choosing the compute device and CPU thread counts."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

import torch

from studio.engine.errors import UserError

DEVICES = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then the CPU; naming an absent device is a UserError."""
    if name.startswith("cuda:") and name[5:].isdigit() and torch.cuda.is_available():
        return torch.device(name)  # a data-parallel process's own GPU
    if name not in DEVICES:
        raise UserError(f"unknown device '{name}'; choose one of {', '.join(DEVICES)}")
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if has_mps else torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA GPU is available on this machine (try --device auto)")
    if name == "mps" and not has_mps:
        raise UserError("--device mps: Apple Metal is not available on this machine (try --device auto)")
    return torch.device(name)


_ALLOCATOR_TUNED: list[bool] = []


def keep_freed_memory() -> bool:
    """Let glibc keep freed blocks for reuse instead of handing them back to the kernel.

    A CPU training step allocates and frees the same few-MB activation buffers every step; by
    default glibc serves them with fresh mmap()s or trims them off the heap, and the kernel then
    zero-fills every page again on first touch: ~240,000 page faults and ~8% of the CPU time of a
    64 px DCGAN step here (bench/train_speed.py). With the mmap threshold at its maximum (32 MiB on
    64-bit) and trimming off, the process keeps its peak working set (a few hundred MB at most)
    and reuses it. Process-wide and idempotent; False where the C library is not glibc."""
    if _ALLOCATOR_TUNED:
        return _ALLOCATOR_TUNED[0]
    ok = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
            ok = bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)) and bool(libc.mallopt(m_trim_threshold, 2**30))
        except (OSError, AttributeError):  # musl or an unusual libc: nothing to tune
            ok = False
    _ALLOCATOR_TUNED.append(ok)
    return ok


def describe_device(device: torch.device) -> str:
    """A short human label, e.g. 'CPU (2 threads)' or 'CUDA: NVIDIA H100'."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (Metal)"
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'' if n == 1 else 's'})"


def set_cpu_threads(leave_free: int = 0) -> int:
    """Cap torch's intra-op threads at (cores - leave_free), at least 1; returns the count.

    The studio leaves one core to the GUI thread so the window stays responsive while training."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = max(1, cores - leave_free)
    torch.set_num_threads(n)
    return n


def fast_path(device: torch.device, precision: str, channels_last: bool,
              cpu_channels_last: bool = False) -> tuple[str, bool]:
    """Resolve a config's precision ("auto" | "fp32" | "bf16") and layout for `device`.

    "auto" picks bf16 autocast + channels_last on CUDA GPUs with bf16 (the usual fast path there;
    not yet measured by bench/ in this project). On a CPU it is fp32, with channels_last where the
    model measured faster that way (`cpu_channels_last`, chosen per model by bench/train_speed.py):
    on this project's 2-core machines (AMD EPYC, AVX2 without native bf16; torch 2.14.1) bf16 runs
    emulated, a 2048^2 bf16 matmul at 0.3 GFLOP/s against 140 in fp32, so autocast would be hundreds
    of times slower. Explicit values are kept."""
    if precision != "auto":
        return precision, channels_last
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16", True
    return "fp32", channels_last or (device.type == "cpu" and cpu_channels_last)
