"""A video clip in the new-project wizard: dropped on the folder field, prepared, reported with its frames."""

import pytest
from PySide6.QtCore import QMimeData, QUrl

from studio.app.prepare import prepare_folders
from studio.ui.widgets.dataset_report_view import DatasetReportView
from studio.ui.widgets.folder_field import FolderField, dropped_folders
from tests.engine.test_video import disc_frames, write_mp4


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_mp4(tmp_path_factory.mktemp("clip") / "walk.mp4", disc_frames())


def _mime(*paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def test_a_dropped_clip_is_taken_where_videos_are_asked_for(qtbot, clip, tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    mime = _mime(clip, tmp_path / "notes.txt", tmp_path)
    assert dropped_folders(mime) == [str(tmp_path)]  # a project drop or an output folder: folders only
    assert dropped_folders(mime, videos=True) == [str(clip), str(tmp_path)]
    field = FolderField(videos=True)
    qtbot.addWidget(field)
    assert dropped_folders(_mime(clip), field._videos) == [str(clip)]


def test_preparing_a_clip_suggests_from_its_frames_and_reports_them(qtbot, clip, monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    run = prepare_folders("dcgan", {"data": str(clip)}, device="cpu", size=32)
    prepared = run(lambda *a: None, lambda: False)
    ds = prepared.datasets["data"]
    assert len(ds) == 101 and ds.report.frames["similar"] == 19
    # sized as the 101 frames training uses (as the report counts them), not as one file (a batch of 1,
    # "only 1 images")
    assert prepared.suggestion.reasons["flip"].startswith("Only 101 images") and prepared.suggestion.batch > 1
    view = DatasetReportView()
    qtbot.addWidget(view)
    view.set_dataset(ds.images.numpy(), ds.paths, ds.report)
    assert view.thumbs.count() == 101
    assert view.issue_titles()[0] == "Took 101 of 120 video frames (every frame, 19 near-identical frames left out)"
    assert view.thumbs.item(1).toolTip() == "walk.mp4#frame 1"
