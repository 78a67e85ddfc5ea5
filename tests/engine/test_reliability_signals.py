"""Issue 15 item 3: SIGTERM and SIGHUP stop training like Ctrl-C: the step finishes, a checkpoint is written,
the process exits 0. (The SIGKILL side is tests/engine/test_kill_resume.py.)

`gan-studio resume` gets 24 signals at random moments, start-up included, alternating SIGTERM and SIGHUP,
with checkpoints otherwise only every 10**6 steps: whatever the last step completed before the signal, it
must be in the newest checkpoint, and the history must hold nothing past it. The CLI runs in os.fork()ed
children (torch loaded once, one thread, one at a time), so 24 signals cost seconds; one more goes to the
real entry point (`python -m studio`) after its terminal hung up. A last test sends SIGTERM to the studio.
"""

from __future__ import annotations

import io
import json
import os
import pty
import random
import select
import signal
import subprocess
import sys
import threading
import time
import traceback

import pytest
import torch

from studio.cli import signals as cli_signals
from studio.cli.main import main
from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig
from studio.engine.data.procedural import discs, write_folder
from studio.engine.models.sessions import create_session
from studio.engine.project.checkpoints import list_checkpoints, load_latest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(signal, "SIGHUP"), reason="POSIX signals")

SIGNALS = 24
SEED = int(os.environ.get("GAN_STUDIO_SIGNAL_SEED", "20261203"))
TINY = {"batch": 4, "ngf": 8, "ndf": 8, "z_dim": 16, "preview_count": 4}
# No scheduled checkpoint or sample grid: only the stop writes one, so a lost step would show.
SETTINGS = RunSettings(steps=10**6, checkpoint_every=10**6, sample_every=10**6, log_every=1, metric_every=0,
                       keep_checkpoints=2, seed=3)
RESUME = ["--steps", str(10**6)]
CHILD_TIMEOUT_S = 60.0


@pytest.fixture
def project(tmp_path):
    data = write_folder(discs(12, 32, seed=1), tmp_path / "data")
    root = tmp_path / "proj"
    session = create_session(root, "dcgan", {"data": str(data)}, DataConfig(size=32), SETTINGS, dict(TINY))
    list(session.run(until_step=1))
    session.close()
    return root


def _history_steps(root) -> list[int]:
    path = root / "history.jsonl"
    if not path.exists():
        return []
    steps = []
    for line in path.read_text().splitlines():
        try:
            steps.append(json.loads(line)["step"])
        except (ValueError, KeyError):
            pass  # a line being appended right now
    return steps


def _newest(root) -> int:
    return list_checkpoints(root / "checkpoints")[-1][0]


def _check_after(root, before_signal: int, where: str) -> int:
    """The checks after one stop; returns the newest checkpoint's step."""
    newest = _newest(root)
    assert newest >= before_signal, f"{where}: step {before_signal} was done before the signal, newest is {newest}"
    found = load_latest(root / "checkpoints")
    assert found is not None and found[1]["step"] == newest, where
    steps = _history_steps(root)
    assert steps == sorted(set(steps)), f"{where}: history steps repeat or go back"
    assert not steps or steps[-1] == newest, f"{where}: history reaches {steps[-1]}, the checkpoint {newest}"
    return newest


def _fork_cli(root, log):
    """A child running `gan-studio resume` in this process's image. Stop signals are blocked until the CLI
    has installed its handlers, so one sent during start-up waits for them instead of killing the child."""
    stops = {signal.SIGTERM, signal.SIGHUP}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stops)  # blocked from the child's first instant
    pid = os.fork()
    if pid != 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        return pid
    code = 3
    try:
        enter = cli_signals.StopFlag.__enter__

        def enter_then_unblock(self):
            flag = enter(self)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
            return flag

        cli_signals.StopFlag.__enter__ = enter_then_unblock
        sys.stdout = sys.stderr = open(log, "a")  # noqa: SIM115 - os._exit below ends the process
        code = main(["resume", str(root), *RESUME])
    except BaseException:
        traceback.print_exc()  # into the log the failed assertion shows
    finally:
        sys.stderr.flush()
        os._exit(code)


