"""Which kind gives the better picture for the same wall time: the style-based kind against the DCGAN.

    python bench/equal_time.py [--minutes 8] [--size 64] [--count 1000] [--seeds 0 1 2] [--sets faces scenes]
                               [--scenes-seeds 0] [--out DIR] [--style JSON] [--dcgan JSON] [--device cpu|cuda]
                               [--paths measured|rule] [--quick]

Each pair (one collection, one seed) trains both kinds AT THE SAME TIME, each in its own process with
one torch thread, so a busy neighbour on a shared machine slows both alike; each trains for the same
wall time (set-up and measuring not counted). Both use their defaults for the collection on the
device, as the studio's wizard and `gan-studio train` suggest them (`ModelKind.suggest` for the device
kind, then the size asked for), on the fast path a user's session takes: measured for each kind on
this machine (train/fast_path.py), one kind at a time before the pair starts so the two runs do not
skew each other's timing, then read back from the cache by both runs. `--paths rule` takes the
trainers' built-in rule for the device instead (no measuring; e.g. fp32 for the style kind on a CPU).
With `--device cuda` the two runs of a pair take turns on the GPU (one process at a time, all CPU
threads): sharing one GPU would make each run's speed depend on the other's kernels.

Collections are procedural (studio/engine/data/demo_sets.py), drawn in each process from the seed:
  faces   labelled portraits (hair, glasses, smile, skin, background)
  scenes  day-time landscapes (sky, sun, clouds, hills, trees): different content, the same size
Quality of the EMA generator, at a few points of the run and at the end:
  SWD        sliced Wasserstein distance (x1e3, lower is better) between 512 samples and 512 held-out
             images of the same collection (drawn from another seed: never trained on)
  diversity  the samples' per-pixel spread over the held-out images' (1 = as varied as the data;
             near 0 = collapse), the measure the studio's quality panel shows
The last sample grid of each run is saved as DIR/<set>-s<seed>-<kind>.png; results go to
DIR/results.json and a table is printed (the median over seeds per collection).

`--style` / `--dcgan` take JSON config overrides for experiments (e.g. '{"batch": 32}'), `--quick`
checks the script end to end in well under a minute (its figures mean nothing).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KINDS_COMPARED = ("stylegan", "dcgan")
HELD_OUT_SEED = 1000  # held-out images are drawn from seed + this: never in the training set
EVAL_COUNT = 512


def write_collection(name: str, folder: Path, count: int, size: int, seed: int) -> Path:
    """The procedural collection `name` as PNG files (what `gan-studio demo-data` writes), decoded
    once here so both runs of a pair load it from the dataset cache; returns the image folder."""
    from studio.engine.data import demo_sets
    from studio.engine.data.dataset import DataConfig, prepare_dataset

    if not folder.exists():
        if name == "faces":
            demo_sets.write_faces(folder, count, size, seed)
        elif name == "scenes":
            demo_sets.write_scenes(folder, count, size, seed)
        else:
            raise SystemExit(f"Unknown collection '{name}' (faces or scenes).")
    images = folder / "A" if name == "scenes" else folder  # the scenes' day-time domain
    prepare_dataset(images, DataConfig(size=size))
    return images


def held_out_pictures(name: str, size: int, seed: int):
    """uint8 (EVAL_COUNT, size, size, 3) pictures of the collection never trained on."""
    from studio.engine.data import demo_sets

    if name == "faces":
        return demo_sets.faces(EVAL_COUNT, size, seed=seed + HELD_OUT_SEED)[0]
    return demo_sets.scenes(EVAL_COUNT, size, seed=seed + HELD_OUT_SEED)[0]


def make_trainer(kind_name: str, folder: Path, size: int, seed: int, overrides: dict, device: str = "cpu"):
    """The kind's trainer for `folder` on `device`, configured as `gan-studio train` configures it (the
    kind's suggestion for the folder and device kind, then the size asked for), `overrides` on top."""
    import torch

    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import DataConfig, prepare_dataset, scan_folder
    from studio.engine.models import get_kind
    from studio.engine.models.sessions import make_trainer as make_session_trainer
    from studio.engine.models.suggest import suggest_for_files
    from studio.engine.train.distributed import SINGLE

    kind = get_kind(kind_name)
    dev = torch.device(device)
    suggestion, _ = suggest_for_files(kind, {"data": scan_folder(folder)}, dev.type)
    data_cfg, run, model = suggestion.chosen(size=size).project_settings(DataConfig(),
                                                                         RunSettings(seed=seed, device=device))
    datasets = {"data": prepare_dataset(folder, data_cfg)}
    cfg = kind.default_config(data_cfg, datasets, {**model, **overrides})
    return make_session_trainer(kind, cfg, run, datasets, dev, SINGLE), cfg


