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


@pytest.mark.parametrize("name", list(KINDS))
def test_untouched_settings_are_the_suggestion(qtbot, wizard, tmp_path, name):
    kind = get_kind(name)
    src = wizard.source_page
    src.kind_radios[name].setChecked(True)
    for i, role in enumerate(kind.roles):
        src.fields[role.name].set_path(str(write_folder(discs(10, 40, seed=i), tmp_path / "images" / role.name)))
    src.location_field.set_path(str(tmp_path / "projects"))
    wizard.next()
    report = wizard.report_page
    qtbot.waitUntil(report.isComplete, timeout=30_000)
    wizard.next()
    page = wizard.settings_page

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
