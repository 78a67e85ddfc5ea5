"""NewProjectWizard: from "here is my folder" to a configured project in three pages.

1. What to make (one choice per model kind, e.g. new images with a DCGAN, or translation between
   two folders with a CycleGAN), which folder(s), where the project is saved, and how images are
   fitted to a square.
2. The dataset report: the images as the model will see them, plus skipped files with reasons,
   duplicates, small images and the aspect spread. Preparation runs on a worker thread with a
   progress bar and Cancel.
3. Training settings pre-filled from the dataset and the device (size from the images, batch
   from memory, mirroring for small sets), each with the reason it was chosen, and the kind's own
   options (`ModelKind.options`); under them, how long the run will take, from a few real training
   steps timed on this computer (again, on a worker thread, when size, batch or an option changes).

Every kind-specific control is built from the kind (`studio.engine.models.KINDS`): its roles give
the folder fields, its sizes the size list, its options the option controls. The wizard returns a
`NewProjectRequest` built by `studio.app.prepare.build_request`, the path the command line's
`train` takes too; the main window starts training from it.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from studio.app.prepare import NewProjectRequest, PreparedData, build_request, prepare_folders, timing_task
from studio.app.settings import StudioSettings
from studio.app.task_worker import TaskRunner
from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig
from studio.engine.data.pairs import PAIR_MODES
from studio.engine.errors import UserError
from studio.engine.models import KINDS, get_kind
from studio.engine.models.kind import ModelKind, Option
from studio.engine.project.folder import Project
from studio.engine.train.estimate import StepCost, describe_estimate
from studio.ui import style
from studio.ui.widgets.dataset_report_view import DatasetReportView
from studio.ui.widgets.folder_field import FolderField, is_clip_name
from studio.ui.widgets.pairs_preview import PairsPreview

__all__ = ["NewProjectRequest", "NewProjectWizard", "default_project_root", "unique_project_dir"]


def _sentence(text: str) -> str:
    """A kind's one-line summary or help (written lower-case for --help) as a sentence."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def default_project_root() -> Path:
    return Path.home() / "GAN Studio Projects"


def unique_project_dir(parent: Path, name: str) -> Path:
    """`parent/name`, or `parent/name-2`, -3… if that exists and is not empty."""
    base = re.sub(r"[^\w\- ]+", "", name).strip() or "project"
    candidate = parent / base
    n = 2
    while candidate.exists() and (not candidate.is_dir() or any(candidate.iterdir())):
        candidate = parent / f"{base}-{n}"
        n += 1
    return candidate


# ----- page 1 ------------------------------------------------------------------------------------------
def _scrolling(page: QWizardPage, content: QWidget) -> None:
    """`content` as the whole of `page`, scrolling vertically when it is taller than the wizard."""
    scroll = QScrollArea()
    scroll.setWidget(content)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)


