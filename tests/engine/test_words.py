"""Counts in words (studio/engine/words.py): the one place messages pluralise."""

from studio.engine.words import counted, plural


def test_counts_read_as_a_person_writes_them():
    assert counted(1, "image") == "1 image"
    assert counted(0, "image") == "0 images"
    assert counted(1200, "step") == "1,200 steps"
    assert counted(2, "sample grid") == "2 sample grids"
    assert plural(1, "CPU core") == "CPU core" and plural(2, "GPU") == "GPUs"
    assert plural(1.0, "minute") == "minute" and plural(0.5, "minute") == "minutes"


def test_the_dataset_report_separates_thousands_as_the_studio_does():
    """The command line prints DatasetReport.lines(); large collections read '12,345 images'."""
    from studio.engine.data.report import DatasetReport

    report = DatasetReport(folder="/pics", used=12345, skipped=[(f"/pics/{i}.png", "broken") for i in range(1234)],
                           small=[(f"/pics/s{i}.png", 8, 8) for i in range(1001)], size=64,
                           ignored={".heic": 2500})
    text = "\n".join(report.lines(max_items=2))
    assert "Using 12,345 images from /pics" in text
    assert "Skipped 1,234 files:" in text and "... and 1,232 more" in text
    assert "1,001 images smaller than 64x64 px" in text
    assert "Ignored 2,500 files that are not supported images (.heic x2,500)" in text
