"""Small PNG pictures for the page's image tests, drawn in pure Python (zlib, no Pillow)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

Rgb = tuple[int, int, int]


def png(width: int, height: int, pixel: Callable[[int, int], Rgb]) -> bytes:
    """An RGB PNG whose pixel at (x, y) is `pixel(x, y)`."""
    rows = b"".join(
        b"\x00" + bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def countdown_chart(width: int = 360, height: int = 150) -> bytes:
    """A bar chart: days left at each milestone, falling to launch day."""
    bars = [100, 82, 61, 45, 30, 12]
    slot = width // len(bars)

    def pixel(x: int, y: int) -> Rgb:
        index, offset = divmod(x, slot)
        if index < len(bars) and 8 <= offset < slot - 8:
            top = height - 12 - bars[index] * (height - 24) // 100
            if top <= y < height - 12:
                shade = 40 * index // len(bars)
                return (37 + shade, 99 + shade, 235)
        if y == height - 12:
            return (200, 204, 212)
        return (255, 255, 255)

    return png(width, height, pixel)


def sunrise(width: int = 240, height: int = 135) -> bytes:
    """A launch-pad sunrise: a sky gradient, a sun, and a rocket's silhouette."""

    def pixel(x: int, y: int) -> Rgb:
        if y > height * 3 // 4:
            return (40, 44, 52)
        rocket_x, top = width * 2 // 3, height // 4
        if abs(x - rocket_x) <= 3 and top < y <= height * 3 // 4:
            return (30, 30, 36)
        if top - 10 <= y <= top and abs(x - rocket_x) * 10 <= (y - top + 10) * 3:
            return (30, 30, 36)  # the nose cone
        sun_x, sun_y = width // 3, height * 3 // 4
        if (x - sun_x) ** 2 + (y - sun_y) ** 2 < (height // 5) ** 2:
            return (255, 214, 102)
        t = y / (height * 3 / 4)
        return (int(72 + 183 * t), int(61 + 110 * t), int(139 - 40 * t))

    return png(width, height, pixel)
