"""Translating images of any size: exact output sizes, seamless tiles, folders mirrored, bad files reported."""

import copy

import numpy as np
import pytest
import torch
from PIL import Image

from studio.engine.data.dataset import DataConfig
from studio.engine.errors import Cancelled, UserError
from studio.engine.explore.translate import (
    SharedStatsNorm,
    Translator,
    feather,
    match_channels,
    pad_amounts,
    tile_starts,
)
from studio.engine.models.cyclegan.nets import ResnetGenerator, init_weights
from studio.engine.models.cyclegan.trainer import CycleGANConfig, CycleGANTrainer
from studio.engine.project.checkpoints import save_checkpoint
from studio.engine.project.folder import Project


def _net(ngf=8, n_blocks=2, channels=3, seed=0):
    torch.manual_seed(seed)
    net = ResnetGenerator(channels, channels, ngf, n_blocks)
    net.apply(init_weights)
    return net


NET = _net()


def _translator(**kw):
    return Translator(copy.deepcopy(NET), DataConfig(), "cpu", **kw)


def _picture(h, w, seed=0):
    """Smooth colour waves plus noise: structure at several scales, like a photo."""
    yy, xx = np.mgrid[0:h, 0:w]
    waves = [127 + 100 * np.sin(xx / 9.0), 127 + 100 * np.cos(yy / 13.0), 127 + 80 * np.sin((xx + yy) / 17.0)]
    img = np.stack(waves, -1)
    img += np.random.default_rng(seed).normal(0, 10, img.shape)
    return img.clip(0, 255).astype(np.uint8)


# ----- sizes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(131, 203), (203, 131), (64, 64), (17, 300), (5, 7), (1, 1)])
def test_output_has_the_input_size(shape):
    out = _translator().translate_array(_picture(*shape))
    assert out.shape == (*shape, 3) and out.dtype == np.uint8


def test_output_size_is_kept_in_tiles_too():
    out = _translator().translate_array(_picture(131, 203), tile=48)
    assert out.shape == (131, 203, 3)


def test_padding_reaches_the_networks_multiple():
    for n in range(1, 70):
        before, after = pad_amounts(n)
        assert (n + before + after) % 4 == 0 and n + before + after >= 16 and abs(before - after) <= 1


def test_grey_and_transparent_inputs_match_the_models_channels():
    t = _translator()
    assert t.translate_array(_picture(20, 24)[:, :, 0]).shape == (20, 24, 3)
    rgba = np.dstack([_picture(20, 24), np.full((20, 24), 128, np.uint8)])
    assert t.translate_array(rgba).shape == (20, 24, 3)


def test_match_channels():
    rgba = np.zeros((1, 2, 4), np.uint8)
    rgba[0, 0] = (0, 0, 0, 0)  # fully transparent black -> the background
    rgba[0, 1] = (0, 0, 0, 255)  # opaque black stays black
    assert match_channels(rgba, 3, background=255).tolist() == [[[255, 255, 255], [0, 0, 0]]]
    rgb = np.array([[[255, 0, 0]]], np.uint8)
    assert match_channels(rgb, 1).tolist() == [[[76]]]  # ITU-R 601 luma of pure red
    assert match_channels(rgb, 4).tolist() == [[[255, 0, 0, 255]]]
    assert match_channels(np.array([[7]], np.uint8), 3).tolist() == [[[7, 7, 7]]]


# ----- tiles -------------------------------------------------------------------------------------
def test_tiles_cover_everything_on_the_networks_grid():
    starts = tile_starts(204, 64, 16)
    assert starts[0] == 0 and starts[-1] == 204 - 64
    assert all(s % 4 == 0 for s in starts)
    assert all(b - a <= 64 - 16 for a, b in zip(starts, starts[1:]))
    assert tile_starts(40, 64, 16) == [0]
    # two neighbours overlapping by exactly `overlap` cross-fade with weights summing to one
    left, right = feather(64, 32, False, True, margin=8), feather(64, 32, True, False, margin=8)
    assert torch.allclose(left[-32:] + right[:32], torch.ones(32))
    assert left[-8:].max() == 0 and left[0] == 1


