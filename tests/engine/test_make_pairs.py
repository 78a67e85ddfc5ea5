"""Pairs for paired translation: inputs made from targets (every mode deterministic, aligned through
the trainer's crops and flips), folders matched by name, side-by-side pictures split."""

import numpy as np
import pytest
import torch
from PIL import Image

from studio.engine.data.dataset import DataConfig, prepare_dataset
from studio.engine.data.demo_sets import faces
from studio.engine.data.pairs import (
    HOLE_GREY,
    PAIR_MODES,
    make_input,
    make_inputs,
    match_by_name,
    pair_key,
    prepare_side_by_side,
)
from studio.engine.errors import UserError
from studio.engine.models.pix2pix.trainer import Pix2PixConfig, Pix2PixTrainer

FACES, _ = faces(3, 72, seed=5)


def _textured(n, size, seed):
    """Faces with a faint random texture: every crop of one is found at exactly one place."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-12, 13, (n, size, size, 1))
    return np.clip(faces(n, size, seed=seed)[0].astype(int) + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("mode", list(PAIR_MODES))
def test_inputs_are_made_deterministically_with_the_targets_shape(mode):
    a = make_input(mode, FACES[0], seed=3)
    assert a.shape == FACES[0].shape and a.dtype == np.uint8
    assert np.array_equal(a, make_input(mode, FACES[0].copy(), seed=3))  # same picture, same input
    assert not np.array_equal(a, FACES[0])  # the input really differs from its target
    assert not np.array_equal(a, make_input(mode, FACES[1], seed=3))  # and follows the picture
    grey = FACES[0][..., :1]
    assert make_input(mode, grey, seed=3).shape == grey.shape  # grey pictures keep one channel
    rgba = np.concatenate([FACES[0], np.full((72, 72, 1), 200, np.uint8)], axis=2)
    assert np.array_equal(make_input(mode, rgba, seed=3)[..., 3], rgba[..., 3])  # alpha carried over


@pytest.mark.parametrize("mode", list(PAIR_MODES))
def test_crops_and_flips_cut_input_and_target_alike(mode):
    """The trainer's random crop and flip of a made pair, located in the target by its texture, cut
    the input at exactly the same place (pixel-exact), mirrored alike."""
    targets = torch.from_numpy(_textured(3, 72, seed=1)).permute(0, 3, 1, 2).contiguous()
    inputs = make_inputs(mode, targets)
    assert torch.equal(inputs, make_inputs(mode, targets))
    cfg = Pix2PixConfig(size=64, ngf=2, ndf=2, batch=3, make_pairs=mode)
    assert cfg.load_size == 72
    t = Pix2PixTrainer(cfg, inputs, targets, seed=4)
    seen_flip = set()
    for _ in range(3):
        a, b = (((x + 1) * 127.5).round().to(torch.uint8) for x in t._real_batch())
        for got_a, got_b in zip(a, b):
            places = [(i, y, x, f) for i in range(3) for y in range(9) for x in range(9) for f in (False, True)
                      if torch.equal(_cut(targets[i], y, x, f), got_b)]
            assert len(places) == 1, places
            i, y, x, f = places[0]
            assert torch.equal(_cut(inputs[i], y, x, f), got_a)
            seen_flip.add(f)
    assert seen_flip == {False, True}


def _cut(picture, y, x, flip):
    crop = picture[:, y : y + 64, x : x + 64]
    return crop.flip(2) if flip else crop


def test_modes_do_what_they_say():
    face = FACES[0]
    edges = make_input("edges", face, 0)
    assert np.array_equal(edges[..., 0], edges[..., 1])  # lines replicated to every channel
    assert (edges > 250).mean() > 0.6 and (edges < 100).mean() > 0.01  # mostly paper, some ink
    lineart = make_input("lineart", face, 0)
    assert set(np.unique(lineart)) <= {0, 255}  # binarised strokes
    assert (lineart == 0).mean() < (edges < 128).mean()  # thinner than the soft lines
    grey = make_input("grey", face, 0)
    assert np.array_equal(grey[..., 0], grey[..., 2])
    blur = make_input("blur", face, 0)
    assert np.abs(np.diff(blur.astype(int), axis=1)).mean() < np.abs(np.diff(face.astype(int), axis=1)).mean()
    big = faces(1, 128, seed=2)[0][0]
    low = make_input("lowres", big, 0)
    small = np.asarray(Image.fromarray(big).resize((32, 32), Image.Resampling.BOX))
    assert low.shape == big.shape  # the same size, so the U-Net maps equal sizes
    back = np.asarray(Image.fromarray(low).resize((32, 32), Image.Resampling.BOX)).astype(int)
    assert np.abs(back - small).mean() < 4  # what is left is the quarter-resolution picture
    masked = make_input("masked", face, 0)
    holes = np.all(masked == HOLE_GREY, axis=2) & np.any(face != HOLE_GREY, axis=2)
    assert 0.01 < holes.mean() < 0.5
    assert np.array_equal(masked[~holes], face[~holes])  # only the holes changed
    assert not np.array_equal(masked, make_input("masked", face, 1))  # the seed moves the holes


def test_unknown_mode_and_bad_pictures_are_refused():
    with pytest.raises(ValueError, match="Unknown pair mode"):
        make_input("sepia", FACES[0], 0)
    with pytest.raises(ValueError, match="HxWxC uint8"):
        make_input("edges", FACES[0].astype(np.float32), 0)


def _save(folder, name, picture):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(picture).save(path)


def test_folders_are_matched_by_relative_path_without_extension(tmp_path):
    pics = faces(5, 32, seed=7)[0]
    a, b = tmp_path / "a", tmp_path / "b"
    for name, i in (("x.png", 0), ("sub/y.png", 1), ("z.png", 2), ("only_a.png", 3)):
        _save(a, name, pics[i])
    for name, i in (("sub/y.jpg", 1), ("x.png", 0), ("z.bmp", 2), ("y.png", 4)):  # y.png: not sub/y
        _save(b, name, pics[i])
    cfg = DataConfig(size=32)
    ins, outs = match_by_name(prepare_dataset(a, cfg, cache_dir=tmp_path / "c"),
                              prepare_dataset(b, cfg, cache_dir=tmp_path / "c"))
    keys = [pair_key(p, str(a)) for p in ins.paths]
    assert keys == [pair_key(p, str(b)) for p in outs.paths] and sorted(keys) == ["sub/y", "x", "z"]
    assert ins.report.used == outs.report.used == len(ins.images) == len(outs.images) == 3
    assert [(pair_key(p, str(a)), r) for p, r in ins.report.skipped] == [
        ("only_a", f"no target of the same name in {b}")]
    assert [pair_key(p, str(b)) for p, _ in outs.report.skipped] == ["y"]
    assert any("only_a.png: no target" in line for line in ins.report.lines())
    # row i of the inputs is the picture its target was made from (lossless files)
    for i, p in enumerate(outs.paths):
        if not p.endswith(".jpg"):
            assert torch.equal(ins.images[i], outs.images[i]), p
    again = match_by_name(ins, outs)
    assert again[0] is ins and again[1] is outs  # matching matched datasets changes nothing


def test_folders_without_one_matching_name_are_a_user_error(tmp_path):
    pics = faces(2, 32, seed=7)[0]
    _save(tmp_path / "a", "one.png", pics[0])
    _save(tmp_path / "b", "two.png", pics[1])
    cfg = DataConfig(size=32)
    with pytest.raises(UserError, match=r"No picture in .* has a partner of the same name"):
        match_by_name(prepare_dataset(tmp_path / "a", cfg, cache_dir=tmp_path / "c"),
                      prepare_dataset(tmp_path / "b", cfg, cache_dir=tmp_path / "c"))


def test_side_by_side_pictures_are_split_into_input_and_target(tmp_path):
    pics = faces(3, 40, seed=9)[0]
    for i in range(2):
        _save(tmp_path / "sbs", f"p{i}.png", np.concatenate([pics[i], pics[i + 1]], axis=1))
    _save(tmp_path / "sbs", "thin.png", pics[0][:, :3])
    ds = prepare_side_by_side(tmp_path / "sbs", DataConfig(size=40))
    assert ds.images.shape == (2, 6, 40, 40) and ds.report.used == 2
    for i in range(2):
        assert np.array_equal(ds.images[i, :3].permute(1, 2, 0).numpy(), pics[i])
        assert np.array_equal(ds.images[i, 3:].permute(1, 2, 0).numpy(), pics[i + 1])
    assert [(p.rsplit("/", 1)[-1], "too narrow" in r) for p, r in ds.report.skipped] == [("thin.png", True)]
