"""Fuzzing decode_image(): hostile bytes give a uint8 image of the right shape or ImageDecodeError, nothing else."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from studio.engine.data.dataset import DataConfig, ImageDecodeError, decode_image
from tests.engine import image_corpus as corpus


def _seeds() -> list[bytes]:
    rgb = corpus.pattern(12, 10, seed=1)
    rgba = np.dstack([rgb, np.linspace(0, 255, 120).reshape(10, 12).astype(np.uint8)])
    exif = Image.Exif()
    exif[0x0112] = 6
    return [
        corpus.encode(rgb, "PNG"),
        corpus.encode(rgba, "PNG"),
        corpus.encode(rgb, "JPEG", quality=80, exif=exif.tobytes()),
        corpus.encode(rgb, "JPEG", quality=80, progressive=True),
        corpus.encode(Image.fromarray(rgb).quantize(16), "GIF", transparency=0),
        corpus.encode(rgb, "WEBP"),
        corpus.encode(rgb, "BMP"),
        corpus.encode(rgb, "TIFF"),
        corpus.encode(Image.fromarray(np.arange(120, dtype=np.uint16).reshape(10, 12) * 500), "PNG"),
    ]


SEEDS = _seeds()


@st.composite
def mutated_images(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        op = draw(st.sampled_from(["flip", "byte", "truncate", "insert", "delete", "field"]))
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte":
            data[at] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255))]))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:  # overwrite a 16/32-bit header field (sizes, lengths, offsets) with an extreme value
            value = draw(st.sampled_from([b"\xff\xff", b"\x00\x00", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00"]))
            data[at : at + len(value)] = value
    return bytes(data)


CONFIGS = [
    (DataConfig(size=16), dict(), (16, 16, 3)),
    (DataConfig(size=8, fit="pad", alpha="keep"), dict(), (8, 8, 4)),
    (DataConfig(size=8, grayscale=True, alpha="black"), dict(), (8, 8, 1)),
    (DataConfig(size=8), dict(full_resolution=True), None),
]


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.one_of(mutated_images(), st.binary(max_size=300)), which=st.integers(0, len(CONFIGS) - 1))
def test_hostile_bytes_decode_or_raise_image_decode_error(data, which):
    cfg, kwargs, shape = CONFIGS[which]
    try:
        out = decode_image(data, cfg, **kwargs)
    except ImageDecodeError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.flags.c_contiguous
    if shape is None:
        assert out.ndim == 3 and out.shape[2] == cfg.channels and out.shape[0] >= 1 and out.shape[1] >= 1
    else:
        assert out.shape == shape
