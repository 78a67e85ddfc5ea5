"""Memory of the prepared dataset: 10,000 images at 64 px, decoded from files and loaded from the cache.

    python bench/dataset_memory.py [--count 10000] [--size 64] [--source-side 96]

Each measurement runs in a fresh process: the resident set (RSS) after importing everything, then
after `prepare_dataset` (the DCGAN trainer then trains on that same memory on a CPU: checked), and the process's peak (VmHWM). The baseline is the same process before
preparing, so imports, torch and Python do not count; the raw pixels alone are
count x 3 x size x size bytes (122.9 MB for 10,000 at 64 px). Goal: <= 130 MB held.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_MB = 130.0


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0)
    Path("/proc/self/clear_refs").write_text("5")


def measure(folder: str, cache: str, size: int) -> dict:
    """Runs in the child process."""
    import torch  # noqa: F401  (imported before the baseline, like in the studio)

    from studio.engine.data import DataConfig, prepare_dataset
    from studio.engine.dcgan_trainer import DCGANConfig, DCGANTrainer

    base = _status_mb("VmRSS")
    _reset_peak()
    ds = prepare_dataset(folder, DataConfig(size=size), cache_dir=Path(cache))
    held = _status_mb("VmRSS") - base
    peak = _status_mb("VmHWM") - base
    trainer = DCGANTrainer(DCGANConfig(size=size, batch=64), ds.images)
    same = trainer.images.data_ptr() == ds.images.data_ptr()  # no second copy for training
    return {"images": len(ds.images), "pixels_mb": ds.images.numel() / 2**20, "held_mb": held, "peak_mb": peak,
            "trainer_shares": same}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--source-side", type=int, default=96, help="side of the generated source PNGs")
    ap.add_argument("--child", nargs=3, metavar=("FOLDER", "CACHE", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], args.child[1], int(args.child[2]))))
        return 0

    from studio.engine.procedural import discs, write_folder

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_folder(discs(args.count, args.source_side, seed=0), Path(tmp) / "images")
        cache = Path(tmp) / "cache"
        print(f"{args.count:,} procedural {args.source_side} px PNGs -> {args.size} px RGB; MB = 2^20 bytes")
        worst = 0.0
        for label in ("decoded from the files (cold cache)", "loaded from the dataset cache"):
            out = subprocess.run([sys.executable, __file__, "--child", str(folder), str(cache), str(args.size)],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            worst = max(worst, r["held_mb"] if r["trainer_shares"] else 2 * r["held_mb"])
            print(f"{label:38s} {r['images']:,} images, pixels {r['pixels_mb']:6.1f} MB: held {r['held_mb']:6.1f} MB,"
                  f" peak while preparing {r['peak_mb']:6.1f} MB; the trainer trains on the same memory:"
                  f" {r['trainer_shares']}")
        print(f"largest held: {worst:.1f} MB -> goal <= {GOAL_MB:.0f} MB {'met' if worst <= GOAL_MB else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
