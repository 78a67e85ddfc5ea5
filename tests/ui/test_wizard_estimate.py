"""The wizard's settings page says how long training will take, timed on this computer."""

from __future__ import annotations

import pytest

from studio.ui.new_project import NewProjectWizard


@pytest.fixture
def wizard(qtbot):
    w = NewProjectWizard(device="cpu")
    qtbot.addWidget(w)
    w.show()
    yield w
    w.done(0)


def settled(page) -> bool:
    return not page.timer.busy and not page._retime.isActive() and page._cost_key == page._timing_key()


def test_settings_page_shows_a_measured_estimate_and_times_again_on_change(qtbot, wizard, fill_wizard,
                                                                            shapes_folder, tmp_path):
    report, page = fill_wizard(wizard, {"data": shapes_folder}, tmp_path, "estimate", width=8, steps=1000,
                               sample_every=100)
    assert report.prepared.cost is not None and report.prepared.cost.step_s > 0  # timed while preparing
    qtbot.waitUntil(lambda: settled(page), timeout=60_000)  # width 8: timed again
    text = page.estimate_label.text()
    assert "for 1,000 steps on this CPU" in text and "s a step" in text and text.endswith(".")
    assert "First recognisable shapes usually after ~400 steps" in text
    narrow = page._cost

    # More steps: the same measurement, a longer run (no new timing needed)
    before = page.estimate_seconds()
    page.steps_spin.setValue(2000)
    assert "for 2,000 steps" in page.estimate_label.text()
    assert page.estimate_seconds() == pytest.approx(2 * before, rel=0.1)
    assert page._cost is narrow

    # A wider network: timed again with a progress note, and slower per step
    page.option_widgets["width"].setValue(48)
    qtbot.waitUntil(lambda: page.timer.busy or page._cost is not narrow, timeout=5_000)
    qtbot.waitUntil(lambda: settled(page), timeout=60_000)
    assert page._cost is not narrow and page._cost.step_s > narrow.step_s
    assert not page.timing_cancel.isVisible()


def test_timing_can_be_cancelled(qtbot, wizard, fill_wizard, shapes_folder, tmp_path):
    _, page = fill_wizard(wizard, {"data": shapes_folder}, tmp_path, "estimate-cancel", width=8)
    qtbot.waitUntil(lambda: settled(page), timeout=60_000)
    page.size_combo.setCurrentIndex(page.size_combo.findData(64))
    qtbot.waitUntil(lambda: page.timer.busy, timeout=5_000)
    assert page.timing_cancel.isVisible()
    page.timing_cancel.click()
    qtbot.waitUntil(lambda: not page.timer.busy, timeout=30_000)
    assert page.timing_note.text().startswith("Timing cancelled")
    assert page.estimate_label.text()  # the earlier estimate stays on show


def test_time_left_is_hidden_while_paused_and_back_after(qtbot):
    from studio.app.train_worker import TrainProgress, WorkerState
    from studio.ui.panels.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_state(WorkerState.RUNNING)
    panel.set_progress(TrainProgress(10, 100, {"loss": 1.0}, 50.0, 270.0, records=((10, {"loss": 1.0}),)))
    assert panel.eta_label.text() == "4 min 30 s"
    panel.set_state(WorkerState.PAUSED)
    assert "paused" in panel.eta_label.text() and "min" not in panel.eta_label.text()
    # a single step while paused: progress arrives, the time left stays hidden
    panel.set_progress(TrainProgress(11, 100, {"loss": 1.0}, 50.0, 267.0, records=((11, {"loss": 1.0}),)))
    assert "paused" in panel.eta_label.text()
    panel.set_state(WorkerState.RUNNING)  # the worker's figure counts stepping time only: still right
    assert panel.eta_label.text() == "4 min 27 s"
