"""ExportDialog: latent walks, time-lapses, pictures, grids, contact sheets and ONNX, with progress.

Exports run on a task thread (studio.app.task_worker) with a generator of their own, loaded there
from the project (or copied from the weights the explorer shows); the render worker keeps serving
the pad meanwhile. Cancel stops between frames and leaves no partial file. GUI thread only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.app.task_worker import TaskRunner
from studio.engine.explore import latent as L
from studio.ui.explorer.common import LatentItem, muted_label

KINDS = (
    ("walk", "Latent walk animation"),
    ("timelapse", "Training time-lapse"),
    ("image", "Current image (PNG)"),
    ("grid", "Gallery grid (PNG)"),
    ("sheet", "Pad contact sheet (PNG)"),
    ("onnx", "Generator (ONNX)"),
)
ANIMATION_EXTS = ((".gif", "GIF"), (".mp4", "MP4 (H.264)"), (".webp", "WebP"))


@dataclass
class ExportContext:
    """What the explorer offers to export. Functions run on the GUI thread except `model_factory`."""

    project_dir: Path | None  # the project (exports/ lives there; the time-lapse reads its samples)
    model_factory: Callable[[], object] | None  # builds a GeneratorModel; runs on the export thread
    image_size: int = 64  # the generator's image side
    current_latent: np.ndarray | None = None  # the pad's point
    current_labels: np.ndarray | None = None  # its class where it is not the explorer's (pad corners of other classes)
    pad_corners: list[LatentItem] = field(default_factory=list)
    pad_sheet: Callable[[int], np.ndarray | None] | None = None  # n -> (n*n, z_dim) pad plane latents
    pad_sheet_labels: Callable[[int], np.ndarray | None] | None = None  # n -> their classes, or None (as above)
    gallery_items: list[LatentItem] = field(default_factory=list)
    gallery_selection: list[LatentItem] = field(default_factory=list)
    bookmarks: list[LatentItem] = field(default_factory=list)
    psi: float = 1.0  # the pad's truncation (applied to walk keyframes from the gallery/bookmarks)
    space: object = None  # spaces.LatentSpace of the latents above (None: z)
    class_weights: np.ndarray | None = None  # the class the explorer draws, for a generator with classes

    def labels_for(self, items: list[LatentItem]) -> np.ndarray | None:
        """Class weights (B, classes) to draw `items` with, as the gallery draws them: each item's own
        class where it keeps one (a saved bookmark or favourite), else the explorer's. None without
        classes, and in W (a w holds its class)."""
        if self.class_weights is None or (self.space is not None and self.space.name != "z"):
            return None
        k = len(self.class_weights)
        return np.stack([it.labels if it.labels is not None and len(it.labels) == k else self.class_weights
                         for it in items]).astype(np.float32)

    def render(self, model, labels: np.ndarray | None = None) -> Callable[..., np.ndarray]:
        """`model`'s function from these latents to pictures (generate in z, generate_w in W). For a
        generator with classes, in z: drawn as `weights` when the call gives them (a walk's classes),
        else as `labels` (one row per latent, `labels_for`), else as the explorer's class."""
        name = self.space.name if self.space is not None else "z"
        if self.class_weights is not None and name == "z":
            def draw(latents, weights=None):
                chosen = weights if weights is not None else labels if labels is not None else self.class_weights
                return model.generate(latents, chosen)

            return draw
        return lambda latents: model.generate_in(latents, name)


class ExportDialog(QDialog):
    """Choose what to export and where; shows progress and can cancel. GUI thread only."""

    exported = Signal(str)  # path of a finished export

    def __init__(self, context: ExportContext, parent: QWidget | None = None, kind: str = "walk"):
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setMinimumWidth(520)
        self.ctx = context
        self.runner = TaskRunner("export", self)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.busy_changed.connect(self._on_busy)
        self.last_path: Path | None = None
        self.last_error: str | None = None

        self.kind_combo = QComboBox()
        for data, text in KINDS:
            self.kind_combo.addItem(text, data)
        self.pages = QStackedWidget()
        self._build_walk()
        self._build_timelapse()
        self._build_image()
        self._build_grid()
        self._build_sheet()
        self._build_onnx()
        self.kind_combo.currentIndexChanged.connect(self._on_kind)

        self.path_edit = QLineEdit()
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = muted_label("")
        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("primary")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self._cancel_or_close)
        self.show_button = QPushButton("Show in folder")
        self.show_button.setEnabled(False)
        self.show_button.clicked.connect(self._show_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.show_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)

        form = QFormLayout()
        form.addRow("Export", self.kind_combo)
        root = QVBoxLayout(self)
        root.addLayout(form)
        root.addWidget(self.pages)
        out = QFormLayout()
        out.addRow("Save as", path_row)
        root.addLayout(out)
        root.addWidget(self.progress)
        root.addWidget(self.status)
        root.addLayout(buttons)
        self.set_kind(kind)

    # ----- pages --------------------------------------------------------------------------------------------
    def _page(self, rows: list[tuple[str, QWidget]], note: str = "") -> QFormLayout:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 4, 0, 4)
        for label, w in rows:
            form.addRow(label, w)
        if note:
            form.addRow(muted_label(note))
        self.pages.addWidget(page)
        return form

    def _scale_spin(self, default: int) -> QSpinBox:
        s = QSpinBox()
        s.setRange(1, 16)
        s.setValue(default)
        s.setSuffix(" ×")
        return s

    def _build_walk(self) -> None:
        self.keys_combo = QComboBox()
        self.keys_combo.addItem(f"Pad corners ({len(self.ctx.pad_corners)})", "corners")
        self.keys_combo.addItem(f"Gallery selection ({len(self.ctx.gallery_selection)})", "selection")
        self.keys_combo.addItem(f"All gallery images ({len(self.ctx.gallery_items)})", "gallery")
        self.keys_combo.addItem(f"Bookmarks ({len(self.ctx.bookmarks)})", "bookmarks")
        if len(self.ctx.gallery_selection) >= 2:
            self.keys_combo.setCurrentIndex(1)
        self.walk_format = QComboBox()
        for ext, text in ANIMATION_EXTS:
            self.walk_format.addItem(text, ext)
        self.walk_format.currentIndexChanged.connect(self._suggest_path)
        self.transition_spin = QDoubleSpinBox()
        self.transition_spin.setRange(0.2, 30)
        self.transition_spin.setValue(2.0)
        self.transition_spin.setSuffix(" s")
        self.hold_spin = QDoubleSpinBox()
        self.hold_spin.setRange(0, 10)
        self.hold_spin.setValue(0.5)
        self.hold_spin.setSuffix(" s")
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(1, 60)
        self.fps_spin.setValue(24)
        self.interp_combo = QComboBox()
        if self.ctx.space is None or self.ctx.space.name == "z":
            self.interp_combo.addItem("Spherical (slerp): rich in-betweens", "slerp")
        else:  # as the pad and the command line: styles are blended in straight lines
            self.interp_combo.setToolTip("W is not a sphere: styles are blended in straight lines")
        self.interp_combo.addItem("Straight (lerp)", "lerp")
        self.easing_combo = QComboBox()
        for e in L.EASINGS:
            self.easing_combo.addItem(e, e)
        self.easing_combo.setCurrentText("smooth")
        self.loop_check = QCheckBox("Loop (return to the first keyframe)")
        self.loop_check.setChecked(True)
        self.walk_scale = self._scale_spin(max(1, 256 // max(1, self.ctx.image_size)))
        self.walk_smooth = QCheckBox("Smooth enlargement")
        self.length_label = muted_label("")
        for w in (self.transition_spin, self.hold_spin, self.fps_spin):
            w.valueChanged.connect(self._update_length)
        self.keys_combo.currentIndexChanged.connect(self._update_length)
        self.loop_check.toggled.connect(self._update_length)
        self._page([("Keyframes", self.keys_combo), ("Format", self.walk_format), ("Move", self.transition_spin),
                    ("Rest on each", self.hold_spin), ("Frames per second", self.fps_spin),
                    ("Interpolation", self.interp_combo), ("Easing", self.easing_combo), ("", self.loop_check),
                    ("Enlarge", self.walk_scale), ("", self.walk_smooth), ("Length", self.length_label)])

    def _build_timelapse(self) -> None:
        self.tl_format = QComboBox()
        for ext, text in ANIMATION_EXTS:
            self.tl_format.addItem(text, ext)
        self.tl_format.currentIndexChanged.connect(self._suggest_path)
        self.tl_fps = QSpinBox()
        self.tl_fps.setRange(1, 60)
        self.tl_fps.setValue(8)
        self.tl_overlay = QCheckBox("Write the step number on each frame")
        self.tl_overlay.setChecked(True)
        self.tl_scale = self._scale_spin(1)
        n = 0
        if self.ctx.project_dir is not None:
            from studio.engine.project.folder import Project

            try:
                n = len(Project.open(self.ctx.project_dir, clean=False).sample_steps())
            except Exception:  # noqa: BLE001 - the dialog still opens; the export will explain
                n = 0
        self._page([("Format", self.tl_format), ("Frames per second", self.tl_fps), ("", self.tl_overlay),
                    ("Enlarge", self.tl_scale)], note=f"{n} saved sample grids, oldest first.")

    def _build_image(self) -> None:
        self.img_scale = self._scale_spin(4)
        self.img_smooth = QCheckBox("Smooth enlargement (otherwise crisp pixels)")
        self._page([("Enlarge", self.img_scale), ("", self.img_smooth)], note="The image at the pad's point.")

    def _build_grid(self) -> None:
        self.grid_from = QComboBox()
        self.grid_from.addItem(f"Gallery selection ({len(self.ctx.gallery_selection)})", "selection")
        self.grid_from.addItem(f"All gallery images ({len(self.ctx.gallery_items)})", "gallery")
        self.grid_from.setCurrentIndex(0 if len(self.ctx.gallery_selection) > 1 else 1)
        self.grid_cols = QSpinBox()
        self.grid_cols.setRange(0, 32)
        self.grid_cols.setSpecialValueText("auto")
        self.grid_scale = self._scale_spin(2)
        self._page([("Images", self.grid_from), ("Columns", self.grid_cols), ("Enlarge", self.grid_scale)])

    def _build_sheet(self) -> None:
        self.sheet_n = QSpinBox()
        self.sheet_n.setRange(2, 16)
        self.sheet_n.setValue(8)
        self.sheet_n.setSuffix(" × n")
        self.sheet_scale = self._scale_spin(2)
        self._page([("Grid", self.sheet_n), ("Enlarge", self.sheet_scale)],
                   note="The pad's whole plane, corner to corner, as it is set now.")

    def _build_onnx(self) -> None:
        self._page([], note="The generator as one ONNX file: input “z” (batch, z size), output “image” "
                            "(batch, channels, size, size) in [−1, 1]. Any batch size. Checked against PyTorch "
                            "with onnxruntime after writing.")

    # ----- kind and path ---------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.kind_combo.currentData()

    def set_kind(self, kind: str) -> None:
        self.kind_combo.setCurrentIndex([k for k, _ in KINDS].index(kind))
        self._on_kind()

    def _on_kind(self) -> None:
        self.pages.setCurrentIndex(self.kind_combo.currentIndex())
        self._suggest_path()
        self._update_length()
        self.status.setText("")

    def _extension(self) -> str:
        return {"walk": self.walk_format.currentData(), "timelapse": self.tl_format.currentData(),
                "onnx": ".onnx"}.get(self.kind, ".png")

    def _suggest_path(self) -> None:
        from studio.engine.project.folder import ProjectLayout

        folder = ProjectLayout(self.ctx.project_dir).exports_dir if self.ctx.project_dir else Path.home()
        current = self.path_edit.text().strip()
        if current and Path(current).parent != folder:
            self.path_edit.setText(str(Path(current).with_suffix(self._extension())))
            return
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.path_edit.setText(str(folder / f"{self.kind}-{stamp}{self._extension()}"))

    def _browse(self) -> None:
        ext = self._extension()
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text(), f"*{ext}")
        if path:
            self.path_edit.setText(path if path.lower().endswith(ext) else path + ext)

    def set_path(self, path: str | Path) -> None:
        self.path_edit.setText(str(path))

    # ----- walk keyframes --------------------------------------------------------------------------------
    def keyframe_items(self) -> list[LatentItem]:
        src = self.keys_combo.currentData()
        items = {"corners": self.ctx.pad_corners, "selection": self.ctx.gallery_selection,
                 "gallery": self.ctx.gallery_items, "bookmarks": self.ctx.bookmarks}[src]
        if src == "corners" and len(items) == 4:
            items = [items[0], items[1], items[3], items[2]]  # around the pad, not across it
        return list(items)

    def keyframes(self) -> list[np.ndarray]:
        return [i.z for i in self.keyframe_items()]

    def walk_settings(self) -> tuple[L.WalkSettings, int]:
        """The walk's timeline and its total frame count."""
        fps = self.fps_spin.value()
        walk = L.WalkSettings(
            frames_per_transition=max(1, round(self.transition_spin.value() * fps)),
            hold_frames=round(self.hold_spin.value() * fps),
            interpolation=self.interp_combo.currentData(),
            easing=self.easing_combo.currentData(),
            loop=self.loop_check.isChecked(),
        )
        return walk, L.walk_length(len(self.keyframes()), walk)

    def _update_length(self) -> None:
        if not hasattr(self, "length_label"):
            return
        n_keys = len(self.keyframes())
        if n_keys < 2:
            self.length_label.setText(f"{n_keys} keyframe(s): a walk needs at least two")
            return
        _, frames = self.walk_settings()
        self.length_label.setText(f"{n_keys} keyframes · {frames} frames · {frames / self.fps_spin.value():.1f} s")

    # ----- running -----------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Validate and start the export on a task thread. Returns False (with a message) if it cannot."""
        if self.runner.busy:
            return False
        path = Path(self.path_edit.text().strip()).expanduser()
        if not self.path_edit.text().strip():
            self.status.setText("Choose where to save the file.")
            return False
        try:
            fn = self._task(path)
        except ValueError as e:
            self.status.setText(str(e))
            return False
        self.last_path, self.last_error = None, None
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.status.setText("Preparing…")
        self.show_button.setEnabled(False)
        self.runner.start(fn)
        return True

    def _task(self, path: Path):
        """Build the export function (runs on the task thread) from the dialog's settings."""
        from studio.engine.explore import export as E

        kind = self.kind
        factory = self.ctx.model_factory
        if kind != "timelapse" and factory is None:
            raise ValueError("There is no trained generator to export yet.")

        def adapt(progress):
            return lambda done, total: progress(done, total, f"{done} / {total}")

        if kind == "walk":
            items = self.keyframe_items()
            keys = [i.z for i in items]
            if len(keys) < 2:
                raise ValueError("A walk needs at least two keyframes: pick images in the gallery or use the pad "
                                 "corners.")
            walk, frames = self.walk_settings()
            settings = E.AnimationSettings(fps=self.fps_spin.value(), scale=self.walk_scale.value(),
                                           smooth=self.walk_smooth.isChecked())
            psi, ctx = self.ctx.psi, self.ctx
            if ctx.space is not None and ctx.space.name != "z":
                # Truncation towards the space's centre (w_avg), on the keyframes: with straight
                # interpolation, as W uses, that is the same as truncating every frame.
                keys, psi = [ctx.space.truncate(k, psi, ctx.class_weights) for k in keys], 1.0

            # with classes, in z: each keyframe as the class it is drawn as (a saved one keeps its own),
            # walked between them; a walk between the explorer's class alone needs no classes
            classes = ctx.labels_for(items)
            if classes is not None and np.all(classes == ctx.class_weights):
                classes = None

            def run(progress, should_cancel):
                model = factory()
                return E.export_walk(path, ctx.render(model), keys, walk, settings, psi=psi,
                                     progress=adapt(progress), should_cancel=should_cancel, classes=classes)
        elif kind == "timelapse":
            if self.ctx.project_dir is None:
                raise ValueError("Open a project first.")
            fps, overlay, scale = self.tl_fps.value(), self.tl_overlay.isChecked(), self.tl_scale.value()
            root = self.ctx.project_dir

            def run(progress, should_cancel):
                from studio.engine.project.folder import Project

                return E.export_timelapse(Project.open(root, clean=False), path, fps=fps, overlay=overlay, scale=scale,
                                          progress=adapt(progress), should_cancel=should_cancel)
        elif kind == "image":
            z = self.ctx.current_latent
            if z is None:
                raise ValueError("There is no current image on the pad.")
            scale, smooth = self.img_scale.value(), self.img_smooth.isChecked()
            labels = None if self.ctx.current_labels is None else self.ctx.current_labels[None]

            def run(progress, should_cancel):
                pic = self.ctx.render(factory(), labels)(z)[0]
                return E.save_image(path, pic, scale=scale, smooth=smooth)
        elif kind == "grid":
            from_selection = self.grid_from.currentData() == "selection"
            items = self.ctx.gallery_selection if from_selection else self.ctx.gallery_items
            if not items:
                raise ValueError("There are no gallery images to put in a grid.")
            z, labels = np.stack([i.z for i in items]), self.ctx.labels_for(items)
            cols, scale = self.grid_cols.value() or None, self.grid_scale.value()

            def run(progress, should_cancel):
                return E.save_grid(path, self.ctx.render(factory(), labels)(z), nrow=cols, scale=scale)
        elif kind == "sheet":
            n = self.sheet_n.value()
            latents = self.ctx.pad_sheet(n) if self.ctx.pad_sheet else None
            if latents is None:
                raise ValueError("The pad is not ready yet.")
            scale = self.sheet_scale.value()
            labels = self.ctx.pad_sheet_labels(n) if self.ctx.pad_sheet_labels else None

            def run(progress, should_cancel):
                from studio.engine.images import save_png

                pic = E.contact_sheet(self.ctx.render(factory()), latents, n, scale=scale, labels=labels)
                E.check_extension(path, E.IMAGE_FORMATS, "contact sheets")
                path.parent.mkdir(parents=True, exist_ok=True)
                save_png(path, pic)
                return path
        else:

            def run(progress, should_cancel):
                E.export_onnx(factory(), path, verify=True)
                return path

        return run

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.status.setText(f"Rendering {text}" if text else "")

    def _on_finished(self, result) -> None:
        self.last_path = Path(result) if result is not None else None
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.status.setText(f"Saved {self.last_path}")
        self.show_button.setEnabled(self.last_path is not None)
        if self.last_path is not None:
            self.exported.emit(str(self.last_path))

    def _on_failed(self, message: str) -> None:
        self.last_error = message
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText(f"Could not export: {message}")

    def _on_cancelled(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText("Cancelled: nothing was written.")

    def _on_busy(self, busy: bool) -> None:
        self.export_button.setEnabled(not busy)
        self.kind_combo.setEnabled(not busy)
        self.pages.setEnabled(not busy)
        self.cancel_button.setText("Cancel" if busy else "Close")

    def cancel(self) -> None:
        self.runner.cancel()

    def _cancel_or_close(self) -> None:
        if self.runner.busy:
            self.runner.cancel()
        else:
            self.reject()

    def _show_folder(self) -> None:
        if self.last_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.last_path.parent)))

    def done(self, result: int) -> None:  # noqa: D401 - Qt API: closing the dialog joins the export thread
        self.runner.cancel_and_join()
        super().done(result)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.runner.cancel_and_join()
        super().closeEvent(event)
