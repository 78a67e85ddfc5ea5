"""The monitor's one-line verdict describes the quality trend in words that hold for the history it
reads, including histories whose measurements share a step (a copied project trained on)."""

from __future__ import annotations

from studio.engine.train.health import verdict


def _records(points: list[tuple[int, float | None]]) -> list[dict]:
    """History records in file order: (step, swd or None for a losses-only record)."""
    out = []
    for i, (step, swd) in enumerate(points):
        rec = {"step": step, "loss_D": 0.5 + 0.01 * (i % 7), "loss_G": 2.0 + 0.05 * (i % 5), "D_real": 0.8,
               "D_fake": 0.2, "time": float(i)}
        if swd is not None:
            rec.update(swd=swd, diversity=0.5)
        out.append(rec)
    return out


def test_the_trend_counts_steps_between_measurements():
    v = verdict(_records([(s, None) for s in range(50, 500, 50)] + [(500, 400.0)]
                         + [(s, None) for s in range(550, 1000, 50)] + [(1000, 300.0)]))
    assert v.state == "learning" and v.text == "Learning: quality improved from 400 to 300 over the last 500 steps."


def test_measurements_at_one_step_are_counted_not_spanned():
    # the copied project's history: measured at step 1,000, then measured again at 1,000 by the copy's run
    points = [(s, None) for s in range(50, 1000, 50)] + [(1000, 355.59)] + [(s, None) for s in range(800, 1000, 50)] \
        + [(1000, 236.64), (1050, None), (1100, None)]
    v = verdict(_records(points))
    assert v.state == "learning"
    assert v.text == "Learning: quality improved from 356 to 237 over the last 2 measurements."
    worse = verdict(_records(points[:19] + [(1000, 236.64)] + points[20:23] + [(1000, 355.59), (1050, None)]))
    assert worse.state == "plateau" and "0 steps" not in worse.text
    assert worse.text.startswith("Plateau: quality has not improved over the last 2 measurements;")


def test_a_history_that_steps_backwards_is_not_read_as_a_negative_span():
    v = verdict(_records([(s, None) for s in range(50, 1500, 50)] + [(1500, 300.0), (400, None), (500, 250.0),
                                                                       (550, None)]))
    assert "-1,000" not in v.text and v.text.endswith("over the last 2 measurements.")
