"""Draw the application icon: `assets/icon.svg` and its PNG renderings at 256, 64 and 32 px.

    .venv/bin/python scripts/make_icon.py

The icon is a 3 x 3 grid of tiles whose colours blend between four corners, with the centre tile
ringed: the latent pad of the explorer, where every point between four images is an image too.
The SVG is the source; the PNGs are rendered from it by Qt's SVG renderer (the same one that
draws the icon at other sizes), so the two never disagree. Re-run after changing the drawing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.assets import ASSETS_DIR, ICON_SIZES  # noqa: E402 - after the path above

CANVAS = 256
MARGIN = 40
GAP = 10
TILES = 3
# Okabe-Ito colours (as in the loss curves): tell apart with common colour-vision deficiencies
CORNERS = ((0x56, 0xB4, 0xE9), (0xCC, 0x79, 0xA7), (0x00, 0x9E, 0x73), (0xE6, 0x9F, 0x00))  # TL TR BL BR


def _blend(u: float, v: float) -> str:
    """The colour at (u, v) in [0, 1]^2, bilinear between the four corners, as #rrggbb."""
    tl, tr, bl, br = CORNERS
    rgb = [round((1 - v) * ((1 - u) * a + u * b) + v * ((1 - u) * c + u * d)) for a, b, c, d in zip(tl, tr, bl, br)]
    return "#" + "".join(f"{x:02x}" for x in rgb)


def icon_svg() -> str:
    tile = (CANVAS - 2 * MARGIN - (TILES - 1) * GAP) / TILES
    shapes = []
    for row in range(TILES):
        for col in range(TILES):
            x, y = MARGIN + col * (tile + GAP), MARGIN + row * (tile + GAP)
            fill = _blend(col / (TILES - 1), row / (TILES - 1))
            shapes.append(f'  <rect x="{x:g}" y="{y:g}" width="{tile:g}" height="{tile:g}" rx="10" fill="{fill}"/>')
    centre = MARGIN + (TILES // 2) * (tile + GAP)
    # the pad's current point: a light ring just outside the centre tile
    shapes.append(f'  <rect x="{centre - 5:g}" y="{centre - 5:g}" width="{tile + 10:g}" height="{tile + 10:g}" rx="14" '
                  'fill="none" stroke="#f2f3f5" stroke-width="6"/>')
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CANVAS}" height="{CANVAS}" viewBox="0 0 {CANVAS} {CANVAS}">',
        "  <title>GAN Studio</title>",
        # the studio's own dark neutral grey (style.CANVAS and WINDOW): the icon looks like the app
        f'  <rect x="8" y="8" width="{CANVAS - 16}" height="{CANVAS - 16}" rx="48" fill="#26272a" '
        'stroke="#3c3d42" stroke-width="4"/>',
        *shapes,
        "</svg>",
        "",
    ])


def render_png(svg: Path, size: int, out: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icon: Qt cannot read {svg}.")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"make_icon: could not write {out}.")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no window is shown; works over SSH too
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - Qt painting needs one
    ASSETS_DIR.mkdir(exist_ok=True)
    svg = ASSETS_DIR / "icon.svg"
    svg.write_text(icon_svg(), encoding="utf-8")
    for size in ICON_SIZES:
        render_png(svg, size, ASSETS_DIR / f"icon-{size}.png")
    print(f"Wrote {svg.name} and " + ", ".join(f"icon-{s}.png" for s in ICON_SIZES) + f" in {ASSETS_DIR}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
