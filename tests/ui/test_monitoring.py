"""Plain-language monitoring: a verdict and one quality curve by default, raw losses grouped on request."""

from __future__ import annotations

import math

from studio.engine.models import KINDS, get_kind
from studio.engine.train.health import verdict
from studio.ui.widgets.loss_plot import LossPlotView


def _run(steps: int, every: int = 10, **fields) -> list[dict]:
    """History records of a DCGAN-like run; `fields` override the values (a function of the step or a number)."""
    out = []
    for s in range(every, steps + 1, every):
        rec = {"step": s, "loss_D": 0.5 + 0.1 * math.sin(s), "loss_G": 2 + 0.3 * math.cos(s), "D_real": 0.8,
               "D_fake": 0.2, "time": 1.0}
        if s % 250 == 0:
            rec.update(swd=400 - s / 10, diversity=0.8)
        for k, v in fields.items():
            value = v(s) if callable(v) else v
            if k in ("swd", "diversity") and s % 250:
                continue
            rec[k] = value
        out.append(rec)
    return out


def test_the_verdict_names_what_goes_wrong():
    assert verdict([]).state == "waiting"
    assert verdict(_run(100)).state == "warming up"
    good = verdict(_run(1000))
    assert good.state == "learning" and "improved from 375 to 300" in good.text
    assert verdict(_run(1000, swd=lambda s: 300 + s / 10)).state == "plateau"
    stuck = verdict(_run(1000, D_real=0.999, D_fake=0.001))
    assert stuck.state == "stuck" and "critic wins every round" in stuck.text
    assert verdict(_run(1000, diversity=0.02)).state == "collapsing"
    assert verdict(_run(1000, loss_G=1.5)).state == "stalled"
    assert verdict(_run(1000, loss_D=float("nan"))).state == "diverged"
    # an early hiccup long gone does not condemn the run
    assert verdict(_run(400, D_real=0.999, D_fake=0.001) + _run(1000)[40:]).state == "learning"


def test_default_view_is_the_verdict_and_one_quality_curve(qtbot):
    view = LossPlotView()
    qtbot.addWidget(view)
    view.resize(360, 320)
    view.show()
    assert "once training starts" in view.verdict_label.text()
    assert view.quality_empty.isVisible() and view.quality_empty.wordWrap()  # never clipped mid-word
    records = _run(1000)
    for r in records:  # a CycleGAN-style run measures each direction as well
        if "swd" in r:
            r.update(swd_a2b=r["swd"] + 20, swd_b2a=r["swd"] - 20)
    view.set_records(records)
    assert view.verdict.state == "learning" and "Learning" in view.verdict_label.text()
    assert view.quality_plot.isVisible() and not view.quality_empty.isVisible()
    assert view.quality_plot.height() >= 150  # a readable height, not a strip under the losses
    shown = [n for n, c in view._quality_curves.items() if c.isVisible()]
    assert shown == ["swd"]
    assert not view.losses_box.isVisible() and not view.slider.isVisible()
    assert view.point_count("loss_D") == len(records)  # drawn, ready for Advanced

    view.set_advanced(True)
    assert view.losses_box.isVisible() and view.slider.isVisible()
    assert sorted(n for n, c in view._quality_curves.items() if c.isVisible()) == ["swd", "swd_a2b", "swd_b2a"]


def test_cyclegan_losses_are_grouped_by_what_the_kind_says(qtbot):
    kind = next(k for k in KINDS.values() if k.capabilities.translates)
    view = LossPlotView()
    qtbot.addWidget(view)
    view.set_groups(kind.loss_groups())
    names = ["D_A", "D_B", "G", "F", "cycle_A", "cycle_B", "idt_A", "idt_B"]
    view.set_records([{"step": s, **{n: 1.0 / s for n in names}} for s in range(1, 20)])
    view.set_advanced(True)
    assert view.group_titles() == ["Adversarial", "Cycle", "Identity"]
    assert [view.group_of(n) for n in ("D_A", "G", "cycle_B", "idt_A")] == ["Adversarial", "Adversarial", "Cycle",
                                                                             "Identity"]
    assert all(g.plot.isVisibleTo(view) for g in view._groups)
    # a kind that names no groups draws every loss in one plot
    one = get_kind("dcgan").loss_groups()
    view.set_groups(one)
    view.set_records([{"step": 1, "loss_D": 1.0, "loss_G": 2.0}])
    assert view.group_titles() == ["Losses"] and view.group_of("loss_G") == "Losses"
