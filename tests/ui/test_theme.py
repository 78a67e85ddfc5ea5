"""The theme loads its stylesheet and icon from assets/ and they take effect."""

from __future__ import annotations

from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QPushButton

from studio.assets import asset_path, read_text
from studio.ui.style import apply_theme


def test_the_stylesheet_and_icon_apply(qapp, qtbot):
    apply_theme(qapp)
    assert qapp.styleSheet() == read_text("style.qss")
    icon = qapp.windowIcon().pixmap(32, 32).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    assert icon == QImage(str(asset_path("icon-32.png"))).convertToFormat(QImage.Format.Format_ARGB32)

    button = QPushButton("Train")
    button.setObjectName("primary")  # style.qss: QPushButton#primary { background: #3d6fd1; ... }
    qtbot.addWidget(button)
    button.resize(120, 40)
    centre = button.grab().toImage().pixelColor(60, 30)  # below the text
    assert abs(centre.red() - 0x3D) + abs(centre.green() - 0x6F) + abs(centre.blue() - 0xD1) < 12, centre.name()
    assert centre != QColor(qapp.palette().button().color())
