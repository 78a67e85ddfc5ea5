"""Folder scanning, prepare_dataset(), its report, fingerprint and on-disk cache."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from studio.engine.data import cache as dataset_cache
from studio.engine.data import dataset as data
from studio.engine.data import decode as image_decode
from studio.engine.data.dataset import (
    IMAGE_EXTENSIONS,
    Cancelled,
    DataConfig,
    DatasetReport,
    dataset_fingerprint,
    prepare_dataset,
    scan_folder,
)
from studio.engine.errors import UserError
from tests.engine import image_corpus as corpus

CFG = DataConfig(size=16)


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def forbid_decoding(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an image was decoded")

    monkeypatch.setattr(image_decode, "decode", refuse)
    monkeypatch.setattr(image_decode.Image, "open", refuse)


# -- DataConfig ----------------------------------------------------------------------


def test_config_channels_and_validation():
    assert DataConfig().channels == 3
    assert DataConfig(grayscale=True).channels == 1
    assert DataConfig(alpha="keep").channels == 4
    assert DataConfig(alpha="black").background == 0 and DataConfig().background == 255
    for bad in (dict(grayscale=True, alpha="keep"), dict(fit="stretch"), dict(alpha="grey"),
                dict(size=0), dict(size=100_000), dict(size=32.0)):
        with pytest.raises(UserError):
            DataConfig(**bad)


def test_image_extensions():
    assert IMAGE_EXTENSIONS == {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


# -- scanning ------------------------------------------------------------------------


def test_scan_is_recursive_sorted_case_insensitive_and_ignores_other_files(tmp_path):
    root = tmp_path / "imgs"
    for rel in ["b.png", "a.JPG", "sub/c.Tiff", "sub/deeper/d.webp", "z.jpeg"]:
        corpus.write_image(root, rel, corpus.pattern(4, 4), "PNG")
    corpus.write_not_images(root)
    (root / ".hidden").mkdir()
    corpus.write_image(root / ".hidden", "e.png", corpus.pattern(4, 4))

    found = scan_folder(root)

    assert [p.relative_to(root).as_posix() for p in found] == [
        "a.JPG", "b.png", "sub/c.Tiff", "sub/deeper/d.webp", "z.jpeg"
    ]
    assert all(p.is_absolute() for p in found)


def test_scan_survives_link_loops_and_unreadable_folders(tmp_path, monkeypatch):
    root = tmp_path / "imgs"
    corpus.write_image(root, "a.png", corpus.pattern(4, 4))
    corpus.write_image(root / "locked", "hidden-from-us.png", corpus.pattern(4, 4))
    corpus.write_folder_link_loop(root)
    (root / "self").symlink_to(".", target_is_directory=True)
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert [p.name for p in scan_folder(root)] == ["a.png"]


def test_scan_follows_links_to_other_folders(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    corpus.write_image(elsewhere, "x.png", corpus.pattern(4, 4))
    root = tmp_path / "imgs"
    corpus.write_image(root, "a.png", corpus.pattern(4, 4))
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    assert [p.relative_to(root).as_posix() for p in scan_folder(root)] == ["a.png", "linked/x.png"]


def test_missing_folder_and_file_instead_of_folder_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="Folder not found"):
        scan_folder(tmp_path / "nope")
    file = corpus.write_image(tmp_path, "a.png", corpus.pattern(4, 4))
    # A file is a valid source when it is a clip (tests/engine/test_video.py); a picture is not, and
    # the message says so and what to give instead, when scanning (the wizard) as when preparing.
    explained = r"^Not a folder: .*a\.png is a single picture, not a video; give the folder that holds it\.$"
    with pytest.raises(UserError, match=explained):
        prepare_dataset(file, CFG, cache_dir=tmp_path / "c")
    with pytest.raises(UserError, match=explained):
        scan_folder(file)
    with pytest.raises(UserError, match="Folder not found"):
        dataset_fingerprint(tmp_path / "nope")


# -- prepare_dataset -----------------------------------------------------------------


def test_prepare_dataset_shapes_order_and_report(tmp_path, cache):
    root = tmp_path / "imgs"
    good = corpus.write_good_images(root, 6, size=(40, 20))
    corpus.write_image(root, "sub/tall.png", corpus.pattern(10, 30))

    ds = prepare_dataset(root, DataConfig(size=16, alpha="keep"), cache_dir=cache)

    assert ds.images.dtype == torch.uint8 and ds.images.shape == (7, 4, 16, 16)
    assert ds.images.is_contiguous()
    assert ds.paths == [str(p) for p in good] + [str(root / "sub" / "tall.png")]
    assert len(ds) == 7 and ds.config.size == 16
    assert ds.report.used == 7 and not ds.report.skipped and not ds.report.duplicates
    assert ds.report.small == [(str(root / "sub" / "tall.png"), 10, 30)]
    assert ds.report.aspect == {"min": round(10 / 30, 4), "median": 2.0, "max": 2.0}
    assert ds.fingerprint == dataset_fingerprint(root)
    # Rows hold the decoded images (CHW), identical to decode_image().
    one = data.decode_image(good[1], DataConfig(size=16, alpha="keep"))
    assert np.array_equal(ds.images[1].numpy(), one.transpose(2, 0, 1))


def test_greyscale_dataset_has_one_channel(tmp_path, cache):
    root = tmp_path / "imgs"
    corpus.write_good_images(root, 3)
    ds = prepare_dataset(root, DataConfig(size=8, grayscale=True), cache_dir=cache)
    assert ds.images.shape == (3, 1, 8, 8)


def test_duplicates_small_and_extreme_aspect(tmp_path, cache):
    root = tmp_path / "imgs"
    a = corpus.write_image(root, "a.png", corpus.pattern(32, 32, seed=1))
    corpus.write_image(root, "b.png", corpus.pattern(32, 32, seed=2))
    shutil.copy(a, root / "a copy.png")
    (root / "sub").mkdir()
    shutil.copy(a, root / "sub" / "a again.png")
    tiny = corpus.write_tiny(root)
    line = corpus.write_extreme_aspect(root)

    ds = prepare_dataset(root, CFG, cache_dir=cache)

    assert ds.report.used == 5
    assert ds.report.duplicates == [[str(root / "a copy.png"), str(a), str(root / "sub" / "a again.png")]]
    assert ds.report.small == [(str(tiny), 1, 1)]
    assert ds.report.skipped == [(str(line), "extreme aspect ratio (65535x1 px)")]


def test_progress_reports_every_image_on_the_calling_thread(tmp_path, cache):
    import threading

    root = tmp_path / "imgs"
    corpus.write_good_images(root, 5)
    corpus.write_empty(root)
    calls, threads = [], set()

    def progress(done, total):
        calls.append((done, total))
        threads.add(threading.get_ident())

    prepare_dataset(root, CFG, cache_dir=cache, progress=progress)

    assert calls == [(i, 6) for i in range(1, 7)]
    assert threads == {threading.get_ident()}


def test_cancel_stops_early_and_writes_no_cache(tmp_path, cache):
    root = tmp_path / "imgs"
    corpus.write_good_images(root, 12)
    asked = []

    def should_cancel():
        asked.append(1)
        return len(asked) > 4

    with pytest.raises(Cancelled):
        prepare_dataset(root, CFG, cache_dir=cache, should_cancel=should_cancel)
    assert not cache.exists() or not list(cache.glob("*.npz"))


def test_a_raising_progress_callback_propagates(tmp_path, cache):
    root = tmp_path / "imgs"
    corpus.write_good_images(root, 6)

    def progress(done, total):
        raise KeyError("boom")

    with pytest.raises(KeyError):
        prepare_dataset(root, CFG, cache_dir=cache, progress=progress)


def test_empty_folder_is_a_user_error_that_names_what_was_found(tmp_path, cache):
    root = tmp_path / "imgs"
    root.mkdir()
    (root / "photo.heic").write_bytes(b"x")
    with pytest.raises(UserError, match=r"No images found in .*imgs.*\.heic x1") as info:
        prepare_dataset(root, CFG, cache_dir=cache)
    assert "\n" not in str(info.value)


def test_folder_of_bad_files_is_a_user_error_with_counts_and_reasons(tmp_path, cache):
    root = tmp_path / "imgs"
    root.mkdir()
    corpus.write_empty(root)
    corpus.write_text_as_image(root)
    corpus.write_truncated(root, 0.5)
    corpus.write_bomb_png(root)

    with pytest.raises(UserError) as info:
        prepare_dataset(root, CFG, cache_dir=cache)

    message = str(info.value)
    assert "all 4 image files were skipped" in message and "\n" not in message
    assert "empty.jpg: empty file" in message and "notes.jpg: not an image" in message
    assert "and 1 more" in message


def test_hostile_corpus_uses_exactly_the_good_files_and_explains_every_bad_one(tmp_path, cache, monkeypatch):
    c = corpus.write_hostile_corpus(tmp_path / "mixed", good_count=20)
    corpus.simulate_unreadable(monkeypatch)

    ds = prepare_dataset(c.folder, DataConfig(size=16), cache_dir=cache)

    assert sorted(ds.paths) == sorted(str(p) for p in c.good)
    assert ds.images.shape == (len(c.good), 3, 16, 16)
    reasons = dict(ds.report.skipped)
    assert sorted(reasons) == sorted(str(p) for p in c.bad)
    for path, expected in c.bad.items():
        assert expected in reasons[str(path)], (path.name, reasons[str(path)])
    assert all(str(p) not in reasons and str(p) not in ds.paths for p in c.ignored)
    assert ds.report.duplicates == [sorted(str(p) for p in c.duplicates)]
    assert [s[0] for s in ds.report.small] == [str(p) for p in c.small]
    text = "\n".join(ds.report.lines(max_items=100))
    for path in c.bad:
        assert path.name in text


def test_non_ascii_names_survive_the_cache(tmp_path, cache):
    root = tmp_path / "été"
    name = corpus.write_non_ascii(root).name
    first = prepare_dataset(root, CFG, cache_dir=cache)
    second = prepare_dataset(root, CFG, cache_dir=cache)
    assert [Path(p).name for p in second.paths] == [name] == [Path(p).name for p in first.paths]


# -- cache ---------------------------------------------------------------------------


def test_second_prepare_of_an_unchanged_folder_decodes_nothing(tmp_path, cache, monkeypatch):
    root = tmp_path / "imgs"
    corpus.write_good_images(root, 5)
    corpus.write_empty(root)
    first = prepare_dataset(root, CFG, cache_dir=cache)
    calls = []

    forbid_decoding(monkeypatch)
    second = prepare_dataset(root, CFG, cache_dir=cache, progress=lambda d, t: calls.append((d, t)))

    assert torch.equal(first.images, second.images) and second.images.is_contiguous()
    assert second.paths == first.paths and second.report == first.report
    assert second.fingerprint == first.fingerprint
    assert calls == [(6, 6)]


def test_changed_folder_or_settings_are_decoded_again(tmp_path, cache):
    root = tmp_path / "imgs"
    paths = corpus.write_good_images(root, 4)
    prepare_dataset(root, CFG, cache_dir=cache)

    assert prepare_dataset(root, DataConfig(size=8), cache_dir=cache).images.shape == (4, 3, 8, 8)
    corpus.write_image(root, "new.png", corpus.pattern(20, 20))
    assert len(prepare_dataset(root, CFG, cache_dir=cache)) == 5
    paths[0].unlink()
    assert len(prepare_dataset(root, CFG, cache_dir=cache)) == 4
    # Replaced in place: same name, new content and mtime.
    corpus.write_image(root, paths[1].name, np.zeros((16, 16, 3), np.uint8), "PNG")
    os.utime(paths[1], ns=(time.time_ns(), time.time_ns() + 10**9))
    ds = prepare_dataset(root, CFG, cache_dir=cache)
    assert int(ds.images[ds.paths.index(str(paths[1]))].max()) == 0


def test_cache_keeps_one_file_per_folder_and_settings(tmp_path, cache):
    root = tmp_path / "imgs"
    corpus.write_good_images(root, 3)
    prepare_dataset(root, CFG, cache_dir=cache)
    corpus.write_image(root, "new.png", corpus.pattern(20, 20))
    prepare_dataset(root, CFG, cache_dir=cache)
    prepare_dataset(root, DataConfig(size=8), cache_dir=cache)

    assert len(list(cache.glob("*.npz"))) == 2  # one per settings
    assert not [p for p in cache.iterdir() if p.suffix != ".npz"]  # no temp files left


def test_cache_stays_under_its_size_limit_dropping_the_least_recently_used(tmp_path, cache, monkeypatch):
    folders = []
    for name in ("a", "b", "c"):
        root = tmp_path / name
        corpus.write_good_images(root, 6, prefix=name)
        folders.append(root)
    prepare_dataset(folders[0], CFG, cache_dir=cache)
    one = max(f.stat().st_size for f in cache.glob("*.npz"))
    # room for two datasets, not three
    monkeypatch.setenv("GAN_STUDIO_CACHE_LIMIT_GB", str(2.5 * one / 2**30))
    prepare_dataset(folders[1], CFG, cache_dir=cache)
    first = {f.name for f in cache.glob("*.npz")}
    assert len(first) == 2
    past = time.time() - 100
    for i, f in enumerate(sorted(cache.glob("*.npz"))):
        os.utime(f, (past + i, past + i))
    prepare_dataset(folders[0], CFG, cache_dir=cache)  # a cache hit: a now the most recently used
    prepare_dataset(folders[2], CFG, cache_dir=cache)  # over the limit: b goes, a stays
    left = list(cache.glob("*.npz"))
    assert len(left) == 2 and sum(f.stat().st_size for f in left) <= 2.5 * one
    calls = []
    monkeypatch.setattr(data, "_decode_all", lambda *a, **k: calls.append(1) or pytest.fail("a was decoded again"))
    prepare_dataset(folders[0], CFG, cache_dir=cache)
    assert not calls


def test_a_dataset_larger_than_the_limit_is_still_cached_alone(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_CACHE_LIMIT_GB", "0")
    for name in ("a", "b"):
        corpus.write_good_images(tmp_path / name, 4, prefix=name)
        prepare_dataset(tmp_path / name, CFG, cache_dir=cache)
    left = list(cache.glob("*.npz"))
    assert len(left) == 1  # the newest; the older one made room
    (cache / "notes.txt").write_text("not ours")
    assert dataset_cache.trim(cache, 0) == left and (cache / "notes.txt").exists()


def test_cache_limit_setting(monkeypatch):
    monkeypatch.delenv("GAN_STUDIO_CACHE_LIMIT_GB", raising=False)
    assert dataset_cache.size_limit() == 4 * 2**30
    monkeypatch.setenv("GAN_STUDIO_CACHE_LIMIT_GB", "0.5")
    assert dataset_cache.size_limit() == 2**29
    monkeypatch.setenv("GAN_STUDIO_CACHE_LIMIT_GB", "lots")
    assert dataset_cache.size_limit() == 4 * 2**30


@pytest.mark.parametrize("damage", ["garbage", "truncate", "wrong-shape", "pickle", "bad-report"])
def test_corrupt_cache_is_ignored_and_rebuilt(tmp_path, cache, damage):
    root = tmp_path / "imgs"
    corpus.write_good_images(root, 3)
    first = prepare_dataset(root, CFG, cache_dir=cache)
    (cache_file,) = cache.glob("*.npz")
    if damage == "garbage":
        cache_file.write_bytes(b"not a zip file")
    elif damage == "truncate":
        cache_file.write_bytes(cache_file.read_bytes()[:200])
    else:
        with np.load(cache_file) as z:
            meta = str(z["meta"][()])
        images = np.zeros((3, 3, 8, 8), np.uint8)
        paths = np.array([object()] * 3) if damage == "pickle" else np.array(first.paths)
        if damage == "bad-report":
            images = first.images.numpy()
            meta = json.dumps({**json.loads(meta), "report": {"used": "three"}})
        np.savez(cache_file.with_suffix(""), images=images, paths=paths, meta=np.array(meta))

    again = prepare_dataset(root, CFG, cache_dir=cache)

    assert torch.equal(again.images, first.images) and again.paths == first.paths
    with np.load(cache_file, allow_pickle=False) as z:  # rewritten, valid again
        assert z["images"].shape == (3, 3, 16, 16)


def test_transient_read_errors_are_not_cached(tmp_path, cache, monkeypatch):
    root = tmp_path / "imgs"
    corpus.write_good_images(root, 2)
    corpus.write_unreadable(root)
    with monkeypatch.context() as m:
        corpus.simulate_unreadable(m)
        assert len(prepare_dataset(root, CFG, cache_dir=cache)) == 2
    assert len(prepare_dataset(root, CFG, cache_dir=cache)) == 3  # permissions fixed: read again


def test_unwritable_cache_dir_is_not_fatal(tmp_path):
    root = tmp_path / "imgs"
    corpus.write_good_images(root, 2)
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("x")
    assert len(prepare_dataset(root, CFG, cache_dir=blocker / "sub")) == 2


def test_default_cache_dir_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "explicit"))
    assert data.default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("GAN_STUDIO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.default_cache_dir() == tmp_path / "xdg" / "gan-studio" / "datasets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.default_cache_dir() == tmp_path / "home" / ".cache" / "gan-studio" / "datasets"


def test_prepare_uses_the_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "c"))
    root = tmp_path / "imgs"
    corpus.write_good_images(root, 2)
    prepare_dataset(root, CFG)
    assert len(list((tmp_path / "c").glob("*.npz"))) == 1


def test_cache_files_are_plain_arrays_loadable_without_pickle(tmp_path, cache):
    root = tmp_path / "imgs"
    corpus.write_good_images(root, 2)
    prepare_dataset(root, CFG, cache_dir=cache)
    (cache_file,) = cache.glob("*.npz")
    with np.load(cache_file, allow_pickle=False) as z:
        assert set(z.files) == {"images", "paths", "meta"}
        assert json.loads(str(z["meta"][()]))["version"] == dataset_cache.FORMAT_VERSION


# -- fingerprint -----------------------------------------------------------------------


def test_fingerprint_tracks_additions_removals_and_replacements_not_location(tmp_path):
    root = tmp_path / "imgs"
    paths = corpus.write_good_images(root, 3)
    (root / "notes.txt").write_text("not part of the dataset")
    base = dataset_fingerprint(root)
    assert dataset_fingerprint(root) == base

    (root / "notes.txt").write_text("changed, still not an image")
    assert dataset_fingerprint(root) == base

    moved = tmp_path / "moved"
    shutil.copytree(root, moved, copy_function=shutil.copy2)
    assert dataset_fingerprint(moved) == base

    extra = corpus.write_image(root, "extra.png", corpus.pattern(8, 8))
    added = dataset_fingerprint(root)
    assert added != base
    extra.unlink()
    assert dataset_fingerprint(root) == base

    os.utime(paths[0], ns=(0, 10**9))
    assert dataset_fingerprint(root) != base


# -- report ----------------------------------------------------------------------------


def test_report_round_trips_through_json_and_reads_well(tmp_path):
    report = DatasetReport(
        folder=str(tmp_path),
        used=3,
        skipped=[(str(tmp_path / "bad.jpg"), "truncated file")],
        duplicates=[[str(tmp_path / "a.png"), str(tmp_path / "sub" / "a.png")]],
        small=[(str(tmp_path / "t.png"), 1, 1)],
        aspect={"min": 0.5, "median": 1.0, "max": 2.0},
        size=16,
        ignored={".heic": 2},
    )
    again = DatasetReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report

    lines = report.lines()
    assert lines[0] == f"Using 3 images from {tmp_path}"
    assert "  bad.jpg: truncated file" in lines
    assert "  a.png = sub/a.png" in lines
    assert "  t.png (1x1 px)" in lines
    assert any("smaller than 16x16 px" in line for line in lines)
    assert any(line.startswith("Aspect ratio") and "median 1.00" in line for line in lines)
    assert any(".heic x2" in line for line in lines)


def test_report_lines_are_capped(tmp_path):
    report = DatasetReport(folder=str(tmp_path), used=1,
                           skipped=[(str(tmp_path / f"{i}.jpg"), "empty file") for i in range(30)])
    lines = report.lines(max_items=5)
    assert len([line for line in lines if line.endswith("empty file")]) == 5
    assert "  ... and 25 more" in lines


def test_the_dataset_report_separates_thousands_as_the_studio_does():
    """The command line prints DatasetReport.lines(); large collections read '12,345 images'."""
    report = DatasetReport(folder="/pics", used=12345, skipped=[(f"/pics/{i}.png", "broken") for i in range(1234)],
                           small=[(f"/pics/s{i}.png", 8, 8) for i in range(1001)], size=64,
                           ignored={".heic": 2500})
    text = "\n".join(report.lines(max_items=2))
    assert "Using 12,345 images from /pics" in text
    assert "Skipped 1,234 files:" in text and "... and 1,232 more" in text
    assert "1,001 images smaller than 64x64 px" in text
    assert "Ignored 2,500 files that are not supported images (.heic x2,500)" in text


# -- memory ----------------------------------------------------------------------------


def test_peak_memory_stays_close_to_the_final_tensor(tmp_path, cache):
    import tracemalloc

    root = tmp_path / "imgs"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(300):
        Image.fromarray(rng.integers(0, 255, (66, 66, 3), dtype=np.uint8)).save(root / f"{i:03d}.bmp")
    cfg = DataConfig(size=64)
    warm_up = tmp_path / "warm-up"  # first use imports Pillow plugins, zipfile...: not data
    corpus.write_good_images(warm_up, 6)
    prepare_dataset(warm_up, cfg, cache_dir=cache)
    prepare_dataset(warm_up, cfg, cache_dir=cache)

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        ds = prepare_dataset(root, cfg, cache_dir=cache)
        peak_decode = tracemalloc.get_traced_memory()[1] - before
        del ds
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        ds = prepare_dataset(root, cfg, cache_dir=cache)  # from the cache
        peak_cached = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()

    tensor = ds.images.numel()  # 3.7 MB
    # No float copies, no list of decoded images next to the tensor, no full copy while caching.
    assert peak_decode < 1.5 * tensor, (peak_decode, tensor)
    assert peak_cached < 1.5 * tensor, (peak_cached, tensor)
