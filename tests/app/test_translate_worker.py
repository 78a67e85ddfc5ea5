"""The translation thread: the newest dropped image wins, an older one stops between tiles, shutdown joins."""

from __future__ import annotations

import threading
import time

import numpy as np

from studio.app.translate_worker import TranslateController, TranslateWorker
from studio.engine.data.dataset import DataConfig
from studio.engine.errors import Cancelled


class SlowTranslator:
    """A Translator stand-in: inverts the picture, one "tile" per 10 ms, `tiles` of them."""

    def __init__(self, tiles: int):
        self.data_cfg = DataConfig(size=32)
        self.channels = 3
        self.step = 7
        self.tiles = tiles
        self.started = threading.Event()

    def translate_array(self, picture, should_cancel=None):
        self.started.set()
        for _ in range(self.tiles):
            if should_cancel is not None and should_cancel():
                raise Cancelled()
            time.sleep(0.01)
        return 255 - picture


def test_newest_request_wins_and_the_older_stops(qtbot, monkeypatch, shapes_folder):
    slow, quick = SlowTranslator(tiles=1000), SlowTranslator(tiles=1)
    translators = {"a2b": slow, "b2a": quick}
    monkeypatch.setattr(TranslateWorker, "_translator", lambda self, project, direction: translators[direction])
    images = sorted(shapes_folder.glob("*.png"))
    c = TranslateController()
    done, failed, busy = [], [], []
    c.image_done.connect(done.append)
    c.image_failed.connect(failed.append)
    c.busy_changed.connect(busy.append)

    c.translate("proj", "a2b", images[0])
    assert slow.started.wait(10)
    t0 = time.monotonic()
    c.translate("proj", "b2a", images[1])
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert time.monotonic() - t0 < 5  # the first image gave way between tiles, not after 1000 of them
    qtbot.wait(50)
    assert len(done) == 1 and not failed
    r = done[0]
    assert r.path == str(images[1]) and r.direction == "b2a" and r.step == 7
    assert np.array_equal(r.after, 255 - r.before)
    assert busy == [True, False] and not c.busy
    assert c.shutdown(timeout_s=10)


def test_a_bad_file_is_a_message_and_shutdown_joins_a_running_translation(qtbot, monkeypatch, tmp_path, shapes_folder):
    slow = SlowTranslator(tiles=100_000)
    monkeypatch.setattr(TranslateWorker, "_translator", lambda self, project, direction: slow)
    c = TranslateController()
    failed = []
    c.image_failed.connect(failed.append)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    c.translate("proj", "a2b", bad)
    qtbot.waitUntil(lambda: bool(failed), timeout=10_000)
    assert failed[0].startswith("broken.png: ") and "Traceback" not in failed[0]

    c.translate("proj", "a2b", next(shapes_folder.glob("*.png")))
    assert slow.started.wait(10)
    assert c.shutdown(timeout_s=10)  # stops at the next tile instead of translating 100,000 of them
    assert not c.busy
