"""Just enough of PNG to count a screenshot's colours: 8-bit RGB or RGBA, not interlaced,
as Chromium writes them (zlib from the standard library does the inflating)."""

import struct
import zlib
from collections import Counter

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}  # colour type -> bytes per pixel


def colours(png):
    """How many pixels have each colour: Counter of (red, green, blue)."""
    if not png.startswith(SIGNATURE):
        raise ValueError("not a PNG")
    chunks, at = {}, len(SIGNATURE)
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        chunks.setdefault(kind, []).append(png[at + 8:at + 8 + length])
        at += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB",
                                                                       chunks[b"IHDR"][0])
    if depth != 8 or colour_type not in CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}, "
                         f"interlace {interlace}")
    step = CHANNELS[colour_type]
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    stride = width * step
    counted = Counter()
    above = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]), above, step)
        counted.update(bytes(line[x:x + 3]) for x in range(0, stride, step))
        above = line
    return Counter({tuple(rgb): n for rgb, n in counted.items()})


def _unfilter(kind, line, above, step):
    if kind == 1:  # Sub
        for i in range(step, len(line)):
            line[i] = (line[i] + line[i - step]) & 0xFF
    elif kind == 2:  # Up
        line = bytearray((a + b) & 0xFF for a, b in zip(line, above, strict=True))
    elif kind == 3:  # Average
        for i in range(len(line)):
            left = line[i - step] if i >= step else 0
            line[i] = (line[i] + (left + above[i]) // 2) & 0xFF
    elif kind == 4:  # Paeth
        for i in range(len(line)):
            left = line[i - step] if i >= step else 0
            corner = above[i - step] if i >= step else 0
            line[i] = (line[i] + _paeth(left, above[i], corner)) & 0xFF
    return line


def _paeth(left, up, corner):
    guess = left + up - corner
    to_left, to_up, to_corner = abs(guess - left), abs(guess - up), abs(guess - corner)
    if to_left <= to_up and to_left <= to_corner:
        return left
    return up if to_up <= to_corner else corner
