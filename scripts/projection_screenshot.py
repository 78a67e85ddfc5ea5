"""Screenshot of "Project a photo…" in the studio: target, projection and difference over the window.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/projection_screenshot.py PROJECT OUT.png [WxH] [STEPS]

Opens the studio window on PROJECT (a copy of it: the studio writes its state into the project),
shows the Explore tab, projects a procedural face the model never trained on (seed 4242; the demo
learned seed 0's) through the real dialog, adds it to the gallery, and saves the window with the
dialog drawn over its centre, as a user sees them.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from functools import partial
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import screenshot_window  # noqa: E402

pump_until = partial(screenshot_window.wait, timeout=600.0)


def main() -> int:
    project, out = Path(sys.argv[1]), Path(sys.argv[2])
    width, height = (int(v) for v in (sys.argv[3] if len(sys.argv) > 3 else "1600x1000").split("x"))
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QPainter

    from studio.engine.data.demo_sets import faces
    from studio.engine.images import save_png
    from studio.ui.main import create_application
    from studio.ui.main_window import MainWindow

    app = create_application()
    work = Path(tempfile.mkdtemp(prefix="gan-studio-shot-"))
    try:
        copy = shutil.copytree(project, work / project.name)
        photo = work / "my photo.png"
        save_png(photo, faces(1, 64, seed=4242)[0][0])
        window = MainWindow(remember_layout=False, device="cpu")
        window.confirm_close_while_training = lambda: True
        window.setFixedSize(width, height)
        window.show()
        window.open_project(copy)
        window.work_tabs.setCurrentIndex(window.explore_tab)
        panel = window.explorer
        pump_until(lambda: panel.is_rendered() and panel.project_button.isEnabled())
        dialog = panel.open_projection(photo)
        dialog.resize(min(760, width - 80), min(440, height - 120))
        dialog.steps_spin.setValue(steps)
        dialog.start()
        pump_until(lambda: dialog.result is not None and not dialog.runner.busy)
        dialog.add_to_gallery()
        pump_until(panel.is_rendered, timeout=30)
        for _ in range(20):
            app.processEvents()
        shot = window.grab()
        over = dialog.grab()
        painter = QPainter(shot)
        painter.drawPixmap(QPoint((shot.width() - over.width()) // 2, (shot.height() - over.height()) // 2), over)
        painter.end()
        shot.save(str(out))
        print(f"{out}: {shot.width()}x{shot.height()}, projection error {dialog.result.error:.1f} levels")
        dialog.close()
        window.close()
        app.processEvents()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
