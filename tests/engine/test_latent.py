"""Latent maths for the explorer: interpolation, the pad's blend, truncation, arithmetic, walks,
principal directions."""

import numpy as np
import pytest
import torch

from studio.engine.data.procedural import discs
from studio.engine.explore import latent as L
from studio.engine.explore.generator import GeneratorModel, latents_for_seed
from studio.engine.models import get_kind
from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer

Z = 16


@pytest.fixture(scope="module")
def model():
    """A tiny DCGAN after a few steps on coloured discs."""
    torch.manual_seed(0)
    cfg = DCGANConfig(size=32, ngf=8, ndf=8, z_dim=Z, batch=8, preview_count=4)
    images = torch.from_numpy(discs(32, 32, seed=0)).permute(0, 3, 1, 2).contiguous()
    trainer = DCGANTrainer(cfg, images, seed=0)
    for _ in range(3):
        trainer.step()
    return GeneratorModel(cfg, trainer.generator_state(), kind=get_kind("dcgan"))


def keys(n=4, seed=0):
    return np.random.default_rng(seed).standard_normal((n, Z)).astype(np.float32)


# ----- interpolation ------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [L.lerp, L.slerp])
def test_interpolation_hits_endpoints_exactly(fn):
    a, b = keys(2)
    assert np.array_equal(fn(a, b, 0.0), a)
    assert np.array_equal(fn(a, b, 1.0), b)
    batch = fn(a, b, np.array([[0.0], [0.5], [1.0]], np.float32))
    assert batch.shape == (3, Z) and batch.dtype == np.float32
    assert np.array_equal(batch[0], a) and np.array_equal(batch[2], b)


def test_slerp_keeps_typical_norms_where_lerp_shrinks():
    a, b = keys(2, seed=3)
    mid_l, mid_s = L.lerp(a, b, 0.5), L.slerp(a, b, 0.5)
    ends = (np.linalg.norm(a) + np.linalg.norm(b)) / 2
    assert np.linalg.norm(mid_l) < 0.85 * ends  # two near-orthogonal latents: the chord dips inward
    assert np.linalg.norm(mid_s) == pytest.approx(ends, rel=1e-4)
    # on the great circle: equal angles to both ends at t = 0.5
    cos = lambda x, y: x @ y / np.linalg.norm(x) / np.linalg.norm(y)  # noqa: E731
    assert cos(mid_s, a) == pytest.approx(cos(mid_s, b), abs=1e-5)


def test_slerp_degenerate_cases_fall_back_to_lerp():
    a = keys(1)[0]
    assert np.allclose(L.slerp(a, 2 * a, 0.5), 1.5 * a, atol=1e-5)
    assert np.allclose(L.slerp(np.zeros(Z), a, 0.25), 0.25 * a, atol=1e-6)
    assert np.isfinite(L.slerp(a, -a, 0.5)).all()


@pytest.mark.parametrize("kind", L.EASINGS)
def test_easings_are_monotonic_from_0_to_1(kind):
    t = np.linspace(0, 1, 101)
    y = L.ease(t, kind)
    assert y[0] == 0 and y[-1] == 1
    assert np.all(np.diff(y) >= -1e-12)
    if kind == "smooth":
        assert y[5] < t[5] and y[95] > t[95]  # slow in, slow out


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError):
        L.ease(0.5, "bouncy")
    with pytest.raises(ValueError):
        L.interpolate(keys(1)[0], keys(1)[0], 0.5, "cubic")


# ----- pad --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spherical", [False, True])
def test_pad_corners_are_the_corner_latents_exactly(spherical):
    c = keys(4)
    for (u, v), i in (((0, 0), 0), ((1, 0), 1), ((0, 1), 2), ((1, 1), 3)):
        assert np.array_equal(L.bilinear(c, u, v, spherical), c[i])
    # positions outside the pad clamp to its edge
    assert np.array_equal(L.bilinear(c, -0.3, 1.7, spherical), c[2])


