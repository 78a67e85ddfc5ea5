"""Preferences remembered between sessions (QSettings): recent projects, window layout, folders.

The organisation and application names are set once by `configure_application()`; tests point
QSettings at a temporary folder with `QSettings.setPath(...)` before creating any window.
GUI thread only (QSettings is reentrant, but the studio only uses it from the GUI thread).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QCoreApplication, QSettings

ORGANIZATION = "GAN Studio"
APPLICATION = "GAN Studio"
MAX_RECENT = 8


def configure_application() -> None:
    """Name the application so QSettings finds the same store every time."""
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)


class StudioSettings:
    """Typed access to the studio's QSettings keys."""

    def __init__(self, settings: QSettings | None = None):
        self._s = settings or QSettings()

    # ----- recent projects ------------------------------------------------------------------------
    def recent_projects(self) -> list[str]:
        """Recent project folders, newest first, only those that still exist."""
        value = self._s.value("recent/projects", [])
        if isinstance(value, str):  # QSettings returns a lone string for one-element lists (INI)
            value = [value]
        from studio.engine.project.folder import Project  # here, not at the top: it loads torch

        return [p for p in (value or []) if Project.is_project(p)]

    def add_recent_project(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        items = [p for p in self.recent_projects() if p != path]
        self._s.setValue("recent/projects", [path, *items][:MAX_RECENT])

    def remove_recent_project(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        self._s.setValue("recent/projects", [p for p in self.recent_projects() if p != path])

    def last_project(self) -> str | None:
        recent = self.recent_projects()
        return recent[0] if recent else None

    # ----- window layout --------------------------------------------------------------------------
    def window_geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._s.setValue("window/geometry", geometry)
        self._s.setValue("window/state", state)

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._s.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # ----- preferences ----------------------------------------------------------------------------
    def last_folder(self, purpose: str) -> str:
        """The folder a file dialog for `purpose` opened last (default: the home folder)."""
        value = self._s.value(f"folders/{purpose}", "")
        return value if value and Path(value).is_dir() else str(Path.home())

    def set_last_folder(self, purpose: str, folder: str | Path) -> None:
        self._s.setValue(f"folders/{purpose}", str(folder))

    def value(self, key: str, default=None, type_=None):
        v = self._s.value(key, default)
        if type_ is bool and isinstance(v, str):
            return v.lower() in ("1", "true", "yes")
        if type_ is not None and v is not None:
            try:
                return type_(v)
            except (TypeError, ValueError):
                return default
        return v

    def set_value(self, key: str, value) -> None:
        self._s.setValue(key, value)

    def sync(self) -> None:
        self._s.sync()
