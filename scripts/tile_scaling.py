"""Tile scaling: one model from 1 to N tiles -- latency, energy, utilisation, speed-up.

    python scripts/tile_scaling.py                        # ResNet-34, 90% sparse, 1..256 tiles
    python scripts/tile_scaling.py --model vgg11 --max-tiles 64 --arch mac_1x1
    python scripts/tile_scaling.py --quick --model layers.csv   # seconds: 1..4 tiles
    python scripts/tile_scaling.py --arch lutna_16x16 --batch 8 --transposed
    python scripts/tile_scaling.py --arch lutna_16x16 --legacy  # the model without the
        # mechanisms (multicast, streaming, prefetch, spread attach points, own gbuf ports)

Grids double the tile count: 1x1, 1x2, 2x2, 2x4, ... (rows <= cols).  Runs on the sweep API
(``archsim.sweep.run``), so results are resumable: re-running the same command skips finished
points.  Writes to --out (default reports/tile_scaling/<model>): ``sweep/`` (the sweep folder
with per-point run folders), ``tile_scaling.csv`` and ``.md`` (tiles, grid, latency, speed-up
vs 1 tile, ideal speed-up, parallel efficiency, utilisation, energy), ``speedup.png`` (with
the ideal line) and ``latency.png``.  Every row carries the binding analytic bound
(``archsim.mapping.bounds``: compute, DRAM, global buffer, edge links, mesh bisection, tile
port, dependency chain) and latency / bound; ``--transposed`` adds cols x rows for every
non-square grid and prints the shape ratio.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from archsim.report import plots
from archsim.sweep.run import run_sweep, spec_from_args


def grids_up_to(max_tiles: int) -> list[str]:
    """1x1, 1x2, 2x2, 2x4, ... up to max_tiles tiles (powers of two)."""
    out, r, c = [], 1, 1
    while r * c <= max_tiles:
        out.append(f"{r}x{c}")
        if r == c:
            c *= 2
        else:
            r *= 2
    return out


# the mechanisms switched off: the model before multicast, streaming, prefetch and edge placement
LEGACY = ("interconnect.multicast=false", "tile.fetch.streaming=false",
          "tile.fetch.weight_prefetch=false", "gbuf.attach=dram_channels",
          "interconnect.memory_edges=[west]")


def _canonical(grid: str) -> str:
    r, c = (int(v) for v in grid.split("x"))
    return grid if r <= c else f"{c}x{r}"


def _f(v: str) -> float | None:
    return float(v) if v not in ("", None) else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet34", help="zoo name, workload folder or topology CSV")
    ap.add_argument("--sparsity", type=float, default=None,
                    help="weight sparsity of zoo models (default 0.9; an error for files)")
    ap.add_argument("--arch", default="lutna_1x1", help="base design point (its grid is swept)")
    ap.add_argument("--max-tiles", type=int, default=256)
    ap.add_argument("--dataflow", default="ws", choices=("os", "ws", "is"))
    ap.add_argument("--mapping", default="layer")
    ap.add_argument("--out", default=None, help="output folder")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    ap.add_argument("--quick", action="store_true", help="1..4 tiles, no per-point folders")
    ap.add_argument("--batch", type=int, default=None, help="inferences per run")
    ap.add_argument("--transposed", action="store_true", help="also run cols x rows grids")
    ap.add_argument("--legacy", action="store_true",
                    help="switch the mechanisms off (" + ", ".join(LEGACY) + ")")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="extra design-point override (repeatable)")
    args = ap.parse_args(argv)
    max_tiles = min(args.max_tiles, 4) if args.quick else args.max_tiles
    grids = grids_up_to(max_tiles)
    if args.transposed:
        grids += [f"{g.split('x')[1]}x{g.split('x')[0]}" for g in grids
                  if g.split("x")[0] != g.split("x")[1]]
    sets = list(args.set) + (list(LEGACY) if args.legacy else [])
    if args.batch:
        sets.append(f"batch={args.batch}")
    out = Path(args.out or Path("reports") / "tile_scaling" / Path(args.model).stem)
    from archsim.sweep.spec import workload_kind

    if args.sparsity is None and workload_kind(args.model) == "zoo":
        args.sparsity = 0.9
    spec = spec_from_args(None, args.arch, [args.model],
                          None if args.sparsity is None else str(args.sparsity), None,
                          [f"grid={','.join(grids)}", f"dataflow={args.dataflow}",
                           f"mapping={args.mapping}", *sets],
                          name=f"tile_scaling_{Path(args.model).stem}")
    res = run_sweep(spec, out / "sweep", jobs=args.jobs, point_dirs=not args.quick,
                    progress=True)
    rows = [r for r in csv.DictReader(res.csv_path.read_text().splitlines())
            if r["status"] == "ok"]
    if not rows:
        print(f"no point succeeded; see {res.csv_path}", file=sys.stderr)
        return 1
    rows.sort(key=lambda r: (int(r["tiles"]), r["grid"] != _canonical(r["grid"])))
    by_grid = {r["grid"]: float(r["latency_cycles"]) for r in rows}
    rows = [r for r in rows if r["grid"] == _canonical(r["grid"])]
    t1, lat1 = int(rows[0]["tiles"]), float(rows[0]["latency_cycles"])
    table = []
    for r in rows:
        tiles, lat = int(r["tiles"]), float(r["latency_cycles"])
        speedup = lat1 / lat
        e = _f(r["energy_pj"])
        table.append({"tiles": tiles, "grid": r["grid"], "latency_cycles": lat,
                      "latency_us": float(r["latency_us"]), "speedup": round(speedup, 4),
                      "ideal_speedup": tiles / t1,
                      "parallel_efficiency": round(speedup * t1 / tiles, 4),
                      "utilization": round(float(r["utilization"]), 5),
                      "energy_uj": round(e / 1e6, 4) if e is not None else "",
                      "binding_bound": r["binding_bound"],
                      "bound_cycles": round(float(r["binding_bound_cycles"])),
                      "latency_over_bound": round(lat / float(r["binding_bound_cycles"]), 3),
                      "top_stall_cause": r["top_stall_cause"]})
        tr = "x".join(reversed(r["grid"].split("x")))
        if args.transposed and tr != r["grid"] and tr in by_grid:
            table[-1]["transposed_ratio"] = round(by_grid[tr] / lat, 4)
    cols = list(table[0]) + (["transposed_ratio"] if args.transposed else [])
    for t in table:
        t.setdefault("transposed_ratio", "")
        if not args.transposed:
            t.pop("transposed_ratio")
    with (out / "tile_scaling.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, cols, lineterminator="\n")
        w.writeheader()
        w.writerows(table)
    md = [(f"# Tile scaling: {args.model} (sparsity {args.sparsity}) on {args.arch}, "
          f"{args.dataflow}, {args.mapping}" + (f", {' '.join(sets)}" if sets else "")), "",
          "| " + " | ".join(cols) + " |",
          "|" + "---|" * len(cols)]
    md += ["| " + " | ".join(str(t[c]) for c in cols) + " |" for t in table]
    (out / "tile_scaling.md").write_text("\n".join(md) + "\n")
    tiles = [t["tiles"] for t in table]
    plots.scaling(tiles, [t["speedup"] for t in table], out / "speedup.png",
                  f"{args.model}: speed-up vs tiles ({args.dataflow}, {args.mapping})")
    plots.grouped_bars([t["grid"] for t in table],
                       {"latency (cycles)": [t["latency_cycles"] for t in table]},
                       out / "latency.png", "cycles", f"{args.model}: latency vs grid", log=True)
    print("\n".join(md[2:]))
    print(f"\n{len(table)} grids ({res.ran} simulated now, {res.skipped} reused, "
          f"{res.failed} failed); written to {out}")
    return 0 if not res.failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