def test_tiled_translation_matches_whole_image_translation():
    picture = _picture(131, 203)
    t = _translator(overlap=32)
    whole = t.translate_array(picture).astype(int)
    tiled = t.translate_array(picture, tile=64).astype(int)
    diff = np.abs(tiled - whole)
    assert diff.mean() < 1.5 and np.percentile(diff, 99) < 10, (diff.mean(), np.percentile(diff, 99))
    # no seams: along every tile border (in image coordinates) the difference stays small
    top, left = pad_amounts(131)[0], pad_amounts(203)[0]

    def borders(padded, pad):  # where a tile starts or ends inside the image
        starts = tile_starts(padded, 64, 32)
        return [s - pad for s in starts[1:]] + [s + 64 - pad for s in starts[:-1]]

    borders_x, borders_y = borders(204, left), borders(132, top)
    for x in borders_x:
        band = diff[:, max(0, x - 8) : x + 8]
        assert band.mean() < 3, (x, band.mean())
    for y in borders_y:
        band = diff[max(0, y - 8) : y + 8]
        assert band.mean() < 3, (y, band.mean())


def test_shared_statistics_are_what_makes_tiles_match(monkeypatch):
    """Tiles normalised with their own InstanceNorm statistics drift in colour: that is the seam
    problem the shared whole-image statistics solve."""
    picture = _picture(131, 203)
    t = _translator(overlap=32)
    whole = t.translate_array(picture).astype(int)
    shared = np.abs(t.translate_array(picture, tile=64).astype(int) - whole).mean()
    monkeypatch.setattr(SharedStatsNorm, "forward", lambda self, x: torch.nn.functional.instance_norm(x, eps=self.eps))
    own = np.abs(t.translate_array(picture, tile=64).astype(int) - whole).mean()
    assert own > 3 * shared, (own, shared)


def test_large_images_never_feed_the_network_more_than_the_memory_budget():
    t = Translator(_net(ngf=4, n_blocks=1), DataConfig(), "cpu", max_pixels=96 * 96)
    assert t.tile == 96
    seen = []
    t.net.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[-2] * args[0].shape[-1]))
    out = t.translate_array(_picture(301, 257))
    assert out.shape == (301, 257, 3)
    assert len(seen) > 5 and max(seen) <= 96 * 96  # statistics pass (downscaled) + tiles
    assert np.isfinite(out).all() and out.std() > 0


def test_cancel_between_tiles():
    t = _translator()
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        t.translate_array(_picture(131, 203), tile=48, should_cancel=cancel)
    # the norm layers are back in their normal mode afterwards? they are reset by the next call:
    assert t.translate_array(_picture(40, 40)).shape == (40, 40, 3)


# ----- loading from a project --------------------------------------------------------------------
CFG = CycleGANConfig(size=32, ngf=4, ndf=4, n_blocks=1, batch=2, pool_size=2, preview_count=2)


def _cyclegan_project(root, steps=1):
    shape = (4, 3, CFG.load_size, CFG.load_size)
    g = torch.Generator().manual_seed(0)
    trainer = CycleGANTrainer(CFG, torch.randint(0, 256, shape, dtype=torch.uint8, generator=g),
                              torch.randint(0, 256, shape, dtype=torch.uint8, generator=g), total_steps=steps)
    for _ in range(steps):
        trainer.step()
    project = Project.create(root, "cyclegan", {"model": {"size": CFG.size}, "data": {"config": {"size": 32}}})
    save_checkpoint(project.checkpoints_dir, trainer.global_step, *trainer.state_dict())
    return trainer