class SourcePage(QWizardPage):
    def __init__(self, settings: StudioSettings):
        super().__init__()
        self.setTitle("What would you like to make?")
        self.setSubTitle("Pick a kind of model and the folder(s) of images it learns from.")
        self._settings = settings
        self._name_edited = False
        self.parent_model: str | None = None  # the trained model a fine-tuned project starts from
        self.parent_note = QLabel()
        self.parent_note.setWordWrap(True)
        self.parent_note.setObjectName("parentNote")
        self.parent_note.setVisible(False)

        self.kind_radios: dict[str, QRadioButton] = {}
        self.recommended_notes: dict[str, QLabel] = {}  # "Recommended for this computer: why", shown for one kind
        self.kind_group = QButtonGroup(self)
        kinds = QVBoxLayout()
        for kind in KINDS.values():
            radio = QRadioButton(kind.title)
            note = QLabel(_sentence(kind.summary))
            note.setWordWrap(True)
            note.setContentsMargins(26, 0, 0, 6)
            style.muted(note)
            recommended = QLabel()
            recommended.setWordWrap(True)
            recommended.setContentsMargins(26, 0, 0, 6)
            recommended.setObjectName("recommended")
            recommended.setVisible(False)
            self.kind_group.addButton(radio)
            self.kind_radios[kind.name] = radio
            self.recommended_notes[kind.name] = recommended
            kinds.addWidget(radio)
            kinds.addWidget(note)
            kinds.addWidget(recommended)
        next(iter(self.kind_radios.values())).setChecked(True)

        # One field per role name: kinds that share a role (one folder of images) share its field,
        # so switching between them keeps the folder.
        start = settings.last_folder("images")
        self.fields: dict[str, FolderField] = {}
        self.folders_form = QFormLayout()
        self.folders_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        for kind in KINDS.values():
            for role in kind.all_roles():
                if role.name not in self.fields:
                    field = FolderField(_sentence(role.help).rstrip("."), f"Choose the {role.title.lower()}", start,
                                        videos=True)
                    self.fields[role.name] = field
                    self.folders_form.addRow(role.title, field)
        # A kind that trains from other sets of folders too (paired translation: two folders, one of
        # side-by-side pairs, or one whose inputs are made from its pictures) offers the sets; the
        # folder fields follow the set chosen, and a set whose inputs are made asks how.
        self.roles_combo = QComboBox()
        self.folders_form.insertRow(0, "Train from", self.roles_combo)
        self.made_combo = QComboBox()
        self.made_note = QLabel()
        self.made_note.setWordWrap(True)
        style.muted(self.made_note)
        made = QWidget()
        mv = QVBoxLayout(made)
        mv.setContentsMargins(0, 0, 0, 0)
        mv.setSpacing(2)
        mv.addWidget(self.made_combo)
        mv.addWidget(self.made_note)
        self.made_row = made
        self.made_label = QLabel()
        self.folders_form.addRow(self.made_label, made)
        self.roles_combo.currentIndexChanged.connect(self._on_roles)
        self.made_combo.currentIndexChanged.connect(self._on_made)

        self.location_field = FolderField("Where projects are saved", "Choose where to save the project",
                                          str(default_project_root()))
        self.location_field.set_path(settings.value("folders/projects", str(default_project_root())))
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Project name")
        self.name_edit.textEdited.connect(self._on_name_edited)
        self.fit_combo = QComboBox()
        self.fit_combo.addItem("Crop to a square (fills the frame)", "crop")
        self.fit_combo.addItem("Fit whole image (adds bars)", "pad")
        self.alpha_combo = QComboBox()
        self.alpha_combo.addItem("Put on white", "white")
        self.alpha_combo.addItem("Put on black", "black")
        self.alpha_combo.addItem("Keep transparency (model makes transparent PNGs)", "keep")
        self.colour_combo = QComboBox()
        self.colour_combo.addItem("Colour", False)
        self.colour_combo.addItem("Greyscale", True)
        self.colour_combo.currentIndexChanged.connect(self._on_colour)

        project_box = QGroupBox("Project")
        pf = QFormLayout(project_box)
        pf.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        pf.addRow("Save in", self.location_field)
        pf.addRow("Name", self.name_edit)
        images_box = QGroupBox("How images are prepared")
        imf = QFormLayout(images_box)
        imf.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        imf.addRow("Shape", self.fit_combo)
        imf.addRow("Transparent areas", self.alpha_combo)
        imf.addRow("Colour", self.colour_combo)

        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)

        folders_box = QGroupBox("Images")
        folders_box.setLayout(self.folders_form)
        # The page scrolls rather than growing past a laptop's screen: with a note for every kind and
        # a paired kind's extra rows it is taller than 720 px.
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setSpacing(10)
        layout.addWidget(self.parent_note)
        layout.addLayout(kinds)
        layout.addWidget(folders_box)
        layout.addWidget(project_box)
        layout.addWidget(images_box)
        layout.addWidget(self.error)
        layout.addStretch(1)
        _scrolling(self, content)

        self.kind_group.buttonToggled.connect(self._on_kind)
        for f in (*self.fields.values(), self.location_field):
            f.changed.connect(self._on_folders_changed)
        self._on_kind()

    # ----- values -------------------------------------------------------------------------------------
    def kind(self) -> str:
        """The chosen kind's name (a key of KINDS)."""
        return next(name for name, radio in self.kind_radios.items() if radio.isChecked())

    def set_kind(self, kind: str) -> None:
        self.kind_radios[get_kind(kind).name].setChecked(True)

    def recommend_for(self, device_kind: str) -> None:
        """Select the kind that says it is the default on a `device_kind` device, with its reason under
        it (ModelKind.recommendation); without one, the first kind stays selected."""
        for name, label in self.recommended_notes.items():
            why = get_kind(name).recommendation(device_kind)
            label.setText(f"<b>Recommended for this computer.</b> {html.escape(why, quote=False)}" if why else "")
            label.setVisible(bool(why))
            if why:
                self.set_kind(name)

    def set_parent(self, path: str, kind: str, step: int) -> None:
        """Start from the trained model at `path` (a `kind` model at `step`): its kind is fixed, and the
        next pages suggest its network and size (`ModelKind.fine_tune_suggestion`)."""
        self.parent_model = path
        self.set_kind(kind)
        for name, radio in self.kind_radios.items():
            radio.setEnabled(name == kind)
        self.parent_note.setText(
            f"Starts from <b>{html.escape(Path(path).name)}</b> ({html.escape(get_kind(kind).title)}, step {step:,}): "
            "its generator and critic carry over, and it learns the images you choose here.")
        self.parent_note.setVisible(True)
        self.setTitle("New project from this model")
        self.setSubTitle("Choose the images it learns next; the kind of model is the one it was trained as.")

    def roles(self) -> tuple:
        """The chosen kind's set of folders (its usual one, or the alternative chosen)."""
        sets = get_kind(self.kind()).role_sets()
        return sets[min(max(0, self.roles_combo.currentIndex()), len(sets) - 1)]

    def folders(self) -> dict[str, str]:
        """Role -> folder for the chosen kind's chosen set of folders."""
        return {r.name: self.fields[r.name].path() for r in self.roles()}

    def made_option(self) -> Option | None:
        """The kind's option saying how inputs are made from pictures, when the chosen set makes them."""
        return get_kind(self.kind()).made_inputs_option(self.roles())

    def options(self) -> dict[str, Any]:
        """Option values chosen on this page: how inputs are made, for a set that makes them, and
        "not made" (the option's default) for the kind's other sets."""
        kind = get_kind(self.kind())
        out = {}
        for roles in kind.role_sets():
            option = kind.made_inputs_option(roles)
            if option is not None:
                out.setdefault(option.name, option.default)
        made = self.made_option()
        if made is not None and self.made_combo.currentData() is not None:
            out[made.name] = self.made_combo.currentData()
        return out

    def project_dir(self) -> Path:
        return Path(self.location_field.path() or default_project_root()).expanduser() / self.name_edit.text().strip()

    def data_config(self) -> DataConfig:
        grey = bool(self.colour_combo.currentData())
        alpha = self.alpha_combo.currentData()
        return DataConfig(fit=self.fit_combo.currentData(), alpha="white" if grey and alpha == "keep" else alpha,
                          grayscale=grey)

    # ----- behaviour ---------------------------------------------------------------------------------
    def _on_kind(self, *args) -> None:
        kind = get_kind(self.kind())
        self.roles_combo.blockSignals(True)
        self.roles_combo.clear()
        for roles in kind.role_sets():
            names = [r.title for r in roles]
            self.roles_combo.addItem(" and ".join([names[0]] + [n.lower() for n in names[1:]]))
        self.roles_combo.blockSignals(False)
        self.folders_form.setRowVisible(self.roles_combo, len(kind.role_sets()) > 1)
        self._on_roles()

    def _on_roles(self, *args) -> None:
        roles = {r.name for r in self.roles()}
        for name, field in self.fields.items():
            self.folders_form.setRowVisible(field, name in roles)
        made = self.made_option()
        self.made_combo.blockSignals(True)
        self.made_combo.clear()
        if made is not None:
            self.made_label.setText(made.title)
            for value, text in made.choices or ():
                if value != made.default:  # the default means "not made": not a choice for this set
                    self.made_combo.addItem(text, value)
        self.made_combo.blockSignals(False)
        self.folders_form.setRowVisible(self.made_row, made is not None)
        self._on_made()
        self._suggest_name()
        self.completeChanged.emit()

    def _on_made(self, *args) -> None:
        # Which collection suits the way chosen: the engine's sentence for it.
        self.made_note.setText(PAIR_MODES.get(self.made_combo.currentData(), ""))

    def _on_colour(self) -> None:
        grey = bool(self.colour_combo.currentData())
        keep = self.alpha_combo.findData("keep")
        if grey and self.alpha_combo.currentData() == "keep":
            self.alpha_combo.setCurrentIndex(0)
        self.alpha_combo.model().item(keep).setEnabled(not grey)

    def _on_name_edited(self) -> None:
        self._name_edited = True
        self.completeChanged.emit()

    def _on_folders_changed(self) -> None:
        self.error.clear()
        self._suggest_name()
        self.completeChanged.emit()

    def _suggest_name(self) -> None:
        if self._name_edited:
            return
        folders = [Path(f).stem if is_clip_name(f) else Path(f).name for f in self.folders().values() if f]
        if not folders:
            return
        name = "-to-".join(folders)  # one folder: its name; A and B: "A-to-B"
        parent = Path(self.location_field.path() or default_project_root()).expanduser()
        self.name_edit.setText(unique_project_dir(parent, f"{name} {self.kind()}").name)

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return all(self.folders().values()) and bool(self.name_edit.text().strip())

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        for role, folder in self.folders().items():
            if not (Path(folder).expanduser().is_dir() or is_clip_name(Path(folder).expanduser())):
                self.error.setText(f"{get_kind(self.kind()).role(role).title}: {folder} is not a folder or a video.")
                return False
        out = self.project_dir()
        if Project.is_project(out):
            self.error.setText(f"{out} already holds a project — open it instead, or choose another name.")
            return False
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            self.error.setText(f"{out} is not empty — choose another name.")
            return False
        folders = [Path(f).expanduser().resolve() for f in self.folders().values()]
        if any(out.resolve() == f or f in out.resolve().parents for f in folders):
            self.error.setText("Save the project outside the image folder, or it would train on its own samples.")
            return False
        self.error.clear()
        for folder in self.folders().values():
            self._settings.set_last_folder("images", str(Path(folder).expanduser().parent))
        self._settings.set_value("folders/projects", self.location_field.path())
        return True


