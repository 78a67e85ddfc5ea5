"""Procedural demo datasets: reproducible, independent labelled attributes, unpaired scene domains,
and the `gan-studio demo-data` command."""

import csv

import numpy as np
import pytest

from studio.cli.main import main
from studio.engine.data import demo_sets as demo_data
from studio.engine.data.demo_sets import (
    BACKGROUNDS,
    HAIR_COLOURS,
    LABEL_COLUMNS,
    SKINS,
    binary_attributes,
    faces,
    read_face_labels,
    scenes,
    write_faces,
    write_scenes,
)
from studio.engine.errors import UserError
from studio.engine.images import load_png


def test_faces_are_reproducible_by_seed():
    a, la = faces(12, 32, seed=3)
    b, lb = faces(12, 32, seed=3)
    c, lc = faces(12, 32, seed=4)
    assert a.shape == (12, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and la == lb
    assert not np.array_equal(a, c) and la != lc
    assert faces(1, 64, seed=0)[0].shape == (1, 64, 64, 3)


def test_face_labels_are_known_names():
    _, labels = faces(50, 16, seed=0)
    for label in labels:
        assert set(label) == {"glasses", "hair", "smile", "skin", "hair_colour", "background"}
        assert isinstance(label["glasses"], bool) and isinstance(label["smile"], bool)
        assert label["hair"] in ("short", "long")
        assert label["skin"] in SKINS and label["hair_colour"] in HAIR_COLOURS and label["background"] in BACKGROUNDS


def _one_hot_columns(labels):
    """Every attribute as 0/1 indicator columns, tagged with the attribute they belong to."""
    cols = [(name, binary_attributes(labels)[:, i]) for i, name in enumerate(("glasses", "hair", "smile"))]
    for attr, names in (("skin", SKINS), ("hair_colour", HAIR_COLOURS), ("background", BACKGROUNDS)):
        for n in names:
            cols.append((attr, np.array([lab[attr] == n for lab in labels], np.float64)))
    return cols


def test_attributes_are_balanced_and_independent():
    _, labels = faces(400, 16, seed=0)
    yes = binary_attributes(labels).mean(0)
    assert np.all((yes > 0.4) & (yes < 0.6)), yes  # glasses, long hair, smile: about half each
    for attr, names in (("skin", SKINS), ("hair_colour", HAIR_COLOURS), ("background", BACKGROUNDS)):
        share = np.array([sum(lab[attr] == n for lab in labels) for n in names]) / len(labels)
        assert share.min() > 0.6 / len(names), (attr, share)  # every colour is used
    cols = _one_hot_columns(labels)
    worst = max(
        abs(np.corrcoef(x, y)[0, 1]) for i, (a, x) in enumerate(cols) for b, y in cols[i + 1 :] if a != b
    )
    assert worst < 0.15, worst  # no attribute predicts another


def _toggled(label, **change):
    """The same person (same random layout) drawn with one attribute changed."""
    a = demo_data._draw_face(64, np.random.default_rng(7), label)
    b = demo_data._draw_face(64, np.random.default_rng(7), {**label, **change})
    diff = np.abs(a.astype(int) - b.astype(int)).sum(2) > 30
    rows, cols = np.nonzero(diff)
    return diff, rows, cols


def test_each_attribute_changes_its_own_region_clearly():
    base = {"glasses": False, "hair": "short", "smile": False, "skin": "tan", "hair_colour": "black",
            "background": "sky"}
    diff, rows, _ = _toggled(base, glasses=True)
    assert diff.sum() > 60 and 18 <= rows.min() and rows.max() <= 40  # around the eyes
    diff, rows, _ = _toggled(base, smile=True)
    assert diff.sum() > 30 and rows.min() >= 34 and rows.max() <= 50  # the mouth
    diff, rows, cols = _toggled(base, hair="long")
    assert diff.sum() > 300 and rows.max() > 46  # hair down to the shoulders ...
    left, right = diff[:, :20].sum(), diff[:, 44:].sum()
    assert left > 80 and right > 80  # ... on both sides of the face


def test_scene_domains_are_unpaired_and_differ_clearly_in_colour():
    day, night = scenes(30, 32, seed=0)
    assert day.shape == night.shape == (30, 32, 32, 3) and day.dtype == np.uint8
    again = scenes(30, 32, seed=0)
    assert np.array_equal(day, again[0]) and np.array_equal(night, again[1])
    assert not np.array_equal(day, scenes(30, 32, seed=1)[0])
    lum_day = day.astype(float).mean((1, 2, 3))
    lum_night = night.astype(float).mean((1, 2, 3))
    assert lum_day.min() > lum_night.max() + 40  # every day scene is brighter than every night scene
    sky_day = day[:, :8].reshape(-1, 3).astype(float).mean(0)
    sky_night = night[:, :8].reshape(-1, 3).astype(float).mean(0)
    assert sky_day[2] > 180 and sky_day[2] > sky_day[0] + 40  # a blue sky by day
    assert sky_night.max() < 90  # a dark one at night
    # Independent layouts: a night scene is not the day scene with a darker palette.
    corr = [np.corrcoef(d.mean(2).ravel(), n.mean(2).ravel())[0, 1] for d, n in zip(day, night)]
    assert np.median(corr) < 0.8


def test_write_faces_labels_match_files(tmp_path):
    out = write_faces(tmp_path / "faces", 12, 32, seed=5)
    pictures, labels = faces(12, 32, seed=5)
    with open(out / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == LABEL_COLUMNS
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert [r["file"] for r in rows] == pngs and len(pngs) == 12
    read = read_face_labels(out / "labels.csv")
    for i, row in enumerate(rows):
        assert read[row["file"]] == labels[i]
        assert row["glasses"] in ("yes", "no") and row["smile"] in ("yes", "no")
        assert np.array_equal(load_png(out / row["file"]), pictures[i])


def test_write_scenes_writes_two_folders(tmp_path):
    out = write_scenes(tmp_path / "scenes", 5, 32, seed=2)
    day, night = scenes(5, 32, seed=2)
    a, b = sorted((out / "A").iterdir()), sorted((out / "B").iterdir())
    assert len(a) == len(b) == 5
    assert np.array_equal(load_png(a[0]), day[0]) and np.array_equal(load_png(b[4]), night[4])


def test_writers_refuse_a_non_empty_folder_and_bad_sizes(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty"):
        write_faces(tmp_path / "full", 3, 32)
    with pytest.raises(UserError, match="not empty"):
        write_scenes(tmp_path / "full", 3, 32)
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]
    with pytest.raises(UserError, match="Size must be between"):
        faces(2, 8)
    with pytest.raises(UserError, match="Count must be a positive"):
        scenes(0, 32)


def test_cli_demo_data(tmp_path, capsys):
    assert main(["demo-data", "faces", str(tmp_path / "f"), "--count", "6", "--size", "32", "--seed", "1"]) == 0
    assert "6 faces" in capsys.readouterr().out
    assert len(list((tmp_path / "f").glob("*.png"))) == 6 and (tmp_path / "f" / "labels.csv").is_file()
    assert np.array_equal(load_png(tmp_path / "f" / "face-00002.png"), faces(6, 32, seed=1)[0][2])

    assert main(["demo-data", "scenes", str(tmp_path / "s"), "--count", "3", "--size", "32"]) == 0
    capsys.readouterr()
    assert len(list((tmp_path / "s" / "A").glob("*.png"))) == len(list((tmp_path / "s" / "B").glob("*.png"))) == 3


@pytest.mark.parametrize(
    "args, says",
    [
        (["faces", "{tmp}/f"], "not empty"),  # written once below, so not empty the second time
        (["faces", "{tmp}/new", "--size", "4"], "Size must be between"),
        (["faces", "{tmp}/new", "--count", "-2"], "count"),
        (["portraits", "{tmp}/new"], "invalid choice"),
        (["scenes"], "required"),
    ],
)
def test_cli_demo_data_bad_input_is_one_line_exit_2(tmp_path, capsys, args, says):
    write_faces(tmp_path / "f", 1, 16)
    assert main(["demo-data", *[a.format(tmp=tmp_path) for a in args]]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert says in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "new").exists()
