"""A fine-tuned project's lineage in the studio: the project panel says which model it started from
(a link that opens it), and "New Project from This Model…" runs the wizard from the open project."""

from __future__ import annotations

import json

from PySide6.QtCore import QUrl

from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig
from studio.engine.models.sessions import create_session
from studio.engine.project.folder import Project
from tests.ui.conftest import TINY_DCGAN


def _fine_tune(out, parent, folder, steps=2):
    settings = RunSettings(steps=steps, sample_every=1, checkpoint_every=1000, device="cpu", metric_every=0)
    session = create_session(out, "dcgan", {"data": str(folder)}, DataConfig(size=32, grayscale=True), settings,
                             dict(TINY_DCGAN), parent=parent)
    for _ in session.run():
        pass
    session.close()
    return out


def test_project_panel_shows_and_opens_the_parent(qtbot, window, trained_dcgan, shapes_folder, tmp_path):
    child = _fine_tune(tmp_path / "grey faces", trained_dcgan, shapes_folder)
    assert window.open_project(child)
    panel = window.project_panel
    text = panel.text.toPlainText()
    assert "Fine-tuned from" in text and f"{trained_dcgan.name} at step 6" in text
    assert "averaged to grey" in text  # what was adapted: the parent made colour pictures
    assert panel.from_model_button.isEnabled() and window.from_model_action.isEnabled()
    with qtbot.waitSignal(panel.open_project_requested) as sig:
        panel._on_link(QUrl("#parent"))  # what clicking the name does
    assert sig.args == [str(trained_dcgan.resolve())]
    assert window.state.project.root.resolve() == trained_dcgan.resolve()
    assert "Fine-tuned from" not in panel.text.toPlainText()  # the parent has no parent


def test_new_project_from_this_model(qtbot, window, fill_wizard, trained_dcgan, shapes_folder, tmp_path):
    assert window.open_project(trained_dcgan)
    window.from_model_action.trigger()
    wizard = window.wizard
    src = wizard.source_page
    assert src.parent_model == str(trained_dcgan) and src.parent_note.isVisibleTo(wizard)
    assert trained_dcgan.name in src.parent_note.text()
    assert not any(r.isEnabled() for name, r in src.kind_radios.items() if name != "dcgan")
    _report, settings = fill_wizard(wizard, {"data": shapes_folder}, tmp_path, "from-model", steps=2, sample_every=1,
                                    batch=8)
    assert settings.option_widgets["z_dim"].value() == 16  # the parent's network, not the default 100
    assert "starts from" in settings.option_reasons["diffaugment"].text() or \
        settings.option_widgets["diffaugment"].isChecked()
    request = wizard.request()
    assert request.parent == str(trained_dcgan) and request.overrides["z_dim"] == 16
    wizard.accept()
    out = tmp_path / "from-model"
    qtbot.waitUntil(lambda: Project.is_project(out) and Project.open(out, clean=False).step >= 2, timeout=120_000)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=30_000)
    meta = json.loads((out / "project.json").read_text())
    assert meta["parent"]["path"] == str(trained_dcgan.resolve()) and meta["parent"]["step"] == 6


def test_project_panel_counts_steps_in_words(qtbot, tmp_path):
    """"Trained 1 step", not "1 steps"; any other count takes the plural."""
    from studio.engine.project.folder import Project
    from studio.ui.panels.project_panel import ProjectPanel

    panel = ProjectPanel()
    qtbot.addWidget(panel)
    project = Project.create(tmp_path / "p", "dcgan", {"model": {}, "data": {}, "run": {}})
    for step, words in ((0, "0 steps"), (1, "1 step\n"), (1200, "1,200 steps")):
        project.meta["step"] = step
        panel.set_project(project)
        assert words in panel.text.toPlainText() + "\n", step
