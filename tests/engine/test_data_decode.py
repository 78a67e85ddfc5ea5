"""decode_image(): formats, orientation, colour modes, geometry and every way a file can be bad."""

from __future__ import annotations

import io
import threading
import warnings

import numpy as np
import pytest
from PIL import Image, ImageFile, JpegImagePlugin

from studio.engine.data import decode as image_decode
from studio.engine.data.dataset import DataConfig, ImageDecodeError, decode_image
from tests.engine import image_corpus as corpus

PILLOW_DEFAULT_MAX_PIXELS = int(1024 * 1024 * 1024 // 4 // 3)


def blocks(colours: list[tuple[int, ...]], block: int = 16) -> np.ndarray:
    """A row of flat colour squares: survives JPEG and GIF, easy to sample in the middle."""
    return np.concatenate([np.full((block, block, len(c)), c, np.uint8) for c in colours], axis=1)


def mode_of(path) -> str:
    with Image.open(path) as im:
        return im.mode


def centres(pixels: np.ndarray, count: int, block: int = 16) -> np.ndarray:
    return np.stack([pixels[block // 2, i * block + block // 2].astype(int) for i in range(count)])


# -- formats ---------------------------------------------------------------------

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0), (200, 120, 40)]


@pytest.mark.parametrize(
    "ext,fmt,tolerance",
    [("jpg", "JPEG", 12), ("jpeg", "JPEG", 12), ("png", "PNG", 0), ("webp", "WEBP", 10),
     ("bmp", "BMP", 0), ("gif", "GIF", 0), ("tif", "TIFF", 0), ("tiff", "TIFF", 0)],
)
def test_every_supported_format_decodes_to_the_same_colours(tmp_path, ext, fmt, tolerance):
    src = blocks(COLOURS)
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    path = corpus.write_image(tmp_path, f"x.{ext}", src, fmt, **options)

    out = decode_image(path)

    assert out.dtype == np.uint8 and out.shape == src.shape and out.flags.c_contiguous
    assert np.abs(centres(out, len(COLOURS)) - np.array(COLOURS)).max() <= tolerance


def test_bytes_file_objects_and_str_paths_are_accepted(tmp_path):
    src = corpus.pattern(20, 10)
    path = corpus.write_image(tmp_path, "p.png", src)
    for source in (str(path), path, path.read_bytes(), io.BytesIO(path.read_bytes())):
        assert np.array_equal(decode_image(source), src)


def test_first_frame_of_animated_gif_and_multipage_tiff(tmp_path):
    gif = decode_image(corpus.write_multiframe_gif(tmp_path, colours=((255, 0, 0), (0, 0, 255))))
    tif = decode_image(corpus.write_multipage_tiff(tmp_path, colours=((0, 255, 0), (255, 0, 255))))
    assert tuple(gif[5, 5]) == (255, 0, 0)
    assert tuple(tif[5, 5]) == (0, 255, 0)


# -- EXIF orientation ------------------------------------------------------------

# What a viewer shows for stored pixels P and each EXIF orientation (EXIF 2.3, tag 0x0112).
EXPECTED_UPRIGHT = {
    1: lambda p: p,
    2: lambda p: p[:, ::-1],
    3: lambda p: p[::-1, ::-1],
    4: lambda p: p[::-1, :],
    5: lambda p: p.transpose(1, 0, 2),
    6: lambda p: np.rot90(p, k=-1),  # rotate 90 degrees clockwise
    7: lambda p: p[::-1, ::-1].transpose(1, 0, 2),
    8: lambda p: np.rot90(p, k=1),  # rotate 90 degrees counter-clockwise
}


def asymmetric(w: int = 6, h: int = 4) -> np.ndarray:
    """Every pixel different, so every flip and rotation is distinguishable."""
    values = np.arange(w * h * 3, dtype=np.uint8).reshape(h, w, 3) * 3
    return values


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(
    "name,options",
    [("o.png", {}), ("o.tif", {"compression": "tiff_lzw"})],  # Pillow rotates TIFFs itself: not twice
)
def test_exif_orientation_is_applied(tmp_path, orientation, name, options):
    stored = asymmetric()
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = corpus.write_image(tmp_path, name, stored, exif=exif.tobytes(), **options)

    out = decode_image(path)

    assert np.array_equal(out, EXPECTED_UPRIGHT[orientation](stored))


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("WEBP", "webp"), ("TIFF", "tif")])
def test_exif_orientation_in_jpeg_webp_tiff(tmp_path, fmt, ext):
    stored = blocks([(255, 0, 0), (0, 0, 255)])  # 32 wide, 16 high: red left, blue right
    exif = Image.Exif()
    exif[0x0112] = 6
    options = {"quality": 95} if fmt != "TIFF" else {}
    path = corpus.write_image(tmp_path, f"o.{ext}", stored, fmt, exif=exif.tobytes(), **options)

    out = decode_image(path)

    assert out.shape == (32, 16, 3)  # upright: portrait
    assert out[8, 8, 0] > 200 and out[8, 8, 2] < 50  # clockwise: the left (red) half is now on top
    assert out[24, 8, 2] > 200 and out[24, 8, 0] < 50


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("PNG", "png"), ("TIFF", "tif")])
def test_reported_original_size_is_the_upright_size(tmp_path, fmt, ext):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = corpus.write_image(tmp_path, f"o.{ext}", blocks([(255, 0, 0), (0, 0, 255)]), fmt, exif=exif.tobytes())
    pixels, size = image_decode.decode(path, size=8)
    assert pixels.shape == (8, 8, 3) and size == (16, 32)  # stored 32x16, shown portrait


