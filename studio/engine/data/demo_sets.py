"""Procedural demo datasets, reproducible by seed: labelled portraits and unpaired day/night scenes.

`faces` draws simple portraits whose attributes (glasses, hair length, smile, skin, hair and
background colour) are drawn independently and returned as labels, so the classic latent
arithmetic ("short hair with glasses - short hair + long hair = long hair with glasses") can be
demonstrated and tested. `scenes` draws two unpaired domains (day and night landscapes) for
CycleGAN. Everything is drawn at 4x with Pillow and box-downsampled, for anti-aliased edges.

Pure functions of their arguments: any thread may call them.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from studio.engine.errors import UserError
from studio.engine.images import png_bytes

MIN_SIZE, MAX_SIZE = 16, 512
_SS = 4  # supersampling factor: draw at 4x, box-downsample

# Named colours of the labelled attributes (names go into labels.csv).
SKINS = {
    "light": (247, 212, 181),
    "tan": (222, 170, 122),
    "brown": (166, 110, 70),
    "dark": (105, 66, 44),
}
HAIR_COLOURS = {
    "black": (38, 32, 34),
    "brown": (112, 66, 36),
    "blonde": (232, 186, 84),
    "red": (184, 72, 34),
}
BACKGROUNDS = {
    "sky": (163, 204, 236),
    "mint": (166, 222, 190),
    "peach": (252, 212, 168),
    "lavender": (199, 184, 236),
    "rose": (244, 178, 194),
}
HAIR_LENGTHS = ("short", "long")
# Shirts vary too but are not labelled: a nuisance factor, like lighting in real photographs.
_SHIRTS = [(58, 84, 140), (52, 120, 96), (150, 58, 72), (84, 86, 96), (226, 226, 220), (214, 150, 58)]
# The yes/no attributes, in the order of `binary_attributes` columns.
BINARY_ATTRIBUTES = ("glasses", "long_hair", "smile")
LABEL_COLUMNS = ("file", "glasses", "hair", "smile", "skin", "hair_colour", "background")


def _check_args(count: int, size: int) -> None:
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise UserError(f"Count must be a positive whole number (got {count}).")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise UserError(f"Size must be between {MIN_SIZE} and {MAX_SIZE} pixels (got {size}).")


def _shade(colour, factor: float) -> tuple[int, int, int]:
    """Darker (factor < 1) or lighter (factor > 1, towards white) version of an RGB colour."""
    if factor <= 1:
        return tuple(int(round(c * factor)) for c in colour)
    t = factor - 1
    return tuple(int(round(c + (255 - c) * t)) for c in colour)


def _mix(a, b, t: float) -> tuple[int, int, int]:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


def _vertical_gradient(w: int, h: int, top, bottom) -> Image.Image:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    rows = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t  # (h, 1, 3)
    return Image.fromarray(np.repeat(rows, w, axis=1).round().astype(np.uint8), "RGB")


# ----- faces ---------------------------------------------------------------------------------------
def _draw_face(size: int, rng: np.random.Generator, label: dict) -> np.ndarray:
    """One portrait as uint8 (size, size, 3). Geometry is designed on a 64-unit canvas."""
    W = size * _SS
    u = W / 64.0  # one design unit = one pixel at 64 px

    def box(x0, y0, x1, y1):
        return [x0 * u, y0 * u, x1 * u, y1 * u]

    def pt(x, y):
        return (x * u, y * u)

    bg = BACKGROUNDS[label["background"]]
    skin = SKINS[label["skin"]]
    hair = HAIR_COLOURS[label["hair_colour"]]
    im = _vertical_gradient(W, W, _shade(bg, 1.18), _shade(bg, 0.93))
    d = ImageDraw.Draw(im, "RGBA")

    # Every random draw happens here, whatever the attributes: the same draws give the same person with
    # or without glasses, smile or long hair, so each attribute changes only its own pixels.
    shirt = _SHIRTS[rng.integers(len(_SHIRTS))]
    # Where the head is and how big: small variations so a model learns a distribution, not a template.
    s = rng.uniform(0.9, 1.08)
    cx = 32 + rng.uniform(-2.5, 2.5)
    cy = 29.0 + rng.uniform(-2.0, 2.0)
    hair_width, hair_drop, fringe_at = rng.uniform(1.42, 1.55), rng.uniform(9.0, 12.0), rng.uniform(0.38, 0.48)
    eye_at, eye_gap, mouth_width = rng.uniform(-0.06, 0.04), rng.uniform(0.36, 0.42), rng.uniform(0.44, 0.52)
    fw, fh = 13.5 * s, 16.5 * s  # half width / half height of the face oval
    chin = cy + fh
    hair_dark = _shade(hair, 0.72)
    outline = max(1, round(0.9 * u))

    # Long hair: a rounded mass behind the head that falls beside the face down onto the shoulders.
    if label["hair"] == "long":
        hw = fw * hair_width
        bottom = chin + hair_drop * s
        d.rounded_rectangle(box(cx - hw, cy - fh * 0.9, cx + hw, bottom), radius=fw * 0.9 * u,
                            fill=hair, outline=hair_dark, width=outline)
        d.ellipse(box(cx - hw, cy - fh * 1.22, cx + hw, cy + fh * 0.2), fill=hair)

    # Shoulders and neck.
    sh_top = chin + 5.5 * s
    d.rounded_rectangle(box(cx - fw * 2.05, sh_top, cx + fw * 2.05, sh_top + 40), radius=12 * s * u,
                        fill=shirt, outline=_shade(shirt, 0.75), width=outline)
    d.rectangle(box(cx - fw * 0.42, chin - 4, cx + fw * 0.42, sh_top + 1.5), fill=_shade(skin, 0.86))
    d.chord(box(cx - fw * 0.62, sh_top - 3.0, cx + fw * 0.62, sh_top + 4.5), 0, 180, fill=_shade(skin, 0.86))

    # Ears show only with short hair (long hair covers them): part of what "short hair" looks like.
    if label["hair"] == "short":
        for side in (-1, 1):
            ex = cx + side * fw * 0.98
            d.ellipse(box(ex - 2.6 * s, cy - 3.2 * s, ex + 2.6 * s, cy + 3.6 * s), fill=_shade(skin, 0.93))

    # The face.
    d.ellipse(box(cx - fw, cy - fh, cx + fw, cy + fh), fill=skin, outline=_shade(skin, 0.8), width=outline)

    # Hair on top: a dome ending in a fringe across the forehead; short hair adds small sideburns.
    fringe = cy - fh * fringe_at
    top = cy - fh * 1.2
    dome_w = fw * 1.1
    d.chord(box(cx - dome_w, top, cx + dome_w, fringe + (fringe - top)), 180, 360, fill=hair,
            outline=hair_dark, width=outline)
    if label["hair"] == "short":
        for side in (-1, 1):
            x_out = cx + side * fw * 1.02
            x_in = cx + side * fw * 0.8
            d.polygon([pt(x_out, fringe - 1), pt(x_in, fringe - 1), pt(x_out - side * 0.6, cy - fh * 0.08)],
                      fill=hair)
    else:  # long hair frames the face down the sides of the forehead
        for side in (-1, 1):
            x_out = cx + side * fw * 1.12
            x_in = cx + side * fw * 0.72
            d.polygon([pt(x_out, fringe - 2), pt(x_in, fringe - 1), pt(x_out, cy + fh * 0.35)], fill=hair)

    # Eyes, brows, nose, cheeks.
    ey = cy + fh * eye_at
    ex = fw * eye_gap
    eye_r = 1.75 * s
    for side in (-1, 1):
        x = cx + side * ex
        d.ellipse(box(x - eye_r, ey - eye_r * 1.15, x + eye_r, ey + eye_r * 1.15), fill=(34, 30, 36))
        d.ellipse(box(x - eye_r * 0.15 + 0.45, ey - eye_r * 0.75, x + eye_r * 0.45 + 0.45, ey - eye_r * 0.15),
                  fill=(255, 255, 255, 200))
        d.line([pt(x - 2.8 * s, ey - 5.0 * s), pt(x + 2.8 * s, ey - 5.6 * s + side * 0.0)], fill=hair_dark,
               width=max(1, round(1.1 * u)))
        d.ellipse(box(x - 3.0 * s, ey + 4.0 * s, x + 3.0 * s, ey + 6.4 * s), fill=(236, 92, 104, 70))
    d.line([pt(cx - 1.1 * s, ey + 5.6 * s), pt(cx + 0.8 * s, ey + 5.6 * s)], fill=_shade(skin, 0.7),
           width=max(1, round(1.1 * u)))

    # Mouth: an open smile (a dark half-disc with teeth) or a straight closed line.
    my = cy + fh * 0.52
    mw = fw * mouth_width
    lip = (116, 34, 44)
    if label["smile"]:
        mh = fh * 0.3
        d.chord(box(cx - mw, my - mh, cx + mw, my + mh), 0, 180, fill=lip)
        d.chord(box(cx - mw * 0.8, my - mh * 0.25, cx + mw * 0.8, my + mh * 0.45), 0, 180, fill=(248, 248, 244))
        d.chord(box(cx - mw * 0.55, my + mh * 0.55, cx + mw * 0.55, my + mh * 1.15), 180, 360,
                fill=(214, 92, 100))
        d.chord(box(cx - mw, my - mh, cx + mw, my + mh), 0, 180, outline=lip, width=max(1, round(1.0 * u)))
    else:
        d.line([pt(cx - mw * 0.7, my + 1.5), pt(cx + mw * 0.7, my + 1.5)], fill=lip, width=max(1, round(2.0 * u)))

    # Glasses: dark round frames with pale lenses, a bridge and arms to the ears.
    if label["glasses"]:
        gr = 4.6 * s
        frame = (28, 26, 30)
        fwid = max(1, round(1.45 * u))
        for side in (-1, 1):
            x = cx + side * ex
            d.ellipse(box(x - gr, ey - gr, x + gr, ey + gr), fill=(228, 240, 255, 90), outline=frame, width=fwid)
            d.line([pt(x + side * gr, ey - 0.8), pt(cx + side * fw * 0.99, ey - 1.6)], fill=frame, width=fwid)
        d.line([pt(cx - ex + gr, ey - 0.6), pt(cx + ex - gr, ey - 0.6)], fill=frame, width=fwid)

    return np.asarray(im.resize((size, size), Image.Resampling.BOX))


def face_label(rng: np.random.Generator) -> dict:
    """Draw one set of independent, uniformly distributed attributes."""
    return {
        "glasses": bool(rng.integers(2)),
        "hair": HAIR_LENGTHS[rng.integers(2)],
        "smile": bool(rng.integers(2)),
        "skin": list(SKINS)[rng.integers(len(SKINS))],
        "hair_colour": list(HAIR_COLOURS)[rng.integers(len(HAIR_COLOURS))],
        "background": list(BACKGROUNDS)[rng.integers(len(BACKGROUNDS))],
    }


def faces(count: int, size: int = 64, seed: int = 0) -> tuple[np.ndarray, list[dict]]:
    """`count` portraits, uint8 (N, size, size, 3), and their labels (one dict per picture with
    glasses: bool, hair: "short"|"long", smile: bool, skin, hair_colour, background: colour names).

    Attributes are drawn independently and uniformly; the same seed gives the same pictures."""
    _check_args(count, size)
    rng = np.random.default_rng([seed, 0xFACE])
    out = np.empty((count, size, size, 3), np.uint8)
    labels = []
    for i in range(count):
        label = face_label(rng)
        out[i] = _draw_face(size, rng, label)
        labels.append(label)
    return out, labels


def binary_attributes(labels: list[dict]) -> np.ndarray:
    """The yes/no attributes of face labels as a float32 (N, 3) array of 0/1, columns BINARY_ATTRIBUTES."""
    return np.array([[float(f["glasses"]), float(f["hair"] == "long"), float(f["smile"])] for f in labels],
                    np.float32).reshape(-1, len(BINARY_ATTRIBUTES))


# ----- scenes --------------------------------------------------------------------------------------
_DAY = {
    "sky_top": (74, 144, 226), "sky_low": (186, 224, 248),
    "hills": [(138, 196, 110), (92, 168, 84), (58, 134, 66)],
    "trunk": (120, 82, 52), "tree": (40, 112, 56), "house": (236, 222, 196), "roof": (196, 76, 60),
    "window": (120, 170, 210),
}
_NIGHT = {
    "sky_top": (10, 14, 40), "sky_low": (44, 48, 96),
    "hills": [(44, 62, 82), (30, 46, 64), (18, 30, 44)],
    "trunk": (34, 28, 30), "tree": (14, 34, 38), "house": (70, 72, 94), "roof": (50, 34, 50),
    "window": (255, 214, 110),
}


def _ridge(rng: np.random.Generator, base: float, amp: float, n: int) -> np.ndarray:
    """A hill outline: y (in 64-unit coordinates) at n+1 evenly spaced x positions."""
    x = np.linspace(0, 1, n + 1)
    y = np.full_like(x, base)
    for k in (1, 2, 3):
        y += amp / k * np.sin(2 * math.pi * (k * rng.uniform(0.4, 1.1) * x + rng.uniform(0, 1)))
    return y


def _draw_scene(size: int, rng: np.random.Generator, night: bool) -> np.ndarray:
    W = size * _SS
    u = W / 64.0
    pal = _NIGHT if night else _DAY
    im = _vertical_gradient(W, W, pal["sky_top"], pal["sky_low"])
    d = ImageDraw.Draw(im, "RGBA")

    # The sky: stars + moon at night; a sun and clouds by day.
    bx, by = rng.uniform(10, 54), rng.uniform(8, 24)
    if night:
        for _ in range(int(rng.integers(14, 30))):
            sx, sy, r = rng.uniform(0, 64), rng.uniform(0, 36), rng.uniform(0.35, 0.8)
            d.ellipse([(sx - r) * u, (sy - r) * u, (sx + r) * u, (sy + r) * u], fill=(255, 252, 224, 230))
        r = rng.uniform(4.5, 6.5)
        glow = (190, 200, 255)
        d.ellipse([(bx - r * 1.8) * u, (by - r * 1.8) * u, (bx + r * 1.8) * u, (by + r * 1.8) * u],
                  fill=(*glow, 26))
        d.ellipse([(bx - r) * u, (by - r) * u, (bx + r) * u, (by + r) * u], fill=(246, 242, 214))
        if rng.random() < 0.5:  # a crescent: cut with the sky colour behind it
            off = r * 0.55
            sky = _mix(_mix(pal["sky_top"], pal["sky_low"], by / 64), glow, 26 / 255)  # the sky seen through the glow
            d.ellipse([(bx - r + off) * u, (by - r - off * 0.5) * u, (bx + r + off) * u, (by + r - off * 0.5) * u],
                      fill=sky)
    else:
        r = rng.uniform(4.5, 6.5)
        d.ellipse([(bx - r * 1.9) * u, (by - r * 1.9) * u, (bx + r * 1.9) * u, (by + r * 1.9) * u],
                  fill=(255, 240, 160, 70))
        d.ellipse([(bx - r) * u, (by - r) * u, (bx + r) * u, (by + r) * u], fill=(255, 214, 64))
        for _ in range(int(rng.integers(1, 4))):
            cx, cy, cw = rng.uniform(0, 64), rng.uniform(6, 28), rng.uniform(6, 11)
            for dx, dy, rr in ((-cw * 0.5, 0.6, 0.45), (0, -0.6, 0.62), (cw * 0.5, 0.6, 0.45)):  # three puffs
                x, y, rx, ry = cx + dx, cy + dy, rr * cw * 0.6, rr * cw * 0.45
                d.ellipse([(x - rx) * u, (y - ry) * u, (x + rx) * u, (y + ry) * u], fill=(255, 255, 255, 235))

    # Three hill layers, far to near; the nearest carries trees and sometimes a house.
    n = 32
    xs = np.linspace(0, 64, n + 1)
    ridges = []
    for layer, (base, amp) in enumerate(((34, 4.0), (42, 3.5), (51, 3.0))):
        ys = _ridge(rng, base + rng.uniform(-2, 2), amp, n)
        ridges.append(ys)
        poly = [(x * u, y * u) for x, y in zip(xs, ys)] + [(W, W), (0, W)]
        d.polygon(poly, fill=pal["hills"][layer])

    near = ridges[1]
    if rng.random() < 0.6:
        hx = rng.uniform(12, 52)
        gy = float(np.interp(hx, xs, near)) + 1.5
        hw, hh = rng.uniform(4.5, 6.5), rng.uniform(4.5, 6.0)
        d.rectangle([(hx - hw) * u, (gy - hh) * u, (hx + hw) * u, gy * u], fill=pal["house"])
        d.polygon([((hx - hw - 1.2) * u, (gy - hh) * u), (hx * u, (gy - hh - hw * 0.9) * u),
                   ((hx + hw + 1.2) * u, (gy - hh) * u)], fill=pal["roof"])
        wx, wy = hx - hw * 0.45, gy - hh * 0.65
        d.rectangle([(wx - 1.2) * u, (wy - 1.2) * u, (wx + 1.2) * u, (wy + 1.2) * u], fill=pal["window"])
        d.rectangle([(hx + hw * 0.2) * u, (gy - hh * 0.6) * u, (hx + hw * 0.6) * u, gy * u], fill=pal["roof"])
        if night:
            d.ellipse([(wx - 4) * u, (wy - 4) * u, (wx + 4) * u, (wy + 4) * u], fill=(255, 214, 110, 36))
    front = ridges[2]
    for _ in range(int(rng.integers(1, 5))):
        tx = rng.uniform(3, 61)
        gy = float(np.interp(tx, xs, front)) + 1.0
        th = rng.uniform(7, 11)
        d.rectangle([(tx - 0.6) * u, (gy - th * 0.35) * u, (tx + 0.6) * u, gy * u], fill=pal["trunk"])
        d.polygon([((tx - th * 0.33) * u, (gy - th * 0.3) * u), (tx * u, (gy - th) * u),
                   ((tx + th * 0.33) * u, (gy - th * 0.3) * u)], fill=pal["tree"])
    return np.asarray(im.resize((size, size), Image.Resampling.BOX))


def scenes(count: int, size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two unpaired domains of `count` landscapes each, uint8 (N, size, size, 3): A by day (blue sky,
    sun, clouds, green hills), B by night (dark sky, moon, stars, dark hills, lit windows).

    The domains are drawn from independent random streams, so no picture in A has a twin in B."""
    _check_args(count, size)
    out = []
    for domain, night in ((0, False), (1, True)):
        rng = np.random.default_rng([seed, 0x5CE7E, domain])
        out.append(np.stack([_draw_scene(size, rng, night) for _ in range(count)]))
    return out[0], out[1]