def _wait(pid, where) -> int:
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"{where}: still running {CHILD_TIMEOUT_S} s after the signal")


def test_sigterm_and_sighup_at_random_moments_keep_the_last_step(project, tmp_path):
    print(f"\nsignal test seed {SEED} (rerun with GAN_STUDIO_SIGNAL_SEED={SEED})")
    rnd = random.Random(SEED)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # forked children inherit it; OpenMP pools do not survive fork well
    log = tmp_path / "children.log"
    t0 = time.perf_counter()
    try:
        start = _newest(project)
        for i in range(SIGNALS):
            signum = (signal.SIGTERM, signal.SIGHUP)[i % 2]
            where = f"signal {i} ({signal.Signals(signum).name}, seed {SEED})"
            pid = _fork_cli(project, log)
            time.sleep(rnd.uniform(0.0, 0.7))
            before = max(_history_steps(project), default=0)  # completed steps the child has logged
            os.kill(pid, signum)
            status = _wait(pid, where)
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"{where}: status {status}:\n{log.read_text()}"
            _check_after(project, before, where)
        end = _newest(project)
    finally:
        torch.set_num_threads(threads)
    print(f"{SIGNALS} signals in {time.perf_counter() - t0:.1f} s: trained from step {start} to {end}")
    assert end > start + SIGNALS, "the children hardly trained: the signals did not land mid-training"
    assert "Traceback" not in log.read_text()


