"""The bundled demo models (models/, made by scripts/make_demo_models.py) are alive and valid.

* demo-faces (DCGAN): an attribute classifier trained here on the procedural faces recognises most
  samples as faces with readable attributes, and the latent arithmetic "short hair with glasses -
  short hair without glasses + long hair without glasses" gives glasses AND long hair in a clear
  majority of trials.
* demo-scenes (CycleGAN): day -> night makes pictures much darker and bluer while keeping their
  layout (edges), and night -> day brighter.
* demo-sketch (pix2pix): the translation of a held-out face's edge sketch is closer to that face
  than to the other faces.
* The folders are well-formed projects, small, with only their final checkpoint, sample grids and
  (demo-faces) the bookmarks and directions of explore.json, and reading them changes no byte.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from studio.engine.data.demo_sets import faces, scenes
from studio.engine.data.pairs import TRAINING_SEED, make_input
from studio.engine.errors import UserError
from studio.engine.explore import latent as L
from studio.engine.explore.bookmarks import ExploreStore
from studio.engine.explore.generator import load_generator
from studio.engine.explore.translate import Translator
from studio.engine.images import load_png
from studio.engine.project.checkpoints import list_checkpoints, load_checkpoint
from studio.engine.project.folder import Project
from tests.engine.attribute_classifier import predict, train_classifier

MODELS = Path(__file__).resolve().parents[2] / "models"
FACES = MODELS / "demo-faces"
SCENES = MODELS / "demo-scenes"
SKETCH = MODELS / "demo-sketch"
LIMIT_BYTES = 30_000_000

# Without the folders, test_bundled_models_are_there_and_small fails; the others skip instead of erroring.
needs_faces = pytest.mark.skipif(not FACES.is_dir(), reason="models/demo-faces missing")
needs_scenes = pytest.mark.skipif(not SCENES.is_dir(), reason="models/demo-scenes missing")
needs_sketch = pytest.mark.skipif(not SKETCH.is_dir(), reason="models/demo-sketch missing")


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module", autouse=True)
def bundled_files_unchanged():
    """Every test here only reads: the bundled files must be byte-identical afterwards."""
    before = _digest(MODELS) if MODELS.is_dir() else {}
    yield
    assert (_digest(MODELS) if MODELS.is_dir() else {}) == before


@pytest.fixture(scope="module")
def classifier():
    return train_classifier(32, seed=0)  # ~30 s on one free core, cached for the whole test process


@pytest.fixture(scope="module")
def generator():
    return load_generator(FACES, device="cpu")


@pytest.fixture(scope="module")
def sampled(generator, classifier):
    """2,000 latents of a seed the bundling script never used, their pictures and attribute readings."""
    z = L.random_latents(31337, 2000, generator.z_dim)
    return z, predict(classifier, generator.generate(z))


# ----- demo-faces: the DCGAN --------------------------------------------------------------------------
@needs_faces
def test_dcgan_samples_are_faces_with_readable_attributes(generator, classifier):
    p = predict(classifier, generator.generate_seeded(256, 0))
    face = p["face"] > 0.5
    assert face.mean() >= 0.8, f"only {face.mean():.0%} of samples read as faces"
    for name in ("glasses", "long_hair"):
        confident = ((p[name] < 0.2) | (p[name] > 0.8))[face]
        assert confident.mean() >= 0.8, f"{name} is unclear in {1 - confident.mean():.0%} of faces"
        # both values occur: the model did not collapse onto one kind of face
        assert 0.15 <= (p[name] > 0.5)[face].mean() <= 0.85, name


def _arithmetic_trials(z, p, generator, classifier, exemplars: int, trials: int, rescale: bool, seed: int = 0):
    """Fraction of trials where avg(glasses, short) - avg(short) + avg(long) reads as glasses + long
    hair, each slot averaging `exemplars` confident samples drawn at random; and the same fraction
    for the base slot alone (avg(long)), which must not have glasses on its own."""
    sure = p["face"] > 0.9
    g, h = p["glasses"], p["long_hair"]
    pools = [np.flatnonzero(sure & (g > 0.95) & (h < 0.05)),  # short hair with glasses
             np.flatnonzero(sure & (g < 0.05) & (h < 0.05)),  # short hair without glasses
             np.flatnonzero(sure & (g < 0.05) & (h > 0.95))]  # long hair without glasses
    assert min(len(x) for x in pools) >= 3 * exemplars, [len(x) for x in pools]
    rng = np.random.default_rng(seed)
    results, bases = [], []
    for _ in range(trials):
        a, b, c = (tuple(z[rng.choice(pool, exemplars, replace=False)]) for pool in pools)
        r = L.combine([L.Slot(1, a), L.Slot(-1, b), L.Slot(1, c)])
        results.append(L.to_typical_length(r) if rescale else r)
        bases.append(L.mean_latent(c))
    q = predict(classifier, generator.generate(np.stack(results)))
    both = (q["face"] > 0.5) & (q["glasses"] > 0.5) & (q["long_hair"] > 0.5)
    base = predict(classifier, generator.generate(np.stack(bases)))
    return float(both.mean()), float((base["glasses"] > 0.5).mean())


@needs_faces
def test_latent_arithmetic_adds_glasses_to_long_hair(sampled, generator, classifier):
    z, p = sampled
    # As in the DCGAN paper, over averaged exemplar sets (16 per slot here), the result rescaled to a
    # typical latent's length (an average of latents is shorter and renders blander).
    rate, base_rate = _arithmetic_trials(z, p, generator, classifier, exemplars=16, trials=100, rescale=True)
    plain, plain_base = _arithmetic_trials(z, p, generator, classifier, exemplars=16, trials=100, rescale=False)
    print(f"\narithmetic, 16 exemplars per slot: glasses + long hair in {rate:.0%} of 100 trials rescaled, "
          f"{plain:.0%} as a plain sum (the long-hair slot alone: glasses in {base_rate:.0%} / {plain_base:.0%})")
    assert rate >= 0.6  # measured 81% when the models were bundled
    # The glasses come from the arithmetic, not from the long-hair exemplars (averages of latents can
    # drift towards features of the average face: a model where they did was not bundled).
    assert base_rate <= 0.1 and plain_base <= 0.1
    # The arithmetic panel's plain sum works less often, but still far more often than not at all.
    assert plain >= 0.4  # measured 55-66%


def test_to_typical_length_keeps_direction():
    v = np.array([[3.0, 4.0], [0.0, 0.0]], np.float32)
    out = L.to_typical_length(v)
    np.testing.assert_allclose(out[0], np.array([3, 4]) / 5 * np.sqrt(2), rtol=1e-6)
    assert not out[1].any()  # zero stays zero
    np.testing.assert_allclose(np.linalg.norm(L.to_typical_length(np.ones(100))), 10.0, rtol=1e-6)


@needs_faces
def test_saved_glasses_direction_puts_glasses_on(sampled, generator, classifier):
    z, p = sampled
    store = ExploreStore.open(FACES, generator.z_dim)
    d = store.direction("glasses")
    without = z[(p["face"] > 0.9) & (p["glasses"] < 0.2)][:200]
    added = (predict(classifier, generator.generate(L.apply_direction(without, d, 2.0)))["glasses"] > 0.5).mean()
    print(f"\n'amount of glasses' +2 (the pad plane's default edge) on faces without glasses: {added:.0%} wear them")
    assert added >= 0.75
    # and the other way round it never adds glasses: the direction points the right way
    q = predict(classifier, generator.generate(L.apply_direction(without, d, -2.0)))
    assert (q["glasses"] > 0.5).mean() <= 0.05


@needs_faces
def test_bookmarks_show_what_they_are_named(generator, classifier):
    store = ExploreStore.open(FACES, generator.z_dim)
    assert not store.warnings
    names = [e.name for e in store.latents]
    expect = {"glasses, short hair": (1, 0), "no glasses, short hair": (0, 0), "no glasses, long hair": (0, 1)}
    for prefix, (glasses, long_hair) in expect.items():
        chosen = [e.vector for e in store.latents if e.name.startswith(prefix + " ")]
        assert len(chosen) >= 3, names
        q = predict(classifier, generator.generate(np.stack(chosen)))
        assert ((q["glasses"] > 0.5) == glasses).all() and ((q["long_hair"] > 0.5) == long_hair).all(), prefix
    # The saved result is what the arithmetic panel computes from those bookmarks in slots A, B, C...
    result = store.latent("long hair with glasses (A − B + C)")
    slots = [L.Slot(sign, tuple(e.vector for e in store.latents if e.name.startswith(prefix + " ")))
             for sign, prefix in zip((1, -1, 1), expect)]
    np.testing.assert_allclose(L.combine(slots), result, atol=1e-6)
    # ...and it shows long hair with glasses.
    q = predict(classifier, generator.generate(result[None]))
    assert q["face"][0] > 0.5 and q["glasses"][0] > 0.5 and q["long_hair"][0] > 0.5
    assert "smile" in names


# ----- demo-scenes: the CycleGAN ------------------------------------------------------------------------
def _luma(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def _edges(x: np.ndarray) -> np.ndarray:
    """Gradient magnitude of the luma at half resolution (the layout: hills, trees, house, sky
    objects; not the grain), normalised per picture so brightness does not count."""
    y = _luma(x)
    h = y.shape[0] // 2 * 2
    y = y[:h, :h].reshape(h // 2, 2, h // 2, 2).mean(axis=(1, 3))
    gx = np.zeros_like(y)
    gy = np.zeros_like(y)
    gx[:, 1:-1] = y[:, 2:] - y[:, :-2]
    gy[1:-1] = y[2:] - y[:-2]
    m = np.hypot(gx, gy)[1:-1, 1:-1]
    return (m - m.mean()) / (m.std() + 1e-6)


def _edge_correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float((_edges(a) * _edges(b)).mean())


def _blue_share(x: np.ndarray) -> float:
    """Mean share of blue in each pixel's colour, B / (R + G + B): a third for grey, more for blue."""
    x = x.astype(np.float64)
    return float((x[..., 2] / (x.sum(-1) + 1)).mean())


