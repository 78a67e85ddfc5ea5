"""The style-based kind: network shapes, modulated convolution against a per-sample reference,
exact resume, learning, the kind's config and suggestion, ONNX and the command line end to end."""

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from studio.cli.main import main
from studio.engine.config import config_from_dict
from studio.engine.data.dataset import DataConfig
from studio.engine.data.procedural import discs, write_folder
from studio.engine.errors import CheckpointError, UserError
from studio.engine.images import load_png
from studio.engine.models import get_kind
from studio.engine.models.stylegan import nets
from studio.engine.models.stylegan.trainer import (
    PRESETS,
    StyleGANConfig,
    StyleGANTrainer,
    build_discriminator,
    build_generator,
)
from studio.engine.models.suggest import DeviceInfo
from studio.engine.project.checkpoints import list_checkpoints, load_checkpoint
from studio.engine.train.metrics import swd
from studio.engine.train.protocol import Trainer
from tests.engine.style_helpers import assert_exact_resume

TINY = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128, "channel_max": 16}


@pytest.mark.parametrize("size", nets.SIZES)
def test_shapes_for_every_size_small_preset(size):
    cfg = StyleGANConfig(size=size, **PRESETS["small"])
    G, D = build_generator(cfg), build_discriminator(cfg)
    z = torch.randn(2, G.z_dim)
    ws = G.mapping(z)
    assert ws.shape == (2, 2 * int(np.log2(size)) - 2, G.w_dim)
    img = G.eval()(z)
    assert img.shape == (2, 3, size, size) and img.min() >= -1 and img.max() <= 1
    assert torch.equal(img, G.synthesis(ws).clamp(-1, 1))  # mapping then synthesis is the whole generator
    assert D(img).shape == (2,)


def test_full_preset_has_the_papers_widths():
    cfg = StyleGANConfig(size=64, channels=4, **PRESETS["full"])
    G, D = build_generator(cfg), build_discriminator(cfg)
    assert G.synthesis.const.shape == (512, 4, 4) and len(G.mapping.fcs) == 8
    assert G.synthesis.layers[-1].weight.shape[0] == 256  # 16384 / 64
    assert D.from_rgb.weight.shape[0] == 256  # the reference's critic: as wide as the generator
    assert D(G.eval()(torch.randn(1, 512))).shape == (1,)


def test_the_small_presets_critic_is_half_as_wide_and_older_models_keep_theirs():
    def widths(cfg):
        G, D = build_generator(cfg), build_discriminator(cfg)
        return ([layer.weight.shape[0] for layer in G.synthesis.layers[::2]],  # 4, 8, 16, 32, 64 px
                [D.from_rgb.weight.shape[0], *(block.conv1.weight.shape[0] for block in D.blocks)])  # 64 px down to 4
    g, d = widths(StyleGANConfig(size=64, **PRESETS["small"]))
    assert g == [64, 64, 64, 32, 16] and d == [8, 16, 32, 64, 64]  # half from 16 px up, where the cost is
    # a model recorded before the field (its config has no critic_width): the reference's critic, the
    # generator's widths, so its checkpoint's critic still loads and fine-tuning keeps its shape
    recorded = {k: v for k, v in dataclasses.asdict(StyleGANConfig(size=64, **PRESETS["small"])).items()
                if k != "critic_width"}
    old = config_from_dict(StyleGANConfig, recorded)
    assert widths(old) == (g, [16, 32, 64, 64, 64])
    assert "critic_width" in get_kind("stylegan").architecture_fields
    with pytest.raises(UserError, match="width"):
        StyleGANConfig(critic_width=0).validate()


def test_modulated_conv_equals_a_per_sample_convolution():
    g = torch.Generator().manual_seed(0)
    x, w, s = torch.randn(3, 5, 7, 7, generator=g), torch.randn(4, 5, 3, 3, generator=g), torch.randn(3, 5, generator=g)
    for demod in (True, False):
        want = []
        for i in range(3):  # the paper's definition: scale the weights per sample, then normalise each output
            wi = w * s[i][None, :, None, None]
            if demod:
                wi = wi / wi.square().sum(dim=[1, 2, 3], keepdim=True).add(1e-8).sqrt()
            want.append(F.conv2d(x[i : i + 1], wi, padding=1))
        want = torch.cat(want)
        assert torch.allclose(nets.modulated_conv(x, w, s, demodulate=demod), want, atol=1e-5)
        assert torch.allclose(nets.modulated_conv_grouped(x, w, s, demodulate=demod), want, atol=1e-5)


