"""PNG plots of runs and sweeps (matplotlib, Agg canvas; never opens a window).

In:  plain data -- dicts and lists as found in ``summary.json`` or a sweep CSV -- and a path.
Out: the written PNG path.  Every function draws on its own ``Figure`` with an Agg canvas
     (no ``pyplot`` global state, safe in worker processes and without a display).

Functions:
  - ``energy_breakdown(by_class_pj, path, title)``: bars of energy per component class (uJ).
  - ``layer_latency(layers, path, title)``: per-layer cycles, split into compute and the rest.
  - ``tile_heatmap(util, rows, cols, path, title)``: per-tile utilisation over the grid.
  - ``scaling(tiles, speedup, path, title)``: speed-up vs tiles with the ideal (linear) line.
  - ``grouped_bars(groups, series, path, ylabel, title)``: one bar per (group, series).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["energy_breakdown", "grouped_bars", "layer_latency", "scaling", "tile_heatmap"]


def _figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, format="png", bbox_inches="tight")
    tmp.replace(path)
    return path


def energy_breakdown(by_class_pj: Mapping[str, float], path: str | Path,
                     title: str = "energy by component class") -> Path:
    """Horizontal bars: energy of each component class in uJ, largest on top."""
    if not by_class_pj:
        raise ValueError("energy_breakdown: no energy values to plot")
    items = sorted(by_class_pj.items(), key=lambda kv: kv[1])
    total = sum(v for _, v in items) or 1.0
    fig = _figure(7.0, 0.45 * len(items) + 1.5)
    ax = fig.add_subplot(1, 1, 1)
    ys = range(len(items))
    ax.barh(ys, [v / 1e6 for _, v in items], color="tab:blue")
    ax.set_yticks(list(ys), [k for k, _ in items])
    for y, (_, v) in zip(ys, items):
        ax.text(v / 1e6, y, f" {100 * v / total:.1f}%", va="center", fontsize=8)
    ax.set_xlabel("energy (uJ)")
    ax.set_title(title)
    ax.margins(x=0.15)
    return _save(fig, path)


def layer_latency(layers: Sequence[Mapping], path: str | Path,
                  title: str = "per-layer latency") -> Path:
    """Stacked bars per layer: compute cycles per tile used, and the rest of the layer span.

    ``layers`` are the dicts of ``summary()["layers"]`` (keys node, cycles, compute_cycles,
    tiles).  A layer's span runs from its first compute start to its last output write.
    """
    if not layers:
        raise ValueError("layer_latency: no layers to plot")
    names = [str(l["node"]) for l in layers]
    span = [float(l["cycles"]) for l in layers]
    comp = [min(s, float(l["compute_cycles"]) / max(1, int(l.get("tiles") or 1)))
            for l, s in zip(layers, span)]
    rest = [s - c for s, c in zip(span, comp)]
    fig = _figure(max(6.0, 0.28 * len(names) + 2.0), 4.0)
    ax = fig.add_subplot(1, 1, 1)
    xs = range(len(names))
    ax.bar(xs, comp, color="tab:green", label="compute (per tile used)")
    ax.bar(xs, rest, bottom=comp, color="tab:orange", label="waiting / memory / write-back")
    ax.set_xticks(list(xs), names, rotation=90, fontsize=7)
    ax.set_ylabel("cycles")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def tile_heatmap(util: Sequence[float], rows: int, cols: int, path: str | Path,
                 title: str = "tile utilisation") -> Path:
    """Heat map of per-tile utilisation (busy cycles / latency); tile t at (t // cols, t % cols)."""
    if len(util) != rows * cols:
        raise ValueError(f"tile_heatmap: {len(util)} values for a {rows}x{cols} grid")
    import numpy as np

    grid = np.asarray(util, dtype=float).reshape(rows, cols)
    fig = _figure(min(10.0, 1.0 + 0.6 * cols + 1.5), min(10.0, 1.0 + 0.6 * rows))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", origin="upper")
    if rows * cols <= 64:
        for r in range(rows):
            for c in range(cols):
                ax.text(c, r, f"{grid[r, c]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if grid[r, c] < 0.6 else "black")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="busy cycles / latency")
    return _save(fig, path)


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
