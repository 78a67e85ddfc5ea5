"""The explorer in W: GeneratorModel's style-space API, layer groups, style mixing, truncation
towards w_avg, GANSpace directions in W, and (with a trained model) what each layer group carries."""

from pathlib import Path

import numpy as np
import pytest
import torch

from studio.engine.explore import style_space as S
from studio.engine.explore.generator import GeneratorModel
from studio.engine.models import get_kind
from studio.engine.models.stylegan.trainer import StyleGANConfig, build_generator

TINY = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128, "channel_max": 16}


def _model(size=32, seed=0) -> GeneratorModel:
    torch.manual_seed(seed)
    cfg = StyleGANConfig(size=size, **TINY)
    G = build_generator(cfg)
    with torch.no_grad():
        G.mapping.w_avg.normal_()  # a trained model's w_avg is not zero; truncation must use it
    return GeneratorModel(cfg, G.state_dict(), kind=get_kind("stylegan"))


def test_layer_groups_follow_the_papers_resolutions_and_cover_every_row():
    # 64 px: fine from half the side (32 px), where the bundled demo's colour scheme lives
    assert S.layer_groups(10) == {"coarse": slice(0, 4), "middle": slice(4, 6), "fine": slice(6, 10)}
    assert S.layer_groups(12) == {"coarse": slice(0, 4), "middle": slice(4, 8), "fine": slice(8, 12)}  # 128 px
    assert S.layer_groups(8) == {"coarse": slice(0, 4), "middle": slice(4, 6), "fine": slice(6, 8)}  # 32 px
    assert S.layer_groups(14) == {"coarse": slice(0, 4), "middle": slice(4, 8), "fine": slice(8, 14)}  # 256 px
    assert S.ws_resolutions(10) == [4, 4, 8, 8, 16, 16, 32, 32, 64, 64]
    assert S.group_help(10, "fine") == "32-64 px layers: colours and fine detail"
    assert S.group_help(10, "middle").startswith("16 px layers") and S.group_help(14, "fine").startswith("64-256 px")
    for num_ws in (8, 10, 12, 14, 16):
        rows = np.concatenate([np.arange(num_ws)[g] for g in S.layer_groups(num_ws).values()])
        assert rows.tolist() == list(range(num_ws))


def test_generator_model_speaks_w_and_matches_z():
    m = _model()
    assert m.spaces == ("z", "w") and (m.num_ws, m.w_dim) == (8, 16)
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(1)).numpy()
    w = m.to_w(z)
    assert w.shape == (3, 16)
    # the same pictures through W in every accepted shape
    ref = m.generate(z)
    assert np.array_equal(m.generate_w(w), ref)
    assert np.array_equal(m.generate_w(m.to_ws(z)), ref)
    assert np.array_equal(m.generate_w(S.flat(m.to_ws(z))), ref)
    assert np.array_equal(m.generate_w(w[0]), ref[:1])
    # truncation towards w_avg: psi 0 is the average image for every z
    w0 = m.to_w(z, psi=0.0)
    assert np.allclose(w0, m.w_avg[None], atol=1e-6)
    assert np.allclose(m.to_w(z, psi=0.5), S.truncate_w(w, 0.5, m.w_avg), atol=1e-5)
    flat_ws = S.flat(m.to_ws(z))
    assert np.allclose(S.truncate_w(flat_ws, 0.0, m.w_avg), S.mean_flat(m.w_avg, m.num_ws)[None], atol=1e-6)
    with pytest.raises(ValueError):
        m.generate_w(np.zeros((1, 5)))


def test_mixing_takes_the_groups_rows_from_the_first_and_the_rest_from_the_second():
    m = _model()
    a, b = m.to_ws(np.ones((1, 16))), m.to_ws(-np.ones((2, 16)))
    mixed = m.mix(a, b, "coarse")
    assert mixed.shape == (2, 8, 16)
    groups = m.layer_groups()
    assert np.array_equal(mixed[:, groups["coarse"]], np.broadcast_to(a[:, groups["coarse"]], (2, 4, 16)))
    assert np.array_equal(mixed[:, 4:], b[:, 4:])
    both = m.mix(a, b, ("middle", "fine"))
    assert np.array_equal(both[:, :4], b[:, :4]) and np.array_equal(both[0, 4:], a[0, 4:])
    with pytest.raises(ValueError, match="layer group"):
        m.mix(a, b, "eyes")
    # mixing changes the picture, and all-of-a is a's picture
    pic_a, pic_b = m.generate_w(a)[0], m.generate_w(b)[0]
    assert all(np.array_equal(p, pic_a) for p in m.generate_w(m.mix(a, b, S.GROUPS)))
    coarse_a = m.generate_w(mixed)[0]
    assert not np.array_equal(coarse_a, pic_a) and not np.array_equal(coarse_a, pic_b)