def _fir(x, pad):  # the reference's upfirdn2d filter step, written out: zero padding, then the 4x4 FIR per channel
    f = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64
    return F.conv2d(F.pad(x, pad), f[None, None].repeat(x.shape[1], 1, 1, 1), groups=x.shape[1])


def test_resampling_convolutions_follow_the_reference_generic_path():
    """The fast forms (transposed / strided convolutions) against conv2d_resample's generic path of
    StyleGAN2-ADA: up = zero-insert, pad (3, 2), FIR x4, true convolution; down = pad 2, convolution,
    FIR, every second pixel. A mistake in the padding shifts the picture and fails here."""
    g = torch.Generator().manual_seed(1)
    x, w, s = torch.randn(3, 5, 6, 6, generator=g), torch.randn(4, 5, 3, 3, generator=g), torch.randn(3, 5, generator=g)
    want = []
    for i in range(3):
        wi = w * s[i][None, :, None, None]
        wi = wi / wi.square().sum(dim=[1, 2, 3], keepdim=True).add(1e-8).sqrt()
        z = torch.zeros(1, 5, 12, 12)
        z[:, :, ::2, ::2] = x[i : i + 1]
        want.append(F.conv2d(_fir(z, [3, 2, 3, 2]) * 4, wi.flip([2, 3])))
    want = torch.cat(want)
    assert want.shape == (3, 4, 12, 12)
    assert torch.allclose(nets.modulated_conv(x, w, s, up=True), want, atol=1e-5)
    assert torch.allclose(nets.modulated_conv_grouped(x, w, s, up=True), want, atol=1e-5)

    conv = nets.Conv(5, 4, 3, act=False, down=True)
    ref = _fir(F.conv2d(F.pad(x, [2] * 4), conv.weight * conv.weight_gain, conv.bias), [0] * 4)[:, :, ::2, ::2]
    assert ref.shape == (3, 4, 3, 3)
    assert torch.allclose(conv(x), ref, atol=1e-5)
    skip = nets.Conv(5, 4, 1, act=False, bias=False, down=True)
    ref = F.conv2d(_fir(x, [1] * 4)[:, :, ::2, ::2], skip.weight * skip.weight_gain)
    assert torch.allclose(skip(x), ref, atol=1e-5)


def test_truncation_pulls_towards_the_tracked_w_average():
    G = nets.Generator(32, **TINY)
    z = torch.randn(64, 16)
    G.mapping(z, track_w_avg=True)
    assert G.mapping.w_avg.abs().sum() > 0  # tracked from the batch
    w1, w0 = G.mapping(z), G.mapping(z, psi=0.0)
    assert torch.allclose(w0, G.mapping.w_avg.expand_as(w0))
    assert torch.allclose(G.mapping(z, psi=0.5), (w1 + w0) / 2, atol=1e-6)


def test_minibatch_std_groups_any_batch():
    x = torch.randn(6, 4, 4, 4)
    y = nets.MinibatchStd(4)(x)  # 6 is not a multiple of 4: groups of 3
    assert y.shape == (6, 5, 4, 4)
    same = nets.MinibatchStd(4)(torch.ones(4, 4, 4, 4))
    assert same[:, 4].abs().max() < 1e-3  # identical images: no spread


def test_bad_config_is_a_user_error():
    with pytest.raises(UserError, match="32, 64"):
        StyleGANConfig(size=48).validate()
    with pytest.raises(UserError, match="capacity"):
        StyleGANConfig(preset="huge").validate()
    with pytest.raises(UserError, match="batch"):
        StyleGANConfig(batch=1).validate()


# ada_target 0: p rises whenever D calls most reals real, which it learns within a few steps, so
# the resume tests carry an augmentation state that has moved.
CFG = StyleGANConfig(size=32, batch=8, preview_count=4, diffaugment=True, r1_gamma=0.01, ada_kimg=0.2,
                     ada_target=0.0, **TINY)