# ----- page 2 ------------------------------------------------------------------------------------------
class ReportPage(QWizardPage):
    def __init__(self, source: SourcePage):
        super().__init__()
        self.setTitle("Your images")
        self.setSubTitle("This is what the model will learn from, fitted to its training size.")
        self._source = source
        self.prepared: PreparedData | None = None
        self.runner = TaskRunner("prepare", self)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)

        self.progress = QProgressBar()
        self.progress_label = QLabel("")
        style.muted(self.progress_label)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.retry_button = QPushButton("Try again")
        self.retry_button.clicked.connect(self.initializePage)
        self.retry_button.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.retry_button)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.tabs = QTabWidget()
        self.views: dict[str, DatasetReportView] = {}
        # Example pairs as the model will learn from them, made on their own thread (making inputs
        # from large pictures takes a moment); shown first when the kind trains on pairs.
        self.pairs_view = PairsPreview()
        self.pairs_runner = TaskRunner("pairs", self)
        self.pairs_runner.finished.connect(self._on_pairs)
        self.pairs_runner.failed.connect(lambda message: self.pairs_view.set_pairs([], message))
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.error)
        layout.addWidget(self.tabs, 1)

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        self.prepared = None
        self.error.clear()
        self.retry_button.setVisible(False)
        self.cancel_button.setVisible(True)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.progress_label.setText("Looking at the images…")
        self.tabs.clear()
        self.views = {}
        self.pairs_runner.cancel_and_join()
        src = self._source
        try:
            fn = prepare_folders(src.kind(), src.folders(), src.data_config(),
                                 device=self.wizard().device_name if self.wizard() else "auto",
                                 options=src.options(),
                                 parent=src.parent_model)
        except UserError as e:
            self._on_failed(str(e))
            return
        self.runner.start(fn)
        self.completeChanged.emit()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt API (Back pressed)
        self.runner.cancel_and_join()
        self.pairs_runner.cancel_and_join()

    def _on_progress(self, done: int, total: int, text: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        self.progress_label.setText(text)

    def _on_finished(self, prepared: PreparedData) -> None:
        self.prepared = prepared
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        total = sum(prepared.counts.values())
        self.progress_label.setText(
            f"Ready: {total:,} images prepared at {prepared.data_cfg.size} px. Next: training settings."
        )
        kind = get_kind(prepared.kind)
        for role, ds in prepared.datasets.items():
            role_title = kind.role(role).title
            view = DatasetReportView(role_title if len(prepared.datasets) > 1 else "")
            view.set_dataset(ds.images.numpy(), ds.paths, ds.report, size=prepared.data_cfg.size)
            self.views[role] = view
            self.tabs.addTab(view, f"{role_title} ({len(ds):,})")
        self._show_pairs(prepared)
        self.completeChanged.emit()

    def _show_pairs(self, prepared: PreparedData) -> None:
        kind = get_kind(prepared.kind)
        options = {**prepared.suggestion.options, "batch": prepared.suggestion.batch}

        def make(progress, should_cancel):
            return kind.example_pairs(kind.default_config(prepared.data_cfg, {}, options), prepared.datasets, 8)

        self.pairs_runner.start(make)

    def _on_pairs(self, pairs: list) -> None:
        prepared = self.prepared
        if prepared is None or not pairs:
            return  # not a kind that trains on pairs
        made = get_kind(prepared.kind).made_inputs_option(tuple(get_kind(prepared.kind).role(r)
                                                                for r in prepared.folders))
        how = ""
        if made is not None:
            value = prepared.suggestion.options.get(made.name)
            text = next((t for v, t in made.choices or () if v == value), str(value))
            how = f"Inputs made from your pictures: {text[:1].lower()}{text[1:]}. "
        self.pairs_view.set_pairs(pairs, f"{how}{len(pairs)} pairs, each input beside its target, as training "
                                  "will see them (before random crops and mirroring).")
        self.tabs.insertTab(0, self.pairs_view, "Example pairs")
        self.tabs.setCurrentIndex(0)

    def _on_failed(self, message: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.cancel_button.setVisible(False)
        self.retry_button.setVisible(True)
        self.progress_label.clear()
        self.error.setText(message)
        self.completeChanged.emit()

    def _on_cancelled(self) -> None:
        self._on_failed("Cancelled. Go Back to change the folders, or Try again.")

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.prepared is not None


# ----- page 3 ------------------------------------------------------------------------------------------
class SettingsPage(QWizardPage):
    def __init__(self, source: SourcePage, report: ReportPage):
        super().__init__()
        self.setTitle("Training settings")
        self.setSubTitle("Filled in from your images and this computer. The defaults are a good start; on a CPU "
                         "they aim at a first recognisable result within about 10 minutes.")
        self.setFinalPage(True)
        self._source = source
        self._report = report
        # The estimate: a StepCost measured for the settings in `_cost_key`, re-measured when they change.
        self._cost: StepCost | None = None
        self._cost_key: tuple | None = None
        self.timer = TaskRunner("estimate", self)
        self.timer.progress.connect(self._on_timing_progress)
        self.timer.finished.connect(self._on_timed)
        self.timer.failed.connect(self._on_timing_failed)
        self.timer.cancelled.connect(lambda: self._on_timing_failed("Timing cancelled: the estimate is for the "
                                                                    "settings timed before."))
        self._retime = QTimer(self)  # one measurement after a burst of changes, not one per keystroke
        self._retime.setSingleShot(True)
        self._retime.setInterval(600)
        self._retime.timeout.connect(self._time_if_changed)

        self.size_combo = QComboBox()
        self.size_reason = self._reason()
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 1024)
        self._batch_unit = "images"  # the prepared kind's, e.g. "pairs"
        self.batch_spin.valueChanged.connect(self._show_batch_unit)
        self.batch_reason = self._reason()
        self.flip_check = QCheckBox("Mirror images left–right at random")
        self.flip_check.setToolTip("Augmentation: doubles the variety of a small collection.\n"
                                   "Turn it off for images with text, logos or anything with a handedness.")
        self.flip_reason = self._reason()
        self.option_widgets: dict[str, QWidget] = {}  # Option name -> its control, for the prepared kind
        self.option_reasons: dict[str, QLabel] = {}
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 10_000_000)
        self.steps_spin.setSingleStep(500)
        self.steps_spin.setGroupSeparatorShown(True)
        self.sample_spin = QSpinBox()
        self.sample_spin.setRange(1, 1_000_000)
        self.sample_spin.setSuffix(" steps")
        self.ckpt_spin = QSpinBox()
        self.ckpt_spin.setRange(1, 1_000_000)
        self.ckpt_spin.setSuffix(" steps")
        self.device_combo = QComboBox()
        self.device_combo.addItem("Automatic (GPU if there is one)", "auto")
        self.device_combo.addItem("CPU", "cpu")
        self._add_gpu_devices()
        self.device_label = self._reason()
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("Same seed, same run")

        model = QGroupBox("Model")
        mf = QFormLayout(model)
        mf.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        mf.addRow("Image size", self._with_reason(self.size_combo, self.size_reason))
        mf.addRow("Batch", self._with_reason(self.batch_spin, self.batch_reason))
        mf.addRow("Augmentation", self._with_reason(self.flip_check, self.flip_reason))
        self.model_form = mf
        self._fixed_rows = mf.rowCount()  # the kind's options follow these rows
        run = QGroupBox("Run")
        rf = QFormLayout(run)
        rf.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        rf.addRow("Train for", self._suffixed(self.steps_spin, "steps"))
        self.estimate_label = QLabel()
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setObjectName("estimate")
        self.timing_note = self._reason()
        self.timing_cancel = QPushButton("Cancel timing")
        self.timing_cancel.clicked.connect(self.timer.cancel)
        self.timing_cancel.setVisible(False)
        timing_row = QHBoxLayout()
        timing_row.setContentsMargins(0, 0, 0, 0)
        timing_row.addWidget(self.timing_note, 1)
        timing_row.addWidget(self.timing_cancel)
        estimate = QWidget()
        ev = QVBoxLayout(estimate)
        ev.setContentsMargins(0, 0, 0, 0)
        ev.setSpacing(2)
        ev.addWidget(self.estimate_label)
        ev.addLayout(timing_row)
        rf.addRow("How long", estimate)
        rf.addRow("Snapshot every", self.sample_spin)
        rf.addRow("Save model every", self.ckpt_spin)
        rf.addRow("Device", self._with_reason(self.device_combo, self.device_label))
        rf.addRow("Seed", self.seed_spin)
        # Scrolls like the first page: the style-based kind's options made this page 813 px tall, and
        # the wizard grew past a 768 px laptop screen to hold it.
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(model)
        layout.addWidget(run)
        layout.addStretch(1)
        _scrolling(self, content)

    @staticmethod
    def _reason() -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        style.muted(label)
        return label

    @staticmethod
    def _with_reason(control: QWidget, reason: QLabel) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        v.addWidget(control)
        v.addWidget(reason)
        return w

    @staticmethod
    def _suffixed(spin: QSpinBox, text: str) -> QSpinBox:
        spin.setSuffix(f" {text}")
        return spin

    def _add_gpu_devices(self) -> None:
        try:
            import torch

            if torch.cuda.is_available():
                self.device_combo.addItem(f"GPU: {torch.cuda.get_device_name(0)}", "cuda")
            if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
                self.device_combo.addItem("Apple GPU (Metal)", "mps")
        except Exception:  # noqa: BLE001 - no GPU probing is worth a crash
            pass

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        prepared = self._report.prepared
        if prepared is None:
            return
        s = prepared.suggestion
        kind = get_kind(prepared.kind)
        self.size_combo.clear()
        for size in kind.sizes:
            self.size_combo.addItem(f"{size} × {size} px", size)
        self.size_combo.setCurrentIndex(max(0, self.size_combo.findData(s.size)))
        self._batch_unit = kind.batch_unit
        self.batch_spin.setValue(s.batch)
        self._show_batch_unit()
        self.flip_check.setChecked(s.flip)
        self._show_reasons()
        self._build_options(kind, s.options, s.reasons)
        self.steps_spin.setValue(s.steps)
        self.sample_spin.setValue(s.sample_every)
        self.ckpt_spin.setValue(s.checkpoint_every)
        self.device_label.setText(f"This computer: {prepared.device.label}")
        self._cost, self._cost_key = prepared.cost, self._timing_key()
        self._connect_retiming()
        self._show_estimate()

    def _show_reasons(self) -> None:
        """Under size, batch and mirroring: why the suggestion chose it, or, once the user chose
        another value, that they did (with what was suggested), so a reason never describes a value
        no longer shown."""
        prepared = self._report.prepared
        if prepared is None:
            return
        s = prepared.suggestion
        shown = {"size": (self.size_reason, self.size_combo.currentData(), s.size, f"{s.size} px"),
                 "batch": (self.batch_reason, self.batch_spin.value(), s.batch, f"{s.batch}"),
                 "flip": (self.flip_reason, self.flip_check.isChecked(), s.flip, "on" if s.flip else "off")}
        for name, (label, value, suggested, text) in shown.items():
            reason = s.reasons.get(name, "")
            if value != suggested:
                why = f" ({reason[:1].lower()}{reason[1:]})" if reason and reason != "Chosen by you" else ""
                reason = f"Chosen by you. Suggested: {text}{why}"
            label.setText(reason)

    # ----- the estimate ------------------------------------------------------------------------------------
    def _timing_key(self) -> tuple:
        """What the time of one step depends on: size, batch, device and the kind's options."""
        return (self.size_combo.currentData(), self.batch_spin.value(), self.device_combo.currentData(),
                tuple(sorted(self.option_values().items())))

    def _connect_retiming(self) -> None:
        # The option controls are rebuilt for each kind; the fixed ones are connected once (a
        # connection made twice would only time twice: _time_if_changed drops the repeat).
        if not getattr(self, "_fixed_connected", False):
            self._fixed_connected = True
            self.size_combo.currentIndexChanged.connect(self._retime.start)
            self.size_combo.currentIndexChanged.connect(self._show_reasons)
            self.batch_spin.valueChanged.connect(self._show_reasons)
            self.flip_check.toggled.connect(self._show_reasons)
            self.batch_spin.valueChanged.connect(self._retime.start)
            self.device_combo.currentIndexChanged.connect(self._retime.start)
            for spin in (self.steps_spin, self.sample_spin, self.ckpt_spin):
                spin.valueChanged.connect(self._show_estimate)
        for control in self.option_widgets.values():
            signal = (control.currentIndexChanged if isinstance(control, QComboBox)
                      else control.valueChanged if isinstance(control, QSpinBox) else control.toggled)
            signal.connect(self._retime.start)

    def _time_if_changed(self) -> None:
        prepared = self._report.prepared
        key = self._timing_key()
        if prepared is None or key == self._cost_key:
            return
        self._cost_key = key
        size, batch, device, options = key
        self.timing_note.setText("Timing a few training steps with these settings…")
        self.timing_cancel.setVisible(True)
        self.timer.start(timing_task(prepared, size, batch, dict(options), device))

    def _on_timing_progress(self, done: int, total: int, text: str) -> None:
        self.timing_note.setText(text)

    def _on_timed(self, cost: StepCost | None) -> None:
        self._cost = cost
        self.timing_cancel.setVisible(False)
        self.timing_note.clear()
        self._show_estimate()

    def _on_timing_failed(self, message: str) -> None:
        self.timing_cancel.setVisible(False)
        self.timing_note.setText(message)
        self._cost_key = None  # time again on the next change

    def _run_settings(self) -> RunSettings:
        return RunSettings(steps=self.steps_spin.value(), sample_every=self.sample_spin.value(),
                           checkpoint_every=self.ckpt_spin.value())

    def _show_estimate(self) -> None:
        prepared = self._report.prepared
        if prepared is None or self._cost is None:
            self.estimate_label.setText("No estimate: these settings could not be timed on this computer."
                                        if prepared is not None else "")
            return
        kind = get_kind(prepared.kind)
        where = f"this {prepared.device.label}" if self.device_combo.currentData() in ("auto", prepared.device.kind) \
            else f"the {self.device_combo.currentText()}"
        text = describe_estimate(self._cost, self.steps_spin.value(), self._run_settings(), where,
                                 kind.first_shapes_steps)
        first = self._cost.run_seconds(kind.first_shapes_steps or 0, self._run_settings())
        levers = (["a smaller image size"] if self.size_combo.currentData() != min(kind.sizes) else []) + \
            (["a smaller network width"] if "width" in self.option_widgets else [])
        if kind.first_shapes_steps and first > 15 * 60 and levers:
            text += f" For a quicker first look, choose {' or '.join(levers)}."
        self.estimate_label.setText(text)

    def estimate_seconds(self) -> float | None:
        """The estimated seconds of the run as set now (None while not timed)."""
        if self._cost is None:
            return None
        return self._cost.run_seconds(self.steps_spin.value(), self._run_settings())

    def cleanupPage(self) -> None:  # noqa: N802 - Qt API (Back pressed)
        self._retime.stop()
        self.timer.cancel_and_join()

    def _show_batch_unit(self) -> None:
        one = self.batch_spin.value() == 1 and self._batch_unit.endswith("s")
        self.batch_spin.setSuffix(f" {self._batch_unit[:-1] if one else self._batch_unit} per step")

    def _build_options(self, kind: ModelKind, values: dict[str, Any], reasons: dict[str, str]) -> None:
        """One control per option of `kind` (rebuilt: Back may have changed the kind), set to `values`."""
        while self.model_form.rowCount() > self._fixed_rows:
            self.model_form.removeRow(self._fixed_rows)
        self.option_widgets, self.option_reasons = {}, {}
        for option in kind.options:
            control = self._option_control(option, values.get(option.name, option.default))
            control.setToolTip(_sentence(option.help))
            self.option_widgets[option.name] = control
            label = "" if option.is_switch else option.title
            if option.name in reasons:
                reason = self._reason()
                reason.setText(reasons[option.name])
                self.option_reasons[option.name] = reason
                self.model_form.addRow(label, self._with_reason(control, reason))
            else:
                self.model_form.addRow(label, control)
        # How inputs are made is chosen with the folder on the first page: shown here, not changed,
        # and not at all for a set of folders whose inputs are pictures of their own.
        chosen = self._source.made_option()
        for roles in kind.role_sets():
            option = kind.made_inputs_option(roles)
            if option is None or option.name not in self.option_widgets:
                continue
            control = self.option_widgets[option.name]
            reason = self.option_reasons.get(option.name)
            field = reason.parentWidget() if reason is not None else control  # the row's widget
            self.model_form.setRowVisible(field, chosen is not None and chosen.name == option.name)
            control.setEnabled(False)
            control.setToolTip("Chosen on the first page, with the folder.")

    @staticmethod
    def _option_control(option: Option, value: Any) -> QWidget:
        if option.choices is not None:
            combo = QComboBox()
            for choice, text in option.choices:
                combo.addItem(text, choice)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            return combo
        if option.is_number:
            spin = QSpinBox()
            spin.setRange(option.minimum, option.maximum)
            spin.setValue(int(value))
            return spin
        check = QCheckBox(option.title)
        check.setChecked(bool(value))
        return check

    def option_values(self) -> dict[str, Any]:
        """Option name -> the value its control shows."""
        out = {}
        for name, control in self.option_widgets.items():
            if isinstance(control, QComboBox):
                out[name] = control.currentData()
            elif isinstance(control, QSpinBox):
                out[name] = control.value()
            else:
                out[name] = control.isChecked()
        return out

    def request(self) -> NewProjectRequest:
        prepared = self._report.prepared
        if prepared is None:
            raise UserError("The images are not prepared yet.")
        src = self._source
        run = RunSettings(seed=self.seed_spin.value(), device=self.device_combo.currentData())
        return build_request(
            prepared, str(src.project_dir()), src.data_config(), run,
            size=self.size_combo.currentData(), batch=self.batch_spin.value(), flip=self.flip_check.isChecked(),
            steps=self.steps_spin.value(), sample_every=self.sample_spin.value(),
            checkpoint_every=self.ckpt_spin.value(), **self.option_values(),
        )


