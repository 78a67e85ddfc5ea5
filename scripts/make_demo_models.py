"""Rebuild the bundled demo models in models/: a DCGAN on procedural faces, a CycleGAN on day/night scenes,
a pix2pix turning sketches of faces into faces, a style-based generator of faces.

    .venv/bin/python scripts/make_demo_models.py                 # all four: ~2.5 h on one CPU core
    .venv/bin/python scripts/make_demo_models.py --only scenes   # just the CycleGAN
    .venv/bin/python scripts/make_demo_models.py --only sketch   # just the pix2pix
    .venv/bin/python scripts/make_demo_models.py --only style    # just the style-based model (~80 min)
    .venv/bin/python scripts/make_demo_models.py --out /tmp/m    # somewhere else

Everything goes through the project's own pipeline, the code `gan-studio train` runs:
procedural datasets (`studio.engine.data.demo_sets`, the code of `gan-studio demo-data`) are written to a
temporary folder, trained with `studio.engine.models.sessions.create_session` + `TrainingSession.run`, and the
finished project folders are trimmed for bundling:

    models/demo-faces/    DCGAN, 32 px, trained on 3,000 labelled portraits (+ explore.json)
    models/demo-scenes/   CycleGAN, 64 px, day (A) <-> night (B) landscapes
    models/demo-sketch/   pix2pix, 64 px, edge sketches (made by --make-pairs edges) -> procedural faces
    models/demo-style/    style-based (StyleGAN2-class), 64 px, the same kind of portraits (+ explore.json in W)

Each keeps project.json (its data folders replaced by the `gan-studio demo-data` command that
regenerates them: the data is procedural, so it is not bundled), the final checkpoint only, a
thinned set of sample grids for the time-lapse, and history.jsonl. demo-faces also gets
explore.json: bookmarks and "glasses", "long hair" and "smile" directions chosen with the small
attribute classifier of the tests (tests/engine/attribute_classifier.py), so the arithmetic panel
and the pad are meaningful on first use; demo-style gets the same, chosen in W.

demo-style is bundled for exploring only: its checkpoint holds the averaged generator (G_ema), not
the critic, the training generator or their optimizer moments (a full checkpoint is 9.2 MB and
models/ must stay under 30 MB). It opens in the explorer like any project, a new project can
fine-tune from it (the generator carries over, the critic starts fresh), and continuing its own
training is refused with a sentence saying why.

Deterministic by seed: the same seeds and thread count on the same machine give the same files
(CPU kernels may round differently across machines or thread counts). Prints its progress.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from studio.engine.config import RunSettings  # noqa: E402
from studio.engine.data.dataset import DataConfig  # noqa: E402
from studio.engine.data.demo_sets import write_faces, write_scenes  # noqa: E402
from studio.engine.images import load_png, save_png  # noqa: E402
from studio.engine.models.sessions import create_session  # noqa: E402
from studio.engine.project.checkpoints import list_checkpoints  # noqa: E402

LIMIT_BYTES = 30_000_000  # models/ must stay under 30 MB (decimal, the stricter reading)
# Each model's share of it. The faces' and scenes' trimming aims for BUDGET_BYTES together (the scenes
# are what they are, the faces' time-lapse gets the rest); the sketch and style-based models have
# their own. The four add up to the limit; the total is checked at the end.
BUDGET_BYTES = 23_700_000
SKETCH_BUDGET_BYTES = 4_550_000  # it takes 4.5 MB
STYLE_BUDGET_BYTES = 1_750_000  # it takes 1.6 MB: its generator alone is 1.4 MB
# Sample grids kept for the time-lapse: the faces' is the one worth watching; the scenes' grids are larger.
MAX_GRIDS = {"faces": 25, "scenes": 16, "sketch": 12}

# What is trained. Changing any of these changes the bundled files (and maybe the tests' margins).
FACES = dict(count=3000, size=32, seed=0)
FACES_MODEL = dict(ngf=32, ndf=32, batch=32, precision="fp32")
# Training seed 1, not 0: of the two seeds tried, seed 0's model drew glasses on averages of latents
# *without* glasses (20-40% of them), which muddles the arithmetic demo; seed 1's does not.
FACES_RUN = RunSettings(steps=7000, sample_every=100, checkpoint_every=1000, log_every=10, metric_every=500,
                        keep_checkpoints=1, seed=1, device="cpu")
# Drawn at the CycleGAN's load size (72 px for 64 px crops), so nothing is upscaled before cropping.
SCENES = dict(count=400, size=72, seed=0)
SCENES_CROP = 64
# Small on purpose: day <-> night is mostly a change of palette, and the files must stay small. The
# history pool is part of the checkpoint (50 images of 64 px per direction would be 5 MB): 20 here.
SCENES_MODEL = dict(ngf=16, ndf=16, n_blocks=3, n_layers_D=2, pool_size=20, precision="fp32")
SCENES_RUN = RunSettings(steps=1500, sample_every=25, checkpoint_every=500, log_every=10, metric_every=250,
                         keep_checkpoints=1, seed=0, device="cpu")
# Faces drawn at the pix2pix load size (72 px for 64 px crops); the inputs are their edge sketches,
# made in training exactly as `--make-pairs edges` makes them. Seed 3: the tests draw held-out faces
# with another seed. ngf 6: the checkpoint (G, D and their Adam moments) stays near 3.6 MB.
SKETCH = dict(count=800, size=72, seed=3)
SKETCH_CROP = 64
SKETCH_MODEL = dict(ngf=6, ndf=8, batch=8, make_pairs="edges", precision="fp32")
SKETCH_RUN = RunSettings(steps=2500, sample_every=50, checkpoint_every=500, log_every=10, metric_every=250,
                         keep_checkpoints=1, seed=0, device="cpu")
# The style-based kind's CPU defaults (small preset, batch 16, augmentation with ADA) at 64 px on 3,000
# portraits drawn at that size, on the fast path it measured when this was trained (fp32 + channels_last
# on the 2-core Zen 4 EPYC; fixed here so a rebuild takes the same arithmetic), without noise inputs:
# with them (the kind's default), a run beside this one drew the faces as a spotted texture from the
# 16 px layer's noise (its strength the largest; with the noise zeroed the faces were blank) at steps
# 4,000-8,000 (SWD 104, 91, 108, 142, 110 at steps 4-8k), while without them the faces had eyes,
# glasses and mouths drawn from w by step 4,000 (SWD 88). 16,000 steps: ~80 min on one core there
# (2026-12-05: 12,000 beside another run in 60 min, then resumed to 16,000 in 2 x 8 min; a resume is
# exact and nothing in the kind's training depends on the total, so that is this recipe's run).
STYLE = dict(count=3000, size=64, seed=0)
# 2 mapping layers (the small preset has 8): its checkpoint fits the demo's share of models/, 8 layers'
# does not (2.0 MB), and a run with 8 beside this one was worse at 5,000 steps (SWD 94 against 74 at
# 4,000; glasses + long hair in W 13% of trials against 69%). R1 weight 2.0, the small preset's at 64 px
# (trainer.SMALL_R1_GAMMA_64), pinned with the learning rate the run used: the demo trained with the
# reference's auto rule (0.05) drew glasses on 71% of its faces (the portraits: 51%) and short hair
# without glasses on 10% (27%), and W arithmetic over its averaged exemplars landed on glasses; with
# 2.0, 42% and 25%, and glasses + long hair in 90% of trials (docs/stylegan.md, the bundled demo).
# Seed 3 and 16,000 steps (seed 1 and 12,000 before): of seeds 1-3 only seed 3's fine styles carry the
# background's colour (98% of mixed pairs; seed 1's coarse ones take it, seed 2's middle ones), and the
# 4,000 more steps took its held-out SWD from 62 to 42, its faces from 84% to 94% of samples and W
# arithmetic from 84% to 100% of trials.
STYLE_MODEL = dict(batch=16, precision="fp32", channels_last=True, noise_inputs=False, mapping_layers=2,
                   r1_gamma=2.0, lr=0.0025)
STYLE_RUN = RunSettings(steps=16000, sample_every=500, checkpoint_every=1000, log_every=50, metric_every=1000,
                        keep_checkpoints=1, seed=3, device="cpu")
EXPLORE_SEED = 2024  # seed of the latents the bookmarks are chosen from
EXPLORE_COUNT = 4000
EXEMPLARS = 4  # bookmarks per arithmetic slot


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def regenerate_command(dataset: str, spec: dict) -> str:
    return f"gan-studio demo-data {dataset} DIR --count {spec['count']} --size {spec['size']} --seed {spec['seed']}"


# ----- training -----------------------------------------------------------------------------------------
def train(kind: str, folders: dict[str, str], out: Path, size: int, model: dict, run: RunSettings, label: str) -> Path:
    """Train a project at `out` through the same code as `gan-studio train`; returns `out`."""
    session = create_session(out, kind, folders, DataConfig(size=size), run, dict(model))
    log(f"{label}: training {kind} for {run.steps} steps ({json.dumps(model)})")
    t0 = time.perf_counter()
    report_every = max(1, run.steps // 28)
    for ev in session.run():
        for m in ev.messages:
            log(f"{label}: note: {m}")
        if ev.stopped:
            raise SystemExit(f"{label}: training stopped ({ev.stopped}): {' '.join(ev.messages)}")
        if ev.step % report_every == 0 or ev.step == ev.target_steps:
            per_step = (time.perf_counter() - t0) / ev.step
            eta = per_step * (ev.target_steps - ev.step) / 60
            losses = " ".join(f"{k} {v:.3f}" for k, v in ev.losses.items())
            quality = f" | swd {ev.quality['swd']:.3f}" if ev.quality and "swd" in ev.quality else ""
            log(f"{label}: step {ev.step}/{ev.target_steps} {per_step:.2f} s/step, ~{eta:.0f} min left"
                f" | {losses}{quality}")
    log(f"{label}: trained in {(time.perf_counter() - t0) / 60:.1f} min")
    return out


# ----- trimming a project folder for bundling ----------------------------------------------------------
def pick_grids(steps: list[int], keep: int) -> list[int]:
    """`keep` sample steps spaced quadratically (denser early, where a GAN changes fastest), always
    including the first and the last (one: the last alone)."""
    if len(steps) <= keep:
        return list(steps)
    if keep == 1:
        return [steps[-1]]
    chosen = {steps[0], steps[-1]}
    for i in range(keep):
        target = steps[-1] * (i / (keep - 1)) ** 2
        chosen.add(min(steps, key=lambda s: (abs(s - target), s)))
    extra = iter(s for s in steps if s not in chosen)
    while len(chosen) < keep:  # quadratic targets collide at the start: fill in, oldest first
        chosen.add(next(extra))
    return sorted(chosen)


def bundle(project: Path, dest: Path, notes: dict[str, str], regenerate: str, grids: int, data_dir: Path,
           generator_only: bool = False, grid_rows: int = 0) -> Path:
    """Copy the trimmed project to `dest` (replacing it): project.json with data folders replaced by
    `notes`, the final checkpoint only (`generator_only`: its averaged generator alone, see
    `generator_checkpoint`), `grids` sample grids (`grid_rows` > 0: only their first rows of
    pictures), history.jsonl."""
    staging = dest.with_name(dest.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "checkpoints").mkdir(parents=True)
    (staging / "samples").mkdir()

    step, last = list_checkpoints(project / "checkpoints")[-1]  # the one bundled
    meta = json.loads((project / "project.json").read_text(encoding="utf-8"))
    data = meta["data"]
    data["folders"] = dict(notes)
    for role, rep in data.get("reports", {}).items():
        rep["folder"] = notes[role]
    # No trace of the temporary folder the data was drawn in (e.g. in lists of files in the reports).
    data["reports"] = json.loads(json.dumps(data.get("reports", {})).replace(json.dumps(str(data_dir))[1:-1], "DIR"))
    meta["demo"] = {
        "about": "Bundled demo model, read-only. Its training images are procedural and not bundled.",
        "data": regenerate,
        "rebuild": "python scripts/make_demo_models.py",
    }
    if generator_only:
        meta["generator_only"] = True  # continuing its training is refused with a sentence (project/relocation.py)
    # the bundled step is the run's end (a run stopped early had a later target, which the studio would show)
    meta.setdefault("run", {})["steps"] = step
    (staging / "project.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    if generator_only:
        generator_checkpoint(last, staging / "checkpoints")
    else:
        for p in (last, last.with_suffix(".safetensors")):
            shutil.copy2(p, staging / "checkpoints" / p.name)
    # up to the bundled checkpoint's step (a run stopped between checkpoints has later grids and history)
    all_steps = sorted(s for s in (int(p.stem.split("-")[1]) for p in (project / "samples").glob("step-*.png"))
                       if s <= step)
    for s in pick_grids(all_steps, grids):
        name = f"step-{s:07d}.png"
        if grid_rows:
            # make_grid's layout: a 2 px frame around pictures of the model's size
            side = int(meta["model"]["size"])
            save_png(staging / "samples" / name, load_png(project / "samples" / name)[: grid_rows * (side + 2) + 2])
        else:
            shutil.copy2(project / "samples" / name, staging / "samples" / name)
    lines = (project / "history.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (staging / "history.jsonl").write_text("".join(x for x in lines if json.loads(x).get("step", 0) <= step),
                                           encoding="utf-8")

    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    grids = len(list((dest / "samples").iterdir()))
    log(f"bundled {dest} (step {step}, {grids} grids, {folder_bytes(dest) / 1e6:.2f} MB)")
    return dest


def generator_checkpoint(path: Path, folder: Path) -> Path:
    """The checkpoint at `path` with its averaged generator's tensors only (G_ema.*, fp32: fine-tuning
    copies tensors of the network's own dtype), saved into `folder` under the same step. The meta
    says what was left out; the trainer's own state goes, as its networks do."""
    from studio.engine.project.checkpoints import load_checkpoint, save_checkpoint

    tensors, meta = load_checkpoint(path)
    kept = {k: v for k, v in tensors.items() if k.startswith("G_ema.")}
    slim = {k: meta[k] for k in ("kind", "config", "global_step", "run") if k in meta}
    slim["generator_only"] = ("bundled for exploring: the averaged generator alone, without the critic, the "
                              "training generator and the optimizers' state")
    return save_checkpoint(folder, int(meta["step"]), kept, slim)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def grids_that_fit(project: Path, other_bytes: int, most: int, budget: int = BUDGET_BYTES) -> int:
    """How many sample grids (<= most) keep models/ under the budget, given everything else."""
    _, last = list_checkpoints(project / "checkpoints")[-1]
    fixed = last.stat().st_size + last.with_suffix(".safetensors").stat().st_size  # only the final one is kept
    fixed += (project / "history.jsonl").stat().st_size + 64 * 1024  # + project.json, explore.json
    grids = sorted((project / "samples").glob("step-*.png"))
    per_grid = max(p.stat().st_size for p in grids[len(grids) // 2 :])  # late grids are the largest
    room = budget - other_bytes - fixed
    n = int(room // per_grid)
    if n < 8:
        raise SystemExit(f"{project.name}: only {n} sample grids fit in the size budget; make the model smaller")
    return min(most, n)


# ----- bookmarks for the explorer ---------------------------------------------------------------------
def write_explore(project: Path, space_name: str = "z", typical: bool = False) -> dict:
    """Bookmarks and directions for a faces demo in its explorer's space (`space_name`: "z", or "w" for
    a style-based model), chosen by the tests' attribute classifier (32 px: larger pictures are
    area-downsampled for it). `typical`: the arithmetic result rescaled to a typical sample's distance
    from the centre, as the arithmetic panel's option does. Returns rates."""
    from studio.engine.explore import latent as L
    from studio.engine.explore.bookmarks import ExploreStore
    from studio.engine.explore.generator import load_generator
    from tests.engine.attribute_classifier import predict, train_classifier

    log("explore: training the attribute classifier (~30-60 s)")
    clf = train_classifier(32, 0)
    G = load_generator(project, device="cpu")
    space = G.latent_space(space_name)
    z = space.random_latents(EXPLORE_SEED, EXPLORE_COUNT)  # in W: the seeds' w on every layer

    def draw(latents):
        return G.generate_in(latents, space_name)

    def result_of(slots):
        r = L.combine(slots)
        return space.to_typical(r) if typical else r

    p = predict(clf, draw(z))
    face = p["face"] > 0.9
    g, h, s = p["glasses"], p["long_hair"], p["smile"]
    rates = {"face": float((p["face"] > 0.5).mean())}
    log(f"explore: {rates['face']:.1%} of {EXPLORE_COUNT} samples read as faces")

    store_path = project / "explore.json"
    store_path.unlink(missing_ok=True)
    store = ExploreStore.open(project, G.z_dim, space_name, (G.num_ws, G.w_dim) if space_name == "w" else None)

    # Arithmetic exemplars, very confident ones: A = glasses + short hair, B = short hair, C = long hair.
    sure = face & (p["face"] > 0.97)
    pools = {
        "A": np.flatnonzero(sure & (g > 0.95) & (h < 0.05)),
        "B": np.flatnonzero(sure & (g < 0.05) & (h < 0.05)),
        "C": np.flatnonzero(sure & (g < 0.05) & (h > 0.95)),
    }
    log("explore: confident exemplars " + ", ".join(f"{k} {len(v)}" for k, v in pools.items()))
    if min(len(v) for v in pools.values()) < 2 * EXEMPLARS:
        raise SystemExit("explore: too few confident exemplars for the arithmetic bookmarks; train longer")
    # Curate like a person would: among random exemplar sets, keep the one whose A - B + C reads most
    # clearly as glasses + long hair (the tests measure random sets, not this one).
    rng = np.random.default_rng(EXPLORE_SEED)
    trials = [{k: rng.choice(v, EXEMPLARS, replace=False) for k, v in pools.items()} for _ in range(200)]
    results = np.stack([result_of([L.Slot(1, tuple(z[t["A"]])), L.Slot(-1, tuple(z[t["B"]])),
                                   L.Slot(1, tuple(z[t["C"]]))]) for t in trials])
    q = predict(clf, draw(results))
    both = (q["glasses"] > 0.5) & (q["long_hair"] > 0.5) & (q["face"] > 0.5)
    rates["arithmetic_random_sets_4"] = float(both.mean())
    score = np.minimum(np.minimum(q["glasses"], q["long_hair"]), q["face"])
    best = trials[int(np.argmax(score))]
    log(f"explore: A - B + C with random sets of {EXEMPLARS}: glasses and long hair in {both.mean():.0%} of "
        f"{len(trials)}; the bookmarked set scores {score.max():.2f}")
    names = {"A": "glasses, short hair", "B": "no glasses, short hair", "C": "no glasses, long hair"}
    for slot in "ABC":
        for i, idx in enumerate(best[slot], 1):
            store.add_latent(f"{names[slot]} {i}", z[idx], source=f"seed {EXPLORE_SEED} #{idx}")
    smiles = np.flatnonzero(sure & (s > 0.97))
    store.add_latent("smile", z[smiles[0]], source=f"seed {EXPLORE_SEED} #{smiles[0]}")
    result = result_of([L.Slot(sign, tuple(z[best[slot]])) for sign, slot in ((1, "A"), (-1, "B"), (1, "C"))])
    store.add_latent("long hair with glasses (A − B + C)", result,
                     source="avg(glasses, short hair) − avg(no glasses, short hair) + avg(no glasses, long hair)")

    # Directions from many exemplars: mean(with) - mean(without) over every confident face.
    for name, prob in (("glasses", g), ("long hair", h), ("smile", s)):
        # Confident ones only (p > 0.95 vs < 0.05): a longer, cleaner direction than with 0.8 / 0.2.
        pos, neg = np.flatnonzero(face & (prob > 0.95)), np.flatnonzero(face & (prob < 0.05))
        d = L.difference(z[pos], z[neg])
        store.add_direction(name, d, source=f"avg of {len(pos)} with {name} − avg of {len(neg)} without "
                                            f"(seed {EXPLORE_SEED}, chosen by a classifier)")
        # How well the pad's "amount of <name>" works: +a on faces without it, -a on faces with it.
        key = name.replace(" ", "_")  # the classifier's head: glasses, long_hair, smile
        report = []
        for a in (1.0, 2.0):
            add = predict(clf, draw(L.apply_direction(z[neg[:300]], d, a)))[key] > 0.5
            rem = predict(clf, draw(L.apply_direction(z[pos[:300]], d, -a)))[key] < 0.5
            rates[f"direction_{key}_add_{a:g}"] = float(add.mean())
            rates[f"direction_{key}_remove_{a:g}"] = float(rem.mean())
            report.append(f"amount +{a:g} adds it to {add.mean():.0%}, -{a:g} removes it from {rem.mean():.0%}")
        log(f"explore: direction '{name}' (length {np.linalg.norm(d):.2f}, {len(pos)} vs {len(neg)} exemplars): "
            + "; ".join(report))
    log(f"explore: wrote {store_path} ({len(store.latents)} bookmarks, {len(store.directions)} directions)")
    return rates


# ----- checks on the bundled folders -------------------------------------------------------------------
def check_bundled(dest: Path) -> None:
    """The bundled folder opens like any project and its model loads; resuming says why it cannot."""
    from studio.engine.errors import UserError
    from studio.engine.models import get_kind
    from studio.engine.models.sessions import open_session
    from studio.engine.project.folder import Project

    project = Project.open(dest)
    if get_kind(project.kind).capabilities.latent_space:
        from studio.engine.explore.generator import load_generator

        G = load_generator(dest, device="cpu")
        assert G.generate_seeded(4, 0).shape == (4, G.cfg.size, G.cfg.size, 3)
    else:
        from studio.engine.explore.translate import Translator

        t = Translator.load(dest, "a2b", device="cpu")
        assert t.translate_array(np.zeros((40, 56, 3), np.uint8)).shape == (40, 56, 3)
    try:
        open_session(dest)
    except UserError as e:
        log(f"check {dest.name}: loads; resuming it is refused with: {e}")
    else:
        raise SystemExit(f"{dest}: expected resuming a bundled demo (no data folder) to be refused")


# ----- main ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "models", help="where demo-faces/ and demo-scenes/ go")
    ap.add_argument("--only", choices=("faces", "scenes", "sketch", "style"), help="rebuild one model only")
    ap.add_argument("--threads", default="auto",
                    help="torch CPU threads (auto: 2 when the machine is idle, else 1)")
    ap.add_argument("--faces-steps", type=int, default=FACES_RUN.steps, help="DCGAN training steps")
    ap.add_argument("--faces-seed", type=int, default=FACES_RUN.seed,
                    help="DCGAN training seed (weights, noise, order)")
    ap.add_argument("--scenes-steps", type=int, default=SCENES_RUN.steps, help="CycleGAN training steps")
    ap.add_argument("--sketch-steps", type=int, default=SKETCH_RUN.steps, help="pix2pix training steps")
    ap.add_argument("--style-steps", type=int, default=STYLE_RUN.steps, help="style-based model's training steps")
    ap.add_argument("--style-seed", type=int, default=STYLE_RUN.seed,
                    help="style-based model's training seed (weights, noise, order)")
    ap.add_argument("--style-count", type=int, default=STYLE["count"],
                    help="portraits the style-based model trains on (experiments; the bundled one: the default)")
    ap.add_argument("--style-model", type=json.loads, default={},
                    help="JSON settings over the style-based model's (experiments, e.g. '{\"mapping_layers\": 8}')")
    ap.add_argument("--work", type=Path, help="keep the data and full projects here (default: a temp folder)")
    ap.add_argument("--bundle-only", action="store_true",
                    help="no training: bundle the projects an earlier run left in --work again")
    args = ap.parse_args(argv)
    if args.bundle_only and args.work is None:
        ap.error("--bundle-only needs --work (the folder of an earlier run)")

    if args.threads == "auto":
        threads = 2 if os.getloadavg()[0] < 0.5 else 1
    else:
        threads = int(args.threads)
    torch.set_num_threads(threads)
    log(f"torch {torch.__version__}, {threads} thread(s), output {args.out}")
    args.out.mkdir(parents=True, exist_ok=True)
    work_ctx = tempfile.TemporaryDirectory(prefix="demo-models-") if args.work is None else None
    work = Path(work_ctx.name) if work_ctx else args.work
    work.mkdir(parents=True, exist_ok=True)
    try:
        todo = [args.only] if args.only else ["faces", "scenes", "sketch", "style"]
        # the style model's portraits as trained (--style-count; a --bundle-only run must be given it again)
        style_spec = {**STYLE, "count": args.style_count}
        projects = {}
        if args.bundle_only:
            projects = {n: work / f"proj-{n}" for n in todo if (work / f"proj-{n}").is_dir()}
            if not projects:
                ap.error(f"no trained project in {work}")
            todo = []
        if "faces" in todo:
            data = work / "faces"
            log(f"faces: drawing {FACES['count']} portraits at {FACES['size']} px into {data}")
            write_faces(data, **FACES)
            run = dataclasses.replace(FACES_RUN, steps=args.faces_steps, seed=args.faces_seed)
            projects["faces"] = train("dcgan", {"data": str(data)}, work / "proj-faces", FACES["size"],
                                      FACES_MODEL, run, "faces")
        if "scenes" in todo:
            data = work / "scenes"
            log(f"scenes: drawing {SCENES['count']} day + {SCENES['count']} night scenes at {SCENES['size']} px "
                f"into {data}")
            write_scenes(data, **SCENES)
            projects["scenes"] = train("cyclegan", {"a": str(data / "A"), "b": str(data / "B")}, work / "proj-scenes",
                                       SCENES_CROP, SCENES_MODEL,
                                       dataclasses.replace(SCENES_RUN, steps=args.scenes_steps), "scenes")

        if "sketch" in todo:
            data = work / "sketch"
            log(f"sketch: drawing {SKETCH['count']} portraits at {SKETCH['size']} px into {data}")
            write_faces(data, **SKETCH)
            projects["sketch"] = train("pix2pix", {"data": str(data)}, work / "proj-sketch", SKETCH_CROP,
                                       SKETCH_MODEL, dataclasses.replace(SKETCH_RUN, steps=args.sketch_steps),
                                       "sketch")
        if "style" in todo:
            data = work / "style"
            log(f"style: drawing {style_spec['count']} portraits at {STYLE['size']} px into {data}")
            write_faces(data, **style_spec)
            model = {**STYLE_MODEL, **args.style_model}
            run = dataclasses.replace(STYLE_RUN, steps=args.style_steps, seed=args.style_seed)
            projects["style"] = train("stylegan", {"data": str(data)}, work / "proj-style", STYLE["size"], model, run,
                                      "style")

        # The CycleGAN first: its size is what it is; the DCGAN's time-lapse gets the room that is left.
        # The sketch model has a budget of its own, so it changes neither.
        for name in sorted(projects, key=lambda n: n != "scenes"):
            project = projects[name]
            dest = args.out / f"demo-{name}"
            # The scenes always keep MAX_GRIDS["scenes"] grids; the faces as many as fit next to them. So
            # a full run and a run of either model alone give the same files.
            scenes_dir = args.out / "demo-scenes"
            others = folder_bytes(scenes_dir) if name == "faces" and scenes_dir.is_dir() else 0
            cmd = regenerate_command("scenes" if name == "scenes" else "faces",
                                     {"faces": FACES, "scenes": SCENES, "sketch": SKETCH, "style": style_spec}[name])
            if name != "scenes":
                notes = {"data": f"(procedural: {cmd})"}
            else:
                notes = {"a": f"(procedural: {cmd}; then DIR/A)", "b": f"(procedural: {cmd}; then DIR/B)"}
            generator_only = name == "style"  # bundled for exploring (see the module docstring)
            if name == "sketch":
                fit = grids_that_fit(project, 0, MAX_GRIDS[name], SKETCH_BUDGET_BYTES)
            elif name == "style":
                fit = 1  # the final grid, its first two rows: the model is there to be explored
            else:
                fit = grids_that_fit(project, others, MAX_GRIDS[name])
            bundle(project, dest, notes, cmd, fit, work / name, generator_only=generator_only,
                   grid_rows=2 if generator_only else 0)
            if name == "style" and folder_bytes(dest) > STYLE_BUDGET_BYTES:
                raise SystemExit(f"{dest} takes {folder_bytes(dest) / 1e6:.2f} MB, over its share")
            if name in ("faces", "style"):
                rates = write_explore(dest, "w", typical=True) if name == "style" else write_explore(dest)
                log(f"{name}: rates " + json.dumps({k: round(v, 3) for k, v in rates.items()}))
            check_bundled(dest)
        total = sum(folder_bytes(args.out / f"demo-{n}") for n in ("faces", "scenes", "sketch", "style")
                    if (args.out / f"demo-{n}").is_dir())
        log(f"done: {args.out} holds {total / 1e6:.2f} MB of demo models (limit {LIMIT_BYTES / 1e6:.0f} MB)")
        if total >= LIMIT_BYTES:
            raise SystemExit(f"the bundled models exceed {LIMIT_BYTES / 1e6:.0f} MB")
    finally:
        if work_ctx is not None:
            work_ctx.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