def test_orientation_is_applied_before_fitting(tmp_path):
    stored = blocks([(255, 0, 0), (0, 0, 255)])
    exif = Image.Exif()
    exif[0x0112] = 8  # counter-clockwise: blue (right) half goes on top
    path = corpus.write_image(tmp_path, "o.png", stored, exif=exif.tobytes())

    out = decode_image(path, DataConfig(size=8, fit="pad", alpha="black"))

    assert out.shape == (8, 8, 3)
    out = out.astype(int)
    assert np.abs(out[1, 4] - (0, 0, 255)).max() <= 3 and np.abs(out[6, 4] - (255, 0, 0)).max() <= 3
    assert (out[:, 0] == 0).all() and (out[:, 7] == 0).all()  # letterbox bars left and right


def test_garbage_exif_does_not_lose_the_image(tmp_path):
    path = corpus.write_image(tmp_path, "g.jpg", corpus.pattern(16, 16), exif=b"Exif\0\0garbage-garbage")
    assert decode_image(path).shape == (16, 16, 3)


# -- transparency ------------------------------------------------------------------


def palette_with_transparency() -> Image.Image:
    """Left half palette index 0 (red, fully transparent via tRNS), right half index 1 (green, opaque)."""
    im = Image.new("P", (8, 4), 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.paste(1, (4, 0, 8, 4))
    im.info["transparency"] = 0
    return im


@pytest.mark.parametrize("ext", ["png", "gif"])
def test_palette_transparency_composited_or_kept(tmp_path, ext):
    path = corpus.write_image(tmp_path, f"p.{ext}", palette_with_transparency())

    white = decode_image(path, DataConfig(alpha="white"), full_resolution=True)
    black = decode_image(path, DataConfig(alpha="black"), full_resolution=True)
    keep = decode_image(path, DataConfig(alpha="keep"), full_resolution=True)

    assert tuple(white[0, 0]) == (255, 255, 255) and tuple(white[0, 7]) == (0, 255, 0)
    assert tuple(black[0, 0]) == (0, 0, 0) and tuple(black[0, 7]) == (0, 255, 0)
    assert keep.shape == (4, 8, 4) and keep[0, 0, 3] == 0 and tuple(keep[0, 7]) == (0, 255, 0, 255)


def test_la_and_rgba_half_transparent(tmp_path):
    la = corpus.write_image(tmp_path, "la.png", Image.new("LA", (4, 4), (100, 128)))
    rgba = corpus.write_image(tmp_path, "rgba.png", Image.new("RGBA", (4, 4), (200, 0, 100, 128)))

    # straight alpha over white: v*a + 255*(1-a), a = 128/255
    assert tuple(decode_image(la, DataConfig(alpha="white"), full_resolution=True)[0, 0]) == (177, 177, 177)
    assert tuple(decode_image(la, DataConfig(alpha="black"), full_resolution=True)[0, 0]) == (50, 50, 50)
    assert tuple(decode_image(rgba, DataConfig(alpha="white"), full_resolution=True)[0, 0]) == (227, 127, 177)
    assert tuple(decode_image(rgba, DataConfig(alpha="keep"), full_resolution=True)[0, 0]) == (200, 0, 100, 128)
    assert decode_image(la, DataConfig(alpha="white", grayscale=True), full_resolution=True)[0, 0, 0] == 177


def test_resizing_transparent_edges_has_no_dark_fringe(tmp_path):
    # White shape on a transparent *black* background: a naive (non-premultiplied)
    # resize blends in the invisible black and leaves a grey halo on white.
    im = np.zeros((64, 64, 4), np.uint8)
    im[16:48, 16:48] = (255, 255, 255, 255)
    path = corpus.write_image(tmp_path, "shape.png", im)

    out = decode_image(path, DataConfig(size=12, alpha="white"))

    assert out.min() >= 250


def test_opaque_images_get_an_opaque_alpha_channel_when_kept(tmp_path):
    path = corpus.write_image(tmp_path, "rgb.jpg", corpus.pattern(20, 20))
    out = decode_image(path, DataConfig(size=8, alpha="keep"))
    assert out.shape == (8, 8, 4) and (out[..., 3] == 255).all()


# -- colour modes ------------------------------------------------------------------


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("TIFF", "tif")])
def test_cmyk_is_converted_to_rgb(tmp_path, fmt, ext):
    cmyk = [(255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 0), (0, 0, 0, 255)]
    rgb = [(0, 255, 255), (255, 0, 255), (255, 255, 0), (255, 255, 255), (0, 0, 0)]
    im = Image.fromarray(blocks(cmyk), "CMYK")
    options = {"quality": 95} if fmt == "JPEG" else {}
    path = corpus.write_image(tmp_path, f"cmyk.{ext}", im, fmt, **options)
    assert mode_of(path) == "CMYK"

    out = decode_image(path)

    assert out.shape == (16, 80, 3)
    assert np.abs(centres(out, 5) - np.array(rgb)).max() <= 12


