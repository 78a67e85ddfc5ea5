"""CycleGAN networks, config, schedule, history pool, sample grid and exact resume."""

import dataclasses

import numpy as np
import pytest
import torch

from studio.engine.data.dataset import DataConfig
from studio.engine.errors import CheckpointError, UserError
from studio.engine.models import get_kind
from studio.engine.models.cyclegan.nets import (
    NLayerDiscriminator,
    ResnetBlock,
    ResnetGenerator,
    init_weights,
    receptive_field,
)
from studio.engine.models.cyclegan.trainer import CycleGANConfig, CycleGANTrainer, HistoryPool
from studio.engine.project.checkpoints import load_checkpoint, save_checkpoint
from studio.engine.train.image_to_image import load_size_for, lr_factor

CFG = CycleGANConfig(size=32, ngf=4, ndf=4, n_blocks=1, batch=2, pool_size=3, preview_count=3)


def _data(n, seed, cfg=CFG):
    shape = (n, cfg.channels, cfg.load_size, cfg.load_size)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _trainer(cfg=CFG, n_a=7, n_b=5, seed=3, total_steps=9):
    return CycleGANTrainer(cfg, _data(n_a, 1, cfg), _data(n_b, 2, cfg), seed=seed, total_steps=total_steps)


def _tensors(trainer):
    return trainer.state_dict()[0]


# ----- networks ----------------------------------------------------------------------------------
def test_generator_maps_any_multiple_of_4_to_the_same_size():
    G = ResnetGenerator(3, 3, ngf=4, n_blocks=1)
    x = torch.rand(2, 3, 36, 52) * 2 - 1
    y = G(x)
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    assert ResnetGenerator(1, 4, ngf=4, n_blocks=1)(torch.zeros(1, 1, 16, 16)).shape == (1, 4, 16, 16)


def test_generator_follows_the_paper():
    G = ResnetGenerator(3, 3, ngf=8, n_blocks=9)
    assert sum(isinstance(m, ResnetBlock) for m in G.modules()) == 9
    norms = [m for m in G.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert norms and all(not m.affine and not m.track_running_stats for m in norms)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules())
    # every 3x3/7x7 stride-1 convolution is preceded by reflection padding (no zero frame at the borders)
    mods = list(G.modules())
    for i, m in enumerate(mods):
        if isinstance(m, torch.nn.Conv2d) and m.stride == (1, 1) and m.kernel_size[0] in (3, 7):
            assert isinstance(mods[i - 1], torch.nn.ReflectionPad2d) and m.padding == (0, 0)
    assert isinstance(G.model[-1], torch.nn.Tanh)


def test_patchgan_scores_70x70_patches():
    D = NLayerDiscriminator(3, ndf=2, n_layers=3)
    D.apply(init_weights)
    x = torch.zeros(1, 3, 256, 256, requires_grad=True)
    out = D(x)
    assert out.shape == (1, 1, 30, 30)  # the reference's 30x30 grid of patch scores at 256 px
    # InstanceNorm mixes in whole-image statistics; the patch a score sees is that of the convolutions.
    for i, m in enumerate(D.model):
        if isinstance(m, torch.nn.InstanceNorm2d):
            D.model[i] = torch.nn.Identity()
    out = D(x)
    out[0, 0, 15, 15].backward()
    rows = x.grad.abs().sum(dim=(0, 1, 3)).nonzero().flatten()
    cols = x.grad.abs().sum(dim=(0, 1, 2)).nonzero().flatten()
    assert receptive_field(3) == 70
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


def test_paper_block_counts_and_load_size():
    assert CycleGANConfig(size=256).blocks == 9 and CycleGANConfig(size=512).blocks == 9
    assert CycleGANConfig(size=128).blocks == 6 and CycleGANConfig(size=64).blocks == 6
    assert CycleGANConfig(size=64, n_blocks=2).blocks == 2
    assert load_size_for(256) == 288  # reference: load 286, crop 256 (here rounded to a multiple of 4)
    assert load_size_for(64) == 72 and load_size_for(32) == 36


