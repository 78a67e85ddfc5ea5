"""Project a photo from the explorer: pick an image, search with progress, cancel, compare, add to the gallery."""

from __future__ import annotations

import numpy as np

from studio.engine.data.demo_sets import faces
from studio.engine.images import save_png
from studio.ui.explorer import ExplorerPanel


def _panel(qtbot, project):
    panel = ExplorerPanel(project)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.project_button.isEnabled(), timeout=30_000)
    return panel


def test_projecting_an_image_shows_target_result_difference_and_adds_it_to_the_gallery(qtbot, tmp_path,
                                                                                      trained_dcgan):
    photo = tmp_path / "my photo.png"
    save_png(photo, faces(1, 48, seed=5)[0][0])  # another size than the model's: decoded to 32 px
    panel = _panel(qtbot, trained_dcgan)
    dialog = panel.open_projection(photo)
    assert dialog.views["target"].has_picture() and not dialog.add_button.isEnabled()
    dialog.steps_spin.setValue(20)
    dialog.start()
    assert dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=30_000)
    result = dialog.result
    assert result.space == "z" and result.target.shape == (32, 32, 3)
    assert all(v.has_picture() for v in dialog.views.values())
    assert dialog.progress.value() == 20 and "levels" in dialog.status.text()
    qtbot.waitUntil(lambda: dialog.add_button.isEnabled(), timeout=5_000)

    dialog.add_to_gallery()
    entry = panel.store.latents[-1]
    assert entry.name == "my photo" and "projected from my photo.png" in entry.source
    assert np.array_equal(entry.vector, result.latent)
    assert panel.gallery.source == "bookmarks"
    assert [it.label for it in panel.gallery.selected_items()] == ["my photo"]
    # the pad renders the bookmark as the projection's picture: the same latent, the same image
    qtbot.waitUntil(panel.gallery.all_drawn, timeout=30_000)
    assert np.array_equal(panel.gallery.picture(panel.gallery.selected_items()[0]), result.picture)
    dialog.close()
    panel.shutdown()


def test_cancel_stops_the_search_and_a_bad_file_is_a_sentence(qtbot, tmp_path, trained_dcgan):
    photo = tmp_path / "face.png"
    save_png(photo, faces(1, 32, seed=6)[0][0])
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image at all")
    panel = _panel(qtbot, trained_dcgan)
    dialog = panel.open_projection()
    assert not dialog.choose_image(bad)
    message = dialog.status.text()
    assert message.startswith("broken.png cannot be used") and message.endswith(".")
    assert not dialog.start_button.isEnabled()

    assert dialog.choose_image(photo)
    dialog.steps_spin.setValue(5000)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=30_000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.runner.busy, timeout=30_000)
    assert dialog.result is None and dialog.status.text().startswith("Cancelled")
    assert dialog.start_button.isEnabled() and not dialog.add_button.isEnabled()
    dialog.close()
    panel.shutdown()


def test_a_style_model_projects_into_w_plus_and_the_explorer_follows_to_w(qtbot, tmp_path, shapes_folder):
    from studio.engine.explore.projection import explorer_latent
    from tests.ui.conftest import train_project

    tiny = {"preset": "small", "z_dim": 16, "w_dim": 16, "mapping_layers": 1, "channel_base": 64,
            "channel_max": 16, "batch": 2, "preview_count": 4}
    project = train_project(tmp_path / "style", "stylegan", {"data": str(shapes_folder)}, 2, tiny)
    photo = tmp_path / "photo.png"
    save_png(photo, faces(1, 32, seed=8)[0][0])
    panel = _panel(qtbot, project)
    assert panel.renderer.space == "w"  # a style-based model opens in W
    panel.set_space("z")  # explored in z, the projection (a latent of W) takes the explorer to W
    qtbot.waitUntil(lambda: panel.renderer.space == "z" and panel.store.space == "z", timeout=20_000)
    dialog = panel.open_projection(photo)
    dialog.steps_spin.setValue(20)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.result is not None and dialog.add_button.isEnabled(), timeout=60_000)
    result = dialog.result
    assert result.space == "w+" and result.latent.shape == (result.num_ws, 16)
    dialog.add_to_gallery()
    assert panel.renderer.space == "w" and panel.store.space == "w"
    entry = panel.store.latents[-1]
    assert np.array_equal(entry.vector, explorer_latent(result))
    assert [it.label for it in panel.gallery.selected_items()] == ["photo"]
    qtbot.waitUntil(panel.gallery.all_drawn, timeout=30_000)
    assert np.array_equal(panel.gallery.picture(panel.gallery.selected_items()[0]), result.picture)
    dialog.close()
    panel.shutdown()
