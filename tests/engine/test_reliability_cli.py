"""Unbounded or meaningless command-line values (issue 15, item 6): each is refused as it is parsed, with exit 2
and one line, before any work starts; large outputs are written as they are made."""

import pytest

from studio.cli import values
from studio.cli.main import main
from studio.engine.explore import generator as generator_module
from tests.engine import reliability_project as rp


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return rp.build(tmp_path_factory.mktemp("cli_values"))


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def _train(data, out, *extra):
    return ["train", "dcgan", "--data", str(data), "--out", str(out), *rp.TINY, *extra]


@pytest.mark.parametrize(("extra", "message"), [
    (["--minutes", "nan"], "argument --minutes: must be more than 0"),
    (["--minutes", "inf"], "argument --minutes: must be more than 0"),
    (["--minutes", "0"], "argument --minutes: must be more than 0"),
    (["--minutes", "-2"], "argument --minutes: must be more than 0"),
    (["--seed", str(2**64)], "argument --seed: must be 0 or more and at most 9,223,372,036,854,775,807"),
    (["--seed", "-1"], "argument --seed"),
    (["--z-dim", str(10**9)], "argument --z-dim: must be positive and at most 4,096"),
    (["--z-dim", "1e9"], "argument --z-dim: '1e9' is not a whole number"),
    (["--width", str(10**6)], "argument --width: must be positive and at most 1,024"),
    (["--steps", str(10**12)], "argument --steps: must be positive and at most 1,000,000,000"),
    (["--metric-every", "-1"], "argument --metric-every: must be 0 or more"),
])
def test_train_refuses_meaningless_values(built, tmp_path, capsys, extra, message):
    out = tmp_path / "new"
    args = _train(built.parent / "discs", out, *extra)
    if "--seed" in extra:  # the last --seed wins; drop TINY's
        i = args.index("--seed")
        del args[i : i + 2]
    assert main(args) == 2
    assert message in _one_error_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize("minutes", ["nan", "inf", "0", "-1"])
def test_resume_refuses_meaningless_minutes(built, capsys, minutes):
    assert main(["resume", str(built), "--minutes", minutes]) == 2
    assert "argument --minutes" in _one_error_line(capsys)


@pytest.mark.parametrize("argv_tail", [
    ["generate", "{p}", "--count", str(10**9), "--out", "{o}"],
    ["generate", "{p}", "--count", "2", "--seed", str(2**64), "--out", "{o}"],
    ["export", "{p}", "--walk", "{o}/w.mp4", "--frames", str(10**9)],
    ["export", "{p}", "--walk", "{o}/w.gif", "--hold", "nan"],
    ["export", "{p}", "--walk", "{o}/w.gif", "--hold", "1e6"],
    ["export", "{p}", "--walk", "{o}/w.gif", "--seeds", f"1,{2**64}"],
    ["export", "{p}", "--grid", "{o}/g.png", "--scale", "100000"],
    ["export", "{p}", "--grid", "{o}/g.png", "--count", str(10**9)],
    ["export", "{p}", "--grid", "{o}/g.png", "--count", "5000"],
])
def test_outputs_of_absurd_size_are_refused_before_any_work(built, tmp_path, capsys, argv_tail):
    argv = [a.format(p=built, o=tmp_path / "out") for a in argv_tail]
    assert main(argv) == 2
    _one_error_line(capsys)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_devices_are_bounded_by_the_machine(built, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(values, "device_limit", lambda device: (2, "CPU cores"))
    assert main(_train(built.parent / "discs", tmp_path / "new", "--devices", "64", "--steps", "2")) == 2
    assert _one_error_line(capsys) == ("gan-studio: --devices 64: this machine has 2 CPU cores; "
                                       "use --devices 2 or fewer.")
    assert main(["resume", str(built), "--devices", "3"]) == 2
    assert "this machine has 2 CPU cores" in _one_error_line(capsys)


def test_device_limit_counts_what_the_machine_has():
    limit, what = values.device_limit("cpu")
    assert 1 <= limit <= (__import__("os").cpu_count() or 1) and "CPU" in what


def test_generate_streams_its_pictures_a_batch_at_a_time(built, tmp_path, monkeypatch):
    seen = []
    real = generator_module.GeneratorModel.generate

    def spy(self, z, *args, **kwargs):
        seen.append(len(z))
        return real(self, z, *args, **kwargs)

    monkeypatch.setattr(generator_module.GeneratorModel, "generate", spy)
    assert main(["generate", str(built), "--count", "150", "--out", str(tmp_path / "gen")]) == 0
    assert seen == [64, 64, 22]
    assert len(list((tmp_path / "gen").glob("*.png"))) == 150


def test_an_animation_that_cannot_fit_in_memory_is_refused_up_front(built, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(values, "available_memory", lambda: 200_000_000)
    assert main(["export", str(built), "--walk", str(tmp_path / "w.gif"), "--frames", "5000"]) == 2
    assert "choose .mp4, which is written frame by frame" in _one_error_line(capsys)
    assert not (tmp_path / "w.gif").exists()
