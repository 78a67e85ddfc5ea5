"""The fast path each trainer picks on the CPU, and the frozen discriminator of the DCGAN G step."""

import pytest
import torch

from studio.engine import device as device_mod
from studio.engine.device import fast_path
from studio.engine.models.cyclegan.trainer import CycleGANConfig, CycleGANTrainer
from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer

CPU = torch.device("cpu")


@pytest.mark.parametrize("native_bf16", [False, True])
def test_auto_on_cpu_uses_bf16_only_where_native_and_quality_checked(monkeypatch, native_bf16):
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda: native_bf16)
    fast = "bf16" if native_bf16 else "fp32"
    assert fast_path(CPU, "auto", False, cpu_channels_last=True, cpu_bf16=True) == (fast, True)
    assert fast_path(CPU, "auto", False, cpu_channels_last=False) == ("fp32", False)  # the model did not pass
    # explicit choices are kept as given
    assert fast_path(CPU, "fp32", False, cpu_channels_last=True, cpu_bf16=True) == ("fp32", False)
    assert fast_path(CPU, "bf16", True) == ("bf16", True)


def test_native_bf16_probe_answers_without_failing():
    assert device_mod.cpu_has_native_bf16() in (True, False)


def _images(n=16, size=32):
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("native_bf16", [False, True])
def test_dcgan_runs_channels_last_and_cyclegan_contiguous_fp32_on_cpu_by_default(monkeypatch, native_bf16):
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda: native_bf16)
    d = DCGANTrainer(DCGANConfig(size=32, batch=4, ngf=8, ndf=8), _images())
    assert (d.precision, d.memory_format) == ("bf16" if native_bf16 else "fp32", torch.channels_last)
    assert d._real_batch().is_contiguous(memory_format=torch.channels_last)
    assert next(d.D.parameters()).is_contiguous(memory_format=torch.channels_last)
    d.step()  # the bf16 autocast step runs (emulated where the CPU lacks bf16: slow, still correct)
    c = CycleGANTrainer(CycleGANConfig(size=32, ngf=4, ndf=4), _images(4, 36), _images(4, 36))
    assert (c.precision, c.memory_format) == ("fp32", torch.contiguous_format)


def test_channels_last_gives_the_same_training_as_contiguous():
    """The layout is a speed lever only: the same seed gives the same losses within float rounding."""
    runs = []
    for cl in (False, True):
        t = DCGANTrainer(DCGANConfig(size=32, batch=8, ngf=8, ndf=8, precision="fp32", channels_last=cl), _images())
        runs.append([t.step() for _ in range(3)])
    for a, b in zip(*runs):
        for k in a:
            assert abs(a[k] - b[k]) <= 1e-4 * max(1.0, abs(a[k])), (k, a[k], b[k])


def test_g_step_freezes_d_only_for_its_own_backward():
    t = DCGANTrainer(DCGANConfig(size=32, batch=8, ngf=8, ndf=8), _images())
    d_before = [p.detach().clone() for p in t.D.parameters()]
    g_before = [p.detach().clone() for p in t.G.parameters()]
    t.step()
    assert all(p.requires_grad for p in t.D.parameters())
    # D's gradients are those of its own loss: the G step added nothing to them
    d_grads = [p.grad.clone() for p in t.D.parameters()]
    assert all(not torch.equal(a, p) for a, p in zip(d_before, t.D.parameters()))
    assert all(not torch.equal(a, p) for a, p in zip(g_before, t.G.parameters()))
    t.step()
    assert all(not torch.equal(g, p.grad) for g, p in zip(d_grads, t.D.parameters()))


def test_g_update_equals_one_with_d_gradients_computed():
    """Freezing D in the G step changes no number: compare against the same step with D unfrozen."""
    cfg = DCGANConfig(size=32, batch=8, ngf=8, ndf=8, precision="fp32", diffaugment=False)
    a = DCGANTrainer(cfg, _images(), seed=3)
    b = DCGANTrainer(cfg, _images(), seed=3)
    b.D.requires_grad_ = lambda flag=True: b.D  # b never freezes D
    la, lb = a.step(), b.step()
    assert la == lb
    for pa, pb in zip(a.G.parameters(), b.G.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=1e-6)


def test_allocator_settings_hold_for_the_process(tmp_path):
    """glibc keeps freed blocks for reuse once a trainer exists; preparing data hands its buffers back."""
    import subprocess
    import sys

    code = (
        "import resource, torch\n"
        "from studio.engine.allocator import keep_freed_memory, release_freed_memory\n"
        "from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer\n"
        "t = DCGANTrainer(DCGANConfig(size=32, batch=16, ngf=16, ndf=16),\n"
        "                 torch.zeros(32, 3, 32, 32, dtype=torch.uint8))\n"
        "assert keep_freed_memory() is True and keep_freed_memory() is True\n"
        "release_freed_memory()\n"
        "for _ in range(2): t.step()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(3): t.step()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip()) < 500  # steps reuse memory instead of faulting in fresh pages
