"""The jitter and schedule the CycleGAN and pix2pix trainers share."""

import pytest
import torch

from studio.engine.train.image_to_image import check_images, draw_crops, set_decayed_lr


def test_draw_crops_stay_inside_and_repeat_from_the_same_state():
    rng = torch.Generator().manual_seed(3)
    offsets, flips = draw_crops(200, load_size=36, size=32, flip=True, rng=rng)
    assert offsets.shape == (200, 2) and flips.shape == (200,) and flips.dtype == torch.bool
    assert int(offsets.min()) == 0 and int(offsets.max()) == 4  # every offset that fits, and none beyond
    assert 0 < int(flips.sum()) < 200
    again = draw_crops(200, 36, 32, True, torch.Generator().manual_seed(3))
    assert torch.equal(again[0], offsets) and torch.equal(again[1], flips)


def test_draw_crops_without_flips_draws_none():
    rng = torch.Generator().manual_seed(0)
    _, flips = draw_crops(8, 32, 32, flip=False, rng=rng)
    assert not flips.any()
    # no flips drawn: the next number is the one right after the offsets
    ref = torch.Generator().manual_seed(0)
    torch.randint(0, 1, (8, 2), generator=ref)
    assert torch.equal(torch.rand(3, generator=rng), torch.rand(3, generator=ref))


def test_set_decayed_lr_sets_every_group_of_every_optimizer():
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(3)]
    opt_a = torch.optim.Adam([{"params": params[:1]}, {"params": params[1:2]}], lr=1.0)
    opt_b = torch.optim.Adam(params[2:], lr=1.0)
    assert set_decayed_lr((opt_a, opt_b), 2e-4, step=10, total_steps=100, decay_start=0.5) == 2e-4
    lr = set_decayed_lr((opt_a, opt_b), 2e-4, step=75, total_steps=100, decay_start=0.5)
    assert lr == pytest.approx(1e-4)
    assert [g["lr"] for opt in (opt_a, opt_b) for g in opt.param_groups] == [lr, lr, lr]


def test_check_images_names_what_is_wrong():
    check_images("inputs", torch.zeros(2, 3, 8, 8, dtype=torch.uint8), (3, 8, 8))
    with pytest.raises(ValueError, match=r"inputs must be uint8 \(N, 3, 8, 8\), got \(2, 3, 8, 8\)"):
        check_images("inputs", torch.zeros(2, 3, 8, 8), (3, 8, 8))
    with pytest.raises(ValueError, match="targets"):
        check_images("targets", torch.zeros(2, 1, 8, 8, dtype=torch.uint8), (3, 8, 8))
