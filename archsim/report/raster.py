"""Small raster drawing kit for the run plots: Pillow only (no matplotlib, no numpy).

In:  numbers, text and pixel sizes.  Chart layout (image size, margins) is the caller's job;
     ``archsim.report.plots`` uses these pieces for the three PNGs of every run folder.
Out: a ``Canvas`` holding a Pillow RGB image, written by ``png_bytes`` as a PNG without
     timestamps or other metadata, so the same drawing gives a byte-identical file.

Pieces:
  - ``nice_ticks(lo, hi)``, ``tick_labels(ticks)``: 1-2-5 axis ticks and their labels, with
    thousands separators ("1,500") or in compact form from a million on ("2.5M").
  - ``viridis(t)``: the viridis colour map, interpolated linearly between 33 anchors of its
    published 256-entry table.
  - ``font(size)``, ``text_size(text, size)``, ``ellipsize(text, size, max_width)``,
    ``label_stride(band, extent)``: text metrics and fitting.
  - ``Scale`` (linear data -> pixel map) and ``Bands`` (one slot per category).
  - ``Canvas``: image with a plot box inside margins; draws text (also rotated 90 degrees),
    title, axis labels, value and category axes, bars (plain or stacked), a legend
    (``legend_width`` for layout), a heat map and a colour bar; ``save`` writes the PNG.
  - ``png_bytes(image)``: the PNG encoding (unfiltered rows, zlib).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple

from PIL import Image, ImageDraw, ImageFont

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
INK: Color = (38, 38, 38)          # text
AXIS: Color = (110, 110, 110)      # spines and tick marks
GRID: Color = (232, 232, 232)      # grid lines behind bars

TITLE_SIZE = 15
LABEL_SIZE = 12
TICK_SIZE = 11
PAD = 8          # gap between the image edge, titles and labels
TICK_GAP = 6     # gap between an axis and its tick labels
TICK_LEN = 4
_SWATCH_GAP = 5  # between a legend swatch and its label
_PNG_LEVEL = 3  # zlib level: 3 compresses these flat images well at half the time of 6

_LINE_PROBE = "Hg()|[]"  # tall and deep glyphs: every line of a font gets this height

# -- colour map -----------------------------------------------------------------------------

# viridis (van der Walt and Smith, 2015) at t = 0, 1/32, ..., 1: the published 256-entry table
# read at position 255 * k / 32, rounded to 8 bits.  Linear interpolation between these
# anchors stays within 2/255 of the full table.
_VIRIDIS_ANCHORS = (
    "440154", "470d60", "48186a", "482374", "472d7b", "453681", "424086", "3f4989",
    "3b528b", "375a8d", "33638d", "2f6a8e", "2c728e", "297a8e", "26818e", "23898e",
    "21908c", "1f988b", "1f9f88", "21a685", "28ae80", "31b57b", "3ebc74", "4cc26c",
    "5dc963", "6ece58", "82d34c", "96d83f", "abdc32", "c0df24", "d5e21a", "eae51a",
    "fde725",
)
_VIRIDIS = tuple(tuple(int(h[i:i + 2], 16) for i in (0, 2, 4)) for h in _VIRIDIS_ANCHORS)


def viridis(t: float) -> Color:
    """Colour of ``t`` (clipped to [0, 1]) on the viridis map: #440154 at 0, #fde725 at 1."""
    pos = min(1.0, max(0.0, t)) * (len(_VIRIDIS) - 1)
    k = min(int(pos), len(_VIRIDIS) - 2)
    f = pos - k
    a, b = _VIRIDIS[k], _VIRIDIS[k + 1]
    return tuple(round(x + (y - x) * f) for x, y in zip(a, b))


def text_color_on(background: Color) -> Color:
    """Dark ink on light backgrounds, white on dark ones (by perceived lightness)."""
    r, g, b = background
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 128 else WHITE


# -- ticks ----------------------------------------------------------------------------------

def _step(mantissa: int, exponent: int) -> float:
    # dividing by an exact power of ten keeps 0.1, 0.2, ... as the nearest doubles
    return mantissa * 10.0 ** exponent if exponent >= 0 else mantissa / 10.0 ** -exponent


