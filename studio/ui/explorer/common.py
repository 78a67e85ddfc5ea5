"""Pieces the explorer's views share: latent items, thumbnails, small widgets. GUI thread only."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPixmap, QPolygonF
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from studio.ui import style
from studio.ui.qimage import to_qimage

_ids = itertools.count(1)


@dataclass(eq=False)
class LatentItem:
    """A latent with a human label: a gallery sample, a bookmark, a pad corner, an exemplar."""

    z: np.ndarray  # float32 (dim,): a latent of the explorer's space (z, or flat ws in W)
    label: str  # e.g. "seed 7 #3", "red chair"
    source: str = ""  # provenance written into bookmarks
    id: int = field(default_factory=lambda: next(_ids))  # identity for lists (latents may repeat)
    # class weights a z latent was drawn as, for a generator with classes (arithmetic across classes);
    # None: whatever class the explorer draws now (and always in W, where w holds its class)
    labels: np.ndarray | None = None

    def __post_init__(self):
        self.z = np.array(self.z, dtype=np.float32, copy=True).reshape(-1)
        if self.labels is not None:
            self.labels = np.array(self.labels, dtype=np.float32, copy=True).reshape(-1)


def convert_items(items: list[LatentItem], old, new, labels=None) -> list[LatentItem]:
    """Items of space `old` as items of space `new` (both `spaces.LatentSpace`, `old` may be None):
    unchanged in the same space, mapped from z to W when switching to W (the same pictures: pass the
    class they were drawn as, `labels`, for a generator with classes); W cannot be mapped back to z,
    so nothing is kept then."""
    if old is None:
        return [it for it in items if new.accepts(it.z)]
    if (old.name, old.dim) == (new.name, new.dim):
        return list(items)
    if old.name == "z" and new.name == "w" and old.dim == new.z_dim and items:
        if labels is not None and any(it.labels is not None for it in items):
            # exemplars that keep their own class (arithmetic across classes) are mapped as it
            labels = np.stack([labels if it.labels is None else it.labels for it in items])
        ws = new.from_z(np.stack([it.z for it in items]), labels)
        return [LatentItem(w, it.label, it.source) for w, it in zip(ws, items)]
    return []


# The sources a seed's items are written with ("seed 7": a pad corner; "seed 7 #3 of 12": a gallery
# sample): what lets them be drawn again from their seed.
_SEED_SOURCE = re.compile(r"seed (\d+)(?: #(\d+) of (\d+))?")


def redraw_seed_items(items: list[LatentItem], space, labels, samples: bool = True) -> list[LatentItem]:
    """`items` with those made from a seed (see `_SEED_SOURCE`; gallery samples only with `samples`)
    drawn again in `space` as class `labels`; the others (bookmarks, projections, sums) kept. In W the
    class enters through the mapping, so a seed's w hold the class it was mapped as and must be mapped
    again when the class changes; a stored w keeps the class it was saved with (a favourite keeps its
    sample's source, hence `samples=False` where favourites may be among the items)."""
    batches: dict[tuple[int, int], np.ndarray] = {}  # (seed, count) -> latents, one mapping per seed
    out = []
    for it in items:
        m = _SEED_SOURCE.fullmatch(it.source)
        if m is None or (m[2] is not None and not samples):
            out.append(it)
            continue
        seed, index, count = int(m[1]), int(m[2] or 0), int(m[3] or 1)
        if (seed, count) not in batches:
            batches[seed, count] = space.random_latents(seed, count, labels)
        out.append(LatentItem(batches[seed, count][index], it.label, it.source))
    return out


class SeedClass:
    """The class weights a view's seed items were drawn as (None: no classes). In W the class enters
    through the mapping, so a seed's w holds the class it was mapped as: when the chosen class
    changes, the seed items are drawn again from their seeds (see `redraw_seed_items`)."""

    def __init__(self):
        self.labels = None

    def remember(self, labels) -> None:
        """The seed items were drawn (again) as `labels`."""
        self.labels = None if labels is None else np.array(labels, copy=True)

    def redraw(self, items: list[LatentItem], space, labels, samples: bool = True) -> list[LatentItem]:
        """`items` as the renderer now draws class `labels`: their seed items drawn again when in W
        as another class than remembered (`samples` as in `redraw_seed_items`), else `items` as they are."""
        if space.name == "w" and not same_class(labels, self.labels):
            items = redraw_seed_items(items, space, labels, samples)
        self.remember(labels)
        return items


def same_class(a, b) -> bool:
    """Whether two class weights (or None: no classes) ask for the same class."""
    if a is None or b is None:
        return a is None and b is None
    return np.array_equal(np.asarray(a), np.asarray(b))


def unique_key(owner: object, name: str) -> str:
    """A render-request key private to one view instance (views share one render worker)."""
    return f"{type(owner).__name__}@{id(owner):x}:{name}"


def pixmap(picture: np.ndarray, side: int | None = None, smooth: bool | None = None) -> QPixmap:
    """uint8 (H, W, C) -> QPixmap, optionally scaled to fit `side` (crisp when enlarging by whole factors)."""
    pm = QPixmap.fromImage(to_qimage(picture))
    if side is None:
        return pm
    if smooth is None:
        smooth = side < pm.width() or side % pm.width() != 0
    mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
    return pm.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode)


