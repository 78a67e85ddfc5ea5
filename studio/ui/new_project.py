"""NewProjectWizard: from "here is my folder" to a configured project in three pages.

1. What to make (new images with a DCGAN, or translation between two folders with a CycleGAN),
   which folder(s), where the project is saved, and how images are fitted to a square.
2. The dataset report: the images as the model will see them, plus skipped files with reasons,
   duplicates, small images and the aspect spread. Preparation runs on a worker thread with a
   progress bar and Cancel.
3. Training settings pre-filled from the dataset and the device (size from the images, batch
   from memory, mirroring for small sets), each with the reason it was chosen.

The wizard returns a `NewProjectRequest`; the main window starts training from it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
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
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from studio.app.prepare import PreparedData, prepare_folders
from studio.app.settings import StudioSettings
from studio.engine.models import KINDS, get_kind
from studio.app.task_worker import TaskRunner
from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig
from studio.engine.errors import UserError
from studio.ui import style
from studio.ui.widgets.dataset_report_view import DatasetReportView
from studio.ui.widgets.folder_field import FolderField

KIND_ROLES = {name: tuple(r.name for r in k.roles) for name, k in KINDS.items()}
ROLE_TITLES = {r.name: r.title for k in KINDS.values() for r in k.roles}


@dataclass(frozen=True)
class NewProjectRequest:
    """Everything needed to create and start a project (see studio.app.sessions.new_project)."""

    out: str  # the new project folder
    kind: str  # "dcgan" | "cyclegan"
    folders: dict[str, str]  # role -> image folder
    data_cfg: DataConfig
    settings: RunSettings
    overrides: dict  # model config fields (batch, flip, widths)


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
class SourcePage(QWizardPage):
    def __init__(self, settings: StudioSettings):
        super().__init__()
        self.setTitle("What would you like to make?")
        self.setSubTitle("Pick a kind of model and the folder(s) of images it learns from.")
        self._settings = settings
        self._name_edited = False

        self.dcgan_radio = QRadioButton("New images  —  DCGAN")
        self.cyclegan_radio = QRadioButton("Translate between two styles  —  CycleGAN")
        self.dcgan_radio.setChecked(True)
        self.kind_group = QButtonGroup(self)
        self.kind_group.addButton(self.dcgan_radio)
        self.kind_group.addButton(self.cyclegan_radio)
        d_note = QLabel("Learns from one folder and invents new images that look like they belong in it.")
        c_note = QLabel("Learns from two folders (no pairs needed) to turn images of one into the style of the other, and back.")
        for note in (d_note, c_note):
            note.setWordWrap(True)
            note.setContentsMargins(26, 0, 0, 6)
            style.muted(note)
        kinds = QVBoxLayout()
        kinds.addWidget(self.dcgan_radio)
        kinds.addWidget(d_note)
        kinds.addWidget(self.cyclegan_radio)
        kinds.addWidget(c_note)

        start = settings.last_folder("images")
        self.data_field = FolderField("Folder of images (searched with all its subfolders)", "Choose the folder of images", start)
        self.a_field = FolderField("Folder A, e.g. photos", "Choose folder A", start)
        self.b_field = FolderField("Folder B, e.g. paintings", "Choose folder B", start)
        self.folders_form = QFormLayout()
        self.folders_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.folders_form.addRow("Images", self.data_field)
        self.folders_form.addRow("Folder A", self.a_field)
        self.folders_form.addRow("Folder B", self.b_field)

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
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(kinds)
        layout.addWidget(folders_box)
        layout.addWidget(project_box)
        layout.addWidget(images_box)
        layout.addWidget(self.error)
        layout.addStretch(1)

        self.kind_group.buttonToggled.connect(self._on_kind)
        for f in (self.data_field, self.a_field, self.b_field, self.location_field):
            f.changed.connect(self._on_folders_changed)
        self._on_kind()

    # ----- values -------------------------------------------------------------------------------------
    def kind(self) -> str:
        return "cyclegan" if self.cyclegan_radio.isChecked() else "dcgan"

    def set_kind(self, kind: str) -> None:
        (self.cyclegan_radio if kind == "cyclegan" else self.dcgan_radio).setChecked(True)

    def folders(self) -> dict[str, str]:
        fields = {"data": self.data_field, "a": self.a_field, "b": self.b_field}
        return {r: fields[r].path() for r in KIND_ROLES[self.kind()]}

    def project_dir(self) -> Path:
        return Path(self.location_field.path() or default_project_root()).expanduser() / self.name_edit.text().strip()

    def data_config(self) -> DataConfig:
        grey = bool(self.colour_combo.currentData())
        alpha = self.alpha_combo.currentData()
        return DataConfig(fit=self.fit_combo.currentData(), alpha="white" if grey and alpha == "keep" else alpha,
                          grayscale=grey)

    # ----- behaviour ---------------------------------------------------------------------------------
    def _on_kind(self, *args) -> None:
        cyc = self.kind() == "cyclegan"
        for field, visible in ((self.data_field, not cyc), (self.a_field, cyc), (self.b_field, cyc)):
            self.folders_form.setRowVisible(field, visible)
        self._suggest_name()
        self.completeChanged.emit()

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
        folders = [Path(f).name for f in self.folders().values() if f]
        if not folders:
            return
        name = "-to-".join(folders) if self.kind() == "cyclegan" else folders[0]
        parent = Path(self.location_field.path() or default_project_root()).expanduser()
        self.name_edit.setText(unique_project_dir(parent, f"{name} {self.kind()}").name)

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return all(self.folders().values()) and bool(self.name_edit.text().strip())

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        for role, folder in self.folders().items():
            if not Path(folder).expanduser().is_dir():
                self.error.setText(f"{ROLE_TITLES[role]}: {folder} is not a folder.")
                return False
        out = self.project_dir()
        if (out / "project.json").exists():
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
        src = self._source
        try:
            fn = prepare_folders(src.kind(), src.folders(), src.data_config(),
                                 device=self.wizard().device_name if self.wizard() else "auto")
        except UserError as e:
            self._on_failed(str(e))
            return
        self.runner.start(fn)
        self.completeChanged.emit()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt API (Back pressed)
        self.runner.cancel_and_join()

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
        for role, ds in prepared.datasets.items():
            title = ROLE_TITLES.get(role, role) if len(prepared.datasets) > 1 else ""
            view = DatasetReportView(title)
            view.set_dataset(ds.images.numpy(), ds.paths, ds.report)
            self.views[role] = view
            self.tabs.addTab(view, f"{ROLE_TITLES.get(role, role)} ({len(ds):,})")
        self.completeChanged.emit()

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
        self.setSubTitle("Filled in from your images and this computer. The defaults are a good start.")
        self.setFinalPage(True)
        self._source = source
        self._report = report

        self.size_combo = QComboBox()
        self.size_reason = self._reason()
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 1024)
        self.batch_reason = self._reason()
        self.flip_check = QCheckBox("Mirror images left–right at random")
        self.flip_check.setToolTip("Augmentation: doubles the variety of a small collection.\n"
                                   "Turn it off for images with text, logos or anything with a handedness.")
        self.flip_reason = self._reason()
        self.diffaugment_check = QCheckBox("DiffAugment: vary colour, position and patches for the discriminator")
        self.diffaugment_check.setToolTip("Differentiable augmentation (Zhao et al. 2020): the generator still learns\n"
                                          "the real images, while the discriminator cannot memorise a small collection.")
        self.diffaugment_reason = self._reason()
        self.preset_combo = QComboBox()
        self.preset_combo.addItem("Standard — the DCGAN paper's recipe", "default")
        self.preset_combo.addItem("Stable — hinge loss, spectral norm, R1 penalty", "stable")
        self.preset_combo.setToolTip("Try 'Stable' if the samples all look the same or training falls apart")
        self.identity_check = QCheckBox("Keep colours where nothing needs to change (identity loss)")
        self.identity_check.setChecked(True)
        self.identity_check.setToolTip("On: images already in the target style pass through unchanged.\n"
                                       "Off: the model may also shift colours freely (sometimes wanted for art styles).")
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
        self.width_spin = QSpinBox()
        self.width_spin.setRange(4, 512)
        self.width_spin.setValue(64)
        self.width_spin.setToolTip("Network width (ngf/ndf): smaller trains faster, larger can learn more detail")
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
        mf.addRow("", self._with_reason(self.diffaugment_check, self.diffaugment_reason))
        mf.addRow("Recipe", self.preset_combo)
        mf.addRow("Colours", self.identity_check)
        mf.addRow("Network width", self.width_spin)
        self.model_form = mf
        run = QGroupBox("Run")
        rf = QFormLayout(run)
        rf.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        rf.addRow("Train for", self._suffixed(self.steps_spin, "steps"))
        rf.addRow("Snapshot every", self.sample_spin)
        rf.addRow("Save model every", self.ckpt_spin)
        rf.addRow("Device", self._with_reason(self.device_combo, self.device_label))
        rf.addRow("Seed", self.seed_spin)
        layout = QVBoxLayout(self)
        layout.addWidget(model)
        layout.addWidget(run)
        layout.addStretch(1)

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
        sizes = get_kind(prepared.kind).sizes
        self.size_combo.clear()
        for size in sizes:
            self.size_combo.addItem(f"{size} × {size} px", size)
        self.size_combo.setCurrentIndex(max(0, self.size_combo.findData(s.size)))
        self.size_reason.setText(s.reasons.get("size", ""))
        self.batch_spin.setValue(s.batch)
        self.batch_spin.setSuffix(" pairs per step" if prepared.kind == "cyclegan" else " images per step")
        self.batch_reason.setText(s.reasons.get("batch", ""))
        self.flip_check.setChecked(s.flip)
        self.flip_reason.setText(s.reasons.get("flip", ""))
        dcgan = prepared.kind == "dcgan"
        self.diffaugment_check.setChecked(bool(s.options.get("diffaugment")))
        self.diffaugment_reason.setText(s.reasons.get("diffaugment", ""))
        self.model_form.setRowVisible(self.diffaugment_check.parentWidget(), dcgan)
        self.model_form.setRowVisible(self.preset_combo, dcgan)
        self.model_form.setRowVisible(self.identity_check, not dcgan)
        self.steps_spin.setValue(s.steps)
        self.sample_spin.setValue(s.sample_every)
        self.ckpt_spin.setValue(s.checkpoint_every)
        self.device_label.setText(f"This computer: {prepared.device.label}")

    def request(self) -> NewProjectRequest:
        prepared = self._report.prepared
        src = self._source
        size = self.size_combo.currentData() or (prepared.data_cfg.size if prepared else 64)
        data_cfg = dataclasses.replace(src.data_config(), size=int(size))
        settings = RunSettings(
            steps=self.steps_spin.value(),
            sample_every=self.sample_spin.value(),
            checkpoint_every=self.ckpt_spin.value(),
            seed=self.seed_spin.value(),
            device=self.device_combo.currentData(),
        )
        overrides = {"batch": self.batch_spin.value(), "flip": self.flip_check.isChecked()}
        if src.kind() == "dcgan":
            overrides["diffaugment"] = self.diffaugment_check.isChecked()
            if self.preset_combo.currentData() != "default":
                overrides["preset"] = self.preset_combo.currentData()
        else:
            overrides["identity"] = self.identity_check.isChecked()
        if self.width_spin.value() != 64:
            overrides["ngf"] = overrides["ndf"] = self.width_spin.value()
        return NewProjectRequest(str(src.project_dir()), src.kind(), src.folders(), data_cfg, settings, overrides)


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
        self.resize(860, 720)
        if folders:
            self.set_folders(folders)

    def set_folders(self, folders: list[str]) -> None:
        """Pre-fill from dropped folders: one means new images, two mean translation A <-> B."""
        if len(folders) >= 2:
            self.source_page.set_kind("cyclegan")
            self.source_page.a_field.set_path(folders[0])
            self.source_page.b_field.set_path(folders[1])
        elif folders:
            self.source_page.set_kind("dcgan")
            self.source_page.data_field.set_path(folders[0])

    def request(self) -> NewProjectRequest:
        return self.settings_page.request()

    def done(self, result: int) -> None:
        self.report_page.runner.cancel_and_join()  # never leave the preparation thread behind
        super().done(result)
