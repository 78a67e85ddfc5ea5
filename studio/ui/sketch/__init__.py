"""The sketch pad: draw the input of a translating model and see its result follow the pen."""

from studio.ui.sketch.panel import SketchPanel

__all__ = ["SketchPanel"]
