"""Helpers for the studio's widget tests: tiny projects trained by the engine, windows, wizard driving."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig

TINY_DCGAN = {"ngf": 8, "ndf": 8, "z_dim": 16, "batch": 8, "preview_count": 16}
TINY_CYCLEGAN = {"ngf": 8, "ndf": 8, "n_blocks": 1, "batch": 1, "preview_count": 2, "pool_size": 4}


def train_project(out: Path, kind: str, folders: dict, steps: int, overrides: dict, sample_every: int = 2) -> Path:
    """Create and train a tiny project with the engine alone (no Qt)."""
    from studio.engine.models.sessions import create_session

    settings = RunSettings(steps=steps, sample_every=sample_every, checkpoint_every=1000, log_every=1, device="cpu")
    session = create_session(out, kind, folders, DataConfig(size=32), settings, overrides)
    for _ in session.run():
        pass
    return out


@pytest.fixture
def trained_dcgan(tmp_path, shapes_folder) -> Path:
    return train_project(tmp_path / "dcgan-proj", "dcgan", {"data": str(shapes_folder)}, 6, TINY_DCGAN)


@pytest.fixture
def window(qtbot):
    """A studio window; closed at the end of the test with every thread joined."""
    from studio.ui.main_window import MainWindow

    w = MainWindow(device="cpu")
    w.confirm_close_while_training = lambda: True  # no modal question in tests
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def drive_wizard(qtbot, wizard, folders: dict, parent: Path, name: str, width: int = 8, steps: int = 40,
                 sample_every: int = 5, batch: int | None = None, kind: str | None = None):
    """Fill the new-project wizard like a user would, and wait for the dataset report. `kind`: the
    kind to pick (default: the first whose roles are the keys of `folders`)."""
    from studio.engine.models import KINDS

    src = wizard.source_page
    if kind is None:
        kind = next(k.name for k in KINDS.values() if {r.name for r in k.roles} == set(folders))
    src.kind_radios[kind].setChecked(True)
    for role, folder in folders.items():
        src.fields[role].set_path(str(folder))
    src.location_field.set_path(str(parent))
    src.name_edit.setText(name)
    src._on_name_edited()
    assert src.isComplete()
    wizard.next()
    report = wizard.report_page
    assert wizard.currentPage() is report
    qtbot.waitUntil(report.isComplete, timeout=30_000)
    wizard.next()
    page = wizard.settings_page
    assert wizard.currentPage() is page
    page.option_widgets["width"].setValue(width)
    page.steps_spin.setValue(steps)
    page.sample_spin.setValue(sample_every)
    page.ckpt_spin.setValue(1000)
    page.device_combo.setCurrentIndex(page.device_combo.findData("cpu"))
    if batch is not None:
        page.batch_spin.setValue(batch)
    return report, page


@pytest.fixture
def fill_wizard(qtbot):
    """fill_wizard(wizard, folders, parent, name, **settings) -> (report_page, settings_page)."""
    return lambda wizard, *args, **kwargs: drive_wizard(qtbot, wizard, *args, **kwargs)


@pytest.fixture
def trained_cyclegan(tmp_path, shapes_factory) -> Path:
    a = shapes_factory(tmp_path / "red", count=6, colors=[(220, 40, 40)], seed=1)
    b = shapes_factory(tmp_path / "blue", count=6, colors=[(40, 60, 220)], seed=2)
    return train_project(tmp_path / "cyc-proj", "cyclegan", {"a": str(a), "b": str(b)}, 2, TINY_CYCLEGAN)
