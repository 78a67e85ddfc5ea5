"""Fault injection: SIGKILL a training process at 50 random moments, many of them inside checkpoint saves.

After every kill the project folder must hold only whole files at final names (every committed checkpoint's
JSON matches its tensors' sha256; a tensor file without JSON is an orphan that is ignored, and kept: nothing
proves it is not trained weights whose JSON was lost), the latest committed checkpoint must load, and the
next start must clean the temp files and resume exactly: the committed weights always equal those of one
uninterrupted run at the same step.

Training children are os.fork()ed from this process (torch imported once, one intra-op thread), so 50 kills
cost seconds, not 50 interpreter start-ups. Three kinds of kill, in a seeded random order:

- "random": after a random delay since the child started (start-up, restore, steps, saves, pruning);
- "frozen": the child stops inside its k-th os.fsync of a file (a checkpoint, sample grid, project.json or
  history rewrite with its data written to the temp file but not yet renamed) and is killed there;
- "near": killed a random 0-3 ms after its k-th fsync, wherever the save has got to by then.

The seed is printed; rerun one with GAN_STUDIO_KILL_SEED=N. Kill moments depend on timing, the plan does not.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import signal
import stat
import time
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from studio.engine.atomic import TEMP_PREFIX
from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig
from studio.engine.data.procedural import discs, write_folder
from studio.engine.models.dcgan.trainer import DCGANTrainer
from studio.engine.models.sessions import create_session, open_session
from studio.engine.project.checkpoints import load_latest

KILLS = 50
SEED = int(os.environ.get("GAN_STUDIO_KILL_SEED", "20250808"))
TINY = {"batch": 4, "ngf": 8, "ndf": 8, "z_dim": 16, "preview_count": 4}
# Every step writes a checkpoint (and prunes the one before last); every third step a sample grid.
SETTINGS = RunSettings(steps=10**6, checkpoint_every=1, sample_every=3, log_every=1, metric_every=0,
                       keep_checkpoints=2, seed=3)
CHILD_TIMEOUT_S = 20.0  # a child that never reaches its kill point is a failure, not a hang


def _in_project(fd: int, root: Path) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith(str(root))
    except OSError:  # no /proc: count every sync
        return True


def _child(root: Path, mode: str, k: int, notify_w: int, hold_r: int) -> None:
    """Body of a forked training child: resume the project and train until killed. Never returns."""
    try:
        if mode in ("frozen", "near"):
            real_fsync, count = os.fsync, [0]

            def fsync(fd):
                real_fsync(fd)
                if not _in_project(fd, root):
                    return  # e.g. the dataset cache, which lives elsewhere
                if mode == "frozen" and stat.S_ISDIR(os.fstat(fd).st_mode):
                    return  # frozen kills count file syncs only: each one is inside a temp file's life
                count[0] += 1
                if count[0] == k:
                    os.write(notify_w, b"F")
                    if mode == "frozen":
                        os.read(hold_r, 1)  # blocks until the parent's SIGKILL

            os.fsync = fsync  # this child only: the parent's os module is a separate copy after fork
        session = open_session(root)
        for _ in session.run():
            pass
        os.write(notify_w, b"E")  # reached the end: should never happen with 10**6 steps
    except BaseException:
        (root.parent / f"child-{os.getpid()}-error.txt").write_text(traceback.format_exc())
    finally:
        os._exit(3)


def _debris(root: Path) -> tuple[list[Path], list[Path]]:
    """(temp files anywhere in the project, tensor files without a committed JSON)."""
    temps = [p for p in root.rglob(TEMP_PREFIX + "*")]
    orphans = [p for p in (root / "checkpoints").glob("step-*.safetensors") if not p.with_suffix(".json").exists()]
    return temps, orphans


def _check_final_names(root: Path, where: str) -> None:
    """No partial file at a final name: committed checkpoints match their hash, JSON/PNG files are whole."""
    json.loads((root / "project.json").read_text())
    for j in (root / "checkpoints").glob("step-*.json"):
        meta = json.loads(j.read_text())  # a torn JSON at a final name would fail here
        t = j.with_suffix(".safetensors")
        assert t.exists(), f"{where}: {j.name} is committed but its tensors are gone"
        assert hashlib.sha256(t.read_bytes()).hexdigest() == meta["sha256"], f"{where}: {t.name} is partial"
    for png in (root / "samples").glob("step-*.png"):
        with Image.open(png) as im:
            im.load()  # a truncated PNG raises


def _reference_state(trainer: DCGANTrainer) -> dict[str, torch.Tensor]:
    tensors, _ = trainer.state_dict()
    # Drawing samples recalibrates the EMA generator's BatchNorm statistics (the next step overwrites
    # them), so those buffers legitimately differ from a run that never drew samples.
    return {k: v for k, v in tensors.items() if not (k.startswith("G_ema.") and ("running" in k or "batches" in k))}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigkill_at_50_random_moments_always_resumes(tmp_path):
    print(f"\nkill test seed {SEED} (rerun with GAN_STUDIO_KILL_SEED={SEED})")
    rnd = random.Random(SEED)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # forked children inherit it; OpenMP pools do not survive fork well
    t0 = time.perf_counter()
    try:
        data = write_folder(discs(16, 32, seed=SEED % 1000), tmp_path / "data")
        root = tmp_path / "proj"
        first = create_session(root, "dcgan", {"data": str(data)}, DataConfig(size=32), SETTINGS, dict(TINY))
        list(first.run(until_step=1))  # a committed checkpoint exists before the first kill
        first.close()  # this process's training lock: the children train the project now
        # The uninterrupted run that every resumed checkpoint must match, advanced as the project goes.
        reference = DCGANTrainer(first.trainer.cfg, first.trainer.images, seed=SETTINGS.seed)

        plan = ["random"] * 25 + ["frozen"] * 15 + ["near"] * 10
        rnd.shuffle(plan)
        committed, mid_save, stats = 1, 0, {"temps": 0, "orphans": 0}
        known_orphans: set[tuple[Path, int]] = set()
        for i, mode in enumerate(plan):
            where = f"kill {i} ({mode}, seed {SEED})"
            k = rnd.randint(1, 8)
            delay = rnd.uniform(0.0, 0.4)
            notify_r, notify_w = os.pipe()
            hold_r, hold_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                _child(root, mode, k, notify_w, hold_r)
            os.close(notify_w)
            os.close(hold_r)
            try:
                if mode == "random":
                    time.sleep(delay)
                else:
                    ready, _, _ = select.select([notify_r], [], [], CHILD_TIMEOUT_S)
                    assert ready, f"{where}: the child never reached fsync #{k}"
                    assert os.read(notify_r, 1) == b"F", f"{where}: the child stopped training"
                    if mode == "near":
                        time.sleep(rnd.uniform(0.0, 0.003))
            finally:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                os.close(notify_r)
                os.close(hold_w)
            errors = list(tmp_path.glob("child-*-error.txt"))
            assert not errors, f"{where}: the child crashed:\n{errors[0].read_text()}"
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"{where}: status {status}"

            # 1. What the kill left on disk: whole files at final names, maybe temp files and orphans.
            _check_final_names(root, where)
            temps, orphans = _debris(root)
            # Orphans stay on disk: count only those this kill left (new, or rewritten since).
            orphans = [o for o in orphans if (o, o.stat().st_mtime_ns) not in known_orphans]
            known_orphans.update((o, o.stat().st_mtime_ns) for o in orphans)
            stats["temps"] += len(temps)
            stats["orphans"] += len(orphans)
            mid_save += bool(temps or orphans)
            if mode == "frozen":  # killed with a synced temp file not yet renamed: it must still be there
                assert temps, f"{where}: no temp file left by a kill inside a save"

            # 2. The latest committed checkpoint loads, and the project never goes back in time.
            found = load_latest(root / "checkpoints")
            assert found is not None, f"{where}: no loadable checkpoint"
            step = found[1]["step"]
            assert step >= committed, f"{where}: latest checkpoint went back from {committed} to {step}"
            committed = step

            # 3. It holds exactly the state of an uninterrupted run at that step.
            while reference.global_step < step:
                reference.step()
            expected = _reference_state(reference)
            diff = [key for key, v in expected.items() if not torch.equal(found[0][key], v)]
            assert not diff, f"{where}: step {step} differs from an uninterrupted run in {diff[:5]}"

            # 4. The next start cleans the temp files and resumes at that step; training goes on.
            session = open_session(root)
            temps, orphans = _debris(root)
            assert not temps, f"{where}: left after restart: {temps}"
            assert session.trainer.global_step == step, where
            assert all(r.get("step", 0) <= step for r in session.project.read_history()), f"{where}: history"
            losses = session.trainer.step()
            assert all(np.isfinite(v) for v in losses.values()), f"{where}: {losses}"
            session.close()
        elapsed = time.perf_counter() - t0
        print(f"{KILLS} kills in {elapsed:.1f} s: reached step {committed}; {mid_save} kills left save debris "
              f"({stats['temps']} temp files, cleaned on restart; {stats['orphans']} orphan tensor files, kept)")
        assert len(plan) == KILLS
        assert committed > 5, "the children never got far enough to test resuming"
        assert mid_save >= plan.count("frozen"), f"only {mid_save} of {KILLS} kills landed inside a save"
    finally:
        torch.set_num_threads(threads)
