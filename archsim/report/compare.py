"""``archsim compare``: a side-by-side table of several run folders.

In:  run folders written by :func:`archsim.report.run_folder.write_run` (``summary.json`` and
     ``config.resolved.yaml`` are read; nothing is re-simulated).
Out: :class:`CompareTable` (``compare_runs``): one row per metric with its unit, one column
     per run, the first run being the reference for the ``speed-up`` and ``energy ratio``
     rows; ``format_text`` (what the command prints: at most 120 columns, runs numbered and
     listed below, citations left to the files), ``to_markdown``, ``to_csv``, and
     ``write_compare(table, out)`` writing ``<out>.md`` and ``<out>.csv``.
Folders that are not complete run folders (no ``RUN_COMPLETE`` marker, a ``summary.json``
that is not a run summary) raise :class:`~archsim.errors.RunFolderError` naming them.
"""

from __future__ import annotations

import argparse
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archsim.errors import RunFolderError, UsageError, short

__all__ = ["CompareTable", "compare_runs", "register_compare", "write_compare"]


TERMINAL_WIDTH = 120  # columns of the table ``archsim compare`` prints
MAX_CELL = 24  # characters of one value in the terminal table (longer ones are cut with ~)
FILE_ONLY_ROWS = ("energy source",)  # citations: written to the files, not the terminal


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

    def format_text(self, width: int = TERMINAL_WIDTH) -> str:
        """The table for a terminal, at most ``width`` columns wide: rows whose values are
        long citations (``FILE_ONLY_ROWS``) stay in the files; runs are numbered ``[1]``,
        ``[2]``, ... with their folders listed below; runs that do not fit side by side go
        into further blocks."""
        rows = [(m, u, [_cell(v) for v in vals]) for m, u, vals in self.rows
                if m not in FILE_ONLY_ROWS]
        labels = [f"[{i + 1}]" for i in range(len(self.runs))]
        lw = max(len("metric"), *(len(m) for m, _, _ in rows))
        uw = max(len("unit"), *(len(u) for _, u, _ in rows))
        col_w = [min(MAX_CELL, max(len(labels[j]), *(len(v[j]) for _, _, v in rows)))
                 for j in range(len(self.runs))]
        blocks: list[list[int]] = [[]]
        used = lw + 2 + uw
        for j, w in enumerate(col_w):
            if blocks[-1] and used + 2 + w > width:
                blocks.append([])
                used = lw + 2 + uw
            blocks[-1].append(j)
            used += 2 + w
        out: list[str] = []
        for b in blocks:
            if out:
                out.append("")
            head = ["metric".ljust(lw), "unit".ljust(uw)] + [labels[j].rjust(col_w[j]) for j in b]
            out.append("  ".join(head))
            out.append("  ".join("-" * len(h) for h in head))
            for m, u, vals in rows:
                out.append("  ".join([m.ljust(lw), u.ljust(uw)]
                                     + [_fit(vals[j], col_w[j]).rjust(col_w[j]) for j in b]))
        out.append("")
        for j, run in enumerate(self.runs):
            out.append(_fit(f"{labels[j]} {run}{' (reference)' if j == 0 else ''}", width))
        hidden = [m for m, _, _ in self.rows if m in FILE_ONLY_ROWS]
        if hidden:
            out.append(_fit(f"({', '.join(hidden)}: in the .md and .csv files)", width))
        return "\n".join(line.rstrip() for line in out)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"


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


_SUMMARY_KEYS = ("workload", "arch", "pe_kind", "tiles", "pes_per_tile", "dataflow", "mapping",
                 "latency_cycles", "latency_us", "utilization", "macs_dense", "macs_executed",
                 "stall_cycles")


