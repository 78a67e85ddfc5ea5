"""ArithmeticPanel: latent arithmetic over averaged exemplar sets, as in the DCGAN paper.

"man with glasses" − "man" + "woman" ≈ "woman with glasses": each slot holds one or more exemplars
(picked in the gallery, or bookmarks) whose latents are averaged, then the slots are added or
subtracted by their signs. The result renders live, with a strip interpolating from the base slot
(the one the difference is added to) to the result. The result can be saved as a bookmark, and the
difference (result − base, e.g. "glasses") as a named direction that the pad offers as an
"amount of glasses" slider and as a plane axis. GUI thread only.
"""

from __future__ import annotations

import string
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.engine.explore import latent as L
from studio.engine.images import make_grid
from studio.engine.words import counted
from studio.ui.explorer.common import LatentItem, Thumb, convert_items, heading, muted_label, unique_key
from studio.ui.widgets.image_view import ImageView

MIN_SLOTS = 3
MAX_SLOTS = 6
THUMB = 52


class SlotView(QFrame):
    """One signed slot: its exemplars and their average. GUI thread only."""

    changed = Signal()
    remove_requested = Signal()

    def __init__(self, name: str, sign: int, renderer, removable: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        self.sign = sign
        self.renderer = renderer
        self.items: list[LatentItem] = []
        self._key = unique_key(self, "thumbs")
        self._requested: dict[int, int] = {}  # stamp -> number of exemplars it rendered
        self.selection_source: Callable[[], list[LatentItem]] | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("SlotView { border: 1px solid #3c3d42; border-radius: 6px; background: #2a2b2f; }")

        self.sign_button = QPushButton()
        self.sign_button.setFixedSize(34, 30)
        self.sign_button.setToolTip("Add (+) or subtract (−) this slot")
        self.sign_button.clicked.connect(self.toggle_sign)
        self.name_label = QLabel(name)
        self.name_label.setObjectName("heading")
        self.count_label = muted_label("", wrap=False)
        self.add_button = QPushButton("Add selected")
        self.add_button.setToolTip("Add the images selected in the gallery to this slot")
        self.add_button.clicked.connect(self.add_selection)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.remove_button = QPushButton("✕")
        self.remove_button.setFixedWidth(28)
        self.remove_button.setToolTip("Remove this slot")
        self.remove_button.clicked.connect(self.remove_requested)
        self.remove_button.setVisible(removable)

        self.mean_thumb = Thumb(THUMB + 12)
        self.mean_thumb.setToolTip("The average of this slot's exemplars")
        self.thumbs_row = QHBoxLayout()
        self.thumbs_row.setSpacing(4)
        self.thumbs_row.setContentsMargins(0, 0, 0, 0)
        thumbs = QWidget()
        thumbs.setLayout(self.thumbs_row)
        self.scroll = QScrollArea()
        self.scroll.setWidget(thumbs)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setFixedHeight(THUMB + 12)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.empty_label = muted_label("Empty: select images in the gallery, then Add selected.")

        head = QHBoxLayout()
        head.addWidget(self.sign_button)
        head.addWidget(self.name_label)
        head.addWidget(self.count_label, 1)
        head.addWidget(self.add_button)
        head.addWidget(self.clear_button)
        head.addWidget(self.remove_button)
        body = QHBoxLayout()
        body.addWidget(self.scroll, 1)
        body.addWidget(self.empty_label, 1)
        body.addWidget(QLabel("="))
        body.addWidget(self.mean_thumb)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(4)
        lay.addLayout(head)
        lay.addLayout(body)
        renderer.ready.connect(self._on_ready)
        self._update()

    # ----- content ----------------------------------------------------------------------------------------
    def set_sign(self, sign: int) -> None:
        self.sign = 1 if sign >= 0 else -1
        self._update()
        self.changed.emit()

    def toggle_sign(self) -> None:
        self.set_sign(-self.sign)

    def add(self, items: list[LatentItem]) -> None:
        for it in items:
            self.items.append(LatentItem(it.z, it.label, it.source, labels=it.labels))
        self._update()
        self.changed.emit()

    def add_selection(self) -> None:
        items = self.selection_source() if self.selection_source else []
        if items:
            self.add(items)

    def remove_at(self, index: int) -> None:
        del self.items[index]
        self._update()
        self.changed.emit()

    def clear(self) -> None:
        if self.items:
            self.items.clear()
            self._update()
            self.changed.emit()

    def mean(self) -> np.ndarray | None:
        return L.mean_latent([i.z for i in self.items]) if self.items else None

    def slot(self) -> L.Slot:
        return L.Slot(self.sign, tuple(i.z for i in self.items))

    def item_classes(self) -> list[np.ndarray] | None:
        """Each exemplar's class weights (the explorer's chosen class for those drawn without one);
        None for a generator without classes or in W, where every w holds its class."""
        now = self.renderer.class_weights
        if now is None or self.renderer.space != "z":
            return None
        return [now if i.labels is None else i.labels for i in self.items]

    # ----- display ----------------------------------------------------------------------------------------
    def _update(self) -> None:
        self.sign_button.setText("+" if self.sign > 0 else "−")
        self.sign_button.setStyleSheet("QPushButton { padding: 0px; font-weight: 700; font-size: 18px; %s }"
                                       % ("color: #6ec88c;" if self.sign > 0 else "color: #f0645a;"))
        n = len(self.items)
        self.count_label.setText(counted(n, "exemplar") + (" averaged" if n > 1 else ""))
        self.scroll.setVisible(n > 0)
        self.empty_label.setVisible(n == 0)
        while self.thumbs_row.count():
            w = self.thumbs_row.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self._thumbs = []
        for i, it in enumerate(self.items):
            t = Thumb(THUMB)
            t.setToolTip(f"{it.label}\nright-click to remove")
            t.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            t.customContextMenuRequested.connect(lambda pos, i=i, t=t: self._thumb_menu(i, t.mapToGlobal(pos)))
            t.set_picture(None, "…")
            self.thumbs_row.addWidget(t)
            self._thumbs.append(t)
        self.thumbs_row.addStretch(1)
        self.mean_thumb.set_picture(None, "")
        if n and self.renderer.has_model:
            latents = np.stack([i.z for i in self.items] + [self.mean()])
            classes = self.item_classes()  # each exemplar as the class it was drawn as; the average as their mix
            labels = None if classes is None else np.stack(classes + [np.mean(classes, axis=0)])
            stamp = self.renderer.request(self._key, latents, priority=1, labels=labels)
            self._requested[stamp] = n

    def rerender(self) -> None:
        self._update()

    def _thumb_menu(self, index: int, global_pos) -> None:
        menu = QMenu(self)
        menu.addAction(f"Remove {self.items[index].label}", lambda: self.remove_at(index))
        menu.exec(global_pos)

    def _on_ready(self, key: str, stamp: int, pictures) -> None:
        if key != self._key:
            return
        n = self._requested.pop(stamp, None)
        self._requested = {s: v for s, v in self._requested.items() if s > stamp}
        if n is None or n != len(self.items) or len(pictures) != n + 1:
            return
        for t, pic in zip(self._thumbs, pictures[:n]):
            t.set_picture(pic)
        self.mean_thumb.set_picture(pictures[n], "avg" if n > 1 else "")


class ArithmeticPanel(QWidget):
    """Signed slots, the live result, the base-to-result strip, and saving. GUI thread only."""

    result_changed = Signal(object)  # result latent (dim,) or None
    send_to_pad = Signal(object)  # LatentItem: show the result on the pad
    directions_changed = Signal()  # a direction was saved (the pad refreshes its menus)
    bookmarks_changed = Signal()
    message = Signal(str)

    def __init__(self, renderer, parent: QWidget | None = None, strip_count: int = 7):
        super().__init__(parent)
        self.renderer = renderer
        self.store = None
        self.dim: int | None = None  # length of the latents in the explorer's space (None: no model)
        self.space = None  # that space (studio.engine.explore.spaces.LatentSpace)
        self.strip_count = strip_count
        self._selection_source: Callable[[], list[LatentItem]] | None = None
        self._key_result = unique_key(self, "result")
        self._key_strip = unique_key(self, "strip")
        self.result_picture: np.ndarray | None = None
        self.result_shown_for: np.ndarray | None = None  # the latent of the picture shown as the result
        self._result_pending: dict[int, np.ndarray] = {}
        self.slots: list[SlotView] = []

        self.slots_box = QVBoxLayout()
        self.slots_box.setSpacing(6)
        self.add_slot_button = QPushButton("+ Add slot")
        self.add_slot_button.clicked.connect(lambda: self.add_slot(1))
        self.base_combo = QComboBox()
        self.base_combo.setToolTip("The slot the difference is added to: the strip starts from its average")
        self._base_chosen = False
        self.base_combo.currentIndexChanged.connect(self._on_base_chosen)
        self.equation = QLabel("")
        self.equation.setObjectName("heading")
        self.equation.setWordWrap(True)

        self.result_view = ImageView("Fill the slots to see the result")
        self.result_view.setMinimumSize(180, 180)
        self.strip_view = ImageView("")
        self.strip_view.setMinimumSize(200, 90)
        self.strip_view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.strip_view.setMaximumHeight(120)
        self.strip_spin = QSpinBox()
        self.strip_spin.setRange(3, 15)
        self.strip_spin.setValue(strip_count)
        self.strip_spin.setSuffix(" steps")
        self.strip_spin.valueChanged.connect(self._on_strip_count)
        self.strip_mode = QComboBox()
        self.strip_mode.addItem("straight (lerp)", "lerp")
        self.strip_mode.addItem("spherical (slerp)", "slerp")
        self.strip_mode.currentIndexChanged.connect(lambda _: self._recompute())

        # Off by default: the plain sum is the DCGAN paper's arithmetic, and what the result is tested to be
        self.typical_check = QCheckBox("Typical length")
        self.typical_check.setToolTip(
            "An average of several latents lies nearer the centre of the latent space, where pictures\n"
            "come out blander; so does a sum of averages. Rescaling the result to the length of a single\n"
            "sample keeps it as vivid as one (on the demo faces, “glasses” arithmetic works about 80% of\n"
            "the time instead of 60%). Saved differences (directions) are never rescaled.")
        self.typical_check.toggled.connect(lambda _: self._recompute())

        self.save_result_button = QPushButton("Save result…")
        self.save_result_button.setToolTip("Bookmark the result's latent under a name")
        self.save_result_button.clicked.connect(lambda: self.save_result())
        self.save_direction_button = QPushButton("Save difference as direction…")
        self.save_direction_button.setToolTip("Save result − base (e.g. “glasses”) as a direction: the pad offers it\n"
                                              "as an “amount of …” slider on any image and as a plane axis")
        self.save_direction_button.clicked.connect(lambda: self.save_difference())
        self.pad_button = QPushButton("Show on pad")
        self.pad_button.setToolTip("Centre the pad's plane on the result")
        self.pad_button.clicked.connect(self._send_to_pad)

        slots_col = QVBoxLayout()
        slots_col.addWidget(heading("Slots"))
        slots_col.addWidget(muted_label("Each slot averages its exemplars; the slots are then added or subtracted."))
        slots_col.addLayout(self.slots_box)
        row = QHBoxLayout()
        row.addWidget(self.add_slot_button)
        row.addStretch(1)
        row.addWidget(QLabel("Base"))
        row.addWidget(self.base_combo)
        slots_col.addLayout(row)
        slots_col.addStretch(1)
        slots_widget = QWidget()
        slots_widget.setLayout(slots_col)
        slots_scroll = QScrollArea()
        slots_scroll.setWidget(slots_widget)
        slots_scroll.setWidgetResizable(True)
        slots_scroll.setFrameShape(QFrame.Shape.NoFrame)

        result_col = QVBoxLayout()
        equation_row = QHBoxLayout()
        equation_row.addWidget(self.equation, 1)
        equation_row.addWidget(self.typical_check, 0, Qt.AlignmentFlag.AlignTop)
        result_col.addLayout(equation_row)
        result_col.addWidget(self.result_view, 1)
        strip_head = QHBoxLayout()
        strip_head.addWidget(QLabel("From base to result"))
        strip_head.addStretch(1)
        strip_head.addWidget(self.strip_mode)
        strip_head.addWidget(self.strip_spin)
        result_col.addLayout(strip_head)
        result_col.addWidget(self.strip_view)
        buttons = QGridLayout()
        buttons.addWidget(self.save_result_button, 0, 0)
        buttons.addWidget(self.pad_button, 0, 1)
        buttons.addWidget(self.save_direction_button, 1, 0, 1, 2)
        result_col.addLayout(buttons)

        root = QHBoxLayout(self)
        root.setContentsMargins(8, 8, 8, 8)
        root.addWidget(slots_scroll, 3)
        root.addLayout(result_col, 2)

        for sign in (1, -1, 1):
            self.add_slot(sign)
        renderer.ready.connect(self._on_ready)
        renderer.model_ready.connect(self._on_model_ready)
        if renderer.info is not None:
            self._on_model_ready(renderer.info)
        self._recompute()

    # ----- slots ------------------------------------------------------------------------------------------
    def add_slot(self, sign: int = 1) -> SlotView | None:
        if len(self.slots) >= MAX_SLOTS:
            return None
        name = string.ascii_uppercase[len(self.slots)]
        slot = SlotView(name, sign, self.renderer, removable=len(self.slots) >= MIN_SLOTS)
        slot.selection_source = self._selection_source
        slot.changed.connect(self._recompute)
        slot.remove_requested.connect(lambda s=slot: self.remove_slot(s))
        self.slots.append(slot)
        self.slots_box.addWidget(slot)
        self.add_slot_button.setEnabled(len(self.slots) < MAX_SLOTS)
        self._refresh_base_combo()
        self._recompute()
        return slot

    def remove_slot(self, slot: SlotView) -> None:
        if len(self.slots) <= MIN_SLOTS or slot not in self.slots:
            return
        self.slots.remove(slot)
        slot.setParent(None)
        slot.deleteLater()
        for i, s in enumerate(self.slots):  # re-letter: A, B, C, ...
            s.name = string.ascii_uppercase[i]
            s.name_label.setText(s.name)
        self.add_slot_button.setEnabled(True)
        self._refresh_base_combo()
        self._recompute()

    def slot_names(self) -> list[str]:
        return [s.name for s in self.slots]

    def set_selection_source(self, fn: Callable[[], list[LatentItem]] | None) -> None:
        self._selection_source = fn
        for s in self.slots:
            s.selection_source = fn

    def set_store(self, store) -> None:
        self.store = store
        self._update_buttons()

    def _refresh_base_combo(self) -> None:
        current = self.base_combo.currentData()
        self.base_combo.blockSignals(True)
        self.base_combo.clear()
        for i, s in enumerate(self.slots):
            self.base_combo.addItem(s.name, i)
        # default base: the last slot (the "woman" of "glasses man − man + woman"), unless chosen
        chosen = self._base_chosen and current is not None and current < len(self.slots)
        idx = current if chosen else len(self.slots) - 1
        self.base_combo.setCurrentIndex(idx)
        self.base_combo.blockSignals(False)

    def _on_base_chosen(self) -> None:
        self._base_chosen = True
        self._recompute()

    def base_index(self) -> int:
        i = self.base_combo.currentData()
        return len(self.slots) - 1 if i is None else int(i)

    # ----- maths ------------------------------------------------------------------------------------------
    def result_latent(self) -> np.ndarray | None:
        """sum(sign * mean(slot)) over the filled slots (rescaled to the typical length when that
        option is on), or None when all are empty."""
        r = self._sum()
        if r is None or not self.typical_check.isChecked():
            return r
        return self.space.to_typical(r) if self.space is not None else L.to_typical_length(r)

    def _sum(self) -> np.ndarray | None:
        slots = [s.slot() for s in self.slots]
        if not any(s.latents for s in slots):
            return None
        return L.combine(slots)

    def result_classes(self) -> np.ndarray | None:
        """Class weights of the result (arithmetic across classes: the slots' classes combine as their
        latents do, see `latent.combine_classes`); None without classes, in W, or when the classes
        cancel out (then the chosen class is drawn)."""
        slots = [(s.sign, s.item_classes()) for s in self.slots if s.items]
        if not slots or any(c is None for _, c in slots):
            return None
        try:
            return L.combine_classes(slots)
        except ValueError:
            return None

    def base_latent(self) -> np.ndarray | None:
        base = self.slots[self.base_index()] if self.slots else None
        return base.mean() if base is not None else None

    def difference(self) -> np.ndarray | None:
        """result − base slot's average (for A − B + C with base C: mean(A) − mean(B)); from the plain
        sum, so a direction means the same with or without the typical-length option."""
        r, b = self._sum(), self.base_latent()
        if r is None or b is None:
            return None
        sign = self.slots[self.base_index()].sign
        return (r.astype(np.float64) - sign * b.astype(np.float64)).astype(np.float32)

    def equation_text(self, rescaled: bool = True) -> str:
        parts = []
        for s in self.slots:
            if not s.items:
                continue
            term = s.name if len(s.items) == 1 else f"avg({s.name})"
            if not parts:
                parts.append(term if s.sign > 0 else f"− {term}")
            else:
                parts.append(f"{'+' if s.sign > 0 else '−'} {term}")
        if not parts:
            return "Empty: add exemplars to the slots"
        return " ".join(parts) + self._classes_text() + (
            ", at typical length" if rescaled and self.typical_check.isChecked() else "")

    def _classes_text(self) -> str:
        """", as butterfly" (or a mix, "as 70% moth + 30% butterfly") when the exemplars' classes differ."""
        names = self.renderer.info.classes if self.renderer.info is not None else ()
        weights = self.result_classes()
        per_item = [c for s in self.slots for c in (s.item_classes() or [])]
        if weights is None or not names or all(np.array_equal(c, per_item[0]) for c in per_item):
            return ""
        shares = [(w, n) for w, n in sorted(zip(weights, names), reverse=True) if w >= 0.005]
        if len(shares) == 1:
            return f", as {shares[0][1]}"
        return ", as " + " + ".join(f"{w:.0%} {n}" for w, n in shares)

    # ----- rendering --------------------------------------------------------------------------------------
    def _on_model_ready(self, info) -> None:
        space = info.latent_space
        if self.space is None or (self.space.name, self.dim) != (space.name, space.dim):
            for s in self.slots:
                s.items[:] = convert_items(s.items, self.space, space, self.renderer.class_weights)
            self.space, self.dim = space, space.dim
        for s in self.slots:
            s.rerender()
        self._recompute()

    def _on_strip_count(self, n: int) -> None:
        self.strip_count = n
        self._recompute()

    def _recompute(self) -> None:
        self.equation.setText(self.equation_text())
        self._update_buttons()
        r = self.result_latent()
        self.result_changed.emit(r)
        if r is None or not self.renderer.has_model:
            self.result_view.set_picture(None)
            self.strip_view.set_picture(None)
            self.result_picture = None
            self.result_shown_for = None
            return
        classes = self.result_classes()
        stamp = self.renderer.request(self._key_result, r, labels=classes)
        done = self.renderer.worker.finished_stamp(self._key_result)
        self._result_pending = {s: v for s, v in self._result_pending.items() if s > done}
        self._result_pending[stamp] = r
        base = self.base_latent()
        if base is not None:
            start = base if self.slots[self.base_index()].sign > 0 else -base
            strip_classes = None
            if classes is not None:  # from the base slot's class to the result's, as the latent goes
                base_classes = np.mean(self.slots[self.base_index()].item_classes(), axis=0)
                t = np.linspace(0.0, 1.0, self.strip_count)[:, None]
                strip_classes = ((1 - t) * base_classes + t * classes).astype(np.float32)
            self.renderer.request(self._key_strip, L.strip(start, r, self.strip_count, self.strip_mode.currentData()),
                                  priority=1, labels=strip_classes)
        else:
            self.strip_view.set_picture(None)

    def _on_ready(self, key: str, stamp: int, pictures) -> None:
        if key == self._key_result:
            self.result_picture = pictures[0]
            self.result_shown_for = self._result_pending.pop(stamp, None)
            self.result_view.set_picture(pictures[0])
        elif key == self._key_strip:
            self.strip_view.set_picture(make_grid(pictures, nrow=len(pictures), padding=2))

    def _update_buttons(self) -> None:
        has_result = any(s.items for s in self.slots)
        self.save_result_button.setEnabled(has_result and self.store is not None)
        self.pad_button.setEnabled(has_result)
        diff = self.difference() if has_result else None
        self.save_direction_button.setEnabled(diff is not None and bool(np.any(diff)) and self.store is not None)

    # ----- saving -----------------------------------------------------------------------------------------
    def save_result(self, name: str | None = None) -> str | None:
        """Bookmark the result latent; asks for a name unless given."""
        r = self.result_latent()
        if r is None or self.store is None:
            return None
        if name is None:
            name, ok = QInputDialog.getText(self, "Save result", "Name for the result:", text=self.equation_text())
            if not ok or not name.strip():
                return None
        try:
            entry = self.store.add_latent(name, r, source=self.equation_text())
        except Exception as e:  # noqa: BLE001 - UserError / OSError: tell the user
            self.message.emit(str(e))
            return None
        self.message.emit(f"Saved “{entry.name}”")
        self.bookmarks_changed.emit()
        return entry.name

    def save_difference(self, name: str | None = None) -> str | None:
        """Save result − base as a named direction (e.g. "glasses"); asks for a name unless given."""
        d = self.difference()
        if d is None or self.store is None:
            return None
        if name is None:
            name, ok = QInputDialog.getText(self, "Save direction",
                                            "What does this difference add? (e.g. glasses, smile, red)")
            if not ok or not name.strip():
                return None
        terms = [s.name for i, s in enumerate(self.slots) if i != self.base_index() and s.items]
        try:
            plain = self.equation_text(rescaled=False)
            entry = self.store.add_direction(name, d, source=f"{plain} minus base {self.slots[self.base_index()].name}"
                                             if terms else plain)
        except Exception as e:  # noqa: BLE001
            self.message.emit(str(e))
            return None
        self.message.emit(f"Saved direction “{entry.name}”: use it on the pad as “amount of {entry.name}”")
        self.directions_changed.emit()
        return entry.name

    def _send_to_pad(self) -> None:
        r = self.result_latent()
        if r is not None:
            text = self.equation_text()
            self.send_to_pad.emit(LatentItem(r, text, text, labels=self.result_classes()))
