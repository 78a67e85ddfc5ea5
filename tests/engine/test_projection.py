"""Projection into the latent space: the loss, the search in z, w and w+, cancel, the written files, the CLI.

The figures the issue asks for (style w+ against DCGAN z on held-out faces, attributes kept) need
trained models and minutes: `bench/projection_quality.py` prints them. Here, small random-weight
generators and the bundled demo check the properties those figures rest on: a search recovers a
picture the generator can make, w+ reaches closer than w, results render back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from studio.engine.errors import Cancelled, UserError
from studio.engine.explore.generator import GeneratorModel, load_generator
from studio.engine.explore.projection import (
    ProjectionSettings,
    explorer_latent,
    laplacian_pyramid,
    project,
    projection_loss,
    read_latent,
    render_latent,
    save_projection,
    space_for,
)
from studio.engine.models import get_kind

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "models" / "demo-faces"


def _model(kind_name: str, seed: int = 0, **cfg) -> GeneratorModel:
    kind = get_kind(kind_name)
    config = kind.config_cls(**cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        state = kind.make_generator(config).state_dict()
    return GeneratorModel(config, state, "cpu", step=1, kind=kind)


@pytest.fixture(scope="module")
def dcgan():
    return _model("dcgan", size=32, z_dim=16, ngf=8, ndf=8)


@pytest.fixture(scope="module")
def demo():
    return load_generator(DEMO, device="cpu")


@pytest.fixture(scope="module")
def style():
    return _model("stylegan", size=32, z_dim=16, w_dim=16, mapping_layers=1, channel_base=64, channel_max=16)


def test_the_loss_is_zero_on_the_target_and_the_pyramid_splits_bands():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    levels = laplacian_pyramid(x)
    assert [t.shape[-1] for t in levels] == [32, 16, 8, 4]
    flat = laplacian_pyramid(torch.full((1, 3, 32, 32), 0.3))
    assert all(t.abs().max() < 1e-6 for t in flat[:-1])  # a flat picture has no band-pass detail
    assert projection_loss(x[:1], x[:1]).item() == pytest.approx(0, abs=1e-7)
    per = projection_loss(x, x[:1])
    assert per.shape == (2,) and per[1] > 0.1


def test_z_search_recovers_a_picture_the_generator_made(demo):
    z_true = torch.randn(1, 100, generator=torch.Generator().manual_seed(5))
    target = demo.generate(z_true)[0]
    calls = []
    result = project(demo, target, ProjectionSettings(steps=60, starts=2, candidates=32),
                     progress=lambda d, t, text: calls.append((d, t)))
    assert result.space == "z" and result.latent.shape == (100,)
    assert calls[0] == (1, 60) and calls[-1] == (60, 60)
    # the search starts from the best of its 32 random candidates: it must go well beyond them
    pool = demo.generate(torch.randn(32, 100, generator=torch.Generator().manual_seed(0))).astype(float)
    start_error = np.sqrt(((pool - target) ** 2).mean(axis=(1, 2, 3))).min()
    print(f"z: best of 32 random {start_error:.1f}, projected {result.error:.1f} levels")
    assert result.error < 0.6 * start_error
    assert result.losses[-1] < result.losses[0]
    # what the gallery stores renders the very picture shown
    assert np.array_equal(demo.generate(explorer_latent(result))[0], result.picture)


def test_w_plus_reaches_closer_than_one_w_and_renders_back(style):
    # a target only w+ can make exactly: coarse styles of one latent, fine styles of another
    ws = style.to_ws(torch.randn(2, 16, generator=torch.Generator().manual_seed(3)))
    mixed = ws[:1].copy()
    mixed[0, style.num_ws // 2:] = ws[1, style.num_ws // 2:]
    target = style.generate_w(mixed)[0]
    settings = ProjectionSettings(steps=50, starts=1, candidates=8, w_avg_samples=256)
    in_w = project(style, target, ProjectionSettings(**{**settings.__dict__, "space": "w"}))
    in_w_plus = project(style, target, settings)
    assert space_for(style.kind) == "w+" and in_w_plus.space == "w+"
    assert in_w.latent.shape == (16,) and in_w_plus.latent.shape == (style.num_ws, 16)
    print(f"w {in_w.error:.2f}, w+ {in_w_plus.error:.2f} levels")
    assert in_w_plus.error < in_w.error
    flat = explorer_latent(in_w_plus)
    assert flat.shape == (style.num_ws * 16,)
    assert np.array_equal(style.generate_w(flat[None])[0], in_w_plus.picture)
    assert np.array_equal(render_latent(style, in_w.latent, "w"), in_w.picture)
    assert np.array_equal(style.generate_w(explorer_latent(in_w)[None])[0], in_w.picture)


def test_same_seed_same_result_and_cancel_stops(dcgan):
    target = dcgan.generate_seeded(1, 9)[0]
    a = project(dcgan, target, ProjectionSettings(steps=10, seed=4))
    b = project(dcgan, target, ProjectionSettings(steps=10, seed=4))
    assert np.array_equal(a.latent, b.latent)
    asked = []

    def should_cancel():
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(Cancelled):
        project(dcgan, target, ProjectionSettings(steps=100), should_cancel=should_cancel)
    assert len(asked) == 4


def test_wrong_space_or_size_is_a_sentence(dcgan):
    target = np.zeros((32, 32, 3), np.uint8)
    for settings, needle in ((ProjectionSettings(space="w+"), "no style space"),
                             (ProjectionSettings(space="q"), "Unknown latent space")):
        with pytest.raises(UserError, match=needle) as e:
            project(dcgan, target, settings)
        assert str(e.value)[0].isupper() and str(e.value).endswith(".")
    with pytest.raises(UserError, match="needs 32x32"):
        project(dcgan, np.zeros((16, 16, 3), np.uint8))


def test_saved_latents_read_back_exactly(tmp_path, style):
    target = style.generate_seeded(1, 2)[0]
    result = project(style, target, ProjectionSettings(steps=6, starts=1, candidates=4, w_avg_samples=64))
    paths = save_projection(result, tmp_path, "me", project="p", checkpoint_step=3)
    assert sorted(p.name for p in paths.values()) == sorted(
        ["me-projected.png", "me-target.png", "me-difference.png", "me-latent.json", "me-latent.safetensors"])
    record = json.loads(paths["json"].read_text())
    assert record["space"] == "w+" and record["shape"] == [style.num_ws, 16] and record["checkpoint_step"] == 3
    for f in (paths["json"], paths["safetensors"]):
        latent, space = read_latent(f)
        assert space == "w+" and np.array_equal(latent, result.latent)
        assert np.array_equal(render_latent(style, latent, space), result.picture)


def test_cli_projects_images_into_the_demo_and_writes_results(tmp_path, capsys, demo):
    from studio.cli.main import main
    from studio.engine.data.demo_sets import faces
    from studio.engine.images import save_png

    pics, _ = faces(2, 32, seed=4242)  # never trained on: the demo learned seed 0's faces
    for i, pic in enumerate(pics):
        save_png(tmp_path / f"face{i}.png", pic)
    out = tmp_path / "out"
    code = main(["project", str(DEMO), str(tmp_path / "face0.png"), str(tmp_path / "face1.png"),
                 "--out", str(out), "--steps", "40"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "face0.png: z latent 100" in printed and "mean error" in printed
    for stem in ("face0", "face1"):
        latent, space = read_latent(out / f"{stem}-latent.safetensors")
        assert space == "z" and latent.shape == (100,)
    from studio.engine.images import load_png

    assert np.array_equal(demo.generate(latent)[0], load_png(out / "face1-projected.png"))
    assert main(["project", str(DEMO), str(tmp_path / "missing.png"), "--out", str(out)]) == 2
    assert "missing.png is not an image file." in capsys.readouterr().err