def _device_kind(device: str) -> str:
    """"cpu", "cuda" or "mps": the kind of device `device` ("auto", "cpu", "cuda:1"…) trains on."""
    if device == "auto":
        from studio.engine.device import pick_device  # asks torch what is there, without opening a GPU context

        return pick_device("auto").type
    return device.split(":")[0]


class NewProjectWizard(QWizard):
    """The new-project flow. exec() / accepted, then `request()`. GUI thread only."""

    def __init__(self, parent: QWidget | None = None, settings: StudioSettings | None = None,
                 folders: list[str] | None = None, device: str = "auto"):
        super().__init__(parent)
        self.setWindowTitle("New project")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Create && start training")
        self.device_name = device
        self.source_page = SourcePage(settings or StudioSettings())
        self.report_page = ReportPage(self.source_page)
        self.settings_page = SettingsPage(self.source_page, self.report_page)
        self.addPage(self.source_page)
        self.addPage(self.report_page)
        self.addPage(self.settings_page)
        self.source_page.recommend_for(_device_kind(device))
        self.resize(860, 720)
        if folders:
            self.set_folders(folders)

    def set_folders(self, folders: list[str]) -> None:
        """Pre-fill from dropped folders: the first kind (in KINDS order) with that many roles, e.g.
        one folder means new images, two mean translation A <-> B; more than any kind takes are cut."""
        if not folders:
            return
        kind = next((k for k in KINDS.values() if len(k.roles) == len(folders)),
                    max(KINDS.values(), key=lambda k: len(k.roles)))
        self.source_page.set_kind(kind.name)
        for role, folder in zip(kind.roles, folders):
            self.source_page.fields[role.name].set_path(folder)

    def request(self) -> NewProjectRequest:
        return self.settings_page.request()

    def done(self, result: int) -> None:
        self.report_page.runner.cancel_and_join()  # never leave the preparation thread behind
        self.report_page.pairs_runner.cancel_and_join()
        self.settings_page.cleanupPage()  # nor a timing thread
        super().done(result)
