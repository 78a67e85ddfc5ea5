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
    with pytest.raises(UserError, match="not on this computer") as err:
        index_project(trained_dcgan)
    assert str(err.value)[0].isupper() and str(err.value).endswith(".")


def test_a_demo_project_draws_its_procedural_training_images_again(tmp_path, trained_dcgan):
    import json

    from studio.engine.data.demo_sets import faces

    meta = json.loads((trained_dcgan / "project.json").read_text())
    # what the bundled demo records in place of its folder (scripts/make_demo_models.py)
    meta["data"]["folders"]["data"] = "(procedural: gan-studio demo-data faces DIR --count 40 --size 32 --seed 3)"
    (trained_dcgan / "project.json").write_text(json.dumps(meta))
    index = index_project(trained_dcgan)
    drawn, _ = faces(40, 32, 3)
    assert len(index) == 40 and index.paths[7] == "face-00007.png"
    assert np.array_equal(index.picture(7), drawn[7])
    nb = index.query(drawn[7], k=1, space="feature")
    assert nb.indices[0] == 7 and nb.distances[0] == pytest.approx(0, abs=1e-5)


def test_bundled_demo_folder_entries_are_drawn_again():
    from studio.engine.data.demo_sets import draw_procedural_folder, is_procedural_folder, scenes

    night = "(procedural: gan-studio demo-data scenes DIR --count 5 --size 32 --seed 0; then DIR/B)"
    assert is_procedural_folder(night) and not is_procedural_folder("/home/me/pictures")
    pictures, names = draw_procedural_folder(night)
    assert np.array_equal(pictures, scenes(5, 32, 0)[1]) and names[4] == "night-00004.png"
    with pytest.raises(ValueError):
        draw_procedural_folder("(procedural: rm -rf DIR)")
