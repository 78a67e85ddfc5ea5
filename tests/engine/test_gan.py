"""The original GAN kind (Goodfellow et al. 2014): nets, learning, exact resume, and the whole path
through the registry: a project trained, generated from and exported like any latent-space kind."""

import json

import imageio
import imageio.v3 as iio
import numpy as np
import pytest
import torch

from studio.cli.main import main
from studio.engine.config import RunSettings, config_from_dict
from studio.engine.data.dataset import DataConfig, prepare_dataset
from studio.engine.data.procedural import discs, write_folder
from studio.engine.errors import CheckpointError, UserError
from studio.engine.explore import export as E
from studio.engine.explore.generator import load_generator
from studio.engine.images import load_png
from studio.engine.models import get_kind
from studio.engine.models.gan.nets import Discriminator, Generator, Maxout
from studio.engine.models.gan.trainer import GANConfig, GANTrainer
from studio.engine.models.sessions import create_session
from studio.engine.project.checkpoints import list_checkpoints, load_checkpoint, save_checkpoint
from studio.engine.train.metrics import swd
from studio.engine.train.protocol import Trainer


@pytest.mark.parametrize("size", [28, 32, 48, 64])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_shapes_for_every_size_and_channel_count(size, channels):
    G = Generator(size, z_dim=8, width=8, channels=channels)
    x = G(torch.randn(3, 8))
    assert x.shape == (3, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1  # Tanh output
    for D in (Discriminator(size, width=8, channels=channels), Discriminator(size, 8, channels, maxout_pieces=3)):
        assert D(x).shape == (3,)
    assert not any(isinstance(m, torch.nn.Conv2d) for m in [*G.modules(), *D.modules()])  # fully connected


def test_maxout_takes_the_largest_piece_and_dropout_follows_the_given_noise():
    unit = Maxout(2, 1, pieces=3)
    with torch.no_grad():
        unit.linear.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
        unit.linear.bias.zero_()
    assert unit(torch.tensor([[2.0, 5.0], [-3.0, -4.0]])).flatten().tolist() == [5.0, 7.0]

    D = Discriminator(28, width=8, channels=1, dropout=0.5)
    x = torch.randn(4, 1, 28, 28)

    def uniform(seed):
        g = torch.Generator().manual_seed(seed)
        return lambda shape: torch.rand(shape, generator=g)

    a = D(x, uniform(1))
    assert torch.equal(a, D(x, uniform(1)))  # masks from the given noise alone
    assert not torch.equal(a, D(x, uniform(2)))
    D.eval()
    assert torch.equal(D(x, uniform(1)), D(x))  # no dropout when evaluating


def test_bad_config_is_a_user_error():
    with pytest.raises(UserError, match="28, 32, 48, 64"):
        GANConfig(size=128).validate()
    with pytest.raises(UserError, match="width"):
        GANConfig(width=4096).validate()
    with pytest.raises(UserError, match="Maxout"):
        GANConfig(maxout=1).validate()


def _tensor(pictures: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).contiguous()  # (N, H, W, C) -> (N, C, H, W)


def test_it_learns_discs_swd_to_held_out_images_falls_by_more_than_half():
    """A few seconds of training: samples move from noise towards the held-out discs' distribution
    of colours and edges (real-vs-held-out SWD is ~50; untrained G ~900; trained ~350 here)."""
    train, held_out = discs(256, 28, seed=0), discs(256, 28, seed=1)
    cfg = GANConfig(size=28, width=128, batch=32, z_dim=32, lr=5e-4, preview_count=16)
    t = GANTrainer(cfg, _tensor(train), seed=0)
    z = torch.randn(256, cfg.z_dim, generator=torch.Generator().manual_seed(7))
    before = swd(t.generate(z), held_out)
    for _ in range(180):
        losses = t.step()
    after = swd(t.generate(z), held_out)
    assert all(np.isfinite(v) for v in losses.values())
    assert after < 0.5 * before, (before, after)
    assert abs(t.generate(z).mean() - held_out.mean()) < 15  # the light backgrounds' brightness, roughly


CFG = GANConfig(size=28, channels=1, width=16, z_dim=8, batch=8, preview_count=4)


def _data(n=20, seed=0):
    return torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_exact_resume_through_checkpoint_files(tmp_path):
    """N+M steps in one go == N steps, save, load in a fresh trainer, M steps: bit-identical, dropout included."""
    data = _data()
    one_go = GANTrainer(CFG, data, seed=3)
    for _ in range(7):  # crosses an epoch boundary (20 images / batch 8: a new order every 2 steps)
        one_go.step()

    first = GANTrainer(CFG, data, seed=3)
    for _ in range(3):
        first.step()
    first.samples()  # making a preview must not disturb the run
    first.quality(count=16)
    save_checkpoint(tmp_path, first.global_step, *first.state_dict())

    resumed = GANTrainer(CFG, data, seed=99)  # another seed: everything must come from the file
    resumed.load_state_dict(*load_checkpoint(tmp_path / "step-0000003.json"))
    for _ in range(4):
        resumed.step()

    a, b = one_go.state_dict()[0], resumed.state_dict()[0]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert resumed.global_step == 7 and np.array_equal(one_go.samples(), resumed.samples())


def test_a_checkpoint_that_does_not_fit_leaves_the_trainer_unchanged():
    t = GANTrainer(CFG, _data(), seed=0)
    t.step()
    before = {k: v.clone() for k, v in t.state_dict()[0].items()}
    wider_tensors, wider_meta = GANTrainer(GANConfig(**{**CFG.__dict__, "width": 32}), _data(), seed=0).state_dict()
    with pytest.raises(CheckpointError, match="shape"):
        t.load_state_dict(wider_tensors, wider_meta)
    with pytest.raises(CheckpointError, match="dcgan"):
        t.load_state_dict(before, {"kind": "dcgan"})
    after = t.state_dict()[0]
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_the_kind_makes_protocol_trainers_and_generators_that_load_the_ema_weights():
    kind = get_kind("gan")
    assert kind.capabilities.latent_space and "onnx" in kind.export_formats
    cfg = kind.default_config(DataConfig(size=32, grayscale=True), {}, {"width": 16, "z_dim": 8})
    assert (cfg.size, cfg.channels, cfg.width) == (32, 1, 16)
    with pytest.raises(UserError, match="Unknown"):
        kind.default_config(DataConfig(size=32), {}, {"ngf": 8})
    with pytest.raises(UserError, match="size"):
        kind.default_config(DataConfig(size=128), {}, {})
    trainer = GANTrainer(cfg, torch.zeros(4, 1, 32, 32, dtype=torch.uint8))
    assert isinstance(trainer, Trainer)
    G = kind.make_generator(cfg)
    G.load_state_dict(trainer.generator_state())  # the checkpoint's G_ema.* keys, prefix removed
    assert G.eval()(torch.zeros(1, kind.z_dim(cfg))).shape == (1, 1, 32, 32)


def test_a_project_trains_through_the_session_and_exports_like_any_latent_space_kind(tmp_path):
    """The engine path the studio takes: create_session -> run -> load_generator -> ONNX export."""
    data = write_folder(discs(12, 32, seed=0), tmp_path / "discs")
    settings = RunSettings(steps=4, sample_every=2, checkpoint_every=4, metric_every=2, seed=1, device="cpu")
    session = create_session(tmp_path / "proj", "gan", {"data": str(data)}, DataConfig(size=32), settings,
                             {"batch": 4, "width": 16, "z_dim": 8})
    for _ in session.run():
        pass
    model = load_generator(tmp_path / "proj", device="cpu")
    assert model.step == 4 and model.generate_seeded(3, 0).shape == (3, 32, 32, 3)
    worst = E.export_onnx(model, tmp_path / "g.onnx", verify=True)
    assert worst < 1e-4
    history = [json.loads(line) for line in (tmp_path / "proj" / "history.jsonl").read_text().splitlines()]
    assert any("swd" in h for h in history)  # the quality metric ran


def test_cli_train_generate_and_export(tmp_path, capsys):
    data = write_folder(discs(12, 28, seed=0), tmp_path / "discs")
    out = tmp_path / "proj"
    assert main(["train", "gan", "--data", str(data), "--out", str(out), "--size", "28", "--grayscale",
                 "--batch", "4", "--width", "16", "--z-dim", "8", "--steps", "4", "--sample-every", "2",
                 "--checkpoint-every", "4", "--metric-every", "0"]) == 0
    meta = json.loads((out / "project.json").read_text())
    assert meta["kind"] == "gan" and meta["step"] == 4 and meta["model"]["channels"] == 1
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [0, 4]
    assert main(["generate", str(out), "--count", "3", "--out", str(tmp_path / "new"), "--seed", "5"]) == 0
    pictures = sorted((tmp_path / "new").iterdir())
    assert len(pictures) == 3 and load_png(pictures[0]).shape[:2] == (28, 28)
    assert main(["export", str(out), "--onnx", str(tmp_path / "g.onnx")]) == 0
    assert "onnxruntime matches PyTorch" in capsys.readouterr().out
    for name in ("walk.gif", "walk.mp4", "walk.webp"):  # every animation format the kind lists
        assert main(["export", str(out), "--walk", str(tmp_path / name), "--frames", "4", "--seeds", "1,2"]) == 0
        frames = _frames(tmp_path / name)
        assert len(frames) == 4 and frames.std() > 1, name  # four pictures, not blank
    assert main(["export", str(out), "--timelapse", str(tmp_path / "t.gif")]) == 0
    assert len(_frames(tmp_path / "t.gif")) == 3  # the grids of steps 0, 2 and 4


def _frames(path) -> np.ndarray:
    if path.suffix == ".mp4":
        with imageio.get_reader(path, format="FFMPEG") as reader:
            return np.stack([f for f in reader])  # not list(reader): its length is "unknown", sys.maxsize
    return np.stack([f[..., :3] for f in iio.imiter(path, plugin="pillow")])


@pytest.mark.timeout(300)
def test_two_processes_match_one_process_on_the_same_global_batch(tmp_path):
    """`--devices 2` (DDP, gloo, two CPU processes): the losses and weights of one process on the
    same global batch, dropout masks included; rank 0 alone writes."""
    data = write_folder(discs(20, 28, seed=0), tmp_path / "data")
    out = tmp_path / "ddp"
    assert main(["train", "gan", "--data", str(data), "--out", str(out), "--size", "28", "--batch", "8",
                 "--width", "16", "--z-dim", "8", "--steps", "3", "--log-every", "1", "--metric-every", "0",
                 "--checkpoint-every", "3", "--precision", "fp32", "--seed", "5", "--devices", "2"]) == 0
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [1, 2, 3]
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [0, 3]

    meta = json.loads((out / "project.json").read_text())
    ref = GANTrainer(config_from_dict(GANConfig, meta["model"]),
                     prepare_dataset(data, config_from_dict(DataConfig, meta["data"]["config"])).images, seed=5)
    G = ref.G
    ref._G = lambda z: torch.cat([G(half) for half in z.chunk(2)])  # G's BatchNorm statistics per process
    for h, r in zip(history, [ref.step() for _ in range(3)]):
        for k in r:
            assert h[k] == pytest.approx(r[k], rel=1e-4, abs=1e-5), (h["step"], k)
    tensors, _ = load_checkpoint(out / "checkpoints" / "step-0000003.json")
    for prefix, net in (("G", ref.G), ("D", ref.D)):
        for k, v in net.state_dict().items():
            if v.is_floating_point() and "running" not in k:
                assert torch.allclose(tensors[f"{prefix}.{k}"], v, atol=1e-5), (prefix, k)
