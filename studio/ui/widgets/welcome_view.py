"""WelcomeView: what the window shows with no project open: start, open, recent, or drop a folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from studio.ui import style


class WelcomeView(QWidget):
    """GUI thread only."""

    new_requested = Signal()
    open_requested = Signal()
    recent_chosen = Signal(str)
    demo_requested = Signal(str)  # "faces" (DCGAN) | "scenes" (CycleGAN day -> night)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._drag_hover = False
        title = QLabel("GAN Studio")
        title.setObjectName("big")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lead = QLabel("Teach a model your images — then watch it make new ones,\nor turn one style into another.")
        lead.setAlignment(Qt.AlignmentFlag.AlignCenter)
        style.muted(lead)
        self.new_button = QPushButton("New project…")
        self.new_button.setObjectName("primary")
        self.new_button.clicked.connect(self.new_requested)
        self.open_button = QPushButton("Open project…")
        self.open_button.clicked.connect(self.open_requested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        drop = QLabel("or drop a folder of images anywhere on this window")
        drop.setAlignment(Qt.AlignmentFlag.AlignCenter)
        style.muted(drop)
        demo_label = QLabel("No images at hand? Try a demo:")
        style.muted(demo_label)
        self.faces_button = QPushButton("Faces — new images")
        self.faces_button.setToolTip("Draws 1,000 simple portraits and sets up a DCGAN project on them")
        self.faces_button.clicked.connect(lambda: self.demo_requested.emit("faces"))
        self.scenes_button = QPushButton("Day → night — translation")
        self.scenes_button.setToolTip("Draws unpaired day and night landscapes and sets up a CycleGAN project")
        self.scenes_button.clicked.connect(lambda: self.demo_requested.emit("scenes"))
        demos = QHBoxLayout()
        demos.addStretch(1)
        demos.addWidget(demo_label)
        demos.addWidget(self.faces_button)
        demos.addWidget(self.scenes_button)
        demos.addStretch(1)
        self.recent_title = QLabel("Recent projects")
        self.recent = QListWidget()
        self.recent.setMaximumWidth(520)
        self.recent.setMinimumHeight(140)
        self.recent.itemActivated.connect(lambda item: self.recent_chosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.recent.itemClicked.connect(lambda item: self.recent_chosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        col = QVBoxLayout()
        col.addStretch(2)
        col.addWidget(title)
        col.addSpacing(6)
        col.addWidget(lead)
        col.addSpacing(22)
        col.addLayout(buttons)
        col.addSpacing(8)
        col.addWidget(drop)
        col.addSpacing(14)
        col.addLayout(demos)
        col.addSpacing(28)
        col.addWidget(self.recent_title, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addWidget(self.recent, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addStretch(3)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(col, 3)
        outer.addStretch(1)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for p in paths:
            item = QListWidgetItem(f"{Path(p).name}    —    {p}")
            item.setData(Qt.ItemDataRole.UserRole, p)
            item.setToolTip(p)
            self.recent.addItem(item)
        self.recent.setVisible(bool(paths))
        self.recent_title.setVisible(bool(paths))

    def set_drag_hover(self, hover: bool) -> None:
        self._drag_hover = hover
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), style.CANVAS)
        if self._drag_hover:
            pen = QPen(style.ACCENT, 2, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawRoundedRect(self.rect().adjusted(12, 12, -12, -12), 12, 12)
        p.end()
