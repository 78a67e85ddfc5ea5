"""The fast path of a training run, chosen per machine by timing a few real steps, and remembered.

Which precision and layout train fastest depends on the machine's kernels, not on a flag both
machines share: on a 2-core Xeon with AMX, bf16 autocast + channels_last + the small-map matmuls
trained the 64 px DCGAN 3.5x faster than the canonical loop; on a 2-core AMD EPYC with AVX-512 BF16
but no AMX the same defaults gave 2.1x (issue 21). So on the first training of a model shape on a
machine, each candidate path a kind's quality check approved (`ModelKind.approved_paths()`) runs
a warm-up step and one or two timed steps on the real batch, in a throwaway trainer over a few of
the real images (candidates close to the fastest are timed once more); the fastest is kept in
`fast-paths.json` in the user's cache folder, keyed by the machine (CPU model, cores, threads, or
GPU name), the torch version, the kind and the model shape, and the next run on that key reuses
it without measuring. An explicit precision (`--precision`, the project's config) wins over
everything.

Left out of the candidates: bf16 where the device computes it in software (a 2048^2 bf16 matmul
ran at 0.3 GFLOP/s against 140 in fp32 on an AVX2 EPYC: one timed step would take minutes), and
torch.compile (81 s to compile a 32 px generator's forward and backward on this project's 2-core
EPYC, against a budget of a few seconds for the whole measurement).

`GAN_STUDIO_FAST_PATH=default` turns measuring off: trainers then take their built-in default
(the test suite does this, so runs built directly and through a session compute alike).
`GAN_STUDIO_FAST_PATH=again` measures again and replaces what was remembered: a first measurement
taken while the machine was busy with something else can pick the wrong path.
Importing this module does not import torch.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_NAME = "fast-paths.json"
CACHE_VERSION = 1
# Config fields that change the numbers a step computes but not the work it does: a change of
# learning rate must not cost another measurement.
SPEED_NEUTRAL = frozenset({"lr", "beta1", "beta2", "ema_decay", "preview_count", "precision", "channels_last",
                           "decay_start", "lambda_cycle", "lambda_identity", "flip"})
# A step this slow gets one timed repeat, not two: its timing noise is small next to it, and two
# more steps of each candidate would cost more than the few seconds the measurement may take.
SLOW_STEP_S = 0.25
# Candidates within this factor of the fastest are timed a second time (each keeps its faster time):
# on a shared 2-core VM one step can run 20-30% slow, enough to swap two close paths. On a 2-core
# Zen 4 EPYC the style kind's channels_last steps took 137-183 ms and its plain ones 167-224 ms in
# fresh processes, yet one first measurement had them at 186 against 183 and kept the slower layout
# (train_speed 1.25x that day; 1.82x with channels_last kept).
CLOSE_CALL = 1.2


@dataclass(frozen=True)
class FastPath:
    """How a trainer computes: the precision of its autocast, its memory layout, and whether the
    layers on the smallest maps run as matrix products (train/small_map_conv.py; kinds without
    such layers ignore it)."""

    precision: str = "fp32"  # "fp32" | "bf16" (autocast)
    channels_last: bool = False
    small_maps: bool = False

    @property
    def label(self) -> str:
        parts = [self.precision]
        if self.channels_last:
            parts.append("channels_last")
        if self.small_maps:
            parts.append("small-map matmuls")
        return " + ".join(parts)


@dataclass(frozen=True)
class Choice:
    """The path a trainer uses and how it came to it."""

    path: FastPath
    how: str  # "measured" | "cached" | "yours" (an explicit precision) | "only" (one candidate) | "default"
    step_ms: dict[str, float] = field(default_factory=dict)  # each timed candidate's label -> ms a step

    def describe(self) -> str:
        """One line for the studio's Device row and the command line's start-up line."""
        why = {
            "measured": "measured fastest on this machine",
            "cached": "measured fastest on this machine earlier",
            "yours": "as set for this project",
            "only": "the only path approved for this model",
            "default": "the default for this device",
        }[self.how]
        text = f"{self.path.label} ({why}"
        if self.step_ms:
            mine = self.step_ms.get(self.path.label)
            others = [f"{label} {ms:.0f} ms" for label, ms in sorted(self.step_ms.items(), key=lambda kv: kv[1])
                      if label != self.path.label]
            if mine is not None:
                text += f": {mine:.0f} ms a step"
            if others:
                text += f"; {', '.join(others)}"
        return text + ")"


# ----- which path a trainer being built takes -------------------------------------------------------
_chosen: contextvars.ContextVar[Choice | None] = contextvars.ContextVar("fast_path_choice", default=None)


@contextlib.contextmanager
def building_with(choice: Choice | None) -> Iterator[None]:
    """Trainers built inside this block take `choice` (None: their own default)."""
    token = _chosen.set(choice)
    try:
        yield
    finally:
        _chosen.reset(token)


def current_choice() -> Choice | None:
    """The choice a trainer being built is asked to take, if any (read by TrainerBase)."""
    return _chosen.get()


def default_choice(device, precision: str, channels_last: bool, cpu_channels_last: bool,
                   cpu_bf16: bool, gpu_bf16: bool = True) -> Choice:
    """A trainer's path without a measurement: `studio.engine.device.fast_path`'s rule, with the
    small-map matmuls wherever bf16 runs on a CPU (where they measured faster, on AMX)."""
    from studio.engine.device import fast_path

    chosen_precision, layout = fast_path(device, precision, channels_last, cpu_channels_last=cpu_channels_last,
                                         cpu_bf16=cpu_bf16, gpu_bf16=gpu_bf16)
    path = FastPath(chosen_precision, layout, device.type == "cpu" and chosen_precision == "bf16")
    return Choice(path, "default" if precision == "auto" else "yours")


# ----- the machine and the cache ------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU's marketing name, e.g. 'AMD EPYC' or 'Intel(R) Xeon(R) Platinum 8480+'."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_key(device) -> str:
    """What a measured step time depends on besides the model: the device, its thread count and torch."""
    import torch

    if device.type == "cuda":
        where = f"cuda|{torch.cuda.get_device_name(device)}|CUDA {torch.version.cuda}"
    elif device.type == "cpu":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        where = f"cpu|{cpu_model()}|{cores} cores|{torch.get_num_threads()} threads"
    else:
        where = device.type
    return f"{where}|torch {torch.__version__}"


def shape_key(kind: str, cfg) -> str:
    """The kind and the config fields that change how much a step computes (batch included)."""
    fields = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in SPEED_NEUTRAL}
    return f"{kind}|{json.dumps(fields, sort_keys=True)}"


def cache_file() -> Path:
    """`fast-paths.json` in the root of the user's cache folder: next to the dataset cache's
    `datasets/` folder, or in $GAN_STUDIO_CACHE when that names the cache folder."""
    from studio.engine.data.cache import default_cache_dir

    folder = default_cache_dir()
    return (folder if os.environ.get("GAN_STUDIO_CACHE") else folder.parent) / CACHE_NAME


class ChoiceCache:
    """Measured choices on disk, one JSON file. A damaged or unreadable file counts as empty, and a
    failed write only costs a measurement next time."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else cache_file()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or not isinstance(data.get("choices"),
                                                                                                     dict):
            return {}
        return data["choices"]

    def get(self, key: str) -> tuple[FastPath, dict[str, float]] | None:
        entry = self._read().get(key)
        try:
            path = FastPath(**entry["path"])
            step_ms = {str(k): float(v) for k, v in entry.get("step_ms", {}).items()}
        except (TypeError, KeyError, ValueError, AttributeError):
            return None
        if path.precision not in ("fp32", "bf16"):
            return None
        return path, step_ms

    def put(self, key: str, path: FastPath, step_ms: dict[str, float]) -> None:
        from studio.engine.atomic import write_text_atomic

        choices = self._read()
        choices[key] = {"path": dataclasses.asdict(path), "step_ms": step_ms,
                        "measured": time.strftime("%Y-%m-%d %H:%M:%S")}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path, json.dumps({"version": CACHE_VERSION, "choices": choices}, indent=1))
        except OSError as e:
            log.warning("could not remember the fast path in %s: %s", self.path, e)


