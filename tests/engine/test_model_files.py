"""Model files from outside: safetensors + JSON only, pickles refused without running them, every
tensor checked against the model, and a bad file leaves the models the studio holds unchanged."""

import json
import pickle
import struct

import pytest
import torch
from safetensors.torch import save as st_save
from safetensors.torch import save_file

from studio.engine.data.procedural import discs
from studio.engine.errors import CheckpointError, UserError
from studio.engine.explore.generator import GeneratorModel
from studio.engine.models import get_kind
from studio.engine.models.cyclegan.nets import ResnetGenerator
from studio.engine.models.cyclegan.trainer import CycleGANConfig
from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer
from studio.engine.models.weight_import import (
    PICKLE,
    SAFETENSORS,
    TORCH_ZIP,
    import_generator,
    read_weights,
    sniff_format,
)
from studio.engine.project.checkpoints import save_checkpoint

CFG = DCGANConfig(size=32, z_dim=16, ngf=8, ndf=8, batch=4, preview_count=4)


class Payload:
    """Unpickling this creates `marker`: proof that the file's code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def trainer():
    images = torch.from_numpy(discs(8, 32, seed=1)).permute(0, 3, 1, 2).contiguous()
    t = DCGANTrainer(CFG, images, seed=5)
    t.step()
    return t


@pytest.fixture
def held(trainer):
    """A GeneratorModel and a trainer the studio holds, with snapshots to prove they stay unchanged."""
    model = GeneratorModel(CFG, trainer.generator_state(), kind=get_kind("dcgan"))
    before = ({k: v.clone() for k, v in model.G.state_dict().items()},
              {k: v.clone() for k, v in trainer.state_dict()[0].items()}, trainer.global_step)

    def unchanged():
        assert all(torch.equal(v, model.G.state_dict()[k]) for k, v in before[0].items())
        after = trainer.state_dict()[0]
        assert all(torch.equal(v, after[k]) for k, v in before[1].items()) and trainer.global_step == before[2]

    return unchanged


def _g(trainer):
    return trainer.generator_state()  # bare names: main.0.weight ...


def _one_line_error(call) -> str:
    with pytest.raises(CheckpointError) as e:
        call()
    text = str(e.value)
    assert "\n" not in text and text
    assert isinstance(e.value, UserError)  # the CLI and studio show it as a one-line user error
    return text


# ----- pickles ------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".pt", ".pth", ".ckpt", ".bin"])
@pytest.mark.parametrize("container", ["zip", "raw-pickle"])
def test_pickle_with_payload_is_never_run(tmp_path, trainer, held, suffix, container):
    marker = tmp_path / "pwned"
    path = tmp_path / f"evil{suffix}"
    obj = {**_g(trainer), "extra": Payload(marker)}
    if container == "zip":
        torch.save(obj, path)
    else:
        path.write_bytes(pickle.dumps(obj, protocol=4))
    assert sniff_format(path) == (TORCH_ZIP if container == "zip" else PICKLE)
    text = _one_line_error(lambda: import_generator(path, CFG))
    assert "pickle" in text and "did not open it" in text
    assert not marker.exists()
    text = _one_line_error(lambda: import_generator(path, CFG, allow_plain_weights=True))
    assert "refused" in text and "more than plain weights" in text
    assert not marker.exists()  # weights_only=True rejected the payload before it ran
    held()
    pickle.loads(pickle.dumps(Payload(marker)))  # the payload is real: a plain unpickle runs it
    assert marker.exists()


def test_pickle_renamed_to_safetensors_is_still_refused(tmp_path, trainer):
    marker = tmp_path / "pwned"
    path = tmp_path / "innocent.safetensors"
    path.write_bytes(pickle.dumps({"x": Payload(marker)}, protocol=2))
    assert "pickle" in _one_line_error(lambda: import_generator(path, CFG))
    assert not marker.exists()


def test_plain_tensor_dict_loads_only_when_allowed(tmp_path, trainer, held):
    g = _g(trainer)
    for name, obj in (("bare.pth", g), ("wrapped.pt", {"epoch": 3, "netG": g, "netD": {"w": torch.ones(2)}})):
        path = tmp_path / name
        torch.save(obj, path)
        assert "allow loading plain weights" in _one_line_error(lambda p=path: import_generator(p, CFG))
        state = import_generator(path, CFG, allow_plain_weights=True)
        assert set(state) == set(g) and all(torch.equal(state[k], g[k]) for k in g)
        model = GeneratorModel(CFG, state, kind=get_kind("dcgan"))
        assert model.generate_seeded(2, 0).shape == (2, 32, 32, 3)
    held()


def test_plain_weights_with_nan_are_refused(tmp_path, trainer):
    g = _g(trainer)
    g["main.0.weight"] = g["main.0.weight"].clone().fill_(float("nan"))
    torch.save(g, tmp_path / "nan.pt")
    assert "NaN" in _one_line_error(lambda: import_generator(tmp_path / "nan.pt", CFG, allow_plain_weights=True))


# ----- safetensors ---------------------------------------------------------------------------------
def test_gan_studio_checkpoint_and_bare_safetensors_import(tmp_path, trainer):
    tensors, meta = trainer.state_dict()
    json_path = save_checkpoint(tmp_path / "ckpt", 1, tensors, meta)
    g = _g(trainer)
    for path in (json_path, json_path.with_suffix(".safetensors")):
        state = import_generator(path, CFG)
        # the checkpoint's EMA generator, exactly (the saved BN statistics were recalibrated by samples)
        assert set(state) == set(g) and all(torch.equal(state[k], tensors["G_ema." + k]) for k in g)
    save_file(g, tmp_path / "bare.safetensors")
    assert sniff_format(tmp_path / "bare.safetensors") == SAFETENSORS
    state = import_generator(tmp_path / "bare.safetensors", CFG)
    assert all(torch.equal(state[k], g[k]) for k in g)
    # a JSON of another tool next to the file is not taken for GAN Studio metadata
    (tmp_path / "bare.json").write_text(json.dumps({"license": "cc-by"}))
    assert set(import_generator(tmp_path / "bare.safetensors", CFG)) == set(g)


def _header_blob(header: dict, data: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def _crafted(trainer):
    g = _g(trainer)
    wrong_shape = dict(g, **{"main.0.weight": torch.zeros(16, 8, 4, 4)})
    wrong_dtype = dict(g, **{"main.0.weight": g["main.0.weight"].half()})
    nan = dict(g, **{"main.0.weight": torch.full_like(g["main.0.weight"], float("nan"))})
    missing = {k: v for k, v in g.items() if k != "main.1.running_var"}
    extra = dict(g, **{"main.99.weight": torch.zeros(3)})
    return {
        "wrong-shape": (st_save(wrong_shape), "has shape (16, 8, 4, 4)"),
        "wrong-dtype": (st_save(wrong_dtype), "torch.float16"),
        "nan": (st_save(nan), "NaN"),
        "missing-key": (st_save(missing), "missing 'G.main.1.running_var'"),
        "extra-key": (st_save(extra), "does not have"),
        "other-model": (st_save({"encoder.weight": torch.zeros(3)}), "no weights of this generator"),
        "newer-format": (st_save(g, metadata={"format": "99"}), "newer GAN Studio"),
        "bad-header-length": (struct.pack("<Q", 10**12) + b"{}" + b"\x00" * 64, "header is damaged"),
        "overlapping-offsets": (_header_blob(
            {"main.0.weight": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
             "main.1.weight": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, b"\x00" * 24),
            "not a valid safetensors file"),
        "short-data": (_header_blob({"a": {"dtype": "F32", "shape": [100], "data_offsets": [0, 400]}}, b"\x00" * 16),
                       "not a valid safetensors file"),
        "empty": (b"", "not a valid safetensors file"),
        "text": (b"hello, I am not a model at all", "not a valid safetensors file"),
    }


@pytest.mark.parametrize("case", ["wrong-shape", "wrong-dtype", "nan", "missing-key", "extra-key", "other-model",
                                  "newer-format", "bad-header-length", "overlapping-offsets", "short-data", "empty",
                                  "text"])
def test_crafted_safetensors_give_one_line_and_change_nothing(tmp_path, trainer, held, case):
    blob, expected = _crafted(trainer)[case]
    path = tmp_path / "crafted.safetensors"
    path.write_bytes(blob)
    text = _one_line_error(lambda: import_generator(path, CFG))
    assert expected in text, text
    assert text.startswith("crafted.safetensors")
    held()


def test_studio_checkpoint_problems_are_refused(tmp_path, trainer):
    tensors, meta = trainer.state_dict()
    json_path = save_checkpoint(tmp_path, 1, tensors, meta)
    meta = json.loads(json_path.read_text())
    json_path.write_text(json.dumps({**meta, "format": 7}))
    assert "newer GAN Studio" in _one_line_error(lambda: import_generator(json_path, CFG))
    json_path.write_text(json.dumps({**meta, "kind": "cyclegan"}))
    assert "is a CycleGAN model; the project is a DCGAN" in _one_line_error(lambda: import_generator(json_path, CFG))
    json_path.write_text(json.dumps({**meta, "sha256": "0" * 64}))
    assert "do not match" in _one_line_error(lambda: import_generator(json_path, CFG))
    other = DCGANConfig(size=32, z_dim=32, ngf=8, ndf=8)  # same kind, another shape of generator
    json_path.write_text(json.dumps(meta))
    assert "this model needs" in _one_line_error(lambda: import_generator(json_path, other))


def test_cyclegan_generators_import_both_directions(tmp_path):
    cfg = CycleGANConfig(size=32, ngf=4, ndf=4, n_blocks=1)
    g, f = ResnetGenerator(3, 3, 4, 1), ResnetGenerator(3, 3, 4, 1)
    tensors = {**{f"G.{k}": v for k, v in g.state_dict().items()}, **{f"F.{k}": v for k, v in f.state_dict().items()},
               "D_A.w": torch.zeros(1)}
    save_file(tensors, tmp_path / "cg.safetensors")
    state = import_generator(tmp_path / "cg.safetensors", cfg)
    assert set(state) == {k for k in tensors if not k.startswith("D_A")}
    del tensors["F.model.1.weight"]
    save_file(tensors, tmp_path / "half.safetensors")
    assert "missing 'F.model.1.weight'" in _one_line_error(lambda: import_generator(tmp_path / "half.safetensors", cfg))


def test_missing_file_and_read_weights(tmp_path, trainer):
    assert "not found" in _one_line_error(lambda: import_generator(tmp_path / "nope.safetensors", CFG))
    (tmp_path / "notes.txt").write_text("just some text")
    assert "expected .safetensors" in _one_line_error(lambda: import_generator(tmp_path / "notes.txt", CFG))
    save_file(_g(trainer), tmp_path / "g.safetensors")
    tensors, meta = read_weights(tmp_path / "g.safetensors")
    assert meta == {} and "main.0.weight" in tensors
