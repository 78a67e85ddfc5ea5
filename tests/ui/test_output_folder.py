"""The results folder picker takes an existing folder or a typed new name (Qt's own refuses the latter)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QLineEdit

from studio.ui.output_folder import OutputFolderDialog


def _choose(qtbot, parent_dir, typed):
    d = OutputFolderDialog(None, "Where", parent_dir / "photos-a2b")
    qtbot.addWidget(d)
    d.show()
    edit = d.findChild(QLineEdit, "fileNameEdit")
    assert edit.text() == "photos-a2b"  # the suggested new folder is offered
    edit.setText(typed)
    d.accept()
    return d


def test_a_new_folder_name_is_accepted(qtbot, tmp_path):
    d = _choose(qtbot, tmp_path, "night shots")
    assert d.result() == QDialog.DialogCode.Accepted and d.chosen() == tmp_path / "night shots"
    assert not (tmp_path / "night shots").exists()  # made by the task that writes the results


def test_an_existing_folder_is_accepted(qtbot, tmp_path):
    (tmp_path / "old").mkdir()
    d = _choose(qtbot, tmp_path, "old")
    assert d.result() == QDialog.DialogCode.Accepted and d.chosen() == tmp_path / "old"


def test_a_name_in_a_missing_folder_is_not(qtbot, tmp_path):
    d = OutputFolderDialog(None, "Where", tmp_path / "x")
    qtbot.addWidget(d)
    d.show()
    d.findChild(QLineEdit, "fileNameEdit").setText(str(tmp_path / "no" / "such" / "place"))
    d.accept()
    assert d.isVisible() and d.result() != QDialog.DialogCode.Accepted
    assert d.problem is not None and "does not exist" in d.problem.text()
    d.problem.close()
    d.reject()
