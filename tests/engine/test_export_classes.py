"""Classes and style spaces in every export: ONNX of a generator with classes takes the class (and
its blends), `gan-studio export --walk` walks W bookmarks in W and walks across classes."""

import json

import numpy as np
import pytest
import torch

from studio.engine.explore import export as E
from studio.engine.explore.generator import GeneratorModel
from studio.engine.explore.latent import random_latents
from studio.engine.explore.onnx import images_to_uint8
from studio.engine.models import get_kind

TINY_STYLE = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128, "channel_max": 16}


def _dcgan(class_names=()) -> GeneratorModel:
    kind = get_kind("dcgan")
    cfg = kind.config_cls(size=32, z_dim=16, ngf=8, ndf=8, class_names=tuple(class_names))
    torch.manual_seed(0)
    G = kind.make_generator(cfg)
    with torch.no_grad():  # running statistics of a trained net, so eval-mode BatchNorm is not the identity
        for name, buf in G.named_buffers():
            if name.endswith("running_var"):
                buf.uniform_(0.5, 2.0)
            elif name.endswith("running_mean"):
                buf.normal_(0.0, 0.3)
    return GeneratorModel(cfg, G.state_dict(), kind=kind)


def _style(class_names=()) -> GeneratorModel:
    kind = get_kind("stylegan")
    cfg = kind.config_cls(size=32, **TINY_STYLE, class_names=tuple(class_names))
    torch.manual_seed(0)
    G = kind.make_generator(cfg)
    with torch.no_grad():
        G.mapping.w_avg.normal_()
    return GeneratorModel(cfg, G.state_dict(), kind=kind)


