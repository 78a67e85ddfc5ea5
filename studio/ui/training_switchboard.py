"""Where training meets the window: starting, stepping and stopping runs, and what a run's signals
do to the panels.

The Training panel's buttons, the Training menu and the toolbar come here; so do the training
controller's signals, which update the Training panel, the status bar, the menus and (for a kind
that translates) the Translate panel. The project's records and sample grids are not handled here:
`ProjectState` follows the controller itself, and views listen to the state. GUI thread only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from studio.app.train_worker import TrainProgress, TrainReady, TrainResult, WorkerState
from studio.engine.errors import UserError
from studio.engine.models import get_kind

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow
    from studio.ui.new_project import NewProjectRequest

STATE_MESSAGES = {
    WorkerState.PREPARING: "Preparing images…",
    WorkerState.RUNNING: "Training",
    WorkerState.PAUSED: "Paused",
    WorkerState.STOPPING: "Stopping and saving…",
}


class TrainingSwitchboard(QObject):
    """Runs training for `window` and shows what the runs report. GUI thread only.

    Create it after `window.state.follow(window.controller)`: its handlers read the project state
    as already updated by the same signal."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self._window = window
        self._pending_new: NewProjectRequest | None = None  # a new project whose run has not said ready yet
        c, panel = window.controller, window.training_panel
        c.state_changed.connect(self._on_state_changed)
        c.preparing.connect(panel.set_preparing)
        c.ready.connect(self._on_ready)
        c.progress.connect(self._on_progress)
        c.finished.connect(self._on_finished)
        c.failed.connect(self._on_failed)
        panel.start_requested.connect(self.start)
        panel.pause_requested.connect(c.pause)
        panel.resume_requested.connect(c.resume)
        panel.step_requested.connect(self.step)
        panel.stop_requested.connect(self.stop)

    # ----- starting and controlling runs ---------------------------------------------------------------
    def start(self, start_paused: bool = False) -> None:
        """Continue the open project towards the Training panel's step target."""
        window = self._window
        project = window.state.project
        if project is None or window.controller.busy:
            return
        from studio.app import sessions

        if not self._images_in_place(project):
            return
        s = window.training_panel.settings()
        window.controller.start(
            sessions.continue_project(project.root, steps=s["steps"], sample_every=s["sample_every"],
                                      checkpoint_every=s["checkpoint_every"]),
            start_paused=start_paused,
            cpu_threads=window.cpu_threads,
        )
        if start_paused:
            window.controller.step_once()

    def start_new(self, request: NewProjectRequest) -> None:
        """Create the project folder the wizard describes and train it (on the training thread)."""
        window = self._window
        self._pending_new = request
        window.training_panel.set_project(Path(request.out).name, "Preparing…", 0, request.settings.steps,
                                          request.settings.sample_every, request.settings.checkpoint_every, "—")
        from studio.app import sessions

        window.controller.start(sessions.new_project(request.out, request.kind, request.folders, request.data_cfg,
                                                     request.settings, request.overrides, request.parent),
                                cpu_threads=window.cpu_threads)

    def step(self) -> None:
        """Train exactly one step: of the running (paused) run, or of a new run that starts paused."""
        if self._window.controller.busy:
            self._window.controller.step_once()
        elif self._window.state.project is not None:
            self.start(start_paused=True)

    def stop(self) -> None:
        if self._window.controller.busy:
            self._window.controller.stop()

    def _images_in_place(self, project) -> bool:
        """Training draws from the project's images: when their folder has moved, ask where it is
        now and record it (project.json), instead of failing with "gone"."""
        from studio.engine.project import relocation as data_folders

        window = self._window
        refused = data_folders.continuation_refused(project)
        if refused:  # an import, or a demo bundled with its generator alone: where its images are is moot
            window.show_message("Continue training", refused, QMessageBox.Icon.Information)
            return False
        missing = data_folders.missing_folders(project)
        if any(data_folders.is_procedural(f) for f in missing.values()):
            window.show_message("Continue training",
                                "This demo learned from pictures that GAN Studio draws, which are not stored with "
                                "it, so it cannot train further.\n\nTo train a model of your own on the same kind "
                                "of pictures, choose the demo on the welcome page (File ▸ Close Project).",
                                QMessageBox.Icon.Information)
            return False
        for role, folder in missing.items():
            new = window.ask_new_image_folder("training images" if role == "data" else f"“{role}” images", folder)
            if not new:
                return False
            try:
                data_folders.relocate(project, {role: new})
            except UserError as e:
                window.show_message("Images moved", str(e), QMessageBox.Icon.Warning)
                return False
        return True

    # ----- what a run reports ------------------------------------------------------------------------------
    def _translates(self) -> bool:
        """Whether the open project's kind turns images into images (the Translate panel applies)."""
        project = self._window.state.project
        return project is not None and get_kind(project.kind).capabilities.translates

    def _on_state_changed(self, state: WorkerState) -> None:
        window = self._window
        window.training_panel.set_state(state)
        if self._translates():  # while it trains, the Translate panel uses the trainer's weights
            window.translate_panel.set_training(state != WorkerState.IDLE)
        window.statusBar().showMessage(STATE_MESSAGES.get(state, ""))
        window.update_actions()

    def _on_ready(self, info: TrainReady) -> None:
        window = self._window
        if self._pending_new is not None:  # the state has just opened the new project
            self._pending_new = None
            window.settings.add_recent_project(info.project)
            window.refresh_recent()
        window.training_panel.set_ready(info)
        window.device_status.setText(info.device)
        for w in info.warnings:
            window.show_message("Note", w)

    def _on_progress(self, p: TrainProgress) -> None:
        window = self._window
        window.training_panel.set_progress(p)
        if p.checkpoint_path and window.translate_panel is not None and self._translates():
            window.translate_panel.set_project(window.state.project)  # a saved model: translation can start
        for m in p.messages:
            window.training_panel.set_warning(m)
            window.statusBar().showMessage(m, 15000)

    def _on_finished(self, result: TrainResult) -> None:
        window = self._window
        window.training_panel.set_finished(result.step, result.target, result.stopped,
                                           result.checkpoint_path is not None)
        if result.reason:
            text = " ".join(result.messages) or f"Training stopped ({result.reason})."
            window.training_panel.set_warning(text)
            if not window.closing:
                window.show_message("Training paused", text, QMessageBox.Icon.Warning)
        if window.state.project is not None:
            window.project_panel.set_project(window.state.project)  # re-read by the state: new step, settings
            if window.translate_panel is not None and self._translates():
                window.translate_panel.set_project(window.state.project)
        window.statusBar().showMessage(
            f"Stopped at step {result.step:,}; model saved" if result.stopped
            else f"Training finished at step {result.step:,}", 10000)

    def _on_failed(self, message: str) -> None:
        window = self._window
        if self._pending_new is not None:
            self._pending_new = None
            if window.state.project is None:
                window.training_panel.clear_project()
                window.show_work_area(False)  # nothing was made: back to the welcome page
        window.training_panel.set_message(message)
        if not window.closing:
            window.show_message("Training stopped", message, QMessageBox.Icon.Warning)
