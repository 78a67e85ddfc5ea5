"""The studio's model of the open project: metadata, loss history and saved sample grids.

Views never read the project folder themselves: they listen to `ProjectState`. The GUI opens and
closes projects; while training runs, the state follows the training controller's signals itself
(`follow`): new history records, new sample grids, the run's start and end. GUI thread only.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.engine.errors import UserError
from studio.engine.project.folder import Project


class ProjectState(QObject):
    """What the window shows about one project. GUI thread only."""

    project_changed = Signal(object)  # Project | None (a project was opened or closed)
    history_reset = Signal(list)  # all history records (after opening a project)
    history_appended = Signal(list)  # new records [{"step": n, "loss_D": ...}, ...]
    samples_changed = Signal(list)  # [(step, path)] of every saved sample grid, oldest first
    step_changed = Signal(int)  # the model's current step
    # What the user should know about the history just read: a sentence, or "" when all is well
    # (emitted on every open and close, so a note about the previous project can be taken down).
    history_note_changed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.project: Project | None = None
        self.history: list[dict] = []
        self.sample_steps: list[tuple[int, Path]] = []
        self.step = 0
        self.history_note = ""

    def open(self, root: str | Path, clean: bool = True) -> Project:
        """Open a project folder (raises UserError if it is not one) and announce it. `clean=False`
        while this process trains it: the trainer's temp files are writes in progress."""
        project = Project.open(root, clean=clean)
        self.project = project
        self.history = project.read_history()
        self.history_note = history_note(project.history_skipped)
        self.sample_steps = project.sample_steps()
        self.step = project.step
        self.project_changed.emit(project)
        self.history_reset.emit(list(self.history))
        self.samples_changed.emit(list(self.sample_steps))
        self.step_changed.emit(self.step)
        self.history_note_changed.emit(self.history_note)
        return project

    def close(self) -> None:
        self.project = None
        self.history = []
        self.sample_steps = []
        self.step = 0
        self.history_note = ""
        self.project_changed.emit(None)
        self.history_reset.emit([])
        self.samples_changed.emit([])
        self.history_note_changed.emit("")

    # ----- following a training run ------------------------------------------------------------------
    def follow(self, training) -> None:
        """Keep up with a TrainController's runs (connect before any view that reads this state when
        it hears the same signals, so the view sees the run's records already here)."""
        training.ready.connect(self._on_run_ready)
        training.progress.connect(self._on_run_progress)
        training.samples.connect(lambda step, _grid: self.add_sample(step))
        training.finished.connect(self._on_run_finished)

    def _on_run_ready(self, info) -> None:
        """A run starts (TrainReady): a new project is opened; a continued one drops the records past
        the checkpoint it resumes from."""
        if self.project is None or Path(info.project).resolve() != self.project.root.resolve():
            # The worker thread is saving the first sample grid right now: keep its temp file.
            self.open(info.project, clean=False)
        else:
            self.truncate_after(info.step)

    def _on_run_progress(self, progress) -> None:
        self.add_records([{"step": s, **losses} for s, losses in progress.records])

    def _on_run_finished(self, result) -> None:
        """A run ended (TrainResult): the project's metadata is re-read for its new step and run settings."""
        if result.reason == "diverged":
            self.truncate_after(result.step)  # rolled back: the curves continue from the checkpoint
        if self.project is None:
            return
        try:
            self.project = Project.open(self.project.root, clean=False)
        except UserError:
            pass  # the folder went away meanwhile: keep showing what was known
        self.set_step(result.step)

    def add_records(self, records: list[dict]) -> None:
        """New loss records (every step of a run, not only the logged ones)."""
        if not records:
            return
        self.history.extend(records)
        self.history_appended.emit(list(records))
        self.set_step(int(records[-1].get("step", self.step)))

    def add_sample(self, step: int) -> None:
        """A sample grid for `step` was saved by the trainer."""
        if self.project is None:
            return
        path = self.project.sample_path(step)
        if any(s == step for s, _ in self.sample_steps):
            return
        self.sample_steps.append((step, path))
        self.sample_steps.sort()
        self.samples_changed.emit(list(self.sample_steps))

    def set_step(self, step: int) -> None:
        if step != self.step:
            self.step = step
            self.step_changed.emit(step)

    def truncate_after(self, step: int) -> None:
        """Drop records past `step` (a resumed run restarts from its checkpoint, not from the last logged step)."""
        if any(r.get("step", 0) > step for r in self.history):
            self.history = [r for r in self.history if r.get("step", 0) <= step]
            self.history_reset.emit(list(self.history))


def history_note(skipped: int) -> str:
    """The sentence telling the user that `skipped` lines of history.jsonl could not be read ("" for
    none): otherwise a gap in the loss curves (a hand edit, a disk error) would go unexplained."""
    if not skipped:
        return ""
    if skipped == 1:
        return "1 damaged line in history.jsonl was skipped; the loss curves leave it out."
    return f"{skipped:,} damaged lines in history.jsonl were skipped; the loss curves leave them out."
