"""Individual views: image scaling, loss curves, timeline, training controls, split view, conversions."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage

from studio.app.train_worker import TrainProgress, WorkerState
from studio.ui.panels.training_panel import TrainingPanel, format_duration
from studio.ui.qimage import to_qimage
from studio.ui.widgets.image_view import ImageView
from studio.ui.widgets.loss_plot import LossPlotView
from studio.ui.widgets.split_view import SplitView
from studio.ui.widgets.timeline import TimelineView


@pytest.mark.parametrize("shape, fmt", [
    ((5, 7), QImage.Format.Format_Grayscale8),
    ((5, 7, 1), QImage.Format.Format_Grayscale8),
    ((5, 7, 3), QImage.Format.Format_RGB888),
    ((5, 7, 4), QImage.Format.Format_RGBA8888),
])
def test_to_qimage_keeps_pixels(shape, fmt):
    a = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    img = to_qimage(a)
    assert (img.width(), img.height(), img.format()) == (7, 5, fmt)
    c = img.pixelColor(3, 2)
    px = a[2, 3] if a.ndim == 3 else a[2, 3:4]
    if len(px) >= 3:
        assert (c.red(), c.green(), c.blue()) == tuple(px[:3])
    else:
        assert c.red() == px[0]
    del a  # the QImage owns a copy
    assert img.pixelColor(3, 2) == c


def test_small_grids_are_enlarged_by_whole_numbers(qtbot):
    v = ImageView()
    qtbot.addWidget(v)
    v.resize(600, 400)
    v.set_picture(np.zeros((34, 34, 3), np.uint8))
    assert v.scale() == int(v.scale()) and v.scale() >= 8  # crisp pixels, as large as fits
    v.set_picture(np.zeros((1000, 1000, 3), np.uint8))
    assert v.scale() < 1  # large pictures are reduced to fit
    v.set_picture(None)
    assert not v.has_picture()


def test_loss_plot_appends_and_smooths(qtbot):
    plot = LossPlotView()
    qtbot.addWidget(plot)
    rng = np.random.default_rng(0)
    plot.set_records([{"step": i, "loss_D": 1 + rng.normal(0, 0.3), "time": 5.0} for i in range(1, 101)])
    assert plot.names() == ["loss_D"]  # non-loss fields are not plotted
    assert plot.point_count("loss_D") == 100
    with qtbot.waitSignal(plot.redrawn, timeout=2000):
        plot.append_records([{"step": 101, "loss_D": 1.0, "loss_G": 2.0}])
    assert plot.point_count("loss_D") == 101 and plot.point_count("loss_G") == 1
    plot.set_smoothing(0.0)
    raw_std = plot.smoothed("loss_D").std()
    plot.set_smoothing(0.95)
    assert plot.smoothed("loss_D").std() < raw_std / 2
    assert abs(plot.smoothed("loss_D")[0] - plot._series["loss_D"].raw[0]) < 1e-9  # debiased start


def test_timeline_follows_live_until_the_user_scrubs(qtbot, tmp_path):
    t = TimelineView()
    qtbot.addWidget(t)
    seen = []
    t.step_selected.connect(lambda s, p: seen.append(s))
    t.set_steps([(0, tmp_path / "0.png"), (10, tmp_path / "10.png")])
    assert t.current_step() == 10 and seen[-1] == 10 and t.live
    t.select_step(0)
    assert not t.live and seen[-1] == 0
    t.set_steps([(0, tmp_path / "0.png"), (10, tmp_path / "10.png"), (20, tmp_path / "20.png")])
    assert t.current_step() == 0  # scrubbed back: a new snapshot does not yank the view
    qtbot.mouseClick(t.live_button, Qt.MouseButton.LeftButton)
    assert t.live and t.current_step() == 20 and seen[-1] == 20


def test_training_panel_buttons_follow_the_state(qtbot):
    p = TrainingPanel()
    qtbot.addWidget(p)
    assert not p.start_button.isEnabled()  # no project
    p.set_project("proj", "DCGAN", step=0, steps=100, sample_every=10, checkpoint_every=50, device="CPU")
    assert p.start_button.isEnabled() and p.start_button.text() == "Start training"
    assert not p.pause_button.isEnabled() and not p.stop_button.isEnabled()
    p.set_state(WorkerState.RUNNING)
    assert not p.start_button.isEnabled() and p.pause_button.isEnabled() and p.stop_button.isEnabled()
    assert not p.settings_box.isEnabled() and "locked" in p.settings_box.title()
    p.set_progress(TrainProgress(step=40, target=100, losses={"loss_D": 0.5}, images_per_s=123.4, eta_s=75.0,
                                 records=((40, {"loss_D": 0.5}),), quality={"swd": 12.34, "diversity": 0.81}))
    assert p.progress_bar.value() == 40 and "40%" in p.progress_bar.format()
    assert p.eta_label.text() == "1 min 15 s" and p.speed_label.text() == "123 images/s"
    assert p.quality_label.text() == "SWD 12.3   diversity 0.81"
    p.set_progress(TrainProgress(step=40, target=100, losses={}, images_per_s=0.0, eta_s=None,
                                 messages=("continuing with batch 32",)))
    assert p.speed_label.text() == "123 images/s"  # a message-only update keeps the last timing
    p.set_state(WorkerState.PAUSED)
    assert p.start_button.isEnabled() and p.start_button.text() == "Resume" and p.step_button.isEnabled()
    requests = []
    p.resume_requested.connect(lambda: requests.append("resume"))
    qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
    assert requests == ["resume"]
    p.set_state(WorkerState.IDLE)
    p.set_finished(100, 100, stopped=False, saved=True)
    p.set_project("proj", "DCGAN", step=100, steps=100, sample_every=10, checkpoint_every=50, device="CPU")
    assert not p.start_button.isEnabled()  # reached the target: raise it to continue
    p.steps_spin.setValue(200)
    assert p.start_button.isEnabled() and p.start_button.text() == "Continue training"


def test_format_duration():
    assert format_duration(None) == "—"
    assert format_duration(12.4) == "12 s"
    assert format_duration(3725) == "1 h 02 min"


def test_split_view_drag_moves_the_divider(qtbot):
    v = SplitView()
    qtbot.addWidget(v)
    v.resize(400, 300)
    v.show()
    a = np.zeros((30, 40, 3), np.uint8)
    b = np.full((30, 40, 3), 255, np.uint8)
    v.set_pair(a, b)
    r = v.image_rect()
    qtbot.mousePress(v, Qt.MouseButton.LeftButton, pos=QPoint(r.left() + r.width() // 4, r.center().y()))
    assert abs(v.split - 0.25) < 0.02
    img = v.grab().toImage()
    left = img.pixelColor(r.left() + r.width() // 8, r.center().y())
    right = img.pixelColor(r.left() + r.width() * 3 // 4, r.center().y() + r.height() // 4)
    assert left.red() < 20 and right.red() > 235  # before on the left, after on the right


def test_quality_measurements_get_their_own_plot(qtbot):
    plot = LossPlotView()
    qtbot.addWidget(plot)
    plot.show()
    assert plot.quality_plot.isHidden()
    plot.set_records([{"step": 1, "loss_D": 1.0}, {"step": 250, "loss_D": 0.9, "swd": 40.0, "diversity": 0.8}])
    assert plot.names() == ["loss_D"] and plot.quality_names() == ["swd"]  # diversity is shown as text
    assert not plot.quality_plot.isHidden()