def _data(n=20, seed=0):
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_exact_resume_through_checkpoint_files(tmp_path):
    """N+M steps in one go == N steps, save, load in a fresh trainer, M steps: bit-identical, with
    style mixing, noise, R1 (steps 0 and 16) and the adaptive augmentation probability."""
    # saved at 6: mid-way through an ADA interval
    assert_exact_resume(tmp_path, CFG, _data(), steps=18, save_at=6, measure_quality=True)


def test_a_checkpoint_that_does_not_fit_leaves_the_trainer_unchanged():
    t = StyleGANTrainer(CFG, _data(), seed=0)
    t.step()
    before = {k: v.clone() for k, v in t.state_dict()[0].items()}
    wider = StyleGANTrainer(StyleGANConfig(**{**CFG.__dict__, "channel_max": 32}), _data(), seed=0).state_dict()
    with pytest.raises(CheckpointError, match="shape"):
        t.load_state_dict(*wider)
    tensors, meta = t.state_dict()
    with pytest.raises(CheckpointError, match="augmentation"):
        t.load_state_dict(tensors, {k: v for k, v in meta.items() if k != "ada"})
    with pytest.raises(CheckpointError, match="path-length"):
        t.load_state_dict(tensors, {**meta, "pl_mean": "soon"})
    after = t.state_dict()[0]
    assert all(torch.equal(before[k], after[k]) for k in before)


PL_CFG = StyleGANConfig(**{**CFG.__dict__, "pl_weight": 2.0})


def test_exact_resume_with_path_length_regularisation(tmp_path):
    """Path-length regularisation at steps 0, 4, 8 and 12, the save at 6 between two of them: its
    running mean of path lengths rides in the checkpoint, so the resumed run pulls towards the same one."""
    assert_exact_resume(tmp_path, PL_CFG, _data(), steps=14, save_at=6)


def test_path_length_regularisation_is_lazy_as_the_reference():
    """Every 4th generator step (its penalty reported as PL), G's Adam rate and betas scaled by 4/5 as
    the reference does for lazy regularisation, the running mean moving from 0 towards the lengths;
    off (the small preset's default), none of it."""
    on, off = StyleGANTrainer(PL_CFG, _data(), seed=0), StyleGANTrainer(CFG, _data(), seed=0)
    group = on.opt_G.param_groups[0]
    assert group["lr"] == pytest.approx(CFG.lr * 0.8) and group["betas"] == pytest.approx((0.0, 0.99**0.8))
    assert off.opt_G.param_groups[0]["lr"] == CFG.lr and off.opt_G.param_groups[0]["betas"] == (0.0, 0.99)
    reports = [on.step() for _ in range(9)]
    assert ["PL" in r for r in reports] == [i % 4 == 0 for i in range(9)]
    assert all(np.isfinite(r["PL"]) and r["PL"] > 0 for r in reports if "PL" in r)
    assert 0 < on.pl_mean
    assert not any("PL" in off.step() for _ in range(5)) and off.pl_mean == 0.0


def test_the_path_length_gradient_lowers_the_penalty():
    """A small plain gradient step of G along the path-length term alone lowers the penalty on the same
    draws, and a step the other way raises it: the double backward through the modulated convolutions
    gives the penalty's gradient."""
    t = StyleGANTrainer(PL_CFG, _data(), seed=0)
    state, params = t.rng.get_state(), [p for p in t.G.parameters() if p.requires_grad]

    def penalty() -> float:
        t.rng.set_state(state)  # the same styles, noise and image-space directions each time
        t.pl_mean = 0.0
        for p in params:
            p.grad = None
        return float(t._pl_backward(None))

    p0 = penalty()
    grads = [None if p.grad is None else p.grad.clone() for p in params]
    assert sum(g is not None and bool(g.abs().sum() > 0) for g in grads) > len(params) // 2
    changed = {}
    for sign in (1, -1):
        with torch.no_grad():
            for p, g in zip(params, grads):
                if g is not None:
                    p.sub_(sign * 1e-3 * g)
        changed[sign] = penalty()
        with torch.no_grad():
            for p, g in zip(params, grads):
                if g is not None:
                    p.add_(sign * 1e-3 * g)
    assert changed[1] < p0 < changed[-1], (changed[1], p0, changed[-1])


