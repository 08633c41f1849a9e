"""Run plots on Pillow (archsim.report.raster): ticks, colours, geometry, determinism, errors,
imports."""

import io
import math
import struct
import subprocess
import sys

import pytest
from PIL import Image

from archsim.report import plots
from archsim.report import raster as R

PNG = b"\x89PNG\r\n\x1a\n"
BLUE, GREEN, ORANGE = (31, 119, 180), (44, 160, 44), (255, 127, 14)


def _rgb(path):
    with Image.open(path) as im:
        return im.convert("RGB")


def _pixel_rows(img):
    raw = img.tobytes()
    data = list(zip(raw[0::3], raw[1::3], raw[2::3]))
    return [data[y * img.width:(y + 1) * img.width] for y in range(img.height)]


def _layers(n, cycles=1000, compute=600, tiles=1):
    return [{"node": f"layer{i}", "cycles": cycles, "compute_cycles": compute, "tiles": tiles}
            for i in range(n)]


def _chunk_types(data):
    types, pos = [], len(PNG)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        types.append(data[pos + 4:pos + 8])
        pos += 12 + length
    return types


# -- ticks and labels -------------------------------------------------------------------------

@pytest.mark.parametrize("lo, hi, max_ticks, expected", [
    (0, 1, 6, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),     # step 0.1 needs 10 intervals > 5
    (0, 0, 6, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),     # empty range -> 0..1
    (0, 7.3, 6, [0, 2, 4, 6, 8]),                  # step 1 needs 8 intervals
    (0, 1234, 6, [0, 500, 1000, 1500]),            # step 200 needs 7 intervals
    (-3, 12, 6, [-5, 0, 5, 10, 15]),
    (0, 0.037, 6, [0.0, 0.01, 0.02, 0.03, 0.04]),
    (0, 1, 3, [0.0, 0.5, 1.0]),                    # step 0.2 needs 5 intervals > 2
    (0, 1, 2, [0.0, 1.0]),
])
def test_nice_ticks(lo, hi, max_ticks, expected):
    assert R.nice_ticks(lo, hi, max_ticks) == expected


@pytest.mark.parametrize("ticks, expected", [
    ([0, 500, 1000, 1500], ["0", "500", "1,000", "1,500"]),
    ([0.0, 0.2, 0.4], ["0.0", "0.2", "0.4"]),
    ([0.0, 0.05, 0.1], ["0.00", "0.05", "0.10"]),
    ([0, 200_000, 400_000], ["0", "200,000", "400,000"]),
    ([0, 500_000, 1_000_000, 1_500_000], ["0", "0.5M", "1.0M", "1.5M"]),
    ([0, 50e6, 100e6, 150e6], ["0", "50M", "100M", "150M"]),
    ([0, 2e9, 4e9], ["0", "2G", "4G"]),
])
def test_tick_labels(ticks, expected):
    assert R.tick_labels(ticks) == expected


# -- colours ----------------------------------------------------------------------------------

def test_viridis_published_points():
    assert R.viridis(0.0) == (0x44, 0x01, 0x54)
    assert R.viridis(1.0) == (0xFD, 0xE7, 0x25)
    assert all(abs(a - b) <= 1 for a, b in zip(R.viridis(0.5), (0x21, 0x91, 0x8C)))
    assert R.viridis(-0.5) == R.viridis(0.0) and R.viridis(7.0) == R.viridis(1.0)


def test_viridis_matches_the_full_table():
    mpl = pytest.importorskip("matplotlib")
    cmap = mpl.colormaps["viridis"]
    for i in range(257):
        ref = [round(255 * x) for x in cmap(i / 256)[:3]]
        assert max(abs(a - b) for a, b in zip(R.viridis(i / 256), ref)) <= 3, i


def test_annotation_ink_contrasts_with_the_cell():
    assert R.text_color_on(R.viridis(0.0)) == R.WHITE
    assert R.text_color_on(R.viridis(1.0)) == R.INK


# -- text -------------------------------------------------------------------------------------

def test_ellipsize_and_label_stride():
    name = "block7.very_long_residual_projection_name_that_goes_on"
    short = R.ellipsize(name, R.TICK_SIZE, 100)
    assert short.endswith("\u2026") and name.startswith(short[:-1])
    assert R.text_size(short, R.TICK_SIZE)[0] <= 100
    assert R.text_size(name[:len(short)] + "\u2026", R.TICK_SIZE)[0] > 100  # longest prefix
    assert R.ellipsize("conv1", R.TICK_SIZE, 100) == "conv1"
    assert R.label_stride(22, 13) == 1
    assert R.label_stride(5, 13) == 3   # 15 px of label + gap over 5 px bands


