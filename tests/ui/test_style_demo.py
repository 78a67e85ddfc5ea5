"""Help ▸ Open Demo: Faces, Style-based: a copy of the bundled style-based demo opens on the Explore
tab in W with its bookmarks, says why it cannot continue training, and the entry is hidden where
the demo is not bundled."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

STYLE = Path(__file__).resolve().parents[2] / "models" / "demo-style"


@pytest.mark.skipif(not STYLE.is_dir(), reason="models/demo-style missing")
def test_help_opens_the_style_demo_in_w(qtbot, tmp_path, monkeypatch):
    from studio.ui.main_window import MainWindow

    models = tmp_path / "models"
    shutil.copytree(STYLE, models / "demo-style")  # the bundled folder itself is never opened
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(models))
    monkeypatch.setenv("GAN_STUDIO_DATA", str(tmp_path / "data"))
    w = MainWindow(device="cpu", remember_layout=False)
    qtbot.addWidget(w)
    w.show()
    assert w.demo_style_action.isVisible() and not w.demo_sketch_action.isVisible()
    w.demo_style_action.trigger()
    assert w.state.project is not None and w.state.project.root.is_relative_to(tmp_path / "data")  # a copy
    assert w.work_tabs.currentIndex() == w.explore_tab
    panel = w.explorer
    qtbot.waitUntil(lambda: panel.renderer.has_model and panel.renderer.space == "w", timeout=60_000)
    qtbot.waitUntil(lambda: panel.pad.shown_latent is not None, timeout=20_000)
    assert panel.space_combo.currentData() == "w"
    # its bookmarks, made in W, are the ones the explorer lists there
    qtbot.waitUntil(lambda: len(panel.store.latents) >= 10, timeout=20_000)
    assert any(e.name.startswith("glasses, short hair") for e in panel.store.latents)
    # Continue training: off, even with a later last step, and the panel says why and what to do
    # instead (not "raise 'Train until step'", nor the other demos' "its pictures are not stored")
    tp = w.training_panel
    tp.steps_spin.setValue(w.state.project.step + 1000)  # its run ended at the bundled step
    assert not tp.start_button.isEnabled() and not w.start_action.isEnabled()
    assert "New Project from This Model" in tp.status.text() and "Raise" not in tp.status.text()
    assert "keeps only its trained generator" in tp.start_button.toolTip()
    w.last_message = None
    w.training_panel.start_requested.emit()  # any other way in: refused with the sentence, nothing starts
    qtbot.waitUntil(lambda: w.last_message is not None, timeout=10_000)
    assert not w.controller.busy
    assert "keeps only its trained generator" in w.last_message.text()
    assert "New Project from This Model" in w.last_message.text()
    w.close()
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(tmp_path / "nothing"))
    w2 = MainWindow(device="cpu", remember_layout=False)
    qtbot.addWidget(w2)
    assert not w2.demo_style_action.isVisible()  # no bundled style demo: no menu entry leading nowhere
    w2.close()
