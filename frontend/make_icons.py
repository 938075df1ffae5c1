#!/usr/bin/env python3
"""Draws the app's icons (the speech bubble of the favicon) as PNG files.

The web app manifest needs raster icons at 192 and 512 pixels, and
maskable ones whose picture stays inside the central safe circle (80 %).
The PNGs are committed; run this (Python 3, no packages) only to change them:

    python3 frontend/make_icons.py
"""
import os
import struct
import zlib

TOP = (0x6D, 0x4A, 0xFF)  # the gradient of the favicon, top left...
BOTTOM = (0xFF, 0x5F, 0xA2)  # ...to bottom right
SAMPLES = 4  # per axis, for smooth edges


def in_bubble(x, y):
    """Whether (x, y), in the favicon's 64-unit box, is inside the bubble."""
    # The body: an ellipse through (6, 28), (58, 28), (32, 6) and (32, 50).
    dx, dy = (x - 32) / 26, (y - 28) / 22
    if dx * dx + dy * dy <= 1:
        return True
    # The tail: a triangle from inside the body down to the left.
    (ax, ay), (bx, by), (cx, cy) = (15, 38), (12, 58), (28, 47)

    def side(px, py, qx, qy):
        return (x - qx) * (py - qy) - (px - qx) * (y - qy)

    d1, d2, d3 = side(ax, ay, bx, by), side(bx, by, cx, cy), side(cx, cy, ax, ay)
    negative = d1 < 0 or d2 < 0 or d3 < 0
    positive = d1 > 0 or d2 > 0 or d3 > 0
    return not (negative and positive)


def gradient(u):
    return tuple(round(t + (b - t) * u) for t, b in zip(TOP, BOTTOM))


def draw(size, maskable):
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter: none
        for px in range(size):
            inside = 0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    x = (px + (sx + 0.5) / SAMPLES) / size * 64
                    y = (py + (sy + 0.5) / SAMPLES) / size * 64
                    if maskable:
                        # The bubble in the safe zone: 64 units -> 40, centred.
                        x, y = (x - 12) * 64 / 40, (y - 12) * 64 / 40
                    inside += in_bubble(x, y)
            cover = inside / (SAMPLES * SAMPLES)
            colour = gradient((px + py) / (2 * size))
            if maskable:
                # Full bleed gradient, a white bubble on it.
                r, g, b = (round(c + (255 - c) * cover) for c in colour)
                row += bytes((r, g, b, 255))
            else:
                row += bytes((*colour, round(255 * cover)))
        rows.append(bytes(row))
    return png(size, b"".join(rows))


def png(size, raw):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # RGBA, 8 bits
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "icons")
    for size in (192, 512):
        for maskable in (False, True):
            name = f"icon-{size}{'-maskable' if maskable else ''}.png"
            with open(os.path.join(here, name), "wb") as out:
                out.write(draw(size, maskable))
            print(name)
