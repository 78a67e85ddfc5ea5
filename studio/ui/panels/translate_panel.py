"""TranslatePanel (CycleGAN): drop any image to try the model, see before / after, translate a folder.

Translation runs on the translation thread (studio.app.translate_worker) with the newest saved
checkpoint; while the studio trains the project, with a copy of the running trainer's generators
(asked for through `weights_wanted` at each translation, as the DCGAN explorer asks when its tab
opens), so a run can be tried from its first steps. Any size works: the engine pads, tiles and
crops back to the exact input size.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.app.settings import StudioSettings
from studio.app.task_worker import TaskRunner
from studio.app.translate_worker import TranslateController, TranslatedImage, translate_folder_task
from studio.engine.data.decode import IMAGE_EXTENSIONS
from studio.engine.project.folder import Project
from studio.engine.words import counted
from studio.ui import style
from studio.ui.output_folder import choose_output_folder
from studio.ui.widgets.split_view import SplitView

DIRECTION_TITLES = {"a2b": "A → B", "b2a": "B → A"}
TRAIN_FIRST = "Train for a while first: translation uses the latest saved model."
USES_SAVED = "Uses the latest saved model, also while training continues."
USES_LIVE = "Uses the model as it is now; training goes on meanwhile."
# The chosen direction stands out: a designer must see at a glance which way the picture goes.
DIRECTION_STYLE = ("QPushButton { padding: 6px 14px; font-weight: 600; }"
                   "QPushButton:checked { background: #3d6fd1; border-color: #4c7fe0; color: white; }")


def dropped_paths(mime) -> list[Path]:
    if not mime.hasUrls():
        return []
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS


class TranslatePanel(QWidget):
    """GUI thread only."""

    translated = Signal(object)  # TranslatedImage shown
    folder_done = Signal(object)  # the engine's TranslateResult
    weights_wanted = Signal()  # while training: a copy of the running trainer's generators, please

    def __init__(self, settings: StudioSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings or StudioSettings()
        self.project: Project | None = None
        self._offered: tuple[str, ...] = tuple(DIRECTION_TITLES)  # the project's kind's directions
        self.current_path: Path | None = None
        self.result: TranslatedImage | None = None
        self._training = False  # the studio trains this project now: its live weights translate
        self._waiting: dict[str, object] = {}  # "image" / "folder" -> what to run once the live weights arrive
        self._out_dir: Path | None = None
        self.controller = TranslateController(self)
        self.controller.image_done.connect(self._on_image_done)
        self.controller.image_failed.connect(self._on_image_failed)
        self.controller.busy_changed.connect(self._on_busy)
        self.runner = TaskRunner("translate-folder", self)
        self.runner.progress.connect(self._on_folder_progress)
        self.runner.finished.connect(self._on_folder_done)
        self.runner.failed.connect(self._on_folder_failed)
        self.runner.cancelled.connect(self._on_folder_cancelled)
        self.runner.busy_changed.connect(self._on_folder_busy)

        self.a2b_button = QPushButton("A → B")
        self.b2a_button = QPushButton("B → A")
        self.direction_group = QButtonGroup(self)
        for b, d in ((self.a2b_button, "a2b"), (self.b2a_button, "b2a")):
            b.setCheckable(True)
            b.setProperty("direction", d)
            b.setStyleSheet(DIRECTION_STYLE)
            self.direction_group.addButton(b)
        self.a2b_button.setChecked(True)
        self.direction_group.buttonToggled.connect(self._on_direction)
        top = QHBoxLayout()
        dl = QLabel("Direction")
        dl.setObjectName("heading")
        top.addWidget(dl)
        top.addWidget(self.a2b_button, 1)
        top.addWidget(self.b2a_button, 1)

        self.view = SplitView("Drop an image here to try the model\n\nAny size works — drag the divider to compare")
        self.view.setMinimumHeight(220)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        style.muted(self.caption)
        self.choose_button = QPushButton("Choose image…")
        self.choose_button.clicked.connect(self._choose_image)
        self.save_button = QPushButton("Save result…")
        self.save_button.clicked.connect(self._save_result)
        self.save_button.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.choose_button)
        row.addWidget(self.save_button)
        row.addStretch(1)

        batch = QGroupBox("Translate a whole folder")
        self.folder_button = QPushButton("Choose folder…")
        self.folder_button.setToolTip("Translate every image in a folder and its subfolders into a new folder")
        self.folder_button.clicked.connect(self._choose_folder)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.cancel_button.setEnabled(False)
        self.folder_progress = QProgressBar()
        self.folder_progress.setRange(0, 1)
        self.folder_progress.setValue(0)
        self.folder_progress.setFormat("")
        self.folder_status = QLabel("Names, formats and subfolders are kept.")
        self.folder_status.setWordWrap(True)
        style.muted(self.folder_status)
        b_row = QHBoxLayout()
        b_row.addWidget(self.folder_button)
        b_row.addWidget(self.cancel_button)
        b_row.addStretch(1)
        bl = QVBoxLayout(batch)
        bl.addLayout(b_row)
        bl.addWidget(self.folder_progress)  # a line of its own: the panel stays narrow enough for a laptop
        bl.addWidget(self.folder_status)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)
        layout.addLayout(row)
        layout.addWidget(batch)
        self.setAcceptDrops(True)
        self.set_project(None)

    # ----- project ----------------------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        changed = (project.root if project else None) != (self.project.root if self.project else None)
        if changed and self.project is not None:
            self.controller.use_weights(self.project.root, None)
        self.project = project
        if changed:
            self.controller.release_models()
            self.view.set_pair(None, None)
            self.result = None
            self._waiting = {}
            self.save_button.setEnabled(False)
            self._name_directions()
        self._update_ready(changed)

    def set_training(self, on: bool) -> None:
        """The studio trains (True) or stopped training (False) this project. While it trains, each
        translation asks for the trainer's weights first; afterwards the saved model translates."""
        if on == self._training:
            return
        self._training = on
        if not on:
            if self.project is not None:
                self.controller.use_weights(self.project.root, None)  # the run saved them: the checkpoint
            self._update_ready()
            self._run_waiting()
        else:
            self._update_ready()

    def set_live_weights(self, weights) -> None:
        """A copy of the running trainer's generators (GeneratorWeights) for this project."""
        if self.project is None or not self._training:
            return
        self.controller.use_weights(self.project.root, weights)
        self._run_waiting()

    def _run_waiting(self) -> None:
        pending, self._waiting = self._waiting, {}
        for action in pending.values():
            action()

    def usable(self) -> bool:
        """Whether there is a model to translate with: a saved one, or the one being trained."""
        return self.project is not None and (self._training or _has_checkpoint(self.project))

    def _update_ready(self, changed: bool = False) -> None:
        usable = self.usable()
        for w in (self.choose_button, self.a2b_button, self.b2a_button):
            w.setEnabled(usable)
        self.folder_button.setEnabled(usable and not self.runner.busy)
        text = self.caption.text()
        if self.project is None:
            self.caption.setText("")
        elif not usable:
            self.caption.setText(TRAIN_FIRST)
        elif changed or not text or text in (TRAIN_FIRST, USES_SAVED, USES_LIVE):
            self.caption.setText(USES_LIVE if self._training else USES_SAVED)

    def _name_directions(self) -> None:
        """Say which folders the directions go between, when the folders have names of their own."""
        folders = (self.project.meta.get("data", {}).get("folders", {}) if self.project is not None else {})
        a, b = (Path(folders[r]).name if folders.get(r) else "" for r in ("a", "b"))
        named = a and b and (a.upper(), b.upper()) != ("A", "B")
        self._offered = offered = self._offered_directions()  # asked once per project, not per translation
        for button, d, (src, dst) in ((self.a2b_button, "a2b", (a, b)), (self.b2a_button, "b2a", (b, a))):
            # A one-way model (pix2pix) shows no direction choice: its only way is the one used.
            button.setVisible(len(offered) > 1 and d in offered)
            button.setText(DIRECTION_TITLES[d])
            button.setToolTip(f"Turn {src} pictures into {dst} pictures" if named
                              else f"Translate {DIRECTION_TITLES[d].replace('→', 'into')} style")

    def _offered_directions(self) -> tuple[str, ...]:
        """The directions the project's kind translates in, asked of the kind (both before a project)."""
        if self.project is None:
            return tuple(DIRECTION_TITLES)
        from studio.engine.config import config_from_dict
        from studio.engine.models import get_kind

        try:
            kind = get_kind(self.project.kind)
            return kind.directions(config_from_dict(kind.config_cls, self.project.meta.get("model") or {}))
        except Exception:  # an unreadable model config: the translation itself will say what is wrong
            return tuple(DIRECTION_TITLES)

    def direction(self) -> str:
        b = self.direction_group.checkedButton()
        if b is None or b.property("direction") not in self._offered:
            return "a2b"
        return b.property("direction")

    def set_direction(self, direction: str) -> None:
        (self.b2a_button if direction == "b2a" else self.a2b_button).setChecked(True)

    # ----- single images ----------------------------------------------------------------------------
    def translate_file(self, path: str | Path) -> int | None:
        """Translate one image file with the current direction; the result shows when ready (the
        `translated` signal). Returns the request id, or None when nothing was asked yet: no model,
        or, while training, the trainer's weights are being fetched first."""
        if not self.usable():
            self._update_ready()
            return None
        self.current_path = Path(path)
        self.caption.setText(f"Translating {self.current_path.name} ({DIRECTION_TITLES[self.direction()]})…")
        if self._training:
            self._waiting["image"] = self._translate_current
            self.weights_wanted.emit()
            return None
        return self._translate_current()

    def _translate_current(self) -> int | None:
        if self.project is None or self.current_path is None:
            return None
        return self.controller.translate(self.project.root, self.direction(), self.current_path)

    def _on_direction(self, button, checked: bool) -> None:
        if checked and self.current_path is not None:
            self.translate_file(self.current_path)

    def _on_image_done(self, r: TranslatedImage) -> None:
        self.result = r
        self.view.set_pair(r.before, r.after)
        h, w = r.after.shape[:2]
        model = f"model at step {r.step:,}" + (" (training now)" if r.live else "")
        self.caption.setText(f"{Path(r.path).name}  ·  {w} × {h} px  ·  {DIRECTION_TITLES[r.direction]}  ·  {model}")
        self.save_button.setEnabled(True)
        self.translated.emit(r)

    def _on_image_failed(self, message: str) -> None:
        self.caption.setText(message)

    def _on_busy(self, busy: bool) -> None:
        self.view.setCursor(Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor)

    def _choose_image(self) -> None:
        exts = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(self, "Choose an image to translate",
                                              self.settings.last_folder("translate"), f"Images ({exts})")
        if path:
            self.settings.set_last_folder("translate", str(Path(path).parent))
            self.translate_file(path)

    def _save_result(self) -> None:
        if self.result is None:
            return
        src = Path(self.result.path)
        suggested = src.with_name(f"{src.stem}-{self.result.direction}{src.suffix}")
        path, _ = QFileDialog.getSaveFileName(self, "Save the translated image", str(suggested))
        if path:
            self.save_result_to(path)

    def save_result_to(self, path: str | Path) -> None:
        from studio.engine.atomic import write_bytes_atomic
        from studio.engine.explore.translate import encode_like

        p = Path(path)
        write_bytes_atomic(p, encode_like(self.result.after, p.suffix or ".png"))
        self.caption.setText(f"Saved {p.name}")

    # ----- folders ----------------------------------------------------------------------------------
    def translate_folder(self, folder: str | Path, out_dir: str | Path | None = None) -> Path | None:
        """Translate a folder into `out_dir` (default: a new folder next to it). Returns the output folder."""
        if not self.usable() or self.runner.busy:
            return None
        folder = Path(folder)
        out = Path(out_dir) if out_dir else _free_name(folder.parent / f"{folder.name}-{self.direction()}")
        self.folder_status.setText(f"Translating {folder.name} into {out}…")
        self.folder_progress.setRange(0, 0)
        self._out_dir = out
        if self._training:
            self._waiting["folder"] = lambda: self._start_folder(folder, out)
            self.weights_wanted.emit()
        else:
            self._start_folder(folder, out)
        return out

    def _start_folder(self, folder: Path, out: Path) -> None:
        if self.project is None or self.runner.busy:
            return
        live = self.controller.live_weights(self.project.root) if self._training else None
        self.runner.start(translate_folder_task(self.project.root, self.direction(), folder, out, weights=live))

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of images to translate",
                                                  self.settings.last_folder("translate"))
        if not folder:
            return
        default = _free_name(Path(folder).parent / f"{Path(folder).name}-{self.direction()}")
        out = choose_output_folder(self, "Where the translated images go: a new or empty folder", default)
        if out:
            self.settings.set_last_folder("translate", str(Path(folder).parent))
            if Path(out).resolve() == Path(folder).resolve():
                self.folder_status.setText("Choose a different folder for the results.")
                return
            if Path(out) == default.parent:
                out = str(default)  # the user accepted the suggested place: make the new folder inside it
            self.translate_folder(folder, out)

    def _on_folder_progress(self, done: int, total: int, text: str) -> None:
        if total > 0:
            self.folder_progress.setRange(0, total)
            self.folder_progress.setValue(done)
            self.folder_progress.setFormat(f"{done:,} / {total:,}")
        self.folder_status.setText(text)

    def _on_folder_done(self, result) -> None:
        n = len(result.written)
        text = f"Wrote {counted(n, 'image')} to {self._out_dir}"
        if result.failed:
            text += f"; skipped {len(result.failed)}: " + "; ".join(
                f"{Path(p).name} ({r})" for p, r in result.failed[:3])
        self.folder_status.setText(text)
        self.folder_progress.setRange(0, 1)
        self.folder_progress.setValue(1)
        self.folder_done.emit(result)

    def _on_folder_failed(self, message: str) -> None:
        self.folder_status.setText(message)
        self.folder_progress.setRange(0, 1)
        self.folder_progress.setValue(0)

    def _on_folder_cancelled(self) -> None:
        self.folder_status.setText(f"Cancelled. Images translated so far are in {self._out_dir}.")
        self.folder_progress.setRange(0, 1)
        self.folder_progress.setValue(0)

    def _on_folder_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self.folder_button.setEnabled(not busy and self.usable())

    # ----- drops ------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        paths = dropped_paths(event.mimeData())
        if self.project is not None and any(is_image_file(p) or p.is_dir() for p in paths):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        paths = dropped_paths(event.mimeData())
        images = [p for p in paths if is_image_file(p)]
        if images:
            event.acceptProposedAction()
            self.translate_file(images[0])
        elif paths and paths[0].is_dir():
            event.acceptProposedAction()
            self.translate_folder(paths[0])

    def shutdown(self) -> None:
        """Stop the translation threads (window closing)."""
        self.runner.cancel_and_join()
        self.controller.shutdown()


def _has_checkpoint(project: Project) -> bool:
    d = project.checkpoints_dir
    return d.is_dir() and any(p.suffix == ".json" for p in d.iterdir())


def _free_name(path: Path) -> Path:
    candidate, n = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}-{n}")
        n += 1
    return candidate
