"""Train the small style-based model the style-mixing test reads (tests/engine/test_style_space.py).

    .venv/bin/python scripts/make_style_faces.py                      # train (~1-3 h on one busy CPU core) and write
    .venv/bin/python scripts/make_style_faces.py --from-project DIR   # only write, from a project trained already

Training goes through the project's own pipeline (`create_session` + `TrainingSession.run`, what
`gan-studio train stylegan` runs): the style-based kind's defaults (small preset) at 32 px, batch
16, on 3,000 procedural faces (`gan-studio demo-data faces DIR --count 3000 --size 32 --seed 0`).
Too long for a test fixture on a 2-core machine, so the test reads the result from
tests/engine/data/: the EMA generator's tensors in fp16 (half the bytes; the test's measures do not
notice) and the model config. Rerun it when the style-based networks change: the test skips with
that advice when the cached weights no longer draw faces.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from studio.engine.config import RunSettings  # noqa: E402
from studio.engine.data.dataset import DataConfig  # noqa: E402
from studio.engine.data.demo_sets import write_faces  # noqa: E402
from studio.engine.models.sessions import create_session  # noqa: E402
from studio.engine.project.checkpoints import list_checkpoints, load_checkpoint  # noqa: E402

OUT = ROOT / "tests" / "engine" / "data"
NAME = "style_faces_32"
FACES = dict(count=3000, size=32, seed=0)
RUN = RunSettings(steps=5000, sample_every=250, checkpoint_every=500, log_every=50, metric_every=1000,
                  keep_checkpoints=2, seed=1, device="cpu")
MODEL = {"batch": 16}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def train(work: Path, steps: int) -> Path:
    data = work / "faces"
    write_faces(data, **FACES)
    project = work / "proj"
    session = create_session(project, "stylegan", {"data": str(data)}, DataConfig(size=FACES["size"]),
                             dataclasses.replace(RUN, steps=steps), dict(MODEL))
    t0 = time.perf_counter()
    for ev in session.run():
        if ev.stopped:
            raise SystemExit(f"training stopped ({ev.stopped}): {' '.join(ev.messages)}")
        if ev.step % 250 == 0:
            log(f"step {ev.step}/{ev.target_steps}, {(time.perf_counter() - t0) / max(ev.step, 1):.2f} s/step")
    return project


def write(project: Path, out: Path) -> None:
    step, path = list_checkpoints(project / "checkpoints")[-1]
    tensors, meta = load_checkpoint(path)
    g = {k[len("G_ema."):]: v.to(torch.float16).contiguous() for k, v in tensors.items() if k.startswith("G_ema.")}
    out.mkdir(parents=True, exist_ok=True)
    save_file(g, str(out / f"{NAME}.safetensors"))
    info = {"config": meta["config"], "step": step, "data": "gan-studio demo-data faces DIR --count 3000 --size 32 "
            "--seed 0", "made_by": "scripts/make_style_faces.py"}
    (out / f"{NAME}.json").write_text(json.dumps(info, indent=1) + "\n")
    log(f"wrote {out / NAME}.safetensors (step {step}, {sum(v.numel() for v in g.values()):,} values in fp16)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=RUN.steps)
    ap.add_argument("--from-project", type=Path, help="a trained style-based project: write its newest EMA generator")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.from_project:
        write(args.from_project, args.out)
        return 0
    with tempfile.TemporaryDirectory(prefix="style-faces-") as tmp:
        write(train(Path(tmp), args.steps), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
