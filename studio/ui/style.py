"""The studio's look: a dark-neutral Fusion theme so images, not chrome, carry the colour."""

from __future__ import annotations

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from studio.assets import ICON_SIZES, asset_path, read_text

CANVAS = QColor(24, 24, 26)  # behind images: dark neutral grey, no colour cast
WINDOW = QColor(38, 39, 42)
BASE = QColor(30, 31, 34)
PANEL = QColor(45, 46, 50)
TEXT = QColor(222, 223, 226)
MUTED = QColor(150, 152, 158)
ACCENT = QColor(94, 153, 255)
WARN = QColor(240, 180, 80)
ERROR = QColor(240, 100, 90)
OK = QColor(110, 200, 140)

# Loss curve colours: distinguishable for common colour-vision deficiencies (Okabe-Ito).
CURVE_COLORS = ["#56B4E9", "#E69F00", "#009E73", "#F0E442", "#CC79A7", "#D55E00", "#0072B2", "#999999"]



def apply_theme(app: QApplication) -> None:
    """Fusion + a dark palette: consistent on every platform and calm behind colourful images."""
    app.setStyle("Fusion")
    p = QPalette()
    p.setColor(QPalette.ColorRole.Window, WINDOW)
    p.setColor(QPalette.ColorRole.WindowText, TEXT)
    p.setColor(QPalette.ColorRole.Base, BASE)
    p.setColor(QPalette.ColorRole.AlternateBase, PANEL)
    p.setColor(QPalette.ColorRole.ToolTipBase, PANEL)
    p.setColor(QPalette.ColorRole.ToolTipText, TEXT)
    p.setColor(QPalette.ColorRole.Text, TEXT)
    p.setColor(QPalette.ColorRole.Button, PANEL)
    p.setColor(QPalette.ColorRole.ButtonText, TEXT)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Highlight, ACCENT)
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, ACCENT)
    p.setColor(QPalette.ColorRole.PlaceholderText, MUTED)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(110, 112, 118))
    app.setPalette(p)
    app.setStyleSheet(read_text("style.qss"))
    app.setWindowIcon(application_icon())
    # Wayland compositors take the icon from the desktop entry, not from the window
    app.setDesktopFileName("gan-studio")
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)


def application_icon() -> QIcon:
    """The studio's icon: the drawn PNGs at their sizes (crisp in title bars and task switchers),
    the SVG for every other size."""
    icon = QIcon(str(asset_path("icon.svg")))
    for size in ICON_SIZES:
        icon.addFile(str(asset_path(f"icon-{size}.png")))
    return icon


def muted(widget) -> None:
    """Mark a label as secondary text."""
    widget.setProperty("muted", True)