def test_noise_inputs_off_keeps_every_noise_strength_at_zero():
    """With the per-layer noise off, G cannot draw detail from noise (on the 32 px faces the finest
    layer's noise stood in for eyes and mouths): the strengths stay exactly 0 in G and its EMA while
    the rest learns; with it on (the default) they move."""
    strengths = {}
    for on in (True, False):
        t = StyleGANTrainer(StyleGANConfig(**{**CFG.__dict__, "noise_inputs": on}), _data(), seed=0)
        first_weight = t.G.synthesis.layers[0].weight.detach().clone()
        for _ in range(3):
            t.step()
        strengths[on] = [float(layer.noise_strength.detach()) for net in (t.G, t.ema.ema)
                         for layer in net.synthesis.layers]
        assert not torch.equal(first_weight, t.G.synthesis.layers[0].weight)  # the rest learns
    assert all(v == 0.0 for v in strengths[False])
    assert any(v != 0.0 for v in strengths[True])


def test_under_cpu_bf16_autocast_activations_stay_bf16_and_the_strided_filter_runs_in_fp32():
    """The bf16 path's forms: the modulation keeps bf16 activations bf16 (an fp32 style would promote
    every layer's output to fp32 and autocast would convert it back for the next convolution; the
    3-channel skip image stays fp32), and the
    critic's stride-2 FIR filter runs in fp32 on a CPU (oneDNN's bf16 depthwise strided convolution took
    22-30 ms a backward at 64 px where fp32 takes 1-5). The numbers stay fp32's up to bf16 rounding."""
    torch.manual_seed(0)
    G, D = nets.Generator(32, 16, 16, channel_base=128, channel_max=16), nets.Discriminator(32, channel_base=128,
                                                                                          channel_max=16)
    z, x, pics = torch.randn(4, 16), torch.randn(4, 16, 8, 8), torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        ref_img, ref_logits = G.synthesis(G.mapping(z)), D(pics)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert G.synthesis.layers[1](torch.randn(4, 16, 4, 4), torch.randn(4, 16)).dtype == torch.bfloat16
            strided = nets.fir_filter(x.bfloat16(), 1, stride=2)
            img, logits = G.synthesis(G.mapping(z)), D(pics)
    assert strided.dtype == torch.float32
    assert torch.allclose(strided, nets.fir_filter(x.bfloat16().float(), 1, stride=2))
    assert (img.float() - ref_img).abs().max() < 0.05 * ref_img.abs().max()
    assert (logits.float() - ref_logits).abs().max() < 0.05 * ref_logits.abs().max() + 0.05


def test_its_fast_paths_train_the_same_networks():
    """The channels_last layout (approved: the measurement may pick it) computes what fp32 does, up to
    summation order; an explicit bf16 runs the synthesis and critic under autocast with finite losses
    and fp32 weights, R1 in fp32."""
    from studio.engine.train.fast_path import Choice, FastPath, building_with

    cfg = StyleGANConfig(**{**CFG.__dict__, "r1_gamma": 0.01})
    weights, losses = {}, {}
    for path in (FastPath("fp32"), FastPath("fp32", channels_last=True), FastPath("bf16")):
        with building_with(Choice(path, "measured")):
            t = StyleGANTrainer(cfg, _data(), seed=0)
        assert t.precision == path.precision
        losses[path] = [t.step() for _ in range(2)]  # the first step runs R1
        assert "R1" in losses[path][0] and all(np.isfinite(v) for step in losses[path] for v in step.values())
        weights[path] = torch.cat([p.detach().flatten() for p in t.G.parameters()])
        assert all(p.dtype == torch.float32 for p in t.G.parameters())
    fp32, cl, bf16 = weights.values()
    assert torch.allclose(fp32, cl, atol=1e-4)
    assert not torch.equal(fp32, bf16) and torch.allclose(fp32, bf16, atol=0.05)


def _tensor(pictures: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).contiguous()


@pytest.mark.timeout(300)
def test_it_learns_discs_swd_to_held_out_images_falls_clearly():
    """160 steps at 32 px: samples move from the untrained grey towards the held-out discs (SWD
    427 -> 284 with this seed; ~29 s with one thread on the shared CPU)."""
    train, held_out = discs(256, 32, seed=0), discs(256, 32, seed=1)
    cfg = StyleGANConfig(size=32, batch=8, preview_count=4, lr=0.002, r1_gamma=0.01, ema_kimg=0.5, z_dim=32,
                         w_dim=32, mapping_layers=2, channel_base=256, channel_max=32)
    t = StyleGANTrainer(cfg, _tensor(train), seed=0)
    z = torch.randn(256, cfg.z_dim, generator=torch.Generator().manual_seed(7))
    before = swd(t.generate(z), held_out)
    for _ in range(160):
        losses = t.step()
    after = swd(t.generate(z), held_out)
    assert all(np.isfinite(v) for v in losses.values())
    assert after < 0.75 * before, (before, after)