def test_z_only_kinds_say_so():
    kind = get_kind("dcgan")
    cfg = kind.config_cls(size=32, z_dim=8, ngf=8, ndf=8)
    m = GeneratorModel(cfg, kind.make_generator(cfg).state_dict(), kind=kind)
    assert m.spaces == ("z",)
    with pytest.raises(ValueError, match="no style space"):
        m.to_w(np.zeros((1, 8)))


def test_principal_directions_in_w_are_the_clouds_axes_and_move_only_their_group():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    scales = np.array([5.0, 3.0, 1.0, 0.5, 0.2, 0.1])

    def sample_w(z):  # a known anisotropic cloud: its principal axes are basis' columns
        return 2.0 + (z[:, :6] * scales) @ basis.T

    d = S.principal_w_directions(sample_w, z_dim=6, count=3, samples=4000)
    assert d.vectors.shape == (3, 6) and d.names == ("PC1", "PC2", "PC3")
    for i in range(3):
        assert abs(float(d.vectors[i] @ basis[:, i])) > 0.99
        assert d.sigmas[i] == pytest.approx(scales[i], rel=0.08)
    assert np.allclose(d.mean, 2.0, atol=0.3)
    again = S.principal_w_directions(sample_w, z_dim=6, count=3, samples=4000)
    assert np.array_equal(again.vectors, d.vectors)  # same signs each time
    flat = d.flat_direction(0, "fine", num_ws=8).reshape(8, 6)
    assert np.all(flat[:6] == 0) and np.allclose(np.linalg.norm(flat[6:], axis=1), d.sigmas[0])


def test_rescaled_offsets_keep_direction_and_reach_the_typical_length():
    avg = np.full(4, 3.0, np.float32)
    latent = S.mean_flat(avg, 2) + np.array([1, 0, 0, 0, 0, 1, 0, 0], np.float32) * 0.1
    out = S.to_typical_offset(latent, avg, 2, length=2.0)
    off = (out - S.mean_flat(avg, 2)).reshape(2, 4)
    assert np.sqrt((off**2).sum(axis=1).mean()) == pytest.approx(2.0)
    assert off[0, 0] > 0 and off[1, 1] > 0 and off[0, 1] == 0


def test_onnx_with_a_w_input_matches_pytorch_and_serves_the_renderer(tmp_path):
    import onnx
    import onnxruntime as ort

    from studio.engine.explore import export as E
    from studio.engine.explore.renderer import Renderer

    m = _model()
    path = tmp_path / "g.onnx"
    assert E.export_onnx(m, path, space="w") <= 1e-4
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert (meta["input"], meta["num_ws"], meta["w_dim"]) == ("ws", "8", "16")
    assert np.allclose(np.array(meta["w_avg"].split(), np.float32), m.w_avg)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(3)).numpy()
    ws = m.mix(m.to_ws(z), m.to_ws(z[::-1]), "fine")  # a w+ whose rows differ
    got = session.run(None, {"ws": ws})[0]
    with torch.inference_mode():
        want = m.G.synthesis(torch.from_numpy(ws)).clamp(-1, 1).numpy()
    assert got.shape == (4, 3, 32, 32) and np.abs(got - want).max() <= 1e-4
    # the explorer's fast path: one ws session renders z and W alike, as PyTorch does (to a level)
    r = Renderer(m, "onnxruntime", threads=1)
    assert r.backend == "onnxruntime"
    assert np.abs(r.generate(z).astype(int) - m.generate(z).astype(int)).max() <= 1
    assert np.abs(r.generate(S.flat(ws), "w").astype(int) - m.generate_w(ws).astype(int)).max() <= 1
    # a model without W says so in a sentence
    kind = get_kind("dcgan")
    cfg = kind.config_cls(size=32, z_dim=8, ngf=8, ndf=8)
    dc = GeneratorModel(cfg, kind.make_generator(cfg).state_dict(), kind=kind)
    with pytest.raises(Exception, match="no style space W"):
        E.export_onnx(dc, tmp_path / "d.onnx", space="w")