@pytest.mark.parametrize("fmt,ext", [("PNG", "png"), ("TIFF", "tif")])
def test_16_bit_greyscale_is_scaled_not_clamped(tmp_path, fmt, ext):
    values = np.array([[0, 1000, 32768, 65535]], np.uint16)
    path = corpus.write_image(tmp_path, f"g16.{ext}", Image.fromarray(values), fmt)
    assert mode_of(path).startswith("I;16")

    out = decode_image(path, full_resolution=True)

    assert out.shape == (1, 4, 3)
    assert out[0, :, 0].tolist() == [0, 4, 128, 255]
    assert decode_image(path, DataConfig(grayscale=True), full_resolution=True)[0, :, 0].tolist() == [0, 4, 128, 255]


def test_32_bit_integer_mode_i(tmp_path):
    sixteen = corpus.write_image(tmp_path, "i16.tif", Image.fromarray(np.array([[0, 32768, 65535]], np.int32)))
    wide = corpus.write_image(tmp_path, "iwide.tif", Image.fromarray(np.array([[-100, 0, 100]], np.int32)))
    assert mode_of(sixteen) == "I"

    # 0..65535 is read as 16-bit data; other ranges are stretched min..max.
    assert decode_image(sixteen, full_resolution=True)[0, :, 0].tolist() == [0, 128, 255]
    assert decode_image(wide, full_resolution=True)[0, :, 0].tolist() == [0, 128, 255]


def test_float_tiff_uses_0_to_1_or_its_own_range(tmp_path):
    unit = corpus.write_image(tmp_path, "unit.tif", Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32)))
    hdr = corpus.write_image(tmp_path, "hdr.tif", Image.fromarray(np.array([[-1.0, 1.0, 3.0]], np.float32)))
    dim = corpus.write_image(tmp_path, "dim.tif", Image.fromarray(np.array([[0.0, 0.25, 0.5]], np.float32)))
    nan = corpus.write_image(tmp_path, "nan.tif", Image.fromarray(np.array([[np.nan, 0.0, np.inf, 2.0]], np.float32)))
    assert mode_of(unit) == "F"

    assert decode_image(unit, full_resolution=True)[0, :, 0].tolist() == [0, 128, 255]
    assert decode_image(hdr, full_resolution=True)[0, :, 0].tolist() == [0, 128, 255]
    assert decode_image(dim, full_resolution=True)[0, :, 0].tolist() == [0, 64, 128]  # 0..1 kept: not brightened
    assert decode_image(nan, full_resolution=True)[0, :, 0].tolist() == [0, 0, 255, 255]


