"""Colour management on decode: ICC-tagged RGB pictures arrive in sRGB, whatever their profile."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageCms

from studio.engine.data.dataset import DataConfig, decode_image, prepare_dataset
from tests.engine.icc_profiles import DISPLAY_P3_D50, SRGB_D50, rgb_profile

RED, GREEN, BLUE = SRGB_D50
# Red and blue colorants exchanged: a picture tagged with it whose pixels read (255, 0, 0) is blue.
SWAPPED = rgb_profile("red and blue exchanged", BLUE, GREEN, RED)
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (200, 120, 40)]


def flat_blocks(colours, block=8, alpha=None) -> Image.Image:
    px = np.concatenate([np.full((block, block, 3), c, np.uint8) for c in colours], axis=1)
    if alpha is not None:
        px = np.concatenate([px, np.full(px.shape[:2] + (1,), alpha, np.uint8)], axis=2)
    return Image.fromarray(px)


def centres(out: np.ndarray, count: int, block=8) -> np.ndarray:
    return np.stack([out[block // 2, i * block + block // 2].astype(int) for i in range(count)])


def test_a_tagged_picture_is_converted_to_srgb(tmp_path):
    for ext, opts in (("png", {}), ("jpg", {"quality": 98}), ("webp", {"lossless": True}), ("tif", {})):
        path = tmp_path / f"swapped.{ext}"
        flat_blocks(COLOURS).save(path, icc_profile=SWAPPED, **opts)
        got = centres(decode_image(path), len(COLOURS))
        want = np.array([(b, g, r) for r, g, b in COLOURS])
        # white stays white; the swap holds for every hue (gamma 2.2 vs sRGB's curve: a few levels)
        assert np.abs(got - want).max() <= (14 if ext == "jpg" else 8), (ext, got.tolist())


def test_wide_gamut_saturates_less_and_srgb_tags_change_nothing(tmp_path):
    p3 = rgb_profile("Display P3 (test)", *DISPLAY_P3_D50)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    colours = [(230, 60, 50), (40, 160, 70), (128, 128, 128)]
    flat_blocks(colours).save(tmp_path / "p3.png", icc_profile=p3)
    flat_blocks(colours).save(tmp_path / "srgb.png", icc_profile=srgb)
    flat_blocks(colours).save(tmp_path / "untagged.png")
    untagged = centres(decode_image(tmp_path / "untagged.png"), 3)
    assert (centres(decode_image(tmp_path / "srgb.png"), 3) == untagged).all()
    p3_out = centres(decode_image(tmp_path / "p3.png"), 3)
    # a P3 red is redder than sRGB's can be: as close as sRGB gets, more saturated than the raw numbers
    assert p3_out[0, 0] >= 240 and p3_out[0, 1] < untagged[0, 1]
    assert p3_out[1, 1] > untagged[1, 1] and p3_out[1, 0] < untagged[1, 0]
    assert np.abs(p3_out[2] - untagged[2]).max() <= 3  # neutral grey stays grey


def test_alpha_and_colour_keys_survive_the_conversion(tmp_path):
    flat_blocks(COLOURS, alpha=90).save(tmp_path / "rgba.png", icc_profile=SWAPPED)
    out = centres(decode_image(tmp_path / "rgba.png", DataConfig(alpha="keep"), full_resolution=True), len(COLOURS))
    assert (out[:, 3] == 90).all() and out[0, 2] > 240 and out[0, 0] < 10

    keyed = flat_blocks([(255, 0, 0), (0, 255, 0)])
    keyed.info["transparency"] = (255, 0, 0)  # tRNS colour key: the red block is transparent
    keyed.save(tmp_path / "keyed.png", icc_profile=SWAPPED, transparency=(255, 0, 0))
    out = centres(decode_image(tmp_path / "keyed.png", DataConfig(alpha="keep"), full_resolution=True), 2)
    assert out[0, 3] == 0 and out[1, 3] == 255 and out[1, 1] > 240


def test_a_damaged_profile_is_ignored_not_fatal(tmp_path):
    flat_blocks(COLOURS).save(tmp_path / "bad.png", icc_profile=b"not a profile at all" * 10)
    flat_blocks(COLOURS).save(tmp_path / "cut.png", icc_profile=SWAPPED[:200])
    for name in ("bad.png", "cut.png"):
        assert (centres(decode_image(tmp_path / name), len(COLOURS)) == np.array(COLOURS)).all()


def test_a_prepared_dataset_holds_srgb_pixels(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        flat_blocks([(255, 0, 0)] * 4, block=16).save(folder / f"{i}.png", icc_profile=SWAPPED)
    ds = prepare_dataset(folder, DataConfig(size=32), cache_dir=tmp_path / "cache")
    mean = ds.images.float().mean(dim=(0, 2, 3))
    assert mean[2] > 240 and mean[0] < 10  # blue, as the profile says