@needs_scenes
def test_cyclegan_turns_day_into_night_and_back():
    day, night = scenes(12, 64, seed=777)  # pictures the model never saw
    to_night = Translator.load(SCENES, "a2b", device="cpu")
    to_day = Translator.load(SCENES, "b2a", device="cpu")
    fake_night = np.stack([to_night.translate_array(x) for x in day])
    fake_day = np.stack([to_day.translate_array(x) for x in night])
    print(f"\nday -> night: luma {_luma(day).mean():.0f} -> {_luma(fake_night).mean():.0f} (real nights "
          f"{_luma(night).mean():.0f}), blue share {_blue_share(day):.2f} -> {_blue_share(fake_night):.2f} "
          f"(real nights {_blue_share(night):.2f})")

    assert _luma(fake_night).mean() < 0.5 * _luma(day).mean()  # much darker...
    assert abs(_luma(fake_night).mean() - _luma(night).mean()) < 0.35 * _luma(night).mean()  # ...like a night
    assert _blue_share(fake_night) > _blue_share(day) + 0.05  # and bluer
    assert _luma(fake_day).mean() > 2 * _luma(night).mean()
    # Structure is kept: each output's edges match its own input's far better than another picture's.
    own = np.mean([_edge_correlation(x, y) for x, y in zip(day, fake_night)])
    other = np.mean([_edge_correlation(x, y) for x, y in zip(day, np.roll(fake_night, 1, axis=0))])
    back = np.mean([_edge_correlation(x, y) for x, y in zip(night, fake_day)])
    back_other = np.mean([_edge_correlation(x, y) for x, y in zip(night, np.roll(fake_day, 1, axis=0))])
    print(f"edge correlation with its own input: day -> night {own:.2f} (another input: {other:.2f}), "
          f"night -> day {back:.2f} (another input: {back_other:.2f})")
    assert own > 0.25 and own > other + 0.2
    assert back > 0.25 and back > back_other + 0.2


