"""First launch: a fresh HOME opens the bundled demo, and bundled files are never modified."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.engine.project.demos import bundled_models_dir, demo_available, demo_project

pytestmark = pytest.mark.skipif(not demo_available("faces"), reason="models/ has no bundled demo")


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _fresh_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "GAN_STUDIO_DATA"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               QT_QPA_PLATFORM="offscreen")
    return env


def test_fresh_home_launches_into_the_demo_and_bundled_files_stay_identical(tmp_path, qtbot, monkeypatch):
    bundled = _digest(bundled_models_dir())
    home = tmp_path / "home"
    shot = tmp_path / "first.png"
    r = subprocess.run([sys.executable, "-m", "studio", "--screenshot", str(shot)], env=_fresh_env(home),
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    assert shot.stat().st_size > 10_000
    copy = home / ".local/share/gan-studio/demos/demo-faces"
    assert (copy / "project.json").is_file()  # the demo opened from the user's copy

    # explore and export in the real window, on the user's copy
    monkeypatch.setenv("GAN_STUDIO_DATA", str(home / ".local/share/gan-studio"))
    from studio.engine.explore.bookmarks import ExploreStore
    from studio.ui.main_window import MainWindow

    w = MainWindow(device="cpu", remember_layout=False)
    qtbot.addWidget(w)
    w.show()
    assert w.demos.open_project("faces")
    assert w.state.project.root == demo_project("faces") == copy
    qtbot.waitUntil(w.explorer.is_rendered, timeout=60_000)
    store = ExploreStore.open(copy, 100)
    assert store.latents and store.directions  # bookmarks and the "glasses" direction came along
    w.explorer.gallery.next_seed()
    qtbot.waitUntil(w.explorer.is_rendered, timeout=60_000)
    w.close()
    from studio.cli.main import main

    assert main(["export", str(copy), "--grid", str(tmp_path / "grid.png"), "--count", "4"]) == 0
    assert main(["export", str(copy), "--walk", str(copy / "exports" / "walk.gif"), "--frames", "6"]) == 0
    assert _digest(bundled_models_dir()) == bundled
