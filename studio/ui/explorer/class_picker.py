"""The explorer's class controls, for generators trained with classes (sub-folders): which class
the pad and gallery draw, and a class walk (one latent drawn on the way from one class to another,
saved as a strip or an animation). GUI thread only; pictures are made on the render thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.ui.explorer.common import muted_label, pixmap, unique_key

STRIP_SIDE = 96  # px per picture of the walk strip on screen


def one_hot(index: int, count: int) -> np.ndarray:
    w = np.zeros(count, np.float32)
    w[index] = 1.0
    return w


class ClassPicker(QWidget):
    """'Class: [moths v]  [Class walk…]': every picture of the explorer is drawn as the chosen class.
    Shown only for a generator with classes."""

    walk_requested = Signal()

    def __init__(self, renderer, parent: QWidget | None = None):
        super().__init__(parent)
        self.renderer = renderer
        self.classes: tuple[str, ...] = ()
        self.combo = QComboBox()
        self.combo.setToolTip("The class (sub-folder) the pad, the gallery and arithmetic draw")
        self.combo.currentIndexChanged.connect(self._on_chosen)
        self.walk_button = QPushButton("Class walk…")
        self.walk_button.setToolTip("The pad's image on its way from one class to another: a strip or an animation")
        self.walk_button.clicked.connect(self.walk_requested)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Class"))
        row.addWidget(self.combo)
        row.addWidget(self.walk_button)
        row.addStretch(1)
        self.hide()
        renderer.model_ready.connect(self._on_model_ready)
        if renderer.info is not None:
            self._on_model_ready(renderer.info)

    @property
    def current(self) -> int:
        return max(0, self.combo.currentIndex())

    def set_class(self, name_or_index: str | int) -> None:
        index = self.classes.index(name_or_index) if isinstance(name_or_index, str) else int(name_or_index)
        self.combo.setCurrentIndex(index)

    def _on_model_ready(self, info) -> None:
        classes = tuple(getattr(info, "classes", ()) or ())
        self.setVisible(bool(classes))
        if classes == self.classes:
            return
        self.classes = classes
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(list(classes))
        self.combo.setCurrentIndex(0 if classes else -1)
        self.combo.blockSignals(False)

    def _on_chosen(self, index: int) -> None:
        if self.classes and index >= 0:
            self.renderer.set_class_weights(one_hot(index, len(self.classes)))


class ClassWalkDialog(QDialog):
    """A latent walked from one class to another: the strip on screen, saved as a PNG strip or a
    looping GIF/MP4/WebP. Rendering and saving run on the render thread, which owns the model."""

    saved = Signal(str)  # path of a finished file

    def __init__(self, renderer, latent: np.ndarray, classes: tuple[str, ...], src: int = 0,
                 exports_dir: Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Class walk")
        self.renderer = renderer
        self.latent = np.asarray(latent, np.float32).reshape(-1)
        self.classes = classes
        self.exports_dir = exports_dir
        self.pictures: np.ndarray | None = None  # the strip shown now (steps, H, W, C)
        self._strip_key = unique_key(self, "strip")
        self._save_key = unique_key(self, "save")
        self._strip_stamp = 0

        self.from_combo, self.to_combo = QComboBox(), QComboBox()
        for combo in (self.from_combo, self.to_combo):
            combo.addItems(list(classes))
        self.from_combo.setCurrentIndex(src)
        self.to_combo.setCurrentIndex((src + 1) % len(classes))
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(3, 16)
        self.steps_spin.setValue(8)
        self.steps_spin.setToolTip("Pictures in the strip")
        self.strip = QLabel()
        self.strip.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.strip.setMinimumHeight(STRIP_SIDE + 8)
        self.status = muted_label("", wrap=True)
        self.save_strip_button = QPushButton("Save strip…")
        self.save_animation_button = QPushButton("Save animation…")
        self.save_strip_button.clicked.connect(lambda: self._ask_and_save(".png"))
        self.save_animation_button.clicked.connect(lambda: self._ask_and_save(".gif"))
        close = QPushButton("Close")
        close.clicked.connect(self.close)

        top = QHBoxLayout()
        for w in (QLabel("From"), self.from_combo, QLabel("to"), self.to_combo, QLabel("Steps"), self.steps_spin):
            top.addWidget(w)
        top.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_strip_button)
        buttons.addWidget(self.save_animation_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        root = QVBoxLayout(self)
        root.addLayout(top)
        root.addWidget(self.strip, 1)
        root.addWidget(self.status)
        root.addLayout(buttons)

        for combo in (self.from_combo, self.to_combo):
            combo.currentIndexChanged.connect(lambda _: self.render())
        self.steps_spin.valueChanged.connect(lambda _: self.render())
        renderer.computed.connect(self._on_computed)
        self.render()

    @property
    def src(self) -> int:
        return self.from_combo.currentIndex()

    @property
    def dst(self) -> int:
        return self.to_combo.currentIndex()

    def render(self) -> None:
        from studio.engine.explore.class_walk import class_walk

        z, src, dst, steps = self.latent, self.src, self.dst, self.steps_spin.value()
        self.status.setText(f"{self.classes[src]} → {self.classes[dst]}: drawing…")
        self._strip_stamp = self.renderer.compute(self._strip_key, lambda r: class_walk(r.model, z, src, dst, steps),
                                                  priority=0)

    def save(self, path: Path | str) -> None:
        """Save the walk now shown to `path` (.png: the strip; .gif/.mp4/.webp: an animation there and
        back) on the render thread; `saved(path)` follows, or the status line says why not."""
        from studio.engine.explore.class_walk import export_class_walk

        z, src, dst, steps = self.latent, self.src, self.dst, self.steps_spin.value()
        path = Path(path)
        self.status.setText(f"Saving {path.name}…")

        def job(r):
            try:
                return export_class_walk(path, r.model, z, src, dst, steps=steps)
            except Exception as e:  # noqa: BLE001 - told to the user in the status line
                return e

        self.renderer.compute(self._save_key, job, priority=2)

    def _ask_and_save(self, ext: str) -> None:
        name = f"class-walk-{self.classes[self.src]}-to-{self.classes[self.dst]}{ext}"
        start = str((self.exports_dir or Path.home()) / name)
        kinds = "PNG strip (*.png)" if ext == ".png" else "Animation (*.gif *.mp4 *.webp)"
        path, _ = QFileDialog.getSaveFileName(self, "Save the class walk", start, kinds)
        if path:
            self.save(path)

    def _on_computed(self, key: str, stamp: int, result) -> None:
        if key == self._strip_key and stamp == self._strip_stamp:
            self.pictures = result
            self._show_strip(result)
            self.status.setText(f"{self.classes[self.src]} → {self.classes[self.dst]}, "
                                f"{len(result)} steps along the line between the two classes' embeddings.")
        elif key == self._save_key:
            if isinstance(result, Exception):
                self.status.setText(str(result) if str(result).endswith(".") else f"Could not save: {result}.")
            else:
                self.status.setText(f"Saved {result}.")
                self.saved.emit(str(result))

    def _show_strip(self, pictures: np.ndarray) -> None:
        from studio.engine.images import make_grid

        strip = make_grid(np.stack([_enlarge(p, STRIP_SIDE) for p in pictures]), nrow=len(pictures), padding=4)
        self.strip.setPixmap(pixmap(strip))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        try:
            self.renderer.computed.disconnect(self._on_computed)
        except (RuntimeError, TypeError):
            pass
        super().closeEvent(event)


def _enlarge(picture: np.ndarray, side: int) -> np.ndarray:
    from studio.engine.explore.export import upscale

    return upscale(picture, max(1, side // picture.shape[0]))


def open_class_walk(renderer, latent: np.ndarray | None, picker: ClassPicker, exports_dir: Path | None,
                    parent: QWidget | None, on_saved: Callable[[str], None] | None = None) -> ClassWalkDialog | None:
    """Open the class walk for the pad's latent (None when the pad has none yet)."""
    if latent is None or not picker.classes:
        return None
    dialog = ClassWalkDialog(renderer, latent, picker.classes, picker.current, exports_dir, parent)
    if on_saved is not None:
        dialog.saved.connect(on_saved)
    dialog.show()
    return dialog