# ----- demo-sketch: the pix2pix -------------------------------------------------------------------------
@needs_sketch
def test_pix2pix_turns_each_sketch_into_its_own_face():
    """Edge sketches of faces the model never saw (another seed than its training set's), made as
    training made them: each translation is nearer its own face than the other faces on average
    (the sketch fixes hair, glasses and smile; colours it cannot know)."""
    held_out, _ = faces(16, 64, seed=777)
    t = Translator.load(SKETCH, device="cpu")
    assert t.channels == 3 and t.upscale == 1
    out = np.stack([t.translate_array(make_input("edges", f, TRAINING_SEED)) for f in held_out])
    d = np.abs(out[:, None].astype(np.float32) - held_out[None].astype(np.float32)).mean(axis=(2, 3, 4))
    own = np.diag(d)
    others = (d.sum(axis=1) - own) / (len(d) - 1)
    print(f"\nmean pixel distance to its own face {own.mean():.1f}, to the other faces {others.mean():.1f}; "
          f"its own face the nearest for {(d.argmin(axis=1) == np.arange(len(d))).mean():.0%}")
    assert (own < others).all()
    assert own.mean() < 0.7 * others.mean()


# ----- the files ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("root, kind", [pytest.param(FACES, "dcgan", marks=needs_faces),
                                        pytest.param(SCENES, "cyclegan", marks=needs_scenes),
                                        pytest.param(SKETCH, "pix2pix", marks=needs_sketch)])