def _start_entry_point(root, **popen):
    cmd = [sys.executable, "-m", "studio", "resume", str(root), *RESUME]
    return subprocess.Popen(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"}, **popen)


def _wait_for_training(proc, root, after: int):
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while max(_history_steps(root), default=0) <= after + 2:
        assert proc.poll() is None, "the command ended before training"
        assert time.monotonic() < deadline, "no training step logged"
        time.sleep(0.05)


def test_entry_point_sighup_after_its_terminal_closed_saves_the_last_step(project):
    """The terminal hangs up first (its window closed): every write to it now fails, and the save must not."""
    start = _newest(project)
    master, slave = pty.openpty()
    proc = _start_entry_point(project, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    stop = threading.Event()

    def drain():  # the terminal's reader: keeps the progress bar from filling the pty buffer
        while not stop.is_set():
            if select.select([master], [], [], 0.05)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    return

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        _wait_for_training(proc, project, start)
    finally:
        stop.set()
        reader.join()
    os.close(master)  # the hang-up: the child's stdout and stderr now fail with EIO
    before = max(_history_steps(project))
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=CHILD_TIMEOUT_S) == 0
    assert _check_after(project, before, "SIGHUP") > start


def test_the_studio_closes_properly_on_sigterm(project, tmp_path):
    """The studio's event loop notices the signal and closes its window the normal way (exit 0, not 143)."""
    pytest.importorskip("PySide6")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GAN_STUDIO_REPORT_STARTUP": "1",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "studio", str(project)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + CHILD_TIMEOUT_S
        seen = ""
        while "window painted" not in seen:
            assert time.monotonic() < deadline and proc.poll() is None, seen
            if select.select([proc.stderr], [], [], 0.1)[0]:
                seen += proc.stderr.readline()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def _deliver(signum) -> None:
    # raise_signal, not os.kill(getpid()): the kernel may hand a process-directed signal to any thread
    # (the suite's earlier tests leave torch and Qt threads behind), and then this thread's handler
    # runs only whenever it next checks: in one full-suite run (2-core Zen 4 EPYC) the first Ctrl-C
    # below did not raise.
    signal.raise_signal(signum)
    time.sleep(0.05)  # the Python-level handler runs between two bytecodes of this thread


def test_start_up_listens_for_the_session_ending_and_ctrl_c_aborts_it():
    """Before training, Ctrl-C still aborts at once (nothing to save); SIGTERM is remembered; once the
    training loop listens, a first Ctrl-C stops after the step and a second aborts."""
    # A command starts with Python's own Ctrl-C handler, which start-up keeps. Set it here: in one
    # full-suite run (2-core Zen 4 EPYC, 2026-12-04) the first Ctrl-C below did not raise, so something
    # earlier in the process had left another handler for SIGINT, and this test is about start-up's.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _start_up_and_loop()
    finally:
        signal.signal(signal.SIGINT, previous_int)


def _start_up_and_loop() -> None:
    assert cli_signals.StopFlag._active is None  # no flag left listening by an earlier command
    before = {s: signal.getsignal(s) for s in cli_signals.STOP_SIGNALS}
    with cli_signals.StopFlag(cli_signals.SESSION_END) as start_up:
        with pytest.raises(KeyboardInterrupt):
            _deliver(signal.SIGINT)
        assert not start_up.event.is_set()
        with cli_signals.StopFlag() as loop:
            assert loop.event is start_up.event
            _deliver(signal.SIGINT)
            assert loop.event.is_set()
            with pytest.raises(KeyboardInterrupt):
                _deliver(signal.SIGINT)
        _deliver(signal.SIGTERM)  # the event is shared and set; the process lives on
    assert {s: signal.getsignal(s) for s in cli_signals.STOP_SIGNALS} == before


def test_the_studio_saves_the_step_it_was_training_when_sigterm_arrives(qtbot, project):
    """The same route as run_studio: the signal reaches the event loop, the window closes without asking
    (nobody is there to answer), and the close stops training after its step and saves it."""
    pytest.importorskip("PySide6")
    from types import SimpleNamespace

    from studio.ui.main import _close_for_signal
    from studio.ui.main_window import MainWindow
    from studio.ui.stop_signals import StopSignals

    window = MainWindow(device="cpu")
    qtbot.addWidget(window)
    window.confirm_close_while_training = lambda: False  # asking here would keep it open: the test fails
    quits = []
    stop = StopSignals(lambda signum: _close_for_signal(SimpleNamespace(quit=lambda: quits.append(signum)), window),
                       window).install()
    try:
        window.show()
        assert window.open_project(project)
        start = _newest(project)
        window.training_panel.steps_spin.setValue(100_000)
        window.training.start()
        qtbot.waitUntil(lambda: max(_history_steps(project), default=0) >= start + 3, timeout=60_000)
        before = max(_history_steps(project))
        os.kill(os.getpid(), signal.SIGTERM)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    finally:
        stop.uninstall()
    assert quits == [signal.SIGTERM]
    assert not window.controller.busy
    assert _check_after(project, before, "studio SIGTERM") > start


class _SignalMidWrite(io.RawIOBase):
    """A file whose first write is interrupted by SIGTERM: the handler runs while the buffered stream
    above it is in the middle of that write, as when the signal lands during a progress bar update."""

    def __init__(self, fd: int):
        self.fd, self.fired = fd, False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def write(self, data) -> int:
        if not self.fired:
            self.fired = True
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.01)  # the Python-level handler runs here, inside the buffered write
        return os.write(self.fd, bytes(data))


def test_a_signal_landing_mid_write_to_stderr_does_not_break_training(tmp_path, monkeypatch):
    fd = os.open(tmp_path / "stderr.txt", os.O_WRONLY | os.O_CREAT)
    stream = io.TextIOWrapper(io.BufferedWriter(_SignalMidWrite(fd)))
    monkeypatch.setattr(sys, "stderr", stream)
    try:
        with cli_signals.StopFlag(cli_signals.SESSION_END) as flag:
            stream.write("  3%|#         | 31/1000 [00:02<01:10, 13.7step/s]")
            stream.flush()  # a RuntimeError ("reentrant call") here would reach the training loop
        assert flag.event.is_set()
    finally:
        monkeypatch.undo()
        stream.close()
    assert "SIGTERM: stopping after this step" in (tmp_path / "stderr.txt").read_text()