# ----- writing folders -----------------------------------------------------------------------------
def _write_png(path: Path, picture: np.ndarray) -> None:
    # Plain writes, not save_png's atomic fsync per file: 10x faster for thousands of small files,
    # and a half-written demo folder is simply written again (the folder must be new or empty).
    path.write_bytes(png_bytes(picture))


def _prepare_out(out_dir: Path | str) -> Path:
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a folder.")
    if out.is_dir() and any(out.iterdir()):
        raise UserError(f"{out} is not empty; choose a new or empty folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"Cannot create {out}: {e.strerror}.") from None
    return out


def write_faces(out_dir: Path | str, count: int, size: int = 64, seed: int = 0) -> Path:
    """Write `count` portraits as face-NNNNN.png into a new or empty folder, with labels.csv
    (columns LABEL_COLUMNS; glasses and smile as yes/no). Returns the folder."""
    _check_args(count, size)
    out = _prepare_out(out_dir)
    pictures, labels = faces(count, size, seed)
    rows = []
    for i, (pic, label) in enumerate(zip(pictures, labels)):
        name = f"face-{i:05d}.png"
        _write_png(out / name, pic)
        rows.append({"file": name, "glasses": "yes" if label["glasses"] else "no", "hair": label["hair"],
                     "smile": "yes" if label["smile"] else "no", "skin": label["skin"],
                     "hair_colour": label["hair_colour"], "background": label["background"]})
    with open(out / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=LABEL_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return out


def read_face_labels(csv_path: Path | str) -> dict[str, dict]:
    """labels.csv written by write_faces -> {file name: label dict as returned by `faces`}."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        return {
            row["file"]: {"glasses": row["glasses"] == "yes", "hair": row["hair"], "smile": row["smile"] == "yes",
                          "skin": row["skin"], "hair_colour": row["hair_colour"], "background": row["background"]}
            for row in csv.DictReader(f)
        }


def write_scenes(out_dir: Path | str, count: int, size: int = 64, seed: int = 0) -> Path:
    """Write `count` day landscapes into out/A and `count` night landscapes into out/B (a new or
    empty folder). Returns the folder."""
    _check_args(count, size)
    out = _prepare_out(out_dir)
    day, night = scenes(count, size, seed)
    for sub, prefix, pictures in (("A", "day", day), ("B", "night", night)):
        (out / sub).mkdir()
        for i, pic in enumerate(pictures):
            _write_png(out / sub / f"{prefix}-{i:05d}.png", pic)
    return out


# ----- drawing a bundled demo's training images again ---------------------------------------------
# A bundled demo project records, in place of each image folder, the command that draws it, e.g.
# "(procedural: gan-studio demo-data faces DIR --count 3000 --size 32 --seed 0)" or, for one domain
# of the scenes, "(procedural: gan-studio demo-data scenes DIR ...; then DIR/B)" (see
# scripts/make_demo_models.py). The pictures are a pure function of those arguments, so they can be
# drawn again on demand instead of being shipped.
_PROCEDURAL = re.compile(
    r"\(procedural: gan-studio demo-data (?P<set>faces|scenes) DIR --count (?P<count>\d+) --size (?P<size>\d+)"
    r" --seed (?P<seed>\d+)(?:; then DIR/(?P<sub>[AB]))?\)"
)


def is_procedural_folder(folder: str) -> bool:
    """Whether a project's folder entry is a demo's drawing command rather than a path."""
    return _PROCEDURAL.fullmatch(folder.strip()) is not None


def draw_procedural_folder(folder: str) -> tuple[np.ndarray, list[str]]:
    """The pictures (uint8 (N, H, W, 3)) and file names `gan-studio demo-data` would write for a
    demo project's folder entry (see `is_procedural_folder`); ValueError for anything else.
    Takes a few seconds for thousands of pictures; any thread."""
    m = _PROCEDURAL.fullmatch(folder.strip())
    if m is None:
        raise ValueError(f"not a procedural demo folder: {folder!r}")
    count, size, seed = int(m["count"]), int(m["size"]), int(m["seed"])
    if m["set"] == "faces":
        pictures, prefix = faces(count, size, seed)[0], "face"
    else:
        day, night = scenes(count, size, seed)
        pictures, prefix = (night, "night") if m["sub"] == "B" else (day, "day")
    return pictures, [f"{prefix}-{i:05d}.png" for i in range(count)]