def nice_ticks(lo: float, hi: float, max_ticks: int = 6) -> list[float]:
    """Evenly spaced ticks covering [lo, hi] with a step of 1, 2 or 5 times a power of ten.

    Uses the smallest such step that needs at most ``max_ticks`` ticks (at least 2).  An empty
    range (hi <= lo, e.g. all values zero) is widened to [lo, lo + 1].
    """
    if hi <= lo:
        hi = lo + 1.0
    intervals = max(1, max_ticks - 1)
    exponent = math.floor(math.log10((hi - lo) / intervals))
    while True:
        for mantissa in (1, 2, 5):
            step = _step(mantissa, exponent)
            first, last = math.floor(lo / step), math.ceil(hi / step)
            if last - first <= intervals:
                return [_step(mantissa * i, exponent) for i in range(first, last + 1)]
        exponent += 1


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9))


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Labels for evenly spaced ``ticks`` with just enough decimals to tell them apart.

    Below a million: thousands separators ("1,500", "0.25"); from a million on: compact form
    with k/M/G/T suffixes ("2.5M").  Zero is always "0" in compact form.
    """
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    top = max(abs(t) for t in ticks)
    if top < 1e6:
        return [f"{t:,.{_decimals(step)}f}" for t in ticks]
    power = min(4, int(math.log10(top) // 3))
    scale = 1000.0 ** power
    digits = _decimals(step / scale)
    suffix = "kMGT"[power - 1]
    return ["0" if t == 0 else f"{t / scale:,.{digits}f}{suffix}" for t in ticks]


# -- text -----------------------------------------------------------------------------------

@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's built-in font at ``size`` px: antialiased via FreeType, else the bitmap font."""
    try:
        return ImageFont.load_default(size)
    except ImportError:  # Pillow built without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


@cache
def _line_box(size: int) -> tuple[int, int]:
    _, top, _, bottom = font(size).getbbox(_LINE_PROBE)
    return top, bottom


class _Glyph(NamedTuple):
    mask: Image.Image   # coverage of the ink, one line of the font high
    width: int          # of the mask; 0 for blank glyphs such as the space
    left: int           # ink offset from the pen position
    advance: float      # pen movement to the next glyph


@cache
def _glyph(char: str, size: int) -> _Glyph:
    # FreeType renders a string glyph by glyph at rounded pen positions (no kerning with the
    # default font), so composing cached glyphs gives the same pixels at a fraction of the cost
    f = font(size)
    left, _, right, _ = f.getbbox(char)
    top, bottom = _line_box(size)
    mask = Image.new("L", (max(0, right - left), bottom - top), 0)
    ImageDraw.Draw(mask).text((-left, -top), char, fill=255, font=f)
    width = mask.width if mask.getbbox() else 0
    return _Glyph(mask, width, left, f.getlength(char))


@lru_cache(maxsize=4096)
def _layout(text: str, size: int) -> tuple[list[tuple[int, _Glyph]], int, int]:
    """Glyphs of ``text`` with their x offsets, plus the ink's left edge and width."""
    placed, pen = [], 0.0
    ink_left, ink_right = math.inf, -math.inf
    for char in text:
        g = _glyph(char, size)
        if g.width:
            x = round(pen) + g.left
            placed.append((x, g))
            ink_left, ink_right = min(ink_left, x), max(ink_right, x + g.width)
        pen += g.advance
    if not placed:
        return [], 0, 1
    return placed, ink_left, ink_right - ink_left


def text_size(text: str, size: int) -> tuple[int, int]:
    """Width of the ink of ``text`` and the line height of the font, in pixels."""
    _, _, width = _layout(text, size)
    top, bottom = _line_box(size)
    return width, bottom - top


def ellipsize(text: str, size: int, max_width: int) -> str:
    """``text``, or its longest prefix plus an ellipsis that fits in ``max_width`` pixels."""
    if text_size(text, size)[0] <= max_width:
        return text
    dots = "\u2026" if isinstance(font(size), ImageFont.FreeTypeFont) else "..."
    fits, too_long = 0, len(text)  # binary search for the longest prefix that fits
    while too_long - fits > 1:
        mid = (fits + too_long) // 2
        if text_size(text[:mid] + dots, size)[0] <= max_width:
            fits = mid
        else:
            too_long = mid
    return text[:fits].rstrip() + dots


def label_stride(band: float, extent: float) -> int:
    """Label every n-th slot of ``band`` px so that labels ``extent`` px long do not touch."""
    return max(1, math.ceil((extent + 2) / band))


def _text_mask(text: str, size: int) -> Image.Image:
    """Greyscale coverage of ``text``: ink width x line height of the font."""
    placed, ink_left, width = _layout(text, size)
    top, bottom = _line_box(size)
    mask = Image.new("L", (width, bottom - top), 0)
    for x, g in placed:
        mask.paste(255, (x - ink_left, 0), g.mask)
    return mask


# -- geometry -------------------------------------------------------------------------------

class Margins(NamedTuple):
    """Space around the plot box, in pixels."""
    left: int
    top: int
    right: int
    bottom: int


class Box(NamedTuple):
    """A pixel rectangle; ``right`` and ``bottom`` are exclusive."""
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


class Scale(NamedTuple):
    """Linear map from data values ``lo..hi`` to pixel positions ``p_lo..p_hi``."""
    lo: float
    hi: float
    p_lo: float
    p_hi: float

    def __call__(self, value: float) -> int:
        return round(self.p_lo + (value - self.lo) * (self.p_hi - self.p_lo) / (self.hi - self.lo))


