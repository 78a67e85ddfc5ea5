"""What previews, metrics, history and checkpoints cost a training run, as a share of step time.

    python bench/session_overhead.py [--size 64] [--steps 12] [--images 1000]

A DCGAN project is created the way the CLI and the studio create one (procedural 1,000 images,
64 px, batch 64, default settings), then, in the same process, each piece of the session's
scheduled work is timed with the session's own methods: a training step, a sample grid written
(`save_samples`), the quality metric (`quality`: SWD + diversity on 256 samples), a checkpoint
(`save_checkpoint`: safetensors + commit marker, fsync'd) and a history line. The overhead per
step is each cost divided by its interval in the default RunSettings (samples every 100 steps,
metric every 250, checkpoint every 500, history every 10), over the median step time.
Goal: <= 5% of step time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import timed  # noqa: E402


def median_time(fn, repeats: int) -> float:
    """Median seconds of `repeats` calls (after one untimed call)."""
    return statistics.median(timed(fn, repeats, warmup=1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=12, help="training steps timed")
    ap.add_argument("--images", type=int, default=1000)
    args = ap.parse_args()

    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import DataConfig
    from studio.engine.data.procedural import discs, write_folder
    from studio.engine.device import describe_device
    from studio.engine.models.sessions import create_session

    s = RunSettings()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_folder(discs(args.images, args.size, seed=0), Path(tmp) / "images")
        session = create_session(Path(tmp) / "project", "dcgan", {"data": str(data)}, DataConfig(size=args.size), s,
                                 overrides={"batch": 64})
        t = session.trainer
        print(f"device: {describe_device(t.device)}; DCGAN {args.size} px, batch {t.batch}, {args.images} images")
        step = median_time(t.step, args.steps)
        record = {"step": 1, "loss_D": 1.0, "loss_G": 1.0, "images_per_s": 1.0, "time": time.time()}
        costs = {
            "sample grid": (median_time(session.save_samples, 3), s.sample_every),
            "quality metric": (median_time(t.quality, 2), s.metric_every),
            "checkpoint": (median_time(session.save_checkpoint, 2), s.checkpoint_every),
            "history line": (median_time(lambda: session.project.append_history(record), 20), s.log_every),
        }
        print(f"training step: {step * 1000:8.1f} ms (median of {args.steps})")
        total = 0.0
        for name, (secs, every) in costs.items():
            share = secs / every / step
            total += share
            print(f"{name:15s} {secs * 1000:8.1f} ms every {every:4d} steps -> {share:6.2%} of step time")
        print(f"scheduled work in all: {total:.2%} of step time -> goal <= 5% {'met' if total <= 0.05 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