def test_the_kind_builds_configs_suggests_by_device_and_loads_ema_weights():
    kind = get_kind("stylegan")
    assert kind.capabilities.latent_space and "onnx" in kind.export_formats
    cfg = kind.default_config(DataConfig(size=64), {}, {"batch": 16})
    assert (cfg.preset, cfg.channel_max, cfg.w_dim, cfg.mapping_layers, cfg.pl_weight) == ("small", 64, 128, 8, 0.0)
    assert cfg.r1_gamma == pytest.approx(2.0)  # the small preset's own R1 weight at 64 px
    assert kind.default_config(DataConfig(size=32), {}, {}).r1_gamma == pytest.approx(0.5)  # with the pixel count
    # the full preset keeps the reference's auto gamma, 0.0002 * size^2 / batch
    assert kind.default_config(DataConfig(size=256), {}, {"preset": "full", "batch": 32}).r1_gamma == pytest.approx(
        0.0002 * 256 * 256 / 32)
    full = kind.default_config(DataConfig(size=256), {}, {"preset": "full", "batch": 32, "r1_gamma": 1.0})
    assert (full.channel_max, full.mapping_layers, full.r1_gamma, full.pl_weight) == (512, 8, 1.0, 2.0)
    with pytest.raises(UserError, match="capacity"):
        kind.default_config(DataConfig(size=64), {}, {"preset": "huge"})
    # path-length regularisation follows the capacity unless chosen
    assert kind.default_config(DataConfig(size=64), {}, {"path_length": "on"}).pl_weight == 2.0
    assert kind.default_config(DataConfig(size=256), {}, {"preset": "full", "path_length": "off"}).pl_weight == 0.0
    assert kind.default_config(DataConfig(size=256), {}, {"preset": "full", "path_length": "auto"}).pl_weight == 2.0
    with pytest.raises(UserError, match="auto, on or off"):
        kind.default_config(DataConfig(size=64), {}, {"path_length": "sometimes"})
    cpu = kind.suggest([500], [(256, 256)] * 10, DeviceInfo("cpu", "CPU", 8 * 1024**3))
    gpu = kind.suggest([500], [(256, 256)] * 10, DeviceInfo("cuda", "GPU", 80 * 1024**3))
    assert (cpu.options["preset"], cpu.size, cpu.options["diffaugment"]) == ("small", 64, True)
    # augmentation stays on for a large collection too, its strength left to ADA (starting at p = 0):
    # at 3,000 portraits without it the critic won early and the samples collapsed (kind.derived_config)
    many = kind.suggest([20_000], [(256, 256)] * 10, DeviceInfo("cpu", "CPU", 8 * 1024**3))
    assert many.options["diffaugment"] and "Adaptive" in many.reasons["diffaugment"]
    assert kind.derived_config({"data": SimpleNamespace(images=torch.zeros(5000, 1))}) == {"diffaugment": True}
    assert StyleGANTrainer(kind.default_config(DataConfig(size=32), {}, {**TINY, "batch": 4, "preview_count": 4}),
                           torch.zeros(4, 3, 32, 32, dtype=torch.uint8)).ada_p == 0.0  # ADA starts from no augmentation
    assert (gpu.options["preset"], gpu.size) == ("full", 256)
    small = kind.default_config(DataConfig(size=32), {}, {**TINY, "batch": 4, "preview_count": 4})
    trainer = StyleGANTrainer(small, torch.zeros(4, 3, 32, 32, dtype=torch.uint8))
    assert isinstance(trainer, Trainer)
    G = kind.make_generator(small)
    G.load_state_dict(trainer.generator_state())  # the checkpoint's G_ema.* keys, prefix removed
    assert G.eval()(torch.zeros(1, kind.z_dim(small))).shape == (1, 3, 32, 32)


