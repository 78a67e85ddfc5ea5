"""LatentPadView: a square pad whose position picks a latent; the image follows the point live.

Two modes:

* Blend: four corner latents (seeds, gallery picks, bookmarks, arithmetic results) blended by the
  point's position, bilinearly or spherically (StyleGAN3's latent widget, on a plane).
* Plane: the plane through a centre latent along two directions (saved attribute directions from
  the arithmetic panel, or the generator's principal directions), with the axes labelled.

The pad's background is a map of the plane: a low-resolution contact sheet whose cells are centred
exactly on the positions they show, so the corner cells *are* the corner latents' images and the
cell under the point is what the big preview shows. Grid mode shows the whole plane as a contact
sheet in the preview. A truncation slider and an "amount of <direction>" slider apply to every
point. Keyboard: arrows nudge the point (Shift: larger steps), Home returns to the centre.

All rendering goes through the shared RenderController (newest request wins). This module is the
view: the surface, the preview and the controls around it; the square itself is
`pad_surface.PadSurface`, the position-to-latent maths `pad_model.PadModel`. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.engine.explore import latent as L
from studio.engine.explore import style_space as S
from studio.ui.explorer.attention_look import AttentionLook
from studio.ui.explorer.common import (
    LatentItem,
    SeedClass,
    Thumb,
    convert_items,
    muted_label,
    unique_key,
)
from studio.ui.explorer.pad_model import Axis, PadModel
from studio.ui.explorer.pad_surface import MAP_CELLS, PadSurface
from studio.ui.widgets.image_view import ImageView

CORNER_NAMES = ("top left", "top right", "bottom left", "bottom right")
DEFAULT_SEEDS = (1, 2, 3, 4)
AMOUNT_TICKS = 1000  # slider positions each side of zero
_PSI_HELP = "Truncation: lower values give more typical, less varied images"
_PSI_IN_W = ("Truncation pulls the styles towards the average style: choose Space ▸ W (styles) to use it. "
             "In z it would change nothing: the mapping network gives every z the same length.")


class ZeroingSlider(QSlider):
    """A slider that goes back to zero on a double-click (no amount, no change)."""

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.setValue(0)
        event.accept()


class LatentPadView(QWidget):
    """The pad with its preview and controls. GUI thread only.

    Needs a RenderController (`renderer`); `set_store` gives it the project's bookmarks and
    `set_selection_source` a function returning the gallery's selected LatentItems."""

    latent_changed = Signal(object)  # the current latent (z_dim,) whenever the point or the plane changes
    picture_shown = Signal(object)  # the uint8 (H, W, C) picture now in the preview
    message = Signal(str)  # one line for the status bar
    directions_wanted = Signal()  # plane mode asked for principal directions that are not computed yet

    def __init__(self, renderer, parent: QWidget | None = None):
        super().__init__(parent)
        self.renderer = renderer
        self.model = PadModel()
        self.dim: int | None = None  # length of the latents in the explorer's space (None: no model)
        self.space = None  # that space (studio.engine.explore.spaces.LatentSpace)
        self._class = SeedClass()  # the class the seed corners were drawn as
        self._w_pcs = None  # principal directions in W (style_space.WDirections), applied by layer group
        self._psi_kept: int | None = None  # the truncation set before a space without one (restored after)
        self.store = None
        self._selection_source: Callable[[], list[LatentItem]] | None = None
        self._pcs: list[Axis] = []
        self._key_point = unique_key(self, "point")
        self._key_map = unique_key(self, "map")
        self._key_sheet = unique_key(self, "sheet")
        self._pending: dict[int, np.ndarray] = {}  # stamp -> latent, for requests in flight
        self.shown_latent: np.ndarray | None = None  # the latent whose picture the preview shows
        self.shown_picture: np.ndarray | None = None
        self._build()
        renderer.ready.connect(self._on_ready)
        renderer.model_ready.connect(self._on_model_ready)
        if renderer.info is not None:
            self._on_model_ready(renderer.info)

    # ----- building ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.surface = PadSurface()
        self.surface.position_changed.connect(self._on_position)
        self.surface.corner_clicked.connect(self._corner_menu)
        self.preview = ImageView("Open a trained project that makes new images to explore it.")
        self.preview.setMinimumSize(200, 200)

        # mode row
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Blend four corners", "blend")
        self.mode_combo.addItem("Plane through an image", "plane")
        self.mode_combo.setToolTip("Blend: the point mixes the four corner images.\n"
                                   "Plane: the point moves away from one image along two directions.")
        self.mode_combo.currentIndexChanged.connect(self._on_mode)
        self.grid_check = QCheckBox("Contact sheet")
        self.grid_check.setToolTip("Show the whole pad as a grid of images")
        self.grid_check.toggled.connect(self._on_grid_toggled)
        self.grid_spin = QSpinBox()
        self.grid_spin.setRange(3, 10)
        self.grid_spin.setValue(6)
        self.grid_spin.setSuffix(" × n")
        self.grid_spin.setPrefix("n = ")
        self.grid_spin.valueChanged.connect(lambda _: self._request_sheet())

        # blend options
        self.spherical_check = QCheckBox("Spherical blend")
        self.spherical_check.setToolTip("Blend along the sphere where typical latents live (slerp):\n"
                                        "in-between images stay as rich as the corners")
        self.spherical_check.toggled.connect(self._on_spherical)
        self.seeds_edit = QLineEdit(", ".join(map(str, DEFAULT_SEEDS)))
        self.seeds_edit.setPlaceholderText("four seeds, e.g. 1, 2, 3, 4")
        self.seeds_edit.setToolTip("Seeds of the corners: top left, top right, bottom left, bottom right")
        self.seeds_edit.returnPressed.connect(self.apply_seed_text)
        self.seeds_button = QPushButton("Apply")
        self.seeds_button.clicked.connect(self.apply_seed_text)
        self.shuffle_button = QPushButton("Shuffle")
        self.shuffle_button.setToolTip("Four random seeds")
        self.shuffle_button.clicked.connect(self.shuffle_corners)

        # plane options
        self.x_combo, self.y_combo = QComboBox(), QComboBox()
        for combo, tip in ((self.x_combo, "Direction along the horizontal axis"),
                           (self.y_combo, "Direction along the vertical axis")):
            combo.setToolTip(tip)
            combo.setMinimumContentsLength(10)
            combo.currentIndexChanged.connect(self._on_axes)
        self._axes_chosen = [False, False]  # the user picked x / y: keep it when the menus refill
        self.x_combo.activated.connect(lambda _: self._axes_chosen.__setitem__(0, True))
        self.y_combo.activated.connect(lambda _: self._axes_chosen.__setitem__(1, True))
        self.span_spin = QDoubleSpinBox()
        self.span_spin.setRange(0.1, 10.0)
        self.span_spin.setSingleStep(0.5)
        self.span_spin.setValue(self.model.span)
        self.span_spin.setPrefix("± ")
        self.span_spin.setToolTip("How far the pad's edges are from the centre image, in units of each direction\n"
                                  "(principal directions: standard deviations of the latent)")
        self.span_spin.valueChanged.connect(self._on_span)
        # W: which layers the principal directions move (GANSpace applies a component to a layer range)
        self.layers_label = QLabel("Principal directions move")
        self.layers_combo = QComboBox()
        self.layers_combo.addItem("all", ())
        for name in S.GROUPS:
            self.layers_combo.addItem(name, (name,))
            self.layers_combo.setItemData(self.layers_combo.count() - 1, S.GROUP_HELP[name],
                                          Qt.ItemDataRole.ToolTipRole)
        self.layers_combo.setToolTip("The layers the principal directions move: coarse (4-8 px: pose, shape),\n"
                                     "middle (features) or fine (the finest: colours, texture)")
        self.layers_combo.currentIndexChanged.connect(lambda _: self._on_layers())
        self.center_button = QPushButton("Centre on this image")
        self.center_button.setToolTip("Make the plane pass through the image shown now")
        self.center_button.clicked.connect(self.recenter)

        # truncation + adjust
        self.psi_slider = QSlider(Qt.Orientation.Horizontal)
        self.psi_slider.setRange(0, 150)
        self.psi_slider.setValue(100)
        self.psi_slider.setToolTip(_PSI_HELP)
        self.psi_slider.valueChanged.connect(self._on_psi)
        self.psi_label = QLabel("1.00")
        self.psi_label.setMinimumWidth(36)
        self.adjust_combo = QComboBox()
        self.adjust_combo.setToolTip("A saved direction (e.g. from the arithmetic panel) to add to the image")
        self.adjust_combo.setMinimumContentsLength(10)
        self.adjust_combo.currentIndexChanged.connect(self._on_adjust)
        self.amount_slider = ZeroingSlider(Qt.Orientation.Horizontal)
        self.amount_slider.setRange(-AMOUNT_TICKS, AMOUNT_TICKS)
        self.amount_slider.setValue(0)
        self.amount_slider.setToolTip("How much of the direction to add (double-click: none)")
        self.amount_slider.valueChanged.connect(self._on_amount)
        self._amount_limit = 1.0  # the amount at the slider's ends, for the chosen direction
        self.amount_label = QLabel("+0.00")
        self.amount_label.setMinimumWidth(44)

        # W: style mixing with another image on every point of the pad
        self.mix_combo = QComboBox()
        self.mix_combo.addItem("no styles", ())
        for name in S.GROUPS:
            self.mix_combo.addItem(f"{name} styles", (name,))
            self.mix_combo.setItemData(self.mix_combo.count() - 1, S.GROUP_HELP[name], Qt.ItemDataRole.ToolTipRole)
        self.mix_combo.setToolTip("Style mixing: every point of the pad takes these layers' styles from the image\n"
                                  "on the right, and the rest from the point itself")
        self.mix_combo.currentIndexChanged.connect(lambda _: self._on_mix())
        self.mix_thumb = Thumb(28)
        self.mix_thumb.setToolTip("The image the pad takes the chosen styles from")
        self.mix_selected_button = QPushButton("Selected")
        self.mix_selected_button.setToolTip("Take the styles from the first image selected in the gallery")
        self.mix_selected_button.clicked.connect(self.mix_with_selection)
        self.mix_here_button = QPushButton("This image")
        self.mix_here_button.setToolTip("Take the styles from the image shown now (then move the point)")
        self.mix_here_button.clicked.connect(self.mix_with_current)
        self._key_mix = unique_key(self, "mix")

        self.bookmark_button = QPushButton("Bookmark…")
        self.bookmark_button.setToolTip("Save this image's latent under a name (kept in the project)")
        self.bookmark_button.clicked.connect(self.bookmark_current)
        self.favourite_button = QPushButton("★ Favourite")
        self.favourite_button.setToolTip("Add this image to the gallery's favourites")
        self.favourite_button.clicked.connect(self.favourite_current)

        self.blend_row = QWidget()
        br = QHBoxLayout(self.blend_row)
        br.setContentsMargins(0, 0, 0, 0)
        br.addWidget(QLabel("Corner seeds"))
        br.addWidget(self.seeds_edit, 1)
        br.addWidget(self.seeds_button)
        br.addWidget(self.shuffle_button)

        self.plane_row = QWidget()
        pr = QHBoxLayout(self.plane_row)
        pr.setContentsMargins(0, 0, 0, 0)
        pr.addWidget(QLabel("x"))
        pr.addWidget(self.x_combo, 1)
        pr.addWidget(QLabel("y"))
        pr.addWidget(self.y_combo, 1)
        pr.addWidget(self.span_spin)
        pr.addWidget(self.center_button)
        self.plane_row.hide()
        # W: a row of its own, so the pad is no wider than in z (it must fit a 1280 px laptop)
        self.layers_row = QWidget()
        lr = QHBoxLayout(self.layers_row)
        lr.setContentsMargins(0, 0, 0, 0)
        lr.addWidget(self.layers_label)
        lr.addWidget(self.layers_combo)
        lr.addStretch(1)
        self.layers_row.hide()

        self.mix_row = QWidget()
        mr = QHBoxLayout(self.mix_row)
        mr.setContentsMargins(0, 0, 0, 0)
        mr.addWidget(QLabel("Mix"))
        mr.addWidget(self.mix_combo, 1)
        mr.addWidget(QLabel("from"))
        mr.addWidget(self.mix_thumb)
        mr.addWidget(self.mix_selected_button)
        mr.addWidget(self.mix_here_button)
        self.mix_row.hide()

        controls = QGridLayout()
        controls.setHorizontalSpacing(8)
        controls.setVerticalSpacing(6)
        top = QHBoxLayout()
        top.addWidget(self.mode_combo)
        top.addWidget(self.spherical_check)
        top.addStretch(1)
        top.addWidget(self.grid_check)
        top.addWidget(self.grid_spin)
        controls.addLayout(top, 0, 0, 1, 3)
        controls.addWidget(self.blend_row, 1, 0, 1, 3)
        plane_box = QVBoxLayout()
        plane_box.setContentsMargins(0, 0, 0, 0)
        plane_box.addWidget(self.plane_row)
        plane_box.addWidget(self.layers_row)
        controls.addLayout(plane_box, 2, 0, 1, 3)
        controls.addWidget(QLabel("Truncation"), 3, 0)
        controls.addWidget(self.psi_slider, 3, 1)
        controls.addWidget(self.psi_label, 3, 2)
        adj = QHBoxLayout()
        adj.setContentsMargins(0, 0, 0, 0)
        adj.addWidget(QLabel("Amount of"))
        adj.addWidget(self.adjust_combo, 1)
        controls.addLayout(adj, 4, 0)
        controls.addWidget(self.amount_slider, 4, 1)
        controls.addWidget(self.amount_label, 4, 2)
        controls.addWidget(self.mix_row, 5, 0, 1, 3)
        controls.setColumnStretch(1, 1)

        self.position_label = muted_label("")  # wraps: "PC1 +1.60σ   PC2 +1.20σ" must not widen the pad
        # "Where does it look?": a toggle on the preview, shown only for generators with self-attention
        self.attention = AttentionLook(self.renderer, self)
        actions = QHBoxLayout()
        actions.addWidget(self.position_label, 1)
        actions.addWidget(self.favourite_button)
        actions.addWidget(self.bookmark_button)

        # pad and its controls on the left, the picture on the right at full height
        left = QVBoxLayout()
        # the pad takes the height there is, up to square (PadSurface.resizeEvent); the rest goes below
        # the controls, which sit right under it
        left.addWidget(self.surface, 1)
        left.addSpacing(4)
        left.addLayout(controls)
        left.addStretch(0)
        right = QVBoxLayout()
        right.addWidget(self.preview, 1)
        right.addWidget(self.attention.caption)
        right.addLayout(actions)
        root = QHBoxLayout(self)
        root.setContentsMargins(8, 8, 8, 8)
        root.setSpacing(12)
        root.addLayout(left, 1)
        root.addLayout(right, 1)
        self._refresh_adjust_combo()
        self._update_enabled()

    # ----- sources ----------------------------------------------------------------------------------------
    def set_store(self, store) -> None:
        """The project's ExploreStore (bookmarks, directions, favourites), or None."""
        self.store = store
        self.refresh_directions()

    def set_selection_source(self, fn: Callable[[], list[LatentItem]] | None) -> None:
        self._selection_source = fn

    def set_principal_directions(self, axes: list[Axis]) -> None:
        """Principal directions (computed on the render thread by the owner) offered as plane axes."""
        self._pcs = [a for a in axes if self.space is None or a.vector is None or self.space.accepts(a.vector)]
        self._w_pcs = None
        self.refresh_directions()

    def set_w_directions(self, directions) -> None:
        """Principal directions in W (`style_space.WDirections`): offered as plane axes on the layers
        chosen in the "layers" menu, one σ of the sampled w per unit."""
        self._w_pcs = directions
        self._pcs = self._w_axes()
        self.refresh_directions()

    def _w_axes(self) -> list[Axis]:
        d, sp = self._w_pcs, self.space
        if d is None or sp is None or not sp.groups:
            return []
        groups = self.layers_combo.currentData() or tuple(S.GROUPS)
        # Named "PC1".. whatever the layers (the menu beside says which), so picks survive a change of layers.
        return [Axis(name, d.flat_direction(i, groups, sp.num_ws), "σ") for i, name in enumerate(d.names)]

    def _on_layers(self) -> None:
        if self._w_pcs is not None:
            self._pcs = self._w_axes()
            self.refresh_directions()

    def refresh_directions(self) -> None:
        """Re-read the saved directions into the axis and adjust menus, keeping the selections."""
        self._refresh_axis_combos()
        self._refresh_adjust_combo()

    def _direction_choices(self) -> list[Axis]:
        saved = [Axis(e.name, e.vector) for e in (self.store.directions if self.store else [])
                 if self.space is None or self.space.accepts(e.vector)]
        pcs = self._pcs or ([Axis(f"PC{i}", None, "σ") for i in (1, 2, 3, 4)] if self.dim else [])
        return saved + pcs

    def _refresh_axis_combos(self) -> None:
        """Fill the x and y menus, keeping what the user picked. Otherwise they show the first two
        choices (saved directions first, then principal ones): one direction on both axes would
        flatten the plane into a line."""
        choices = self._direction_choices()
        names = [a.name for a in choices]
        shown = [c.currentText().split(" (")[0] if chosen else None
                 for c, chosen in zip((self.x_combo, self.y_combo), self._axes_chosen)]
        x = names.index(shown[0]) if shown[0] in names else 0
        y = names.index(shown[1]) if shown[1] in names else None
        if y is None or y == x:
            y = next((i for i in range(len(names)) if i != x), x)
        for combo, index in ((self.x_combo, x), (self.y_combo, y)):
            combo.blockSignals(True)
            combo.clear()
            for axis in choices:
                combo.addItem(axis.name if axis.vector is not None else f"{axis.name} (compute)", axis)
            if choices:
                combo.setCurrentIndex(index)
            combo.blockSignals(False)
        if self.model.mode == "plane":
            self._on_axes()

    def _refresh_adjust_combo(self) -> None:
        current = self.adjust_combo.currentText()
        self.adjust_combo.blockSignals(True)
        self.adjust_combo.clear()
        self.adjust_combo.addItem("— no direction —", None)
        for axis in self._direction_choices():
            if axis.vector is not None:
                self.adjust_combo.addItem(axis.name, axis)
        i = self.adjust_combo.findText(current)
        self.adjust_combo.setCurrentIndex(max(0, i))
        self.adjust_combo.blockSignals(False)
        self._on_adjust()

    # ----- model ------------------------------------------------------------------------------------------
    def _labels(self):
        """The class the renderer draws (weights), for a generator with classes; None without."""
        return self.renderer.class_weights

    def _on_model_ready(self, info) -> None:
        space = info.latent_space
        labels = self._labels()
        self.model.labels = labels  # truncation in W pulls towards this class's own mean w
        if self.space is None or (self.space.name, self.dim) != (space.name, space.dim):
            old = self.space
            self.space, self.dim = space, space.dim
            self.model.space = space
            # z -> W keeps the pad's images (their latents mapped to w, as the class they were drawn
            # as); anything else starts afresh.
            corners = convert_items(self.model.corners, old, space, labels) if old is not None else []
            if len(corners) == 4:
                self.model.corners = corners
            else:
                self.model.corners = [LatentItem(space.seed_latent(s, labels), f"seed {s}", f"seed {s}")
                                      for s in DEFAULT_SEEDS]
                self.seeds_edit.setText(", ".join(map(str, DEFAULT_SEEDS)))
            center = convert_items([self.model.center], old, space, labels) if self.model.center and old else []
            self.model.center = center[0] if center else None
            self.model.mix_with = None
            self._pcs = []
            self._w_pcs = None
            self.model.adjust = None
            self._axes_chosen = [False, False]
            in_w = bool(space.groups)
            if in_w:  # the groups' resolutions depend on the model's size (style_space.layer_groups)
                for combo in (self.layers_combo, self.mix_combo):  # item 0 is "all" / "no styles"
                    for i, name in enumerate(S.GROUPS, start=1):
                        combo.setItemData(i, S.group_help(space.num_ws, name), Qt.ItemDataRole.ToolTipRole)
            if not space.truncatable:  # z of a style-based model: its truncation lives in W
                if self._psi_kept is None:
                    self._psi_kept = self.psi_slider.value()
                self.psi_slider.setValue(100)
            elif self._psi_kept is not None:  # back where truncation works: as the user left it
                self.psi_slider.setValue(self._psi_kept)
                self._psi_kept = None
            self.psi_slider.setToolTip(_PSI_HELP if space.truncatable else _PSI_IN_W)
            self.spherical_check.setChecked(self.spherical_check.isChecked() and space.spherical)
            self.spherical_check.setVisible(space.spherical and self.model.mode == "blend")
            self.layers_row.setVisible(in_w and self.model.mode == "plane")
            self.mix_row.setVisible(in_w)
            self.mix_combo.setCurrentIndex(0)
            self._show_mix_image()
            self.refresh_directions()
            self._class.remember(labels)
        else:
            # New weights: same corners. Another class in W: the seed corners are mapped again (the
            # pictures of the same seeds as the chosen class); stored w (bookmarks, projections,
            # favourites) keep theirs.
            self.model.corners = self._class.redraw(self.model.corners, space, labels, samples=False)
        self.preview.set_placeholder("")
        self._update_enabled()
        self._corners_changed()

    def _update_enabled(self) -> None:
        on = self.dim is not None
        for w in (self.surface, self.mode_combo, self.spherical_check, self.grid_check, self.grid_spin, self.blend_row,
                  self.plane_row,
                  self.psi_slider, self.adjust_combo, self.amount_slider, self.bookmark_button, self.favourite_button,
                  self.mix_row):
            w.setEnabled(on)
        self.amount_slider.setEnabled(on and self.model.adjust is not None)
        self.psi_slider.setEnabled(on and self.space.truncatable)

    def current_latent(self) -> np.ndarray | None:
        """The latent at the point now (what the preview is showing or about to show)."""
        if self.dim is None or not self.model.ready():
            return None
        return self.model.latents(self.surface.u, self.surface.v)

    def sheet_latents(self, n: int | None = None) -> np.ndarray | None:
        """The n x n contact sheet of the pad's plane (row-major), for exports."""
        if self.dim is None or not self.model.ready():
            return None
        return self.model.grid(n or self.grid_spin.value())

    def sheet_labels(self, n: int | None = None) -> np.ndarray | None:
        """The class of each `sheet_latents` point (n * n, classes) in z for a generator with classes
        whose corners differ in class; None: every point is the chosen class."""
        if self.dim is None or not self.model.ready():
            return None
        return self.model.grid_labels(n or self.grid_spin.value())

    def point_labels(self) -> np.ndarray | None:
        """The class the point is drawn as, where it is not the chosen class (`PadModel.point_labels`)."""
        if self.dim is None or not self.model.ready():
            return None
        return self.model.point_labels(self.surface.u, self.surface.v)

    def _shown_labels(self):
        """The class of the picture at the point (what a bookmark of it keeps)."""
        own = self.point_labels()
        return own if own is not None else self._labels()

    def corner_items(self) -> list[LatentItem]:
        return list(self.model.corners)

    def set_corner(self, index: int, item: LatentItem) -> None:
        """Put a latent in a corner (switches to blend mode)."""
        if self.dim is None or len(item.z) != self.dim:
            return
        self.model.corners[index] = LatentItem(item.z, item.label, item.source, labels=item.labels)
        if not all(c.label.startswith("seed ") for c in self.model.corners):
            self.seeds_edit.clear()
        else:
            self.seeds_edit.setText(", ".join(c.label[5:] for c in self.model.corners))
        if self.model.mode != "blend":
            self.mode_combo.setCurrentIndex(0)
        self._corners_changed()

    def set_corner_seeds(self, seeds: list[int]) -> None:
        if self.dim is None:
            return
        if len(seeds) != 4:
            raise ValueError("the pad needs four seeds")
        self.model.corners = [self._seed_item(s) for s in seeds]
        self.seeds_edit.setText(", ".join(map(str, seeds)))
        self._corners_changed()

    def apply_seed_text(self) -> None:
        text = self.seeds_edit.text().replace(";", ",").replace(" ", ",")
        try:
            seeds = [int(s) for s in text.split(",") if s.strip()]
        except ValueError:
            self.message.emit("Corner seeds must be whole numbers, e.g. 1, 2, 3, 4")
            return
        if len(seeds) != 4:
            self.message.emit(f"The pad has four corners: give four seeds (got {len(seeds)})")
            return
        self.set_corner_seeds(seeds)

    def shuffle_corners(self) -> None:
        rng = np.random.default_rng()
        self.set_corner_seeds([int(s) for s in rng.integers(0, 100_000, 4)])

    def set_center(self, item: LatentItem) -> None:
        """Plane mode through `item` (switches to plane mode)."""
        if self.dim is None or len(item.z) != self.dim:
            return
        self.model.center = LatentItem(item.z, item.label, item.source, labels=item.labels)
        if self.model.mode != "plane":
            self.mode_combo.setCurrentIndex(1)  # -> _on_mode
        else:
            self.surface.set_position(0.5, 0.5, emit=False)
            self._corners_changed()

    def recenter(self) -> None:
        z = self.current_latent()
        if z is None:
            return
        # The new centre is the point without the truncation and adjust amount, which keep being applied on top.
        self.set_center(LatentItem(self.model.before_adjustments(z), "centre", "pad", labels=self.point_labels()))

    # ----- controls ---------------------------------------------------------------------------------------
    def _on_mode(self) -> None:
        mode = self.mode_combo.currentData()
        if mode == "plane" and self.model.center is None:
            z = self.current_latent()
            if z is not None:
                self.model.center = LatentItem(z, "centre", "pad", labels=self.point_labels())
        self.model.mode = mode
        self.blend_row.setVisible(mode == "blend")
        self.spherical_check.setVisible(mode == "blend" and (self.space is None or self.space.spherical))
        self.plane_row.setVisible(mode == "plane")
        self.layers_row.setVisible(mode == "plane" and self.space is not None and bool(self.space.groups))
        self.surface.set_position(0.5, 0.5, emit=False)
        if mode == "plane":
            self._on_axes()
        else:
            self._corners_changed()

    def _on_axes(self) -> None:
        x, y = self.x_combo.currentData(), self.y_combo.currentData()
        if self.model.mode == "plane" and (x is None or y is None or x.vector is None or y.vector is None):
            if any(a is not None and a.vector is None for a in (x, y)):
                self.directions_wanted.emit()
                self.message.emit("Finding the generator's principal directions…")
            self.model.axes = (None, None)
            self._corners_changed()
            return
        self.model.axes = (x, y)
        self._corners_changed()

    def _on_span(self, value: float) -> None:
        self.model.span = float(value)
        self._corners_changed()

    def _on_spherical(self, on: bool) -> None:
        self.model.spherical = on
        self._corners_changed()

    def _on_psi(self, value: int) -> None:
        self.model.psi = value / 100
        self.psi_label.setText(f"{self.model.psi:.2f}")
        self._corners_changed()

    def _on_adjust(self) -> None:
        self.model.adjust = self.adjust_combo.currentData()
        self.amount_slider.setEnabled(self.model.adjust is not None and self.dim is not None)
        if self.model.adjust is not None and self.dim is not None:
            self._amount_limit = self.space.amount_limit(self.model.adjust.vector)
        # the slider's place stands for a share of the new direction's range
        self.model.amount = self.amount_slider.value() / AMOUNT_TICKS * self._amount_limit
        self.amount_label.setText(f"{self.model.amount:+.2f}")
        self._corners_changed()

    def _on_amount(self, value: int) -> None:
        self.model.amount = value / AMOUNT_TICKS * self._amount_limit
        self.amount_label.setText(f"{self.model.amount:+.2f}")
        self._corners_changed()

    def amount_range(self) -> float:
        """The amount at the slider's ends (+ and -) for the chosen direction."""
        return self._amount_limit

    def set_adjust(self, name: str, amount: float) -> None:
        """Select a saved direction by name and set its amount (the "amount of X" slider), exactly:
        the slider shows the nearest place within its range."""
        i = self.adjust_combo.findText(name)
        if i < 0:
            raise KeyError(name)
        self.adjust_combo.setCurrentIndex(i)
        self.amount_slider.blockSignals(True)
        self.amount_slider.setValue(int(round(amount / self._amount_limit * AMOUNT_TICKS)))
        self.amount_slider.blockSignals(False)
        self.model.amount = float(amount)
        self.amount_label.setText(f"{self.model.amount:+.2f}")
        self._corners_changed()

    def _on_grid_toggled(self, on: bool) -> None:
        if on:
            self._request_sheet()
        else:
            self._request_point()

    # ----- style mixing (W) ---------------------------------------------------------------------------------
    def set_mix(self, groups: tuple[str, ...] | str, item: LatentItem | None = None) -> None:
        """Every point takes the `groups` styles (e.g. "coarse") of `item` (default: the image kept
        so far), the rest from the point itself; () or "" switches mixing off."""
        groups = (groups,) if isinstance(groups, str) and groups else tuple(groups or ())
        if item is not None:
            self._set_mix_item(item)
        i = self.mix_combo.findText(f"{groups[0]} styles") if groups else 0
        self.mix_combo.setCurrentIndex(max(0, i))
        self._on_mix()

    def _set_mix_item(self, item: LatentItem) -> bool:
        if self.space is None or not self.space.groups or not self.space.accepts(item.z):
            self.message.emit("Style mixing needs an image of this model in W: switch the explorer to W.")
            return False
        self.model.mix_with = LatentItem(item.z, item.label, item.source)
        self._show_mix_image()
        return True

    def mix_with_selection(self) -> None:
        items = self._selection_source() if self._selection_source else []
        if not items:
            self.message.emit("Select an image in the gallery first.")
            return
        if self._set_mix_item(items[0]):
            self._mix_defaults()

    def mix_with_current(self) -> None:
        z = self.current_latent()
        if z is not None and self._set_mix_item(LatentItem(z, "pad image", "pad")):
            self._mix_defaults()

    def _mix_defaults(self) -> None:
        if not self.mix_combo.currentData():
            self.mix_combo.setCurrentIndex(1)  # coarse: shape from one image, colours from the other

        self._on_mix()

    def _on_mix(self) -> None:
        self.model.mix_groups = tuple(self.mix_combo.currentData() or ())
        if self.model.mix_groups and self.model.mix_with is None:
            self.message.emit("Choose the image to take the styles from: Selected (gallery) or This image.")
        self._corners_changed()

    def _show_mix_image(self) -> None:
        item = self.model.mix_with
        if item is None or self.space is None or not self.space.accepts(item.z):
            self.mix_thumb.set_picture(None)
            self.mix_thumb.setToolTip("No image chosen yet")
            return
        self.mix_thumb.setToolTip(f"Styles from: {item.label}")
        self.renderer.request(self._key_mix, item.z, priority=1)

    # ----- rendering --------------------------------------------------------------------------------------
    def _corners_changed(self) -> None:
        """Anything but the position changed: refresh the map, labels and the picture."""
        if self.model.mode == "blend":
            self.surface.set_axis_labels(None)
            self.surface.set_corner_tags([c.label for c in self.model.corners])
        else:
            x, y = self.model.axes
            self.surface.set_corner_tags([])
            self.surface.set_axis_labels((x.name, y.name) if x is not None and y is not None else None)
        if self.dim is None or not self.model.ready():
            self.surface.set_map(None)
            return
        self.renderer.request(self._key_map, self.model.grid(MAP_CELLS), priority=1,
                              labels=self.model.grid_labels(MAP_CELLS))
        if self.grid_check.isChecked():
            self._request_sheet()
        self._request_point()

    def _on_position(self, u: float, v: float) -> None:
        self._request_point()

    def _request_point(self) -> None:
        z = self.current_latent()
        self.position_label.setText(self._describe_position())
        if z is None:
            return
        self.latent_changed.emit(z)
        if self.grid_check.isChecked():
            return
        stamp = self.renderer.request(self._key_point, z, labels=self.point_labels())
        # keep only what can still arrive: requests newer than the last shown
        done = self.renderer.worker.finished_stamp(self._key_point)
        self._pending = {s: v for s, v in self._pending.items() if s >= done}
        self._pending[stamp] = z

    def _request_sheet(self) -> None:
        if self.grid_check.isChecked():
            latents = self.sheet_latents()
            if latents is not None:
                self.renderer.request(self._key_sheet, latents, priority=1, labels=self.sheet_labels())

    def _describe_position(self) -> str:
        u, v = self.surface.u, self.surface.v
        if self.model.mode == "plane" and all(a is not None for a in self.model.axes):
            a, b = L.pad_to_plane(u, v, self.model.span)
            x, y = self.model.axes
            return f"{x.name}\u00a0{float(a):+.2f}{x.unit}   {y.name}\u00a0{float(b):+.2f}{y.unit}"
        # no-break spaces: where the label wraps, it wraps between the coordinates, not inside one
        return f"x\u00a0{u:.2f}   y\u00a0{v:.2f}"

    def _on_ready(self, key: str, stamp: int, pictures) -> None:
        if key == self._key_point:
            self.shown_latent = self._pending.pop(stamp, None)
            self._pending = {s: v for s, v in self._pending.items() if s > stamp}
            self.shown_picture = pictures[0]
            self.preview.set_picture(pictures[0])
            self.preview.set_caption("")
            self.picture_shown.emit(pictures[0])
        elif key == self._key_map:
            self.surface.set_map(pictures, MAP_CELLS)
        elif key == self._key_mix:
            self.mix_thumb.set_picture(pictures[0])
        elif key == self._key_sheet and self.grid_check.isChecked():
            from studio.engine.images import make_grid

            n = int(round(np.sqrt(len(pictures))))
            self.shown_picture = make_grid(pictures, nrow=n)
            self.preview.set_picture(self.shown_picture)
            self.preview.set_caption(f"contact sheet {n} × {n}")

    # ----- corners menu, bookmarks --------------------------------------------------------------------------
    def _corner_menu(self, index: int, global_pos) -> None:
        if self.dim is None or self.model.mode != "blend":
            return
        menu = QMenu(self)
        menu.addSection(f"Corner: {CORNER_NAMES[index]}")
        menu.addAction("Seed…", lambda: self._ask_seed(index))
        menu.addAction("Random seed", lambda: self._random_seed(index))
        z = self.current_latent()
        if z is not None:
            menu.addAction("The image at the point", lambda: self.set_corner(index, LatentItem(z, "point", "pad")))
        selection = self._selection_source() if self._selection_source else []
        act = menu.addAction("First selected gallery image")
        act.setEnabled(bool(selection))
        if selection:
            act.triggered.connect(lambda: self.set_corner(index, selection[0]))
        if self.store is not None and self.store.latents:
            sub = menu.addMenu("Bookmark")
            for e in self.store.latents:
                sub.addAction(e.name, lambda e=e: self.set_corner(
                    index, LatentItem(e.vector, e.name, f"bookmark {e.name}")))
        menu.exec(global_pos)

    def _ask_seed(self, index: int) -> None:
        seed, ok = QInputDialog.getInt(self, "Corner seed", f"Seed for the {CORNER_NAMES[index]} corner:",
                                       0, 0, 2**31 - 1)
        if ok:
            self.set_corner(index, self._seed_item(seed))

    def _seed_item(self, seed: int) -> LatentItem:
        """A seed's corner, as the chosen class in W (see `_on_model_ready`)."""
        return LatentItem(self.space.seed_latent(seed, self._labels()), f"seed {seed}", f"seed {seed}")

    def _random_seed(self, index: int) -> None:
        seed = int(np.random.default_rng().integers(0, 100_000))
        self.set_corner(index, self._seed_item(seed))

    def bookmark_current(self, name: str | None = None) -> str | None:
        """Save the latent at the point as a named bookmark; asks for a name unless given."""
        z = self.current_latent()
        if z is None or self.store is None:
            return None
        if name is None:
            name, ok = QInputDialog.getText(self, "Bookmark", "Name for this image:")
            if not ok or not name.strip():
                return None
        try:
            entry = self.store.add_latent(name, z, source="pad", labels=self._shown_labels())  # the class it shows
        except Exception as e:  # noqa: BLE001 - UserError / OSError: tell the user, keep going
            self.message.emit(str(e))
            return None
        self.message.emit(f"Bookmarked “{entry.name}”")
        return entry.name

    def favourite_current(self) -> None:
        z = self.current_latent()
        if z is None or self.store is None:
            return
        try:
            self.store.add_favourite(z, source="pad", labels=self._shown_labels())
        except Exception as e:  # noqa: BLE001
            self.message.emit(str(e))
            return
        self.message.emit("Added to favourites")
