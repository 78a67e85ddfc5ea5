"""Conditional generation from sub-folder classes: labels from folders, the dataset report's class
lines and warnings, and a conditional DCGAN that draws the class it is asked for (judged by a
classifier trained here on the same procedural shapes), which an unconditional one cannot.

Both kinds reach the issue's figure (>= 90% of samples the asked class) within the unit-test
budget because their critics also learn the real images' classes (the `class_loss` of each
trainer); bench/conditional_control.py follows the figure over 1,000-2,000 steps with the bench's
larger sets, with the samples' spread within a class."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from shape_classes import SHAPES, class_probabilities, labelled_set, train_shape_classifier, write_class_folders

from studio.engine.data.dataset import DataConfig, prepare_dataset
from studio.engine.data.labels import (
    ROOT_CLASS,
    class_counts,
    class_lines,
    class_warnings,
    labels_for,
    usable_as_classes,
)
from studio.engine.models import get_kind
from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer

STEPS = 400  # the DCGAN's: 95-99% of samples the asked class from step 300 on (measured, seed 0)


# ----- labels and the report ------------------------------------------------------------------------
def test_classes_are_first_level_sub_folders_and_root_images_a_class_of_their_own():
    paths = ["/c/moths/a.png", "/c/moths/night/b.png", "/c/beetles/c.png", "/c/d.png"]
    assert class_counts(paths, "/c") == {ROOT_CLASS: 1, "beetles": 1, "moths": 2}
    assert labels_for(paths, "/c", ("beetles", "moths", ROOT_CLASS)) == [1, 1, 0, 2]
    with pytest.raises(ValueError, match="moths"):
        labels_for(paths, "/c", ("beetles", ROOT_CLASS))


def test_imbalance_and_tiny_class_warnings():
    even = {"moths": 100, "beetles": 80}
    assert class_warnings(even) == [] and usable_as_classes(even)
    imbalanced = {"moths": 400, "beetles": 30, "wasps": 12}
    warnings = class_warnings(imbalanced)
    assert len(warnings) == 2
    assert "'wasps' has fewer than 20 images" in warnings[0]
    assert "'beetles' has under a tenth" in warnings[1]  # 30 < 400 / 10; wasps is named once, as tiny
    assert not usable_as_classes(imbalanced)  # a class too small to learn: auto stays unconditional
    assert not usable_as_classes({"moths": 100})  # one class is no choice
    lines = class_lines(imbalanced)
    assert lines[0] == "3 classes from sub-folders: moths 400, beetles 30, wasps 12"
    assert all(line.startswith("  Warning: ") and line.endswith(".") for line in lines[1:])


def test_dataset_report_lists_classes_and_the_auto_switch_follows_them(tmp_path):
    folder = write_class_folders(tmp_path / "shapes", {"disc": 24, "lying": 24, "standing": 8})
    data = prepare_dataset(folder, DataConfig(size=32), cache_dir=tmp_path / "cache")
    assert data.report.classes == {"disc": 24, "lying": 24, "standing": 8}
    lines = data.report.lines()
    assert "3 classes from sub-folders: disc 24, lying 24, standing 8" in lines
    assert any("'standing' has fewer than 20 images" in line for line in lines)
    kind = get_kind("dcgan")
    datasets = {"data": data}
    assert kind.default_config(DataConfig(size=32), datasets, {}).class_names == ()  # auto: a class is too small
    cfg = kind.default_config(DataConfig(size=32), datasets, {"classes": True})
    assert cfg.class_names == SHAPES
    assert kind.class_names(cfg) == cfg.class_names
    assert kind.default_config(DataConfig(size=32), datasets, {"classes": False}).class_names == ()


# ----- learning ---------------------------------------------------------------------------------------
def _trained(num_classes: int) -> DCGANTrainer:
    torch.set_num_threads(1)
    images, labels = labelled_set(150)
    # lr 5e-4 (2.5x the paper's): the classes are told apart in half the steps (measured)
    cfg = DCGANConfig(size=32, z_dim=32, ngf=16, ndf=16, batch=32, preview_count=9, precision="fp32",
                      ema_decay=0.99, lr=5e-4, class_names=SHAPES[:num_classes])
    trainer = DCGANTrainer(cfg, images, labels=labels if num_classes else None)
    for _ in range(STEPS):
        trainer.step()
    return trainer


@functools.cache
def _conditional() -> DCGANTrainer:
    return _trained(len(SHAPES))


def _requested(n: int = 60) -> tuple[torch.Tensor, torch.Tensor]:
    z = torch.randn(n * len(SHAPES), 32, generator=torch.Generator().manual_seed(7))
    return z, torch.arange(len(SHAPES)).repeat(n)


@pytest.mark.timeout(600)
def test_conditional_dcgan_draws_the_requested_class():
    clf = train_shape_classifier()
    real, real_labels = labelled_set(50, seed=99)
    assert (class_probabilities(clf, real.permute(0, 2, 3, 1).numpy()).argmax(1) == real_labels.numpy()).mean() > 0.95
    z, c = _requested()
    hits = class_probabilities(clf, _conditional().generate(z, c)).argmax(1) == c.numpy()
    # chance: 1/3. Without the critic's class loss this budget swung between 63% and 94% (the
    # standing bars lost and found again); with it 97% at step 400, every class >= 95% (measured)
    assert hits.mean() >= 0.9, hits.mean()
    assert all(hits[c.numpy() == k].mean() >= 0.8 for k in range(len(SHAPES))), hits


def test_the_critics_class_loss_reads_the_projection_terms_of_every_class():
    # The class logits are the projection terms under each class: the logit under class k minus
    # the class-free part, so their softmax is the critic's guess of the picture's class.
    from studio.engine.models.dcgan.nets import Discriminator

    torch.manual_seed(0)
    d = Discriminator(32, 8, num_classes=3).eval()
    x = torch.randn(5, 3, 32, 32)
    logit, class_logits = d(x, torch.full((5,), 2), class_logits=True)
    under = torch.stack([d(x, torch.full((5,), k)) for k in range(3)], 1)
    assert torch.allclose(logit, under[:, 2])
    assert torch.allclose(under - under[:, :1], class_logits - class_logits[:, :1], atol=1e-5)


@pytest.mark.timeout(600)
def test_unconditional_dcgan_gives_no_such_control():
    clf = train_shape_classifier()
    z, c = _requested()
    drawn = class_probabilities(clf, _trained(0).generate(z)).argmax(1)
    assert (drawn == c.numpy()).mean() < 0.6  # what it draws has nothing to do with the request
    assert len(set(drawn.tolist())) >= 2  # ... though it does draw shapes of several classes


def test_class_interpolation_raises_the_target_class_monotonically():
    clf = train_shape_classifier()
    trainer = _conditional()
    z = torch.randn(48, 32, generator=torch.Generator().manual_seed(3))
    for src, dst in ((0, 1), (1, 2), (2, 0)):
        p_target = []
        for t in np.linspace(0, 1, 6):
            w = torch.zeros(len(z), len(SHAPES))
            w[:, src], w[:, dst] = 1 - t, t  # the embedding lerp: a mix of the two classes' embeddings
            p_target.append(class_probabilities(clf, trainer.generate(z, w))[:, dst].mean())
        # rises along the path: no step back beyond the classifier's noise on 48 pictures
        assert np.all(np.diff(p_target) > -0.05), (src, dst, p_target)
        assert p_target[-1] - p_target[0] > 0.1, (src, dst, p_target)


def test_balanced_classes_draw_a_rare_class_as_often_as_a_common_one():
    images, labels = labelled_set(40)
    keep = torch.cat([torch.arange(0, 40), torch.arange(40, 44), torch.arange(80, 120)])  # lying bars are rare
    cfg = DCGANConfig(size=32, z_dim=8, ngf=8, ndf=8, batch=64, preview_count=4, precision="fp32",
                      class_names=SHAPES, balanced_classes=True)
    trainer = DCGANTrainer(cfg, images[keep], labels=labels[keep])
    real = torch.cat([trainer._real_batch_labelled()[1] for _ in range(20)])
    fake = torch.cat([trainer._fake_labels() for _ in range(20)])
    for drawn in (real, fake):
        share = torch.bincount(drawn, minlength=3).float() / len(drawn)
        assert (share - 1 / 3).abs().max() < 0.06, share


def test_conditional_resume_is_exact(tmp_path):
    images, labels = labelled_set(20)
    cfg = DCGANConfig(size=32, z_dim=8, ngf=8, ndf=8, batch=8, preview_count=4, precision="fp32",
                      class_names=SHAPES, balanced_classes=True)
    a = DCGANTrainer(cfg, images, labels=labels)
    for _ in range(2):
        a.step()
    tensors, meta = a.state_dict()
    b = DCGANTrainer(cfg, images, labels=labels, seed=5)
    b.load_state_dict({k: v.clone() for k, v in tensors.items()}, meta)
    assert a.step() == b.step()
    assert np.array_equal(a.samples(), b.samples())


# ----- the command line -------------------------------------------------------------------------------
def test_cli_trains_with_classes_prints_them_and_generates_a_named_class(tmp_path, capsys):
    from studio.cli.main import main

    folder = write_class_folders(tmp_path / "shapes", {"disc": 24, "lying": 24, "standing": 24})
    out = tmp_path / "p"
    assert main(["train", "dcgan", "--data", str(folder), "--out", str(out), "--size", "32", "--batch", "8",
                 "--width", "8", "--z-dim", "8", "--steps", "2", "--device", "cpu", "--metric-every", "0"]) == 0
    printed = capsys.readouterr().out
    assert "3 classes from sub-folders: disc 24, lying 24, standing 24" in printed  # auto: on
    assert main(["generate", str(out), "--count", "3", "--out", str(tmp_path / "g"), "--class", "lying"]) == 0
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == [f"seed0-lying-0000{i}.png" for i in range(3)]
    assert main(["generate", str(out), "--count", "2", "--out", str(tmp_path / "g"), "--class", "moth"]) == 2
    assert "The model has no class 'moth'; it has: disc, lying, standing." in capsys.readouterr().err

    plain = tmp_path / "plain"
    assert main(["train", "dcgan", "--data", str(folder), "--out", str(plain), "--size", "32", "--batch", "8",
                 "--width", "8", "--steps", "1", "--device", "cpu", "--classes", "off", "--metric-every", "0"]) == 0
    capsys.readouterr()
    assert main(["generate", str(plain), "--count", "1", "--out", str(tmp_path / "h"), "--class", "disc"]) == 2
    assert "trained without classes; drop --class." in capsys.readouterr().err


# ----- the style-based kind -----------------------------------------------------------------------------
STYLE_STEPS = 400


@functools.cache
def _style(num_classes: int):
    from studio.engine.models.stylegan.trainer import StyleGANConfig, StyleGANTrainer, auto_r1_gamma

    torch.set_num_threads(1)
    images, labels = labelled_set(150)
    # a tiny style-based model (32 channels at most, w 32) with the kind's recipe: lr, R1, EMA ramp
    cfg = StyleGANConfig(size=32, batch=16, preview_count=9, z_dim=32, w_dim=32, channel_base=256, channel_max=32,
                         r1_gamma=auto_r1_gamma(32, 16), ema_kimg=16 * 10 / 32, class_names=SHAPES[:num_classes])
    trainer = StyleGANTrainer(cfg, images, labels=labels if num_classes else None)
    for _ in range(STYLE_STEPS):
        trainer.step()
    return trainer


@pytest.mark.timeout(600)
def test_conditional_style_based_model_draws_the_requested_class():
    clf = train_shape_classifier()
    z, c = _requested()
    hits = class_probabilities(clf, _style(len(SHAPES)).generate(z, c)).argmax(1) == c.numpy()
    # measured at this size: 93% at step 300; without the critic's class loss 30-46% at steps 100-300
    # (the critic told real images' classes apart no better than chance: 47-54%)
    assert hits.mean() >= 0.9, hits.mean()


@pytest.mark.timeout(600)
def test_unconditional_style_based_model_gives_no_such_control():
    clf = train_shape_classifier()
    z, c = _requested()
    drawn = class_probabilities(clf, _style(0).generate(z)).argmax(1)
    assert (drawn == c.numpy()).mean() < 0.6
    assert len(set(drawn.tolist())) >= 2


def test_conditional_style_based_model_takes_classes_into_mapping_and_resumes_exactly():
    from studio.engine.models.stylegan.trainer import StyleGANConfig, StyleGANTrainer

    images, labels = labelled_set(8)
    cfg = StyleGANConfig(size=32, batch=8, preview_count=6, z_dim=16, w_dim=16, channel_base=128, channel_max=16,
                         r1_gamma=0.01, style_mixing=0.9, class_names=SHAPES, balanced_classes=True)
    a = StyleGANTrainer(cfg, images, labels=labels)
    assert a.G.mapping.embed.weight.shape == (3, 16) and a.D.class_map.embed.weight.shape == (3, 16)
    for _ in range(2):
        a.step()
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(0))
    pics = [a.generate(z, torch.full((3,), k)) for k in range(3)]
    assert not np.array_equal(pics[0], pics[1])  # the class reaches the picture through the mapping
    mix = torch.tensor([[0.5, 0.5, 0.0]]).expand(3, 3)
    assert a.generate(z, mix).shape == (3, 32, 32, 3)  # a point between two classes
    tensors, meta = a.state_dict()
    b = StyleGANTrainer(cfg, images, labels=labels, seed=4)
    b.load_state_dict({k: v.clone() for k, v in tensors.items()}, meta)
    assert a.step() == b.step()
    assert np.array_equal(a.samples(), b.samples())
    kind = get_kind("stylegan")
    assert kind.capabilities.classes and kind.class_names(cfg) == SHAPES
    assert kind.make_generator(cfg).mapping.num_classes == 3


def test_style_based_critic_judges_each_class_on_its_own_from_the_start():
    # StyleGAN2-ADA's conditional epilogue: the logit is D's last values projected on the class's map,
    # so the same pictures get nearly unrelated logits under different classes before any training.
    # An unconditional logit plus a small class term let the critic ignore the class, and the
    # generator then never learned it (9-72% of samples the asked class, bench).
    from studio.engine.models.stylegan.nets import Discriminator

    torch.manual_seed(0)
    d = Discriminator(32, 3, channel_base=256, channel_max=32, num_classes=3)
    x = torch.randn(64, 3, 32, 32)
    with torch.no_grad():
        logits = torch.stack([d(x, torch.full((64,), k)) for k in range(3)])
    corr = torch.corrcoef(logits)
    off = corr[torch.triu_indices(3, 3, 1).unbind()]
    # measured: 0.33, -0.08, 0.43 here; 0.999 with the former class term; ~0.94 with the reference's
    # 8 mapping layers, whose random start makes the classes' maps alike
    assert off.abs().mean() < 0.6, corr
    # the class loss's logits are the logits under each class
    logit, class_logits = d(x, torch.full((64,), 1), class_logits=True)
    assert torch.allclose(logit, logits[1], atol=1e-5) and torch.allclose(class_logits, logits.t(), atol=1e-5)
    with pytest.raises(ValueError, match="classes"):
        d(x)
