"""Dataflows x mapping strategies x PE kinds on one model and array: table and plot.

    python scripts/compare_dataflows.py                    # ResNet-18, 90% sparse, lutna_4x4
    python scripts/compare_dataflows.py --model vgg11 --arch lutna_2x2 --pe-kinds mac,lutna
    python scripts/compare_dataflows.py --quick --model layers.csv   # seconds

Runs on the sweep API (resumable).  Writes to --out (default
reports/compare_dataflows/<model>_<arch>): ``sweep/`` (sweep folder), ``compare.csv`` and
``compare.md`` (one row per dataflow x mapping, one latency / utilisation / energy column per
PE kind, the best latency marked), ``latency.png`` (grouped bars) and, when the energy model
is present, ``energy.png``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

from archsim.report import plots
from archsim.sweep.run import run_sweep, spec_from_args

MAPPINGS = "layer,layer:out_channels,layer:out_pixels,pipeline"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet18", help="zoo name, workload folder or topology CSV")
    ap.add_argument("--sparsity", type=float, default=None,
                    help="weight sparsity of zoo models (default 0.9; an error for files)")
    ap.add_argument("--arch", default="lutna_4x4", help="design point (PE kind is swept)")
    ap.add_argument("--dataflows", default="os,ws,is")
    ap.add_argument("--mappings", default=MAPPINGS)
    ap.add_argument("--pe-kinds", default="mac,lut,lutna,alutna")
    ap.add_argument("--out", default=None, help="output folder")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    ap.add_argument("--quick", action="store_true",
                    help="os,ws x layer,pipeline x mac,lutna; no per-point folders")
    args = ap.parse_args(argv)
    if args.quick:
        args.dataflows, args.mappings, args.pe_kinds = "os,ws", "layer,pipeline", "mac,lutna"
    out = Path(args.out or Path("reports") / "compare_dataflows"
               / f"{Path(args.model).stem}_{Path(args.arch).stem}")
    from archsim.sweep.spec import workload_kind

    if args.sparsity is None and workload_kind(args.model) == "zoo":
        args.sparsity = 0.9
    spec = spec_from_args(None, args.arch, [args.model],
                          None if args.sparsity is None else str(args.sparsity), None,
                          [f"dataflow={args.dataflows}", f"mapping={args.mappings}",
                           f"tile.pe_array.pe_kind={args.pe_kinds}"],
                          name=f"compare_dataflows_{Path(args.model).stem}")
    res = run_sweep(spec, out / "sweep", jobs=args.jobs, point_dirs=not args.quick,
                    progress=True)
    rows = list(csv.DictReader(res.csv_path.read_text().splitlines()))
    kinds = args.pe_kinds.split(",")
    groups: list[tuple[str, str]] = []
    cell: dict[tuple[str, str, str], dict] = {}
    for r in rows:
        g = (r["dataflow"], r["mapping"])
        if g not in groups:
            groups.append(g)
        cell[(*g, r["tile.pe_array.pe_kind"])] = r
    has_energy = any(r["energy_pj"] for r in rows)
    ok = [float(r["latency_cycles"]) for r in rows if r["status"] == "ok"]
    if not ok:
        print(f"no point succeeded; see {res.csv_path}", file=sys.stderr)
        return 1
    best = min(ok)
    header = ["dataflow", "mapping"]
    for k in kinds:
        header += [f"{k} latency_cycles", f"{k} utilization"] + (
            [f"{k} energy_uj"] if has_energy else [])
    table = []
    for df, mp in groups:
        line = [df, mp]
        for k in kinds:
            r = cell.get((df, mp, k))
            if r is None or r["status"] != "ok":
                line += ["failed" if r else ""] + [""] * (2 if has_energy else 1)
                continue
            lat = float(r["latency_cycles"])
            line += [f"{lat:.0f}{' *' if lat == best else ''}", f"{float(r['utilization']):.4f}"]
            if has_energy:
                line.append(f"{float(r['energy_pj']) / 1e6:.4f}" if r["energy_pj"] else "")
        table.append(line)
    with (out / "compare.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(table)
    md = [(f"# {args.model} (sparsity {args.sparsity}) on {args.arch}: dataflow x mapping x "
          f"PE kind"), "", "`*` = lowest latency.", "", "| " + " | ".join(header) + " |",
          "|" + "---|" * len(header)]
    md += ["| " + " | ".join(line) + " |" for line in table]
    (out / "compare.md").write_text("\n".join(md) + "\n")

    def series(col: str, scale: float = 1.0) -> dict[str, list[float]]:
        return {k: [float(cell[(*g, k)][col]) / scale
                    if (*g, k) in cell and cell[(*g, k)][col] else math.nan for g in groups]
                for k in kinds}

    labels = [f"{df}/{mp.replace(':auto', '')}" for df, mp in groups]
    plots.grouped_bars(labels, series("latency_cycles"), out / "latency.png", "cycles",
                       f"{args.model} on {args.arch}: latency", log=True)
    if has_energy:
        plots.grouped_bars(labels, series("energy_pj", 1e6), out / "energy.png", "uJ",
                           f"{args.model} on {args.arch}: energy")
    print("\n".join(md[4:]))
    print(f"\n{len(rows)} points ({res.ran} simulated now, {res.skipped} reused, "
          f"{res.failed} failed); written to {out}")
    return 0 if not res.failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