def _session(path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _meta(path) -> dict:
    import onnx

    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


@pytest.mark.parametrize("make", [_dcgan, _style], ids=["dcgan", "style"])
def test_onnx_of_a_generator_with_classes_draws_the_class_asked(make, tmp_path):
    m = make(("moth", "beetle", "butterfly"))
    path = tmp_path / "g.onnx"
    assert E.export_onnx(m, path) <= 1e-4
    meta = _meta(path)
    assert json.loads(meta["class_names"]) == ["moth", "beetle", "butterfly"] and meta["num_classes"] == "3"
    session = _session(path)
    assert [i.name for i in session.get_inputs()] == ["z", "class_weights"]
    z = random_latents(4, 3, 16)
    eye = np.eye(3, dtype=np.float32)
    pictures = {}
    for cls in (0, 2):
        c = np.repeat(eye[cls][None], 3, axis=0)
        got = session.run(None, {"z": z, "class_weights": c})[0]
        with torch.inference_mode():
            want = m.G(torch.from_numpy(z), torch.from_numpy(c)).numpy()
        assert np.abs(got - want).max() <= 1e-4
        assert np.abs(images_to_uint8(got).astype(int) - m.generate(z, cls).astype(int)).max() <= 1
        pictures[cls] = got
    assert np.abs(pictures[0] - pictures[2]).mean() > 0.01  # the class input is used, not class 0 for all
    # a blend is the generator's blend (the explorer's class walk), between the two classes' pictures
    half = np.repeat((0.5 * (eye[0] + eye[2]))[None], 3, axis=0)
    got = session.run(None, {"z": z, "class_weights": half})[0]
    with torch.inference_mode():
        want = m.G(torch.from_numpy(z), torch.from_numpy(half)).numpy()
    assert np.abs(got - want).max() <= 1e-4
    assert np.abs(got - pictures[0]).mean() > 0 and np.abs(got - pictures[2]).mean() > 0


def test_onnx_of_a_model_without_classes_keeps_its_one_input(tmp_path):
    for m in (_dcgan(), _style()):
        path = tmp_path / "g.onnx"
        assert E.export_onnx(m, path) <= 1e-4
        assert [i.name for i in _session(path).get_inputs()] == ["z"]
        assert "class_names" not in _meta(path)


def test_ws_onnx_of_a_style_model_with_classes_needs_no_class_input(tmp_path):
    m = _style(("moth", "butterfly"))
    path = tmp_path / "w.onnx"
    assert E.export_onnx(m, path, space="w") <= 1e-4
    session = _session(path)
    assert [i.name for i in session.get_inputs()] == ["ws"]
    assert json.loads(_meta(path)["class_names"]) == ["moth", "butterfly"]
    # a w made with class 1 draws class 1's picture: the class lives in w
    z = random_latents(2, 2, 16)
    with torch.inference_mode():
        ws = m.G.mapping(torch.from_numpy(z), c=torch.tensor([1, 1])).numpy()
    got = images_to_uint8(session.run(None, {"ws": ws})[0])
    assert np.abs(got.astype(int) - m.generate(z, 1).astype(int)).max() <= 1
    assert np.abs(got.astype(int) - m.generate(z, 0).astype(int)).mean() > 1


# ----- gan-studio export --walk / --grid: W bookmarks and classes ----------------------------------------
@pytest.fixture(scope="module")
def style_project(tmp_path_factory):
    """A tiny style-based project with three classes (sub-folders), trained for 2 steps by the CLI."""
    from shape_classes import write_class_folders

    from studio.cli.main import main

    root = tmp_path_factory.mktemp("walks")
    folder = write_class_folders(root / "shapes", {"disc": 20, "lying": 20, "standing": 20})
    out = root / "p"
    assert main(["train", "stylegan", "--data", str(folder), "--out", str(out), "--size", "32", "--batch", "4",
                 "--steps", "2", "--checkpoint-every", "2", "--metric-every", "0", "--device", "cpu"]) == 0
    return out


def _frames(path) -> np.ndarray:
    import imageio.v3 as iio

    return np.stack([f[..., :3] for f in iio.imiter(path, plugin="pillow")]).astype(int)


def _near(frame: np.ndarray, picture: np.ndarray) -> float:
    """Mean difference in levels: a GIF's 256-colour palette costs up to ~7 on an untrained model's
    many-coloured pictures, where different pictures differ by 20 and more."""
    return float(np.abs(frame - picture.astype(int)).mean())


def test_cli_walk_through_w_plus_bookmarks_starts_and_ends_at_their_pictures(style_project, tmp_path):
    from studio.cli.main import main
    from studio.engine.explore import style_space as S
    from studio.engine.explore.bookmarks import ExploreStore
    from studio.engine.explore.generator import load_generator

    m = load_generator(style_project, device="cpu")
    assert m.class_names == ("disc", "lying", "standing")
    ws = m.to_ws(random_latents(7, 2, m.z_dim))
    a, b = m.mix(ws[:1], ws[1:], "coarse"), m.mix(ws[1:], ws[:1], "coarse")  # w+: rows differ
    store = ExploreStore.open(style_project, m.z_dim, "w", (m.num_ws, m.w_dim))
    store.add_latent("wa", S.flat(a)[0])
    store.add_latent("wb", S.flat(b)[0])
    stored = json.loads((style_project / "explore.json").read_text())["latents"]
    assert [e["space"] for e in stored if e["name"] in ("wa", "wb")] == ["w+", "w+"]
    out = tmp_path / "w.gif"
    assert main(["export", str(style_project), "--walk", str(out), "--bookmarks", "wa,wb", "--no-loop",
                 "--easing", "linear", "--frames", "5", "--scale", "1", "--pixels"]) == 0
    frames = _frames(out)
    pa, pb = m.generate_w(a)[0], m.generate_w(b)[0]
    assert len(frames) == 5 and _near(pa, pb) > 10
    # each end is its bookmark's picture up to the palette (which costs more on some untrained models'
    # pictures than on others: 1-5 levels), and far nearer it than the other bookmark's
    assert _near(frames[0], pa) < min(8, 0.5 * _near(frames[0], pb))
    assert _near(frames[-1], pb) < min(8, 0.5 * _near(frames[-1], pa))
    # halfway is the straight line in W (not a z walk, not either end)
    halfway = _near(frames[2], m.generate_w(0.5 * (a + b))[0])
    assert halfway < min(8, _near(frames[2], pa), _near(frames[2], pb))
    # --truncation 0 pulls every frame all the way to the average style: the picture of w_avg, far from
    # both bookmarks' (the GIF keeps one frame, both being that picture; its palette costs ~5 levels)
    assert main(["export", str(style_project), "--walk", str(out), "--bookmarks", "wa,wb", "--frames", "2",
                 "--truncation", "0", "--scale", "1", "--pixels"]) == 0
    average = m.generate_w(m.w_avg)[0]
    assert all(_near(f, average) < 8 and _near(f, pa) > 10 and _near(f, pb) > 10 for f in _frames(out))


def test_cli_walk_never_mixes_z_and_w_bookmarks(style_project, tmp_path, capsys):
    from studio.cli.main import main
    from studio.engine.explore.bookmarks import ExploreStore
    from studio.engine.explore.generator import load_generator

    m = load_generator(style_project, device="cpu")
    z_store = ExploreStore.open(style_project, m.z_dim)
    z_store.add_latent("zed", random_latents(1, 1, m.z_dim)[0])
    w_store = ExploreStore.open(style_project, m.z_dim, "w", (m.num_ws, m.w_dim))
    w_store.add_latent("wonly", m.to_ws(random_latents(2, 1, m.z_dim)).reshape(-1))
    out = str(tmp_path / "x.gif")
    for args, message in [
        (["--bookmarks", "zed,wonly"], "A walk stays in one latent space, but zed is a z bookmark and wonly is a W"),
        (["--bookmarks", "wonly,nope"], "No bookmark named 'nope'"),
        (["--bookmarks", "wonly", "--slerp"], "W bookmarks are walked in straight lines"),
        (["--bookmarks", "wonly", "--classes", "disc"], "W bookmarks already hold the class"),
        (["--classes", "disc,moth"], "The model has no class 'moth'; it has: disc, lying, standing."),
        (["--seeds", "1,2", "--classes", "disc,lying,standing"], "as many classes as keyframes"),
    ]:
        assert main(["export", str(style_project), "--walk", out, *args]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "x.gif").exists()
    # a z bookmark alone still walks in z
    assert main(["export", str(style_project), "--walk", out, "--bookmarks", "zed", "--frames", "2"]) == 0


def test_cli_walks_across_classes_by_the_class_walks_embedding_lerp(style_project, tmp_path, capsys):
    from studio.cli.main import main
    from studio.engine.explore.class_walk import class_walk
    from studio.engine.explore.generator import load_generator
    from studio.engine.explore.latent import seed_latent

    m = load_generator(style_project, device="cpu")
    out = tmp_path / "c.gif"
    assert main(["export", str(style_project), "--walk", str(out), "--classes", "disc,standing", "--seeds", "3",
                 "--no-loop", "--easing", "linear", "--frames", "5", "--scale", "1", "--pixels"]) == 0
    assert "as disc -> standing" in capsys.readouterr().out
    frames = _frames(out)
    explorer = class_walk(m, seed_latent(3, m.z_dim), 0, 2, 5)  # the explorer's Class walk, same 5 points
    assert len(frames) == 5 and _near(explorer[0], explorer[-1]) > 20  # the classes draw different pictures
    for i, frame in enumerate(frames):  # each frame is its point of the class walk, not a neighbour's
        distances = [_near(frame, want) for want in explorer]
        assert int(np.argmin(distances)) == i and distances[i] < 10
    # one class for every keyframe: the seeds' walk drawn as that class, not the first class
    out2 = tmp_path / "s.gif"
    assert main(["export", str(style_project), "--walk", str(out2), "--classes", "standing", "--seeds", "3,4",
                 "--no-loop", "--easing", "linear", "--frames", "2", "--scale", "1", "--pixels"]) == 0
    frames = _frames(out2)
    z = np.stack([seed_latent(3, m.z_dim), seed_latent(4, m.z_dim)])
    as_standing, as_disc = m.generate(z, 2), m.generate(z, 0)
    for frame, standing, disc in zip(frames, as_standing, as_disc):
        assert _near(frame, standing) < 10 and _near(frame, disc) > 2 * _near(frame, standing)


def test_cli_grid_has_a_row_per_class(style_project, tmp_path, capsys):
    from studio.cli.main import main
    from studio.engine.explore.generator import load_generator
    from studio.engine.explore.latent import random_latents as seeded
    from studio.engine.images import load_png

    m = load_generator(style_project, device="cpu")
    out = tmp_path / "g.png"
    assert main(["export", str(style_project), "--grid", str(out), "--count", "2", "--seed", "5"]) == 0
    assert "a row per class: disc, lying, standing" in capsys.readouterr().out
    grid = load_png(out)
    assert grid.shape == (3 * 34 + 2, 2 * 34 + 2, 3)
    z = seeded(5, 2, m.z_dim)
    assert np.array_equal(grid[2 + 34 * 2 : 2 + 34 * 2 + 32, 2:34], m.generate(z, 2)[0])  # third row: standing
    assert main(["export", str(style_project), "--grid", str(out), "--count", "2", "--classes", "lying"]) == 0
    assert load_png(out).shape == (34 + 2, 2 * 34 + 2, 3)


def test_classes_of_a_model_without_them_are_refused_in_a_sentence():
    from studio.engine.errors import UserError
    from studio.engine.explore.walk_keyframes import class_indices

    with pytest.raises(UserError, match="trained without classes; drop --classes."):
        class_indices(_dcgan(), ["disc"])
