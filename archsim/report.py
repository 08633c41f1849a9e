"""Run folders: what a simulation writes to disk, and the text table it prints.

In:  a :class:`~archsim.sim.SimResult` and a folder.
Out: ``config.resolved.yaml`` (every parameter + versions, seed, git revision),
     ``summary.json`` (``SimResult.summary()``), ``layers.csv`` (one row per layer) and
     ``tiles.csv``; ``format_summary`` gives the table ``archsim run`` prints.
"""

from __future__ import annotations

import csv
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

import yaml

__all__ = ["write_run", "format_summary", "provenance"]


def _git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance() -> dict[str, Any]:
    import networkx
    import numpy
    import simpy

    import archsim

    return {
        "archsim": archsim.__version__, "git_revision": _git_revision(),
        "python": platform.python_version(), "simpy": simpy.__version__,
        "numpy": numpy.__version__, "networkx": networkx.__version__,
    }


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def write_run(res, out: str | Path, workload_args: dict[str, Any] | None = None) -> Path:
    """Write the run folder (see module doc); returns its path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    resolved = {
        "arch": res.arch.resolved(),
        "run": {"workload": res.workload, "dataflow": res.dataflow, "mapping": res.mapping,
                "seed": res.seed, **(workload_args or {})},
        "versions": provenance(),
    }
    _atomic_write(out / "config.resolved.yaml", yaml.safe_dump(resolved, sort_keys=False))
    _atomic_write(out / "summary.json", json.dumps(res.summary(), indent=2, default=float))
    causes = sorted({c for layer in res.layers for c in layer.stall_cycles})
    with (out / "layers.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["layer", "op", "start_cycle", "end_cycle", "cycles", "compute_cycles",
                    "macs_dense", "macs_executed", "mapping_efficiency", "tasks", "tiles",
                    "partition_pixels_x_channels"] + [f"stall_{c}_cycles" for c in causes])
        for l in res.layers:
            w.writerow([l.node, l.op, l.start_cycle, l.end_cycle, l.cycles, l.compute_cycles,
                        l.macs_dense, l.macs_executed,
                        f"{l.macs_executed / l.pe_slots:.6f}" if l.pe_slots else "",
                        l.tasks, l.tiles, "x".join(map(str, l.partition)) if l.partition else ""]
                       + [l.stall_cycles.get(c, 0.0) for c in causes])
    with (out / "tiles.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tile", "row", "col", "busy_cycles", "utilization", "macs_executed", "tasks"])
        for t in res.tiles:
            r, c = divmod(t.tile, res.arch.grid.cols)
            util = t.busy_cycles / res.latency_cycles if res.latency_cycles else 0.0
            w.writerow([t.tile, r, c, t.busy_cycles, f"{util:.6f}", t.macs_executed, t.tasks])
    return out


def format_summary(res) -> str:
    s = res.summary()
    lines = [
        f"workload {s['workload']} on {s['arch']} ({s['tiles']} tiles x {s['pes_per_tile']} "
        f"PEs, {s['pe_kind']}), dataflow {s['dataflow']}, mapping {s['mapping']}",
        f"  latency          {s['latency_cycles']:,.0f} cycles ({s['latency_us']:.2f} us)",
        f"  MACs dense       {s['macs_dense']:,}",
        f"  MACs executed    {s['macs_executed']:,}",
        f"  utilization      {s['utilization']:.3f}",
        f"  compute bound    {s['compute_bound_cycles']:,.0f} cycles; "
        f"DRAM bound {s['dram_bound_cycles']:,.0f} cycles",
        f"  events           {s['events']:,}",
    ]
    if s["stall_cycles"]:
        stalls = ", ".join(f"{k} {v:,.0f}" for k, v in s["stall_cycles"].items())
        lines.append(f"  stalls (tile-cycles) {stalls}")
    if s.get("energy"):
        e = s["energy"]
        lines.append(f"  energy           {e['total_pj'] / 1e6:,.3f} uJ ({e['source']})")
    if s["functional"] is not None:
        f = s["functional"]
        lines.append(f"  functional       exact_match={f['exact_match']} max_abs_diff="
                     f"{f['max_abs_diff']} over {f['nodes_checked']} nodes vs {f['reference']}")
    lines.append("")
    lines.append(f"  {'layer':<28}{'op':<9}{'cycles':>12}{'compute':>12}{'MACs exec':>14}")
    for l in s["layers"]:
        lines.append(f"  {str(l['node'])[:27]:<28}{l['op']:<9}{l['cycles']:>12,.0f}"
                     f"{l['compute_cycles']:>12,}{l['macs_executed']:>14,}")
    return "\n".join(lines)
