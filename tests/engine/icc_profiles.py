"""Minimal ICC v2 RGB matrix/TRC profiles built byte by byte, for colour-management tests (no
profile files to ship: LittleCMS reads these like any camera or phone profile)."""

from __future__ import annotations

import struct

D50 = (0.9642, 1.0, 0.8249)  # the profile connection space's white
# sRGB's D50-adapted colorants (red, green, blue), as in the sRGB IEC61966-2.1 profile
SRGB_D50 = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
# Display P3's, as Apple's profile has them: a wider gamut than sRGB
DISPLAY_P3_D50 = ((0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841))


def rgb_profile(name: str, red, green, blue, gamma: float = 2.2) -> bytes:
    """A monitor RGB profile from D50-adapted colorant XYZs and one gamma for the three curves."""
    tags = [(b"desc", _desc(name)), (b"wtpt", _xyz(*D50)), (b"rXYZ", _xyz(*red)), (b"gXYZ", _xyz(*green)),
            (b"bXYZ", _xyz(*blue)), (b"rTRC", _curv(gamma)), (b"gTRC", _curv(gamma)), (b"bTRC", _curv(gamma)),
            (b"cprt", _text("public domain"))]
    offset = 128 + 4 + 12 * len(tags)  # header, tag count, tag table
    table, data = b"", b""
    for sig, body in tags:
        data += b"\0" * (-(offset + len(data)) % 4)  # tags start on 4-byte boundaries
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    data += b"\0" * (-len(data) % 4)
    header = (struct.pack(">I", offset + len(data)) + b"\0" * 4 + struct.pack(">I", 0x02100000)  # size, CMM, v2.1
              + b"mntrRGB XYZ " + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp"
              + b"\0" * 28 + _xyz(*D50)[8:])  # platform, flags, device, attributes, intent; illuminant at 68
    assert len(header) == 80
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + data


def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))  # s15Fixed16


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def _curv(gamma: float) -> bytes:
    return b"curv" + b"\0" * 4 + struct.pack(">IH", 1, int(round(gamma * 256))) + b"\0\0"


def _desc(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    # ASCII description, then empty Unicode and ScriptCode descriptions (67 bytes for the latter)
    return (b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_)) + ascii_ + struct.pack(">II", 0, 0)
            + struct.pack(">HB", 0, 0) + b"\0" * 67)


def _text(text: str) -> bytes:
    return b"text" + b"\0" * 4 + text.encode("ascii") + b"\0"
