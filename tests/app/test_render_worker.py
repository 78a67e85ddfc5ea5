"""The render worker: newest request wins, stale results are discarded, weights swap without sharing."""

import threading
import time

import numpy as np
import pytest
import torch

from studio.app.render_worker import ModelInfo, RenderController
from studio.engine.explore.generator import GeneratorModel
from studio.engine.explore.latent import random_latents
from studio.engine.models import get_kind
from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer

Z = 16
CFG = DCGANConfig(size=32, ngf=8, ndf=8, z_dim=Z, batch=4, preview_count=4)
DCGAN = get_kind("dcgan")


def state(seed=0):
    trainer = DCGANTrainer(CFG, torch.zeros(4, 3, 32, 32, dtype=torch.uint8), seed=seed)
    return trainer.generator_state()


@pytest.fixture(scope="module")
def weights():
    return state(0)


@pytest.fixture
def controller(qtbot, weights):
    c = RenderController(backend="torch")
    with qtbot.waitSignal(c.model_ready, timeout=20_000) as blocker:
        c.set_weights(CFG, weights, step=7, kind=DCGAN)
    info = blocker.args[0]
    assert isinstance(info, ModelInfo) and info.step == 7 and info.z_dim == Z and info.source == "training"
    yield c
    c.shutdown()


class Results:
    def __init__(self, c):
        self.items = []
        c.ready.connect(lambda key, stamp, pics: self.items.append((key, stamp, pics)))


def wait_finished(c, key, stamp, timeout=10):
    """Wait for the worker to finish `stamp` WITHOUT processing Qt events (the GUI is "busy")."""
    end = time.monotonic() + timeout
    while c.worker.finished_stamp(key) < stamp:
        assert time.monotonic() < end, "worker did not finish"
        time.sleep(0.005)


def block_worker(c):
    """Occupy the render thread with a job until the returned event is set."""
    started, release = threading.Event(), threading.Event()

    def job(renderer):
        started.set()
        release.wait(10)
        return "done"

    c.compute("blocker", job)
    assert started.wait(10)
    return release


def test_renders_what_the_model_renders(qtbot, controller, weights):
    results = Results(controller)
    z = random_latents(1, 3, Z)
    stamp = controller.request("pad", z)
    qtbot.waitUntil(lambda: bool(results.items), timeout=10_000)
    key, got_stamp, pics = results.items[0]
    assert (key, got_stamp) == ("pad", stamp)
    assert np.array_equal(pics, GeneratorModel(CFG, weights, kind=DCGAN).generate(z))
    assert pics.dtype == np.uint8 and pics.shape == (3, 32, 32, 3)


def test_newest_request_wins_queued_ones_are_dropped(qtbot, controller):
    results = Results(controller)
    release = block_worker(controller)
    stamps = [controller.request("pad", random_latents(i, 1, Z)) for i in range(20)]
    other = controller.request("gallery", random_latents(99, 4, Z))
    release.set()
    qtbot.waitUntil(lambda: len(results.items) == 2, timeout=10_000)
    qtbot.wait(50)
    assert [(k, s) for k, s, _ in results.items] == [("pad", stamps[-1]), ("gallery", other)]
    assert controller.worker.drops == 19
    assert np.array_equal(results.items[0][2], controller.worker._renderer.generate(random_latents(19, 1, Z)))


def test_interactive_requests_go_before_background_ones(qtbot, controller):
    results = Results(controller)
    release = block_worker(controller)
    background = controller.request("map", random_latents(1, 9, Z), priority=1)
    point = controller.request("pad", random_latents(2, 1, Z))  # newer, but the user is dragging
    release.set()
    qtbot.waitUntil(lambda: len(results.items) == 2, timeout=10_000)
    assert [s for _, s, _ in results.items] == [point, background]


def test_stale_results_are_discarded(qtbot, controller):
    results = Results(controller)
    first = controller.request("pad", random_latents(1, 1, Z))
    wait_finished(controller, "pad", first)
    second = controller.request("pad", random_latents(2, 1, Z))
    wait_finished(controller, "pad", second)
    # Both results now wait in the GUI's event queue; only the newer one may be shown.
    qtbot.waitUntil(lambda: bool(results.items), timeout=10_000)
    qtbot.wait(50)
    assert [s for _, s, _ in results.items] == [second]
    assert controller.discarded == 1


def test_weights_from_training_are_copied_not_shared(qtbot, controller):
    results = Results(controller)
    new = state(seed=5)
    with qtbot.waitSignal(controller.model_ready, timeout=20_000):
        controller.set_weights(CFG, new, step=8, kind=DCGAN)
    z = random_latents(3, 2, Z)
    expected = GeneratorModel(CFG, new, kind=DCGAN).generate(z)
    for t in new.values():  # the training keeps changing its tensors: the renderer must not see it
        if t.is_floating_point():
            t.mul_(0).add_(1e3)
    controller.request("pad", z)
    qtbot.waitUntil(lambda: bool(results.items), timeout=10_000)
    assert np.array_equal(results.items[0][2], expected)
    assert controller.info.step == 8