def test_bundled_project_folders_are_valid(root, kind):
    project = Project.open(root)
    assert project.kind == kind
    found = list_checkpoints(project.checkpoints_dir)
    assert len(found) == 1 and found[0][0] == project.step > 0  # the final checkpoint only
    tensors, meta = load_checkpoint(found[0][1])
    assert meta["kind"] == kind and all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    steps = [s for s, _ in project.sample_steps()]
    assert 10 <= len(steps) <= 25 and steps[0] == 0 and steps[-1] == project.step
    first, last = (load_png(p) for _, p in (project.sample_steps()[0], project.sample_steps()[-1]))
    assert first.shape == last.shape and first.ndim == 3
    assert project.read_history()[-1]["step"] == project.step
    # The data is procedural and not bundled: the project says how to make it again...
    for folder in project.meta["data"]["folders"].values():
        assert folder.startswith("(procedural: gan-studio demo-data ")
    assert "/tmp" not in (root / "project.json").read_text(encoding="utf-8")
    # ...and resuming training says so in one line instead of failing somewhere deep.
    from studio.engine.models.sessions import open_session

    with pytest.raises(UserError, match="training images"):
        open_session(root)


@needs_faces
def test_explore_file_has_bookmarks_and_directions():
    data = json.loads((FACES / "explore.json").read_text(encoding="utf-8"))
    assert data["z_dim"] == 100
    store = ExploreStore.open(FACES)
    assert {"glasses", "long hair"} <= {e.name for e in store.directions}
    assert np.linalg.norm(store.direction("glasses")) > 0.5
    assert len(store.latents) >= 10 and all(e.vector.shape == (100,) for e in store.latents)
    assert not (SCENES / "explore.json").exists()


def test_bundled_models_are_there_and_small():
    assert FACES.is_dir() and SCENES.is_dir() and SKETCH.is_dir(), \
        "models/ is incomplete: run python scripts/make_demo_models.py"
    total = sum(p.stat().st_size for p in MODELS.rglob("*") if p.is_file())
    assert total < LIMIT_BYTES, f"models/ holds {total / 1e6:.1f} MB"
    assert not list(MODELS.rglob("*.tmp*")) and not list(MODELS.rglob("*.new"))
