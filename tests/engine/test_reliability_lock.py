"""Issue 15 item 4: one trainer per project at a time.

A process that trains a project holds an exclusive flock on training.lock in it; a second trainer (CLI or
studio) is refused in one line that names the holder's PID, readers (generate, export) carry on, and a
killed holder leaves no stale lock. Other processes are os.fork()ed from this one (torch loaded once).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import pytest
import torch

from studio.cli.main import main
from studio.engine.atomic import TEMP_PREFIX
from studio.engine.data.procedural import discs, write_folder
from studio.engine.project import lock as training_lock
from studio.engine.project.folder import Project

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or training_lock.fcntl is None, reason="needs fork, flock")

TINY = ["--size", "32", "--batch", "4", "--width", "8", "--z-dim", "16", "--seed", "1"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    base = tmp_path_factory.mktemp("lock")
    data = write_folder(discs(12, 32, seed=0), base / "data")
    out = base / "proj"
    assert main(["train", "dcgan", "--data", str(data), "--out", str(out), *TINY, "--steps", "3",
                 "--checkpoint-every", "3", "--sample-every", "3", "--log-every", "1"]) == 0
    return out


def _holding_child(root):
    """Fork a process that takes the project's training lock and waits; returns its PID once it holds it."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            training_lock.acquire(root, wait_s=0)
            os.write(ready_w, b"L")
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(ready_w)
    assert os.read(ready_r, 1) == b"L"
    os.close(ready_r)
    return pid


def _end(pid):
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _history(root):
    return (root / "history.jsonl").read_bytes()


def test_a_second_trainer_is_refused_naming_the_holder(project, tmp_path, capsys):
    holder = _holding_child(project)
    try:
        before = _history(project)
        capsys.readouterr()
        started = time.monotonic()
        assert main(["resume", str(project), "--steps", "6"]) == 2
        waited = time.monotonic() - started
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"PID {holder}" in err[0] and "being trained by another process" in err[0]
        assert _history(project) == before  # no step of a second run in the history
        assert waited < training_lock.WAIT_S + 5
        assert training_lock.holder(project)[0] == holder
        meta = (project / "project.json").read_bytes()
        moved = tmp_path / "moved"
        moved.mkdir()
        assert main(["resume", str(project), "--data", str(moved)]) == 2  # recording a move writes too
        assert (project / "project.json").read_bytes() == meta
    finally:
        _end(holder)


def test_readers_carry_on_and_leave_a_live_trainers_temp_files(project, tmp_path, capsys):
    holder = _holding_child(project)
    try:
        in_progress = project / (TEMP_PREFIX + "project.json.abc")  # as a live trainer's write looks
        in_progress.write_text("{")
        assert main(["generate", str(project), "--count", "2", "--out", str(tmp_path / "g")]) == 0
        assert main(["export", str(project), "--timelapse", str(tmp_path / "t.gif")]) == 0
        Project.open(project)
        assert in_progress.exists(), "a reader removed a live trainer's temp file"
    finally:
        _end(holder)
    Project.open(project)  # nobody trains it now: the leftover is stale and goes
    assert not in_progress.exists()


def test_sigkill_leaves_no_stale_lock(project, capsys):
    holder = _holding_child(project)
    _end(holder)
    assert training_lock.holder(project) is None
    assert (project / training_lock.LOCK_FILE).exists()  # the file stays; only a live flock counts
    assert main(["resume", str(project), "--steps", "4"]) == 0
    steps = [json.loads(line)["step"] for line in (project / "history.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))


def test_one_process_may_reopen_what_it_trains(project):
    """The studio reopens its own project while an older session is still being torn down."""
    a = training_lock.acquire(project)
    b = training_lock.acquire(project)
    a.release()
    assert training_lock.holder(project)[0] == os.getpid()
    b.release()
    assert training_lock.holder(project) is None


def test_the_studio_window_leaves_its_own_workers_temp_files(project):
    """In one process the thread that trains may clean up; another thread (the studio's window reopening
    the project while its worker trains) may not: the temp file may be the worker's save in progress."""
    in_progress = project / (TEMP_PREFIX + "history.jsonl.abc")
    held, done = threading.Event(), threading.Event()

    def worker():
        with training_lock.acquire(project):
            held.set()
            done.wait(30)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert held.wait(30)
        in_progress.write_text("{")
        Project.open(project)
        assert in_progress.exists()
    finally:
        done.set()
        thread.join()
    with training_lock.acquire(project):
        Project.open(project)  # the trainer's own thread cleans up as it opens
    assert not in_progress.exists()


def test_two_resumes_at_once_one_trains(project, tmp_path):
    """Two `gan-studio resume` processes started together: exactly one trains, the other exits 2."""
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    go_r, go_w = os.pipe()
    pids = []
    try:
        for _ in range(2):
            pid = os.fork()
            if pid == 0:
                code = 3
                try:
                    sys.stderr = open(tmp_path / f"stderr-{len(pids)}.txt", "w")  # noqa: SIM115 - os._exit ends it
                    training_lock.WAIT_S = 0.0  # refused at once: not after the winner has finished
                    os.read(go_r, 1)
                    code = main(["resume", str(project), "--steps", "10"])
                finally:
                    sys.stderr.flush()
                    os._exit(code)
            pids.append(pid)
        os.write(go_w, b"GG")
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    finally:
        torch.set_num_threads(torch_threads)
        os.close(go_r)
        os.close(go_w)
    assert sorted(codes) == [0, 2]
    loser = codes.index(2)
    assert f"PID {pids[1 - loser]}, gan-studio resume)" in (tmp_path / f"stderr-{loser}.txt").read_text()
    steps = [json.loads(line)["step"] for line in (project / "history.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 10  # no duplicated or out-of-order steps
