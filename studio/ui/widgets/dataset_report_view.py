"""DatasetReportView: what a folder will contribute to training, at a glance.

A thumbnail grid of the images exactly as the model will see them (fitted to the training
size), and the things worth a second look: skipped files with the reason, identical files,
images smaller than the training size, and the spread of aspect ratios (how much a square crop
will cut away).
"""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.engine.data.report import DatasetReport
from studio.engine.words import counted, plural
from studio.ui import style
from studio.ui.qimage import to_qimage

THUMB = 64  # px on screen; smaller images are enlarged with nearest-neighbour
MAX_THUMBS = 240


def _thumb_icon(picture_hwc: np.ndarray) -> QIcon:
    img = to_qimage(picture_hwc)
    if img.width() < THUMB:
        img = img.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
    elif img.width() > THUMB:
        img = img.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return QIcon(QPixmap.fromImage(img))


class DatasetReportView(QWidget):
    """Thumbnails + issues of one prepared folder. GUI thread only."""

    def __init__(self, title: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._title = title
        self.summary = QLabel()
        self.summary.setObjectName("heading")
        self.summary.setWordWrap(True)
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListView.ViewMode.IconMode)
        self.thumbs.setIconSize(QSize(THUMB, THUMB))
        self.thumbs.setGridSize(QSize(THUMB + 8, THUMB + 8))
        self.thumbs.setResizeMode(QListView.ResizeMode.Adjust)
        self.thumbs.setMovement(QListView.Movement.Static)
        self.thumbs.setUniformItemSizes(True)
        self.thumbs.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.thumbs.setStyleSheet(f"QListWidget {{ background: {style.CANVAS.name()}; }}")
        self.issues = QTreeWidget()
        self.issues.setHeaderLabels(["Worth a look", "Details"])
        self.issues.setColumnWidth(0, 280)
        self.issues.setRootIsDecorated(True)
        self.issues.setUniformRowHeights(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.thumbs)
        split.addWidget(self.issues)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

    def set_dataset(self, images_nchw: np.ndarray, paths: list[str], report: DatasetReport,
                    size: int = 0) -> None:
        """Show a prepared dataset: uint8 (N, C, H, W) images, their files, and the report; `size`:
        the training size, when the images were decoded larger (0: the report's own size)."""
        report = report.at_size(size)
        self.thumbs.clear()
        n = len(paths)
        shown = min(n, MAX_THUMBS)
        # evenly spread over the folder rather than only its first files
        idx = np.linspace(0, n - 1, shown).round().astype(int) if shown else []
        arr = np.asarray(images_nchw)
        for i in idx:
            item = QListWidgetItem(_thumb_icon(np.transpose(arr[i], (1, 2, 0))), "")
            item.setToolTip(os.path.basename(paths[i]))
            self.thumbs.addItem(item)
        more = f" (showing {shown})" if shown < n else ""
        prefix = f"{self._title}: " if self._title else ""
        self.summary.setText(f"{prefix}{report.used:,} usable {plural(report.used, 'image')} will be "
                             f"trained on{more}")
        self.set_report(report)

    def set_report(self, report: DatasetReport) -> None:
        """Fill the issues tree from a report."""
        self.issues.clear()
        folder = report.folder

        def rel(p: str) -> str:
            try:
                r = os.path.relpath(p, folder)
            except ValueError:
                return p
            return p if r.startswith("..") else r

        def section(title: str, color: QColor | None = None) -> QTreeWidgetItem:
            top = QTreeWidgetItem([title, ""])
            if color is not None:
                top.setForeground(0, QBrush(color))
            self.issues.addTopLevelItem(top)
            return top

        if report.frames:  # a video clip: the thumbnails above are its frames, in order
            top = section(report.frames_line())
            top.setToolTip(0, "Frames close together in a video are nearly the same picture, so only every Nth "
                              "is taken, and frames that repeat the one before are left out")
        if report.skipped:
            top = section(f"Skipped {counted(len(report.skipped), 'file')}", style.WARN)
            for p, reason in report.skipped:
                QTreeWidgetItem(top, [rel(p), reason]).setToolTip(0, p)
            top.setExpanded(True)
        if report.duplicates:
            groups = len(report.duplicates)
            top = section(f"{counted(groups, 'group')} of identical files")
            top.setToolTip(0, "Each copy is trained on, so these images count more than others")
            for g in report.duplicates:
                QTreeWidgetItem(top, [rel(g[0]), " = ".join(rel(p) for p in g[1:])])
        if report.small:
            size = f"{report.size} px" if report.size else "the training size"
            top = section(f"{counted(len(report.small), 'image')} smaller than {size}")
            top.setToolTip(0, "These are enlarged and may look blurry to the model")
            for p, w, h in report.small:
                QTreeWidgetItem(top, [rel(p), f"{w} × {h} px"])
        if report.aspect:
            a = report.aspect
            top = section("Aspect ratio (width / height)")
            top.setText(1, f"min {a['min']:.2f} · median {a['median']:.2f} · max {a['max']:.2f}")
            spread = a["max"] / a["min"] if a.get("min") else 1.0
            note = ("All images have about the same shape" if spread < 1.15
                    else "Shapes vary: 'Crop' cuts the sides of wide images, 'Fit whole image' adds bars")
            QTreeWidgetItem(top, [note, ""]).setFirstColumnSpanned(True)
            top.setExpanded(True)
        if report.ignored:
            total = sum(report.ignored.values())
            top = section(f"Ignored {total} file{'s that are not images' if total != 1 else ' that is not an image'}")
            top.setText(1, ", ".join(f"{ext} ×{n}" for ext, n in sorted(report.ignored.items(), key=lambda kv: -kv[1])))
        if len(report.classes) >= 2:
            from studio.engine.data.labels import ROOT_CLASS, class_warnings

            warnings = class_warnings(report.classes)
            top = section(f"{len(report.classes)} classes from sub-folders", style.WARN if warnings else None)
            top.setToolTip(0, "Each first-level sub-folder is a class; a model trained with classes draws any "
                              "of them on request")
            for name, n in sorted(report.classes.items(), key=lambda kv: (-kv[1], kv[0])):
                item = QTreeWidgetItem(top, [name, counted(n, "image")])
                if name == ROOT_CLASS:
                    item.setToolTip(0, "Images directly in the folder form a class of their own")
            for w in warnings:
                item = QTreeWidgetItem(top, [w, ""])
                item.setFirstColumnSpanned(True)
                item.setForeground(0, QBrush(style.WARN))
            top.setExpanded(True)
        if self.issues.topLevelItemCount() == 0:
            section("Nothing to worry about", style.OK)

    def issue_titles(self) -> list[str]:
        return [self.issues.topLevelItem(i).text(0) for i in range(self.issues.topLevelItemCount())]