class Bands(NamedTuple):
    """``n`` equal slots from pixel ``start`` to ``end``; a bar fills ``fill`` of its slot,
    at most ``max_thickness`` px."""
    n: int
    start: float
    end: float
    fill: float = 0.7
    max_thickness: float = math.inf

    @property
    def band(self) -> float:
        return (self.end - self.start) / self.n

    def centre(self, i: int) -> float:
        return self.start + (i + 0.5) * self.band

    def edges(self, i: int) -> tuple[int, int]:
        half = min(self.fill * abs(self.band), self.max_thickness) / 2
        return round(self.centre(i) - half), round(self.centre(i) + half)


# -- canvas ---------------------------------------------------------------------------------

class Canvas:
    """A white RGB image of the plot box plus margins; methods draw in pixel coordinates."""

    def __init__(self, plot_width: int, plot_height: int, margins: Margins):
        self.plot = Box(margins.left, margins.top, margins.left + plot_width,
                        margins.top + plot_height)
        self.image = Image.new("RGB", (self.plot.right + margins.right,
                                       self.plot.bottom + margins.bottom), WHITE)
        self.draw = ImageDraw.Draw(self.image)

    # text

    def text(self, x: float, y: float, text: str, size: int = TICK_SIZE, color: Color = INK,
             ha: str = "left", va: str = "top", rotate: bool = False) -> None:
        """Draw ``text`` with its box's ``ha`` (left/center/right) and ``va`` (top/center/
        bottom) at (x, y).  ``rotate`` turns it 90 degrees to read bottom to top; the
        alignment then refers to the rotated box."""
        mask = _text_mask(text, size)
        if rotate:
            mask = mask.transpose(Image.Transpose.ROTATE_90)
        w, h = mask.size
        left = x - {"left": 0, "center": w / 2, "right": w}[ha]
        top = y - {"top": 0, "center": h / 2, "bottom": h}[va]
        self.image.paste(color, (round(left), round(top)), mask)

    def title(self, text: str) -> None:
        """Centred over the plot box at the top edge (shortened to fit the image width)."""
        text = ellipsize(text, TITLE_SIZE, self.image.width - 2 * PAD)
        w, _ = text_size(text, TITLE_SIZE)
        x = min(max(PAD, (self.plot.left + self.plot.right - w) / 2), self.image.width - PAD - w)
        self.text(x, PAD, text, TITLE_SIZE)

    def xlabel(self, text: str) -> None:
        """Centred under the plot box, below one line of tick labels."""
        y = self.plot.bottom + TICK_GAP + text_size("0", TICK_SIZE)[1] + PAD
        self.text((self.plot.left + self.plot.right) / 2, y, text, LABEL_SIZE, ha="center")

    def ylabel(self, text: str) -> None:
        """Rotated at the left edge of the image, centred on the plot box."""
        self.text(PAD, (self.plot.top + self.plot.bottom) / 2, text, LABEL_SIZE, va="center",
                  rotate=True)

    # axes

    def value_axis(self, scale: Scale, ticks: Sequence[float], side: str) -> None:
        """Grid lines, tick marks and labels of a numeric axis on the "left" or "bottom"."""
        p = self.plot
        for tick, label in zip(ticks, tick_labels(ticks)):
            at = scale(tick)
            if side == "left":
                self.draw.line([(p.left, at), (p.right - 1, at)], fill=GRID)
                self.draw.line([(p.left - TICK_LEN, at), (p.left - 1, at)], fill=AXIS)
                self.text(p.left - TICK_GAP, at, label, ha="right", va="center")
            else:
                self.draw.line([(at, p.top), (at, p.bottom - 1)], fill=GRID)
                self.draw.line([(at, p.bottom), (at, p.bottom + TICK_LEN - 1)], fill=AXIS)
                self.text(at, p.bottom + TICK_GAP, label, ha="center")

    def category_axis(self, bands: Bands, labels: Sequence[str], side: str,
                      rotate: bool = False, stride: int = 1) -> None:
        """Every ``stride``-th label at the centre of its band, on the "left" or "bottom";
        ``rotate`` stands bottom labels upright, ending just under the axis."""
        for i, label in enumerate(labels):
            if i % stride:
                continue
            at = bands.centre(i)
            if side == "left":
                self.text(self.plot.left - TICK_GAP, at, label, ha="right", va="center")
            else:
                self.text(at, self.plot.bottom + TICK_GAP, label, ha="center", rotate=rotate)

    def spines(self) -> None:
        """The left and bottom edges of the plot box."""
        p = self.plot
        self.draw.line([(p.left - 1, p.top), (p.left - 1, p.bottom)], fill=AXIS)
        self.draw.line([(p.left - 1, p.bottom), (p.right - 1, p.bottom)], fill=AXIS)

    # marks

    def bars(self, bands: Bands, values: Sequence[float], scale: Scale, color: Color,
             base: Sequence[float] | None = None, horizontal: bool = False) -> None:
        """One bar per band from ``base`` (default 0) to base + value along ``scale``;
        stack bars by passing the lower series as ``base``."""
        for i, value in enumerate(values):
            start = base[i] if base is not None else 0.0
            a, b = sorted((scale(start), scale(start + value)))
            if a == b:
                continue
            lo, hi = bands.edges(i)
            box = [a, lo, b - 1, hi - 1] if horizontal else [lo, a, hi - 1, b - 1]
            self.draw.rectangle(box, fill=color)

    def legend(self, entries: Sequence[tuple[str, Color]], x: float, y: float) -> None:
        """A row of colour swatches and labels with its top-left corner at (x, y)."""
        swatch = _swatch()
        for label, color in entries:
            left, top = round(x), round(y)
            self.draw.rectangle([left, top, left + swatch - 1, top + swatch - 1], fill=color)
            self.text(left + swatch + _SWATCH_GAP, top, label)
            x += _legend_entry_width(label) + 2 * PAD

    def heatmap(self, grid: Sequence[Sequence[float]], colormap: Callable[[float], Color],
                annotate: Callable[[float], str] | None = None, size: int = TICK_SIZE) -> None:
        """Fill the plot box with one cell per value (rows top to bottom), coloured by
        ``colormap`` (values in [0, 1]); ``annotate`` formats a label for each cell."""
        rows, cols = len(grid), len(grid[0])
        xs = [round(self.plot.left + c * self.plot.width / cols) for c in range(cols + 1)]
        ys = [round(self.plot.top + r * self.plot.height / rows) for r in range(rows + 1)]
        for r, row in enumerate(grid):
            for c, value in enumerate(row):
                color = colormap(value)
                self.draw.rectangle([xs[c], ys[r], xs[c + 1] - 1, ys[r + 1] - 1], fill=color)
                if annotate is not None:
                    self.text((xs[c] + xs[c + 1]) / 2, (ys[r] + ys[r + 1]) / 2,
                              annotate(value), size, text_color_on(color), ha="center",
                              va="center")

    def colorbar(self, box: Box, colormap: Callable[[float], Color], ticks: Sequence[float],
                 label: str) -> None:
        """A vertical colour bar for [0, 1] (0 at the bottom) with tick labels on its right
        and ``label`` rotated beside them."""
        for y in range(box.top, box.bottom):
            t = (box.bottom - 1 - y) / max(1, box.height - 1)
            self.draw.line([(box.left, y), (box.right - 1, y)], fill=colormap(t))
        self.draw.rectangle([box.left, box.top, box.right - 1, box.bottom - 1], outline=AXIS)
        scale = Scale(0.0, 1.0, box.bottom - 1, box.top)
        labels = tick_labels(ticks)
        for tick, text in zip(ticks, labels):
            at = scale(tick)
            self.draw.line([(box.right, at), (box.right + TICK_LEN - 1, at)], fill=AXIS)
            self.text(box.right + TICK_GAP, at, text, ha="left", va="center")
        x = box.right + TICK_GAP + max(text_size(t, TICK_SIZE)[0] for t in labels) + PAD
        self.text(x, (box.top + box.bottom) / 2, label, LABEL_SIZE, va="center", rotate=True)

    # output

    def save(self, path: str | Path) -> None:
        """Write the image as a PNG (see ``png_bytes``)."""
        Path(path).write_bytes(png_bytes(self.image))


def png_bytes(image: Image.Image) -> bytes:
    """PNG file of an RGB image: header, one zlib stream of unfiltered rows, end.

    No metadata chunks (time, software, resolution), so equal images give equal bytes.  Written
    here rather than with ``Image.save``: Pillow's PNG plugin takes ~20 ms to import and its
    per-row filter search dominates the time of a whole plot.
    """
    width, height = image.size
    pixels = image.tobytes()
    stride = 3 * width
    rows = b"".join(b"\x00" + pixels[i:i + stride] for i in range(0, len(pixels), stride))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows, _PNG_LEVEL)) + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data)))


def legend_width(entries: Sequence[tuple[str, Color]]) -> int:
    """Width in pixels of ``Canvas.legend`` for ``entries``."""
    return (sum(_legend_entry_width(label) for label, _ in entries)
            + 2 * PAD * (len(entries) - 1))


def _swatch() -> int:
    return text_size("0", TICK_SIZE)[1]  # square, one tick label high


def _legend_entry_width(label: str) -> int:
    return _swatch() + _SWATCH_GAP + text_size(label, TICK_SIZE)[0]
