"""SketchPanel: draw on the left, the model's translation on the right, following the pen.

For projects whose model takes a drawing (`Capabilities.drawable_input`). The canvas has the
model's input size; after every change of it (each pen movement too) the whole canvas goes to the
sketch thread (studio.app.sketch_worker), where the newest canvas wins, and the result replaces the
picture on the right when it arrives. Under them: how long the translation took and how long from
the pen's movement to the result on screen. GUI thread only.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.app.sketch_worker import SketchController, SketchModel, SketchResult
from studio.app.task_worker import TaskRunner
from studio.engine.data.decode import IMAGE_EXTENSIONS
from studio.engine.project.folder import ProjectLayout
from studio.ui import style
from studio.ui.sketch.canvas import SketchCanvas
from studio.ui.sketch.tools import Tool
from studio.ui.widgets.image_view import ImageView

TOOL_TITLES = {Tool.PEN: ("Pen", "P", "Draw freehand; a tablet's pressure sets the width"),
               Tool.ERASER: ("Eraser", "E", "Paint the paper back; the right mouse button erases too"),
               Tool.LINE: ("Line", "L", "Drag a straight line"),
               Tool.FILL: ("Fill", "F", "Fill the area under the pointer with the pen's colour")}
NO_MODEL = "Train the model for a while first: drawing uses the latest saved model."


class SketchPanel(QWidget):
    """GUI thread only. `set_project(root)` loads a project's model; `shutdown()` joins the thread."""

    result_shown = Signal(object)  # SketchResult now on the right
    weights_wanted = Signal()  # while training: a copy of the running trainer's generators, please

    def __init__(self, controller: SketchController | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller or SketchController(parent=self)
        self.controller.translated.connect(self._on_translated)
        self.controller.failed.connect(self._on_failed)
        self.controller.model_ready.connect(self._on_model_ready)
        self.project: Path | None = None
        self._loaded: Path | None = None  # the project whose model was asked for
        self.result: SketchResult | None = None
        self.latencies_ms: list[float] = []  # pen movement -> result on screen, newest last
        self._training = False
        self._model_text = ""  # what the pad draws with, for the status line

        self.canvas = SketchCanvas(256)
        self.canvas.changed.connect(self._send)
        # While the project trains, each finished stroke also fetches the newest weights, so the pad
        # follows the training as one draws.
        self.canvas.stroke_finished.connect(lambda: self._training and self.weights_wanted.emit())
        self.canvas.history_changed.connect(self._update_buttons)
        self.result_view = ImageView("The translation of your drawing appears here")
        self.result_view.set_pixels(True)  # same crisp enlargement as the canvas beside it

        self.tool_group = QButtonGroup(self)
        tools = QHBoxLayout()
        tools.setSpacing(4)
        self.tool_buttons: dict[Tool, QToolButton] = {}
        for tool, (title, key, tip) in TOOL_TITLES.items():
            b = QToolButton()
            b.setText(title)
            b.setCheckable(True)
            b.setShortcut(key)
            b.setToolTip(f"{tip} ({key})")
            b.toggled.connect(lambda on, t=tool: on and self.set_tool(t))
            self.tool_group.addButton(b)
            self.tool_buttons[tool] = b
            tools.addWidget(b)
        self.tool_buttons[Tool.PEN].setChecked(True)
        self.width_spin = QSpinBox()
        self.width_spin.setRange(1, 64)
        self.width_spin.setValue(4)
        self.width_spin.setSuffix(" px")
        self.width_spin.setToolTip("Stroke width in the model's pixels")
        self.width_spin.valueChanged.connect(self._on_width)
        self.colour_button = QToolButton()
        self.colour_button.setToolTip("The pen's colour")
        self.colour_button.clicked.connect(self._choose_colour)
        self._show_colour()
        tools.addSpacing(8)
        tools.addWidget(QLabel("Width"))
        tools.addWidget(self.width_spin)
        tools.addWidget(self.colour_button)
        tools.addSpacing(8)
        self.undo_button = self._button("Undo", self.canvas.undo, "Undo the last edit (Ctrl+Z)")
        self.redo_button = self._button("Redo", self.canvas.redo, "Redo (Ctrl+Shift+Z)")
        self.clear_button = self._button("Clear", self.canvas.clear, "Start on blank paper (undoable)")
        for b in (self.undo_button, self.redo_button, self.clear_button):
            tools.addWidget(b)
        tools.addStretch(1)

        files = QHBoxLayout()
        self.load_button = self._button("Load image…", self._choose_image, "Start from a picture of your own")
        self.example_button = self._button("Training input", self.load_training_input,
                                           "Start from one of the inputs the model was trained on (another each time)")
        self.export_button = self._button("Export…", self._choose_export,
                                          "Save the drawing and its result as PNG files")
        for b in (self.load_button, self.example_button, self.export_button):
            files.addWidget(b)
        files.addStretch(1)

        self.drawing_title = QLabel("Your drawing")
        self.result_title = QLabel("Result")
        for t in (self.drawing_title, self.result_title):
            t.setObjectName("heading")
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(self.drawing_title)
        left.addWidget(self.canvas, 1)
        right.addWidget(self.result_title)
        right.addWidget(self.result_view, 1)
        pictures = QHBoxLayout()
        pictures.addLayout(left, 1)
        pictures.addLayout(right, 1)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        style.muted(self.status)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addLayout(tools)
        layout.addLayout(pictures, 1)
        layout.addWidget(self.status)
        layout.addLayout(files)
        # Undo and redo wherever the focus is in the pad (on a tool button just clicked, too).
        keys_slots = (("Ctrl+Z", self.canvas.undo), ("Ctrl+Shift+Z", self.canvas.redo), ("Ctrl+Y", self.canvas.redo))
        for keys, slot in keys_slots:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._index = 0  # the next training input shown
        self._inputs = None  # TrainingInputs of the project; used on the task thread only
        self.inputs_runner = TaskRunner("sketch-inputs", self)
        self.inputs_runner.finished.connect(self._on_training_input)
        self.inputs_runner.failed.connect(self._on_training_input_failed)
        self.inputs_runner.busy_changed.connect(lambda busy: self._update_buttons())
        self._update_buttons()

    def _button(self, text: str, slot, tip: str) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    # ----- project ----------------------------------------------------------------------------------
    def set_project(self, root: str | Path | None) -> None:
        """Draw with this project's newest saved model (None: no project)."""
        root = Path(root) if root is not None else None
        if root == self.project:
            return
        self.project = root
        self._loaded = None
        self.result = None
        self.result_view.set_picture(None)
        self._index = 0
        self.status.setText("")
        self._load_if_shown()
        self._update_buttons()

    def _load_if_shown(self) -> None:
        # Loading costs a second or two (and an ONNX export on a CPU): only for a pad someone looks at.
        if self.project is None or not self.isVisible() or self._loaded == self.project:
            return
        self._loaded = self.project
        self.status.setText("Loading the model…")
        self.controller.load_project(self.project)
        if self._training:
            self.weights_wanted.emit()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._load_if_shown()

    def set_training(self, on: bool) -> None:
        """The studio trains this project (True): ask for its live weights; False: the saved model."""
        if on == self._training:
            return
        self._training = on
        if not self.isVisible() or self._loaded is None:
            return  # loads what is right when it is shown
        if on:
            self.weights_wanted.emit()
        elif self.project is not None:
            self.controller.load_project(self.project)  # the run saved them: the newest checkpoint

    def set_live_weights(self, weights, meta: dict) -> None:
        """Draw with a copy of the running trainer's generators (GeneratorWeights)."""
        if self.project is not None and self._training:
            self.controller.use_weights(weights, meta)

    def shutdown(self) -> None:
        self.inputs_runner.cancel_and_join()
        self.controller.shutdown()

    # ----- tools ------------------------------------------------------------------------------------
    def set_tool(self, tool: Tool) -> None:
        self.canvas.tool = tool
        if not self.tool_buttons[tool].isChecked():
            self.tool_buttons[tool].setChecked(True)

    def _on_width(self, value: int) -> None:
        self.canvas.pen_width = float(value)

    def _choose_colour(self) -> None:
        colour = QColorDialog.getColor(self.canvas.colour, self, "Pen colour")
        if colour.isValid():
            self.set_colour(colour)

    def set_colour(self, colour: QColor) -> None:
        self.canvas.colour = QColor(colour)
        self._show_colour()

    def _show_colour(self) -> None:
        c = self.canvas.colour
        self.colour_button.setText("  ")
        self.colour_button.setStyleSheet(f"QToolButton {{ background: {c.name()}; border: 1px solid #888; "
                                         "min-width: 22px; }")

    def _update_buttons(self) -> None:
        self.undo_button.setEnabled(self.canvas.history.can_undo())
        self.redo_button.setEnabled(self.canvas.history.can_redo())
        self.export_button.setEnabled(self.result is not None)
        self.example_button.setEnabled(self.project is not None and not self.inputs_runner.busy)

    # ----- translating ------------------------------------------------------------------------------
    def _send(self) -> None:
        if self.controller.model is not None:
            self.controller.translate(self.canvas.picture())

    def _on_model_ready(self, model: SketchModel) -> None:
        self.canvas.set_canvas_size(model.size)
        self.drawing_title.setText(f"Your drawing ({model.size} × {model.size} px)")
        self._describe_model(model)
        self._send()
        self._update_buttons()

    def _describe_model(self, model: SketchModel) -> None:
        source = "the model as it is now" if model.live else f"the model saved at step {model.step:,}"
        engine = "onnxruntime" if model.backend == "onnxruntime" else "PyTorch"
        where = "the CPU" if model.device == "cpu" else f"the GPU ({model.device})"
        self._model_text = f"Drawing with {source}, run by {engine} on {where}."

    def _on_translated(self, result: SketchResult) -> None:
        self.result = result
        self.result_view.set_picture(result.result)
        latency = (time.perf_counter() - result.sent_at) * 1000
        self.latencies_ms.append(latency)
        del self.latencies_ms[:-200]
        self.status.setText(f"{self._model_text} Result in {latency:.0f} ms "
                            f"(translating took {result.compute_ms:.0f} ms).")
        self._update_buttons()
        self.result_shown.emit(result)

    def _on_failed(self, message: str) -> None:
        self.status.setText(NO_MODEL if self.project is not None and not _has_checkpoint(self.project) else message)

    # ----- files ------------------------------------------------------------------------------------
    def _choose_image(self) -> None:
        patterns = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(self, "Start from a picture", "", f"Images ({patterns})")
        if path:
            self.load_image(path)

    def load_image(self, path: str | Path) -> bool:
        """Put a picture file on the canvas (undoable); False with a message when it cannot be read."""
        from studio.engine.data.dataset import DataConfig, ImageDecodeError, decode_image

        try:
            picture = decode_image(path, DataConfig(size=self.canvas.canvas_size), full_resolution=True)
        except ImageDecodeError as e:
            self.status.setText(f"{Path(path).name}: {e}")
            return False
        self.canvas.set_picture(picture)
        return True

    def load_training_input(self) -> bool:
        """Put the next input the model was trained on on the canvas (undoable), read on a task thread
        (the first one prepares the training folders, usually from the dataset cache). False when
        there is no project or one is being read already."""
        if self.project is None or self.inputs_runner.busy:
            return False
        from studio.engine.explore.live_translate import TrainingInputs

        if self._inputs is None or self._inputs.project_dir != self.project:
            self._inputs = TrainingInputs(self.project, self.canvas.canvas_size)
        inputs, index = self._inputs, self._index
        if not inputs.loaded:  # the first one reads (or draws again) the pictures the model trained on
            self.status.setText("Reading the pictures the model was trained on…")
        self._index += 1
        self.example_button.setEnabled(False)
        self.inputs_runner.start(lambda progress, should_cancel: inputs.get(index))
        return True

    def _on_training_input(self, picture) -> None:
        self._update_buttons()
        if picture.shape[0] == self.canvas.canvas_size:  # not one of a project closed meanwhile
            self.canvas.set_picture(picture)

    def _on_training_input_failed(self, message: str) -> None:
        self._update_buttons()
        self.status.setText(message)

    def _choose_export(self) -> None:
        start = str((ProjectLayout(self.project).exports_dir / "sketch.png") if self.project
                    else Path.home() / "sketch.png")
        path, _ = QFileDialog.getSaveFileName(self, "Export the drawing and its result", start, "PNG images (*.png)")
        if path:
            self.export(path)

    def export(self, path: str | Path) -> list[Path]:
        """Write the drawing to `path` (PNG) and its result beside it as NAME-result.png. The pair
        written is the one on screen: a drawing with the result made from it, never a newer stroke
        beside an older result."""
        from studio.engine.images import save_png

        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        written = [path]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_png(path, self.result.drawing if self.result is not None else self.canvas.picture())
            if self.result is not None:
                result_path = path.with_name(f"{path.stem}-result.png")
                save_png(result_path, np.asarray(self.result.result))
                written.append(result_path)
        except OSError as e:
            self.status.setText(f"Could not save {path.name}: {e.strerror or e}.")
            return []
        self.status.setText(f"Saved {', '.join(p.name for p in written)} in {path.parent}.")
        return written


def _has_checkpoint(project: Path) -> bool:
    """Whether the project has a saved model (a cheap look at its folder, no torch)."""
    from studio.engine.project.checkpoint_files import list_checkpoints
    from studio.engine.project.folder import Project

    try:
        return bool(list_checkpoints(Project.open(project, clean=False).checkpoints_dir))
    except Exception:  # noqa: BLE001 - a project that cannot be read has no usable model either
        return False
