"""The latent explorer: gallery, 2D latent pad, arithmetic panel and exports (issue 5).

Standalone widgets; the main window docks `ExplorerPanel` (or calls `install_explorer`)."""

from studio.ui.explorer.arithmetic import ArithmeticPanel
from studio.ui.explorer.export_dialog import ExportContext, ExportDialog
from studio.ui.explorer.gallery import GalleryView
from studio.ui.explorer.pad import LatentPadView, PadModel, PadSurface
from studio.ui.explorer.panel import ExplorerPanel, install_explorer

__all__ = [
    "ArithmeticPanel",
    "ExplorerPanel",
    "ExportContext",
    "ExportDialog",
    "GalleryView",
    "LatentPadView",
    "PadModel",
    "PadSurface",
    "install_explorer",
]
