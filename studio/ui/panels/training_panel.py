"""TrainingPanel: start / pause / resume / single step / stop, progress with ETA, and run settings.

The panel only asks (signals); the main window drives the TrainController and feeds the panel
the controller's state and progress. Settings are locked while a run is in progress, because
the running trainer would not see a change.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.app.train_worker import TrainProgress, TrainReady, WorkerState
from studio.ui import style

UNLIMITED_STEPS = 10**8  # a step target this large means "until the time is up" (CLI --minutes)


def format_duration(seconds: float | None) -> str:
    """'1 h 05 min', '4 min 10 s', '12 s', or '—' when unknown."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "—"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


class TrainingPanel(QWidget):
    """Controls and status of training. GUI thread only."""

    start_requested = Signal()  # start or continue training with settings()
    pause_requested = Signal()
    resume_requested = Signal()
    step_requested = Signal()  # run exactly one step (starting paused if idle)
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._state = WorkerState.IDLE
        self._eta_text = "—"  # the latest time left, shown again after a pause
        self._has_project = False
        self._refused = ""  # why this project's own training cannot continue (a bundled demo, an import)
        self._step = 0
        self._losses: dict[str, float] = {}

        self.title = QLabel("No project")
        self.title.setObjectName("heading")
        self.subtitle = QLabel("Create a project from a folder of images, or open one.")
        self.subtitle.setWordWrap(True)
        style.muted(self.subtitle)

        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("primary")
        self.start_button.setToolTip("Start or continue training (Space)")
        self.start_button.clicked.connect(self._on_primary)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause after the current step (Space)")
        self.pause_button.clicked.connect(self.pause_requested)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Train exactly one step, then pause (Ctrl+.)")
        self.step_button.clicked.connect(self.step_requested)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop and save a checkpoint; continue later from here (Ctrl+Shift+S)")
        self.stop_button.clicked.connect(self.stop_requested)
        # The main action across the panel, the three others under it: a row of four would make the
        # dock too wide for a laptop screen.
        buttons = QGridLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.start_button, 0, 0, 1, 3)
        buttons.addWidget(self.pause_button, 1, 0)
        buttons.addWidget(self.step_button, 1, 1)
        buttons.addWidget(self.stop_button, 1, 2)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        style.muted(self.status)

        stats = QGridLayout()
        stats.setHorizontalSpacing(14)
        stats.setVerticalSpacing(4)
        self.speed_label = self._stat(stats, 0, "Speed")
        self.eta_label = self._stat(stats, 1, "Time left")
        self.device_label = self._stat(stats, 2, "Device")
        self.losses_label = self._stat(stats, 3, "Losses")
        self.quality_label = self._stat(stats, 4, "Quality")
        self.quality_label.setToolTip("Measured every few hundred steps. SWD: distance between the generated and "
                                      "real images' patches (lower is better). Diversity: how different the samples "
                                      "are from each other (near 0 means they all look alike).")
        self.warning = QLabel("")
        self.warning.setObjectName("warning")
        self.warning.setWordWrap(True)
        self.warning.setVisible(False)

        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 10_000_000)
        self.steps_spin.setSingleStep(500)
        self.steps_spin.setGroupSeparatorShown(True)
        self.steps_spin.setToolTip("Training stops by itself at this step; "
                                   "raise it to train a finished project further")
        self.steps_spin.valueChanged.connect(self._update_buttons)
        self.sample_spin = QSpinBox()
        self.sample_spin.setRange(1, 1_000_000)
        self.sample_spin.setToolTip("How often a snapshot of the samples is saved for the timeline")
        self.ckpt_spin = QSpinBox()
        self.ckpt_spin.setRange(1, 1_000_000)
        self.ckpt_spin.setToolTip("How often the model is saved so training can continue after a crash")
        self.settings_box = QGroupBox("Run settings")
        form = QFormLayout(self.settings_box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a narrow dock puts labels above
        form.addRow("Train until step", self.steps_spin)
        form.addRow("Snapshot every", self._suffix(self.sample_spin, "steps"))
        form.addRow("Save model every", self._suffix(self.ckpt_spin, "steps"))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 12)
        layout.setSpacing(10)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.warning)
        self.stats = QWidget()
        self.stats.setLayout(stats)
        stats.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stats)
        layout.addWidget(self.settings_box)
        layout.addStretch(1)
        self._update_buttons()

    @staticmethod
    def _stat(grid: QGridLayout, row: int, name: str) -> QLabel:
        key = QLabel(name)
        style.muted(key)
        value = QLabel("—")
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        value.setWordWrap(True)  # a long value (a CycleGAN's three quality figures) must not widen the dock
        grid.addWidget(key, row, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(value, row, 1)
        grid.setColumnStretch(1, 1)
        return value

    @staticmethod
    def _suffix(spin: QSpinBox, text: str) -> QWidget:
        spin.setSuffix(f" {text}")
        spin.setGroupSeparatorShown(True)
        return spin

    # ----- fed by the window --------------------------------------------------------------------------
    def set_project(self, title: str, subtitle: str, step: int, steps: int, sample_every: int, checkpoint_every: int,
                    device: str, refused: str = "") -> None:
        """`refused`: the sentence saying why this project cannot continue its own training (a demo
        bundled with its generator alone, an import): Continue stays off, with that sentence."""
        self._has_project = True
        self._refused = refused
        self.title.setText(title)
        self.subtitle.setText(subtitle)
        self._step = step
        timed = steps >= UNLIMITED_STEPS  # trained from the command line with --minutes: no step target
        if timed:
            steps = (step // 1000 + 5) * 1000  # offer a few thousand more steps
        self.steps_spin.setValue(max(steps, 1))
        self.sample_spin.setValue(sample_every)
        self.ckpt_spin.setValue(checkpoint_every)
        self.device_label.setText(device)
        self.speed_label.setText("—")
        self._eta_text = "—"
        self.eta_label.setText(self._eta_text)
        self.losses_label.setText("—")
        self.quality_label.setText("—")
        self.set_warning("")
        self._show_step(step, steps)
        self.status.setText(
            "Kept for exploring: its training cannot continue here. To train one like it on your images, use "
            "File ▸ New Project from This Model…" if refused
            else f"Trained for a set time so far; Continue trains to step {steps:,}." if timed
            else f"Reached step {step:,}. Raise 'Train until step' to train further." if 0 < steps <= step else ""
        )
        self._update_buttons()

    def show_record(self, record: dict) -> None:
        """Show the losses and speed of a history record (the last one of an opened project)."""
        quality = {k: v for k, v in record.items() if k.startswith("swd") or k == "diversity"}
        losses = {k: v for k, v in record.items()
                  if k not in ("step", "time", "images_per_s", "lr") and k not in quality
                  and isinstance(v, (int, float))}
        if losses:
            self.losses_label.setText("   ".join(f"{k} {v:.3f}" for k, v in losses.items()))
        if quality:
            self.show_quality(quality)
        ips = record.get("images_per_s")
        if isinstance(ips, (int, float)) and ips > 0:
            self.speed_label.setText(f"{ips:,.1f} images/s (last run)")

    def clear_project(self) -> None:
        self._has_project = False
        self._refused = ""
        self.title.setText("No project")
        self.subtitle.setText("Create a project from a folder of images, or open one.")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("")
        self.status.setText("")
        self._update_buttons()

    def settings(self) -> dict:
        """The run settings as entered: steps (target), sample_every, checkpoint_every."""
        return {"steps": self.steps_spin.value(), "sample_every": self.sample_spin.value(),
                "checkpoint_every": self.ckpt_spin.value()}

    def set_state(self, state: WorkerState) -> None:
        self._state = state
        # The worker's time left counts stepping time only, so it is still right after a pause;
        # while paused no time passes towards the end, so none is shown.
        self.eta_label.setText("— while paused" if state == WorkerState.PAUSED else self._eta_text)
        text = {
            WorkerState.PREPARING: "Preparing images and model…",
            WorkerState.RUNNING: "Training",
            WorkerState.PAUSED: "Paused — Resume to continue, Step for one step at a time",
            WorkerState.STOPPING: "Stopping after this step and saving the model…",
        }.get(state)
        if text is not None:
            self.status.setText(text)
        self._update_buttons()

    def set_preparing(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)
        self.progress_bar.setFormat(f"Preparing images: {done:,} of {total:,}")

    def set_ready(self, info: TrainReady) -> None:
        self.device_label.setText(info.device)
        self._show_step(info.step, info.target)

    def set_progress(self, p: TrainProgress) -> None:
        self._step = p.step
        self._show_step(p.step, p.target)
        if not p.records:  # a message-only update (e.g. the batch was halved): no new timing
            return
        ips = p.images_per_s
        self.speed_label.setText(f"{ips:,.1f} images/s" if ips < 100 else f"{ips:,.0f} images/s")
        self._eta_text = format_duration(p.eta_s)
        if self._state != WorkerState.PAUSED:  # a single step while paused reports progress too
            self.eta_label.setText(self._eta_text)
        self._losses = dict(p.losses)
        if p.losses:
            self.losses_label.setText("   ".join(f"{k} {v:.3f}" for k, v in p.losses.items()))
        if p.quality:
            self.show_quality(p.quality)

    def show_quality(self, quality: dict) -> None:
        parts = []
        if "swd" in quality:
            parts.append(f"SWD {quality['swd']:.1f}")
        if "diversity" in quality:
            parts.append(f"diversity {quality['diversity']:.2f}")
        parts += [f"{k} {v:.1f}" for k, v in quality.items() if k not in ("swd", "diversity")]
        self.quality_label.setText("   ".join(parts) or "—")

    def set_warning(self, text: str) -> None:
        """A persistent warning (health check, rollback, disk problem); empty hides it."""
        self.warning.setText(text)
        self.warning.setVisible(bool(text))

    def set_finished(self, step: int, target: int, stopped: bool, saved: bool) -> None:
        self._step = step
        self._show_step(step, target)
        self._eta_text = "—"
        self.eta_label.setText(self._eta_text)
        if stopped:
            self.status.setText(f"Stopped at step {step:,}"
                                + (" — model saved, Continue picks up from here" if saved else ""))
        else:
            self.status.setText(f"Finished: step {step:,} reached" + (" — model saved" if saved else ""))
        self._update_buttons()

    def set_message(self, text: str) -> None:
        self.status.setText(text)

    def _show_step(self, step: int, target: int) -> None:
        self.progress_bar.setRange(0, max(target, 1))
        self.progress_bar.setValue(min(step, target))
        pct = 100 * step / target if target else 0
        self.progress_bar.setFormat(f"Step {step:,} of {target:,}  ({pct:.0f}%)")

    # ----- buttons --------------------------------------------------------------------------------------
    def _on_primary(self) -> None:
        if self._state == WorkerState.PAUSED:
            self.resume_requested.emit()
        elif self._state == WorkerState.IDLE:
            self.start_requested.emit()

    def toggle(self) -> None:
        """Space: start, pause or resume, whatever fits the current state."""
        if self._state == WorkerState.RUNNING:
            self.pause_requested.emit()
        elif self.start_button.isEnabled():
            self._on_primary()

    def _update_buttons(self) -> None:
        s = self._state
        idle = s == WorkerState.IDLE
        can_start = idle and self._has_project and not self._refused and self.steps_spin.value() > self._step
        if s == WorkerState.PAUSED:
            self.start_button.setText("Resume")
            self.start_button.setEnabled(True)
        else:
            self.start_button.setText("Continue training" if self._step > 0 else "Start training")
            self.start_button.setEnabled(can_start)
        if idle and self._has_project and self._refused:
            self.start_button.setToolTip(self._refused)
        elif idle and self._has_project and not can_start:
            self.start_button.setToolTip("This project reached its last step: "
                                         "raise 'Train until step' to train further")
        else:
            self.start_button.setToolTip("Start or continue training (Space)")
        self.pause_button.setEnabled(s == WorkerState.RUNNING)
        self.step_button.setEnabled(s in (WorkerState.RUNNING, WorkerState.PAUSED) or can_start)
        self.stop_button.setEnabled(s in (WorkerState.RUNNING, WorkerState.PAUSED, WorkerState.PREPARING))
        locked = not idle
        self.settings_box.setEnabled(self._has_project and not locked)
        self.settings_box.setTitle("Run settings (locked while training)" if locked else "Run settings")
        self.settings_box.setVisible(self._has_project)
        self.stats.setVisible(self._has_project)
        self.progress_bar.setVisible(self._has_project)
