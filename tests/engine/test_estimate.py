"""The wizard's "how long will this take": real steps timed, scheduled extras counted, plain words."""

from __future__ import annotations

import time

import pytest
import torch

from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig, ImageDataset, prepare_dataset
from studio.engine.errors import Cancelled
from studio.engine.models import get_kind
from studio.engine.train.distributed import SINGLE
from studio.engine.train.estimate import StepCost, datasets_at, describe_estimate, duration_words, measure_step_seconds
from tests.conftest import make_shapes

TINY = {"ngf": 8, "ndf": 8, "z_dim": 16, "batch": 8, "preview_count": 4}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = make_shapes(tmp_path_factory.mktemp("shapes"), count=16, size=32)
    kind = get_kind("dcgan")
    data_cfg = DataConfig(size=32)
    datasets = {"data": prepare_dataset(str(folder), data_cfg)}
    return kind, kind.default_config(data_cfg, datasets, TINY), datasets


def test_step_time_is_measured_on_the_real_trainer_and_matches_a_real_run(tiny):
    kind, cfg, datasets = tiny
    seen = []
    cost = measure_step_seconds(kind, cfg, datasets, "cpu", steps=3, settings=RunSettings(metric_every=0),
                                progress=lambda d, t: seen.append((d, t)))
    assert 0 < cost.step_s < 5 and cost.samples_s > 0 and cost.quality_s == 0 and cost.checkpoint_s > 0
    assert seen[-1][0] == seen[-1][1] and [d for d, _ in seen] == list(range(1, len(seen) + 1))

    # The same trainer stepped for real: the measured step time predicts it (a shared CPU is noisy,
    # so the bound is loose; a guess from nothing would not land within it by luck).
    trainer = kind.make_trainer(cfg, RunSettings(), datasets, torch.device("cpu"), SINGLE)
    trainer.step()
    start = time.perf_counter()
    for _ in range(12):
        trainer.step()
    real = (time.perf_counter() - start) / 12
    assert real / 4 < cost.step_s < real * 4


def test_cancel_stops_between_steps(tiny):
    kind, cfg, datasets = tiny
    calls = []
    with pytest.raises(Cancelled):
        measure_step_seconds(kind, cfg, datasets, "cpu", progress=lambda d, t: calls.append(d),
                             should_cancel=lambda: len(calls) >= 2)
    assert len(calls) == 2


def test_a_run_counts_steps_and_the_scheduled_extras():
    cost = StepCost(step_s=0.5, samples_s=2.0, quality_s=10.0, checkpoint_s=1.0)
    run = RunSettings(sample_every=100, checkpoint_every=500, metric_every=250)
    # 1,000 steps: 500 s of steps, 11 grids (step 0 too), 3 checkpoints (incl. the first), 4 quality checks
    assert cost.run_seconds(1000, run) == pytest.approx(500 + 22 + 3 + 40)
    assert cost.run_seconds(1000, RunSettings(sample_every=100, checkpoint_every=500, metric_every=0)) == \
        pytest.approx(500 + 22 + 3)


def test_datasets_at_another_size_keep_their_images():
    ds = ImageDataset(images=torch.full((2, 3, 32, 32), 200, dtype=torch.uint8), paths=["a", "b"], report=None,
                      fingerprint="", config=DataConfig(size=32))
    smaller = datasets_at({"data": ds}, 16)["data"]
    assert smaller.images.shape == (2, 3, 16, 16) and smaller.images.dtype == torch.uint8
    assert int(smaller.images.min()) == 200 and smaller.paths == ["a", "b"]
    assert datasets_at({"data": ds}, 32)["data"].images is ds.images  # same size: no copy


def test_words_are_a_sentence_a_person_would_say():
    assert duration_words(20) == "under a minute"
    assert duration_words(7 * 60 + 10) == "about 7 min"
    assert duration_words(23 * 60) == "about 25 min"
    assert duration_words(130 * 60) == "about 2 h 10 min"
    cost = StepCost(step_s=0.3, samples_s=0.0, quality_s=0.0, checkpoint_s=0.0)
    text = describe_estimate(cost, 5000, RunSettings(metric_every=0), "this CPU (2 cores)", 400)
    assert text == ("About 25 min for 5,000 steps on this CPU (2 cores), measured at 0.30 s a step. "
                    "First recognisable shapes usually after ~400 steps (about 2 min).")
    assert "((" not in text and "))" not in text
    short = describe_estimate(cost, 200, RunSettings(metric_every=0), "this CPU (2 cores)", 400)
    assert short.endswith("Recognisable shapes usually take ~400 steps, more than this run.")
