"""MainWindow: the studio. Sample grid in the middle, dockable panels around it.

    central   Samples tab: the live sample grid and the timeline (samples_area.py);
              Explore tab: gallery, pad, arithmetic (explorer/)
              Sketch tab (kinds whose input is a drawing): draw, the translation follows (sketch/)
    Training  start / pause / resume / step / stop, progress, ETA, images/s, device, settings
    Quality   a one-line verdict and the quality curve; Advanced: the raw losses, grouped by the kind
    Project   what the project is and what its dataset report said
    Translate (kinds that translate) drop an image to try the model, translate a whole folder

The window builds the widgets, menus and docks, opens and closes projects, and owns the
TrainController (one training thread at a time) and the ProjectState, which follows the controller.
What training does to the panels is in training_switchboard.py, the demos in demo_actions.py.
Closing while training asks, stops the run, which saves a checkpoint, and joins every thread
before the window goes away.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QWidget,
)

from studio.app.settings import StudioSettings
from studio.app.state import ProjectState
from studio.app.train_worker import TrainController, WorkerState
from studio.engine.errors import UserError
from studio.engine.models import KINDS, get_kind
from studio.engine.project.folder import Project
from studio.engine.project.relocation import continuation_refused
from studio.ui import style
from studio.ui.demo_actions import DemoActions
from studio.ui.import_model import ImportModelAction
from studio.ui.panels.project_panel import ProjectPanel, describe_model
from studio.ui.panels.training_panel import TrainingPanel
from studio.ui.panels.translate_panel import TranslatePanel
from studio.ui.samples_area import SamplesView
from studio.ui.training_switchboard import TrainingSwitchboard
from studio.ui.widgets.folder_field import dropped_folders
from studio.ui.widgets.loss_plot import LossPlotView
from studio.ui.widgets.welcome_view import WelcomeView

if TYPE_CHECKING:
    from studio.ui.new_project import NewProjectRequest

# Modules that import torch (sessions, the new-project wizard) load on first use, not at start-up:
# torch takes ~2 s to import here and the window should be on screen before that (bench/startup.py).

# Named from the kinds so a new kind with a latent space shows up here without an edit.
_EXPLORE_NEEDS = "Exploring needs a {} project.".format(
    " or ".join(k.title for k in KINDS.values() if k.capabilities.latent_space))

# The window must fit the commonest laptop screens (1280x720, 1366x768) whatever shows: the panels
# scroll instead of demanding room, and the side docks start this wide.
DOCK_WIDTH = 360
DOCK_MIN_WIDTH = 300  # narrower, the panels' buttons and fields would be cut off
DEFAULT_SIZE = (1440, 900)


def scrolling(widget: QWidget, horizontal: bool = False) -> QScrollArea:
    """`widget` in a frameless scroll area: it asks for no more room than a scroll bar, so a
    panel's own minimum never forces the window wider or taller than the screen."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    if not horizontal:
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


class _ResizeWatch(QObject):
    """Calls `then()` whenever the watched widget is resized."""

    def __init__(self, then, parent: QObject):
        super().__init__(parent)
        self._then = then

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Resize:
            self._then()
        return False


