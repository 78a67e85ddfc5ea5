"""Bookmarks (named latents, directions, favourites) in explore.json: readable, exact, durable."""

import json
import os

import numpy as np
import pytest

from studio.engine.errors import UserError
from studio.engine.explore.bookmarks import FILE_NAME, ExploreStore

Z = 12


def vec(seed):
    return np.random.default_rng(seed).standard_normal(Z).astype(np.float32)


def test_bookmarks_survive_reopening_bit_exactly(tmp_path):
    store = ExploreStore.open(tmp_path, Z)
    store.add_latent("red chair", vec(1), source="seed 1")
    store.add_direction("glasses", vec(2) - vec(3), source="A - B")
    store.add_favourite(vec(4), source="seed 4 #0")

    again = ExploreStore.open(tmp_path, Z)
    assert [e.name for e in again.latents] == ["red chair"]
    assert np.array_equal(again.latent("red chair"), vec(1))  # float32 round-trips exactly
    assert np.array_equal(again.direction("glasses"), vec(2) - vec(3))
    assert again.is_favourite(vec(4)) and not again.is_favourite(vec(5))
    assert again.latents[0].source == "seed 1" and again.latents[0].created
    assert not again.warnings


def test_file_is_small_readable_json_without_the_app(tmp_path):
    store = ExploreStore.open(tmp_path, Z)
    store.add_latent("a", vec(1))
    data = json.loads((tmp_path / FILE_NAME).read_text())
    assert data["format"] == 1 and data["z_dim"] == Z
    z = np.array(data["latents"][0]["z"], dtype=np.float32)  # plain numbers
    assert np.array_equal(z, vec(1))
    assert all(len(repr(x)) <= 16 for x in data["latents"][0]["z"])  # 9 significant digits, not 17
    assert (tmp_path / FILE_NAME).stat().st_size < 2000


def test_names_are_unique_and_entries_can_be_renamed_and_removed(tmp_path):
    store = ExploreStore.open(tmp_path, Z)
    assert store.add_latent("cat", vec(1)).name == "cat"
    assert store.add_latent("cat", vec(2)).name == "cat (2)"
    assert store.add_latent("  cat  ", vec(3)).name == "cat (3)"
    assert store.rename_latent("cat (2)", "dog") == "dog"
    store.remove_latent("cat")
    store.add_direction("smile", vec(4))
    store.remove_direction("smile")
    again = ExploreStore.open(tmp_path, Z)
    assert [e.name for e in again.latents] == ["dog", "cat (3)"]
    assert np.array_equal(again.latent("dog"), vec(2))
    assert again.directions == []
    with pytest.raises(KeyError):
        again.latent("cat")


def test_favourites_toggle(tmp_path):
    store = ExploreStore.open(tmp_path, Z)
    store.add_favourite(vec(1))
    store.add_favourite(vec(1))  # idempotent
    assert len(store.favourites) == 1
    assert store.remove_favourite(vec(1)) and not store.remove_favourite(vec(1))
    assert ExploreStore.open(tmp_path, Z).favourites == []


def test_bad_vectors_are_refused(tmp_path):
    store = ExploreStore.open(tmp_path, Z)
    with pytest.raises(ValueError):
        store.add_latent("short", np.zeros(Z - 1))
    with pytest.raises(ValueError):
        store.add_latent("nan", np.full(Z, np.nan))
    with pytest.raises(UserError):
        store.add_direction("nothing", np.zeros(Z))
    assert not (tmp_path / FILE_NAME).exists()  # nothing was written


def test_damaged_file_is_kept_aside_not_overwritten(tmp_path):
    (tmp_path / FILE_NAME).write_text("{ this is not json")
    store = ExploreStore.open(tmp_path, Z)
    assert store.latents == [] and store.warnings and "damaged" in store.warnings[0]
    kept = list(tmp_path.glob("explore.damaged-*.json"))
    assert len(kept) == 1 and kept[0].read_text() == "{ this is not json"
    store.add_latent("fresh", vec(1))
    assert np.array_equal(ExploreStore.open(tmp_path, Z).latent("fresh"), vec(1))


def test_entries_of_another_model_are_skipped_but_kept(tmp_path):
    store = ExploreStore.open(tmp_path, Z)
    store.add_latent("ok", vec(1))
    data = json.loads((tmp_path / FILE_NAME).read_text())
    data["latents"].append({"name": "from a z=3 model", "z": [1.0, 2.0, 3.0]})
    (tmp_path / FILE_NAME).write_text(json.dumps(data))
    store = ExploreStore.open(tmp_path, Z)
    assert [e.name for e in store.latents] == ["ok"] and len(store.warnings) == 1
    store.add_latent("new", vec(2))  # a save must not drop the entry it could not use
    names = [e["name"] for e in json.loads((tmp_path / FILE_NAME).read_text())["latents"]]
    assert names == ["ok", "new", "from a z=3 model"]


def test_newer_format_is_a_user_error(tmp_path):
    (tmp_path / FILE_NAME).write_text(json.dumps({"format": 99}))
    with pytest.raises(UserError, match="newer"):
        ExploreStore.open(tmp_path, Z)


def test_save_is_atomic(tmp_path, monkeypatch):
    store = ExploreStore.open(tmp_path, Z)
    store.add_latent("first", vec(1))
    before = (tmp_path / FILE_NAME).read_bytes()

    def crash(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(UserError, match="Cannot save bookmarks"):
        store.add_latent("second", vec(2))
    monkeypatch.undo()
    assert [e.name for e in store.latents] == ["first"]  # memory matches the file
    assert (tmp_path / FILE_NAME).read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temp file left behind


def test_a_z_entry_keeps_the_class_it_was_drawn_as(tmp_path):
    """A bookmark or favourite of a generator with classes keeps its class weights across reopening;
    files written before (no class) open as before; malformed weights skip only that entry, kept
    verbatim; a store of W keeps none (the styles hold the class)."""
    store = ExploreStore.open(tmp_path, z_dim=4)
    z = np.arange(4, dtype=np.float32)
    store.add_latent("round one", z, labels=[0, 1, 0])
    store.add_favourite(z + 1, labels=np.array([0.25, 0.75, 0]))
    store.add_latent("plain", z + 2)
    again = ExploreStore.open(tmp_path, z_dim=4)
    assert np.array_equal(again.latents[0].labels, [0, 1, 0]) and again.latents[1].labels is None
    assert np.array_equal(again.favourites[0].labels, [0.25, 0.75, 0])
    data = json.loads(again.path.read_text())
    assert data["latents"][0]["class_weights"] == [0, 1, 0] and "class_weights" not in data["latents"][1]

    data["latents"][1]["class_weights"] = [1, float("nan")]
    again.path.write_text(json.dumps(data))
    damaged = ExploreStore.open(tmp_path, z_dim=4)
    assert [e.name for e in damaged.latents] == ["round one"] and len(damaged.warnings) == 1
    damaged.save()
    assert json.loads(damaged.path.read_text())["latents"][1]["name"] == "plain"  # written back as it was

    (tmp_path / "w").mkdir()
    w = ExploreStore.open(tmp_path / "w", space="w", w_shape=(2, 3))
    assert w.add_latent("styles", np.zeros(6), labels=[0, 1]).labels is None
