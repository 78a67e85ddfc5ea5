"""What only a CUDA GPU exercises: fused Adam, cudnn.benchmark, bf16 autocast with channels_last,
the fast path measured on the GPU, and a real out-of-memory error halving the batch.
Skipped without a GPU; bench/gpu_check.sh runs them (`pytest -m gpu`) on a lent machine."""

import pytest
import torch

from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def _images(n=16, size=32):
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def test_a_cuda_trainer_uses_fused_adam_cudnn_autotuning_and_bf16_channels_last():
    t = DCGANTrainer(DCGANConfig(size=32, batch=8, ngf=8, ndf=8), _images(), device="cuda")
    assert t.opt_G.defaults["fused"] and t.opt_D.defaults["fused"]
    assert torch.backends.cudnn.benchmark  # fixed shapes every step: the autotuned kernels pay off
    if torch.cuda.is_bf16_supported():
        assert (t.precision, t.memory_format) == ("bf16", torch.channels_last)
        with t._autocast():
            assert t.G(torch.randn(2, 100, device="cuda")).dtype == torch.bfloat16
    assert not t.fast.path.small_maps  # a CPU-only lever
    losses = [t.step() for _ in range(3)]
    assert all(torch.isfinite(torch.tensor(list(step.values()))).all() for step in losses)
    assert t.images.device.type == "cuda"


def test_the_fast_path_is_measured_on_the_gpu_and_remembered(tmp_path, monkeypatch):
    from studio.engine.models import get_kind
    from studio.engine.train.fast_path import ChoiceCache, build_trainer, machine_key

    monkeypatch.setenv("GAN_STUDIO_FAST_PATH", "measure")
    kind, cfg, device = get_kind("dcgan"), DCGANConfig(size=32, batch=8, ngf=8, ndf=8), torch.device("cuda")
    cache = ChoiceCache(tmp_path / "fast-paths.json")

    def make(probe):
        return DCGANTrainer(cfg, _images(), device=device)

    first = build_trainer("dcgan", kind.approved_paths(), cfg, device, make, cache=cache)
    assert first.fast.how == "measured" and not any("small-map" in label for label in first.fast.step_ms)
    assert torch.cuda.get_device_name(device) in machine_key(device)
    again = build_trainer("dcgan", kind.approved_paths(), cfg, device, make, cache=cache)
    assert again.fast.how == "cached" and again.fast.path == first.fast.path


def test_a_real_out_of_memory_error_halves_the_batch_and_training_goes_on(tmp_path):
    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import DataConfig
    from studio.engine.data.procedural import discs
    from studio.engine.images import save_png
    from studio.engine.models.sessions import create_session

    folder = tmp_path / "images"
    folder.mkdir()
    for i, pic in enumerate(discs(16, 64, seed=0)):
        save_png(folder / f"{i}.png", pic)
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, 1.5e9 / total))  # ~1.5 GB, whatever the GPU
    try:
        s = create_session(tmp_path / "p", "dcgan", {"data": str(folder)}, DataConfig(size=64),
                           RunSettings(steps=3, device="cuda", sample_every=1000, checkpoint_every=1000),
                           {"batch": 8192})
        messages = [m for ev in s.run() for m in ev.messages]
        s.close()
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    assert any(m.startswith("Out of memory at batch 8192") for m in messages), messages
    assert s.trainer.global_step == 3 and s.trainer.batch < 8192