class MainWindow(QMainWindow):
    """The studio window. GUI thread only."""

    project_opened = Signal(str)  # a project is loaded and shown

    def __init__(self, settings: StudioSettings | None = None, device: str = "auto", remember_layout: bool = True):
        """`remember_layout=False` starts from the default layout and does not save it (screenshots)."""
        super().__init__()
        self._remember_layout = remember_layout
        self.settings = settings or StudioSettings()
        self.device_name = device  # device for new runs ("auto" | "cpu" | ...)
        # Training uses every core at a lower priority than this GUI thread: on 2 cores, leaving one
        # to the GUI cost ~45% of the speed, and all cores at equal priority doubled the worst
        # heartbeat delay (bench/ui_latency.py)
        self.cpu_threads: str | int | None = "background"
        self.state = ProjectState(self)
        self.controller = TrainController(self)
        self.last_message: QMessageBox | None = None
        self.closing = False  # shutting down: runs that end now need no message box

        self.setWindowTitle("GAN Studio")
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self._build_central()
        self._build_docks()
        # The order of these three matters: a signal of the controller reaches the samples view
        # (built above), then the project state, then the switchboard, which reads the state.
        self.state.follow(self.controller)
        self.training = TrainingSwitchboard(self)
        self.demos = DemoActions(self)
        self.model_import = ImportModelAction(self)
        self._build_actions()
        self._build_status()
        self._connect()
        self._restore_layout()
        self._welcome_hidden: list[QDockWidget] = []  # docks put away while the welcome page shows
        self._set_welcome_mode(True)
        self.refresh_recent()
        self.update_actions()

    # ================================================================================================
    # construction
    # ================================================================================================
    def _build_central(self) -> None:
        from studio.ui.explorer import ExplorerPanel

        self.welcome = WelcomeView()
        self.samples_view = SamplesView(self.state, self.controller)
        self.explorer = ExplorerPanel()
        # Watching training and exploring the generator are two views of one project: tabs, not windows.
        self.work_tabs = QTabWidget()
        self.work_tabs.setDocumentMode(True)
        self.work_tabs.addTab(self.samples_view, "Samples")
        # The explorer's pad, preview and gallery side by side need more than a laptop's width
        # beside the docks: there it scrolls sideways rather than pushing the window off screen.
        self.explore_area = scrolling(self.explorer, horizontal=True)
        self.explore_tab = self.work_tabs.addTab(self.explore_area, "Explore")
        self.explore_area.viewport().installEventFilter(_ResizeWatch(self._fit_explorer, self))
        from studio.ui.sketch import SketchPanel

        self.sketch_panel = SketchPanel()  # loads its model when first shown, not when a project opens
        self.sketch_tab = self.work_tabs.addTab(self.sketch_panel, "Sketch")
        self.work_tabs.setTabVisible(self.sketch_tab, False)
        self.work_tabs.currentChanged.connect(self._on_work_tab_changed)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.work_tabs)
        self.setCentralWidget(self.stack)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState() keys the layout by object name
        dock.setWidget(widget)
        widget.setMinimumWidth(DOCK_MIN_WIDTH)
        feature = QDockWidget.DockWidgetFeature
        dock.setFeatures(feature.DockWidgetMovable | feature.DockWidgetFloatable | feature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.training_panel = TrainingPanel()
        self.loss_plot = LossPlotView()
        self.project_panel = ProjectPanel()
        self.project_panel.open_project_requested.connect(self.open_project)
        self.project_panel.new_from_model_requested.connect(self.new_project_from_model)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.training_dock = self._dock("Training", "training_dock", scrolling(self.training_panel), right)
        self.project_dock = self._dock("Project", "project_dock", scrolling(self.project_panel), right)
        # Losses sit under the controls, not under the samples: the sample grid keeps the full height.
        self.losses_dock = self._dock("Quality", "losses_dock", self.loss_plot, right)
        self.splitDockWidget(self.training_dock, self.losses_dock, Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.training_dock, self.project_dock)
        self.training_dock.raise_()
        self.translate_panel = TranslatePanel(self.settings)
        self.translate_dock = self._dock("Translate", "translate_dock", scrolling(self.translate_panel), right)
        self.tabifyDockWidget(self.project_dock, self.translate_dock)
        self.translate_dock.hide()
        self.training_dock.raise_()
        self.resizeDocks([self.training_dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)
        self.resizeDocks([self.training_dock, self.losses_dock], [440, 270], Qt.Orientation.Vertical)

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            a.setStatusTip(tip)
            keys = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            a.setToolTip(f"{tip} ({keys})" if shortcut else tip)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        S = QKeySequence.StandardKey  # noqa: N806
        self.new_action = self._action("New Project…", self.new_project, S.New,
                                       "Start a project from a folder of images")
        self.open_action = self._action("Open Project…", self.open_project_dialog, S.Open, "Open a project folder")
        self.import_model_action = self._action(
            "Import Model…", lambda: self.model_import.choose_and_import(), None,
            "Open a StyleGAN2-ADA network pickle (.pkl) as a project; its code is never run")
        self.close_action = self._action("Close Project", self.close_project, S.Close, "Close the project")
        self.show_folder_action = self._action("Show Project Folder", self._show_project_folder, None,
                                               "Open the project folder in your file browser")
        self.from_model_action = self._action("New Project from This Model…", self.new_project_from_model, None,
                                              "Start a project that fine-tunes this project's model on other images")
        self.quit_action = self._action("Quit", self.close, S.Quit, "Quit GAN Studio")
        self.start_action = self._action("Start / Pause", self.training_panel.toggle, Qt.Key.Key_Space,
                                         "Start, pause or resume training")
        self.step_action = self._action("Single Step", self.training.step, "Ctrl+.", "Train exactly one step")
        self.stop_action = self._action("Stop", self.training.stop, "Ctrl+Shift+S",
                                        "Stop training and save the model")
        self.prev_action = self._action("Previous Snapshot", lambda: self.samples_view.nudge(-1), "Ctrl+Left")
        self.next_action = self._action("Next Snapshot", lambda: self.samples_view.nudge(1), "Ctrl+Right")
        self.live_action = self._action("Follow Live Samples", self.samples_view.follow_live, "Ctrl+L")
        self.reset_layout_action = self._action("Reset Layout", self.reset_layout)
        self.about_action = self._action("About GAN Studio", self._about)

        mb = self.menuBar()
        f = mb.addMenu("&File")
        f.addAction(self.new_action)
        f.addAction(self.from_model_action)
        f.addAction(self.open_action)
        self.recent_menu = f.addMenu("Open &Recent")
        f.addAction(self.import_model_action)
        f.addSeparator()
        f.addAction(self.show_folder_action)
        f.addAction(self.close_action)
        f.addSeparator()
        f.addAction(self.quit_action)
        t = mb.addMenu("&Training")
        for a in (self.start_action, self.step_action, self.stop_action):
            t.addAction(a)
        v = mb.addMenu("&View")
        for dock in (self.training_dock, self.project_dock, self.losses_dock, self.translate_dock):
            v.addAction(dock.toggleViewAction())
        v.addSeparator()
        for a in (self.prev_action, self.next_action, self.live_action):
            v.addAction(a)
        v.addSeparator()
        v.addAction(self.reset_layout_action)
        self.demo_faces_action = self._action("Open Demo: Faces (DCGAN)", lambda: self.demos.open_project("faces"),
                                              tip="A copy of the bundled faces model, ready to explore")
        self.demo_scenes_action = self._action("Open Demo: Day and Night (CycleGAN)",
                                               lambda: self.demos.open_project("scenes"),
                                               tip="A copy of the bundled day/night translation model")
        self.demo_sketch_action = self._action("Open Demo: Sketch to Face (pix2pix)",
                                               lambda: self.demos.open_project("sketch"),
                                               tip="A copy of the bundled sketch-to-face model, ready to draw on")
        self.demo_style_action = self._action("Open Demo: Faces, Style-based (StyleGAN2)",
                                              lambda: self.demos.open_project("style"),
                                              tip="A copy of the bundled style-based faces model, ready to explore in "
                                                  "W: style mixing, directions, truncation")
        from studio.engine.project.demos import demo_available

        # bundled when scripts/make_demo_models.py made them: no menu entry leading nowhere
        self.demo_sketch_action.setVisible(demo_available("sketch"))
        self.demo_style_action.setVisible(demo_available("style"))
        h = mb.addMenu("&Help")
        self.guide_action = self._action("Guide (README)", self._open_guide, S.HelpContents,
                                         "Open the guide to GAN Studio shipped with it")
        self.shortcuts_action = self._action("Keyboard Shortcuts", self._show_shortcuts, "Ctrl+/")
        h.addAction(self.guide_action)
        h.addAction(self.shortcuts_action)
        h.addSeparator()
        h.addAction(self.demo_faces_action)
        h.addAction(self.demo_scenes_action)
        h.addAction(self.demo_sketch_action)
        h.addAction(self.demo_style_action)
        h.addSeparator()
        h.addAction(self.about_action)

        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        tb.setIconSize(QSize(18, 18))
        tb.addAction(self.new_action)
        tb.addAction(self.open_action)
        tb.addSeparator()
        self.tb_start = tb.addAction("Start", self.training_panel.toggle)
        self.tb_start.setToolTip("Start, pause or resume training (Space)")
        tb.addAction(self.step_action)
        tb.addAction(self.stop_action)
        tb.addSeparator()
        tb.addAction(self.show_folder_action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

    def _build_status(self) -> None:
        self.device_status = QLabel("")
        style.muted(self.device_status)
        self.statusBar().addPermanentWidget(self.device_status)
        self.statusBar().setSizeGripEnabled(True)
        self._history_note_shown = ""  # the state's note in the status bar now ("" for none)

    def _connect(self) -> None:
        st = self.state
        self.controller.generator_weights.connect(self._on_generator_weights)
        self.translate_panel.weights_wanted.connect(self.controller.request_generator_weights)
        self.sketch_panel.weights_wanted.connect(self.controller.request_generator_weights)
        self.controller.state_changed.connect(self._on_state_for_sketch)
        st.project_changed.connect(self._on_project_changed)
        st.history_note_changed.connect(self._show_history_note)
        st.history_reset.connect(self.loss_plot.set_records)
        st.history_appended.connect(self.loss_plot.append_records)
        self.welcome.new_requested.connect(self.new_project)
        self.welcome.open_requested.connect(self.open_project_dialog)
        self.welcome.recent_chosen.connect(self.open_project)
        self.welcome.demo_requested.connect(self.demos.draw_images)
        self.loss_plot.set_smoothing(self.settings.value("view/smoothing", 0.9, float))
        self.loss_plot.smoothing_changed.connect(lambda a: self.settings.set_value("view/smoothing", a))
        # screenshots (no remembered layout) show the default view, whatever the user last chose
        self.loss_plot.set_advanced(self._remember_layout and self.settings.value("view/advanced_losses", False, bool))
        self.loss_plot.advanced_changed.connect(lambda on: self.settings.set_value("view/advanced_losses", on))

    # ================================================================================================
    # projects
    # ================================================================================================
    def open_project(self, root: str | Path) -> bool:
        """Show a project folder (new, trained in the studio or from the command line)."""
        if self.controller.busy:
            self.show_message("Training is running", "Stop training before opening another project.")
            return False
        try:
            self.state.open(root)
        except UserError as e:
            self.settings.remove_recent_project(root)
            self.refresh_recent()
            self.show_message("Cannot open project", str(e), QMessageBox.Icon.Warning)
            return False
        self.settings.add_recent_project(self.state.project.root)
        self.refresh_recent()
        self.project_opened.emit(str(self.state.project.root))
        return True

    def open_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a project folder", self.settings.last_folder("open"))
        if folder:
            self.settings.set_last_folder("open", str(Path(folder).parent))
            self.open_project(folder)

    def close_project(self) -> None:
        if self.controller.busy:
            self.show_message("Training is running", "Stop training before closing the project.")
            return
        self.state.close()

    def new_project_from_model(self) -> None:
        """The new-project wizard starting from the open project's model (fine-tuning it on other images)."""
        if self.state.project is not None:
            self.new_project(parent=self.state.project)

    def new_project(self, folders: list[str] | None = None, parent: Project | None = None) -> None:
        """Open the new-project wizard (pre-filled with dropped folders, or starting from the trained
        model of `parent`) and start training from it."""
        if self.controller.busy:
            self.show_message("Training is running", "Stop training before starting a new project.")
            return
        from studio.ui.new_project import NewProjectWizard

        wizard = NewProjectWizard(self, self.settings, folders=folders or None, device=self.device_name)
        if parent is not None:
            wizard.source_page.set_parent(str(parent.root), parent.kind, parent.step)
        self.wizard = wizard
        wizard.accepted.connect(lambda: self.create_project(wizard.request()))
        wizard.finished.connect(wizard.deleteLater)  # done() has joined its preparation thread
        wizard.open()

    def create_project(self, request: NewProjectRequest) -> None:
        """Create the project folder and start training it (on the training thread)."""
        if self.controller.busy:
            return
        self.state.close()
        self.training.start_new(request)
        self.show_work_area(True)  # the panels show the preparation progress, not the welcome page

    def show_work_area(self, on: bool) -> None:
        """The samples and the panels (True) or the welcome page alone (False)."""
        self.stack.setCurrentWidget(self.work_tabs if on else self.welcome)
        if on:
            self.work_tabs.setCurrentWidget(self.samples_view)
        self._set_welcome_mode(not on)

    def _set_welcome_mode(self, on: bool) -> None:
        """With no project, the panels have nothing to show: put them away so the welcome page stands
        alone, and bring back exactly those that were open when a project opens."""
        docks = [d for d in (self.training_dock, self.project_dock, self.losses_dock) if d is not None]
        if on and not self._welcome_hidden:
            self._welcome_hidden = [d for d in docks if not d.isHidden()]
            for d in self._welcome_hidden:
                d.hide()
        elif not on and self._welcome_hidden:
            for d in self._welcome_hidden:
                d.show()
            self._welcome_hidden = []
            self.training_dock.raise_()

    def _on_project_changed(self, project: Project | None) -> None:
        self.project_panel.set_project(project)
        if project is not None:
            self.loss_plot.set_groups(get_kind(project.kind).loss_groups())  # before the history arrives
        # A new project's run prepares its images before the project opens: the work area stays.
        self.stack.setCurrentWidget(self.work_tabs if project is not None or self.controller.busy else self.welcome)
        explorable = project is not None and get_kind(project.kind).capabilities.latent_space
        self.work_tabs.setTabEnabled(self.explore_tab, explorable)
        self.work_tabs.setTabToolTip(self.explore_tab, "" if explorable else _EXPLORE_NEEDS)
        if not explorable:
            self.work_tabs.setCurrentWidget(self.samples_view)
        self.explorer.set_project(project.root if explorable else None)
        # Kinds whose input can be drawn get the sketch pad; the others never see its tab.
        drawable = project is not None and get_kind(project.kind).capabilities.drawable_input
        self.work_tabs.setTabVisible(self.sketch_tab, drawable)
        if not drawable and self.work_tabs.currentIndex() == self.sketch_tab:
            self.work_tabs.setCurrentWidget(self.samples_view)
        self.sketch_panel.set_project(project.root if drawable else None)
        self.sketch_panel.set_training(drawable and self.controller.busy)
        self._set_welcome_mode(project is None and not self.controller.busy)
        if project is None:
            self.setWindowTitle("GAN Studio")
            self.training_panel.clear_project()
            self.translate_dock.hide()
            self.update_actions()
            return
        self.setWindowTitle(f"{project.name} — GAN Studio")
        from studio.app import sessions

        run = sessions.run_settings_of(project.meta)
        self.training_panel.set_project(project.name, describe_model(project), project.step, run.steps,
                                        run.sample_every, run.checkpoint_every, self._device_label(run.device),
                                        refused=continuation_refused(project) or "")
        if self.state.history:
            self.training_panel.show_record(self.state.history[-1])
        self.device_status.setText(self.training_panel.device_label.text())
        translates = get_kind(project.kind).capabilities.translates
        self.translate_dock.setVisible(translates)
        self.translate_panel.set_project(project if translates else None)
        self.translate_panel.set_training(translates and self.controller.busy)
        self.update_actions()

    def _show_history_note(self, note: str) -> None:
        """The state's note about the history it read stays in the status bar (no timeout: it explains
        a gap in the curves for as long as they show) until another message replaces it or the next
        project opens."""
        if note:
            self.statusBar().showMessage(note)
        elif self.statusBar().currentMessage() == self._history_note_shown:
            self.statusBar().clearMessage()  # the previous project's note; any other message stays
        self._history_note_shown = note

    def _device_label(self, device: str) -> str:
        try:
            from studio.engine.models.suggest import device_info

            return device_info(device if device else "auto").label
        except UserError as e:
            return str(e)

    def refresh_recent(self) -> None:
        recent = self.settings.recent_projects()
        self.welcome.set_recent(recent)
        self.recent_menu.clear()
        for p in recent:
            a = self.recent_menu.addAction(f"{Path(p).name}  —  {p}")
            a.triggered.connect(lambda checked=False, p=p: self.open_project(p))
        self.recent_menu.setEnabled(bool(recent))

    def _show_project_folder(self) -> None:
        if self.state.project is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.state.project.root)))

    def update_actions(self) -> None:
        """Enable the menu and toolbar actions for the project and the training run."""
        has = self.state.project is not None
        state = self.controller.state
        busy = self.controller.busy
        self.close_action.setEnabled(has and not busy)
        trained = has and (self.state.step > 0 or "imported" in self.state.project.meta)  # an import is step 0
        self.from_model_action.setEnabled(has and not busy and trained
                                          and get_kind(self.state.project.kind).capabilities.latent_space)
        self.show_folder_action.setEnabled(has)
        self.step_action.setEnabled(self.training_panel.step_button.isEnabled())
        self.stop_action.setEnabled(self.training_panel.stop_button.isEnabled())
        self.start_action.setEnabled(self.training_panel.start_button.isEnabled() or state == WorkerState.RUNNING)
        self.tb_start.setEnabled(self.start_action.isEnabled())
        self.tb_start.setText({WorkerState.RUNNING: "Pause", WorkerState.PAUSED: "Resume"}.get(
            state, "Continue" if has and self.state.step > 0 else "Start"))

    # ================================================================================================
    # drag & drop: a folder of images starts a new project; a project folder opens it
    # ================================================================================================
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if dropped_folders(event.mimeData()):
            event.acceptProposedAction()
            self.welcome.set_drag_hover(True)

    def dragLeaveEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.welcome.set_drag_hover(False)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.welcome.set_drag_hover(False)
        folders = dropped_folders(event.mimeData())
        if not folders:
            return
        event.acceptProposedAction()
        self.handle_dropped_folders(folders)

    def handle_dropped_folders(self, folders: list[str]) -> None:
        if len(folders) == 1 and Project.is_project(folders[0]):
            self.open_project(folders[0])
        else:
            self.new_project(folders[:2])

    # ================================================================================================
    # messages, layout, closing
    # ================================================================================================
    def show_message(self, title: str, text: str, icon=QMessageBox.Icon.Information) -> QMessageBox:
        """A window-modal message that does not block the event loop (training signals keep flowing)."""
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_message = box
        return box

    def _open_guide(self) -> None:
        from studio.ui.help import guide_path

        path = guide_path()
        if path is None or not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            self.show_message("Guide", "The guide (README.md) could not be opened on this computer." if path is None
                              else f"The guide is at {path}; open it in a text editor or browser.")

    def _show_shortcuts(self):
        from studio.ui.help import ShortcutsDialog, shortcut_rows

        dialog = ShortcutsDialog(shortcut_rows(self.actions()), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _about(self) -> None:
        from studio import __version__

        self.show_message("About GAN Studio",
                          f"GAN Studio {__version__}\nTrain DCGANs and CycleGANs on your own images.")

    def _default_size(self) -> QSize:
        """DEFAULT_SIZE, or the screen's free area when that is smaller (a laptop)."""
        screen = self.screen() or QApplication.primaryScreen()
        size = QSize(*DEFAULT_SIZE)
        return size.boundedTo(screen.availableGeometry().size()) if screen is not None else size

    def _restore_layout(self) -> None:
        self._default_state = self.saveState()
        if not self._remember_layout:
            self.resize(self._default_size())
            return
        geo, state = self.settings.window_geometry(), self.settings.window_state()
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(self._default_size())
        if state is not None:
            self.restoreState(state)

    def reset_layout(self) -> None:
        self.restoreState(self._default_state)

    def save_layout(self) -> None:
        if not self._remember_layout:
            return
        self._set_welcome_mode(False)  # remember the user's panels, not the welcome page's
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.sync()

    def ask_new_image_folder(self, label: str, old: str) -> str | None:
        """Ask where a moved image folder is now; None when the user cancels. Tests replace this."""
        answer = QMessageBox.question(
            self, "Images moved",
            f"The {label} of this project were in\n{old}\nwhich is no longer there.\n\n"
            "Show GAN Studio where they are now? Training continues from the same step.",
            QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Open)
        if answer != QMessageBox.StandardButton.Open:
            return None
        start = Path(old)
        while not start.is_dir() and start != start.parent:
            start = start.parent  # the nearest folder that still exists
        return QFileDialog.getExistingDirectory(self, f"Where are the {label} now?", str(start)) or None

    def confirm_close_while_training(self) -> bool:
        """Ask whether to stop training and quit. Tests replace this."""
        box = QMessageBox(QMessageBox.Icon.Question, "Training is running",
                          "Stop training, save the model and quit?\nYou can continue training from here later.",
                          QMessageBox.StandardButton.Cancel, self)
        quit_button = box.addButton("Save and Quit", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(quit_button)
        box.exec()
        return box.clickedButton() is quit_button

    def _fit_explorer(self) -> None:
        """Gallery beside the pad where they fit side by side, else the gallery above the pad: on a
        laptop the pad and its picture then stay on screen, and only the height scrolls."""
        split = self.explorer.splitter
        margins = self.explorer.layout().contentsMargins()
        side_by_side = (sum(split.widget(i).minimumSizeHint().width() for i in range(split.count()))
                        + split.handleWidth() + margins.left() + margins.right())
        wide = self.explore_area.viewport().width() >= side_by_side
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if split.orientation() != orientation:
            split.setOrientation(orientation)

    def _on_work_tab_changed(self, index: int) -> None:
        # Exploring mid-training: take a copy of the live EMA generator rather than the last checkpoint.
        if index == self.explore_tab and self.controller.busy:
            self.controller.request_generator_weights()

    def _on_generator_weights(self, weights) -> None:
        kind = get_kind(weights.kind)
        if kind.capabilities.latent_space:
            self.explorer.set_generator_state(weights.config, weights.state, weights.step, kind=kind)
        if kind.capabilities.translates:
            self.translate_panel.set_live_weights(weights)
        if kind.capabilities.drawable_input and self.state.project is not None:
            self.sketch_panel.set_live_weights(weights, self.state.project.meta)

    def _on_state_for_sketch(self, state: WorkerState) -> None:
        # While the project trains, the pad draws with the trainer's weights; afterwards the saved model.
        project = self.state.project
        drawable = project is not None and get_kind(project.kind).capabilities.drawable_input
        self.sketch_panel.set_training(drawable and state != WorkerState.IDLE)

    def shutdown(self) -> None:
        """Stop every background thread (training saves a checkpoint first). Blocks until they ended."""
        self.closing = True
        self.explorer.shutdown()
        self.sketch_panel.shutdown()
        if self.controller.busy:
            self.statusBar().showMessage("Saving the model…")
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self.controller.shutdown(timeout_s=600)
            finally:
                QApplication.restoreOverrideCursor()
        self.demos.shutdown()
        self.model_import.shutdown()
        wizard = getattr(self, "wizard", None)
        if wizard is not None:
            try:
                wizard.report_page.runner.cancel_and_join()
            except RuntimeError:  # the wizard is already closed and deleted
                pass
        self.translate_panel.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if self.controller.busy and self.controller.state != WorkerState.STOPPING:
            if not self.confirm_close_while_training():
                event.ignore()
                return
        self.shutdown()
        self.save_layout()
        event.accept()

    # ----- for --screenshot and tests -------------------------------------------------------------------
    def is_rendered(self) -> bool:
        """The project's latest samples and its loss curves are on screen."""
        project = self.state.project
        if project is None:
            return self.isVisible()
        if self.state.sample_steps and not self.samples_view.image.has_picture():
            return False
        if self.state.history and self.loss_plot.point_count() == 0:
            return False
        if self.work_tabs.currentIndex() == self.explore_tab and not self.explorer.is_rendered():
            return False
        return True


