"""Screenshots of the explorer (and an exported walk) for the README.

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python scripts/explorer_screenshots.py PROJECT_DIR OUT_DIR

Opens ExplorerPanel on a trained DCGAN project in a real window, drives it like a user (pad,
plane mode with principal directions, arithmetic with exemplars picked from the gallery, the export
dialog), grabs each state to a PNG, and exports a latent walk GIF through the engine. For the demo
project of coloured discs it picks arithmetic exemplars by disc colour and size ("red discs" −
"teal discs" + "small teal discs" = a small red disc); for any other project it takes the first
gallery images.
"""

from __future__ import annotations

import os
import sys
from functools import partial

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

import numpy as np  # noqa: E402
import screenshot_window  # noqa: E402
from screenshot_window import open_explorer, pump  # noqa: E402

wait = partial(screenshot_window.wait, timeout=60.0)


def disc_features(pictures: np.ndarray):
    """(size fraction, mean colour) of the blob on each picture's plain background."""
    out = []
    for p in pictures.astype(np.float32):
        border = np.concatenate([p[0], p[-1], p[:, 0], p[:, -1]])
        bg = np.median(border, axis=0)
        mask = np.linalg.norm(p - bg, axis=2) > 60
        colour = p[mask].mean(axis=0) if mask.any() else bg
        out.append((float(mask.mean()), colour))
    return out


def pick_exemplars(pictures: np.ndarray) -> tuple[list[int], list[int], list[int]]:
    """A: big red discs, B: big teal discs, C: small teal discs, so A − B + C reads as
    "small teal disc + (red − teal)" = a small red disc."""
    feats = disc_features(pictures)

    def group(ref):
        ref = np.array(ref, np.float32)
        return sorted((f[0], i) for i, f in enumerate(feats) if np.linalg.norm(f[1] - ref) < 70 and 0.05 < f[0] < 0.6)

    reds, teals = group((230, 57, 70)), group((38, 70, 83))
    if len(reds) >= 3 and len(teals) >= 6:
        return [i for _, i in reds[-3:]], [i for _, i in teals[-3:]], [i for _, i in teals[:3]]
    return [0, 1, 2], [3, 4], [5]


def walk_keyframes(pictures: np.ndarray) -> list[int]:
    """One clear disc per colour (demo project), else the first four images."""
    feats = disc_features(pictures)
    picks = []
    for ref in ((230, 57, 70), (233, 196, 106), (42, 157, 143), (38, 70, 83), (244, 162, 97)):
        ref = np.array(ref, np.float32)
        found = [i for i, f in enumerate(feats) if np.linalg.norm(f[1] - ref) < 50 and 0.12 < f[0] < 0.45]
        if found:
            picks.append(found[0])
    return picks if len(picks) >= 3 else [0, 1, 2, 3]


def main() -> int:
    project, out, w, panel = open_explorer("GAN Studio — Explore", 1440, 860)
    wait(lambda: panel.renderer.has_model)
    g = panel.gallery
    g.count_spin.setValue(96)
    g.generate()
    wait(lambda: all(g.picture(i) is not None for i in g.items()))
    pad = panel.pad
    pad.set_corner_seeds([11, 3, 7, 5])
    pad.surface.set_position(0.38, 0.3)
    wait(lambda: pad.shown_latent is not None)
    pump(1.5)
    w.grab().save(str(out / "explorer-pad.png"))

    pictures = np.stack([g.picture(i) for i in g.items()])
    a, b, c = pick_exemplars(pictures)
    for slot, rows in zip(panel.arithmetic.slots, (a, b, c)):
        g.select_rows(rows)
        slot.add_selection()
    g.select_rows([])
    panel.tabs.setCurrentWidget(panel.arithmetic)
    pump(2.0)
    w.grab().save(str(out / "explorer-arithmetic.png"))

    panel.tabs.setCurrentWidget(pad)
    pad.set_center(g.items()[a[0]])
    wait(lambda: pad.model.axes[0] is not None and pad.model.axes[0].vector is not None, timeout=120)
    pad.surface.set_position(0.7, 0.35)
    pump(2.0)
    w.grab().save(str(out / "explorer-plane.png"))

    d = panel.open_export("walk")
    pump(0.5)
    d.grab().save(str(out / "explorer-export.png"))
    d.close()
    panel.shutdown()

    from studio.engine.explore import export as E
    from studio.engine.explore import latent as L
    from studio.engine.explore.generator import load_generator

    model = load_generator(project, device="cpu")
    z = np.stack([i.z for i in g.items()])
    keys = [z[i] for i in walk_keyframes(pictures)]
    E.export_walk(out / "explorer-walk.gif", model.generate, keys,
                  L.WalkSettings(frames_per_transition=18, hold_frames=4, interpolation="slerp", easing="smooth"),
                  E.AnimationSettings(fps=20, scale=4))
    print("wrote", ", ".join(sorted(p.name for p in out.iterdir())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
