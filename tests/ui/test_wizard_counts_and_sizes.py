"""The new-project wizard's words agree with what training uses (issue 16 item 9): the settings page
counts the usable images the report counts, a size reason follows the size shown, and the report
speaks of the training size the user chose, not the larger size a kind decodes at."""

from __future__ import annotations

import pytest
from PIL import Image

import studio.app.prepare as prepare_module
from studio.engine.data.procedural import discs, write_folder
from studio.engine.data.report import DatasetReport
from studio.engine.models import KINDS, get_kind
from studio.ui.new_project import NewProjectWizard
from studio.ui.widgets.dataset_report_view import DatasetReportView

CYCLE = next(k.name for k in KINDS.values() if len(k.roles) == 2)


@pytest.fixture
def wizard(qtbot, monkeypatch):
    # The estimate's timed steps are not what these tests look at.
    monkeypatch.setattr(prepare_module, "timing_task", lambda *a, **k: (lambda progress, cancel: None))
    w = NewProjectWizard(device="cpu")
    qtbot.addWidget(w)
    w.show()
    yield w
    w.done(0)


def _folder(path, seed: int):
    """10 discs of 48 px, 3 damaged files (skipped), a 20 px and a 34 px image."""
    folder = write_folder(discs(10, 48, seed=seed), path)
    for i in range(3):
        (folder / f"damaged{i}.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really" * 3)
    Image.new("RGB", (20, 20), (200, 40, 90)).save(folder / "tiny20.png")
    Image.new("RGB", (34, 34), (40, 160, 90)).save(folder / "mid34.png")
    return folder


def _to_settings(qtbot, wizard, tmp_path, name):
    src = wizard.source_page
    src.kind_radios[name].setChecked(True)
    for i, role in enumerate(get_kind(name).roles):
        src.fields[role.name].set_path(str(_folder(tmp_path / "images" / role.name, i)))
    src.location_field.set_path(str(tmp_path / "projects"))
    wizard.next()
    qtbot.waitUntil(wizard.report_page.isComplete, timeout=60_000)
    report = wizard.report_page
    wizard.next()
    return report, wizard.settings_page


def test_settings_page_counts_the_usable_images_of_the_report(qtbot, wizard, tmp_path):
    report, page = _to_settings(qtbot, wizard, tmp_path, "dcgan")
    view = next(iter(report.views.values()))
    assert report.prepared.counts == {"data": 12}  # 15 files found, 3 damaged
    assert page.flip_reason.text().startswith("Only 12 images")
    assert view.summary.text().startswith("12 usable images")


def test_size_reason_follows_the_chosen_size(qtbot, wizard, tmp_path):
    report, page = _to_settings(qtbot, wizard, tmp_path, "dcgan")
    suggested = report.prepared.suggestion
    assert page.size_combo.currentData() == suggested.size
    assert page.size_reason.text() == suggested.reasons["size"]
    other = next(s for s in get_kind("dcgan").sizes if s != suggested.size)
    page.size_combo.setCurrentIndex(page.size_combo.findData(other))
    text = page.size_reason.text()
    assert text.startswith("Chosen by you") and f"Suggested: {suggested.size} px" in text
    page.batch_spin.setValue(suggested.batch + 1)
    assert page.batch_reason.text().startswith("Chosen by you")
    page.size_combo.setCurrentIndex(page.size_combo.findData(suggested.size))  # back to the suggestion
    assert page.size_reason.text() == suggested.reasons["size"]


def test_report_speaks_of_the_training_size_not_the_load_size(qtbot, wizard, tmp_path):
    report, _page = _to_settings(qtbot, wizard, tmp_path, CYCLE)
    size = report.prepared.data_cfg.size
    loaded = next(iter(report.prepared.datasets.values())).images.shape[-1]
    assert loaded > size  # the kind decodes larger, for random crops
    for view in report.views.values():
        small = [t for t in view.issue_titles() if "smaller than" in t]
        assert small == [f"1 image smaller than {size} px"]  # the 20 px one; 34 px is above the training size


def test_report_at_a_training_size_keeps_only_images_under_it(qtbot):
    r = DatasetReport("/f", used=3, small=[("/f/a.png", 20, 20), ("/f/b.png", 34, 34)], size=36)
    at = r.at_size(32)
    assert at.size == 32 and at.small == [("/f/a.png", 20, 20)]
    assert "1 image smaller than 32x32 px (enlarged, may look blurry):" in at.lines()
    assert r.at_size(0) is r
    view = DatasetReportView()
    qtbot.addWidget(view)
    import numpy as np

    view.set_dataset(np.zeros((3, 3, 36, 36), np.uint8), ["/f/a.png", "/f/b.png", "/f/c.png"], r, size=32)
    assert "1 image smaller than 32 px" in view.issue_titles()
