"""DCGAN networks and trainer: shapes, initialisation, exact resume through checkpoint files."""

import pytest
import torch

from studio.engine.errors import CheckpointError, UserError
from studio.engine.models.dcgan.nets import Discriminator, Generator, init_weights
from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer
from studio.engine.project.checkpoints import load_checkpoint, save_checkpoint


@pytest.mark.parametrize("size", [32, 64, 128, 256])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_shapes_for_every_size_and_channel_count(size, channels):
    G = Generator(size, z_dim=16, ngf=4, channels=channels)
    D = Discriminator(size, ndf=4, channels=channels)
    x = G(torch.randn(2, 16))
    assert x.shape == (2, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1  # Tanh output
    assert D(x).shape == (2,)


def test_paper_initialisation_and_layers():
    G, D = Generator(64, ngf=32), Discriminator(64, ndf=32)
    G.apply(init_weights)
    D.apply(init_weights)
    w = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)])
    assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.002
    assert any(isinstance(m, torch.nn.Tanh) for m in G.modules())
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, torch.nn.LeakyReLU))
    assert not any(isinstance(m, torch.nn.Linear) for m in [*G.modules(), *D.modules()])  # all-convolutional


def test_bad_config_is_a_user_error():
    with pytest.raises(UserError, match="32, 64, 128"):
        DCGANConfig(size=48).validate()


CFG = DCGANConfig(size=32, batch=8, ngf=8, ndf=8, z_dim=16, preview_count=16)


def _data(n=40, seed=0):
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _all_state(trainer):
    tensors, _ = trainer.state_dict()
    return tensors


def test_exact_resume_through_checkpoint_files(tmp_path):
    """N+M steps in one go == N steps, save, load in a fresh trainer, M steps: bit-identical."""
    data = _data()
    one_go = DCGANTrainer(CFG, data, seed=3)
    for _ in range(9):  # crosses an epoch boundary (40 images / batch 8 = 5 steps)
        one_go.step()

    first = DCGANTrainer(CFG, data, seed=3)
    for _ in range(4):
        first.step()
    first.samples()  # making a preview must not disturb the run
    tensors, meta = first.state_dict()
    save_checkpoint(tmp_path, first.global_step, tensors, meta)
    del first

    resumed = DCGANTrainer(CFG, data, seed=99)  # a different seed: everything must come from the file
    resumed.load_state_dict(*load_checkpoint(tmp_path / "step-0000004.json"))
    for _ in range(5):
        resumed.step()

    a, b = _all_state(one_go), _all_state(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert resumed.global_step == 9


def test_bad_checkpoint_leaves_trainer_unchanged():
    t = DCGANTrainer(CFG, _data(), seed=0)
    t.step()
    before = {k: v.clone() for k, v in _all_state(t).items()}
    tensors, meta = t.state_dict()
    tensors = dict(tensors)
    tensors["G_ema.main.0.weight"] = torch.zeros(3, 3)  # wrong shape in the last network checked
    tensors["G.main.0.weight"] = tensors["G.main.0.weight"] + 1  # would change G if loading started early
    with pytest.raises(CheckpointError, match="shape"):
        t.load_state_dict(tensors, meta)
    tensors = {k: v for k, v in t.state_dict()[0].items() if k != "D.main.0.weight"}
    with pytest.raises(CheckpointError, match="missing"):
        t.load_state_dict(tensors, meta)
    after = _all_state(t)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_samples_are_a_deterministic_grid():
    t = DCGANTrainer(CFG, _data(), seed=0)
    t.step()
    g1, g2 = t.samples(), t.samples()
    assert g1.dtype.name == "uint8" and g1.shape == (4 * 34 + 2, 4 * 34 + 2, 3)
    assert (g1 == g2).all()


def test_tiny_collection_smaller_than_batch_still_trains():
    t = DCGANTrainer(CFG, _data(n=3), seed=0)
    losses = t.step()
    assert set(losses) >= {"loss_D", "loss_G"} and all(torch.isfinite(torch.tensor(v)) for v in losses.values())


def test_ema_generator_differs_from_live_generator_after_training():
    t = DCGANTrainer(CFG, _data(), seed=0)
    for _ in range(5):
        t.step()
    live = dict(t.G.named_parameters())
    assert any(not torch.equal(p, live[k]) for k, p in t.ema.ema.named_parameters())