def test_live_weights_render_at_once_then_move_to_the_fast_backend(qtbot, weights, monkeypatch):
    from studio.app import render_worker

    monkeypatch.setattr(render_worker, "UPGRADE_AFTER_S", 0.2)
    c = RenderController(backend="auto", device="cpu")
    try:
        with qtbot.waitSignal(c.model_ready, timeout=20_000) as blocker:
            c.set_weights(CFG, weights, step=3, kind=DCGAN)
        assert blocker.args[0].backend == "torch"  # no export delay while training keeps sending weights
        z = random_latents(6, 3, Z)
        with qtbot.waitSignal(c.ready, timeout=10_000) as first:
            c.request("pad", z)
        with qtbot.waitSignal(c.backend_changed, timeout=20_000):
            pass
        assert c.info.backend == "onnxruntime" and c.info.step == 3
        with qtbot.waitSignal(c.ready, timeout=10_000) as second:
            c.request("pad", z)
        assert np.abs(second.args[2].astype(int) - first.args[2]).max() <= 1
    finally:
        c.shutdown()


def test_jobs_run_on_the_render_thread(qtbot, controller):
    main_thread = threading.get_ident()
    with qtbot.waitSignal(controller.computed, timeout=10_000) as blocker:
        controller.compute("pca", lambda r: (threading.get_ident(), r.z_dim))
    key, _, (thread_id, z_dim) = blocker.args
    assert key == "pca" and z_dim == Z and thread_id != main_thread


def test_failures_come_back_as_one_line_and_the_worker_survives(qtbot, controller):
    with qtbot.waitSignal(controller.failed, timeout=10_000) as blocker:
        controller.request("pad", np.zeros((1, Z + 3), np.float32))
    assert "latents must have 16 values" in blocker.args[0] and "\n" not in blocker.args[0]
    results = Results(controller)
    controller.request("pad", random_latents(1, 1, Z))
    qtbot.waitUntil(lambda: bool(results.items), timeout=10_000)


def test_load_project_errors_and_success(qtbot, tmp_path):
    from studio.engine.project.checkpoints import save_checkpoint
    from studio.engine.project.folder import Project

    c = RenderController(backend="auto")
    try:
        with qtbot.waitSignal(c.failed, timeout=20_000) as blocker:
            c.load_project(tmp_path / "missing")
        assert "does not exist" in blocker.args[0]
        Project.create(tmp_path / "proj", "dcgan", {"model": {}})
        with qtbot.waitSignal(c.failed, timeout=20_000) as blocker:
            c.load_project(tmp_path / "proj")
        assert "no trained checkpoint" in blocker.args[0]
        trainer = DCGANTrainer(CFG, torch.zeros(4, 3, 32, 32, dtype=torch.uint8), seed=1)
        tensors, meta = trainer.state_dict()
        save_checkpoint(tmp_path / "proj" / "checkpoints", 3, tensors, meta)
        with qtbot.waitSignal(c.model_ready, timeout=30_000) as blocker:
            c.load_project(tmp_path / "proj")
        info = blocker.args[0]
        assert info.step == 3 and info.backend == "onnxruntime" and info.size == 32
        # onnxruntime renders the same pictures as PyTorch (a level of rounding at most)
        z = random_latents(4, 4, Z)
        with qtbot.waitSignal(c.ready, timeout=10_000) as blocker:
            c.request("pad", z)
        from studio.engine.explore.generator import load_generator

        ref = load_generator(tmp_path / "proj", device="cpu").generate(z)
        assert np.abs(blocker.args[2].astype(int) - ref).max() <= 1
    finally:
        c.shutdown()


def test_an_opened_style_project_s_first_model_opens_in_w_live_weights_too(qtbot, tmp_path):
    """A style-based project opened before its first checkpoint: the run's live weights are its first
    model, and they open in W as a checkpoint would; later weights keep the space chosen."""
    from studio.engine.models.stylegan.trainer import StyleGANConfig, build_generator

    kind = get_kind("stylegan")
    cfg = StyleGANConfig(size=32, z_dim=16, w_dim=16, mapping_layers=1, channel_base=64, channel_max=16)
    torch.manual_seed(0)
    state = build_generator(cfg).state_dict()
    c = RenderController(backend="torch")
    try:
        with qtbot.waitSignal(c.failed, timeout=20_000):
            c.load_project(tmp_path / "not yet", keep_space=False)  # opened: no checkpoint to load
        with qtbot.waitSignal(c.model_ready, timeout=30_000) as blocker:
            c.set_weights(cfg, state, 1, kind=kind)
        assert blocker.args[0].space == "w" and c.space == "w"
        c.set_space("z")
        with qtbot.waitSignal(c.model_ready, timeout=30_000) as blocker:
            c.set_weights(cfg, state, 2, kind=kind)
        assert blocker.args[0].space == "z"  # the user's choice stands for the next weights
    finally:
        c.shutdown()
