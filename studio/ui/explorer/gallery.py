"""GalleryView: generate N samples, pick, favourite, delete; favourites and bookmarks too.

The samples of "seed S, N images" are exactly `gan-studio generate --seed S --count N`'s images.
Selections feed the pad's corners and the arithmetic panel's slots. Favourites and bookmarks live in
the project's explore.json (see studio.engine.explore.bookmarks). GUI thread only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.ui.explorer.common import (
    ElidedLabel,
    LatentItem,
    SeedClass,
    badge,
    pixmap,
    placeholder_pixmap,
    unique_key,
)

SOURCES = (("samples", "Samples"), ("favourites", "Favourites"), ("bookmarks", "Bookmarks"))
ROLE = Qt.ItemDataRole.UserRole


def _key(it: LatentItem) -> bytes:
    """The picture cache's key: the latent, and the class it keeps if it keeps one (a saved z of a
    generator with classes draws as its own class, not the chosen one)."""
    return it.z.tobytes() if it.labels is None else it.z.tobytes() + b"|" + it.labels.tobytes()


class GalleryView(QWidget):
    """A grid of generated images to pick from. Needs the shared RenderController."""

    selection_changed = Signal()
    activated = Signal(object)  # LatentItem double-clicked (e.g. show it on the pad)
    message = Signal(str)
    send_requested = Signal(str, object)  # (target, [LatentItem]): "corner:0".."corner:3", "slot:0".., "center"

    def __init__(self, renderer, parent: QWidget | None = None, icon_size: int = 88):
        super().__init__(parent)
        self.renderer = renderer
        self.store = None
        self.dim: int | None = None  # length of the latents in the explorer's space (None: no model)
        self.space = None  # that space (studio.engine.explore.spaces.LatentSpace)
        self._samples: list[LatentItem] = []
        self._class = SeedClass()  # the class the samples were drawn as
        self._pictures: dict[bytes, np.ndarray] = {}  # latent bytes -> picture (same latent, same picture)
        self._requested: dict[int, list[LatentItem]] = {}  # stamp -> items of a render in flight
        self._shown: list[LatentItem] = []
        self._key = unique_key(self, "thumbs")
        self._icon = icon_size
        self._slot_names: list[str] = []

        self.source_combo = QComboBox()
        for data, text in SOURCES:
            self.source_combo.addItem(text, data)
        self.source_combo.currentIndexChanged.connect(self.refresh)
        self.count_spin = QSpinBox()
        self.count_spin.setRange(1, 256)
        self.count_spin.setValue(24)
        self.count_spin.setToolTip("How many images to generate")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setPrefix("seed ")
        self.seed_spin.setToolTip("Same seed, same images (as `gan-studio generate --seed`)")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setObjectName("primary")
        self.generate_button.clicked.connect(lambda: self.generate())  # not clicked(bool) as `show`
        self.next_button = QPushButton("Next seed")
        self.next_button.setToolTip("Generate the next seed's images")
        self.next_button.clicked.connect(self.next_seed)

        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setIconSize(QSize(icon_size, icon_size))
        self.list.setGridSize(QSize(icon_size + 12, icon_size + 26))
        self.list.setSpacing(2)
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(False)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.itemSelectionChanged.connect(self._on_selection)
        self.list.itemDoubleClicked.connect(lambda it: self.activated.emit(it.data(ROLE)))

        self.favourite_button = QPushButton("★ Favourite")
        self.favourite_button.setToolTip("Mark or unmark the selected images as favourites (F)")
        self.favourite_button.clicked.connect(self.toggle_favourite)
        self.bookmark_button = QPushButton("Bookmark…")
        self.bookmark_button.setToolTip("Save the selected image under a name")
        self.bookmark_button.clicked.connect(lambda: self.bookmark_selected())
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Remove the selected images from this list (Delete)")
        self.delete_button.clicked.connect(self.delete_selected)
        self.use_button = QPushButton("Use ▾")
        self.use_button.setToolTip("Send the selection to a pad corner or an arithmetic slot")
        self.use_button.clicked.connect(
            lambda: self._use_menu().exec(self.use_button.mapToGlobal(self.use_button.rect().bottomLeft())))
        # beside the source list, not on a line of its own: on a 1280x720 screen that line is what
        # pushed the pad's controls below the fold; elided, so a long hint never widens the panel
        self.info_label = ElidedLabel()

        for text, key, slot in (("Favourite", "F", self.toggle_favourite), ("Delete", QKeySequence.StandardKey.Delete,
                                                                            self.delete_selected)):
            act = QAction(text, self)
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(slot)
            self.list.addAction(act)

        top = QHBoxLayout()
        top.addWidget(self.source_combo)
        top.addWidget(self.info_label, 1)
        self._top_row = top  # the explorer adds its "Project a photo…" here, where the row has room
        gen = QHBoxLayout()
        gen.addWidget(self.count_spin)
        gen.addWidget(self.seed_spin, 1)
        gen.addWidget(self.generate_button)
        gen.addWidget(self.next_button)
        actions = QHBoxLayout()
        actions.addWidget(self.favourite_button)
        actions.addWidget(self.bookmark_button)
        actions.addWidget(self.delete_button)
        actions.addWidget(self.use_button)
        root = QVBoxLayout(self)
        root.setContentsMargins(8, 8, 8, 8)
        root.addLayout(top)
        root.addLayout(gen)
        root.addWidget(self.list, 1)
        root.addLayout(actions)

        renderer.ready.connect(self._on_ready)
        renderer.model_ready.connect(self._on_model_ready)
        if renderer.info is not None:
            self._on_model_ready(renderer.info)
        self._update_buttons()

    # ----- sources ------------------------------------------------------------------------------------------
    def add_to_top_row(self, widget: QWidget) -> None:
        """Place a widget at the right of the row with the source list (it has room to spare)."""
        self._top_row.addWidget(widget)

    def set_store(self, store) -> None:
        self.store = store
        self.refresh()

    def set_slot_names(self, names: list[str]) -> None:
        """Names of the arithmetic slots offered in the "Use" menu."""
        self._slot_names = list(names)

    @property
    def source(self) -> str:
        return self.source_combo.currentData()

    def set_source(self, source: str) -> None:
        self.source_combo.setCurrentIndex([s for s, _ in SOURCES].index(source))

    def _on_model_ready(self, info) -> None:
        space = info.latent_space
        if self.space is None or (self.space.name, self.dim) != (space.name, space.dim):
            # Another space or model: the same seeds again, as latents of the new space (same pictures).
            self.space, self.dim = space, space.dim
            self._samples = []
            self._pictures.clear()
            # Fill the samples without leaving the list the user chose while the model loaded
            # (bookmarks, favourites): only the Generate button switches to the samples.
            self.generate(show=False)
        else:
            # New weights: same latents, new pictures. Another class in W: the samples are mapped
            # again from their seeds (bookmarks and favourites keep their stored w).
            self._samples = self._class.redraw(self._samples, space, self.renderer.class_weights)
            self._pictures.clear()
            self.refresh()

    # ----- generating -------------------------------------------------------------------------------------
    def generate(self, show: bool = True) -> None:
        """Generate `count` images of `seed` into the Samples list (and show that list, with `show`)."""
        if self.space is None:
            return
        seed, count = self.seed_spin.value(), self.count_spin.value()
        labels = self.renderer.class_weights
        z = self.space.random_latents(seed, count, labels)  # in W: as the chosen class
        self._class.remember(labels)
        self._samples = [LatentItem(z[i], f"seed {seed} #{i}", f"seed {seed} #{i} of {count}") for i in range(count)]
        if self.source != "samples" and show:
            self.set_source("samples")
        else:
            self.refresh()

    def next_seed(self) -> None:
        self.seed_spin.setValue(self.seed_spin.value() + 1)
        self.generate()

    def all_drawn(self) -> bool:
        """Every listed item has its picture (for screenshots and tests)."""
        return all(_key(it) in self._pictures for it in self._shown)

    def items(self) -> list[LatentItem]:
        """The items listed now, in order."""
        return list(self._shown)

    def refresh(self) -> None:
        """Rebuild the list from the current source; render what has no picture yet."""
        if self.source == "samples":
            items = self._samples
        elif self.store is None:
            items = []
        elif self.source == "favourites":
            items = [LatentItem(e.vector, e.source or "favourite", e.source, labels=self._drawable(e.labels))
                     for e in self.store.favourites]
        else:
            items = [LatentItem(e.vector, e.name, f"bookmark {e.name}", labels=self._drawable(e.labels))
                     for e in self.store.latents]
        self._shown = list(items)
        self.list.clear()
        missing = []
        for it in items:
            w = QListWidgetItem(it.label)
            w.setData(ROLE, it)
            w.setToolTip(it.source or it.label)
            pic = self._picture_for(it)
            if pic is None:
                missing.append(it)
            self._set_icon(w, it, pic)
            self.list.addItem(w)
        if missing and self.dim is not None:
            labels = None  # the chosen class, unless an item keeps the class it was saved as
            if any(m.labels is not None for m in missing):
                now = self.renderer.class_weights
                labels = np.stack([now if m.labels is None else m.labels for m in missing])
            stamp = self.renderer.request(self._key, np.stack([m.z for m in missing]), priority=1, labels=labels)
            self._requested[stamp] = missing
        self._update_info()
        self._update_buttons()

    def _drawable(self, labels: np.ndarray | None) -> np.ndarray | None:
        """A saved entry's class weights, if the model draws classes and has as many as they name (a
        project trained again with other classes draws it as the chosen class instead)."""
        now = self.renderer.class_weights
        if labels is None or now is None or len(labels) != len(now):
            return None
        return labels

    def _picture_for(self, it: LatentItem) -> np.ndarray | None:
        return self._pictures.get(_key(it))

    def _set_icon(self, w: QListWidgetItem, it: LatentItem, pic) -> None:
        fav = self.store is not None and self.source != "favourites" and self.store.is_favourite(it.z)
        base = pixmap(pic, self._icon) if pic is not None else placeholder_pixmap(self._icon, "…")
        w.setIcon(QIcon(badge(base, favourite=fav)))

    def _on_ready(self, key: str, stamp: int, pictures) -> None:
        if key != self._key:
            return
        requested = self._requested.pop(stamp, [])
        self._requested = {s: v for s, v in self._requested.items() if s > stamp}  # older ones never come
        for it, pic in zip(requested, pictures):
            self._pictures[_key(it)] = pic
        for row in range(self.list.count()):
            w = self.list.item(row)
            it = w.data(ROLE)
            pic = self._pictures.get(_key(it))
            if pic is not None:
                self._set_icon(w, it, pic)

    def picture(self, item: LatentItem) -> np.ndarray | None:
        return self._pictures.get(_key(item))

    # ----- selection and actions ----------------------------------------------------------------------------
    def selected_items(self) -> list[LatentItem]:
        """The selected items, each carrying the class its picture shows (z with classes: the chosen
        class now), so that arithmetic across classes knows what each exemplar is; in W the w holds it."""
        items = [w.data(ROLE) for w in self.list.selectedItems()]
        drawn_as = self.renderer.class_weights
        if drawn_as is None or self.space is None or self.space.name != "z":
            return items
        return [it if it.labels is not None else dataclasses.replace(it, labels=drawn_as) for it in items]

    def select_rows(self, rows: list[int]) -> None:
        self.list.clearSelection()
        for r in rows:
            self.list.item(r).setSelected(True)

    def _on_selection(self) -> None:
        self._update_buttons()
        self._update_info()
        self.selection_changed.emit()

    def _update_buttons(self) -> None:
        n = len(self.list.selectedItems())
        has_store = self.store is not None
        self.favourite_button.setEnabled(n > 0 and has_store)
        self.bookmark_button.setEnabled(n == 1 and has_store)
        self.delete_button.setEnabled(n > 0)
        self.use_button.setEnabled(n > 0)
        self.generate_button.setEnabled(self.dim is not None)
        self.next_button.setEnabled(self.dim is not None)
        if self.source == "favourites":
            self.favourite_button.setText("☆ Unfavourite")
        else:
            self.favourite_button.setText("★ Favourite")

    def _update_info(self) -> None:
        n, sel = self.list.count(), len(self.list.selectedItems())
        what = {"samples": "images", "favourites": "favourites", "bookmarks": "bookmarks"}[self.source]
        text = f"{n} {what}" + (f" · {sel} selected" if sel else "")
        if n == 0 and self.source == "favourites":
            text = "No favourites yet: select images and press ★ Favourite (F)."
        elif n == 0 and self.source == "bookmarks":
            text = "No bookmarks yet: save an image with Bookmark…"
        self.info_label.setText(text)

    def toggle_favourite(self) -> None:
        """Favourite the selection (or unfavourite it, if every selected image already is one)."""
        items = self.selected_items()
        if not items or self.store is None:
            return
        try:
            if self.source == "favourites" or all(self.store.is_favourite(i.z) for i in items):
                for it in items:
                    self.store.remove_favourite(it.z)
                self.message.emit(f"Removed {len(items)} from favourites")
            else:
                for it in items:
                    self.store.add_favourite(it.z, source=it.source or it.label, labels=it.labels)
                self.message.emit(f"{len(items)} added to favourites")
        except Exception as e:  # noqa: BLE001 - a disk problem: say so, keep going
            self.message.emit(str(e))
        rows = [self.list.row(w) for w in self.list.selectedItems()]
        self.refresh()
        if self.source != "favourites":
            self.select_rows([r for r in rows if r < self.list.count()])

    def delete_selected(self) -> None:
        """Remove the selection from the list shown (favourites and bookmarks: from the project)."""
        items = self.selected_items()
        if not items:
            return
        ids = {i.id for i in items}
        if self.source == "samples":
            self._samples = [s for s in self._samples if s.id not in ids]
        elif self.store is not None:
            if self.source == "bookmarks":
                names = ", ".join(i.label for i in items)
                answer = QMessageBox.question(self, "Delete bookmarks", f"Delete the bookmark(s) {names}?")
                if answer != QMessageBox.StandardButton.Yes:
                    return
            try:
                for it in items:
                    if self.source == "favourites":
                        self.store.remove_favourite(it.z)
                    else:
                        self.store.remove_latent(it.label)
            except Exception as e:  # noqa: BLE001
                self.message.emit(str(e))
        self.refresh()

    def bookmark_selected(self, name: str | None = None) -> str | None:
        items = self.selected_items()
        if len(items) != 1 or self.store is None:
            return None
        if name is None:
            name, ok = QInputDialog.getText(self, "Bookmark", "Name for this image:", text="")
            if not ok or not name.strip():
                return None
        try:
            entry = self.store.add_latent(name, items[0].z, source=items[0].source or items[0].label,
                                          labels=items[0].labels)
        except Exception as e:  # noqa: BLE001
            self.message.emit(str(e))
            return None
        self.message.emit(f"Bookmarked “{entry.name}”")
        if self.source == "bookmarks":
            self.refresh()
        return entry.name

    def _use_menu(self) -> QMenu:
        items = self.selected_items()
        menu = QMenu(self)
        corners = menu.addMenu("Pad corner")
        for i, name in enumerate(("Top left", "Top right", "Bottom left", "Bottom right")):
            corners.addAction(name, lambda i=i: self.send_requested.emit(f"corner:{i}", items[:1]))
        corners.addSeparator()
        act = corners.addAction("All four (first four selected)",
                                lambda: self.send_requested.emit("corners", items[:4]))
        act.setEnabled(len(items) >= 4)
        menu.addAction("Centre of the pad's plane", lambda: self.send_requested.emit("center", items[:1]))
        if self.space is not None and self.space.groups:
            act = menu.addAction("Mix styles (first two selected)", lambda: self.send_requested.emit("mix", items[:2]))
            act.setEnabled(len(items) >= 2)
        if self._slot_names:
            slots = menu.addMenu("Arithmetic slot")
            for i, name in enumerate(self._slot_names):
                slots.addAction(f"Add to {name}", lambda i=i: self.send_requested.emit(f"slot:{i}", items))
        return menu

    def _context_menu(self, pos) -> None:
        if not self.selected_items():
            return
        menu = self._use_menu()
        menu.addSeparator()
        menu.addAction(self.favourite_button.text(), self.toggle_favourite)
        if len(self.selected_items()) == 1:
            menu.addAction("Bookmark…", lambda: self.bookmark_selected())
        menu.addAction("Delete", self.delete_selected)
        menu.exec(self.list.viewport().mapToGlobal(pos))
