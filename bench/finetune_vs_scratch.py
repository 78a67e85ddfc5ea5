"""Does starting from a trained model beat training from noise on a small second set, at equal time?

    python bench/finetune_vs_scratch.py [--set closeup|recolour] [--minutes 5] [--seeds 0 1] [--count 100]
                                        [--parent models/demo-faces] [--freeze-d N] [--lr LR] [--out DIR]

Pretrained model (its budget is separate and said): by default the bundled faces DCGAN
(models/demo-faces: 32 px, width 32, trained on 3,000 procedural faces). Second set: `--count`
procedural portraits from other seeds, either
- closeup: framed 1.25x closer (drawn at 40 px, the middle 32 px kept): the same kind of pictures
  with their structure at another scale, as a designer's own portraits would differ from the
  parent's; or
- recolour: colours rotated (r, g, b) -> (g, b, r) and darkened: the same structure in colours the
  parent never made.
Each seed
trains a pair at once, one process each with one thread, so both see the same machine load:
- scratch: a new project with the settings the studio suggests for the folder on a CPU;
- fine-tune: a new project from the parent (`create_session(parent=...)`) with the kind's fine-tuning
  suggestion (`ModelKind.fine_tune_suggestion`), optionally with --freeze-d / --lr.
Both train for `--minutes` of wall time; then the EMA generator's SWD (x1e3, lower is better) on 1,000
samples against 1,000 held-out pictures of the second set is printed per seed, with the steps each
reached and the fine-tune's SWD before its first step (the parent as it was).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def second_set(count: int, seed: int, which: str = "closeup", size: int = 32) -> np.ndarray:
    """Procedural faces framed closer, or with their colours rotated and darkened: uint8 (N, size, size, 3)."""
    from studio.engine.data.demo_sets import faces

    if which == "closeup":
        big = size * 5 // 4
        pics, _ = faces(count, big, seed=seed)
        m = (big - size) // 2
        return np.ascontiguousarray(pics[:, m : m + size, m : m + size])
    pics, _ = faces(count, size, seed=seed)
    return (pics[..., [1, 2, 0]].astype(np.float32) * 0.8).astype(np.uint8)


def score(trainer, held_out: np.ndarray) -> float:
    import torch

    from studio.engine.train.metrics import swd

    z = torch.randn(len(held_out), trainer.cfg.z_dim, generator=torch.Generator().manual_seed(777))
    return swd(trainer.generate(z), held_out)


def run_one(job: dict) -> dict:
    """One training run in its own process with one thread; returns its figures."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ.setdefault("GAN_STUDIO_FAST_PATH", "default")  # no timing probes: both runs compute alike
    import torch

    torch.set_num_threads(1)
    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import DataConfig
    from studio.engine.models import get_kind
    from studio.engine.models.finetune import read_parent
    from studio.engine.models.sessions import create_session
    from studio.engine.models.suggest import DeviceInfo

    kind = get_kind(job["kind"])
    held_out = np.load(job["held_out"])
    s = kind.suggest([job["count"]], [(32, 32)] * 10, DeviceInfo("cpu", "CPU", 8 << 30))
    parent = read_parent(job["parent"]) if job["fine_tune"] else None
    if parent is not None:
        s = kind.fine_tune_suggestion(s, parent.model_config(kind))
    given = {k: v for k, v in (("freeze_d", job.get("freeze_d")), ("lr", job.get("lr"))) if v is not None}
    s = s.chosen(**given) if job["fine_tune"] else s
    data_cfg, settings, overrides = s.project_settings(
        DataConfig(), RunSettings(seed=job["seed"], device="cpu", metric_every=0, log_every=50))
    settings = dataclasses.replace(settings, steps=10**9, sample_every=10**9, checkpoint_every=10**9)
    session = create_session(job["out"], job["kind"], {"data": job["data"]}, data_cfg, settings, overrides,
                             parent=parent)
    before = score(session.trainer, held_out) if parent is not None else None
    t0 = time.perf_counter()
    for _ in session.run(minutes=job["minutes"]):
        pass
    took = time.perf_counter() - t0
    after = score(session.trainer, held_out)
    session.close()
    return {"name": job["name"], "seed": job["seed"], "steps": session.trainer.global_step, "seconds": took,
            "swd": after, "swd_start": before, "overrides": {k: v for k, v in overrides.items()}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", dest="which", choices=("closeup", "recolour"), default="closeup")
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--kind", default="dcgan")
    ap.add_argument("--parent", default=str(ROOT / "models" / "demo-faces"))
    ap.add_argument("--freeze-d", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--out", default=None, help="keep the projects here (default: a temporary folder)")
    args = ap.parse_args()

    from studio.engine.data.procedural import write_folder
    from studio.engine.project.folder import Project

    parent = Project.open(args.parent, clean=False)
    hist = parent.read_history()
    span = (hist[-1]["time"] - hist[0]["time"]) / 60 if len(hist) > 1 and "time" in hist[0] else float("nan")
    print(f"parent: {args.parent} ({parent.kind}, step {parent.step:,}, {parent.meta['data']['counts']} images; "
          f"its training took about {span:.0f} minutes by its history; not counted below)")
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="finetune-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = write_folder(second_set(args.count, 101, args.which), work / "second-set")
    held = work / "held-out.npy"
    np.save(held, second_set(1000, 202, args.which))
    print(f"second set: {args.count} {args.which} faces in {data}; held-out: 1,000 more")
    rows = []
    ctx = mp.get_context("spawn")
    for seed in args.seeds:
        jobs = [{"name": name, "fine_tune": name == "fine-tune", "seed": seed, "kind": args.kind,
                 "parent": args.parent, "data": str(data), "held_out": str(held), "count": args.count,
                 "minutes": args.minutes, "out": str(work / f"{name}-{seed}"), "freeze_d": args.freeze_d,
                 "lr": args.lr} for name in ("scratch", "fine-tune")]
        load = os.getloadavg()[0]
        with ctx.Pool(2) as pool:  # the pair at once: both see the same machine load
            got = pool.map(run_one, jobs)
        for r in got:
            r["load"] = load
            rows.append(r)
            print(json.dumps(r), flush=True)
    print(f"\n{'run':<10} {'seed':>4} {'steps':>6} {'minutes':>7} {'SWD start':>9} {'SWD end':>8} {'load':>5}")
    for r in rows:
        start = f"{r['swd_start']:.1f}" if r["swd_start"] is not None else "-"
        print(f"{r['name']:<10} {r['seed']:>4} {r['steps']:>6} {r['seconds'] / 60:>7.1f} {start:>9} "
              f"{r['swd']:>8.1f} {r['load']:>5.1f}")
    for name in ("scratch", "fine-tune"):
        vals = [r["swd"] for r in rows if r["name"] == name]
        print(f"{name}: mean SWD {statistics.mean(vals):.1f} over {len(vals)} seed(s)")
    wins = sum(f["swd"] < s["swd"] for s, f in zip(rows[0::2], rows[1::2]))
    print(f"fine-tune better on {wins} of {len(args.seeds)} seeds (lower SWD on the held-out second set)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
