"""Lines of history.jsonl the project had to skip are told to the user when the studio opens it."""

from __future__ import annotations

import json

from studio.app.state import history_note


def test_skipped_history_lines_are_named_in_the_status_bar(window, trained_dcgan):
    history = trained_dcgan / "history.jsonl"
    good = history.read_text().splitlines()
    assert len(good) >= 4
    # Two damaged lines among good ones (not the last line: a torn last line is a kill mid-append,
    # skipped silently).
    history.write_text("\n".join([good[0], '{"step": "x"}', good[1], "[1, 2]", *good[2:]]) + "\n")

    assert window.open_project(trained_dcgan)
    message = window.statusBar().currentMessage()
    assert message == "2 damaged lines in history.jsonl were skipped; the loss curves leave them out."
    assert [r["step"] for r in window.state.history] == [json.loads(line)["step"] for line in good]

    # Repaired and opened again: the note about the damaged file is taken down.
    history.write_text("\n".join(good) + "\n")
    assert window.open_project(trained_dcgan)
    assert window.statusBar().currentMessage() == ""


def test_the_note_names_one_line_in_the_singular():
    assert history_note(0) == ""
    assert history_note(1) == "1 damaged line in history.jsonl was skipped; the loss curves leave it out."
    assert history_note(1200).startswith("1,200 damaged lines")
