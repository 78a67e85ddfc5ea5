"""The new-project wizard is built from the model kinds, and left alone it asks for exactly the
suggested project: the one `gan-studio train` makes from the same folders (tests/engine/test_same_config.py)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox

from studio.app.prepare import build_request
from studio.engine.config import RunSettings
from studio.engine.data.procedural import discs, write_folder
from studio.engine.models import KINDS, get_kind
from studio.ui.new_project import NewProjectWizard


@pytest.fixture
def wizard(qtbot, tmp_path):
    w = NewProjectWizard(device="cpu")
    qtbot.addWidget(w)
    w.show()
    yield w
    w.done(0)


def test_one_choice_per_kind_with_its_folders(wizard):
    src = wizard.source_page
    assert list(src.kind_radios) == list(KINDS)
    for name, radio in src.kind_radios.items():
        radio.setChecked(True)
        shown = {role for role, field in src.fields.items() if field.isVisibleTo(wizard)}
        assert shown == {r.name for r in get_kind(name).roles}


def _to_settings(qtbot, wizard, tmp_path, name):
    """Kind `name` with small folders of discs for its roles, through the report to the settings page."""
    src = wizard.source_page
    src.kind_radios[name].setChecked(True)
    for i, role in enumerate(get_kind(name).roles):
        src.fields[role.name].set_path(str(write_folder(discs(10, 40, seed=i), tmp_path / "images" / role.name)))
    src.location_field.set_path(str(tmp_path / "projects"))
    wizard.next()
    qtbot.waitUntil(wizard.report_page.isComplete, timeout=30_000)
    wizard.next()


@pytest.mark.parametrize("name", list(KINDS))
def test_untouched_settings_are_the_suggestion(qtbot, wizard, tmp_path, name):
    kind = get_kind(name)
    _to_settings(qtbot, wizard, tmp_path, name)
    src, report, page = wizard.source_page, wizard.report_page, wizard.settings_page

    # One control per option, of the option's sort, showing the suggested value.
    suggestion = report.prepared.suggestion
    assert list(page.option_widgets) == [o.name for o in kind.options]
    sorts = {o.name: QComboBox if o.choices else QSpinBox if o.is_number else QCheckBox for o in kind.options}
    assert all(isinstance(page.option_widgets[n], sort) for n, sort in sorts.items())
    assert page.option_values() == suggestion.options
    assert [page.size_combo.itemData(i) for i in range(page.size_combo.count())] == list(kind.sizes)
    page.batch_spin.setValue(2)
    assert page.batch_spin.suffix() == f" {kind.batch_unit} per step"
    page.batch_spin.setValue(1)
    assert page.batch_spin.suffix() == f" {kind.batch_unit[:-1]} per step"  # "1 pair per step"
    page.batch_spin.setValue(suggestion.batch)

    untouched = build_request(report.prepared, str(src.project_dir()), src.data_config(), RunSettings())
    assert wizard.request() == untouched


@pytest.mark.parametrize("device_kind", ["cpu", "cuda", "mps"])
def test_one_kind_is_recommended_per_device_with_its_reason(device_kind):
    """At most one kind is the wizard's default on each kind of device, and it says why."""
    reasons = {name: k.recommendation(device_kind) for name, k in KINDS.items() if k.recommendation(device_kind)}
    assert len(reasons) == 1
    assert all(len(why) > 40 and why.endswith(".") for why in reasons.values())


def test_the_wizard_selects_the_recommended_kind_and_shows_why(qtbot):
    """On a CPU the measured default (the DCGAN: pictures within minutes, bench/equal_time.py) is
    selected with its reason under it, and the other kinds show none."""
    w = NewProjectWizard(device="cpu")
    qtbot.addWidget(w)
    w.show()
    src = w.source_page
    (name, why), = [(n, k.recommendation("cpu")) for n, k in KINDS.items() if k.recommendation("cpu")]
    assert src.kind() == name
    note = src.recommended_notes[name]
    assert note.isVisibleTo(w) and "Recommended for this computer" in note.text() and why[:30] in note.text()
    assert not any(label.isVisibleTo(w) for n, label in src.recommended_notes.items() if n != name)
    # another kind may still be chosen; the reason stays by the recommended one
    other = next(n for n in KINDS if n != name)
    src.kind_radios[other].setChecked(True)
    assert src.kind() == other and note.isVisibleTo(w)
    w.done(0)


@pytest.mark.parametrize("name", list(KINDS))
def test_the_settings_page_scrolls_instead_of_outgrowing_a_laptop_screen(qtbot, wizard, tmp_path, name):
    """Every kind's settings fit the wizard's 720 px (the style-based kind's options made it grow to 813 px,
    past a 768 px screen); its last row is reachable by scrolling."""
    from PySide6.QtWidgets import QScrollArea

    _to_settings(qtbot, wizard, tmp_path, name)
    qtbot.wait(50)
    assert wizard.height() <= 720
    scroll = wizard.settings_page.findChild(QScrollArea)
    scroll.ensureWidgetVisible(wizard.settings_page.seed_spin)
    qtbot.wait(50)
    seed = wizard.settings_page.seed_spin
    top_left = seed.mapTo(scroll.viewport(), seed.rect().topLeft())
    assert 0 <= top_left.y() and top_left.y() + seed.height() <= scroll.viewport().height()
