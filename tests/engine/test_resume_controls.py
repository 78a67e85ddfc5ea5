"""resume: --steps is a new total, --minutes is more time; it says where it continues from."""

from __future__ import annotations

import pytest

from studio.cli.main import main
from studio.engine.data.procedural import discs, write_folder
from studio.engine.project.folder import Project

TINY = ["--size", "32", "--batch", "8", "--width", "8", "--z-dim", "16", "--seed", "1", "--metric-every", "0",
        "--sample-every", "1000", "--checkpoint-every", "1000"]


@pytest.fixture
def project(tmp_path):
    data = write_folder(discs(16, 32, seed=0), tmp_path / "discs")
    out = tmp_path / "proj"
    assert main(["train", "dcgan", "--data", str(data), "--out", str(out), *TINY, "--steps", "2"]) == 0
    return out


def test_steps_is_a_new_total_and_minutes_more_time(project, capsys):
    capsys.readouterr()
    # --steps at or below where the project is: refused, saying it is a total
    assert main(["resume", str(project), "--steps", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "already at step 2" in err and "new total" in err and err.endswith(".")

    assert main(["resume", str(project), "--steps", "4"]) == 0
    out = capsys.readouterr().out
    assert "Continuing from step 2 until step 4." in out
    assert Project.open(project).step == 4

    # the planned total is reached: --minutes still trains on, past it, for the time given
    assert main(["resume", str(project), "--minutes", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "Continuing from step 4 for 0.01 more minutes." in out
    assert Project.open(project).step > 4

    # both: whichever comes first (a total just ahead comes first)
    step = Project.open(project).step
    assert main(["resume", str(project), "--steps", str(step + 1), "--minutes", "5"]) == 0
    out = capsys.readouterr().out
    assert f"until step {step + 1:,}, whichever comes first." in out
    assert Project.open(project).step == step + 1