def test_pad_blend_is_bilinear_and_continuous():
    c = keys(4)
    mid = L.bilinear(c, 0.5, 0.5)
    assert np.allclose(mid, c.mean(axis=0), atol=1e-6)
    edge = L.bilinear(c, 0.25, 0.0)
    assert np.allclose(edge, 0.75 * c[0] + 0.25 * c[1], atol=1e-6)
    # Lipschitz: a small move gives a proportionally small change, for both blends
    for spherical in (False, True):
        p = L.bilinear(c, 0.4, 0.6, spherical)
        q = L.bilinear(c, 0.41, 0.6, spherical)
        assert 0 < np.linalg.norm(p - q) < 0.05 * np.linalg.norm(c[1] - c[0])


def test_pad_batch_matches_single_positions():
    c = keys(4)
    u, v = L.pad_grid_positions(3)
    grid = L.bilinear(c, u, v, spherical=True)
    assert grid.shape == (3, 3, Z)
    assert np.array_equal(grid[0, 0], c[0]) and np.array_equal(grid[2, 2], c[3])
    assert np.allclose(grid[1, 2], L.bilinear(c, 1.0, 0.5, spherical=True), atol=1e-6)


def test_plane_axes():
    center, d1, d2 = keys(3)
    assert np.array_equal(L.plane(center, d1, d2, 0.0, 0.0), center)
    assert np.allclose(L.plane(center, d1, d2, 2.0, -1.0), center + 2 * d1 - d2, atol=1e-6)
    a, b = L.pad_to_plane(np.array([0.5, 1.0, 0.0]), np.array([0.5, 0.0, 1.0]), span=3.0)
    assert a.tolist() == [0.0, 3.0, -3.0] and b.tolist() == [0.0, 3.0, -3.0]  # up is +


def test_truncation_scales_toward_the_mean():
    z = keys(2)
    assert L.truncate(z, 1.0) is not None and np.array_equal(L.truncate(z, 1.0), z)
    assert np.allclose(L.truncate(z, 0.5), 0.5 * z)
    m = np.full(Z, 2.0, np.float32)
    assert np.allclose(L.truncate(z, 0.0, mean=m), np.broadcast_to(m, z.shape))


# ----- arithmetic -------------------------------------------------------------------------------------
def test_arithmetic_averages_each_slot_then_adds_with_signs():
    a, b, c = keys(3, seed=1), keys(2, seed=2), keys(1, seed=3)
    slots = [L.Slot(1, tuple(a)), L.Slot(-1, tuple(b)), L.Slot(1, tuple(c)), L.Slot(-1, ())]
    want = a.mean(0) - b.mean(0) + c[0]
    assert np.allclose(L.combine(slots), want, atol=1e-6)
    with pytest.raises(ValueError):
        L.combine([L.Slot(1, ()), L.Slot(-1, ())])
    with pytest.raises(ValueError):
        L.combine([L.Slot(2, tuple(a))])


def test_difference_direction_and_amount():
    a, b = keys(3, seed=1), keys(3, seed=2)
    glasses = L.difference(a, b)
    assert np.allclose(glasses, a.mean(0) - b.mean(0), atol=1e-6)
    z = keys(1, seed=5)[0]
    assert np.array_equal(L.apply_direction(z, glasses, 0.0), z)
    assert np.allclose(L.apply_direction(z, glasses, 1.0), z + glasses, atol=1e-6)
    # adding the whole difference to B's mean lands on A's mean: the arithmetic identity
    assert np.allclose(L.apply_direction(b.mean(0), glasses, 1.0), a.mean(0), atol=1e-5)


def test_strip_runs_from_base_to_result():
    a, b = keys(2)
    s = L.strip(a, b, 5, "slerp")
    assert s.shape == (5, Z) and np.array_equal(s[0], a) and np.array_equal(s[-1], b)


# ----- walks ------------------------------------------------------------------------------------------
def test_walk_lengths_holds_and_loop_closure():
    k = keys(3)
    s = L.WalkSettings(frames_per_transition=4, hold_frames=2, interpolation="lerp", easing="linear", loop=True)
    w = L.walk_latents(k, s)
    assert len(w) == L.walk_length(3, s) == 3 * (2 + 4)
    assert np.array_equal(w[0], k[0]) and np.array_equal(w[1], k[0])  # hold
    assert np.array_equal(w[6], k[1]) and np.array_equal(w[12], k[2])
    # loop closure: the last frame is one step before the first keyframe, never the keyframe itself
    assert not np.array_equal(w[-1], k[0])
    assert np.allclose(w[-1], L.lerp(k[2], k[0], 0.75), atol=1e-6)
    open_ = L.walk_latents(k, L.WalkSettings(frames_per_transition=4, hold_frames=0, easing="linear", loop=False))
    assert len(open_) == 2 * 4 + 1 and np.array_equal(open_[-1], k[2])