def test_load_gives_the_trained_generators(tmp_path):
    trainer = _cyclegan_project(tmp_path / "p")
    picture = _picture(36, 44)
    x = torch.from_numpy(picture).permute(2, 0, 1)[None]
    for direction in ("a2b", "b2a"):
        t = Translator.load(tmp_path / "p", direction=direction, device="cpu")
        assert t.step == 1 and t.channels == 3
        expected = ((trainer.translate(x, direction).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        assert np.array_equal(t.translate_array(picture), expected[0].permute(1, 2, 0).numpy())
    assert not np.array_equal(
        Translator.load(tmp_path / "p", "a2b", "cpu").translate_array(picture),
        Translator.load(tmp_path / "p", "b2a", "cpu").translate_array(picture),
    )


def test_load_refuses_what_is_not_a_trained_cyclegan(tmp_path):
    Project.create(tmp_path / "dc", "dcgan", {})
    with pytest.raises(UserError, match="is a DCGAN project; 'translate' needs a CycleGAN or"):
        Translator.load(tmp_path / "dc")
    Project.create(tmp_path / "fresh", "cyclegan", {})
    with pytest.raises(UserError, match="no trained checkpoint"):
        Translator.load(tmp_path / "fresh")
    with pytest.raises(UserError, match="does not exist"):
        Translator.load(tmp_path / "nothing")
    with pytest.raises(UserError, match="a2b or b2a"):
        Translator.load(tmp_path / "fresh", direction="sideways")


# ----- files and folders -------------------------------------------------------------------------
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".gif": "GIF", ".tif": "TIFF"}


def _write_inputs(root):
    """photos/ with images in every format at odd sizes, nested folders, a broken file, a text file."""
    files = {}
    for i, (ext, fmt) in enumerate(FORMATS.items()):
        rel = ("nested/deeper/" if i % 2 else "") + f"pic{i}{ext}"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        size = (37 + 6 * i, 23 + 4 * i)
        Image.fromarray(_picture(size[1], size[0], seed=i)).save(path, format=fmt)
        files[rel] = size
    (root / "nested" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (root / "notes.txt").write_text("not an image")
    return files


def test_folder_translation_mirrors_structure_keeps_formats_and_reports_bad_files(tmp_path):
    files = _write_inputs(tmp_path / "photos")
    calls = []
    result = _translator().translate_files(
        [tmp_path / "photos"], tmp_path / "out", progress=lambda d, t: calls.append((d, t))
    )
    assert result.total == len(files) + 1 and not result.cancelled
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in result.written) == sorted(files)
    for rel, size in files.items():
        with Image.open(tmp_path / "out" / rel) as im:
            assert im.format == FORMATS[rel[rel.rindex(".") :]] and im.size == size
    assert [(p.name, r) for p, r in result.failed] == [("broken.png", result.failed[0][1])]
    assert result.failed[0][1]  # a reason a person can read
    assert not (tmp_path / "out" / "notes.txt").exists()
    assert calls[0] == (0, len(files) + 1) and calls[-1] == (len(files) + 1, len(files) + 1)


def test_single_files_land_in_out_and_duplicate_names_are_reported(tmp_path):
    _write_inputs(tmp_path / "photos")
    (tmp_path / "other").mkdir()
    Image.fromarray(_picture(30, 30)).save(tmp_path / "other" / "pic0.png")
    result = _translator().translate_files(
        [tmp_path / "photos" / "pic0.png", tmp_path / "other" / "pic0.png"], tmp_path / "out"
    )
    assert [p.name for p in result.written] == ["pic0.png"]
    assert "same output name" in result.failed[0][1]


def test_results_inside_the_input_folder_are_not_translated_again(tmp_path):
    files = _write_inputs(tmp_path / "photos")
    t = _translator()
    first = t.translate_files([tmp_path / "photos"], tmp_path / "photos" / "translated")
    second = t.translate_files([tmp_path / "photos"], tmp_path / "photos" / "translated")
    assert len(first.written) == len(second.written) == len(files)


def test_never_overwrites_the_originals(tmp_path):
    _write_inputs(tmp_path / "photos")
    t = _translator()
    with pytest.raises(UserError, match="input folder itself"):
        t.translate_files([tmp_path / "photos"], tmp_path / "photos")
    with pytest.raises(UserError, match="would overwrite"):
        t.translate_files([tmp_path / "photos" / "pic0.png"], tmp_path / "photos")
    with pytest.raises(UserError, match="Input not found"):
        t.translate_files([tmp_path / "missing"], tmp_path / "out")


def test_cancel_between_files(tmp_path):
    _write_inputs(tmp_path / "photos")
    done = []
    result = _translator().translate_files(
        [tmp_path / "photos"], tmp_path / "out",
        progress=lambda d, t: done.append(d), should_cancel=lambda: len(done) > 2,
    )
    assert result.cancelled and len(result.written) + len(result.failed) == 2 < result.total