@pytest.mark.parametrize("size", [16, 28, 34, 516, 1024])
def test_unsupported_sizes_are_user_errors(size):
    with pytest.raises(UserError, match="multiple of 4 between 32 and 512"):
        CycleGANConfig(size=size).validate()


def test_bad_precision_is_a_user_error():
    with pytest.raises(UserError, match="fp32 or bf16"):
        CycleGANConfig(precision="fp16").validate()


# ----- schedule and pool -------------------------------------------------------------------------
def test_lr_is_constant_then_decays_linearly_to_zero():
    assert [lr_factor(s, 100) for s in (0, 25, 49, 50)] == [1.0, 1.0, 1.0, 1.0]
    assert lr_factor(75, 100) == pytest.approx(0.5)
    assert lr_factor(99, 100) == pytest.approx(0.02)
    assert lr_factor(100, 100) == 0.0
    t = _trainer(total_steps=4)
    lrs = []
    for _ in range(4):
        t.step()
        lrs.append(t.lr)
        assert all(g["lr"] == t.lr for o in (t.opt_G, t.opt_D) for g in o.param_groups)
    assert lrs == pytest.approx([2e-4, 2e-4, 2e-4, 1e-4])


def test_history_pool_fills_then_swaps_half_the_time():
    pool = HistoryPool(3, (1, 2, 2), torch.device("cpu"))
    rng = torch.Generator().manual_seed(0)
    first = torch.arange(2, dtype=torch.float32)[:, None, None, None].expand(2, 1, 2, 2)
    assert torch.equal(pool.query(first, rng), first) and len(pool.images) == 2  # filling: pass through
    returned_old = 0
    for i in range(200):
        img = torch.full((1, 1, 2, 2), 10.0 + i)
        out = pool.query(img, rng)
        assert len(pool.images) == 3
        if not torch.equal(out, img):
            returned_old += 1
            assert out[0, 0, 0, 0] < 10.0 + i  # an older generated image, never something new
    assert 70 < returned_old < 130  # p = 0.5 once full
    assert torch.equal(HistoryPool(0, (1, 2, 2), torch.device("cpu")).query(first, rng), first)


# ----- trainer -----------------------------------------------------------------------------------
def test_step_reports_all_losses_and_identity_can_be_switched_off():
    losses = _trainer().step()
    assert set(losses) == {"D_A", "D_B", "G", "F", "cycle_A", "cycle_B", "idt_A", "idt_B"}
    assert all(np.isfinite(v) for v in losses.values())
    no_idt = _trainer(dataclasses.replace(CFG, identity=False)).step()
    assert "idt_A" not in no_idt and "idt_B" not in no_idt
    no_pool = _trainer(dataclasses.replace(CFG, pool_size=0))
    no_pool.step()
    assert len(no_pool.pools["A"].images) == 0


