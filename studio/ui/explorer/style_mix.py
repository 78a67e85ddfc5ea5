"""StyleMixPanel: style mixing of two images of a style-based generator (explorer in W).

Image A gives the styles of the layer groups ticked (coarse 4-8 px: pose and shape; middle: features;
fine: colours and texture; style_space.layer_groups draws the lines), image B every other layer's.
Beside the result, a table shows all six single-group mixes at once (A's coarse / middle / fine
with B's rest, and the other way round), so the effect of each group reads at a glance. A and B
come from the gallery's selection, the pad's image or two selected gallery images ("Mix styles" in
the gallery's menu). GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.engine.explore import style_space as S
from studio.ui.explorer.common import LatentItem, Thumb, convert_items, heading, muted_label, unique_key
from studio.ui.widgets.image_view import ImageView

SIDES = ("A", "B")


class StyleMixPanel(QWidget):
    """Mix the styles of two images by layer group. Needs the shared RenderController."""

    message = Signal(str)
    send_to_pad = Signal(object)  # LatentItem: the mix, to explore around it

    def __init__(self, renderer, parent: QWidget | None = None):
        super().__init__(parent)
        self.renderer = renderer
        self.store = None
        self.space = None  # spaces.LatentSpace; mixing needs W
        self.items: dict[str, LatentItem | None] = {"A": None, "B": None}
        self._selection_source: Callable[[], list[LatentItem]] | None = None
        self._pad_latent: Callable[[], np.ndarray | None] | None = None
        self._keys = {name: unique_key(self, name) for name in ("A", "B", "result", "table")}
        self.result_picture: np.ndarray | None = None
        self.table_pictures: np.ndarray | None = None
        self._build()
        renderer.ready.connect(self._on_ready)
        renderer.model_ready.connect(self._on_model_ready)
        if renderer.info is not None:
            self._on_model_ready(renderer.info)

    # ----- building ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        # Three columns, so the panel fits a laptop's explorer (about 350 px of height at 1280x720):
        # the two sources and the groups taken from A | the mix, large | each group on its own.
        self.thumbs: dict[str, Thumb] = {}
        self.captions: dict[str, QLabel] = {}
        sources = QVBoxLayout()
        sources.setSpacing(6)
        for side in SIDES:
            row = QHBoxLayout()
            thumb = Thumb(88)
            thumb.set_picture(None, "empty")
            self.thumbs[side] = thumb
            row.addWidget(thumb)
            col = QVBoxLayout()
            col.addWidget(heading(f"Image {side}"))
            caption = muted_label("", wrap=False)
            self.captions[side] = caption
            col.addWidget(caption)
            buttons = QHBoxLayout()
            sel = QPushButton("Selected")
            sel.setToolTip(f"Image {side}: the first image selected in the gallery")
            sel.clicked.connect(lambda _=False, s=side: self.take_selection(s))
            pad = QPushButton("Pad image")
            pad.setToolTip(f"Image {side}: the image on the latent pad now")
            pad.clicked.connect(lambda _=False, s=side: self.take_pad_image(s))
            buttons.addWidget(sel)
            buttons.addWidget(pad)
            col.addLayout(buttons)
            col.addStretch(1)
            row.addLayout(col, 1)
            sources.addLayout(row)
            if side == SIDES[0]:
                self.swap_button = QPushButton("⇅ Swap")
                self.swap_button.setToolTip("Exchange A and B")
                self.swap_button.clicked.connect(self.swap)
                sources.addWidget(self.swap_button, 0, Qt.AlignmentFlag.AlignLeft)

        self.group_checks: dict[str, QCheckBox] = {}
        self._group_heads: dict[str, QLabel] = {}
        groups = QHBoxLayout()
        groups.addWidget(QLabel("From A:"))
        for name in S.GROUPS:
            check = QCheckBox(name)
            check.setToolTip(S.GROUP_HELP[name])
            check.setChecked(name == "coarse")
            check.toggled.connect(lambda _: self._render())
            self.group_checks[name] = check
            groups.addWidget(check)
        groups.addStretch(1)
        sources.addLayout(groups)
        sources.addWidget(muted_label("The other layers come from B."))
        self.note = muted_label("Style mixing works in W: models with a style space, with the explorer in W.")
        sources.addWidget(self.note)
        sources.addStretch(1)

        self.preview = ImageView("Choose two images (A and B) to mix their styles.")
        self.preview.setMinimumSize(160, 160)
        self.pad_button = QPushButton("Explore on the pad")
        self.pad_button.setToolTip("Make the mix the centre of the pad's plane")
        self.pad_button.clicked.connect(self._on_to_pad)
        self.bookmark_button = QPushButton("Bookmark…")
        self.bookmark_button.setToolTip("Save the mix under a name (kept in the project)")
        self.bookmark_button.clicked.connect(lambda: self.bookmark_result())
        mix = QVBoxLayout()
        mix.addWidget(self.preview, 1)
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(self.pad_button)
        actions.addWidget(self.bookmark_button)
        mix.addLayout(actions)

        self.table = QGridLayout()
        self.table.setHorizontalSpacing(6)
        self.table.setVerticalSpacing(4)
        self.table_thumbs: list[Thumb] = []
        for c, name in enumerate(S.GROUPS):
            head = QLabel(name)
            head.setToolTip(S.GROUP_HELP[name])
            self._group_heads[name] = head
            head.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.table.addWidget(head, 0, c + 1)
        for r, (src, rest) in enumerate((("A", "B"), ("B", "A"))):
            self.table.addWidget(QLabel(f"{src}'s,\nthe rest {rest}'s"), r + 1, 0)
            for c in range(len(S.GROUPS)):
                t = Thumb(64)
                self.table_thumbs.append(t)
                self.table.addWidget(t, r + 1, c + 1)
        each = QVBoxLayout()
        each.addWidget(heading("Each group on its own"))
        each.addLayout(self.table)
        each.addStretch(1)

        root = QHBoxLayout(self)
        root.setContentsMargins(8, 8, 8, 8)
        root.setSpacing(12)
        root.addLayout(sources)
        root.addLayout(mix, 1)
        root.addLayout(each)
        self._update_enabled()

    # ----- sources ----------------------------------------------------------------------------------------
    def set_store(self, store) -> None:
        self.store = store

    def set_selection_source(self, fn: Callable[[], list[LatentItem]] | None) -> None:
        self._selection_source = fn

    def set_pad_source(self, fn: Callable[[], np.ndarray | None] | None) -> None:
        self._pad_latent = fn

    def groups(self) -> tuple[str, ...]:
        return tuple(name for name, check in self.group_checks.items() if check.isChecked())

    def set_groups(self, groups: tuple[str, ...] | str) -> None:
        groups = (groups,) if isinstance(groups, str) else tuple(groups)
        for name, check in self.group_checks.items():
            check.blockSignals(True)
            check.setChecked(name in groups)
            check.blockSignals(False)
        self._render()

    def set_item(self, side: str, item: LatentItem) -> bool:
        """Put `item` on side "A" or "B"; False (with a message) when it is not a latent of W."""
        if not self.in_w() or not self.space.accepts(item.z):
            self.message.emit("Style mixing needs images of a style-based model with the explorer in W.")
            return False
        self.items[side] = LatentItem(item.z, item.label, item.source)
        self.captions[side].setText(item.label)
        self.renderer.request(self._keys[side], item.z, priority=1)
        self._render()
        return True

    def set_pair(self, items: list[LatentItem]) -> None:
        """The first two items as A and B (the gallery's "Mix styles")."""
        if len(items) >= 2 and self.set_item("A", items[0]):
            self.set_item("B", items[1])

    def take_selection(self, side: str) -> None:
        items = self._selection_source() if self._selection_source else []
        if not items:
            self.message.emit("Select an image in the gallery first.")
            return
        self.set_item(side, items[0])

    def take_pad_image(self, side: str) -> None:
        z = self._pad_latent() if self._pad_latent else None
        if z is None:
            self.message.emit("The pad shows no image yet.")
            return
        self.set_item(side, LatentItem(z, "pad image", "pad"))

    def swap(self) -> None:
        a, b = self.items["A"], self.items["B"]
        for side, item in (("A", b), ("B", a)):
            self.items[side] = item
            self.captions[side].setText(item.label if item else "")
            if item is None:
                self.thumbs[side].set_picture(None, "empty")
            else:
                self.renderer.request(self._keys[side], item.z, priority=1)
        self._render()

    # ----- maths and rendering ----------------------------------------------------------------------------
    def in_w(self) -> bool:
        return self.space is not None and bool(self.space.groups)

    def result_latent(self) -> np.ndarray | None:
        """The mix as a flat W latent: A's styles on the ticked groups, B's elsewhere (None without both)."""
        a, b, sp = self.items["A"], self.items["B"], self.space
        if a is None or b is None or not self.in_w():
            return None
        return S.flat(S.mix(a.z, b.z, self.groups(), sp.num_ws, sp.w_dim))[0]

    def table_latents(self) -> np.ndarray | None:
        """(6, dim): A's coarse / middle / fine with B's rest, then B's with A's rest."""
        a, b, sp = self.items["A"], self.items["B"], self.space
        if a is None or b is None or not self.in_w():
            return None
        rows = [S.mix(x.z, y.z, g, sp.num_ws, sp.w_dim)[0] for x, y in ((a, b), (b, a)) for g in S.GROUPS]
        return S.flat(np.stack(rows))

    def _render(self) -> None:
        self._update_enabled()
        r = self.result_latent()
        if r is None:
            return
        self.renderer.request(self._keys["result"], r, priority=0)
        self.renderer.request(self._keys["table"], self.table_latents(), priority=1)

    def _on_model_ready(self, info) -> None:
        space = info.latent_space
        old, self.space = self.space, space
        if self.in_w():  # the groups' resolutions depend on the model's size (style_space.layer_groups)
            for name in S.GROUPS:
                tip = S.group_help(space.num_ws, name)
                self.group_checks[name].setToolTip(tip)
                self._group_heads[name].setToolTip(tip)
        for side in SIDES:
            item = self.items[side]
            kept = convert_items([item], old, space, self.renderer.class_weights) if item is not None else []
            self.items[side] = kept[0] if kept else None
            if self.items[side] is None:
                self.thumbs[side].set_picture(None, "empty")
                self.captions[side].setText("")
            else:
                self.renderer.request(self._keys[side], self.items[side].z, priority=1)
        if not self.in_w():
            self.result_picture = None
            self.preview.set_placeholder("Style mixing works in W: switch the explorer's space to W."
                                         if "w" in info.space_names else
                                         "Style mixing needs a style-based model (one with a style space).")
        else:
            self.preview.set_placeholder("Choose two images (A and B) to mix their styles.")
        self._render()

    def _on_ready(self, key: str, stamp: int, pictures) -> None:
        for side in SIDES:
            if key == self._keys[side]:
                self.thumbs[side].set_picture(pictures[0])
                return
        if key == self._keys["result"]:
            self.result_picture = pictures[0]
            self.preview.set_picture(pictures[0])
            self.preview.set_caption(self._caption())
        elif key == self._keys["table"]:
            self.table_pictures = pictures
            for t, pic in zip(self.table_thumbs, pictures):
                t.set_picture(pic)

    def _caption(self) -> str:
        groups = self.groups()
        if not groups:
            return "all of B"
        if len(groups) == len(S.GROUPS):
            return "all of A"
        return f"A's {' + '.join(groups)}, B's rest"

    def _update_enabled(self) -> None:
        on = self.in_w()
        self.note.setVisible(not on)
        for w in (self.swap_button, self.pad_button, self.bookmark_button, *self.group_checks.values()):
            w.setEnabled(on)
        ready = self.result_latent() is not None
        self.pad_button.setEnabled(ready)
        self.bookmark_button.setEnabled(ready and self.store is not None)

    # ----- actions ----------------------------------------------------------------------------------------
    def _on_to_pad(self) -> None:
        r = self.result_latent()
        if r is not None:
            self.send_to_pad.emit(LatentItem(r, f"mix ({self._caption()})", "style mixing"))

    def bookmark_result(self, name: str | None = None) -> str | None:
        r = self.result_latent()
        if r is None or self.store is None:
            return None
        if name is None:
            name, ok = QInputDialog.getText(self, "Bookmark", "Name for this mix:")
            if not ok or not name.strip():
                return None
        a, b = self.items["A"], self.items["B"]
        try:
            entry = self.store.add_latent(name, r, source=f"{a.label} ({' + '.join(self.groups())}) with {b.label}")
        except Exception as e:  # noqa: BLE001 - UserError / OSError: tell the user, keep going
            self.message.emit(str(e))
            return None
        self.message.emit(f"Bookmarked “{entry.name}”")
        return entry.name