# ----- choosing ---------------------------------------------------------------------------------
def runs_well(path: FastPath, device) -> bool:
    """Whether `device` runs `path` in hardware: bf16 only where it is native, the small-map
    matmuls only on a CPU (elsewhere the layers run their usual kernels anyway)."""
    import torch

    from studio.engine.device import cpu_has_native_bf16

    if path.small_maps and device.type != "cpu":
        return False
    if path.precision == "bf16":
        if device.type == "cuda":
            return torch.cuda.is_bf16_supported()
        return device.type == "cpu" and cpu_has_native_bf16()
    return True


def _mode() -> str:
    return os.environ.get("GAN_STUDIO_FAST_PATH", "measure").strip().lower()


def measuring_enabled() -> bool:
    return _mode() != "default"


def choose(kind: str, cfg, device, candidates: Sequence[FastPath], time_step: Callable[[FastPath], float], *,
           cache: ChoiceCache | None = None, may_measure: bool = True) -> Choice | None:
    """The path for training `cfg` of `kind` on `device`; None leaves it to the trainer's default.

    An explicit precision wins as given. Otherwise the candidates the device runs well, of those the
    kind approved: a remembered choice for this machine and shape, else each one's seconds a step
    from `time_step(path)` (those within CLOSE_CALL of the fastest timed twice) and the fastest,
    remembered. A candidate whose timing fails by running out of memory (or fails otherwise) is
    passed over. Without `may_measure` (data-parallel processes, which must all compute alike) or
    with measuring turned off, only a remembered choice is used."""
    if cfg.precision != "auto":
        small = device.type == "cpu" and cfg.precision == "bf16" and any(c.small_maps for c in candidates)
        return Choice(FastPath(cfg.precision, bool(cfg.channels_last), small), "yours")
    usable = [c for c in dict.fromkeys(candidates) if runs_well(c, device)] or [FastPath()]
    if len(usable) == 1:
        return Choice(usable[0], "only")
    cache = cache if cache is not None else ChoiceCache()
    key = f"{machine_key(device)}|{shape_key(kind, cfg)}"
    remembered = cache.get(key) if _mode() != "again" else None
    if remembered is not None and remembered[0] in usable:
        return Choice(remembered[0], "cached", remembered[1])
    if not (may_measure and measuring_enabled()):
        return None
    seconds = _timed(usable, time_step)
    if not seconds:
        return None
    close = [p for p in seconds if seconds[p] <= CLOSE_CALL * min(seconds.values())]
    if len(close) > 1:  # a close call: a second look, so one slow step cannot decide it
        for path, s in _timed(close, time_step).items():
            seconds[path] = min(seconds[path], s)
    best = min(seconds, key=seconds.__getitem__)
    step_ms = {p.label: round(s * 1000, 1) for p, s in seconds.items()}
    cache.put(key, best, step_ms)
    return Choice(best, "measured", step_ms)


