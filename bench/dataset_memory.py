"""Memory of the prepared dataset: 10,000 images at 64 px, decoded from files and loaded from the cache.

    python bench/dataset_memory.py [--count 10000] [--size 64] [--source-side 96]

Each measurement runs in a fresh process: the resident set (RSS) before and after `prepare_dataset`
(the DCGAN trainer then trains on that same memory on a CPU: checked), and the process's peak
(VmHWM). The baseline is the same process after preparing a folder of a few images first, so
what any decode costs once whatever the collection's size (torch, Pillow's format plugins
loaded on first use, the decode threads and their allocator arenas) does not count as the
dataset's; that one-time cost is printed apart. The raw pixels alone are count x 3 x size x size
bytes (117.2 MiB = 122.9 MB for 10,000 at 64 px). Goal: <= 130 MB held, in decimal megabytes
(the stricter reading; MiB are printed too).
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

GOAL_MB = 130.0  # decimal megabytes
MB, MIB = 1e6, 2**20


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0)
    Path("/proc/self/clear_refs").write_text("5")


def measure(folder: str, warm_up_folder: str, cache: str, size: int) -> dict:
    """Runs in the child process; sizes in bytes."""
    import torch  # noqa: F401  (imported before the baseline, like in the studio)

    from studio.engine.data.dataset import DataConfig, prepare_dataset
    from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer

    start = _status_bytes("VmRSS")
    warm = prepare_dataset(warm_up_folder, DataConfig(size=size), cache_dir=Path(cache))
    base = _status_bytes("VmRSS")
    _reset_peak()
    ds = prepare_dataset(folder, DataConfig(size=size), cache_dir=Path(cache))
    held = _status_bytes("VmRSS") - base
    peak = _status_bytes("VmHWM") - base
    trainer = DCGANTrainer(DCGANConfig(size=size, batch=64), ds.images)
    same = trainer.images.data_ptr() == ds.images.data_ptr()  # no second copy for training
    return {"images": len(ds.images), "pixels": ds.images.numel(), "held": held, "peak": peak,
            "trainer_shares": same, "once": base - start - warm.images.numel()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--source-side", type=int, default=96, help="side of the generated source PNGs")
    ap.add_argument("--child", nargs=4, metavar=("FOLDER", "WARM_UP", "CACHE", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child[:3], int(args.child[3]))))
        return 0

    from studio.engine.data.procedural import discs, write_folder

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_folder(discs(args.count, args.source_side, seed=0), Path(tmp) / "images")
        warm_up = write_folder(discs(8, args.source_side, seed=1), Path(tmp) / "warm-up")
        cache = Path(tmp) / "cache"
        print(f"{args.count:,} procedural {args.source_side} px PNGs -> {args.size} px RGB; MB = 10^6 bytes, "
              "MiB = 2^20")
        worst = 0.0
        for label in ("decoded from the files (cold cache)", "loaded from the dataset cache"):
            cmd = [sys.executable, __file__, "--child", str(folder), str(warm_up), str(cache), str(args.size)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            held = r["held"] if r["trainer_shares"] else 2 * r["held"]
            worst = max(worst, held)
            print(f"{label:36s} {r['images']:,} images, pixels {r['pixels'] / MB:5.1f} MB: held {held / MB:5.1f} MB"
                  f" ({held / MIB:5.1f} MiB), peak while preparing {r['peak'] / MB:5.1f} MB; the trainer trains on"
                  f" the same memory: {r['trainer_shares']}; decoding's one-time cost {r['once'] / MB:.1f} MB")
        verdict = "met" if worst / MB <= GOAL_MB else "NOT met"
        print(f"largest held: {worst / MB:.1f} MB ({worst / MIB:.1f} MiB) -> goal <= {GOAL_MB:.0f} MB {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
