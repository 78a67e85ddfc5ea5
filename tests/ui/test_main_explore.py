"""The explorer lives in the main window as the "Explore" tab of a DCGAN project."""

from __future__ import annotations

from studio.engine.project.folder import Project


def test_explore_tab_follows_the_project_kind(qtbot, window, trained_dcgan, trained_cyclegan):
    assert window.open_project(trained_dcgan)
    tabs = window.work_tabs
    assert tabs.isTabEnabled(window.explore_tab)
    tabs.setCurrentIndex(window.explore_tab)
    pad = window.explorer.pad
    # the generator of the project's latest checkpoint renders on the pad
    qtbot.waitUntil(lambda: pad.preview.has_picture(), timeout=30_000)
    assert window.explorer.project_dir == Project.open(trained_dcgan).root

    assert window.open_project(trained_cyclegan)
    assert not tabs.isTabEnabled(window.explore_tab)
    assert tabs.currentWidget() is window.samples_view
    assert window.explorer.project_dir is None


def test_live_weights_answer_the_no_checkpoint_message(qtbot, tmp_path, shapes_folder):
    from studio.engine.config import RunSettings, config_from_dict
    from studio.engine.data.dataset import DataConfig
    from studio.engine.models import get_kind
    from studio.engine.models.sessions import create_session
    from studio.ui.explorer import ExplorerPanel

    session = create_session(tmp_path / "fresh", "dcgan", {"data": str(shapes_folder)}, DataConfig(size=32),
                             RunSettings(steps=5, device="cpu"), {"ngf": 8, "ndf": 8, "z_dim": 16, "batch": 8})
    project = session.project
    session.close()
    panel = ExplorerPanel(device="cpu")
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.renderer.failed, timeout=30_000):
        panel.set_project(project.root)
    assert "no trained checkpoint" in panel.status_label.text()
    # the studio trains it and hands the explorer the live weights: the message no longer applies
    kind = get_kind(project.kind)
    cfg = config_from_dict(kind.config_cls, project.meta["model"])
    with qtbot.waitSignal(panel.model_changed, timeout=30_000):
        panel.set_generator_state(cfg, kind.make_generator(cfg).state_dict(), 3, kind=kind)
    assert panel.status_label.text() == ""
    assert "live weights from training" in panel.info_label.text()
    panel.shutdown()
