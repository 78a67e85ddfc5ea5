"""The latent explorer: gallery, 2D latent pad, arithmetic panel and exports (issue 5).

Standalone widgets; the main window shows `ExplorerPanel` in its Explore tab."""

from studio.ui.explorer.arithmetic import ArithmeticPanel
from studio.ui.explorer.export_dialog import ExportContext, ExportDialog
from studio.ui.explorer.gallery import GalleryView
from studio.ui.explorer.pad import LatentPadView
from studio.ui.explorer.pad_model import PadModel
from studio.ui.explorer.pad_surface import PadSurface
from studio.ui.explorer.panel import ExplorerPanel

__all__ = [
    "ArithmeticPanel",
    "ExplorerPanel",
    "ExportContext",
    "ExportDialog",
    "GalleryView",
    "LatentPadView",
    "PadModel",
    "PadSurface",
]