def test_greyscale_config_gives_one_channel_luma(tmp_path):
    path = corpus.write_image(tmp_path, "c.png", blocks([(255, 0, 0), (0, 255, 0), (255, 255, 255)]))
    out = decode_image(path, DataConfig(grayscale=True), full_resolution=True)
    assert out.shape == (16, 48, 1)
    assert centres(out, 3)[:, 0].tolist() == [76, 150, 255]  # ITU-R 601: 0.299 R + 0.587 G + 0.114 B


def test_greyscale_and_bilevel_sources_become_rgb(tmp_path):
    grey = corpus.write_image(tmp_path, "l.png", Image.new("L", (4, 4), 90))
    bilevel = corpus.write_image(tmp_path, "one.png", Image.new("1", (4, 4), 1))
    assert tuple(decode_image(grey)[0, 0]) == (90, 90, 90)
    assert tuple(decode_image(bilevel)[0, 0]) == (255, 255, 255)


# -- geometry ------------------------------------------------------------------------


def test_crop_takes_the_centre_square(tmp_path):
    path = corpus.write_image(tmp_path, "wide.png", blocks([(255, 0, 0), (0, 255, 0), (0, 0, 255)], block=20))
    out = decode_image(path, DataConfig(size=10, fit="crop"))
    assert out.shape == (10, 10, 3)
    assert (out == np.array([0, 255, 0], np.uint8)).all()


@pytest.mark.parametrize("alpha,bar", [("white", (255, 255, 255)), ("black", (0, 0, 0))])
def test_pad_letterboxes_with_the_background(tmp_path, alpha, bar):
    path = corpus.write_image(tmp_path, "wide.png", np.full((20, 60, 3), (0, 0, 200), np.uint8))
    out = decode_image(path, DataConfig(size=30, fit="pad", alpha=alpha))
    assert out.shape == (30, 30, 3)
    assert (out[:9] == bar).all() and (out[21:] == bar).all()  # 10 rows of image in the middle
    assert (out[11:19] == (0, 0, 200)).all()


def test_pad_bars_are_transparent_when_alpha_is_kept(tmp_path):
    path = corpus.write_image(tmp_path, "tall.jpg", np.full((60, 20, 3), 128, np.uint8))
    out = decode_image(path, DataConfig(size=30, fit="pad", alpha="keep"))
    assert out.shape == (30, 30, 4)
    assert (out[:, :9, 3] == 0).all() and (out[:, 21:, 3] == 0).all()
    assert (out[:, 11:19, 3] == 255).all()


def test_size_argument_overrides_config_and_full_resolution_ignores_both(tmp_path):
    path = corpus.write_image(tmp_path, "p.png", corpus.pattern(50, 30))
    assert decode_image(path, DataConfig(size=16)).shape == (16, 16, 3)
    assert decode_image(path, DataConfig(size=16), size=8).shape == (8, 8, 3)
    assert decode_image(path, size=8).shape == (8, 8, 3)
    assert decode_image(path).shape == (30, 50, 3)
    assert decode_image(path, DataConfig(size=16, grayscale=True), full_resolution=True).shape == (30, 50, 1)


def test_big_jpeg_uses_draft_and_matches_a_full_quality_resize(tmp_path, monkeypatch):
    src = corpus.pattern(1600, 1200, seed=9)
    path = corpus.write_image(tmp_path, "big.jpg", src, quality=95)
    drafts = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = real_draft(self, mode, size)
        drafts.append(result)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    out = decode_image(path, DataConfig(size=64)).astype(int)

    assert drafts and drafts[0] is not None  # libjpeg decoded at reduced scale
    reference = np.asarray(
        Image.fromarray(src).resize((64, 64), Image.Resampling.LANCZOS, box=(200, 0, 1400, 1200))
    ).astype(int)
    assert np.abs(out - reference).mean() < 3


def test_tiny_and_extreme_aspect_images_still_decode(tmp_path):
    assert decode_image(corpus.write_tiny(tmp_path), DataConfig(size=16)).shape == (16, 16, 3)
    line = decode_image(corpus.write_extreme_aspect(tmp_path), DataConfig(size=16, fit="pad"))
    assert line.shape == (16, 16, 3)


# -- bad files --------------------------------------------------------------------


def reason(source) -> str:
    with pytest.raises(ImageDecodeError) as info:
        decode_image(source, DataConfig(size=16))
    return str(info.value)


