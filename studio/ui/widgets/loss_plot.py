"""LossPlotView: live loss curves (pyqtgraph) with adjustable smoothing, and the quality metric.

GAN losses are noisy step to step; a designer reads the trend. Each curve is drawn twice: the
raw values faintly and an exponential moving average (debiased, as in TensorBoard) boldly. New
records are buffered and drawn at most every 100 ms, so a fast trainer cannot flood the GUI.

The offline quality measurement (SWD, lower is better; measured every few hundred steps) lives
on another scale than the losses, so it gets its own small plot under them, shown once measured.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from studio.ui import style

# Fields of a history record that are not plotted as losses.
NOT_LOSSES = {"step", "time", "images_per_s", "lr", "elapsed_s", "diversity"}
REDRAW_MS = 100


def is_quality(name: str) -> bool:
    """SWD measurements (swd, swd_a2b, swd_b2a): the quality plot, not the loss plot."""
    return name.startswith("swd")


class _Series:
    __slots__ = ("steps", "raw", "smooth", "_ema", "_weight")

    def __init__(self):
        self.steps: list[float] = []
        self.raw: list[float] = []
        self.smooth: list[float] = []
        self._ema = 0.0
        self._weight = 0.0

    def add(self, step: float, value: float, alpha: float) -> None:
        self.steps.append(step)
        self.raw.append(value)
        self.smooth.append(self._next(value, alpha))

    def _next(self, value: float, alpha: float) -> float:
        if not np.isfinite(value):
            return self.smooth[-1] if self.smooth else float("nan")
        self._ema = alpha * self._ema + (1 - alpha) * value
        self._weight = alpha * self._weight + (1 - alpha)
        return self._ema / self._weight  # debiased: no dip towards 0 at the start

    def resmooth(self, alpha: float) -> None:
        self._ema = self._weight = 0.0
        self.smooth = []
        for v in self.raw:
            self.smooth.append(self._next(v, alpha))


class LossPlotView(QWidget):
    """Loss curves over training steps. GUI thread only."""

    smoothing_changed = Signal(float)
    redrawn = Signal()  # the curves were updated on screen (tests and the screenshot wait for it)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._series: dict[str, _Series] = {}
        self._curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self._quality: dict[str, tuple[list[float], list[float]]] = {}  # name -> (steps, values), not smoothed
        self._quality_curves: dict[str, pg.PlotDataItem] = {}
        self._alpha = 0.9
        self._dirty = False
        self.redraw_count = 0

        pg.setConfigOptions(antialias=True)
        self.plot = pg.PlotWidget(background=style.CANVAS)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().hideButtons()
        # one row across the top: a legend box in the corner would hide the newest values
        self.legend = self.plot.addLegend(offset=(8, 2), labelTextColor=style.TEXT, brush=pg.mkBrush(30, 31, 34, 170),
                                          colCount=4, horSpacing=12)
        self.plot.getPlotItem().getViewBox().setMouseEnabled(x=True, y=False)
        self._empty = pg.TextItem("Loss curves appear here once training starts", color=style.MUTED, anchor=(0.5, 0.5))
        self.plot.addItem(self._empty, ignoreBounds=True)
        self._empty.setPos(0.5, 0.5)
        self.plot.setXRange(0, 1)
        self.plot.setYRange(0, 1)

        self.quality_plot = pg.PlotWidget(background=style.CANVAS)
        self.quality_plot.showGrid(x=True, y=True, alpha=0.15)
        self.quality_plot.setLabel("left", "SWD")
        self.quality_plot.setMenuEnabled(False)
        self.quality_plot.getPlotItem().hideButtons()
        self.quality_plot.setXLink(self.plot)
        self.quality_plot.getPlotItem().getViewBox().setMouseEnabled(x=True, y=False)
        self.quality_legend = self.quality_plot.addLegend(offset=(8, 2), labelTextColor=style.TEXT,
                                                          brush=pg.mkBrush(30, 31, 34, 170), colCount=3)
        self.quality_plot.setToolTip("Quality: how far the generated images' patches are from the real ones "
                                     "(sliced Wasserstein distance x1000). Lower is better.")
        self.quality_plot.setVisible(False)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 99)
        self.slider.setValue(int(self._alpha * 100))
        self.slider.setToolTip("How much the bold lines average out step-to-step noise "
                               "(the faint lines are the raw values)")
        self.slider.valueChanged.connect(self._on_slider)
        self._smooth_label = QLabel()
        self._smooth_label.setMinimumWidth(34)
        style.muted(self._smooth_label)
        row = QHBoxLayout()
        row.setContentsMargins(8, 0, 8, 4)
        title = QLabel("Smoothing")
        style.muted(title)
        row.addWidget(title)
        row.addWidget(self.slider, 1)
        row.addWidget(self._smooth_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.plot, 3)
        self.quality_title = QLabel("Quality — lower is better")
        self.quality_title.setContentsMargins(8, 2, 0, 0)
        style.muted(self.quality_title)
        self.quality_title.setVisible(False)
        layout.addWidget(self.quality_title)
        layout.addWidget(self.quality_plot, 1)
        layout.addLayout(row)
        self._update_smooth_label()

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)

    # ----- data -----------------------------------------------------------------------------------
    def set_records(self, records: list[dict]) -> None:
        """Replace everything with `records` (history of a freshly opened project)."""
        for raw, smooth in self._curves.values():
            self.plot.removeItem(raw)
            self.plot.removeItem(smooth)
            self.legend.removeItem(smooth)
        for curve in self._quality_curves.values():
            self.quality_plot.removeItem(curve)
            self.quality_legend.removeItem(curve)
        self._series.clear()
        self._curves.clear()
        self._quality.clear()
        self._quality_curves.clear()
        self.append_records(records)
        self._redraw()

    def append_records(self, records: list[dict]) -> None:
        """Add new records ({"step": n, "loss_D": ..., ...}); drawn within REDRAW_MS."""
        for rec in records:
            step = rec.get("step")
            if step is None:
                continue
            for name, value in rec.items():
                if name in NOT_LOSSES or not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                if is_quality(name):
                    xs, ys = self._quality.setdefault(name, ([], []))
                    xs.append(float(step))
                    ys.append(float(value))
                    continue
                s = self._series.get(name)
                if s is None:
                    s = self._series[name] = _Series()
                s.add(float(step), float(value), self._alpha)
        if records:
            self._dirty = True
            if not self._timer.isActive():
                self._timer.start()

    def names(self) -> list[str]:
        return list(self._series)

    def quality_names(self) -> list[str]:
        return list(self._quality)

    def point_count(self, name: str | None = None) -> int:
        """Points handed to the plot for curve `name` (or the longest curve); pyqtgraph may draw fewer
        (downsampled to the pixels available)."""
        if name is not None:
            item = self._curves.get(name)
            if item is None:
                return 0
            x, _ = item[1].getOriginalDataset()
            return 0 if x is None else len(x)
        return max((self.point_count(n) for n in self._curves), default=0)

    def smoothed(self, name: str) -> np.ndarray:
        return np.asarray(self._series[name].smooth) if name in self._series else np.zeros(0)

    # ----- smoothing ------------------------------------------------------------------------------
    @property
    def smoothing(self) -> float:
        return self._alpha

    def set_smoothing(self, alpha: float) -> None:
        self.slider.setValue(int(round(min(max(alpha, 0.0), 0.99) * 100)))

    def _on_slider(self, value: int) -> None:
        self._alpha = value / 100
        for s in self._series.values():
            s.resmooth(self._alpha)
        self._update_smooth_label()
        self._dirty = True
        self._redraw()
        self.smoothing_changed.emit(self._alpha)

    def _update_smooth_label(self) -> None:
        self._smooth_label.setText(f"{self._alpha:.2f}")

    # ----- drawing --------------------------------------------------------------------------------
    def _redraw(self) -> None:
        self._dirty = False
        self._empty.setVisible(not self._series)
        for i, (name, s) in enumerate(self._series.items()):
            curves = self._curves.get(name)
            if curves is None:
                color = style.CURVE_COLORS[i % len(style.CURVE_COLORS)]
                faint = pg.mkColor(color)
                faint.setAlpha(60)
                raw = self.plot.plot(pen=pg.mkPen(faint, width=1))
                smooth = self.plot.plot(pen=pg.mkPen(color, width=2), name=name)
                curves = self._curves[name] = (raw, smooth)
            x = np.asarray(s.steps)
            curves[0].setData(x, np.asarray(s.raw))
            curves[1].setData(x, np.asarray(s.smooth))
        if self._series:
            self.plot.enableAutoRange()
            # headroom above the curves for the legend row
            self.plot.getPlotItem().getViewBox().setDefaultPadding(0.08)
        for i, (name, (xs, ys)) in enumerate(self._quality.items()):
            curve = self._quality_curves.get(name)
            if curve is None:
                color = style.CURVE_COLORS[(i + 5) % len(style.CURVE_COLORS)]
                curve = self._quality_curves[name] = self.quality_plot.plot(
                    pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5, symbolBrush=color, symbolPen=None,
                    name=name)
            curve.setData(np.asarray(xs), np.asarray(ys))
        self.quality_plot.setVisible(bool(self._quality))
        self.quality_title.setVisible(bool(self._quality))
        self.redraw_count += 1
        self.redrawn.emit()