def test_cli_train_generate_and_export_onnx(tmp_path, capsys):
    data = write_folder(discs(12, 32, seed=0), tmp_path / "discs")
    out = tmp_path / "proj"
    assert main(["train", "stylegan", "--data", str(data), "--out", str(out), "--size", "32", "--batch", "4",
                 "--steps", "4", "--sample-every", "2", "--checkpoint-every", "4", "--metric-every", "2",
                 "--path-length", "on", "--log-every", "1"]) == 0
    meta = json.loads((out / "project.json").read_text())
    assert meta["kind"] == "stylegan" and meta["step"] == 4 and meta["model"]["preset"] == "small"
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert meta["model"]["pl_weight"] == 2.0 and any("PL" in h for h in history)
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [0, 4]
    assert main(["generate", str(out), "--count", "3", "--out", str(tmp_path / "new"), "--seed", "5"]) == 0
    pictures = sorted((tmp_path / "new").iterdir())
    assert len(pictures) == 3 and load_png(pictures[0]).shape[:2] == (32, 32)
    # export checks the ONNX file against PyTorch with onnxruntime (batches 1 and 5, within 1e-4)
    assert main(["export", str(out), "--onnx", str(tmp_path / "g.onnx")]) == 0
    assert "onnxruntime matches PyTorch" in capsys.readouterr().out


def test_generator_is_reproducible_outside_training():
    G = build_generator(StyleGANConfig(size=32, **TINY)).eval()
    z = torch.randn(3, 16)
    assert torch.equal(G(z), G(z))  # fixed per-layer noise: one z, one picture


@pytest.mark.timeout(300)
def test_two_processes_match_one_process_on_the_same_global_batch(tmp_path):
    """`--devices 2` (DDP, gloo, two CPU processes): losses and weights of one process on the same
    global batch, with style mixing, per-layer noise and lazy R1 (step 0), whose gradients the
    trainer averages itself."""
    from studio.engine.config import config_from_dict
    from studio.engine.data.dataset import prepare_dataset

    data = write_folder(discs(16, 32, seed=0), tmp_path / "data")
    out = tmp_path / "ddp"
    assert main(["train", "stylegan", "--data", str(data), "--out", str(out), "--size", "32", "--batch", "8",
                 "--diffaugment", "off", "--steps", "3", "--log-every", "1", "--metric-every", "0",
                 "--checkpoint-every", "3", "--seed", "5", "--devices", "2"]) == 0
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [1, 2, 3] and "R1" in history[0]

    meta = json.loads((out / "project.json").read_text())
    ref = StyleGANTrainer(config_from_dict(StyleGANConfig, meta["model"]),
                          prepare_dataset(data, config_from_dict(DataConfig, meta["data"]["config"])).images, seed=5)
    mbstd = ref.D.mbstd.forward  # each process groups its own half of the batch
    ref.D.mbstd.forward = lambda x: torch.cat([mbstd(h) for h in x.chunk(2)])
    for h, r in zip(history, [ref.step() for _ in range(3)]):
        for k in r:
            # summation order differs between one process and two: step 3's loss_G differed by 1.1e-4
            # relative on a Xeon with AVX-512 (2026-12-03; under 1e-4 on the AVX2 EPYC)
            assert h[k] == pytest.approx(r[k], rel=3e-4, abs=1e-5), (h["step"], k)
    tensors, _ = load_checkpoint(out / "checkpoints" / "step-0000003.json")
    for prefix, net in (("G", ref.G), ("D", ref.D)):
        for k, v in net.state_dict().items():
            if "w_avg" not in k:  # tracked from each process's own half of the batch
                # equalized LR stores weights ~N(0, 1), and Adam's early steps (beta1 = 0) are nearly
                # lr * sign(grad): summation-order rounding shows as ~1e-5 (measured <= 1.6e-5 on the
                # AVX2 EPYC); Adam divides each gradient by its own size, so where a gradient is
                # near 0 the rounding is a large part of it (a Xeon with AVX-512, 2026-12-03, also
                # before that session's changes: up to 2.3% of a layer's entries more than 1e-4
                # apart, at most 0.0017), never more than 2 lr a step
                diff = (tensors[f"{prefix}.{k}"] - v).abs()
                assert diff.max() <= 2 * meta["model"]["lr"] * 3 and (diff > 1e-4).float().mean() < 0.05, \
                    (prefix, k, float(diff.max()), float((diff > 1e-4).float().mean()))
