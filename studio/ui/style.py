"""The studio's look: a dark-neutral Fusion theme so images, not chrome, carry the colour."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

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

STYLESHEET = """
QMainWindow::separator { background: #2a2b2e; width: 4px; height: 4px; }
QDockWidget { titlebar-close-icon: none; font-weight: 600; }
QDockWidget::title { background: #2d2e32; padding: 6px 8px; text-align: left; }
QToolBar { border: none; spacing: 4px; padding: 4px 6px; background: #2d2e32; }
QToolButton { padding: 5px 9px; border-radius: 4px; }
QToolButton:hover { background: #3a3b40; }
QToolButton:checked { background: #34425c; }
QPushButton { padding: 5px 14px; border-radius: 4px; border: 1px solid #4a4b50; background: #3a3b40; }
QPushButton:hover { background: #45464c; }
QPushButton:pressed { background: #2f3034; }
QPushButton:disabled { color: #77787d; border-color: #3a3b40; background: #323336; }
QPushButton#primary { background: #3d6fd1; border-color: #4c7fe0; color: white; font-weight: 600; }
QPushButton#primary:hover { background: #4a7de0; }
QPushButton#primary:disabled { background: #33353a; border-color: #3e4045; color: #7a7c82; }
QProgressBar { border: 1px solid #45464c; border-radius: 4px; text-align: center; background: #1e1f22; height: 18px; }
QProgressBar::chunk { background: #3d6fd1; border-radius: 3px; }
QLabel#heading { font-size: 15px; font-weight: 600; }
QLabel#muted, QLabel[muted="true"] { color: #9698a0; }
QLabel#big { font-size: 22px; font-weight: 600; }
QLabel#warning { color: #f0b450; }
QLabel#error { color: #f0645a; }
QGroupBox { border: 1px solid #3c3d42; border-radius: 6px; margin-top: 14px; padding: 10px 8px 8px 8px; }
QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 4px; color: #b8bac0; }
QListWidget, QTreeWidget, QPlainTextEdit, QTextBrowser { background: #1e1f22; border: 1px solid #3c3d42; border-radius: 4px; }
QStatusBar { background: #2d2e32; }
QSlider::groove:horizontal { height: 4px; background: #45464c; border-radius: 2px; }
QSlider::handle:horizontal { background: #d0d2d8; width: 14px; margin: -6px 0; border-radius: 7px; }
QSlider::sub-page:horizontal { background: #3d6fd1; border-radius: 2px; }
"""


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
    app.setStyleSheet(STYLESHEET)
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)


def muted(widget) -> None:
    """Mark a label as secondary text."""
    widget.setProperty("muted", True)