@pytest.mark.parametrize("fraction", [0.10, 0.50, 0.99])
@pytest.mark.parametrize("fmt,ext",
                         [("JPEG", "jpg"), ("PNG", "png"), ("GIF", "gif"), ("TIFF", "tif"), ("WEBP", "webp")])
def test_truncated_files_are_refused(tmp_path, fraction, fmt, ext):
    path = corpus.write_truncated(tmp_path, fraction, fmt, ext)
    assert "truncated" in reason(path) or "damaged" in reason(path)


def test_truncation_is_reported_as_such_for_jpeg_and_png(tmp_path):
    assert reason(corpus.write_truncated(tmp_path, 0.99)) == "truncated file"
    assert reason(corpus.write_truncated(tmp_path, 0.5, "PNG", "png")) == "truncated file"


def test_named_failures(tmp_path, monkeypatch):
    assert reason(corpus.write_empty(tmp_path)) == "empty file"
    assert reason(corpus.write_text_as_image(tmp_path)) == "not an image"
    assert reason(corpus.write_bad_png_crc(tmp_path)) == "damaged PNG file"
    assert reason(tmp_path / "missing.png") == "file not found"
    assert reason(corpus.write_broken_link(tmp_path)) == "broken link"
    assert reason(corpus.write_file_link_loop(tmp_path)) == "symbolic link loop"
    assert reason(corpus.write_fifo(tmp_path)) == "not a regular file"
    (tmp_path / "folder.png").mkdir()
    assert reason(tmp_path / "folder.png") == "is a folder, not a file"
    corpus.simulate_unreadable(monkeypatch)
    assert reason(corpus.write_unreadable(tmp_path)) == "permission denied"


def test_other_formats_are_not_opened_even_if_pillow_could(tmp_path):
    eps_like = tmp_path / "x.png"
    Image.new("RGB", (8, 8)).save(tmp_path / "real.ico")
    eps_like.write_bytes((tmp_path / "real.ico").read_bytes())
    assert reason(eps_like) == "not an image"


def test_file_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(image_decode, "MAX_FILE_BYTES", 100)
    path = corpus.write_image(tmp_path, "p.png", corpus.pattern(64, 64))
    assert reason(path).startswith("file too large")


# -- decompression bombs ------------------------------------------------------------


@pytest.mark.parametrize(
    "width,height",
    [
        (9000, 9000),  # over our 64 Mpx limit, under Pillow's warning threshold
        (10000, 10000),  # Pillow warns (DecompressionBombWarning)
        (25000, 25000),  # Pillow raises DecompressionBombError
    ],
)
def test_bombs_are_refused_from_the_header_without_touching_global_flags(tmp_path, monkeypatch, width, height):
    path = corpus.write_bomb_png(tmp_path, width, height)
    filters_before = list(warnings.filters)

    def no_pixels(self):
        raise AssertionError("pixels were loaded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_pixels)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert reason(path).startswith("too large")
        with pytest.raises(ImageDecodeError, match="too large"):
            decode_image(path, full_resolution=True)

    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert Image.MAX_IMAGE_PIXELS == PILLOW_DEFAULT_MAX_PIXELS
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert list(warnings.filters) == filters_before


def test_size_limit_is_a_module_constant_below_pillows(monkeypatch, tmp_path):
    assert image_decode.MAX_PIXELS <= PILLOW_DEFAULT_MAX_PIXELS
    monkeypatch.setattr(image_decode, "MAX_PIXELS", 100)
    path = corpus.write_image(tmp_path, "p.png", corpus.pattern(20, 20))
    assert reason(path) == "too large (20x20 px, limit 0 Mpx)"


def test_concurrent_decodes_from_several_threads(tmp_path):
    paths = corpus.write_good_images(tmp_path, 12)
    paths.append(corpus.write_bomb_png(tmp_path, 10000, 10000))
    errors: list[BaseException] = []

    def work():
        try:
            for p in paths:
                try:
                    assert decode_image(p, DataConfig(size=8)).shape == (8, 8, 3)
                except ImageDecodeError as e:
                    assert "too large" in str(e)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert Image.MAX_IMAGE_PIXELS == PILLOW_DEFAULT_MAX_PIXELS


def test_importing_the_engine_leaves_pillow_globals_alone():
    # studio.engine.data.dataset is imported at the top of this module.
    assert Image.MAX_IMAGE_PIXELS == PILLOW_DEFAULT_MAX_PIXELS
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
