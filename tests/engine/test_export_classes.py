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
