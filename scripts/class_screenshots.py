"""Screenshots of the explorer's class picker and a class walk, for the README.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/class_screenshots.py PROJECT_DIR OUT_DIR [FROM TO]

PROJECT_DIR is a DCGAN trained with classes (e.g. `gan-studio train dcgan --data FOLDER --classes on`
on a folder of sub-folders). Opens the explorer at 1280x720, picks the second class (the pad and
the gallery redraw as that class), grabs it to class-picker.png, then opens the class walk from
FROM to TO (default: the first and the last class) and grabs it to class-walk.png, and saves the
walk as class-walk.gif through the export code.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from screenshot_window import open_explorer, pump, wait  # noqa: E402


def main() -> int:
    project, out, w, panel = open_explorer("GAN Studio — Explore", 1280, 720)
    wait(lambda: panel.renderer.has_model)
    picker = panel.class_picker
    classes = picker.classes
    if len(classes) < 2:
        print(f"{project} was trained without classes", file=sys.stderr)
        panel.shutdown()  # the render thread must stop before Qt tears the window down
        return 2
    picker.set_class(1)
    g = panel.gallery
    wait(lambda: panel.pad.shown_latent is not None and g.all_drawn())
    pump(1.0)
    w.grab().save(str(out / "class-picker.png"))

    src = classes.index(sys.argv[3]) if len(sys.argv) > 3 else 0
    dst = classes.index(sys.argv[4]) if len(sys.argv) > 4 else len(classes) - 1
    panel.pad.surface.set_position(0.0, 0.0)  # a corner's own seed: a typical latent, not a blend of four
    pump(1.0)
    dialog = panel.open_class_walk()
    dialog.from_combo.setCurrentIndex(src)
    dialog.to_combo.setCurrentIndex(dst)
    dialog.resize(960, 240)
    wait(lambda: dialog.pictures is not None and (dialog.src, dialog.dst) == (src, dst)
         and "steps" in dialog.status.text())
    pump(0.5)
    dialog.grab().save(str(out / "class-walk.png"))
    saved = []
    dialog.saved.connect(saved.append)
    dialog.save(out / "class-walk.gif")
    wait(lambda: bool(saved))
    dialog.close()
    panel.shutdown()
    print("wrote", ", ".join(sorted(p.name for p in out.glob("class-*"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
