"""A checkpoint whose metadata or optimiser state does not fit is refused before anything loads: the
noise-to-image kinds (DCGAN, 2014 GAN, style kind) raise CheckpointError and keep every weight, the
step, the optimisers, the RNG and the data position exactly as they were."""

import copy

import pytest
import torch

from studio.engine.errors import CheckpointError
from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer
from studio.engine.models.gan.trainer import GANConfig, GANTrainer
from studio.engine.models.stylegan.trainer import StyleGANConfig, StyleGANTrainer

KINDS = {
    "dcgan": (DCGANTrainer, DCGANConfig(size=32, batch=8, ngf=8, ndf=8, z_dim=16, preview_count=4), (3, 32)),
    "gan": (GANTrainer, GANConfig(size=28, channels=1, width=16, z_dim=8, batch=8, preview_count=4), (1, 28)),
    "stylegan": (StyleGANTrainer, StyleGANConfig(size=32, batch=8, preview_count=4, z_dim=16, w_dim=16,
                                                 mapping_layers=2, channel_base=128, channel_max=16), (3, 32)),
}


def _trainer(kind: str, steps: int) -> object:
    cls, cfg, (channels, size) = KINDS[kind]
    data = torch.randint(0, 256, (20, channels, size, size), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(0))
    t = cls(cfg, data, seed=0)
    for _ in range(steps):
        t.step()
    return t


def _snapshot(t) -> tuple[dict, dict]:
    tensors, meta = t.state_dict()
    return {k: v.clone() for k, v in tensors.items()}, copy.deepcopy(meta)


def _drop_cursor(tensors, meta):
    del meta["cursor"]


def _moments_of_another_shape(tensors, meta):
    key = next(k for k in tensors if k.startswith("opt_D.state.") and k.endswith(".exp_avg"))
    tensors[key] = torch.zeros(tensors[key].numel() + 1)


def _one_parameter_fewer(tensors, meta):
    meta["opt_D"][0]["params"] = meta["opt_D"][0]["params"][:-1]


def _no_opt_d(tensors, meta):
    del meta["opt_D"]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(("spoil", "message"), [
    (_drop_cursor, "incomplete \\(no cursor\\)"),
    (_moments_of_another_shape, "opt_D.state.*has shape"),
    (_one_parameter_fewer, "'opt_D' has .* parameters in group 0"),
    (_no_opt_d, "no readable optimiser state 'opt_D'"),
])
def test_a_checkpoint_that_does_not_fit_is_refused_and_changes_nothing(kind, spoil, message):
    t = _trainer(kind, steps=1)
    before_tensors, before_meta = _snapshot(t)
    # a checkpoint from further on, so that anything loaded early would show
    tensors, meta = _snapshot(_trainer(kind, steps=3))
    assert any(not torch.equal(tensors[k], before_tensors[k]) for k in tensors if k.startswith("G."))
    spoil(tensors, meta)

    with pytest.raises(CheckpointError, match=message) as refused:
        t.load_state_dict(tensors, meta)
    assert str(refused.value)[0].isupper() and str(refused.value).endswith(".")

    after_tensors, after_meta = t.state_dict()
    assert after_tensors.keys() == before_tensors.keys()
    for k in before_tensors:  # weights, EMA, both optimisers' moments, the RNG, the data order
        assert torch.equal(after_tensors[k], before_tensors[k]), k
    assert after_meta == before_meta  # step, cursor, batch, optimiser groups
    assert t.global_step == 1


def test_the_unspoilt_checkpoint_loads():
    """The spoilt checkpoints above differ from a loadable one only by what each spoils."""
    t = _trainer("dcgan", steps=1)
    tensors, meta = _snapshot(_trainer("dcgan", steps=3))
    t.load_state_dict(tensors, meta)
    assert t.global_step == 3 and torch.equal(t.state_dict()[0]["opt_D.state.0.exp_avg"],
                                              tensors["opt_D.state.0.exp_avg"])