def star_path(center: QPointF, r: float) -> QPainterPath:
    pts = []
    for i in range(10):
        rad = r if i % 2 == 0 else r * 0.45
        a = -np.pi / 2 + i * np.pi / 5
        pts.append(QPointF(center.x() + rad * np.cos(a), center.y() + rad * np.sin(a)))
    path = QPainterPath()
    path.addPolygon(QPolygonF(pts))
    path.closeSubpath()
    return path


def badge(pm: QPixmap, favourite: bool = False, text: str = "") -> QPixmap:
    """A copy of `pm` with a star badge (favourite) and/or a small text tag drawn on it."""
    if not favourite and not text:
        return pm
    out = QPixmap(pm)
    p = QPainter(out)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if favourite:
        r = max(6.0, out.width() / 9)
        c = QPointF(out.width() - r - 3, r + 3)
        p.setPen(QColor(40, 30, 0))
        p.setBrush(QColor(255, 200, 60))
        p.drawPath(star_path(c, r))
    if text:
        f = QFont(p.font())
        f.setPointSizeF(max(7.0, out.width() / 12))
        f.setBold(True)
        p.setFont(f)
        m = p.fontMetrics()
        w, h = m.horizontalAdvance(text) + 8, m.height() + 2
        box = QRectF(3, out.height() - h - 3, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(box, 3, 3)
        p.setPen(QColor(255, 255, 255))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    p.end()
    return out


def placeholder_pixmap(side: int, text: str = "") -> QPixmap:
    pm = QPixmap(side, side)
    pm.fill(style.CANVAS)
    if text:
        p = QPainter(pm)
        p.setPen(style.MUTED)
        p.drawText(pm.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
        p.end()
    return pm


class Thumb(QLabel):
    """A fixed-size thumbnail label."""

    def __init__(self, side: int = 56, parent: QWidget | None = None):
        super().__init__(parent)
        self.side = side
        self.setFixedSize(QSize(side, side))
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setStyleSheet("QLabel { background: #18181a; border: 1px solid #3c3d42; border-radius: 3px; }")
        self.picture: np.ndarray | None = None

    def set_picture(self, picture: np.ndarray | None, text: str = "") -> None:
        self.picture = picture
        if picture is None:
            self.setPixmap(placeholder_pixmap(self.side - 2, text))
        else:
            self.setPixmap(badge(pixmap(picture, self.side - 2), text=text))


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("heading")
    return label


def elide_name(name: str, limit: int = 28) -> str:
    """A project's name cut to `limit` characters ("…" last) for a heading that must leave its row room."""
    return name if len(name) <= limit else name[:limit - 1].rstrip() + "…"


def muted_label(text: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    style.muted(label)
    return label


class ElidedLabel(QLabel):
    """One line of (muted) text that never asks for more width than it is given: what does not fit
    ends in "…" and the whole text is the tooltip. For status lines inside a scroll area, where a
    long message would otherwise widen the panel into a sideways scroll (a word-wrapping label is
    no cure there: the scroll area then sizes the panel to its preferred height and pushes the
    pad off screen). `text()` is the whole text."""

    def __init__(self, text: str = "", parent: QWidget | None = None, muted: bool = True):
        super().__init__(parent)
        if muted:
            style.muted(self)
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        self._full = text
        self._elide()

    def text(self) -> str:
        return self._full

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        # the whole text's width, not the shown one's: a hint that followed the elided text would shrink with it
        m = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + m.left() + m.right() + 2 * self.margin()
        return QSize(width, super().sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = max(0, self.contentsRect().width() - 2 * self.margin())
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room)
        super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")
