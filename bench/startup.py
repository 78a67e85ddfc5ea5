"""Start-up time: from launching `gan-studio` to its window's first paint.

    python bench/startup.py [--runs 5] [--project DIR]

Each run starts the real command in a fresh process (Python, imports, Qt, the window, then the
project: the bundled faces demo on a first launch with a fresh HOME, or --project DIR), with
GAN_STUDIO_REPORT_STARTUP set so the studio prints the CLOCK_MONOTONIC time of its window's first
paint; the time is that minus the launch time taken here just before the process is spawned.
Also shown: the same launch's time until the project is drawn (samples or explorer on screen).
As a baseline, the time for a bare `python -c "import PySide6.QtWidgets"` in the same run.
Display: the offscreen Qt platform unless QT_QPA_PLATFORM is set (e.g. xcb under xvfb-run).
Goal: window visible <= 3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 3.0
MARK = "gan-studio startup: window painted at monotonic "
READY = "gan-studio startup: project drawn at monotonic "


def launch(argv: list[str], env: dict, timeout: float = 60.0) -> tuple[float, float | None]:
    """(seconds to the first paint, seconds to the project drawn or None)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    painted = drawn = None
    try:
        deadline = t0 + timeout
        for line in proc.stderr:
            if line.startswith(MARK):
                painted = float(line[len(MARK):]) - t0
            elif line.startswith(READY):
                drawn = float(line[len(READY):]) - t0
                break
            if time.monotonic() > deadline:
                break
    finally:
        proc.kill()
        proc.wait()
    if painted is None:
        raise RuntimeError("the studio never reported its first paint")
    return painted, drawn


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--project", help="a project to open (default: first launch, the bundled demo)")
    args = ap.parse_args()

    exe = Path(sys.executable).with_name("gan-studio")
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "studio"]
    if args.project:
        argv.append(args.project)
    platform = os.environ.get("QT_QPA_PLATFORM", "offscreen")
    print(f"{' '.join(argv)}  (Qt platform {platform}, python {sys.version.split()[0]})")
    painted, drawn, bare = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            home = Path(tmp) / f"home{i}"  # a first launch every time: no settings, no recent project
            home.mkdir()
            env = {**os.environ, "QT_QPA_PLATFORM": platform, "HOME": str(home),
                   "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
                   "GAN_STUDIO_REPORT_STARTUP": "1"}
            env.pop("GAN_STUDIO_DATA", None)
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-c", "import PySide6.QtWidgets"], check=True)
            bare.append(time.monotonic() - t0)
            p, d = launch(argv, env)
            painted.append(p)
            if d is not None:
                drawn.append(d)
            print(f"  run {i + 1}: window painted after {p:.2f} s, project drawn after "
                  f"{'-' if d is None else f'{d:.2f} s'}", flush=True)
    print(f"bare 'import PySide6.QtWidgets' process: median {statistics.median(bare):.2f} s")
    if drawn:
        print(f"project drawn: median {statistics.median(drawn):.2f} s, max {max(drawn):.2f} s")
    worst = max(painted)
    print(f"window visible: median {statistics.median(painted):.2f} s, max {worst:.2f} s -> goal <= {GOAL_S:.0f} s "
          f"{'met' if worst <= GOAL_S else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
