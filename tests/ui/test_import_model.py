"""File ▸ Import Model… in the studio: a StyleGAN2-ADA network pickle opens as a project in the explorer;
a pickle naming anything else to load is refused with a message and leaves no folder."""

from __future__ import annotations

import os

from tests.engine.test_pkl_import import _weights, write_network_pickle


def test_import_opens_the_model_in_the_explorer(qtbot, window, tmp_path):
    pkl = tmp_path / "faces.pkl"
    write_network_pickle(pkl, tmp_path / "MARKER", _weights(3))
    out = tmp_path / "faces"
    window.model_import.start(pkl, out)
    qtbot.waitUntil(lambda: window.state.project is not None and window.state.project.root == out, timeout=60_000)
    assert window.work_tabs.currentIndex() == window.explore_tab
    assert "never run" in window.statusBar().currentMessage()
    assert window.from_model_action.isEnabled()  # fine-tuning starts from it
    panel = window.project_panel
    assert panel.from_model_button.isEnabled()
    assert "Imported from" in panel.text.toPlainText() and "never run" in panel.text.toPlainText()
    qtbot.waitUntil(window.explorer.is_rendered, timeout=60_000)
    if os.environ.get("GAN_STUDIO_SHOTS"):  # screenshots for the docs, looked at by a person
        window.resize(1280, 720)
        qtbot.wait(500)
        window.grab().save(os.path.join(os.environ["GAN_STUDIO_SHOTS"], "import-explorer.png"))
    assert not (tmp_path / "MARKER").exists()


def test_a_refused_file_is_a_message(qtbot, window, tmp_path):
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"cos\nsystem\n(S'touch hacked'\ntR.")
    window.model_import.start(evil, tmp_path / "evil")
    qtbot.waitUntil(lambda: window.last_message is not None, timeout=30_000)
    text = window.last_message.text()
    assert "os.system" in text and "nothing in it was run" in text and "Traceback" not in text
    assert window.last_message.windowTitle() == "Cannot import the model"
    assert not (tmp_path / "evil").exists() and window.state.project is None
