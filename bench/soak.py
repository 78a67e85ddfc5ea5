"""Soak test (not run in CI): train for a set time and check that memory stays flat after warm-up.

    python bench/soak.py [--minutes 30] [--count 10000] [--size 64] [--threads N] [--out DIR]

Generates `count` procedural disc images (studio.engine.data.procedural), trains a DCGAN on them through the
same TrainingSession the studio and CLI use (samples, history, quality metric and checkpoints on their
schedules), and samples the process's resident memory (RSS) along the way. Warm-up ends once every
periodic task (sample grid, quality metric, checkpoint + prune) has run at least twice and at least 20% of
the time has passed. The verdict compares the median RSS of the first and the last fifth of the samples
after warm-up (goal: < 5% growth); the least-squares trend of RSS is printed too. Exit code 1 when the
goal is missed.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GOAL = 0.05  # allowed RSS growth after warm-up


def rss_bytes() -> int:
    """Resident set size of this process (psutil when installed, else /proc/self/statm)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # progress shows up in logs as it happens
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0, help="training time (default 30)")
    ap.add_argument("--count", type=int, default=10_000, help="generated training images (default 10,000)")
    ap.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--width", type=int, default=32, help="ngf = ndf (default 32)")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--sample-every", type=int, default=50)
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--metric-every", type=int, default=100)
    ap.add_argument("--every-s", type=float, default=5.0, help="seconds between RSS samples")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None, help="working folder (default: a temporary one, removed)")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import DataConfig
    from studio.engine.data.procedural import discs, write_folder
    from studio.engine.models.sessions import create_session

    tmp = None
    if args.out:
        work = Path(args.out)
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="gan-soak-")
        work = Path(tmp.name)
    t0 = time.perf_counter()
    data = write_folder(discs(args.count, args.size, seed=0), work / "data")
    print(f"wrote {args.count} images of {args.size} px in {time.perf_counter() - t0:.0f} s")
    settings = RunSettings(steps=10**9, sample_every=args.sample_every, checkpoint_every=args.checkpoint_every,
                           log_every=10, metric_every=args.metric_every, keep_checkpoints=3, device=args.device)
    overrides = {"batch": args.batch, "ngf": args.width, "ndf": args.width}
    session = create_session(work / "project", "dcgan", {"data": str(data)}, DataConfig(size=args.size), settings,
                             overrides)
    print(f"prepared {len(session.trainer.images)} images; RSS {rss_bytes() / 2**20:.0f} MB; training "
          f"{args.minutes:g} min on {session.trainer.device} with {torch.get_num_threads()} thread(s)")

    done = {"sample": 0, "metric": 0, "checkpoint": 0}
    samples: list[tuple[float, int, int]] = []  # (seconds, step, rss)
    warm: tuple[float, int, int] | None = None
    start = time.perf_counter()
    next_sample = 0.0
    for ev in session.run(minutes=args.minutes):
        done["sample"] += ev.samples is not None
        done["metric"] += ev.quality is not None
        done["checkpoint"] += ev.checkpoint_path is not None
        for m in ev.messages:
            print(f"  [{ev.step}] {m}")
        if ev.stopped:
            print(f"stopped: {ev.stopped}")
            break
        now = time.perf_counter() - start
        if now >= next_sample:
            rss = rss_bytes()
            samples.append((now, ev.step, rss))
            next_sample = now + args.every_s
            if warm is None and min(done.values()) >= 2 and now >= 0.2 * args.minutes * 60:
                warm = samples[-1]
                print(f"warm-up over at {now:.0f} s, step {ev.step}: RSS {rss / 2**20:.1f} MB")
    gc.collect()
    end = (time.perf_counter() - start, session.trainer.global_step, rss_bytes())
    samples.append(end)
    if tmp is not None:
        tmp.cleanup()

    print("\n  time s    step    RSS MB")
    stride = max(1, len(samples) // 20)
    for t, step, rss in samples[::stride] + ([samples[-1]] if (len(samples) - 1) % stride else []):
        print(f"  {t:6.0f}  {step:6d}  {rss / 2**20:8.1f}")
    print(f"tasks run: {done['sample']} sample grids, {done['metric']} quality measurements, "
          f"{done['checkpoint']} checkpoints; {end[1]} steps in {end[0]:.0f} s")
    if warm is None:
        print("warm-up never ended (run longer, or lower --sample/--metric/--checkpoint-every): no verdict")
        return 1
    after = [(t, rss) for t, _, rss in samples if t >= warm[0]]
    n = len(after)
    mean_t = sum(t for t, _ in after) / n
    mean_r = sum(r for _, r in after) / n
    var = sum((t - mean_t) ** 2 for t, _ in after)
    slope = sum((t - mean_t) * (r - mean_r) for t, r in after) / var if var > 0 else 0.0
    # Medians of the first and last fifth after warm-up: one sample taken during a checkpoint or a metric
    # (short-lived buffers) must not decide the verdict either way.
    fifth = max(1, n // 5)
    first = float(np.median([r for _, r in after[:fifth]]))
    last = float(np.median([r for _, r in after[-fifth:]]))
    growth = last / first - 1
    peak = max(r for _, r in after)
    mb = 2**20
    print(f"RSS at the end of warm-up {warm[2] / mb:.1f} MB, at the end {end[2] / mb:.1f} MB, peak {peak / mb:.1f} MB")
    print(f"median RSS, first fifth after warm-up {first / mb:.1f} MB, last fifth {last / mb:.1f} MB: "
          f"growth {growth * 100:+.2f}% (goal < {GOAL * 100:.0f}%)")
    if after[-1][0] - after[0][0] >= 600:  # over a few minutes one step of the allocator dominates a slope
        print(f"least-squares trend after warm-up: {slope * 3600 / mb:+.1f} MB/hour")
    return 0 if growth < GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
