"""PNG plots of runs and sweeps.

In:  plain data -- dicts and lists as found in ``summary.json`` or a sweep CSV -- and a path.
Out: the written PNG path (written to a temporary file, then moved into place).

The three plots of every run folder are drawn with Pillow through ``archsim.report.raster``: they
sit on the path of ``archsim run``, where importing matplotlib and rendering would cost about
1.5 s per process, while Pillow needs a few tens of milliseconds.  Their PNGs carry no
timestamps, so the same inputs give byte-identical files.  The sweep/study plots, off that
path, use matplotlib on their own ``Figure`` with an Agg canvas (no ``pyplot`` global state,
safe in worker processes and without a display).

Functions:
  - ``energy_breakdown(by_class_pj, path, title)`` (Pillow): bars of energy per component
    class (uJ), largest on top, with percentages.
  - ``layer_latency(layers, path, title)`` (Pillow): per-layer cycles, split into compute and
    the rest.
  - ``tile_heatmap(util, rows, cols, path, title, label)`` (Pillow): per-tile utilisation (as
    docs/metrics.md defines it; ``label`` names the metric) over the grid.
  - ``scaling(tiles, speedup, path, title)`` (matplotlib): speed-up vs tiles with the ideal
    (linear) line.
  - ``grouped_bars(groups, series, path, ylabel, title)`` (matplotlib): one bar per
    (group, series).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from archsim.report import raster as R

__all__ = ["energy_breakdown", "grouped_bars", "layer_latency", "scaling", "tile_heatmap"]


def _figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Let ``write`` fill a temporary file next to ``path``, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    write(tmp)
    tmp.replace(path)
    return path


def _save(fig, path: str | Path) -> Path:
    return _write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", bbox_inches="tight"))


# -- Pillow plots of a run -------------------------------------------------------------------

_BLUE = (31, 119, 180)     # the matplotlib "tab" colours the plots used before
_GREEN = (44, 160, 44)
_ORANGE = (255, 127, 14)

_ENERGY_WIDTH = 700        # px, whole image
_ENERGY_BAND = 32          # px per component class
_CLASS_NAME_WIDTH = 220    # px; longer names are cut with an ellipsis
_LAYER_NAME_WIDTH = 160
_LAYER_BAND = 22           # px per layer ...
_LAYER_PLOT_MAX = 2400     # ... until the plot is this wide; then bars get thinner
_LAYER_PLOT_HEIGHT = 300
_GRID_SIZE = 480           # px for the longer side of the tile grid, within these cell sizes:
_CELL_MAX = 160
_CELL_MIN = 4
_CELL_MIN_ANNOTATED = 36   # room for "0.00"
_COLORBAR = (16, 160)      # px: width, least height


def _finite_nonneg(fn: str, what: str, value) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{fn}: {what} must be a finite number >= 0, got {value!r}")
    return v


def _line(size: int) -> int:
    return R.text_size("0", size)[1]


def _widest(texts: Sequence[str], size: int = R.TICK_SIZE) -> int:
    return max(R.text_size(t, size)[0] for t in texts)


def _title_height() -> int:
    return R.PAD + _line(R.TITLE_SIZE) + R.PAD


def energy_breakdown(by_class_pj: Mapping[str, float], path: str | Path,
                     title: str = "energy by component class") -> Path:
    """Horizontal bars: energy of each component class in uJ, largest on top, with its share."""
    if not by_class_pj:
        raise ValueError("energy_breakdown: no energy values to plot")
    items = sorted(((str(k), _finite_nonneg("energy_breakdown", f"by_class_pj[{k!r}]", v))
                    for k, v in by_class_pj.items()), key=lambda kv: kv[1], reverse=True)
    total = sum(v for _, v in items)
    names = [R.ellipsize(k, R.TICK_SIZE, _CLASS_NAME_WIDTH) for k, _ in items]
    shares = [f"{100 * v / total if total else 0.0:.1f}%" for _, v in items]
    uj = [v / 1e6 for _, v in items]
    ticks = R.nice_ticks(0.0, max(uj))
    tick_h = _line(R.TICK_SIZE)
    margins = R.Margins(
        left=R.PAD + _widest(names) + R.TICK_GAP,
        top=_title_height() + R.PAD,
        right=R.PAD + max(4 + _widest(shares), _widest(R.tick_labels(ticks)[-1:]) // 2),
        bottom=R.TICK_GAP + tick_h + R.PAD + _line(R.LABEL_SIZE) + R.PAD)
    c = R.Canvas(max(300, _ENERGY_WIDTH - margins.left - margins.right),
                 _ENERGY_BAND * len(items), margins)
    x = R.Scale(0.0, ticks[-1], c.plot.left, c.plot.right)
    bands = R.Bands(len(items), c.plot.top, c.plot.bottom, fill=0.65)
    c.value_axis(x, ticks, "bottom")
    c.bars(bands, uj, x, _BLUE, horizontal=True)
    c.spines()
    c.category_axis(bands, names, "left")
    for i, (v, share) in enumerate(zip(uj, shares)):
        c.text(x(v) + 4, bands.centre(i), share, va="center")
    c.xlabel("energy (uJ)")
    c.title(title)
    return _write_atomic(path, c.save)


def layer_latency(layers: Sequence[Mapping], path: str | Path,
                  title: str = "per-layer latency") -> Path:
    """Stacked bars per layer: compute cycles per tile used, and the rest of the layer span.

    ``layers`` are the dicts of ``summary()["layers"]`` (keys node, cycles, compute_cycles,
    tiles).  A layer's span runs from its first compute start to its last output write.  The
    image widens with the layer count up to a cap; past it, only every n-th name is shown.
    """
    if not layers:
        raise ValueError("layer_latency: no layers to plot")
    span, comp = [], []
    for i, l in enumerate(layers):
        s = _finite_nonneg("layer_latency", f"layers[{i}]['cycles']", l["cycles"])
        cc = _finite_nonneg("layer_latency", f"layers[{i}]['compute_cycles']",
                            l["compute_cycles"])
        span.append(s)
        comp.append(min(s, cc / max(1, int(l.get("tiles") or 1))))
    rest = [s - c for s, c in zip(span, comp)]
    names = [R.ellipsize(str(l["node"]), R.TICK_SIZE, _LAYER_NAME_WIDTH) for l in layers]
    legend = [("compute (per tile used)", _GREEN), ("waiting / memory / write-back", _ORANGE)]
    ticks = R.nice_ticks(0.0, max(span))
    n = len(layers)
    plot_w = min(_LAYER_PLOT_MAX, max(360, R.legend_width(legend), _LAYER_BAND * n))
    stride = R.label_stride(plot_w / n, _line(R.TICK_SIZE))
    margins = R.Margins(
        left=R.PAD + _line(R.LABEL_SIZE) + R.PAD + _widest(R.tick_labels(ticks)) + R.TICK_GAP,
        top=_title_height() + _line(R.TICK_SIZE) + R.PAD,
        right=2 * R.PAD,
        bottom=R.TICK_GAP + _widest(names[::stride]) + R.PAD)
    c = R.Canvas(plot_w, _LAYER_PLOT_HEIGHT, margins)
    y = R.Scale(0.0, ticks[-1], c.plot.bottom, c.plot.top)
    bands = R.Bands(n, c.plot.left, c.plot.right, fill=0.75, max_thickness=48)
    c.value_axis(y, ticks, "left")
    c.bars(bands, comp, y, _GREEN)
    c.bars(bands, rest, y, _ORANGE, base=comp)
    c.spines()
    c.category_axis(bands, names, "bottom", rotate=True, stride=stride)
    c.ylabel("cycles")
    c.title(title)
    c.legend(legend, c.plot.right - R.legend_width(legend), _title_height())
    return _write_atomic(path, c.save)


def tile_heatmap(util: Sequence[float], rows: int, cols: int, path: str | Path,
                 title: str = "tile utilisation",
                 label: str = "executed MACs x cycles/MAC / (PEs x latency)") -> Path:
    """Heat map of a per-tile fraction; tile t at (t // cols, t % cols); ``label`` (the
    colour bar's) names the metric drawn -- by default the per-tile ``utilization`` of
    docs/metrics.md, whose mean over tiles is the run's headline utilisation.

    Cells are square and annotated with their value when the grid has at most 64 tiles;
    values above 1 are coloured as 1.
    """
    if len(util) != rows * cols:
        raise ValueError(f"tile_heatmap: {len(util)} values for a {rows}x{cols} grid")
    if rows < 1 or cols < 1:
        raise ValueError(f"tile_heatmap: rows and cols must be >= 1, got {rows}x{cols}")
    values = [_finite_nonneg("tile_heatmap", f"util[{i}]", u) for i, u in enumerate(util)]
    grid = [values[r * cols:(r + 1) * cols] for r in range(rows)]
    annotate = rows * cols <= 64
    cell = min(_CELL_MAX, max(_CELL_MIN_ANNOTATED if annotate else _CELL_MIN,
                              _GRID_SIZE // max(rows, cols)))
    bar_w, bar_h = _COLORBAR[0], max(rows * cell, _COLORBAR[1])
    cb_ticks = R.nice_ticks(0.0, 1.0, max_ticks=max(2, bar_h // 40))
    row_labels = [str(r) for r in range(rows)]
    col_labels = [str(c) for c in range(cols)]
    tick_h = _line(R.TICK_SIZE)
    margins = R.Margins(
        left=R.PAD + _line(R.LABEL_SIZE) + R.PAD + _widest(row_labels) + R.TICK_GAP,
        top=_title_height() + R.PAD,
        right=(2 * R.PAD + bar_w + R.TICK_GAP + _widest(R.tick_labels(cb_ticks)) + R.PAD
               + _line(R.LABEL_SIZE) + R.PAD),
        bottom=max(R.TICK_GAP + tick_h + R.PAD + _line(R.LABEL_SIZE) + R.PAD,
                   bar_h - rows * cell + tick_h // 2 + R.PAD))
    c = R.Canvas(cols * cell, rows * cell, margins)
    c.heatmap(grid, R.viridis, (lambda v: f"{v:.2f}") if annotate else None,
              size=min(16, max(10, cell // 5)))
    c.category_axis(R.Bands(rows, c.plot.top, c.plot.bottom), row_labels, "left",
                    stride=R.label_stride(cell, tick_h))
    c.category_axis(R.Bands(cols, c.plot.left, c.plot.right), col_labels, "bottom",
                    stride=R.label_stride(cell, _widest(col_labels)))
    left = c.plot.right + 2 * R.PAD
    c.colorbar(R.Box(left, c.plot.top, left + bar_w, c.plot.top + bar_h), R.viridis, cb_ticks,
               label)
    c.xlabel("column")
    c.ylabel("row")
    c.title(title)
    return _write_atomic(path, c.save)



def scaling(tiles: Sequence[int], speedup: Sequence[float], path: str | Path,
            title: str = "speed-up vs tiles", label: str = "simulated") -> Path:
    """Log-log speed-up (latency at the fewest tiles / latency) vs tiles, with the ideal line."""
    if not tiles or len(tiles) != len(speedup):
        raise ValueError("scaling: need equally long, non-empty tiles and speedup")
    t0 = min(tiles)
    fig = _figure(6.0, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(tiles, [t / t0 for t in tiles], "--", color="grey", label="ideal (linear)")
    ax.plot(tiles, speedup, "o-", color="tab:blue", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("tiles")
    ax.set_ylabel(f"speed-up vs {t0} tile(s)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def grouped_bars(groups: Sequence[str], series: Mapping[str, Sequence[float]],
                 path: str | Path, ylabel: str, title: str = "", log: bool = False) -> Path:
    """One bar cluster per group, one bar per series (missing values as NaN are left out)."""
    if not groups or not series:
        raise ValueError("grouped_bars: nothing to plot")
    n = len(series)
    width = 0.8 / n
    fig = _figure(max(6.0, 0.5 * len(groups) * max(1, n) / 2 + 2.0), 4.5)
    ax = fig.add_subplot(1, 1, 1)
    for i, (name, vals) in enumerate(series.items()):
        if len(vals) != len(groups):
            raise ValueError(f"grouped_bars: series {name!r} has {len(vals)} values for "
                             f"{len(groups)} groups")
        ax.bar([g + (i - (n - 1) / 2) * width for g in range(len(groups))], vals, width,
               label=name)
    ax.set_xticks(list(range(len(groups))), list(groups), rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)