def child(args: argparse.Namespace) -> int:
    """Train one kind on one collection for the wall time, measuring as it goes; print JSON."""
    import numpy as np
    import torch

    if args.device == "cpu":
        torch.set_num_threads(1)
    from studio.engine.images import save_png
    from studio.engine.train.metrics import swd

    trainer, cfg = make_trainer(args.child, Path(args.folder), args.size, args.seed, json.loads(args.overrides),
                                args.device)
    if args.measure_only:  # the fast path is measured and remembered; the pair's run reads it back
        print(json.dumps({"kind": args.child, "path": trainer.fast.path.label, "how": trainer.fast.how}), flush=True)
        return 0
    held_out = held_out_pictures(args.set, args.size, args.seed)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    eval_z = torch.randn(EVAL_COUNT, trainer.cfg.z_dim, generator=torch.Generator().manual_seed(777))
    spread = float(held_out.astype(np.float32).std(axis=0).mean())

    def measure() -> dict:
        fake = trainer.generate(eval_z)
        return {"swd": swd(fake, held_out), "diversity": float(fake.astype(np.float32).std(axis=0).mean() / spread)}

    budget = args.minutes * 60
    marks = [budget * f for f in (0.25, 0.5, 0.75)]
    curve, trained, steps = [], 0.0, 0
    while trained < budget:
        t0 = time.perf_counter()
        trainer.step()
        sync()  # a GPU step is queued, not done, when step() returns
        trained += time.perf_counter() - t0
        steps += 1
        if marks and trained >= marks[0]:
            marks.pop(0)
            curve.append({"minutes": round(trained / 60, 2), "steps": steps, **measure()})
    final = measure()
    save_png(Path(args.out) / f"{args.set}-s{args.seed}-{args.child}.png", trainer.samples())
    print(json.dumps({
        "kind": args.child, "set": args.set, "seed": args.seed, "minutes": round(trained / 60, 2), "steps": steps,
        "images": steps * trainer.batch, "images_per_s": steps * trainer.batch / trained,
        "path": trainer.fast.path.label, "config": dataclasses.asdict(cfg), "curve": curve, **final,
    }), flush=True)
    return 0


def run_pair(args: argparse.Namespace, name: str, seed: int, out: Path) -> list[dict]:
    """Both kinds on one collection and seed, started together."""
    folder = write_collection(name, out / "data" / f"{name}-s{seed}", args.count, args.size, seed)
    env = dict(os.environ)
    if args.device == "cpu":
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

    def command(kind: str) -> list[str]:
        overrides = args.style if kind == "stylegan" else args.dcgan
        return [sys.executable, __file__, "--child", kind, "--set", name, "--seed", str(seed),
                "--minutes", str(args.minutes), "--size", str(args.size), "--count", str(args.count),
                "--out", str(out), "--folder", str(folder), "--overrides", overrides, "--device", args.device]

    if args.paths == "rule":
        env["GAN_STUDIO_FAST_PATH"] = "default"  # the trainers' built-in path for the device, nothing timed
    else:
        # Each kind's path measured afresh, one kind at a time (two measurements side by side would
        # time each other's load), then both runs read it back from the cache.
        for kind in KINDS_COMPARED:
            done = subprocess.run([*command(kind), "--measure-only"], stdout=subprocess.PIPE, text=True, check=True,
                                  env={**env, "GAN_STUDIO_FAST_PATH": "again"})
            print(f"  {kind}: {json.loads(done.stdout.strip().splitlines()[-1])['path']} (measured on this machine)",
                  flush=True)
    procs = []
    for kind in KINDS_COMPARED:
        procs.append(subprocess.Popen(command(kind), stdout=subprocess.PIPE, text=True, env=env))
        if args.device != "cpu":
            procs[-1].wait()  # one GPU: the runs take turns
    results = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode:
            raise SystemExit(f"a run failed (exit {p.returncode})")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return results


def load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=8.0)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--count", type=int, default=1000, help="training pictures per collection")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds on the faces")
    ap.add_argument("--scenes-seeds", type=int, nargs="+", default=[0], help="seeds on the scenes")
    ap.add_argument("--sets", nargs="+", default=["faces", "scenes"])
    ap.add_argument("--out", default="bench-equal-time")
    ap.add_argument("--style", default="{}", help="JSON overrides of the style-based kind's config")
    ap.add_argument("--dcgan", default="{}", help="JSON overrides of the DCGAN's config")
    ap.add_argument("--device", default="cpu", help="cpu (both runs at once, one thread each) or cuda (in turn)")
    ap.add_argument("--paths", choices=("measured", "rule"), default="measured",
                    help="each kind's fast path: measured on this machine as a session does (default), or the "
                         "trainers' built-in rule for the device")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child", choices=KINDS_COMPARED, help=argparse.SUPPRESS)
    ap.add_argument("--set", help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    if args.quick:
        args.minutes, args.size, args.count, args.seeds, args.scenes_seeds = 0.05, 32, 64, [0], [0]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pairs = [(name, seed) for name in args.sets for seed in (args.seeds if name == "faces" else args.scenes_seeds)]
    print(f"{len(pairs)} pairs of {args.minutes:g} minutes at {args.size} px, {args.count} pictures each; "
          f"load average {load_average()}", flush=True)
    results = []
    for name, seed in pairs:
        started = load_average()
        pair = run_pair(args, name, seed, out)
        for r in pair:
            r["load"] = f"{started} -> {load_average()}"
            curve = "  ".join(f"{c['minutes']:.1f} min {c['swd']:.0f}" for c in r["curve"])
            print(f"{name:7s} seed {seed}  {r['kind']:9s} SWD {r['swd']:6.1f}  diversity {r['diversity']:.2f}  "
                  f"{r['steps']:5d} steps  {r['images_per_s']:5.1f} img/s  (SWD on the way: {curve}; "
                  f"load {r['load']})", flush=True)
        results += pair
        (out / "results.json").write_text(json.dumps(results, indent=1))
    print("\nmedian over seeds      SWD (lower is better)    diversity")
    for name in args.sets:
        row = {k: [r for r in results if r["set"] == name and r["kind"] == k] for k in KINDS_COMPARED}
        cells = "  ".join(f"{k} {statistics.median(r['swd'] for r in rs):6.1f}" for k, rs in row.items())
        div = "  ".join(f"{k} {statistics.median(r['diversity'] for r in rs):.2f}" for k, rs in row.items())
        print(f"{name:7s} ({len(row['dcgan'])} seeds)  {cells}   {div}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
