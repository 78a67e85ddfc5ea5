"""Adam's state through a checkpoint keeps its parameters' memory layout: the fused kernels (the
trainers' Adam on CPUs and GPUs) read parameter, gradient and moments as flat buffers, so a
channels_last weight with contiguous moments from a checkpoint would be updated with another
element's moments (on a CPU, silently)."""

from __future__ import annotations

import pytest
import torch

from studio.engine.train.protocol import load_optimizer, store_optimizers


def _run(steps: int, resume_at: int | None, fused: bool, device: str = "cpu") -> torch.Tensor:
    torch.manual_seed(0)
    weight = torch.randn(8, 16, 3, 3, device=device).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    opt = torch.optim.Adam([weight], 1e-2, betas=(0.5, 0.999), fused=fused)
    grads = torch.Generator().manual_seed(1)
    for step in range(steps):
        if step == resume_at:  # through a checkpoint's tensors and param groups, into fresh objects
            tensors: dict[str, torch.Tensor] = {}
            groups = store_optimizers(tensors, opt=opt)["opt"]
            weight = weight.detach().clone(memory_format=torch.channels_last).requires_grad_(True)
            opt = torch.optim.Adam([weight], 1e-2, betas=(0.5, 0.999), fused=fused)
            load_optimizer("opt", opt, tensors, groups)
            moments = opt.state[weight]["exp_avg"]
            assert moments.stride() == weight.stride()
        grad = torch.randn(weight.shape, generator=grads).to(device)
        weight.grad = grad.contiguous(memory_format=torch.channels_last)
        opt.step()
    return weight.detach().cpu()


def test_a_resumed_fused_adam_on_channels_last_weights_continues_exactly():
    for fused in (True, False):
        assert torch.equal(_run(10, None, fused), _run(10, 5, fused)), fused


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_resumed_fused_adam_on_a_gpu_continues_exactly():
    """On CUDA the fused kernel refuses moments whose layout differs from the weight's: without the
    layout fix a channels_last run (the GPU's fast path) could not resume at all."""
    assert torch.equal(_run(10, None, True, "cuda"), _run(10, 5, True, "cuda"))