def test_samples_grid_rows_are_real_translation_reconstruction():
    t = _trainer()
    for _ in range(2):
        t.step()
    grid = t.samples()
    s, pad, k = CFG.size, 2, CFG.preview_count
    assert grid.shape == (6 * (s + pad) + pad, k * (s + pad) + pad, 3)

    def cell(row, col):
        y, x = pad + row * (s + pad), pad + col * (s + pad)
        return grid[y : y + s, x : x + s]

    for col in range(k):  # rows 0 and 3 are the untouched preview images (centre crops)
        assert np.array_equal(cell(0, col), t.preview["A"][col].permute(1, 2, 0).numpy())
        assert np.array_equal(cell(3, col), t.preview["B"][col].permute(1, 2, 0).numpy())
    fake_b = t.translate(t.preview["A"], "a2b")
    expected = ((fake_b.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(cell(1, 0), expected[0])  # row 1 is G(A)
    assert np.array_equal(t.samples(), grid)  # deterministic


def test_samples_do_not_disturb_the_run():
    a, b = _trainer(), _trainer()
    for _ in range(3):
        a.step()
        a.samples()
        b.step()
    ta, tb = _tensors(a), _tensors(b)
    assert all(torch.equal(ta[k], tb[k]) for k in ta)


def test_exact_resume_through_checkpoint_files(tmp_path):
    """N+M steps in one go == N steps, save, load in a fresh trainer, M steps: bit-identical weights,
    optimizer moments, pools, RNG and data position (pool full and LR decaying across the resume point)."""
    one_go = _trainer()
    for _ in range(9):
        one_go.step()

    first = _trainer()
    for _ in range(5):
        first.step()
    tensors, meta = first.state_dict()
    path = save_checkpoint(tmp_path, first.global_step, tensors, meta)
    assert len(tensors["pool_A"]) == 3  # pool full: the random swaps are part of what must resume

    resumed = _trainer()
    resumed.load_state_dict(*load_checkpoint(path))
    assert resumed.global_step == 5
    for _ in range(4):
        resumed.step()

    expected, got = _tensors(one_go), _tensors(resumed)
    assert expected.keys() == got.keys()
    for k in expected:
        assert torch.equal(expected[k], got[k]), k
    assert resumed.cursor == one_go.cursor and resumed.lr == one_go.lr
    assert np.array_equal(resumed.samples(), one_go.samples())


def test_bad_checkpoint_leaves_trainer_unchanged():
    t = _trainer()
    t.step()
    before = {k: v.clone() for k, v in _tensors(t).items()}
    tensors, meta = t.state_dict()
    with pytest.raises(CheckpointError, match="dcgan"):
        t.load_state_dict(tensors, dict(meta, kind="dcgan"))
    other = _trainer(dataclasses.replace(CFG, ngf=8))
    other_tensors, other_meta = other.state_dict()
    with pytest.raises(CheckpointError, match="shape"):
        t.load_state_dict(other_tensors, other_meta)
    broken = dict(tensors)
    del broken["pool_B"]
    with pytest.raises(CheckpointError, match="pool_B"):
        t.load_state_dict(broken, meta)
    after = _tensors(t)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_resume_on_a_changed_folder_restarts_that_domains_order():
    t = _trainer()
    for _ in range(3):
        t.step()
    tensors, meta = t.state_dict()
    smaller = CycleGANTrainer(CFG, _data(3, 1), _data(5, 2), seed=3, total_steps=9)
    smaller.load_state_dict(tensors, meta)
    assert sorted(smaller.order["A"].tolist()) == [0, 1, 2] and smaller.cursor["A"] == 0
    assert torch.equal(smaller.order["B"], t.order["B"])
    for _ in range(3):
        smaller.step()  # no index past the end of the smaller domain


@pytest.mark.parametrize("channels", [1, 4])
def test_grey_and_rgba_domains(channels):
    cfg = dataclasses.replace(CFG, channels=channels)
    t = _trainer(cfg, n_a=1, n_b=3)  # domain A smaller than a batch: sampled with replacement
    assert np.isfinite(list(t.step().values())).all()
    assert t.samples().shape[2] == channels


def test_bf16_and_channels_last_train():
    t = _trainer(dataclasses.replace(CFG, precision="bf16", channels_last=True))
    for _ in range(2):
        losses = t.step()
    assert np.isfinite(list(losses.values())).all()
    assert t.G.model[1].weight.dtype == torch.float32  # autocast: weights stay fp32


def test_generator_state_is_a_cpu_copy_of_both_generators():
    t = _trainer()
    state = t.generator_state()
    assert {k.split(".")[0] for k in state} == {"G", "F"}
    state["G.model.1.weight"].add_(1)
    assert not torch.equal(state["G.model.1.weight"], t.G.model[1].weight)


def test_images_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        CycleGANTrainer(CFG, _data(2, 1)[:, :, :32, :32].contiguous(), _data(2, 2))


# ----- kind registration -------------------------------------------------------------------------
def test_kind_registration_and_defaults():
    spec = get_kind("cyclegan")
    assert [r.name for r in spec.roles] == ["a", "b"] and spec.config_cls is CycleGANConfig
    cfg = spec.default_config(DataConfig(size=256, alpha="keep"), {}, {"batch": 4, "identity": False})
    assert (cfg.size, cfg.channels, cfg.batch, cfg.identity, cfg.blocks) == (256, 4, 4, False, 9)
    assert spec.load_config(cfg, DataConfig(size=256, fit="pad")) == DataConfig(size=288, fit="pad")
    with pytest.raises(UserError, match="(?i)unknown CycleGAN option"):
        spec.default_config(DataConfig(), {}, {"z_dim": 3})
    with pytest.raises(UserError, match="between 32 and 512"):
        spec.default_config(DataConfig(size=600), {}, {})


def test_out_of_memory_halves_the_batch_down_to_one_and_resumes_with_it():
    t = _trainer(dataclasses.replace(CFG, batch=4))
    assert (t.reduce_batch(), t.images_per_step) == (2, 4)
    assert t.reduce_batch() == 1 and t.reduce_batch() is None
    t.step()
    fresh = _trainer(dataclasses.replace(CFG, batch=4))
    fresh.load_state_dict(*t.state_dict())
    assert fresh.batch == 1 and fresh.images_per_step == 2


def test_quality_measures_translation_without_touching_the_run():
    a, b = _trainer(), _trainer()
    q = a.quality(count=8)
    assert set(q) == {"swd", "swd_a2b", "swd_b2a"} and all(np.isfinite(v) and v > 0 for v in q.values())
    assert q == a.quality(count=8)  # fixed subsets: comparable across steps
    a.step()
    b.step()
    assert all(torch.equal(x, y) for x, y in zip(_tensors(a).values(), _tensors(b).values()))


def test_session_stop_and_resume_matches_one_go(tmp_path, shapes_factory):
    """Through the project folder: create_session, stop at step 2, open_session, finish at 4 ==
    4 steps in one go (the LR schedule comes back from the run settings)."""
    from studio.engine.config import RunSettings
    from studio.engine.models.sessions import create_session, open_session
    from studio.engine.project.checkpoints import load_latest

    a = shapes_factory(tmp_path / "a", count=5, size=40, seed=1)
    b = shapes_factory(tmp_path / "b", count=3, size=40, seed=2)
    settings = RunSettings(steps=4, sample_every=100, checkpoint_every=100, metric_every=0, device="cpu")
    overrides = {"ngf": 4, "ndf": 4, "n_blocks": 1, "batch": 2, "pool_size": 2}

    def create(name):
        return create_session(tmp_path / name, "cyclegan", {"a": str(a), "b": str(b)}, DataConfig(size=32),
                              settings, overrides)

    for _ in create("one").run():
        pass
    for _ in create("two").run(until_step=2):
        pass
    resumed = open_session(tmp_path / "two")
    assert resumed.trainer.global_step == 2 and resumed.trainer.total_steps == 4
    for _ in resumed.run():
        pass
    one, meta_one = load_latest(tmp_path / "one" / "checkpoints")
    two, meta_two = load_latest(tmp_path / "two" / "checkpoints")
    assert meta_one["step"] == meta_two["step"] == 4
    assert all(torch.equal(one[k], two[k]) for k in one)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_trains_resumes_and_translates_on_cuda():
    from studio.engine.explore.translate import Translator

    cfg = dataclasses.replace(CFG, precision="bf16", channels_last=True)
    t = CycleGANTrainer(cfg, _data(7, 1), _data(5, 2), device="cuda", seed=3, total_steps=9)
    for _ in range(3):
        assert np.isfinite(list(t.step().values())).all()
    fresh = CycleGANTrainer(cfg, _data(7, 1), _data(5, 2), device="cuda", seed=3, total_steps=9)
    fresh.load_state_dict(*t.state_dict())
    fresh.step()
    assert t.samples().shape == fresh.samples().shape
    net = ResnetGenerator(3, 3, CFG.ngf, CFG.blocks)
    net.load_state_dict({k[2:]: v for k, v in t.generator_state().items() if k.startswith("G.")})
    out = Translator(net, device="cuda", max_pixels=64 * 64).translate_array(np.zeros((131, 203, 3), np.uint8))
    assert out.shape == (131, 203, 3)
