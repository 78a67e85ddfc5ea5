"""numpy uint8 pictures -> QImage. GUI thread only (DESIGN.md §3)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def to_qimage(picture: np.ndarray) -> QImage:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) uint8 -> a QImage that owns its pixels."""
    a = np.asarray(picture)
    if a.dtype != np.uint8:
        raise ValueError(f"pictures must be uint8, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    if a.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    elif a.shape[2] == 3:
        fmt = QImage.Format.Format_RGB888
    elif a.shape[2] == 4:
        fmt = QImage.Format.Format_RGBA8888
    else:
        raise ValueError(f"unsupported picture shape {a.shape}")
    # QImage would reference numpy's buffer; copy() detaches it so the array may be freed.
    return QImage(a.data, w, h, a.strides[0], fmt).copy()
