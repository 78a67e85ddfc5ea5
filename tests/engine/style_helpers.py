"""What the style-based kind's tests share: the exact-resume check (test_stylegan.py, test_style_attention.py)."""

import numpy as np
import torch

from studio.engine.models.stylegan.trainer import StyleGANConfig, StyleGANTrainer
from studio.engine.project.checkpoints import load_checkpoint, save_checkpoint


def assert_exact_resume(tmp_path, cfg: StyleGANConfig, data: torch.Tensor, steps: int, save_at: int,
                        measure_quality: bool = False) -> dict[str, torch.Tensor]:
    """`steps` steps in one go == `save_at` steps, save, load in a fresh trainer of another seed, the
    rest: every tensor, the ADA state, the step and the samples bit-identical. `measure_quality`:
    measure quality before saving too (it draws samples, which must not disturb the training's
    random streams). Returns the one-go run's tensors, for checks of what the checkpoint holds."""
    one_go = StyleGANTrainer(cfg, data, seed=3)
    for _ in range(steps):
        one_go.step()
    assert 0 < one_go.ada_p <= 1  # ADA moved p (the configs' ada_kimg is tiny): a moved state resumes

    first = StyleGANTrainer(cfg, data, seed=3)
    for _ in range(save_at):
        first.step()
    first.samples()
    if measure_quality:
        first.quality(count=16)
    saved = save_checkpoint(tmp_path, first.global_step, *first.state_dict())

    resumed = StyleGANTrainer(cfg, data, seed=99)
    resumed.load_state_dict(*load_checkpoint(saved))
    for _ in range(steps - save_at):
        resumed.step()

    a, b = one_go.state_dict(), resumed.state_dict()
    assert a[0].keys() == b[0].keys()
    for k in a[0]:
        assert torch.equal(a[0][k], b[0][k]), k
    assert a[1]["ada"] == b[1]["ada"] and a[1]["pl_mean"] == b[1]["pl_mean"] and resumed.global_step == steps
    assert np.array_equal(one_go.samples(), resumed.samples())
    return a[0]
