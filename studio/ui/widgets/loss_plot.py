"""LossPlotView: how training is going, in plain words first and in raw losses on request.

The default view is what a designer needs: a one-line verdict ("Learning: ...", "Stuck: the
critic wins every round...", decided by the engine's `train.health.verdict` from the loss
history) and one quality curve (SWD, lower is better; measured every few hundred steps) at the
full height of the panel. "Advanced" adds the raw losses, one plot per group the model kind names
(`ModelKind.loss_groups`: a CycleGAN's adversarial, cycle and identity losses live on different
scales), and every quality measurement.

GAN losses are noisy step to step; a designer reads the trend. Each loss is drawn twice: the raw
values faintly and an exponential moving average (debiased, as in TensorBoard) boldly. New
records are buffered and drawn at most every 100 ms, so a fast trainer cannot flood the GUI.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton, QVBoxLayout, QWidget

from studio.engine.train.health import QUALITY, Verdict, is_loss, verdict
from studio.ui import style

REDRAW_MS = 100
DEFAULT_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (("Losses", ()),)
VERDICT_COLORS = {"learning": style.OK, "plateau": style.WARN, "warming up": style.MUTED, "waiting": style.MUTED}
QUALITY_EMPTY = ("The quality curve appears here after the first measurement (every few hundred steps). "
                 "Advanced shows the raw losses from the first step.")
LOSSES_EMPTY = "Loss curves appear here once training starts."


def is_quality(name: str) -> bool:
    """SWD measurements (swd, swd_a2b, swd_b2a): the quality plot, not the loss plots."""
    return name.startswith(QUALITY)


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


def _plot_widget(left: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background=style.CANVAS)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setLabel("left", left)
    plot.setMenuEnabled(False)
    plot.getPlotItem().hideButtons()
    plot.getPlotItem().getViewBox().setMouseEnabled(x=True, y=False)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    # pyqtgraph asks for room it does not need: a small panel (a laptop) must be able to hold it
    plot.setMinimumSize(120, 70)
    plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    return plot


def _legend(plot: pg.PlotWidget, columns: int) -> pg.LegendItem:
    # one row across the top: a legend box in the corner would hide the newest values
    return plot.addLegend(offset=(8, 2), labelTextColor=style.TEXT, brush=pg.mkBrush(30, 31, 34, 170),
                          colCount=columns, horSpacing=12)


def _placeholder(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setContentsMargins(16, 16, 16, 16)
    label.setMinimumWidth(120)
    style.muted(label)
    return label


class _GroupPlot:
    """One plot of the advanced view and the losses it draws."""

    def __init__(self, title: str, names: tuple[str, ...]):
        self.title = title
        self.names = names
        self.plot = _plot_widget("")
        # the group's name above its curves: a rotated axis label would be cut to a few letters
        self.plot.setTitle(title, size="9pt", color=style.MUTED.name(), justify="left")
        self.plot.setMinimumHeight(75)  # below the title and the legend row, room for the curves
        self.legend = _legend(self.plot, 4)


class LossPlotView(QWidget):
    """The training monitor: verdict, quality curve, and (Advanced) the raw losses. GUI thread only."""

    smoothing_changed = Signal(float)
    advanced_changed = Signal(bool)
    redrawn = Signal()  # the curves were updated on screen (tests and the screenshot wait for it)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._records: list[dict] = []  # every record shown, for the verdict
        self._series: dict[str, _Series] = {}
        self._curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self._quality: dict[str, tuple[list[float], list[float]]] = {}  # name -> (steps, values), not smoothed
        self._quality_curves: dict[str, pg.PlotDataItem] = {}
        self._groups: list[_GroupPlot] = []
        self._alpha = 0.9
        self._dirty = False
        self.verdict: Verdict = verdict([])
        self.redraw_count = 0
        pg.setConfigOptions(antialias=True)

        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setContentsMargins(8, 6, 8, 2)
        self.verdict_label.setTextFormat(Qt.TextFormat.RichText)
        self.verdict_label.setToolTip("How training is going, judged from the losses and the quality "
                                      "measurements of the last few hundred steps.")

        self.quality_title = QLabel("Quality — lower is better")
        self.quality_title.setContentsMargins(8, 2, 0, 0)
        style.muted(self.quality_title)
        self.quality_plot = _plot_widget("SWD")
        self.quality_plot.setLabel("bottom", "step")
        self.quality_legend = _legend(self.quality_plot, 3)
        self.quality_plot.getPlotItem().getViewBox().setDefaultPadding(0.06)  # the newest point clear of the edge
        self.quality_plot.setToolTip("Quality: how far the generated images' patches are from the real ones "
                                     "(sliced Wasserstein distance x1000). Lower is better.")
        self.quality_plot.setVisible(False)
        self.quality_empty = _placeholder(QUALITY_EMPTY)

        self.losses_box = QWidget()
        self._losses_layout = QVBoxLayout(self.losses_box)
        self._losses_layout.setContentsMargins(0, 0, 0, 0)
        self._losses_layout.setSpacing(2)
        self.losses_empty = _placeholder(LOSSES_EMPTY)
        self._losses_layout.addWidget(self.losses_empty)

        self.advanced_button = QToolButton()
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolTip("Show the raw losses of every network, grouped, and every quality "
                                        "measurement")
        self.advanced_button.toggled.connect(self._on_advanced)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 99)
        self.slider.setValue(int(self._alpha * 100))
        self.slider.setToolTip("How much the bold lines average out step-to-step noise "
                               "(the faint lines are the raw values)")
        self.slider.valueChanged.connect(self._on_slider)
        self._smooth_label = QLabel()
        self._smooth_label.setMinimumWidth(34)
        style.muted(self._smooth_label)
        self._smooth_title = QLabel("Smoothing")
        style.muted(self._smooth_title)
        row = QHBoxLayout()
        row.setContentsMargins(8, 0, 8, 4)
        row.addWidget(self.advanced_button)
        row.addStretch(1)
        row.addWidget(self._smooth_title)
        row.addWidget(self.slider, 1)
        row.addWidget(self._smooth_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.losses_box, 3)
        layout.addWidget(self.quality_title)
        layout.addWidget(self.quality_plot, 2)
        layout.addWidget(self.quality_empty, 2)
        layout.addLayout(row)
        self._update_smooth_label()
        self.set_groups(DEFAULT_GROUPS)
        self._on_advanced(False)
        self._show_verdict()

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)

    # ----- what is drawn ----------------------------------------------------------------------------
    def set_groups(self, groups: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        """The loss groups of the project's kind (`ModelKind.loss_groups()`): one plot each."""
        for g in self._groups:
            self._losses_layout.removeWidget(g.plot)
            g.plot.deleteLater()
        self._curves.clear()
        self._groups = [_GroupPlot(title, tuple(names)) for title, names in (groups or DEFAULT_GROUPS)]
        for i, g in enumerate(self._groups):
            if i > 0:
                g.plot.setXLink(self._groups[0].plot)
            self._losses_layout.addWidget(g.plot, 1)
        for g in self._groups:  # one step axis, under the last plot: the plots share it
            g.plot.showAxis("bottom", g is self._groups[-1])
        self._groups[-1].plot.setLabel("bottom", "step")
        self._dirty = True
        self._redraw()

    def group_titles(self) -> list[str]:
        return [g.title for g in self._groups]

    def group_of(self, name: str) -> str:
        return self._group_for(name).title

    def _group_for(self, name: str) -> _GroupPlot:
        for g in self._groups:
            if name in g.names:
                return g
        catch_all = next((g for g in self._groups if not g.names), None)
        if catch_all is None:  # a loss the kind did not announce: a plot of its own
            catch_all = _GroupPlot("Other", ())
            catch_all.plot.setXLink(self._groups[0].plot)
            self._groups.append(catch_all)
            self._losses_layout.addWidget(catch_all.plot, 1)
        return catch_all

    # ----- the advanced view --------------------------------------------------------------------------
    @property
    def advanced(self) -> bool:
        return self.advanced_button.isChecked()

    def set_advanced(self, on: bool) -> None:
        self.advanced_button.setChecked(on)
        self._on_advanced(on)  # also when unchanged: the first call sets the widgets up

    def _on_advanced(self, on: bool) -> None:
        for w in (self._smooth_title, self.slider, self._smooth_label):
            w.setVisible(on)
        self._dirty = True
        self._redraw()
        self.advanced_changed.emit(on)

    # ----- data -----------------------------------------------------------------------------------
    def set_records(self, records: list[dict]) -> None:
        """Replace everything with `records` (history of a freshly opened project)."""
        for name, (raw, smooth) in self._curves.items():
            g = self._group_for(name)
            g.plot.removeItem(raw)
            g.plot.removeItem(smooth)
            g.legend.removeItem(smooth)
        for curve in self._quality_curves.values():
            self.quality_plot.removeItem(curve)
            self.quality_legend.removeItem(curve)
        self._records.clear()
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
            self._records.append(rec)
            for name, value in rec.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and is_quality(name):
                    xs, ys = self._quality.setdefault(name, ([], []))
                    xs.append(float(step))
                    ys.append(float(value))
                elif is_loss(name, value):
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

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        # Modest: beside the Training panel in one column of docks, the controls get the room first.
        return QSize(360, 260)

    # ----- drawing --------------------------------------------------------------------------------
    def _show_verdict(self) -> None:
        v = self.verdict = verdict(self._records)
        color = VERDICT_COLORS.get(v.state, style.ERROR if not v.healthy else style.TEXT)
        self.verdict_label.setText(f'<span style="color:{color.name()}">●</span>&nbsp; {v.text}')

    def _redraw(self) -> None:
        self._dirty = False
        advanced = self.advanced
        colors = style.CURVE_COLORS
        for i, (name, s) in enumerate(self._series.items()):
            curves = self._curves.get(name)
            if curves is None:
                g = self._group_for(name)
                color = colors[i % len(colors)]
                faint = pg.mkColor(color)
                faint.setAlpha(60)
                raw = g.plot.plot(pen=pg.mkPen(faint, width=1))
                smooth = g.plot.plot(pen=pg.mkPen(color, width=2), name=name)
                curves = self._curves[name] = (raw, smooth)
            x = np.asarray(s.steps)
            curves[0].setData(x, np.asarray(s.raw))
            curves[1].setData(x, np.asarray(s.smooth))
        for g in self._groups:
            g.plot.setVisible(advanced and bool(self._series))
            g.plot.enableAutoRange()
            g.plot.getPlotItem().getViewBox().setDefaultPadding(0.08)  # headroom for the legend row
        self.losses_box.setVisible(advanced)
        self.losses_empty.setVisible(advanced and not self._series)
        for i, (name, (xs, ys)) in enumerate(self._quality.items()):
            curve = self._quality_curves.get(name)
            if curve is None:
                color = colors[(i + 5) % len(colors)]
                curve = self._quality_curves[name] = self.quality_plot.plot(
                    pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5, symbolBrush=color, symbolPen=None,
                    name=name)
            curve.setData(np.asarray(xs), np.asarray(ys))
            # the default view shows one curve: the overall measurement, not each direction's
            curve.setVisible(advanced or name == QUALITY or QUALITY not in self._quality)
        measured = bool(self._quality)
        if measured:
            # Its own x range, not linked to the loss plots: those are hidden in the default view.
            self.quality_plot.enableAutoRange()
        self.quality_plot.setVisible(measured)
        self.quality_legend.setVisible(advanced)
        self.quality_empty.setVisible(not measured and not (advanced and self._series))
        self.quality_title.setVisible(measured)
        self._show_verdict()
        self.redraw_count += 1
        self.redrawn.emit()
