"""A video clip as a collection: every Nth frame, near-identical frames dropped, the report line, the cache."""

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from studio.cli.main import main
from studio.engine.data import video
from studio.engine.data.dataset import DataConfig, dataset_fingerprint, prepare_dataset
from studio.engine.errors import UserError
from studio.engine.project.folder import Project

SIZE = 64
HELD = range(40, 60)  # frames 41..59 repeat frame 40: a pause in the clip


def disc_frames(count: int = 120, held=HELD) -> list[np.ndarray]:
    """A red disc crossing a light background, two pixels a frame; it stands still during `held`."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    frames = []
    for i in range(count):
        t = held.start if i in held else i
        cx, cy = 10 + (2 * t) % (SIZE - 20), SIZE / 2 + 14 * np.sin(t / 9)
        f = np.full((SIZE, SIZE, 3), 225, np.uint8)
        f[(xx - cx) ** 2 + (yy - cy) ** 2 < 81] = (200, 40, 40)
        frames.append(f)
    return frames


def write_mp4(path, frames, fps=24):
    writer = imageio_ffmpeg.write_frames(str(path), (SIZE, SIZE), fps=fps, codec="libx264", macro_block_size=1,
                                         output_params=["-crf", "18"])
    writer.send(None)
    for f in frames:
        writer.send(np.ascontiguousarray(f))
    writer.close()
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_mp4(tmp_path_factory.mktemp("video") / "my clip.mp4", disc_frames())


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def test_every_nth_keeps_the_set_near_its_target():
    assert [video.every_nth(n, 1000) for n in (1, 999, 1000, 1001, 3600)] == [1, 1, 1, 2, 4]
    assert video.every_nth(120, 30) == 4


def test_every_frame_of_a_short_clip_with_the_pause_dropped(clip, cache):
    assert video.probe(clip).frames == 120
    ds = prepare_dataset(clip, DataConfig(size=32), cache_dir=cache)
    assert ds.report.frames == {"total": 120, "every": 1, "read": 120, "similar": 19}
    assert len(ds) == ds.report.used == 101 and ds.images.shape == (101, 3, 32, 32)
    assert f"{clip}#frame 40" in ds.paths and f"{clip}#frame 41" not in ds.paths and f"{clip}#frame 60" in ds.paths
    assert "Took 101 of 120 video frames (every frame, 19 near-identical frames left out)" in ds.report.lines()
    # the frames are the clip's pictures, fitted like image files: the disc is where the clip has it
    first = ds.images[0].numpy().transpose(1, 2, 0).astype(int)
    expected = np.asarray(Image.fromarray(disc_frames(1)[0]).resize((32, 32), Image.Resampling.LANCZOS)).astype(int)
    assert np.abs(first - expected).mean() < 4


def test_every_nth_frame_of_a_long_clip(clip, cache, monkeypatch):
    monkeypatch.setattr(video, "TARGET_FRAMES", 30)
    images, names, report, _ = video.prepare_frames(clip, DataConfig(size=16), cache_dir=cache, target=30)
    assert report.frames["every"] == 4 and report.frames["read"] == 30
    # 40 and 60 are both taken (4 divides them); 44..56 repeat 40 and are dropped
    assert names[:3] == [f"{clip}#frame {i}" for i in (0, 4, 8)]
    assert report.frames["similar"] == 4 and len(names) == 26 == report.used
    assert "Took 26 of 120 video frames (every 4th frame, 4 near-identical frames left out)" in report.lines()


def test_scanning_a_clip_lists_its_frames_for_the_suggestion(clip):
    from studio.engine.data.dataset import scan_folder
    from studio.engine.models.suggest import probe_sizes

    found = scan_folder(clip)
    assert len(found) == 120 and found[4] == f"{clip}#frame 4"
    assert probe_sizes(found) == [(SIZE, SIZE)] * 120  # from the clip's size, not from opening "files"


def test_the_cache_covers_the_clip(clip, cache, tmp_path, monkeypatch):
    own = tmp_path / "clip.mp4"
    own.write_bytes(clip.read_bytes())
    first = prepare_dataset(own, DataConfig(size=16), cache_dir=cache)
    calls = []
    real = video._take_frames
    monkeypatch.setattr(video, "_take_frames", lambda *a: calls.append(1) or real(*a))
    again = prepare_dataset(own, DataConfig(size=16), cache_dir=cache)
    assert calls == [] and np.array_equal(again.images, first.images) and again.report == first.report
    write_mp4(own, disc_frames(60, held=range(0)))  # the clip is replaced: read again
    assert dataset_fingerprint(own) != first.fingerprint
    changed = prepare_dataset(own, DataConfig(size=16), cache_dir=cache)
    assert calls == [1] and changed.report.frames["total"] == 60 and changed.report.frames["similar"] == 0


def test_an_animated_gif_is_a_clip_and_a_still_one_is_explained(tmp_path, cache):
    pictures = disc_frames(12, held=range(4, 8))
    for i in range(5, 8):  # near-identical, not identical: Pillow would merge identical GIF frames
        pictures[i][0, i] = 0
    frames = [Image.fromarray(f) for f in pictures]
    frames[0].save(tmp_path / "loop.gif", save_all=True, append_images=frames[1:], duration=40)
    ds = prepare_dataset(tmp_path / "loop.gif", DataConfig(size=32), cache_dir=cache)
    assert ds.report.frames == {"total": 12, "every": 1, "read": 12, "similar": 3} and len(ds) == 9
    frames[0].save(tmp_path / "still.gif")
    with pytest.raises(UserError, match="single picture"):
        prepare_dataset(tmp_path / "still.gif", DataConfig(size=32), cache_dir=cache)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match=r"not a folder of images or a video \(MP4"):
        prepare_dataset(tmp_path / "notes.txt", DataConfig(size=32), cache_dir=cache)
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really")
    with pytest.raises(UserError, match="Cannot read the video"):
        prepare_dataset(tmp_path / "broken.mp4", DataConfig(size=32), cache_dir=cache)


def test_cli_trains_and_resumes_on_a_clip(clip, tmp_path, capsys):
    out = tmp_path / "proj"
    assert main(["train", "dcgan", "--data", str(clip), "--out", str(out), "--size", "32", "--batch", "8",
                 "--width", "4", "--z-dim", "8", "--steps", "2", "--device", "cpu", "--metric-every", "0"]) == 0
    printed = capsys.readouterr().out
    assert "Took 101 of 120 video frames (every frame, 19 near-identical frames left out)" in printed
    meta = Project.open(out).meta["data"]
    assert meta["folders"]["data"] == str(clip) and meta["counts"]["data"] == 101
    assert main(["resume", str(out), "--steps", "3"]) == 0
    assert "changed since" not in capsys.readouterr().err  # the clip's fingerprint matches
    assert Project.open(out).step == 3