def _load(run: Path) -> tuple[dict, dict]:
    """A complete run folder's summary and resolved configuration; anything else raises
    :class:`~archsim.errors.RunFolderError` naming the folder or file."""
    from archsim.report.outputs import COMPLETE_MARKER
    from archsim.safeio import load_json, load_yaml

    if not run.is_dir():
        raise RunFolderError(f"{run}: no such run folder")
    sj = run / "summary.json"
    if not sj.is_file():
        raise RunFolderError(f"{run}: not a run folder (no summary.json)")
    if not (run / COMPLETE_MARKER).is_file():
        raise RunFolderError(f"{run}: incomplete run folder (no {COMPLETE_MARKER} marker: the "
                             "run was interrupted while writing, or an older archsim wrote it); "
                             "run it again")
    s = load_json(sj, "run summary", RunFolderError)
    if not isinstance(s, dict):
        raise RunFolderError(f"{sj}: expected a run summary (a JSON object), got "
                             f"{type(s).__name__}")
    missing = [k for k in _SUMMARY_KEYS if k not in s]
    if missing:
        raise RunFolderError(f"{sj}: not a run summary (missing {', '.join(missing[:5])})")
    numbers = ("tiles", "pes_per_tile", "latency_cycles", "latency_us", "utilization",
               "macs_dense", "macs_executed")
    for k in numbers:
        if isinstance(s[k], bool) or not isinstance(s[k], (int, float)):
            raise RunFolderError(f"{sj}: field {k!r} must be a number, got {short(s[k])}")
    if not isinstance(s["stall_cycles"], dict):
        raise RunFolderError(f"{sj}: field 'stall_cycles' must be an object")
    cfg_path = run / "config.resolved.yaml"
    cfg = load_yaml(cfg_path, "resolved configuration", RunFolderError) \
        if cfg_path.is_file() else {}
    if not isinstance(cfg, dict) or not isinstance(cfg.get("run", {}), dict):
        raise RunFolderError(f"{cfg_path}: expected a mapping with a 'run' section")
    return s, cfg or {}


def _names(runs: list[Path]) -> tuple[str, ...]:
    names = [r.resolve().name for r in runs]
    if len(set(names)) == len(names):
        return tuple(names)
    return tuple(str(r) for r in runs)


def compare_runs(run_dirs: list[str | Path]) -> CompareTable:
    """Read the run folders and build the side-by-side table (first run = reference)."""
    if not run_dirs:
        raise UsageError("compare: give at least one run folder")
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
        row("workload", "name", lambda s, ra: s["workload"]),
        row("sparsity", "fraction", lambda s, ra: ra.get("sparsity")),
        row("design point", "name", lambda s, ra: s["arch"]),
        row("PE kind", "name", lambda s, ra: s["pe_kind"]),
        row("tiles", "tiles", lambda s, ra: s["tiles"]),
        row("PEs per tile", "PEs", lambda s, ra: s["pes_per_tile"]),
        row("dataflow", "name", lambda s, ra: s["dataflow"]),
        row("mapping", "name", lambda s, ra: s["mapping"]),
        row("sparsity mode", "name", lambda s, ra: s["sparsity_mode"]),
        row("zero gating", "flag", lambda s, ra: s["zero_gating"]),
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
            row("energy source", "citation", lambda s, ra: energy(s, "source")),
        ]
    if any(s.get("area") for s in S):
        rows.append(row("area", "mm^2", lambda s, ra: s["area"]["total_um2"] / 1e6))
    if any(s.get("functional") for s in S):
        rows.append(row("functional exact match", "yes/no",
                        lambda s, ra: s["functional"]["exact_match"]))
    return CompareTable(_names(runs), tuple(rows))


def compare_paths(out: str | Path) -> tuple[Path, Path]:
    """``<out>.md`` and ``<out>.csv`` (a given .md/.csv suffix is dropped first), checked to be
    writable (:func:`archsim.report.outputs.check_output_file`)."""
    from archsim.report.outputs import check_output_file

    out = Path(out)
    if out.suffix.lower() in (".md", ".csv"):
        out = out.with_suffix("")
    md, cs = out.with_name(out.name + ".md"), out.with_name(out.name + ".csv")
    return check_output_file(md, "comparison"), check_output_file(cs, "comparison")


def write_compare(table: CompareTable, out: str | Path) -> tuple[Path, Path]:
    """Write ``<out>.md`` and ``<out>.csv`` (a given .md/.csv suffix is dropped first)."""
    from archsim.report.outputs import atomic_write_text

    md, cs = compare_paths(out)
    atomic_write_text(md, "# Run comparison\n\nFirst column is the reference for ratios.\n\n"
                      + table.to_markdown())
    atomic_write_text(cs, table.to_csv())
    return md, cs


def _cmd_compare(args: argparse.Namespace) -> int:
    compare_paths(args.out)  # before reading anything
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
