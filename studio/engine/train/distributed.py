"""Multi-process data-parallel training with PyTorch DDP, launched by torchrun.

`gan-studio train ... --devices N` re-launches itself under `torch.distributed.run`; a command
already started by `torchrun` is detected from its environment. Every rank builds the same trainer
from the same seed and consumes the same random numbers, then trains on its own slice of each
global batch; DistributedDataParallel averages the gradients. Rank 0 alone writes checkpoints,
samples and history, so the project folder is the same as a single-process run's.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist

from studio.engine.errors import UserError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


SINGLE = DistInfo()


def launched_by_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ or ("WORLD_SIZE" in os.environ and "RANK" in os.environ)


def init_from_env(device_name: str) -> tuple[DistInfo, str]:
    """Join the process group torchrun set up; returns the rank info and the device name to use
    (cuda:LOCAL_RANK on GPUs, the CPU with gloo otherwise)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE, device_name
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    use_cuda = device_name in ("auto", "cuda") and torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(info.local_rank)
        device_name = f"cuda:{info.local_rank}"
    else:
        device_name = "cpu"
        # share the cores: N processes x all threads would oversubscribe the CPU
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
        # Leave the group before the interpreter tears down: left to static destructors, gloo's
        # threads are sometimes still joinable and the process aborts ("terminate called without
        # an active exception") after an otherwise finished run.
        atexit.register(_leave_group)
    return info, device_name


def _leave_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def exit_rank(code: int) -> None:
    """End a torchrun rank once its command has returned, without running C++ static destructors.

    Leaving the group at exit was not enough: a rank still aborted now and then after a finished
    run ("terminate called without an active exception": a c10d/gloo std::thread destroyed while
    joinable), and torchrun then failed the whole job. All work is done and written by now (the
    engine runs no background threads of its own), so after a barrier, which keeps a fast rank
    from leaving while another is still in a collective, the process ends with os._exit.
    Returns (and the caller exits normally) when this process never joined a group."""
    if not dist.is_initialized():
        return
    try:
        dist.barrier()
    except Exception:  # a peer already gone: torchrun reports that one; just leave
        pass
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def barrier(info: DistInfo) -> None:
    if info.active:
        dist.barrier()


def mean_across(info: DistInfo, values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Average scalar losses over ranks so every rank logs, and reacts to NaN, identically."""
    if not info.active or not values:
        return values
    t = torch.tensor(list(values.values()), dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return dict(zip(values, (t / info.world).tolist()))


def gather_across(info: DistInfo, x: torch.Tensor) -> torch.Tensor:
    """Every rank's equally sized `x`, concatenated along the first axis in rank order (no gradient)."""
    if not info.active:
        return x
    x = x.detach().contiguous()
    parts = [torch.empty_like(x) for _ in range(info.world)]
    dist.all_gather(parts, x)
    return torch.cat(parts)


def any_across(info: DistInfo, flag: bool, device: torch.device) -> bool:
    """True on every rank when any rank says True (stop requests, deadlines)."""
    if not info.active:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def relaunch(argv: list[str], devices: int) -> int:
    """Run `gan-studio argv` under torchrun with `devices` processes on this machine."""
    if devices < 2:
        raise UserError("--devices must be at least 2 for multi-process training.")
    if torch.cuda.is_available() and torch.cuda.device_count() < devices:
        raise UserError(f"--devices {devices}: only {torch.cuda.device_count()} GPUs are available.")
    cmd = [sys.executable, "-c", _LAUNCHER, "--standalone", f"--nproc-per-node={devices}", "-m", "studio", *argv]
    # One thread per process unless the user says otherwise (torchrun's default, without its banner);
    # CPU ranks then take their share of the cores (init_from_env).
    return subprocess.call(cmd, env={"OMP_NUM_THREADS": "1", **os.environ})


# torchrun, minus what it prints when a rank fails: the rank has said why in one line already
# (a UserError), and the launcher's traceback and log lines would bury it. Its loggers are made
# quiet as they are created and the ranks inherit the environment as it was; the exit status is
# the failed rank's, a rank killed by a signal is named in one line, and a stop signal to the
# launcher itself ends it with the usual 128 + signal status.
_LAUNCHER = """
import logging, os, sys
level = os.environ.get("LOGLEVEL")
os.environ["LOGLEVEL"] = "CRITICAL"
from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import main
logging.getLogger("torch.distributed").setLevel(logging.CRITICAL)
for name in list(logging.root.manager.loggerDict):
    if name.startswith("torch.distributed."):
        logging.getLogger(name).setLevel(logging.CRITICAL)
if level is None:
    del os.environ["LOGLEVEL"]
else:
    os.environ["LOGLEVEL"] = level
try:
    main(sys.argv[1:])
except ChildFailedError as e:
    codes = [f.exitcode for f in e.failures.values()]
    signals = [-c for c in codes if c < 0]
    if signals and not any(c > 0 for c in codes):
        print(f"gan-studio: a training process was stopped by signal {signals[0]}.", file=sys.stderr)
    sys.exit(next((c for c in codes if c > 0), 1))
except SignalException as e:  # Ctrl-C or a stop signal: the ranks got it too and say what they did
    sys.exit(128 + int(e.sigval))
"""