def test_rotated_text_stands_upright():
    c = R.Canvas(200, 200, R.Margins(0, 0, 0, 0))
    c.text(100, 100, "a rotated label", rotate=True, ha="center", va="center")
    left, top, right, bottom = Image.eval(c.image.convert("L"), lambda v: 255 - v).getbbox()
    assert bottom - top > 3 * (right - left)
    assert abs((left + right) / 2 - 100) <= 1 and abs((top + bottom) / 2 - 100) <= 1


# -- canvas -----------------------------------------------------------------------------------

def test_canvas_heatmap_cells_have_the_colormap_colour():
    grid = [[0.0, 0.25], [0.75, 1.0]]
    c = R.Canvas(100, 100, R.Margins(10, 20, 30, 40))
    assert c.image.size == (140, 160) and c.plot == R.Box(10, 20, 110, 120)
    c.heatmap(grid, R.viridis)
    for r in range(2):
        for col in range(2):
            x, y = 10 + 50 * col, 20 + 50 * r
            for px in ((x, y), (x + 25, y + 25), (x + 49, y + 49)):  # corner, centre, corner
                assert c.image.getpixel(px) == R.viridis(grid[r][col])


def test_canvas_stacked_bars_scale_exactly():
    c = R.Canvas(100, 100, R.Margins(0, 0, 0, 0))
    y = R.Scale(0.0, 100.0, 100, 0)
    bands = R.Bands(2, 0, 100, fill=0.5)            # bars 25 px wide, centred at 25 and 75
    c.bars(bands, [30, 0], y, GREEN)
    c.bars(bands, [70, 50], y, ORANGE, base=[30, 0])
    column = [c.image.getpixel((25, yy)) for yy in range(100)]
    assert column.count(GREEN) == 30 and column.count(ORANGE) == 70
    assert column[:70] == [ORANGE] * 70             # the rest sits on top of compute
    assert [c.image.getpixel((75, yy)) for yy in range(100)].count(ORANGE) == 50
    assert bands.edges(0) == (12, 38) and c.image.getpixel((11, 99)) == R.WHITE


def test_png_bytes_round_trip_without_metadata():
    img = Image.new("RGB", (3, 2), (1, 2, 3))
    img.putpixel((2, 1), (200, 100, 0))
    data = R.png_bytes(img)
    assert data.startswith(PNG) and _chunk_types(data) == [b"IHDR", b"IDAT", b"IEND"]
    with Image.open(io.BytesIO(data)) as back:
        assert back.mode == "RGB" and back.tobytes() == img.tobytes()


# -- the three run plots ----------------------------------------------------------------------

