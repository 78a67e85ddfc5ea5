"""Fuzzing the project files (issue 15): random mutations of a real project's project.json, checkpoint JSON
(and bookkeeping tensors, with a valid hash), history.jsonl and explore.json, each run through open, resume,
generate and export in-process. Every outcome must be success or a UserError, never another exception, and
no weight file may ever be deleted.

Seeded (`random.Random(SEED)`), so a failure names its case and reproduces; one tiny project is trained
once per module and copied per case."""

import json
import math
import random
import shutil
from collections import Counter

import pytest
import torch

from studio.cli.main import main
from studio.engine.errors import UserError
from studio.engine.explore.bookmarks import ExploreStore
from studio.engine.explore.generator import load_generator
from studio.engine.models.sessions import open_session
from studio.engine.project.folder import Project
from tests.engine import reliability_project as rp

SEED = 15
CASES = 120

HOSTILE = [None, True, False, 0, -1, 1, 3, 2**31, 2**64, -(2**70), math.inf, -math.inf, math.nan, 0.5, -0.5, 1e-300,
           "", "x", "abc" * 40, "dcgan", "cyclegan", [], [1, 2], [[[]]], {}, {"a": 1}, {"step": "x"}]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _pick_path(doc, rng: random.Random):
    """A random place in `doc`, descending from the root with a fair chance to stop at each level
    (a uniform pick would almost always land in the optimizer's long parameter lists)."""
    path, node = (), doc
    while isinstance(node, (dict, list)) and node and rng.random() > 0.3:
        key = rng.choice(list(node) if isinstance(node, dict) else range(len(node)))
        path, node = (*path, key), node[key]
    return path


def _mutate_doc(doc, rng: random.Random) -> tuple[object, str]:
    path = _pick_path(doc, rng)
    value = rng.choice(HOSTILE)
    if not path:
        return value, f"whole document := {value!r}"
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if isinstance(parent, dict) and rng.random() < 0.25:
        del parent[last]
        return doc, f"delete {'.'.join(map(str, path))}"
    parent[last] = value
    return doc, f"{'.'.join(map(str, path))} := {value!r:.40}"


def _mutate_text(text: str, rng: random.Random) -> tuple[str, str]:
    if not text:
        return "{", "empty -> '{'"
    i = rng.randrange(len(text))
    if rng.random() < 0.5:
        return text[:i], f"truncated at {i}"
    return text[:i] + rng.choice("{}[]\",:0x\x00é") + text[i + 1 :], f"char {i} replaced"


def _mutate_json_file(path, rng: random.Random) -> str:
    text = path.read_text()
    if rng.random() < 0.2:
        new, what = _mutate_text(text, rng)
        path.write_text(new)
        return f"{path.name}: {what}"
    doc, what = _mutate_doc(json.loads(text), rng)
    path.write_text(json.dumps(doc))
    return f"{path.name}: {what}"


def _mutate_history(proj, rng: random.Random) -> str:
    path = proj / "history.jsonl"
    lines = path.read_text().splitlines()
    i = rng.randrange(len(lines))
    if rng.random() < 0.3:
        lines[i], what = _mutate_text(lines[i], rng)
    else:
        doc, what = _mutate_doc(json.loads(lines[i]), rng)
        lines[i] = json.dumps(doc)
    path.write_text("\n".join(lines) + "\n")
    return f"history line {i}: {what}"


def _mutate_tensors(proj, rng: random.Random) -> str:
    key = rng.choice(["rng", "order", "fixed_z"])
    shape = rng.choice([(0,), (3,), (16,), (5056,), (64, 16), (2, 2)])
    dtype = rng.choice([torch.uint8, torch.int64, torch.float32])
    value = (torch.randint(-3, 300, shape) if dtype != torch.float32 else torch.randn(shape)).to(dtype)
    for path in rp.checkpoint_paths(proj):
        rp.edit_checkpoint(path, change_tensors=lambda t: t.__setitem__(key, value.clone()))
    return f"checkpoint tensors: {key} := {tuple(shape)} {dtype}"


def mutate(proj, rng: random.Random) -> str:
    target = rng.choice(["project", "checkpoint", "checkpoints", "history", "explore", "tensors"])
    if target == "project":
        return _mutate_json_file(proj / "project.json", rng)
    if target == "checkpoint":  # the newest only: an older one should take over
        return _mutate_json_file(rp.checkpoint_paths(proj)[-1], rng)
    if target == "checkpoints":  # every one alike: nothing to fall back to
        state = rng.getstate()
        whats = []
        for path in rp.checkpoint_paths(proj):
            rng.setstate(state)
            whats.append(_mutate_json_file(path, rng))
        return "every checkpoint: " + whats[-1]
    if target == "history":
        return _mutate_history(proj, rng)
    if target == "explore":
        return _mutate_json_file(proj / "explore.json", rng)
    return _mutate_tensors(proj, rng)


# ----- what is run on each mutated project ------------------------------------------------------------------
def op_open(proj, out):
    project = Project.open(proj)
    project.read_history()
    project.sample_steps()
    _ = project.step, project.kind, project.data_folders()
    ExploreStore.open(proj)


def op_resume(proj, out):
    session = open_session(proj, device="cpu")
    try:
        assert session.trainer.global_step in (0, 2, 4)
    finally:
        close = getattr(session, "close", None)
        if close is not None:
            close()


def op_generate(proj, out):
    model = load_generator(proj, device="cpu")
    assert model.generate_seeded(2, 0).shape[0] == 2


def op_export(proj, out):
    # main() turns a UserError into exit 2; any other exception propagates out of it
    for argv in (["export", str(proj), "--walk", str(out / "w.gif"), "--bookmarks", "a", "--frames", "3"],
                 ["export", str(proj), "--timelapse", str(out / "t.gif")]):
        if main(argv) not in (0, 2):
            raise AssertionError(f"{argv[2]} exited {main(argv)}")


OPS = (op_open, op_resume, op_generate, op_export)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return rp.build(tmp_path_factory.mktemp("fuzz"))


def test_mutated_project_files_give_success_or_a_user_error(built, tmp_path, capsys):
    rng = random.Random(SEED)
    outcomes = Counter()
    for case in range(CASES):
        proj = rp.copy(built, tmp_path / f"case{case}")
        what = mutate(proj, rng)
        weights = rp.weight_files(proj)
        for op in OPS:
            try:
                op(proj, tmp_path / f"out{case}")
                outcomes["ok"] += 1
            except UserError:
                outcomes["user error"] += 1
            except Exception as e:  # noqa: BLE001 - the point of the test
                pytest.fail(f"case {case} ({what}): {op.__name__} raised {type(e).__name__}: {e}")
            missing = weights - rp.weight_files(proj)
            assert not missing, f"case {case} ({what}): {op.__name__} deleted {sorted(missing)}"
        shutil.rmtree(proj)
        shutil.rmtree(tmp_path / f"out{case}", ignore_errors=True)
    capsys.readouterr()
    with capsys.disabled():
        print(f"\nproject fuzz: {CASES} cases x {len(OPS)} operations: {dict(outcomes)}")
    assert outcomes["ok"] and outcomes["user error"]  # both kinds of outcome were exercised
