"""Counts in words (studio/engine/words.py): the one place messages pluralise."""

from studio.engine.words import counted, plural


def test_counts_read_as_a_person_writes_them():
    assert counted(1, "image") == "1 image"
    assert counted(0, "image") == "0 images"
    assert counted(1200, "step") == "1,200 steps"
    assert counted(2, "sample grid") == "2 sample grids"
    assert plural(1, "CPU core") == "CPU core" and plural(2, "GPU") == "GPUs"
    assert plural(1.0, "minute") == "minute" and plural(0.5, "minute") == "minutes"

