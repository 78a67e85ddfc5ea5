"""Dockable panels of the studio window (training, project, translation)."""
