"""The bundled style-based demo (models/demo-style, made by `scripts/make_demo_models.py --only style`):
a 64 px StyleGAN2-class generator of the procedural faces, bundled for exploring in W.

* Its samples read as faces, and its bookmarks (explore.json, in W) show what they are named; the
  arithmetic and the glasses direction in W are measured on it by test_style_space.py.
* The folder holds the averaged generator alone: it opens in W, continuing its own training is
  refused with a sentence (even with its images drawn again), and a new project fine-tunes from it
  (the generator carried over, the critic fresh).
* Reading it changes no byte.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig
from studio.engine.data.demo_sets import write_faces
from studio.engine.errors import UserError
from studio.engine.explore import latent as L
from studio.engine.explore.bookmarks import ExploreStore
from studio.engine.explore.generator import load_generator
from studio.engine.images import load_png
from studio.engine.models import get_kind
from studio.engine.project.checkpoints import list_checkpoints, load_checkpoint
from studio.engine.project.folder import Project
from tests.engine.attribute_classifier import predict, train_classifier
from tests.engine.test_bundled_models import _digest

STYLE = Path(__file__).resolve().parents[2] / "models" / "demo-style"
pytestmark = pytest.mark.skipif(not STYLE.is_dir(), reason="models/demo-style missing")
EXPECTED = {"glasses, short hair": (1, 0), "no glasses, short hair": (0, 0), "no glasses, long hair": (0, 1)}


@pytest.fixture(scope="module", autouse=True)
def bundled_files_unchanged():
    """Every test here only reads the bundled folder: it must be byte-identical afterwards."""
    before = _digest(STYLE) if STYLE.is_dir() else {}
    yield
    assert (_digest(STYLE) if STYLE.is_dir() else {}) == before


@pytest.fixture(scope="module")
def classifier():
    return train_classifier(32, seed=0)  # 64 px pictures are area-downsampled for it


@pytest.fixture(scope="module")
def model():
    return load_generator(STYLE, device="cpu")


def test_the_folder_holds_the_averaged_generator_alone():
    project = Project.open(STYLE)
    assert project.kind == "stylegan" and project.meta.get("generator_only") is True
    found = list_checkpoints(project.checkpoints_dir)
    assert len(found) == 1 and found[0][0] == project.step > 0  # the final checkpoint only
    tensors, meta = load_checkpoint(found[0][1])
    assert tensors and all(k.startswith("G_ema.") for k in tensors)
    assert all(t.dtype == torch.float32 and torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    assert meta["kind"] == "stylegan" and meta["config"]["size"] == 64 and "generator_only" in meta
    steps = [s for s, _ in project.sample_steps()]
    assert 1 <= len(steps) <= 4 and steps[-1] == project.step
    assert load_png(project.sample_steps()[-1][1]).ndim == 3
    assert project.read_history()[-1]["step"] == project.step
    for folder in project.meta["data"]["folders"].values():
        assert folder.startswith("(procedural: gan-studio demo-data faces ")
    assert "/tmp" not in (STYLE / "project.json").read_text(encoding="utf-8")


def test_continuing_its_training_is_refused_with_a_sentence_even_with_its_images(tmp_path):
    from studio.engine.models.sessions import open_session
    from studio.engine.project.relocation import relocate

    with pytest.raises(UserError, match="keeps only its trained generator"):
        open_session(STYLE)
    # Its images drawn again and the copy pointed at them: still refused, and still in one sentence
    # (without the flag the trainer would fail on the missing critic and optimizer state).
    copy = tmp_path / "demo"
    shutil.copytree(STYLE, copy)
    write_faces(tmp_path / "faces", 4, 64, seed=0)
    relocate(Project.open(copy), {"data": tmp_path / "faces"})
    with pytest.raises(UserError, match="New Project from This Model"):
        open_session(copy)


def test_it_opens_in_w_and_draws_faces(model, classifier):
    assert model.default_space == "w" and model.cfg.size == 64
    pictures = model.generate_in(model.latent_space("w").random_latents(31337, 500), "w")
    p = predict(classifier, pictures)
    faces = float((p["face"] > 0.5).mean())
    print(f"\n{faces:.0%} of 500 samples read as faces; glasses {(p['glasses'] > 0.5).mean():.0%}, "
          f"long hair {(p['long_hair'] > 0.5).mean():.0%}, smile {(p['smile'] > 0.5).mean():.0%}")
    assert faces >= 0.9
    # every attribute the bookmarks and directions are about shows up, and not everywhere
    for head in ("glasses", "long_hair", "smile"):
        assert 0.1 <= (p[head] > 0.5).mean() <= 0.9, head


def test_bookmarks_in_w_show_what_they_are_named(model, classifier):
    space = model.latent_space("w")
    store = ExploreStore.open(STYLE, model.z_dim, "w", (model.num_ws, model.w_dim))
    assert not store.warnings
    assert {"glasses", "long hair", "smile"} <= {e.name for e in store.directions}
    for prefix, (glasses, long_hair) in EXPECTED.items():
        chosen = [e.vector for e in store.latents if e.name.startswith(prefix + " ")]
        assert len(chosen) >= 3, prefix
        q = predict(classifier, model.generate_w(np.stack(chosen)))
        assert ((q["glasses"] > 0.5) == glasses).all() and ((q["long_hair"] > 0.5) == long_hair).all(), prefix
    # The saved result is what the arithmetic panel computes from those bookmarks in slots A, B and C
    # (rescaled to a typical distance from w_avg, its default)...
    result = store.latent("long hair with glasses (A − B + C)")
    slots = [L.Slot(sign, tuple(e.vector for e in store.latents if e.name.startswith(prefix + " ")))
             for sign, prefix in zip((1, -1, 1), EXPECTED)]
    np.testing.assert_allclose(space.to_typical(L.combine(slots)), result, atol=1e-5)
    # ...and it shows long hair with glasses.
    q = predict(classifier, model.generate_w(result[None]))
    assert q["face"][0] > 0.5 and q["glasses"][0] > 0.5 and q["long_hair"][0] > 0.5
    # the z entries of a store in W are none: the bundled file is W's only
    assert json.loads((STYLE / "explore.json").read_text(encoding="utf-8"))["latents"][0]["space"] in ("w", "w+")


def test_a_new_project_fine_tunes_from_it(tmp_path, model):
    from studio.engine.models.sessions import create_session
    from studio.engine.models.suggest import DeviceInfo

    write_faces(tmp_path / "mine", 8, 64, seed=7)
    # the demo's network shape, as the wizard and `--from` suggest it (ModelKind.fine_tune_suggestion): its
    # 2 mapping layers are no longer the small preset's 8
    kind = get_kind("stylegan")
    shape = {f: getattr(model.cfg, f) for f in kind.architecture_fields}
    # ...and without noise inputs, as it was trained: switched on, every face would start learning a
    # noise texture (the CLI's --from run of it did, before noise_inputs was part of the shape)
    assert shape["noise_inputs"] is False
    cpu = kind.suggest([8], [(64, 64)] * 8, DeviceInfo("cpu", "CPU", 8 << 30))
    suggested = kind.fine_tune_suggestion(cpu, model.cfg)
    assert {f: suggested.options[f] for f in shape} == shape  # what the wizard and `--from` fill in
    session = create_session(tmp_path / "child", "stylegan", {"data": str(tmp_path / "mine")}, DataConfig(size=64),
                             RunSettings(steps=1, metric_every=0), {"batch": 4, **shape}, parent=STYLE)
    trainer = session.trainer
    assert trainer.cfg.noise_inputs is False
    # the generator starts as the demo's averaged one, the critic fresh
    for key, value in model.G.state_dict().items():
        assert torch.equal(trainer.G.state_dict()[key].cpu(), value.cpu()), key
    adapted = " ".join(Project.open(tmp_path / "child").meta["parent"]["adapted"])
    assert "newly initialised" in adapted and "in D)" in adapted, adapted  # the critic alone
    for _ in session.run():
        pass
    assert session.trainer.global_step == 1
