"""TimelineView: scrub back through every saved sample grid of the project.

While "Live" is on the view follows the newest grid as training saves it; dragging the slider
back turns it off, so a designer can study an older snapshot while training continues.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from studio.ui import style


class TimelineView(QWidget):
    """A slider over saved sample steps. GUI thread only."""

    step_selected = Signal(int, str)  # (step, path of its sample grid)
    live_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._steps: list[tuple[int, Path]] = []
        self._live = True
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(1)
        self.slider.setToolTip("Drag to see the samples as they were earlier in training (← → keys step through them)")
        self.slider.valueChanged.connect(self._on_value)
        self.label = QLabel("No snapshots yet")
        self.label.setMinimumWidth(190)
        style.muted(self.label)
        self.live_button = QPushButton("Live")
        self.live_button.setCheckable(True)
        self.live_button.setChecked(True)
        self.live_button.setToolTip("Follow the newest samples while training")
        self.live_button.toggled.connect(self.set_live)
        title = QLabel("Timeline")
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 8)
        row.setSpacing(10)
        row.addWidget(title)
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)
        row.addWidget(self.live_button)
        self.setEnabled(False)

    # ----- API --------------------------------------------------------------------------------------
    def set_steps(self, steps: list[tuple[int, Path]]) -> None:
        """All saved sample grids, oldest first. Keeps the current selection unless live."""
        current = self.current_step()
        self._steps = list(steps)
        self.setEnabled(bool(self._steps))
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self._steps) - 1))
        if self._live or current is None:
            index = len(self._steps) - 1
        else:
            index = next((i for i, (s, _) in enumerate(self._steps) if s == current), len(self._steps) - 1)
        self.slider.setValue(max(0, index))
        self.slider.blockSignals(False)
        self._update_label()
        if self._steps and (self._live or current is None or current != self.current_step()):
            self._emit()

    def steps(self) -> list[int]:
        return [s for s, _ in self._steps]

    def current_step(self) -> int | None:
        if not self._steps:
            return None
        return self._steps[self.slider.value()][0]

    def select_step(self, step: int) -> None:
        """Jump to the snapshot of `step` (or the nearest earlier one)."""
        idx = max((i for i, (s, _) in enumerate(self._steps) if s <= step), default=0)
        self.slider.setValue(idx)

    @property
    def live(self) -> bool:
        return self._live

    def set_live(self, live: bool) -> None:
        if live == self._live:
            return
        self._live = live
        self.live_button.blockSignals(True)
        self.live_button.setChecked(live)
        self.live_button.blockSignals(False)
        if live and self._steps:
            self.slider.setValue(len(self._steps) - 1)
            self._emit()
        self.live_changed.emit(live)

    # ----- internals --------------------------------------------------------------------------------
    def _on_value(self, value: int) -> None:
        at_end = value == len(self._steps) - 1
        if self._live != at_end:
            self._live = at_end
            self.live_button.blockSignals(True)
            self.live_button.setChecked(at_end)
            self.live_button.blockSignals(False)
            self.live_changed.emit(at_end)
        self._update_label()
        self._emit()

    def _emit(self) -> None:
        if self._steps:
            step, path = self._steps[self.slider.value()]
            self.step_selected.emit(step, str(path))

    def _update_label(self) -> None:
        if not self._steps:
            self.label.setText("No snapshots yet")
            return
        step = self.current_step()
        self.label.setText(f"Step {step:,}  ·  snapshot {self.slider.value() + 1} of {len(self._steps)}")
