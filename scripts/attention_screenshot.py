"""A screenshot of the studio's Explore tab with “Where does it look?” on (issue 20).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/attention_screenshot.py PROJECT_DIR OUT.png \
        [--size 1280x720] [--point 0.3 0.3] [--corner-seeds 1 2 3 4]

Opens the main window at exactly that size on a project whose generator has self-attention (e.g.
`gan-studio train dcgan --preset attention ...`), shows the Explore tab, switches the toggle on,
picks the point (x, y: 0..1 of the picture) as a click would, waits for the map and saves the
window. Exits 2 when the project's generator has no attention block.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import screenshot_window  # noqa: E402
from screenshot_window import pump  # noqa: E402

wait = partial(screenshot_window.wait, timeout=60.0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("project")
    ap.add_argument("out")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--point", type=float, nargs=2, default=(0.3, 0.3))
    ap.add_argument("--corner-seeds", type=int, nargs=4, default=None)
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    from studio.ui.main import create_application
    from studio.ui.main_window import MainWindow

    create_application()
    window = MainWindow(remember_layout=False)
    window.setFixedSize(width, height)
    window.show()
    if not window.open_project(args.project):
        print(f"cannot open {args.project}", file=sys.stderr)
        return 2
    window.work_tabs.setCurrentIndex(window.explore_tab)
    explorer = window.explorer
    pad = explorer.pad
    look = pad.attention
    wait(lambda: explorer.is_rendered())
    if args.corner_seeds:
        pad.set_corner_seeds(list(args.corner_seeds))
        wait(lambda: pad.shown_latent is not None)
    if not wait(lambda: look.probed) or not look.available:
        print("this project's generator has no self-attention block", file=sys.stderr)
        window.close()
        return 2
    look.button.setChecked(True)
    look.pick(*args.point)
    wait(lambda: look.result is not None)
    # at 1280x720 the gallery sits above the pad: scroll down to the preview, as a user would
    bar = window.explore_area.verticalScrollBar()
    bar.setValue(bar.maximum())
    pump(0.5)  # pending paints land
    ok = window.grab().save(args.out, "PNG")
    print(f"{args.out}: {window.width()}x{window.height()}, {look.caption.text()}")
    window.confirm_close_while_training = lambda: True
    window.close()
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
