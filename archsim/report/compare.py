"""``archsim compare``: a side-by-side table of several run folders.

In:  run folders written by :func:`archsim.report.run_folder.write_run` (``summary.json`` and
     ``config.resolved.yaml`` are read; nothing is re-simulated).
Out: :class:`CompareTable` (``compare_runs``): one row per metric, one column per run, the
     first run being the reference for the ``speed-up`` and ``energy ratio`` rows;
     ``format_text`` (what the command prints), ``to_markdown``, ``to_csv``, and
     ``write_compare(table, out)`` writing ``<out>.md`` and ``<out>.csv``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CompareTable", "compare_runs", "register_compare", "write_compare"]


@dataclass(frozen=True)
class CompareTable:
    runs: tuple[str, ...]  # column names (run folder names, made unique)
    rows: tuple[tuple[str, str, tuple[Any, ...]], ...]  # (metric, unit, one value per run)

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["metric", "unit", *self.runs])
        for metric, unit, vals in self.rows:
            w.writerow([metric, unit, *("" if v is None else v for v in vals)])
        return buf.getvalue()

    def to_markdown(self) -> str:
        lines = ["| metric | unit | " + " | ".join(self.runs) + " |",
                 "|---|---|" + "---|" * len(self.runs)]
        for metric, unit, vals in self.rows:
            lines.append(f"| {metric} | {unit} | " + " | ".join(_cell(v) for v in vals) + " |")
        return "\n".join(lines) + "\n"

    def format_text(self) -> str:
        cells = [["metric", "unit", *self.runs]] + [
            [m, u, *(_cell(v) for v in vals)] for m, u, vals in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
        out = []
        for k, r in enumerate(cells):
            out.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(r, widths))))
            if k == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def _load(run: Path) -> tuple[dict, dict]:
    sj = run / "summary.json"
    if not sj.is_file():
        raise FileNotFoundError(f"{run}: not a run folder (no summary.json)")
    try:
        s = json.loads(sj.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{sj}: not valid JSON: {exc}") from None
    cfg_path = run / "config.resolved.yaml"
    cfg = yaml.safe_load(cfg_path.read_text()) if cfg_path.is_file() else {}
    return s, cfg or {}


def _names(runs: list[Path]) -> tuple[str, ...]:
    names = [r.resolve().name for r in runs]
    if len(set(names)) == len(names):
        return tuple(names)
    return tuple(str(r) for r in runs)


def compare_runs(run_dirs: list[str | Path]) -> CompareTable:
    """Read the run folders and build the side-by-side table (first run = reference)."""
    if not run_dirs:
        raise ValueError("compare: give at least one run folder")
    runs = [Path(r) for r in run_dirs]
    data = [_load(r) for r in runs]
    S = [d[0] for d in data]
    run_args = [d[1].get("run", {}) for d in data]

    def row(metric, unit, fn):
        vals = []
        for s, ra in zip(S, run_args):
            try:
                vals.append(fn(s, ra))
            except (KeyError, TypeError, ZeroDivisionError):
                vals.append(None)
        return (metric, unit, tuple(vals))

    def energy(s, key):
        e = s.get("energy")
        return None if not e else e.get(key)

    ref_lat = S[0]["latency_cycles"]
    ref_e = energy(S[0], "total_pj")
    rows = [
        row("workload", "", lambda s, ra: s["workload"]),
        row("sparsity", "", lambda s, ra: ra.get("sparsity")),
        row("design point", "", lambda s, ra: s["arch"]),
        row("PE kind", "", lambda s, ra: s["pe_kind"]),
        row("tiles", "", lambda s, ra: s["tiles"]),
        row("PEs per tile", "", lambda s, ra: s["pes_per_tile"]),
        row("dataflow", "", lambda s, ra: s["dataflow"]),
        row("mapping", "", lambda s, ra: s["mapping"]),
        row("latency", "cycles", lambda s, ra: s["latency_cycles"]),
        row("latency", "us", lambda s, ra: s["latency_us"]),
        row("speed-up vs first", "x", lambda s, ra: ref_lat / s["latency_cycles"]),
        row("utilization", "fraction", lambda s, ra: s["utilization"]),
        row("MACs dense", "MACs", lambda s, ra: s["macs_dense"]),
        row("MACs executed", "MACs", lambda s, ra: s["macs_executed"]),
        row("compute bound", "cycles", lambda s, ra: s["compute_bound_cycles"]),
        row("DRAM bound", "cycles", lambda s, ra: s["dram_bound_cycles"]),
        row("events", "events", lambda s, ra: s["events"]),
        row("stalls total", "tile-cycles", lambda s, ra: sum(s["stall_cycles"].values())),
    ]
    causes = sorted({c for s in S for c in s.get("stall_cycles", {})})
    rows += [row(f"stall {c}", "tile-cycles",
                 lambda s, ra, c=c: s["stall_cycles"].get(c, 0.0)) for c in causes]
    if any(s.get("energy") for s in S):
        rows += [
            row("energy total", "uJ", lambda s, ra: energy(s, "total_pj") / 1e6),
            row("energy dynamic", "uJ", lambda s, ra: energy(s, "dynamic_pj") / 1e6),
            row("energy leakage", "uJ", lambda s, ra: energy(s, "leakage_pj") / 1e6),
            row("energy vs first", "x", lambda s, ra: energy(s, "total_pj") / ref_e),
            row("energy source", "", lambda s, ra: energy(s, "source")),
        ]
    if any(s.get("area") for s in S):
        rows.append(row("area", "mm^2", lambda s, ra: s["area"]["total_um2"] / 1e6))
    if any(s.get("functional") for s in S):
        rows.append(row("functional exact match", "",
                        lambda s, ra: s["functional"]["exact_match"]))
    return CompareTable(_names(runs), tuple(rows))


def write_compare(table: CompareTable, out: str | Path) -> tuple[Path, Path]:
    """Write ``<out>.md`` and ``<out>.csv`` (a given .md/.csv suffix is dropped first)."""
    out = Path(out)
    if out.suffix.lower() in (".md", ".csv"):
        out = out.with_suffix("")
    out.parent.mkdir(parents=True, exist_ok=True)
    md, cs = out.with_name(out.name + ".md"), out.with_name(out.name + ".csv")
    md.write_text("# Run comparison\n\nFirst column is the reference for ratios.\n\n"
                  + table.to_markdown())
    cs.write_text(table.to_csv())
    return md, cs


def _cmd_compare(args: argparse.Namespace) -> int:
    table = compare_runs(args.runs)
    md, cs = write_compare(table, args.out)
    print(table.format_text())
    print(f"\nwritten: {md} {cs}")
    return 0


def register_compare(subparsers, name: str) -> None:
    p = subparsers.add_parser(name, help="side-by-side table of several run folders",
                              description="Side-by-side table of run folders (summary.json).")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders (first = reference)")
    p.add_argument("--out", default="reports/compare",
                   help="output stem: writes <out>.md and <out>.csv (default reports/compare)")
    p.set_defaults(func=_cmd_compare)
