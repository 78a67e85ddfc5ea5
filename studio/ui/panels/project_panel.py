"""ProjectPanel: what this project is: model, sizes, its lineage (the model it was fine-tuned
from), data folders and the dataset report."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from studio.engine.data.report import DatasetReport
from studio.engine.errors import UserError
from studio.engine.models import get_kind
from studio.engine.models.kind import ModelKind
from studio.engine.project.folder import Project
from studio.engine.words import counted


def _kind(project: Project) -> ModelKind | None:
    """The project's kind; None for a kind this version does not know (the panel still shows the rest)."""
    try:
        return get_kind(project.kind)
    except UserError:
        return None


def describe_model(project: Project) -> str:
    """One line: 'DCGAN · 64 px · batch 64 · width 64'."""
    m = project.meta.get("model", {})
    kind = _kind(project)
    parts = [kind.title if kind else str(project.kind)]
    if "size" in m:
        parts.append(f"{m['size']} px")
    if "batch" in m:
        parts.append(f"batch {m['batch']}")
    if "ngf" in m:
        parts.append(f"width {m['ngf']}")
    if m.get("channels") == 4:
        parts.append("transparent")
    elif m.get("channels") == 1:
        parts.append("greyscale")
    return " · ".join(parts)


def _role_title(kind: ModelKind | None, role: str) -> str:
    try:
        return kind.role(role).title if kind else role
    except KeyError:
        return role


class ProjectPanel(QWidget):
    """Read-only project summary. GUI thread only."""

    open_folder_requested = Signal()
    open_project_requested = Signal(str)  # the project a fine-tuned one started from, clicked
    new_from_model_requested = Signal()  # "New project from this model…"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._root: Path | None = None
        self._parent_path: str | None = None
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.setOpenExternalLinks(False)
        self.text.anchorClicked.connect(self._on_link)
        self.folder_button = QPushButton("Show project folder")
        self.folder_button.clicked.connect(self._open_folder)
        self.from_model_button = QPushButton("New project from this model…")
        self.from_model_button.setToolTip("Start a project that fine-tunes this model on other images")
        self.from_model_button.clicked.connect(self.new_from_model_requested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addWidget(self.text, 1)
        for button in (self.from_model_button, self.folder_button):  # one a row: side by side they widen the dock
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(button)
            layout.addLayout(row)
        self.set_project(None)

    def set_project(self, project: Project | None) -> None:
        self._root = project.root if project else None
        self._parent_path = None
        self.folder_button.setEnabled(project is not None)
        kind = _kind(project) if project else None
        trained = project is not None and (project.step > 0 or "imported" in project.meta)  # an import is step 0
        self.from_model_button.setEnabled(bool(kind and kind.capabilities.latent_space and trained))
        if project is None:
            self.text.setHtml("<p style='color:#9698a0'>No project open.</p>")
            return
        e = html.escape
        m = project.meta
        data = m.get("data", {})
        kind = _kind(project)
        rows = [
            ("Model", f"{kind.title} — {kind.summary}" if kind else str(project.kind)),
            ("Setup", describe_model(project)),
            ("Trained", counted(project.step, "step")),
            ("Created", m.get("created", "—").replace("T", " ")),
            ("Folder", str(project.root)),
        ]
        out = ["<table cellspacing='0' cellpadding='3'>"]
        for k, v in rows:
            out.append(f"<tr><td style='color:#9698a0;padding-right:10px'>{e(k)}</td><td>{e(str(v))}</td></tr>")
        out += self._lineage(m.get("parent"))
        out += self._imported(m.get("imported"))
        out.append("</table>")
        for role, folder in data.get("folders", {}).items():
            count = data.get("counts", {}).get(role)
            out.append(f"<h4 style='margin-bottom:2px'>{e(_role_title(kind, role))}"
                       + (f" — {count:,} images" if count is not None else "") + "</h4>")
            out.append(f"<div><a href='file://{e(folder)}' style='color:#5e99ff'>{e(folder)}</a></div>")
            rep = data.get("reports", {}).get(role)
            if rep:
                try:
                    lines = DatasetReport.from_dict(rep).lines(max_items=5)[1:]
                except (KeyError, TypeError, ValueError):
                    lines = []
                if lines:
                    out.append("<ul style='margin-top:4px;color:#b8bac0'>")
                    for line in lines:
                        if line.startswith("  "):
                            out.append(f"<li style='color:#9698a0'>{e(line.strip())}</li>")
                        else:
                            out.append(f"<li>{e(line)}</li>")
                    out.append("</ul>")
        self.text.setHtml("".join(out))

    def _imported(self, imported: object) -> list[str]:
        """The 'Imported from' row of a model read from a network pickle (models/stylegan/pkl_import.py),
        with what the import adapted."""
        if not isinstance(imported, dict) or not isinstance(imported.get("from"), str):
            return []
        e = html.escape
        notes = [n for n in imported.get("notes", []) if isinstance(n, str)]
        text = (f"{e(Path(imported['from']).name)} ({e(str(imported.get('format', 'a model file')))}); its code was "
                "read as text and never run. No training images: start a new project from it to fine-tune.")
        extra = "".join(f"<br><span style='color:#9698a0'>{e(n)}</span>" for n in notes)
        return [f"<tr><td style='color:#9698a0;padding-right:10px'>Imported from</td><td>{text}{extra}</td></tr>"]

    def _lineage(self, parent: object) -> list[str]:
        """The 'Fine-tuned from' row: the parent project (a link that opens it), or the model file's
        folder, at its step, and what was adapted."""
        if not isinstance(parent, dict) or not isinstance(parent.get("path"), str):
            return []
        e = html.escape
        path = Path(parent["path"])
        step = parent.get("step") if isinstance(parent.get("step"), int) else 0
        if Project.is_project(path):
            self._parent_path = str(path)
            where = f"<a href='#parent' style='color:#5e99ff'>{e(path.name)}</a>"
        elif path.is_file():
            folder = QUrl.fromLocalFile(str(path.parent)).toString()
            where = f"<a href='{e(folder)}' style='color:#5e99ff'>{e(path.name)}</a>"
        else:
            where = f"{e(path.name)} <span style='color:#9698a0'>(no longer at {e(str(path.parent))})</span>"
        notes = "".join(f"<div style='color:#9698a0'>{e(line)}</div>" for line in parent.get("adapted", [])
                        if isinstance(line, str))
        return [f"<tr><td style='color:#9698a0;padding-right:10px'>Fine-tuned from</td>"
                f"<td>{where} at step {step:,}{notes}</td></tr>"]

    def _on_link(self, url: QUrl) -> None:
        if url.fragment() == "parent" and not url.path() and self._parent_path:
            self.open_project_requested.emit(self._parent_path)
            return
        QDesktopServices.openUrl(url)

    def _open_folder(self) -> None:
        if self._root is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._root)))