def test_latent_spaces_map_seeds_and_truncate_towards_their_centre():
    m = _model()
    z_sp, w_sp = m.latent_space("z"), m.latent_space("w")
    assert (z_sp.dim, w_sp.dim, w_sp.num_ws, w_sp.w_dim) == (16, 128, 8, 16)
    assert z_sp.spherical and not w_sp.spherical and set(w_sp.groups) == set(S.GROUPS)
    # a seed's latent in W draws the seed's picture in z
    assert np.array_equal(m.generate_w(w_sp.seed_latent(5)), m.generate(z_sp.seed_latent(5)))
    assert np.allclose(w_sp.truncate(w_sp.seed_latent(5), 0.0), w_sp.mean)
    assert np.allclose(w_sp.mean.reshape(8, 16), m.w_avg[None])
    # the typical distance from the centre is what random samples show; averages are pushed back out to it
    samples = w_sp.random_latents(9, 400)
    rms = np.sqrt(((samples - w_sp.mean) ** 2).sum(axis=1).mean())
    assert w_sp.typical == pytest.approx(rms, rel=0.15)
    avg = samples[:16].mean(axis=0)
    assert np.linalg.norm(w_sp.to_typical(avg) - w_sp.mean) == pytest.approx(w_sp.typical, rel=1e-4)
    assert w_sp.amount_limit(np.zeros(128)) == 1.0


def test_truncation_of_a_style_based_model_pulls_its_styles_whichever_space_it_is_asked_in():
    """Its mapping normalises z, so a z pulled towards zero draws the same picture: truncation is the
    styles' (towards w_avg), and a z given with psi is drawn so; its z space says it does not truncate."""
    m = _model()
    z = np.random.default_rng(3).standard_normal((3, 16)).astype(np.float32)
    assert np.array_equal(m.generate(z * 0.5), m.generate(z))  # why: shortening z changes nothing
    truncated = m.generate(z, psi=0.5)
    assert not np.array_equal(truncated, m.generate(z))
    assert np.array_equal(truncated, m.generate_w(m.to_ws(z, 0.5)))
    assert np.array_equal(m.generate(z, psi=0.0)[0], m.generate_w(m.w_avg)[0])  # psi 0: the average image
    z_sp = m.latent_space("z")
    assert not z_sp.truncatable and np.array_equal(z_sp.truncate(z, 0.5), z)
    assert m.latent_space("w").truncatable


def test_a_dcgan_is_truncated_in_z():
    from studio.engine.explore.latent import truncate

    kind = get_kind("dcgan")
    cfg = kind.config_cls(size=32, z_dim=8, ngf=8, ndf=8)
    torch.manual_seed(0)
    m = GeneratorModel(cfg, kind.make_generator(cfg).state_dict(), kind=kind)
    z = np.random.default_rng(3).standard_normal((3, 8)).astype(np.float32)
    assert m.latent_space("z").truncatable
    assert np.array_equal(m.generate(z, psi=0.5), m.generate(truncate(z, 0.5)))
    assert not np.array_equal(m.generate(z, psi=0.5), m.generate(z))


# ----- with a trained model: what the layer groups carry, arithmetic and directions in W ---------------------
DEMO = Path(__file__).resolve().parents[2] / "models" / "demo-style"  # the bundled style-based faces, 64 px


@pytest.fixture(scope="module")
def classifier():
    from tests.engine.attribute_classifier import train_classifier

    return train_classifier(32, seed=0)  # ~30 s on one free core, cached for the whole test process


@pytest.fixture(scope="module")
def faces_model():
    """The bundled style-based model of the procedural faces (64 px, small preset; too long to train
    in a test: scripts/make_demo_models.py --only style)."""
    from studio.engine.explore.generator import load_generator

    if not DEMO.is_dir():
        pytest.skip("models/demo-style is missing: make it with scripts/make_demo_models.py --only style")
    return load_generator(DEMO, device="cpu")


