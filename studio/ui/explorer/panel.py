"""ExplorerPanel: the gallery, the latent pad and the arithmetic panel over one shared render worker.

    panel = ExplorerPanel(project_dir)          # or ExplorerPanel() then panel.set_project(dir)
    panel.set_generator_state(cfg, state, step, kind=kind) # explore weights handed over by a running training
    panel.shutdown()                            # joins the render thread (closeEvent does it too)

GUI thread only.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.app.render_worker import ModelInfo, RenderController
from studio.engine.errors import UserError
from studio.engine.models import get_kind
from studio.engine.project.folder import ProjectLayout
from studio.ui.explorer.arithmetic import ArithmeticPanel
from studio.ui.explorer.class_picker import ClassPicker, open_class_walk
from studio.ui.explorer.common import ElidedLabel, LatentItem, elide_name, unique_key
from studio.ui.explorer.export_dialog import ExportContext, ExportDialog
from studio.ui.explorer.gallery import GalleryView
from studio.ui.explorer.pad import LatentPadView
from studio.ui.explorer.pad_model import Axis
from studio.ui.explorer.style_mix import StyleMixPanel


class ExplorerPanel(QWidget):
    """Explore a trained generator of any kind with a latent space: gallery | pad / arithmetic, with exports."""

    message = Signal(str)  # one line for the status bar
    model_changed = Signal(object)  # ModelInfo

    def __init__(self, project_dir: Path | str | None = None, parent: QWidget | None = None,
                 backend: str = "auto", threads: int | None = None, device: str = "auto"):
        super().__init__(parent)
        self.project_dir: Path | None = None
        self.store = None
        self._weights = None  # (cfg, state, step) when exploring weights from a running training
        self._pca_key = unique_key(self, "pca")
        self._pca_for = None  # the ModelInfo the principal directions were computed for
        # (space, dim, class) of the latest computation asked for: a class moves the image its own ways
        self._pca_space = None
        self._failure: str | None = None  # the last load failure shown, until a model loads
        self.export_dialog: ExportDialog | None = None
        self.renderer = RenderController(backend=backend, threads=threads, device=device, parent=self)
        self.renderer.model_ready.connect(self._on_model_ready)
        self.renderer.backend_changed.connect(lambda _: self._show_info(self.renderer.info))
        self.renderer.failed.connect(self._on_failed)
        self.renderer.computed.connect(self._on_computed)

        self.title = QLabel("Explore")
        self.title.setObjectName("heading")
        # elided: the project's step, size, space and backend beside the buttons take a 1280 px laptop's
        # whole tab width with a long project name
        self.info_label = ElidedLabel("No generator loaded")
        self.reload_button = QPushButton("Reload latest")
        self.reload_button.setToolTip("Load the project's newest checkpoint")
        self.reload_button.clicked.connect(self.reload)
        self.export_button = QPushButton("Export…")
        self.nearest_button = QPushButton("Nearest training images…")
        self.nearest_button.setToolTip("Is the model copying? Compare the pad's image with your training images")
        self.nearest_button.clicked.connect(lambda: self.open_nearest())
        self.export_button.setToolTip("Animations, time-lapse, pictures, grids, ONNX")
        self.project_button = QPushButton("Project a photo…")
        self.project_button.setToolTip("Find the latent of an image of yours, to edit it with the pad and arithmetic")
        self.project_button.clicked.connect(lambda: self.open_projection())
        self.export_button.clicked.connect(lambda: self.open_export())
        # elided: a long message (an error naming a path) must not widen the explorer past a 1280 px
        # laptop's tab into a sideways scroll
        self.status_label = ElidedLabel()
        # The latent space explored: z, or W for style-based models (shown only when there is a choice).
        self.space_label = QLabel("Space")
        self.space_combo = QComboBox()
        self.space_combo.setToolTip("z: the noise the generator starts from.\n"
                                    "W (styles): the space its mapping network makes, one style per layer: less\n"
                                    "tangled directions, truncation towards the average image, style mixing.")
        self.space_combo.currentIndexChanged.connect(lambda _: self.set_space(self.space_combo.currentData()))
        self.space_label.hide()
        self.space_combo.hide()

        # Generators trained with classes: which class every view draws, and walks between classes.
        self.class_picker = ClassPicker(self.renderer)
        self.class_picker.walk_requested.connect(lambda: self.open_class_walk())
        self.class_walk_dialog = None
        self.gallery = GalleryView(self.renderer)
        # in the gallery's top row: the head row already fills a 1280 px laptop screen
        self.gallery.add_to_top_row(self.project_button)
        self.pad = LatentPadView(self.renderer)
        self.arithmetic = ArithmeticPanel(self.renderer)
        self.mixing = StyleMixPanel(self.renderer)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.pad, "Latent pad")
        self.tabs.addTab(self.arithmetic, "Arithmetic")
        self.tabs.addTab(self.mixing, "Style mixing")
        self.tabs.setTabVisible(self.tabs.indexOf(self.mixing), False)
        # Only the tab shown asks for room: the hidden ones' minimum height (the arithmetic panel's is
        # the tallest) would otherwise push the pad's controls below the fold on a laptop's screen.
        self._tab_policies = {self.tabs.widget(i): self.tabs.widget(i).sizePolicy() for i in range(self.tabs.count())}
        self.tabs.currentChanged.connect(self._size_tabs)
        self._size_tabs()
        # The space switch sits beside the tabs it changes (the head row has no room left at 1280 px).
        corner = QWidget()
        cl = QHBoxLayout(corner)
        cl.setContentsMargins(0, 0, 4, 2)
        cl.addWidget(self.space_label)
        cl.addWidget(self.space_combo)
        self.tabs.setCornerWidget(corner, Qt.Corner.TopRightCorner)
        selection = self.gallery.selected_items
        self.pad.set_selection_source(selection)
        self.arithmetic.set_selection_source(selection)
        self.mixing.set_selection_source(selection)
        self.mixing.set_pad_source(self.pad.current_latent)
        self.mixing.send_to_pad.connect(self._on_result_to_pad)
        self.gallery.set_slot_names(self.arithmetic.slot_names())
        self.arithmetic.add_slot_button.clicked.connect(
            lambda: self.gallery.set_slot_names(self.arithmetic.slot_names()))

        self.gallery.send_requested.connect(self._on_send)
        self.gallery.activated.connect(self._on_gallery_activated)
        self.arithmetic.send_to_pad.connect(self._on_result_to_pad)
        self.arithmetic.directions_changed.connect(self.pad.refresh_directions)
        self.arithmetic.bookmarks_changed.connect(self._on_bookmarks_changed)
        self.pad.directions_wanted.connect(self.compute_principal_directions)
        for w in (self.gallery, self.pad, self.arithmetic, self.mixing):
            w.message.connect(self._show_message)

        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.info_label, 1)
        head.addWidget(self.nearest_button)
        head.addWidget(self.reload_button)
        head.addWidget(self.export_button)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.gallery)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setSizes([340, 860])
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        root.addLayout(head)
        root.addWidget(self.class_picker)
        root.addWidget(self.splitter, 1)
        root.addWidget(self.status_label)
        self._update_buttons()
        if project_dir is not None:
            self.set_project(project_dir)

    def _size_tabs(self) -> None:
        shown = self.tabs.currentWidget()
        for page, policy in self._tab_policies.items():
            if page is shown:
                page.setSizePolicy(policy)
            else:
                page.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    # ----- model sources ----------------------------------------------------------------------------------
    def set_project(self, project_dir: Path | str | None) -> None:
        """Explore a project's latest checkpoint (None: nothing). Loads on the render thread."""
        from studio.engine.explore.bookmarks import ExploreStore
        from studio.engine.project.folder import Project

        self.project_dir = Path(project_dir) if project_dir is not None else None
        self._weights = None
        self.store = None
        if self.project_dir is not None:
            try:
                # A reader: this process may be training the project, its temp files are live writes.
                project = Project.open(self.project_dir, clean=False)
                kind = get_kind(project.kind)
                if not kind.capabilities.latent_space:
                    raise UserError(f"The explorer works with models that make images from noise; "
                                    f"{project.name} is a {kind.title} project, which translates images.")
                z_dim = (project.meta.get("model") or {}).get("z_dim")
                self.store = ExploreStore.open(self.project_dir, z_dim)
                for w in self.store.warnings:
                    self._show_message(w)
            except UserError as e:
                self._show_message(str(e))
                self.info_label.setText(str(e))
                self.pad.preview.set_placeholder(str(e))
                self.store = None
                self._apply_store()
                self._update_buttons()
                return
            self.title.setText(f"Explore {elide_name(project.name)}")
            self.title.setToolTip(project.name)
            self.info_label.setText("Loading the generator…")
            self.renderer.load_project(self.project_dir, keep_space=False)
        self._apply_store()
        self._update_buttons()

    def open_nearest(self):
        """The memorization check for the image on the pad; returns the (non-modal) dialog."""
        from studio.ui.explorer.nearest_dialog import NearestImagesDialog

        picture = self.pad.shown_picture
        if picture is None or self.project_dir is None:
            return None
        dialog = NearestImagesDialog(self.project_dir, picture, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def open_projection(self, image: Path | str | None = None):
        """The projection dialog (non-modal), with `image` chosen if given; returns it."""
        from studio.ui.explorer.projection_dialog import ProjectionDialog

        factory = self._model_factory()
        if factory is None or self.project_dir is None:
            return None
        dialog = ProjectionDialog(self.project_dir, factory, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.add_requested.connect(self._on_projection_added)
        if image is not None:
            dialog.choose_image(image)
        dialog.show()
        return dialog

    def _on_projection_added(self, latent, name: str, source: str, space: str = "z") -> None:
        """Bookmark a projected latent and show it selected in the gallery's bookmarks. A projection
        into W moves the explorer to W first (at once: the views switch as `set_space` returns)."""
        if self.store is not None and space != self.store.space:
            self.set_space(space)
        if self.store is None:
            self._show_message("This project's bookmarks cannot be opened, so the projection cannot be kept.")
            return
        try:
            entry = self.store.add_latent(name, latent, source=source)
        except (ValueError, UserError) as e:
            self._show_message(f"The projected latent does not fit the explorer's latents now: {e}.")
            return
        self.gallery.set_source("bookmarks")
        self.gallery.refresh()
        rows = [i for i, it in enumerate(self.gallery.items()) if it.label == entry.name]
        self.gallery.select_rows(rows)
        if rows:
            self.gallery.list.scrollToItem(self.gallery.list.item(rows[0]))
        self._show_message(f"“{entry.name}” is in the gallery's bookmarks: send it to the pad or an arithmetic slot.")

    def reload(self) -> None:
        if self.project_dir is not None:
            self.info_label.setText("Loading the newest checkpoint…")
            self._weights = None
            self.renderer.load_project(self.project_dir)

    def set_generator_state(self, cfg, state: dict, step: int = 0, *, kind) -> None:
        """Explore weights from a running training (a CPU copy, e.g. `trainer.generator_state()`) of
        `kind` (a ModelKind with a latent space)."""
        self._weights = (kind, cfg, {k: v.clone() for k, v in state.items()}, step)
        if self.store is None and self.project_dir is not None:
            from studio.engine.explore.bookmarks import ExploreStore

            self.store = ExploreStore.open(self.project_dir, kind.z_dim(cfg))
            self._apply_store()
        self.renderer.set_weights(cfg, state, step, kind=kind)

    def set_model(self, model) -> None:
        """Explore a GeneratorModel (tests, embedding); the explorer owns it afterwards."""
        self._weights = (model.kind, model.cfg, {k: v.detach().clone() for k, v in model.G.state_dict().items()},
                         model.step)
        self.renderer.set_model(model)

    def set_store(self, store) -> None:
        """Use an ExploreStore (normally opened from the project by set_project)."""
        self.store = store
        self._apply_store()

    def _apply_store(self) -> None:
        self.gallery.set_store(self.store)
        self.pad.set_store(self.store)
        self.arithmetic.set_store(self.store)
        self.mixing.set_store(self.store)

    # ----- the latent space -------------------------------------------------------------------------------
    def set_space(self, space: str | None) -> None:
        """Explore in "z" or "w" (models with a style space). Bookmarks of that space are shown, and
        the pad, slots and mixing move their images over (z -> W keeps them; W -> z starts afresh)."""
        info = self.renderer.info
        if space is None or info is None or space not in info.space_names or space == self.renderer.space:
            return
        self._open_store_for(space, info)
        self.renderer.set_space(space)

    def _open_store_for(self, space: str, info) -> None:
        if self.project_dir is None:
            return
        from studio.engine.explore.bookmarks import ExploreStore

        target = next(s for s in info.spaces if s.name == space) if info.spaces else None
        if self.store is not None and getattr(self.store, "space", "z") == space:
            return
        self.store = ExploreStore.open(self.project_dir, info.z_dim, space=space,
                                       w_shape=(target.num_ws, target.w_dim) if target and space == "w" else None)
        for w in self.store.warnings:
            self._show_message(w)
        self._apply_store()

    def _show_spaces(self, info: ModelInfo) -> None:
        names = info.space_names
        self.space_combo.blockSignals(True)
        self.space_combo.clear()
        for s in info.spaces:
            self.space_combo.addItem(s.title, s.name)
        self.space_combo.setCurrentIndex(max(0, self.space_combo.findData(info.space)))
        self.space_combo.blockSignals(False)
        several = len(names) > 1
        self.space_label.setVisible(several)
        self.space_combo.setVisible(several)
        self.tabs.setTabVisible(self.tabs.indexOf(self.mixing), "w" in names)

    def is_rendered(self) -> bool:
        """The generator is loaded, the pad shows its image and the gallery's pictures are drawn."""
        if self.project_dir is None:
            return True
        return self.renderer.has_model and self.pad.preview.has_picture() and self.gallery.all_drawn()

    def _show_info(self, info: ModelInfo) -> None:
        src = f"live weights from training, step {info.step:,}" if info.source == "training" else f"step {info.step:,}"
        sp = info.latent_space
        latent = f"w {sp.w_dim} × {sp.num_ws}" if sp.name == "w" else f"z {info.z_dim}"
        self.info_label.setText(f"{src} · {info.size} px · {latent} · {info.backend} on {info.device}")

    def _on_model_ready(self, info: ModelInfo) -> None:
        self._show_spaces(info)
        self._open_store_for(info.space, info)
        self._show_info(info)
        if self.status_label.text() == self._failure:  # e.g. "no checkpoint yet", answered by live weights
            self._show_message("")
        self._failure = None
        # Principal directions belong to a generator and a class: a different project, z size or
        # class needs new ones; weights from the same running training keep the old ones until asked again.
        old = self._pca_for
        if old is not None and (old.dim != info.dim or old.space != info.space or old.source != info.source
                                or info.source != "training"
                                or self._pca_space != self._pca_key_now()):
            self.pad.set_principal_directions([])
        self._pca_for = None
        self._update_buttons()
        self.model_changed.emit(info)

    def _on_failed(self, message: str) -> None:
        self._failure = message
        self._show_message(message)
        if not self.renderer.has_model:
            self.info_label.setText(message)
            self.pad.preview.set_placeholder(message)

    def _update_buttons(self) -> None:
        self.reload_button.setEnabled(self.project_dir is not None)
        self.export_button.setEnabled(self.renderer.has_model or self.project_dir is not None)
        self.nearest_button.setEnabled(self.renderer.has_model and self.project_dir is not None)
        self.project_button.setEnabled(self.renderer.has_model and self.project_dir is not None)

    def _show_message(self, text: str) -> None:
        self.status_label.setText(text)
        self.message.emit(text)

    def _on_bookmarks_changed(self) -> None:
        if self.gallery.source == "bookmarks":
            self.gallery.refresh()

    # ----- routing between views ----------------------------------------------------------------------------
    def _on_send(self, target: str, items: list[LatentItem]) -> None:
        if not items:
            return
        if target.startswith("corner:"):
            self.pad.set_corner(int(target.split(":")[1]), items[0])
            self.tabs.setCurrentWidget(self.pad)
        elif target == "corners":
            for i, it in enumerate(items[:4]):
                self.pad.set_corner(i, it)
            self.tabs.setCurrentWidget(self.pad)
        elif target == "center":
            self.pad.set_center(items[0])
            self.tabs.setCurrentWidget(self.pad)
        elif target == "mix":
            self.mixing.set_pair(items)
            self.tabs.setCurrentWidget(self.mixing)
        elif target.startswith("slot:"):
            i = int(target.split(":")[1])
            if i < len(self.arithmetic.slots):
                self.arithmetic.slots[i].add(items)
                self.tabs.setCurrentWidget(self.arithmetic)

    def _on_gallery_activated(self, item: LatentItem) -> None:
        self.pad.set_center(item)
        self.tabs.setCurrentWidget(self.pad)

    def _on_result_to_pad(self, item: LatentItem) -> None:
        if item.labels is not None and item.labels.max() > 0.999 and self.class_picker.classes:
            # a result across classes is one class: the pad draws it as that class (a mix stays with
            # the chosen class; the arithmetic panel shows the mix)
            self.class_picker.set_class(int(item.labels.argmax()))
        self.pad.set_center(item)
        self.tabs.setCurrentWidget(self.pad)

    # ----- principal directions -----------------------------------------------------------------------------
    def compute_principal_directions(self, count: int = 8) -> None:
        """Find the generator's principal directions on the render thread; the pad gets them as axes."""
        labels = self.renderer.class_weights  # the class drawn now (None: no classes); its own directions
        if not self.renderer.has_model or (self._pca_for is self.renderer.info
                                           and self._pca_space == self._pca_key_now()):
            return
        from studio.engine.explore.latent import principal_directions
        from studio.engine.explore.style_space import principal_w_directions

        self._pca_for = self.renderer.info
        self._pca_space = self._pca_key_now()
        labels = None if labels is None else labels.copy()  # the job runs later on the render thread
        if self._pca_for.space == "w":
            # GANSpace in W: PCA of 10,000 sampled w (the mapping alone: a fraction of a second), as the class.
            self.renderer.compute(self._pca_key, lambda r: principal_w_directions(
                lambda z: r.model.to_w(z, labels=labels), r.z_dim, count=count))
        else:
            self.renderer.compute(self._pca_key, lambda r: principal_directions(
                lambda z: r.generate(z, "z", labels), r.z_dim, count=count))

    def _pca_key_now(self) -> tuple | None:
        """(space, dim, class) the explorer is in now: principal directions computed for another are stale."""
        info, labels = self.renderer.info, self.renderer.class_weights
        if info is None:
            return None
        return info.space, info.dim, None if labels is None else labels.tobytes()

    def _on_computed(self, key: str, stamp: int, result) -> None:
        if key != self._pca_key:
            return
        if self._pca_key_now() is None or self._pca_space != self._pca_key_now():
            return  # computed in another space or class (the user switched meanwhile)
        if hasattr(result, "sigmas"):  # principal directions in W
            self.pad.set_w_directions(result)
            self._show_message("Principal directions in W ready: choose the layers they move (coarse, middle, fine) "
                               "under the axes.")
            return
        axes = [Axis(name, vec, "σ") for name, vec in zip(result.names, result.vectors)]
        self.pad.set_principal_directions(axes)
        self._show_message("Principal directions ready: PC1 moves the image most "
                           f"({result.strengths[0]:.1f} levels per σ)")

    # ----- exports ----------------------------------------------------------------------------------------
    def _model_factory(self):
        weights, root = self._weights, self.project_dir
        if weights is not None:
            kind, cfg, state, step = weights

            def from_weights():
                from studio.engine.explore.renderer import model_from_state

                return model_from_state(cfg, state, step, device="cpu", kind=kind)

            return from_weights
        if root is not None:

            def from_project():
                from studio.engine.explore.generator import load_generator

                return load_generator(root, device="auto")

            return from_project
        return None

    def export_context(self) -> ExportContext:
        bookmarks = [LatentItem(e.vector, e.name, labels=e.labels) for e in self.store.latents] if self.store else []
        info = self.renderer.info
        return ExportContext(
            project_dir=self.project_dir,
            model_factory=self._model_factory(),
            image_size=info.size if info else 64,
            current_latent=self.pad.current_latent(),
            current_labels=self.pad.point_labels(),
            pad_corners=self.pad.corner_items(),
            pad_sheet=self.pad.sheet_latents,
            pad_sheet_labels=self.pad.sheet_labels,
            gallery_items=self.gallery.items(),
            gallery_selection=self.gallery.selected_items(),
            bookmarks=bookmarks,
            psi=self.pad.model.psi,
            space=info.latent_space if info else None,
            class_weights=self.renderer.class_weights if info is not None and info.classes else None,
        )

    def open_class_walk(self):
        """The class walk dialog for the pad's image (None before a generator with classes is loaded)."""
        if self.class_walk_dialog is not None:
            self.class_walk_dialog.close()
        if self.renderer.space == "w":
            # The walk moves the class embedding under one z; a picture in W is styles already mapped
            # from its class, with no z to walk from.
            self._show_message("A class walk starts from a picture in z: switch the space to z (pictures in W "
                               "already hold their class; pick another class to redraw the seeds as it).")
            self.class_walk_dialog = None
            return None
        exports = ProjectLayout(self.project_dir).exports_dir if self.project_dir is not None else None
        self.class_walk_dialog = open_class_walk(self.renderer, self.pad.current_latent(), self.class_picker, exports,
                                                 self, lambda p: self._show_message(f"Exported {p}"))
        return self.class_walk_dialog

    def open_export(self, kind: str = "walk") -> ExportDialog:
        """Open the export dialog (non-modal) with the explorer's current state."""
        if self.export_dialog is not None:
            self.export_dialog.close()
            self.export_dialog.deleteLater()
        self.export_dialog = ExportDialog(self.export_context(), self, kind=kind)
        self.export_dialog.exported.connect(lambda p: self._show_message(f"Exported {p}"))
        self.export_dialog.show()
        return self.export_dialog

    # ----- lifetime ---------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop background work (render thread, a running export) and join the threads."""
        if self.export_dialog is not None:
            self.export_dialog.runner.cancel_and_join()
        self.renderer.shutdown()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)
