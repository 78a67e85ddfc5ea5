"""A style-based generator with classes in W: the class enters through the mapping, so `to_w` /
`to_ws` and the W space's `from_z` / `random_latents` take it, and a w mapped as class k draws the
picture the z path draws for class k (issue 20: in W every seed used to be drawn as the first class)."""

import numpy as np
import pytest
import torch

from studio.engine.explore import style_space as S
from studio.engine.explore.generator import GeneratorModel
from studio.engine.explore.latent import random_latents
from studio.engine.models import get_kind
from studio.engine.models.stylegan.trainer import StyleGANConfig, build_generator

TINY = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128, "channel_max": 16}
CLASSES = ("disc", "lying", "standing")


def _model(class_names=CLASSES) -> GeneratorModel:
    torch.manual_seed(0)
    cfg = StyleGANConfig(size=32, class_names=class_names, **TINY)
    return GeneratorModel(cfg, build_generator(cfg).state_dict(), kind=get_kind("stylegan"))


@pytest.fixture(scope="module")
def model() -> GeneratorModel:
    return _model()


def _z(count: int = 4) -> np.ndarray:
    return random_latents(5, count, TINY["z_dim"])


def test_to_w_maps_as_the_asked_class_and_w_draws_the_z_paths_picture(model):
    z = _z()
    w = {k: model.to_w(z, labels=k) for k in range(len(CLASSES))}
    for a in range(len(CLASSES)):
        for b in range(a + 1, len(CLASSES)):
            assert np.abs(w[a] - w[b]).max() > 0.05, (a, b)  # another class, another w for the same z
    assert np.array_equal(model.to_w(z), w[0])  # no class: the first, as `generate` draws
    for k in range(len(CLASSES)):
        through_w = model.generate_w(model.to_ws(z, labels=k)).astype(int)
        assert np.abs(through_w - model.generate(z, k).astype(int)).max() <= 1, k
    # the pictures of different classes differ (so the check above tells classes apart)
    assert np.abs(model.generate(z, 0).astype(int) - model.generate(z, 2).astype(int)).mean() > 2
    # labels in every form `generate` takes: weights (classes,), numbers (B,), weights (B, classes)
    assert np.allclose(model.to_w(z, labels=np.eye(3, dtype=np.float32)[1]), w[1], atol=1e-6)
    per_picture = np.array([0, 1, 2, 1])
    expected = np.stack([w[k][i] for i, k in enumerate(per_picture)])
    assert np.allclose(model.to_w(z, labels=per_picture), expected, atol=1e-6)
    assert np.allclose(model.to_w(z, labels=np.eye(3, dtype=np.float32)[per_picture]), expected, atol=1e-6)



def test_truncation_pulls_towards_each_class_s_own_mean_w(model):
    """The tracked w_avg is the average over every class: pulling towards it would fade the class
    (at psi 0 every class would draw one picture). Each class has its own centre, the mean w of
    seeded samples of that class, and truncation pulls towards it: in `to_w`, `generate` and the W space."""
    z = _z()
    centres = model.w_centres(np.arange(3), 3)
    for k in range(3):
        sample = model.to_w(random_latents(S.CENTRE_SEED, S.CENTRE_SAMPLES, 16), labels=k)
        assert np.allclose(centres[k], sample.mean(axis=0), atol=1e-5)
        assert np.allclose(model.to_w(z, psi=0.0, labels=k), np.broadcast_to(centres[k], (4, 16)), atol=1e-6)
        half = model.to_w(z, psi=0.5, labels=k)
        assert np.allclose(half, centres[k] + 0.5 * (model.to_w(z, labels=k) - centres[k]), atol=1e-5)
    assert min(np.abs(centres[a] - centres[b]).max() for a, b in ((0, 1), (0, 2), (1, 2))) > 0.05
    average = [model.generate(z[:1], k, psi=0.0)[0].astype(int) for k in range(3)]
    assert np.abs(average[0] - average[2]).mean() > 1  # at psi 0 each class still draws itself
    # per picture, as the other forms of labels
    mixed = model.to_w(z, psi=0.0, labels=np.array([0, 1, 2, 1]))
    assert np.allclose(mixed, centres[[0, 1, 2, 1]], atol=1e-6)
    # the W space: the same centre, on every row, for the class the explorer draws
    space = model.latent_space("w")
    assert np.allclose(space.centre(2), S.mean_flat(centres[2], space.num_ws), atol=1e-5)
    assert np.allclose(space.truncate(space.from_z(z, 2), 0.0, 2), S.mean_flat(centres[2], space.num_ws), atol=1e-5)


def test_the_w_space_maps_seeds_as_the_asked_class(model):
    space = model.latent_space("w")
    z = _z()
    for k in range(len(CLASSES)):
        want = S.flat(model.to_ws(z, labels=k))
        assert np.allclose(space.from_z(z, k), want, atol=1e-5), k  # its own CPU copy of the mapping
    assert np.abs(space.from_z(z, 1) - space.from_z(z, 0)).max() > 0.05
    assert np.array_equal(space.from_z(z), space.from_z(z, 0))
    # a seed's latents as a class: the same as mapping the seed's z as that class; one w per picture
    seeded = space.random_latents(7, 3, np.eye(3, dtype=np.float32)[2])
    assert np.array_equal(seeded, space.from_z(random_latents(7, 3, TINY["z_dim"]), 2))
    assert np.allclose(space.seed_latent(7, 2), seeded[0], atol=1e-5)  # a batch of one rounds alike
    assert np.abs(model.generate_w(seeded[:1]).astype(int) - model.generate(random_latents(7, 1, 16), 2)).max() <= 1
    # z holds no class: the z space hands z back whatever the class
    assert np.array_equal(model.latent_space("z").from_z(z, 2), z)


def test_a_model_without_classes_refuses_a_class_in_w():
    plain = _model(())
    z = _z(2)
    assert plain.to_w(z).shape == (2, 16)
    with pytest.raises(ValueError, match="no classes"):
        plain.to_w(z, labels=1)
    with pytest.raises(ValueError, match="no classes"):
        plain.latent_space("w").from_z(z, 1)
