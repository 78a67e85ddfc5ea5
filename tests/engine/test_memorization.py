"""Memorization check: nearest training images in pixel and feature space."""

import time

import numpy as np
import pytest
import torch

from studio.engine.data.dataset import DataConfig, prepare_dataset
from studio.engine.data.procedural import discs, write_folder
from studio.engine.explore.nearest_images import NearestImages


@pytest.fixture(scope="module")
def train():
    return discs(300, 32, seed=11)  # (N, H, W, C) uint8


@pytest.fixture(scope="module")
def index(train):
    return NearestImages(train, [f"img{i:05d}.png" for i in range(len(train))])


@pytest.mark.parametrize("space", ["pixel", "feature"])
def test_a_training_image_finds_itself_at_distance_zero(index, train, space):
    for i in (0, 123, 299):
        hit = index.query(train[i], k=3, space=space)
        assert hit.indices[0] == i and hit.paths[0] == f"img{i:05d}.png"
        assert hit.distances[0] == pytest.approx(0.0, abs=1e-5)
        assert hit.distances[1] > 0.01 and list(hit.distances) == sorted(hit.distances)
        assert hit.copy_ratio < 0.01 and hit.space == space


@pytest.mark.parametrize("space", ["pixel", "feature"])
def test_a_noised_copy_finds_its_original_first(index, train, space):
    rng = np.random.default_rng(0)
    for i in rng.choice(len(train), 20, replace=False):
        noisy = np.clip(train[i].astype(np.int16) + rng.integers(-20, 21, train[i].shape), 0, 255).astype(np.uint8)
        hit = index.query(noisy, k=5, space=space)
        assert hit.indices[0] == i, (space, i, hit.indices)
        assert 0 < hit.distances[0] < hit.distances[1]


def test_feature_space_tolerates_a_small_shift_and_new_images_are_not_copies(index, train):
    for i in range(0, 300, 15):
        shifted = np.roll(train[i], 1, axis=1)  # one pixel to the right
        assert index.query(shifted, k=1, space="feature").indices[0] == i
    fresh = discs(50, 32, seed=999)  # new images from the same distribution
    ratios = [n.copy_ratio for n in index.query_many(fresh, k=1, space="pixel")]
    assert np.median(ratios) > 0.5  # as far from the training set as training images are from each other


def test_works_on_a_prepared_dataset_with_paths(tmp_path):
    folder = write_folder(discs(12, 32, seed=2), tmp_path / "d")
    ds = prepare_dataset(folder, DataConfig(size=32), cache_dir=tmp_path / "cache")
    index = NearestImages.from_dataset(ds)
    pic = ds.images[5].permute(1, 2, 0).numpy()
    hit = index.query(pic, k=2)
    assert hit.paths[0] == ds.paths[5] and hit.distances[0] == 0
    with pytest.raises(ValueError, match="channels"):
        index.query(pic[:, :, :1])


def test_ten_thousand_images_at_64px_answer_fast():
    g = torch.Generator().manual_seed(0)
    base = torch.from_numpy(discs(64, 64, seed=5)).permute(0, 3, 1, 2)
    images = base[torch.randint(0, 64, (10_000,), generator=g)].clone()  # (10k, 3, 64, 64) uint8
    images[:, :, 0, : 64] = torch.randint(0, 256, (10_000, 3, 64), generator=g, dtype=torch.uint8)  # all differ
    t = time.perf_counter()
    index = NearestImages(images)
    built = time.perf_counter() - t
    pic = images[777].permute(1, 2, 0).numpy()
    for space in ("pixel", "feature"):
        index.query(pic, space=space)  # computes the typical distance once
        t = time.perf_counter()
        hit = index.query(pic, k=8, space=space)
        took = time.perf_counter() - t
        assert hit.indices[0] == 777 or hit.distances[0] == 0
        assert took < 0.5, f"{space} query took {took:.2f} s"
    print(f"indexed 10k 64 px images in {built:.1f} s")
    assert built < 60


def test_duplicates_in_the_folder_do_not_zero_the_scale(train):
    doubled = np.concatenate([train[:50], train[:50]])  # every image twice
    index = NearestImages(doubled)
    assert index.typical_distance("pixel") > 0.01
    hit = index.query(train[3], k=2)
    assert set(hit.indices) == {3, 53} and hit.copy_ratio == 0
