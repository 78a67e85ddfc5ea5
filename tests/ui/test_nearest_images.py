"""The memorization check in the explorer: the pad's image and its nearest training images."""

from __future__ import annotations

import numpy as np
import pytest

from studio.engine.errors import UserError
from studio.engine.explore.nearest_images import index_project
from studio.ui.explorer import ExplorerPanel
from studio.ui.explorer.nearest_dialog import K, verdict


def test_index_project_finds_a_training_image_itself(trained_dcgan):
    index = index_project(trained_dcgan)
    pic = index.picture(3)
    nb = index.query(pic, k=2, space="feature")
    assert nb.indices[0] == 3 and nb.distances[0] == pytest.approx(0, abs=1e-5)
    assert verdict(nb.copy_ratio).startswith("This image is nearly identical")


def test_dialog_shows_the_nearest_training_images(qtbot, trained_dcgan):
    panel = ExplorerPanel(trained_dcgan)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.pad.shown_picture is not None and panel.nearest_button.isEnabled(),
                    timeout=30_000)
    dialog = panel.open_nearest()
    qtbot.waitUntil(lambda: dialog.neighbours is not None, timeout=30_000)
    nb = dialog.neighbours
    assert len(nb.indices) == K and np.all(np.diff(nb.distances) >= 0)
    assert "image" in dialog.status.text() and "usual distance" in dialog.status.text()
    dialog.close()
    panel.shutdown()


def test_missing_training_images_are_a_clear_message(tmp_path, trained_dcgan):
    import json

    meta = json.loads((trained_dcgan / "project.json").read_text())
    meta["data"]["folders"]["data"] = str(tmp_path / "gone")
    (trained_dcgan / "project.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="not on this computer"):
        index_project(trained_dcgan)
