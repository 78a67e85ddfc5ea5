"""Exports: PNG (1x / enlarged), grids, animations (GIF / MP4 / WebP) read back with imageio,
time-lapse, ONNX checked against PyTorch with onnxruntime, and `gan-studio export`."""

import hashlib
import os
import stat

import imageio
import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image

from studio.cli.main import main
from studio.engine.data.procedural import discs, write_folder
from studio.engine.explore import export as E
from studio.engine.explore.generator import GeneratorModel
from studio.engine.explore.latent import WalkSettings, random_latents, walk_length
from studio.engine.images import load_png
from studio.engine.models import get_kind
from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer

Z = 16
TINY = ["--size", "32", "--batch", "8", "--width", "8", "--z-dim", str(Z), "--seed", "1", "--metric-every", "0"]


@pytest.fixture(scope="module")
def model():
    cfg = DCGANConfig(size=32, ngf=8, ndf=8, z_dim=Z, batch=4, preview_count=4)
    trainer = DCGANTrainer(cfg, torch.zeros(4, 3, 32, 32, dtype=torch.uint8), seed=0)
    return GeneratorModel(cfg, trainer.generator_state(), kind=get_kind("dcgan"))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A tiny DCGAN project trained through the command line (4 steps, samples every 2)."""
    root = tmp_path_factory.mktemp("export")
    data = write_folder(discs(16, 32, seed=0), root / "discs")
    out = root / "proj"
    assert main(["train", "dcgan", "--data", str(data), "--out", str(out), *TINY, "--steps", "4",
                 "--sample-every", "2", "--checkpoint-every", "4"]) == 0
    return out


def frames_of(path):
    """(frames (N, H, W, 3), per-frame durations in ms or None) as imageio reads them back."""
    if path.suffix == ".mp4":
        reader = imageio.get_reader(path, format="FFMPEG")
        frames = np.stack([f for f in reader])
        fps = reader.get_meta_data()["fps"]
        reader.close()
        return frames, [1000 / fps] * len(frames)
    frames = np.stack([f[..., :3] for f in iio.imiter(path, plugin="pillow")])
    durations = []
    with Image.open(path) as im:
        for i in range(im.n_frames):
            im.seek(i)
            im.load()
            durations.append(im.info.get("duration"))
    return frames, durations


# ----- pictures -----------------------------------------------------------------------------------------
def test_png_at_1x_and_enlarged(model, tmp_path):
    pic = model.generate(random_latents(0, 1, Z))[0]
    E.save_image(tmp_path / "one.png", pic)
    assert np.array_equal(load_png(tmp_path / "one.png"), pic)
    E.save_image(tmp_path / "big.png", pic, scale=4)
    big = load_png(tmp_path / "big.png")
    assert big.shape == (128, 128, 3)
    assert np.array_equal(big[::4, ::4], pic) and np.array_equal(big[3::4, 3::4], pic)  # crisp squares
    E.save_image(tmp_path / "smooth.png", pic, scale=4, smooth=True)
    smooth = load_png(tmp_path / "smooth.png")
    assert smooth.shape == (128, 128, 3) and not np.array_equal(smooth, big)
    assert np.abs(smooth.astype(int)[::4, ::4] - pic).mean() < 40  # still the same picture
    from studio.engine.errors import UserError

    with pytest.raises(UserError, match="png"):
        E.save_image(tmp_path / "one.jpg", pic)


def test_grid_and_contact_sheet(model, tmp_path):
    pics = model.generate(random_latents(1, 6, Z))
    E.save_grid(tmp_path / "grid.png", pics, nrow=3, scale=2)
    grid = load_png(tmp_path / "grid.png")
    assert grid.shape == (2 * 64 + 3 * 2, 3 * 64 + 4 * 2, 3)
    assert np.array_equal(grid[2:66:2, 2:66:2], pics[0])
    corners = random_latents(2, 4, Z)
    lat = E.pad_sheet_latents(corners, 4)
    assert np.array_equal(lat[0], corners[0]) and np.array_equal(lat[3], corners[1])
    assert np.array_equal(lat[12], corners[2]) and np.array_equal(lat[15], corners[3])
    sheet = E.contact_sheet(model.generate, lat, 4)
    assert sheet.shape == (4 * 34 + 2, 4 * 34 + 2, 3)
    assert np.array_equal(sheet[2:34, 2:34], model.generate(corners[0])[0])


# ----- animations ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".gif", ".mp4", ".webp"])
def test_walk_frame_count_size_and_determinism(model, tmp_path, ext):
    keys = random_latents(3, 3, Z)
    walk = WalkSettings(frames_per_transition=6, hold_frames=0, interpolation="slerp", easing="linear", loop=True)
    n = walk_length(3, walk)
    assert n == 18
    calls = []
    path = E.export_walk(tmp_path / f"walk{ext}", model.generate, keys, walk, E.AnimationSettings(fps=12, scale=2),
                         progress=lambda d, t: calls.append((d, t)))
    frames, durations = frames_of(path)
    assert frames.shape == (n, 64, 64, 3)
    assert calls[-1] == (n, n) and [d for d, _ in calls] == list(range(1, n + 1))
    assert sum(durations) == pytest.approx(n * 1000 / 12, rel=0.08)  # plays n / fps seconds
    # the first frame is the first keyframe's picture (MP4 is lossy: close, not equal)
    first = np.repeat(np.repeat(model.generate(keys[0])[0], 2, 0), 2, 1).astype(int)
    tol = {".gif": 12, ".mp4": 12, ".webp": 10}[ext]
    assert np.abs(frames[0].astype(int) - first).mean() < tol
    again = E.export_walk(tmp_path / f"again{ext}", model.generate, keys, walk, E.AnimationSettings(fps=12, scale=2))
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(again.read_bytes()).digest()
    assert not list(tmp_path.glob(".tmp-*"))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # the user's usual permissions, not 0600


def test_walk_with_holds_and_exact_length_keeps_its_duration(model, tmp_path):
    keys = random_latents(4, 4, Z)
    walk = WalkSettings(frames_per_transition=5, hold_frames=3, easing="smooth")
    path = E.export_walk(tmp_path / "held.gif", model.generate, keys, walk, E.AnimationSettings(fps=10, scale=1),
                         frames=50)
    frames, durations = frames_of(path)
    # GIF stores a held picture once with a longer delay: fewer stored frames, same running time
    assert len(frames) <= 50 and sum(durations) == pytest.approx(50 * 100, rel=0.02)
    mp4 = E.export_walk(tmp_path / "held.mp4", model.generate, keys, walk, E.AnimationSettings(fps=10, scale=2),
                        frames=50)
    assert frames_of(mp4)[0].shape == (50, 64, 64, 3)


def test_cancelled_export_leaves_no_file(model, tmp_path):
    keys = random_latents(5, 2, Z)
    seen = []

    def cancel_after_some():
        return len(seen) >= 20

    for ext in (".gif", ".mp4"):
        seen.clear()
        with pytest.raises(E.Cancelled):
            E.export_walk(tmp_path / f"c{ext}", model.generate, keys, WalkSettings(frames_per_transition=40),
                          progress=lambda d, t: seen.append(d), should_cancel=cancel_after_some)
        assert 20 <= len(seen) < 80
    assert list(tmp_path.iterdir()) == []


def test_unknown_animation_extension_is_a_user_error(model, tmp_path):
    from studio.engine.errors import UserError

    with pytest.raises(UserError, match="gif"):
        E.export_walk(tmp_path / "walk.avi", model.generate, random_latents(0, 2, Z))


def test_timelapse_with_step_overlay(project, tmp_path):
    from studio.engine.project.folder import Project

    p = Project.open(project)
    steps = p.sample_steps()
    assert [s for s, _ in steps] == [0, 2, 4]
    plain = E.export_timelapse(p, tmp_path / "t.mp4", fps=4, hold_last_s=0)
    frames, _ = frames_of(plain)
    h, w = load_png(steps[0][1]).shape[:2]
    assert frames.shape == (3, h + h % 2, w + w % 2, 3)
    labelled = E.export_timelapse(p, tmp_path / "t.webp", fps=4, overlay=True, hold_last_s=0.5)
    lf, durations = frames_of(labelled)
    assert sum(durations) == pytest.approx(5 * 250, rel=0.02)  # 3 grids + 2 frames holding the last
    # the label darkens the bottom-left corner and leaves the top-right untouched
    grid = load_png(steps[0][1])
    corner = lf[0][-h // 8 :, : w // 3].astype(int)
    assert corner.mean() < grid[-h // 8 :, : w // 3].astype(int).mean() - 10
    assert np.abs(lf[0][:8, -8:].astype(int) - grid[:8, -8:]).mean() < 6


# ----- ONNX ----------------------------------------------------------------------------------------------
def test_onnx_matches_pytorch_for_any_batch(model, tmp_path):
    import onnx
    import onnxruntime as ort

    path = tmp_path / "g.onnx"
    worst = E.export_onnx(model, path)
    assert worst <= 1e-4
    assert [p.name for p in tmp_path.iterdir()] == ["g.onnx"]  # one self-contained file
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["z_dim"] == str(Z) and meta["size"] == "32"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 3, 8):
        z = random_latents(batch, batch, Z)
        got = session.run(None, {"z": z})[0]
        with torch.inference_mode():
            want = model.G(torch.from_numpy(z)).numpy()
        assert got.shape == (batch, 3, 32, 32)
        assert np.abs(got - want).max() <= 1e-4


# ----- command line -------------------------------------------------------------------------------------
def test_cli_export_walk_grid_timelapse_onnx(project, tmp_path, capsys):
    walk = tmp_path / "walk.gif"
    assert main(["export", str(project), "--walk", str(walk), "--frames", "12", "--fps", "6", "--seeds", "1,2,3",
                 "--slerp", "--easing", "linear"]) == 0
    frames, durations = frames_of(walk)
    assert frames.shape[1:] == (256, 256, 3) and sum(durations) == pytest.approx(2000, rel=0.05)
    assert len(frames) == 12
    mp4 = tmp_path / "walk.mp4"
    assert main(["export", str(project), "--walk", str(mp4), "--frames", "10", "--scale", "2"]) == 0
    assert frames_of(mp4)[0].shape == (10, 64, 64, 3)

    assert main(["export", str(project), "--grid", str(tmp_path / "g.png"), "--count", "6", "--seed", "3"]) == 0
    assert load_png(tmp_path / "g.png").shape == (2 * 34 + 2, 3 * 34 + 2, 3)
    assert main(["export", str(project), "--timelapse", str(tmp_path / "t.gif"), "--overlay"]) == 0
    assert main(["export", str(project), "--onnx", str(tmp_path / "g.onnx")]) == 0
    assert "onnxruntime matches PyTorch" in capsys.readouterr().out


def test_cli_export_walk_through_bookmarks(project, tmp_path):
    from studio.engine.explore.bookmarks import ExploreStore

    store = ExploreStore.open(project, Z)
    if not store.latents:
        store.add_latent("one", random_latents(1, 1, Z)[0])
        store.add_latent("two", random_latents(2, 1, Z)[0])
    out = tmp_path / "b.webp"
    assert main(["export", str(project), "--walk", str(out), "--bookmarks", "one,two", "--frames", "8"]) == 0
    assert sum(frames_of(out)[1]) == pytest.approx(8 * 1000 / 24, rel=0.05)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--walk", "x.avi"], "can be saved as .gif, .mp4, .webp"),
        (["--onnx", "x.pt"], ".onnx"),
        (["--grid", "x.jpg"], ".png"),
        (["--walk", "x.gif", "--seeds", "1,a"], "--seeds"),
        (["--walk", "x.gif", "--bookmarks", "nope"], "No bookmark named"),
        (["--walk", "x.gif", "--fps", "0"], "--fps"),
        ([], "one of the arguments"),
    ],
)
def test_cli_export_errors_are_one_line(project, tmp_path, capsys, args, message):
    args = [a if not a.startswith("x.") else str(tmp_path / a) for a in args]
    assert main(["export", str(project), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_export_project_errors(tmp_path, capsys):
    from studio.engine.project.folder import Project

    assert main(["export", str(tmp_path / "nowhere"), "--onnx", str(tmp_path / "g.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err
    Project.create(tmp_path / "cyc", "cyclegan", {"model": {}})
    assert main(["export", str(tmp_path / "cyc"), "--walk", str(tmp_path / "w.gif")]) == 2
    assert "is a CycleGAN project; this export needs a DCGAN" in capsys.readouterr().err
    Project.create(tmp_path / "fresh", "dcgan", {"model": {}})
    assert main(["export", str(tmp_path / "fresh"), "--onnx", str(tmp_path / "g.onnx")]) == 2
    assert "no trained checkpoint yet" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "fresh"), "--timelapse", str(tmp_path / "t.gif")]) == 2
    assert "no saved sample grids" in capsys.readouterr().err
    assert not (tmp_path / "g.onnx").exists() and not (tmp_path / "t.gif").exists()