def test_heatmap_cells_show_their_values_colour(tmp_path):
    img = _rgb(plots.tile_heatmap([0.0, 0.25, 0.75, 1.0], 2, 2, tmp_path / "h.png"))
    pixel_rows = _pixel_rows(img)
    centres = {}
    for v in (0.0, 0.25, 0.75, 1.0):
        want = R.viridis(v)
        rows = {}
        for y, row in enumerate(pixel_rows):
            xs = [x for x, px in enumerate(row) if px == want]
            if len(xs) > 100:                       # cell rows, not the colour bar (16 px)
                rows[y] = xs
        top, bottom = min(rows), max(rows)
        left, right = min(min(xs) for xs in rows.values()), max(max(xs) for xs in rows.values())
        assert (right - left + 1, bottom - top + 1) == (160, 160), v   # 2x2 grid: 160 px cells
        for corner in ((left, top), (right, top), (left, bottom), (right, bottom),
                       (left + 5, top + 5)):
            assert img.getpixel(corner) == want
        assert any(img.getpixel((x, (top + bottom) // 2)) != want    # annotated in the middle
                   for x in range(left, right))
        centres[v] = ((left + right) / 2, (top + bottom) / 2)
    # tile t at (t // cols, t % cols)
    assert centres[0.0][1] == centres[0.25][1] < centres[0.75][1] == centres[1.0][1]
    assert centres[0.0][0] == centres[0.75][0] < centres[0.25][0] == centres[1.0][0]


def test_heatmap_without_annotations_above_64_tiles(tmp_path):
    img = _rgb(plots.tile_heatmap([0.5] * 81, 9, 9, tmp_path / "h.png"))
    want = R.viridis(0.5)
    rows = [y for y in range(img.height) if img.getpixel((img.width // 3, y)) == want]
    assert len(rows) == 9 * (480 // 9)              # a clean column through all cells


def test_energy_bars_largest_on_top_and_to_scale(tmp_path):
    img = _rgb(plots.energy_breakdown({"sram": 1e6, "dram": 4e6, "pe_array": 2e6},
                                      tmp_path / "e.png"))
    widths = []                                     # blue run lengths, bar by bar from the top
    for y, row in enumerate(_pixel_rows(img)):
        n = row.count(BLUE)
        if n and (not widths or widths[-1][0] != y - 1):
            widths.append([y, n])
        elif n:
            widths[-1][0] = y
    w = [n for _, n in widths]
    assert len(w) == 3 and w[0] > w[1] > w[2]
    assert abs(w[0] - 2 * w[1]) <= 1 and abs(w[0] - 4 * w[2]) <= 2   # 4 : 2 : 1 uJ


def test_layer_bars_split_compute_and_rest(tmp_path):
    # span 1000 cycles, compute 1200 over 4 tiles = 300 per tile: green 300, orange 700
    img = _rgb(plots.layer_latency(_layers(1, 1000, 1200, 4), tmp_path / "l.png"))
    x = next(x for x in range(img.width) if img.getpixel((x, img.height // 2)) in (GREEN, ORANGE))
    column = [img.getpixel((x + 5, y)) for y in range(img.height)]
    green, orange = column.count(GREEN), column.count(ORANGE)
    assert green + orange == 300                    # plot height; axis 0..1000 (ticks of 200)
    assert (green, orange) == (90, 210)


def test_image_sizes(tmp_path):
    def size(path):
        with Image.open(path) as im:
            return im.size

    e3 = size(plots.energy_breakdown({"a": 1, "b": 2, "c": 3}, tmp_path / "e3.png"))
    e5 = size(plots.energy_breakdown({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5},
                                     tmp_path / "e5.png"))
    assert e3[0] == e5[0] == 700 and e5[1] - e3[1] == 2 * 32
    l30 = size(plots.layer_latency(_layers(30), tmp_path / "l30.png"))
    l40 = size(plots.layer_latency(_layers(40), tmp_path / "l40.png"))
    assert l40[0] - l30[0] == 10 * 22 and l30[1] == l40[1]
    l200 = size(plots.layer_latency(_layers(200), tmp_path / "l200.png"))
    l500 = size(plots.layer_latency(_layers(500), tmp_path / "l500.png"))
    assert l200[0] == l500[0] < 2600                # capped
    h2 = size(plots.tile_heatmap([0.5] * 4, 2, 2, tmp_path / "h2.png"))
    h4 = size(plots.tile_heatmap([0.5] * 16, 4, 4, tmp_path / "h4.png"))
    h8 = size(plots.tile_heatmap([0.5] * 64, 8, 8, tmp_path / "h8.png"))
    assert h4[1] == h8[1] and h4[1] - h2[1] == 160   # 480 px grids vs a 320 px one
    # widths also differ by the ink width of the row labels ("3" vs "7")
    assert abs(h4[0] - h8[0]) <= 2 and abs(h4[0] - h2[0] - 160) <= 2


def test_same_input_same_bytes(tmp_path):
    names = [f"layer{i}" for i in range(12)]
    layers = [{"node": n, "cycles": 100 * (i + 1), "compute_cycles": 70 * i, "tiles": 2}
              for i, n in enumerate(names)]
    for d in ("a", "b"):
        plots.energy_breakdown({"pe_array": 3e6, "dram": 5e6}, tmp_path / d / "e.png", "t")
        plots.layer_latency(layers, tmp_path / d / "l.png", "t")
        plots.tile_heatmap([i / 15 for i in range(16)], 4, 4, tmp_path / d / "h.png", "t")
    for name in ("e.png", "l.png", "h.png"):
        data = (tmp_path / "a" / name).read_bytes()
        assert data == (tmp_path / "b" / name).read_bytes(), name
        assert _chunk_types(data) == [b"IHDR", b"IDAT", b"IEND"]   # no tIME or text chunks
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["e.png", "h.png", "l.png"]


def test_edge_cases_draw(tmp_path):
    long = "x" * 300
    cases = [
        plots.energy_breakdown({"a": 0.0, "b": 0.0}, tmp_path / "e0.png"),
        plots.energy_breakdown({long: 1e6}, tmp_path / "e_long.png", long),
        plots.layer_latency(_layers(3, 0, 0), tmp_path / "l0.png"),
        plots.layer_latency([{"node": long, "cycles": 5, "compute_cycles": 9}],
                            tmp_path / "l1.png", long),
        plots.tile_heatmap([0.3], 1, 1, tmp_path / "h1.png"),
        plots.tile_heatmap([i / 255 for i in range(256)], 16, 16, tmp_path / "h16.png"),
        plots.tile_heatmap([1.2, 0.0], 1, 2, tmp_path / "h_over.png"),   # > 1 coloured as 1
    ]
    for path in cases:
        with Image.open(path) as im:
            assert im.size[0] < 1200 and im.size[1] < 1200, path.name


@pytest.mark.parametrize("call, match", [
    (lambda p: plots.energy_breakdown({}, p), "energy_breakdown: no energy values to plot"),
    (lambda p: plots.energy_breakdown({"dram": math.nan}, p),
     r"energy_breakdown: by_class_pj\['dram'\] must be a finite number >= 0, got nan"),
    (lambda p: plots.energy_breakdown({"dram": -1.0}, p), r"by_class_pj\['dram'\]"),
    (lambda p: plots.layer_latency([], p), "layer_latency: no layers to plot"),
    (lambda p: plots.layer_latency(_layers(1) + _layers(1, cycles=-5), p),
     r"layer_latency: layers\[1\]\['cycles'\] must be a finite number >= 0, got -5"),
    (lambda p: plots.layer_latency(_layers(1, compute=math.inf), p),
     r"layers\[0\]\['compute_cycles'\]"),
    (lambda p: plots.tile_heatmap([0.1], 2, 2, p), "tile_heatmap: 1 values for a 2x2 grid"),
    (lambda p: plots.tile_heatmap([], 0, 0, p), "tile_heatmap: rows and cols must be >= 1"),
    (lambda p: plots.tile_heatmap([0.1, 0.2, math.nan, 0.4], 2, 2, p),
     r"tile_heatmap: util\[2\] must be a finite number >= 0, got nan"),
    (lambda p: plots.tile_heatmap([0.1, -0.2], 1, 2, p), r"util\[1\]"),
])
def test_bad_input_names_the_argument(tmp_path, call, match):
    with pytest.raises(ValueError, match=match):
        call(tmp_path / "bad.png")
    assert not list(tmp_path.iterdir())


_DRAW_ALL = """
import sys
from archsim.report import plots
plots.energy_breakdown({"pe_array": 3e6, "a_very_long_component_class_name_indeed": 1e6},
                       sys.argv[1] + "/e.png")
plots.layer_latency([{"node": f"layer{i}", "cycles": 100, "compute_cycles": 50, "tiles": 1}
                     for i in range(60)], sys.argv[1] + "/l.png")
plots.tile_heatmap([i / 63 for i in range(64)], 8, 8, sys.argv[1] + "/h.png")
print(sorted(m for m in ("matplotlib", "numpy") if m in sys.modules))
"""


def test_run_plots_import_neither_matplotlib_nor_numpy(tmp_path):
    out = subprocess.run([sys.executable, "-c", _DRAW_ALL, str(tmp_path)], check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == "[]"
    assert all((tmp_path / f).read_bytes().startswith(PNG) for f in ("e.png", "l.png", "h.png"))


def test_bitmap_font_fallback_without_freetype(tmp_path):
    # Pillow without FreeType: load_default(size) fails, load_default() gives the bitmap font
    script = """
from PIL import ImageFont
def no_freetype(size=None):
    if size is not None:
        raise ImportError("The _imagingft C module is not installed")
    return ImageFont.load_default_imagefont()
ImageFont.load_default = no_freetype
from archsim.report import raster
assert not isinstance(raster.font(11), ImageFont.FreeTypeFont)
assert raster.ellipsize("x" * 100, 11, 60).endswith("...")
""" + _DRAW_ALL
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True,
                   capture_output=True, text=True)
    with Image.open(tmp_path / "h.png") as im:
        assert im.size[0] > 400