def _timed(paths: Sequence[FastPath], time_step: Callable[[FastPath], float]) -> dict[FastPath, float]:
    """Seconds a step of each path; a path whose timing fails is left out (and logged)."""
    seconds: dict[FastPath, float] = {}
    for path in paths:
        try:
            seconds[path] = time_step(path)
        except Exception as e:  # noqa: BLE001 - out of memory, or a kernel this device lacks: not this path
            log.warning("fast path %s passed over: it failed while being timed (%s: %s)", path.label,
                        e.__class__.__name__, e)
    return seconds


def time_steps(trainer, clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds of one training step of `trainer`: a warm-up step (kernel selection, first
    allocations), then the faster of two timed steps, or one when a step is slow."""
    import torch

    def sync():  # GPU kernels run asynchronously: a step's time is known once they are done
        if trainer.device.type == "cuda":
            torch.cuda.synchronize(trainer.device)
        elif trainer.device.type == "mps":
            torch.mps.synchronize()

    trainer.step()
    best = float("inf")
    for _ in range(2):
        sync()
        t0 = clock()
        trainer.step()
        sync()
        best = min(best, clock() - t0)
        if best > SLOW_STEP_S:
            break
    return best


def build_trainer(kind: str, candidates: Sequence[FastPath], cfg, device, make: Callable[[bool], Any], *,
                  may_measure: bool = True, cache: ChoiceCache | None = None):
    """The kind's trainer on the path `choose` picks. `make(probe)` builds it: with probe=True a
    throwaway one over a few of the images (single process), timed once per candidate."""

    def time_path(path: FastPath) -> float:
        with building_with(Choice(path, "measured")):
            probe = make(True)
        try:
            return time_steps(probe)
        finally:
            del probe
            _release_device_memory(device)

    choice = choose(kind, cfg, device, candidates, time_path, cache=cache, may_measure=may_measure)
    with building_with(choice):
        return make(False)


def _release_device_memory(device) -> None:
    import gc

    import torch

    gc.collect()  # the probe's nets and optimizer state, before the next probe or the real trainer
    if device.type == "cuda":
        torch.cuda.empty_cache()


def describe_training(trainer) -> str:
    """The studio's Device row and the command line's first line: the device, then the trainer's
    fast path and why it runs that one."""
    from studio.engine.device import describe_device

    choice = getattr(trainer, "fast", None)  # every TrainerBase has one; a stand-in trainer may not
    text = describe_device(trainer.device)
    return f"{text}, {choice.describe()}" if isinstance(choice, Choice) else text
