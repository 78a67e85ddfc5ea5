"""The studio's model of the open project: metadata, loss history and saved sample grids.

Views never read the project folder themselves: they listen to `ProjectState`, which is fed by
the GUI (open / close) and by the training controller's signals (new history records, new
sample grids). GUI thread only.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.engine.project.folder import Project


class ProjectState(QObject):
    """What the window shows about one project. GUI thread only."""

    project_changed = Signal(object)  # Project | None (a project was opened or closed)
    history_reset = Signal(list)  # all history records (after opening a project)
    history_appended = Signal(list)  # new records [{"step": n, "loss_D": ...}, ...]
    samples_changed = Signal(list)  # [(step, path)] of every saved sample grid, oldest first
    step_changed = Signal(int)  # the model's current step

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.project: Project | None = None
        self.history: list[dict] = []
        self.sample_steps: list[tuple[int, Path]] = []
        self.step = 0

    @property
    def is_open(self) -> bool:
        return self.project is not None

    def open(self, root: str | Path) -> Project:
        """Open a project folder (raises UserError if it is not one) and announce it."""
        project = Project.open(root)
        self.project = project
        self.history = project.read_history()
        self.sample_steps = project.sample_steps()
        self.step = project.step
        self.project_changed.emit(project)
        self.history_reset.emit(list(self.history))
        self.samples_changed.emit(list(self.sample_steps))
        self.step_changed.emit(self.step)
        return project

    def reload(self) -> None:
        """Re-read the open project from disk (after a run ended)."""
        if self.project is not None:
            self.open(self.project.root)

    def close(self) -> None:
        self.project = None
        self.history = []
        self.sample_steps = []
        self.step = 0
        self.project_changed.emit(None)
        self.history_reset.emit([])
        self.samples_changed.emit([])

    # ----- fed by the training controller ---------------------------------------------------------
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