def test_walk_resampled_to_an_exact_length_and_deterministic():
    k = keys(4)
    s = L.WalkSettings(frames_per_transition=10, hold_frames=3, interpolation="slerp", easing="smooth")
    for n in (1, 7, 52, 200):
        w = L.walk_latents(k, s, frames=n)
        assert w.shape == (n, Z)
    assert np.array_equal(L.walk_latents(k, s, frames=77), L.walk_latents(k.copy(), s, frames=77))
    same = L.walk_latents(k, s, frames=L.walk_length(4, s))
    assert np.array_equal(same, L.walk_latents(k, s))
    # easing: with smoothstep the first in-between step is smaller than with linear
    lin = L.walk_latents(k, L.WalkSettings(frames_per_transition=10, easing="linear"))
    smo = L.walk_latents(k, L.WalkSettings(frames_per_transition=10, easing="smooth"))
    assert np.linalg.norm(smo[1] - smo[0]) < np.linalg.norm(lin[1] - lin[0])


# ----- seeds and principal directions -----------------------------------------------------------------
def test_seed_latents_match_the_cli():
    assert np.array_equal(L.random_latents(7, 5, Z), latents_for_seed(7, 5, Z).numpy())
    assert np.array_equal(L.seed_latent(7, Z), latents_for_seed(7, 1, Z).numpy()[0])


def _known_map(z):
    """A stand-in generator whose controls are known: z[2] sets the brightness strongly, z[5] moves
    a bright bar left/right, every other coordinate only adds faint texture."""
    z = np.asarray(z, np.float32)
    b = len(z)
    xs = np.linspace(-1, 1, 16, dtype=np.float32)
    bright = 128 + 90 * np.tanh(0.6 * z[:, 2])
    bar = 70 * np.exp(-((xs[None, :] - 0.35 * np.tanh(z[:, 5:6])) ** 2) / 0.05)
    rng = np.random.default_rng(0)
    texture = np.einsum("bz,zhw->bhw", z, 1.5 * rng.standard_normal((Z, 16, 16)).astype(np.float32))
    img = bright[:, None, None] + bar[:, None, :] + texture
    return np.clip(np.repeat(img[..., None], 3, axis=3), 0, 255).astype(np.uint8).reshape(b, 16, 16, 3)


def test_principal_directions_find_the_known_controls():
    d = L.principal_directions(_known_map, Z, count=3, samples=256, seed=0, resolution=16)
    assert abs(d.vectors[0][2]) > 0.95  # PC1 = the brightness axis
    assert d.vectors[0][2] > 0  # sign convention: + is brighter
    assert abs(d.vectors[1][5]) > 0.9  # PC2 = the bar position
    assert d.strengths[0] > 3 * d.strengths[2]


def test_principal_directions_of_a_generator(model):
    d = L.principal_directions(model.generate, Z, count=4, samples=128, seed=0)
    assert d.vectors.shape == (4, Z) and d.names == ("PC1", "PC2", "PC3", "PC4")
    assert np.allclose(d.vectors @ d.vectors.T, np.eye(4), atol=1e-4)  # orthonormal
    assert np.all(np.diff(d.strengths) <= 1e-6) and d.strengths[0] > 0  # strongest first
    again = L.principal_directions(model.generate, Z, count=4, samples=128, seed=0)
    assert np.array_equal(again.vectors, d.vectors)  # deterministic for a seed
    # moving along PC1 changes the picture at least as much as a typical random direction
    rng = np.random.default_rng(123)
    base = rng.standard_normal((16, Z)).astype(np.float32)

    def change(direction):
        a = model.generate(base - 1.5 * direction).astype(np.float32)
        b = model.generate(base + 1.5 * direction).astype(np.float32)
        return float(np.sqrt(((a - b) ** 2).mean()))

    random_dirs = rng.standard_normal((8, Z)).astype(np.float32)
    random_dirs /= np.linalg.norm(random_dirs, axis=1, keepdims=True)
    assert change(d.vectors[0]) > np.median([change(r) for r in random_dirs])
