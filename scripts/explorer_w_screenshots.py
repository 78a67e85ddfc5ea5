"""Screenshots of the explorer in W (style-based models) for the README.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/explorer_w_screenshots.py PROJECT_DIR OUT_DIR

Opens ExplorerPanel on a trained style-based project in a window, switches it to W, puts the pad in
plane mode along principal directions of W applied to the coarse layers, mixes the fine styles of a
gallery image into every point, and grabs it (explore-w.png, 1600 x 1000, and
explore-w-1280x720.png); then mixes two gallery images in the Style mixing tab
(explore-w-mixing.png).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from screenshot_window import open_explorer, pump, wait  # noqa: E402


def set_up(panel) -> None:
    """W, a plane along coarse-layer principal directions, fine styles of another image mixed in."""
    wait(lambda: panel.renderer.has_model)
    panel.set_space("w")
    pad, g = panel.pad, panel.gallery
    wait(lambda: pad.space is not None and pad.space.name == "w")
    g.count_spin.setValue(48)
    g.generate()
    wait(lambda: g.all_drawn())
    items = g.items()
    # a short-haired face at the centre: the bundled demo grows hair cleanly along "long hair" (faces in
    # 100% of samples at +2) but turns long-haired faces into blobs taking it away (61% faces at -2)
    pad.set_center(items[1])
    pad.layers_combo.setCurrentIndex(pad.layers_combo.findText("coarse"))
    wait(lambda: pad.model.axes[0] is not None and pad.model.axes[0].vector is not None)
    pad.span_spin.setValue(2.0)
    pad.set_mix("fine", items[5])
    pad.surface.set_position(0.7, 0.35)
    g.select_rows([5])
    pump(3.0)


def main() -> int:
    project, out, w, panel = open_explorer("GAN Studio — Explore in W", 1600, 1000)
    set_up(panel)
    w.grab().save(str(out / "explore-w.png"))

    g = panel.gallery
    g.select_rows([1, 2])
    panel._on_send("mix", g.selected_items())
    wait(lambda: panel.mixing.table_pictures is not None)
    pump(3.0)
    w.grab().save(str(out / "explore-w-mixing.png"))
    panel.shutdown()
    w.close()

    # A laptop: the studio's own window at 1280 x 720 (where the gallery goes above the pad).
    from studio.ui.main_window import MainWindow

    win = MainWindow(device="cpu")
    win.show()
    win.resize(1280, 720)
    win.open_project(project)
    win.work_tabs.setCurrentIndex(win.explore_tab)
    set_up(win.explorer)
    win.grab().save(str(out / "explore-w-1280x720.png"))
    win.confirm_close_while_training = lambda: True
    win.close()
    from PIL import Image

    for name in ("explore-w.png", "explore-w-1280x720.png", "explore-w-mixing.png"):
        # 256 colours, as the README's other screenshots: a quarter of the bytes, no visible change
        Image.open(out / name).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(out / name,
                                                                                                 optimize=True)
    print(f"wrote {out}/explore-w.png, explore-w-1280x720.png, explore-w-mixing.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