def _regions(pictures: np.ndarray) -> dict[str, np.ndarray]:
    """Mean colours (N, 3) of where the procedural portraits put each colour attribute: the background
    (the two top corners), the skin (below the eyes, mid-face), the hair (above the forehead) and
    the shirt (bottom centre)."""
    x = pictures.astype(np.float32)
    s = x.shape[1]
    k, c = max(1, s // 8), s // 2

    def mean(*parts):
        return np.concatenate([p.reshape(len(x), -1, 3) for p in parts], axis=1).mean(axis=1)

    return {"background": mean(x[:, :k, :k], x[:, :k, -k:]),
            "skin": mean(x[:, s // 2 : s * 6 // 10, c - s // 10 : c + s // 10]),
            "hair": mean(x[:, s * 12 // 100 : s // 5, c - s // 8 : c + s // 8]),
            "shirt": mean(x[:, s * 9 // 10 :, c - s // 6 : c + s // 6])}


def _mixing_pairs(model, classifier, count=800, pairs=200, seed=123):
    """Pairs (A, B) of confident faces that differ in hair length and in background colour."""
    from tests.engine.attribute_classifier import predict

    ws = model.to_ws(torch.randn(count, model.z_dim, generator=torch.Generator().manual_seed(seed)).numpy())
    pictures = model.generate_w(ws)
    p = predict(classifier, pictures)
    hair, bg = p["long_hair"] > 0.5, _regions(pictures)["background"]
    sure = np.flatnonzero((p["face"] > 0.5) & ((p["long_hair"] < 0.1) | (p["long_hair"] > 0.9)))
    rng = np.random.default_rng(0)
    a_idx, b_idx = [], []
    for _ in range(100 * pairs):
        a, b = rng.choice(sure, 2, replace=False)
        if hair[a] != hair[b] and np.linalg.norm(bg[a] - bg[b]) > 20:
            a_idx.append(a)
            b_idx.append(b)
        if len(a_idx) == pairs:
            break
    assert len(a_idx) >= pairs // 2, len(a_idx)
    return ws, pictures, p, np.array(a_idx), np.array(b_idx)


@pytest.mark.timeout(600)
def test_style_mixing_what_each_layer_group_carries(faces_model, classifier):
    """Style mixing on the bundled 64 px faces: A's styles of one group with B's others, measured with
    the attribute classifier (hair length, a shape) and colour statistics (mean colour where the
    portraits put the background, the skin, the hair and the shirt; "from A" = nearer A's colour than
    B's, over the pairs whose colours there differ).

    Shape follows the coarse styles (4-8 px) and the colour scheme's background the fine ones (32-64
    px), as in the papers (StyleGAN, section 3.1). The faces' own colours (skin, hair, shirt) ride on
    the coarse styles with the shape: the skip generator's 4-8 px RGB outputs paint those flat areas.
    The middle styles (16 px) carry none of these. What each group carries is learned and differs
    between runs (docs/explorer.md, style_space.py): of seven 64 px runs on these portraits, the fine
    styles carried the background in four, the coarse in two (the demo bundled before this one, seed
    1) and the middle in one; this test asserts what the bundled demo does."""
    from tests.engine.attribute_classifier import predict

    m = faces_model
    ws, pictures, p, a, b = _mixing_pairs(m, classifier)
    hair, colours = p["long_hair"] > 0.5, _regions(pictures)

    def read(group):
        mixed = m.generate_w(m.mix(ws[a], ws[b], group))
        q, mine = predict(classifier, mixed), _regions(mixed)
        out = {"faces": float((q["face"] > 0.5).mean()),
               "hair length": float(((q["long_hair"] > 0.5) == hair[a]).mean())}
        for name, c in mine.items():
            differ = np.linalg.norm(colours[name][a] - colours[name][b], axis=1) > 20
            nearer_a = np.linalg.norm(c - colours[name][a], axis=1) < np.linalg.norm(c - colours[name][b], axis=1)
            out[name] = float(nearer_a[differ].mean())
        print(f"A's {group} + B's rest ({len(a)} pairs), from A: " + ", ".join(f"{k} {v:.0%}" for k, v in out.items()))
        return out

    print()
    coarse, middle, fine = read("coarse"), read("middle"), read("fine")
    assert min(coarse["faces"], middle["faces"], fine["faces"]) >= 0.9
    # Measured on the bundled demo (64 px, seed 3, 16,000 steps; 2-core Zen 4 EPYC, 2026-12-05):
    # coarse: hair length 98%, skin 98%, hair 83%, shirt 93%, background 3%
    assert coarse["hair length"] >= 0.85 and min(coarse["skin"], coarse["hair"], coarse["shirt"]) >= 0.65
    assert coarse["background"] <= 0.2
    # fine: the background's colour 98%, no shape (hair length 0%), the faces' colours 0-10%
    assert fine["background"] >= 0.85 and fine["hair length"] <= 0.1
    assert max(fine["skin"], fine["hair"], fine["shirt"]) <= 0.25
    # middle: none of them (0-8%)
    assert max(v for k, v in middle.items() if k != "faces") <= 0.2


def _w_arithmetic_and_direction(model, classifier, exemplars=16, trials=100):
    """The bundled-demo figures in W: glasses + long hair from avg(glasses, short) - avg(short) +
    avg(long), rescaled to a typical distance from w_avg; and a glasses direction (mean w of faces
    with glasses - without) put on faces without."""
    from studio.engine.explore import latent as L
    from tests.engine.attribute_classifier import predict

    space = model.latent_space("w")
    w = space.random_latents(31337, 2000)
    p = predict(classifier, model.generate_w(w))
    sure, g, h = p["face"] > 0.9, p["glasses"], p["long_hair"]
    pools = [np.flatnonzero(sure & (g > 0.95) & (h < 0.05)), np.flatnonzero(sure & (g < 0.05) & (h < 0.05)),
             np.flatnonzero(sure & (g < 0.05) & (h > 0.95))]
    assert min(len(x) for x in pools) >= 3 * exemplars, [len(x) for x in pools]
    rng = np.random.default_rng(0)
    results, bases = [], []
    for _ in range(trials):
        x, y, z = (tuple(w[rng.choice(pool, exemplars, replace=False)]) for pool in pools)
        results.append(space.to_typical(L.combine([L.Slot(1, x), L.Slot(-1, y), L.Slot(1, z)])))
        bases.append(space.to_typical(L.mean_latent(z)))
    q = predict(classifier, model.generate_w(np.stack(results)))
    both = float(((q["face"] > 0.5) & (q["glasses"] > 0.5) & (q["long_hair"] > 0.5)).mean())
    base = float((predict(classifier, model.generate_w(np.stack(bases)))["glasses"] > 0.5).mean())
    half = len(w) // 2  # the direction from one half, tried on the other
    d = L.difference(w[:half][sure[:half] & (g[:half] > 0.9)], w[:half][sure[:half] & (g[:half] < 0.1)])
    without = w[half:][sure[half:] & (g[half:] < 0.2)][:200]
    added = float((predict(classifier, model.generate_w(L.apply_direction(without, d, 1.0)))["glasses"] > 0.5).mean())
    removed = float((predict(classifier, model.generate_w(L.apply_direction(without, d, -1.0)))["glasses"] > 0.5)
                    .mean())
    return both, base, added, removed


@pytest.mark.timeout(600)
def test_arithmetic_and_directions_in_w_on_the_bundled_demo(faces_model, classifier):
    """W arithmetic and a glasses direction on the bundled style-based faces, measured as the DCGAN
    demo's are in z (tests/engine/test_bundled_models.py: glasses + long hair in 81% of trials); the
    issue asks for at least 80% in W.

    Measured on this demo (64 px, seed 3, 16,000 steps, R1 weight 2.0, random exemplar sets of 16 a
    slot, the result rescaled to a typical distance from w_avg; 2-core Zen 4 EPYC, 2026-12-05): glasses
    + long hair in 100% of 100 trials, where the long-hair slot alone shows glasses in 0%; the glasses
    direction at +1 puts glasses on 86% of faces without them, at -1 on 0.5%. The demo bundled before
    it (seed 1, 12,000 steps) gave 90%, 0%, 67% and 0%; the one before that (the reference's R1 weight,
    0.05) 11%, 2%, 28% and 5%: it drew glasses on 71% of its faces, so the mean of any 16 of its w drew
    glasses, even of 16 faces without them (docs/stylegan.md)."""
    both, base, added, removed = _w_arithmetic_and_direction(faces_model, classifier)
    print(f"\nin W: glasses + long hair in {both:.0%} of 100 trials (the long-hair slot alone: glasses in {base:.0%}); "
          f"glasses direction +1: {added:.0%} wear them, -1: {removed:.0%}")
    assert both >= 0.8 and base <= 0.1
    assert added >= 0.5 and removed <= 0.1
