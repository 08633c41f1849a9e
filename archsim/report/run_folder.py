"""Run folders: what a simulation writes to disk, and the text table it prints.

In:  a :class:`~archsim.sim.engine.SimResult` (with ``res.energy`` / ``res.area`` when the energy
     model is present; everything below works without them) and a folder.
Out (``write_run``), the folder written atomically (a temporary sibling renamed into place,
with the completion marker ``RUN_COMPLETE``; see :mod:`archsim.report.outputs`):
  - ``config.resolved.yaml``: every parameter, the run arguments, versions, seed, git revision;
  - ``summary.json``: ``SimResult.summary()`` (plus energy/area when present);
  - ``mapping.yaml``: the run's mapping plan (``archsim run --mapping mapping.yaml`` replays
    it); ``mapping_search.csv`` when the mapping was searched (chosen vs heuristic per layer);
  - ``layers.csv``: one row per layer (cycles, stalls by cause, MACs, utilisation, energy by
    component class when energy exists); ``tiles.csv``: one row per tile;
  - ``components.csv``: one row per component (action counts, energy, area);
  - ``COMPUTE_REPORT.csv``: SCALE-Sim's per-layer columns (see docs/metrics.md);
  - ``summary.md``: the page a person reads first (:mod:`archsim.report.summary_md`);
  - PNG plots (``plots=True``): ``energy_breakdown.png`` (when energy exists),
    ``layer_latency.png``, ``tile_utilization.png``.
``format_summary(res)`` is the table ``archsim run`` prints.  Metrics: docs/metrics.md.
``register_cli`` adds ``archsim compare`` (implemented in :mod:`archsim.report.compare`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from archsim.report.outputs import COMPLETE_MARKER, atomic_folder, check_output_dir
from archsim.report.summary_md import summary_markdown
from archsim.sim.actions import instance_class

__all__ = [
    "RUN_FILES",
    "area_dict",
    "check_run_dir",
    "component_class",
    "energy_dict",
    "format_summary",
    "layer_energy",
    "layer_energy_by_class",
    "provenance",
    "register_cli",
    "summary_markdown",
    "write_run",
]

_ENERGY_KEYS = ("total_pj", "dynamic_pj", "leakage_pj", "by_component_pj", "by_action_pj",
                "by_class_pj", "source")
_AREA_KEYS = ("total_um2", "by_component_um2", "by_class_um2", "source")


def _git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=False, cwd=Path(__file__).resolve().parent, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


_PROVENANCE: dict[str, Any] = {}


def provenance() -> dict[str, Any]:
    """Versions and git revision (computed once per process)."""
    if not _PROVENANCE:
        from importlib.metadata import PackageNotFoundError, version

        import numpy
        import simpy

        import archsim

        try:  # the version only: importing networkx costs ~0.3 s and a run may not need it
            nx_version = version("networkx")
        except PackageNotFoundError:  # pragma: no cover - a dependency
            nx_version = "not installed"

        _PROVENANCE.update({
            "archsim": archsim.__version__, "git_revision": _git_revision(),
            "python": platform.python_version(), "simpy": simpy.__version__,
            "numpy": numpy.__version__, "networkx": nx_version,
        })
    return dict(_PROVENANCE)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", newline="") as f:
        f.write(text)
    tmp.replace(path)


def _csv_text(header: list, rows: list) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _plain(obj: Any, keys: tuple[str, ...]) -> dict[str, Any] | None:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return dict(obj)
    for method in ("as_dict", "to_dict"):
        if hasattr(obj, method):
            return dict(getattr(obj, method)())
    return {k: getattr(obj, k) for k in keys if hasattr(obj, k)}


def energy_dict(res) -> dict[str, Any] | None:
    """``res.energy`` as plain data (None before the energy model exists or when absent)."""
    return _plain(getattr(res, "energy", None), _ENERGY_KEYS)


def area_dict(res) -> dict[str, Any] | None:
    """``res.area`` as plain data (None when absent)."""
    return _plain(getattr(res, "area", None), _AREA_KEYS)


def _summary(res) -> dict[str, Any]:
    s = res.summary()
    e, a = energy_dict(res), area_dict(res)
    if e is not None:
        s["energy"] = e
    if a is not None:
        s["area"] = a
    return s


def component_class(component: str) -> str:
    """Cost class of a component instance (the vocabulary's :func:`instance_class`)."""
    return instance_class(component)


def layer_energy_by_class(res, energy: dict | None) -> dict[str, dict[str, float]] | None:
    """Dynamic energy of each layer by component class (pJ), or None when not derivable.

    Energy is linear in action counts, so a layer's share of action ``a`` is
    ``by_action_pj[a] * layer_count[a] / total_count[a]``.  Needs ``by_action_pj`` keyed by
    the full action names of ``res.actions``; leakage is not split over layers.
    """
    by_action = (energy or {}).get("by_action_pj") or {}
    if not by_action or not set(by_action) & {str(k) for k in res.actions}:
        return None
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for layer, counts in res.layer_actions.items():
        for act, n in counts.items():
            pj, total = by_action.get(str(act)), res.actions.get(act)
            if pj and total:
                out[layer][act.cost_class] += pj * n / total
    return {k: dict(v) for k, v in out.items()}


def layer_energy(res, energy: dict | None) -> tuple[dict[str, dict[str, float]], bool] | None:
    """Per-layer energy by class (pJ) for layers.csv, and whether it includes leakage.

    From ``res.layer_energy`` (the energy model priced each layer's own actions, plus chip
    leakage over the layer's span) when the result has it; otherwise the dynamic split of
    :func:`layer_energy_by_class`; None without energy.
    """
    per = getattr(res, "layer_energy", None) or {}
    if per:
        out = {}
        for node, rep in per.items():
            d = _plain(rep, _ENERGY_KEYS) or {}
            out[node] = dict(d.get("by_class_pj") or {})
        return out, True
    dyn = layer_energy_by_class(res, energy)
    return None if dyn is None else (dyn, False)


def _layers_csv(res, lay) -> str:
    lay_energy, with_leak = lay if lay is not None else (None, False)
    causes = sorted({c for layer in res.layers for c in layer.stall_cycles})
    classes = sorted({c for v in (lay_energy or {}).values() for c in v})
    pes_chip = res.arch.n_tiles * res.arch.pes_per_tile
    cpm = res.cycles_per_mac
    header = ["layer", "op", "start_cycle", "end_cycle", "cycles", "compute_cycles",
              "macs_dense", "macs_executed", "mapping_efficiency", "compute_utilization",
              "utilization", "tasks", "tiles", "partition_pixels_x_channels",
              "stall_total_cycles"] + [f"stall_{c}_cycles" for c in causes]
    if lay_energy is not None:
        header += [f"energy_{c}_pj" for c in classes]
        header.append("energy_total_pj" if with_leak else "energy_dynamic_pj")
    rows = []
    for l in res.layers:
        cu = (l.macs_executed * cpm / (res.arch.pes_per_tile * l.compute_cycles)
              if l.compute_cycles else 0.0)
        ut = l.macs_executed * cpm / (pes_chip * l.cycles) if l.cycles else 0.0
        row = [l.node, l.op, l.start_cycle, l.end_cycle, l.cycles, l.compute_cycles,
               l.macs_dense, l.macs_executed,
               f"{l.macs_executed / l.pe_slots:.6f}" if l.pe_slots else "",
               f"{cu:.6f}", f"{ut:.6f}", l.tasks, l.tiles,
               "x".join(map(str, l.partition)) if l.partition else "",
               sum(l.stall_cycles.values())] + [l.stall_cycles.get(c, 0.0) for c in causes]
        if lay_energy is not None:
            e = lay_energy.get(l.node, {})
            row += [round(e.get(c, 0.0), 3) for c in classes] + [round(sum(e.values()), 3)]
        rows.append(row)
    return _csv_text(header, rows)


def _tiles_csv(res) -> str:
    causes = sorted({c for t in res.tiles for c in t.stall_cycles})
    header = ["tile", "row", "col", "busy_cycles", "busy_fraction", "utilization",
              "macs_executed", "tasks", "stall_total_cycles"] + [f"stall_{c}_cycles"
                                                                  for c in causes]
    rows = []
    lat = res.latency_cycles
    for t in res.tiles:
        r, c = divmod(t.tile, res.arch.grid.cols)
        busy = t.busy_cycles / lat if lat else 0.0
        util = t.macs_executed * res.cycles_per_mac / (res.arch.pes_per_tile * lat) if lat else 0.0
        rows.append([t.tile, r, c, t.busy_cycles, f"{busy:.6f}", f"{util:.6f}",
                     t.macs_executed, t.tasks,
                     sum(t.stall_cycles.values())] + [t.stall_cycles.get(k, 0.0) for k in causes])
    return _csv_text(header, rows)


def _components_csv(res, energy, area) -> str:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for act, n in res.actions.items():
        counts[act.component][act.action] = n
    e_comp = (energy or {}).get("by_component_pj") or {}
    a_comp = (area or {}).get("by_component_um2") or {}
    comps = sorted(set(counts) | set(e_comp) | set(a_comp))
    leaves = sorted({leaf for v in counts.values() for leaf in v})
    header = ["component", "class"] + leaves + ["energy_pj", "area_um2"]
    rows = [[c, component_class(c)] + [counts.get(c, {}).get(leaf, "") for leaf in leaves]
            + [e_comp.get(c, ""), a_comp.get(c, "")] for c in comps]
    return _csv_text(header, rows)


def _compute_report_csv(res) -> str:
    """SCALE-Sim's COMPUTE_REPORT.csv layout (compute layers only, LayerID from 0)."""
    pes_chip = res.arch.n_tiles * res.arch.pes_per_tile
    lines = [("LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, "
             "Compute Util %,")]
    lid = 0
    for l in res.layers:
        if l.op not in ("conv", "linear"):
            continue
        total = l.cycles
        stall = max(0.0, total - l.compute_cycles / max(1, l.tiles))
        work = l.macs_executed * res.cycles_per_mac
        overall = 100.0 * work / (pes_chip * total) if total else 0.0
        mapping = 100.0 * l.macs_executed / l.pe_slots if l.pe_slots else 0.0
        comp = (100.0 * work / (res.arch.pes_per_tile * l.compute_cycles)
                if l.compute_cycles else 0.0)
        lines.append(f"{lid}, {total:.0f}, {stall:.0f}, {overall:.4f}, {mapping:.4f}, {comp:.4f},")
        lid += 1
    return "\n".join(lines) + "\n"


RUN_FILES = ("config.resolved.yaml", "summary.json", "layers.csv", "tiles.csv",
             "components.csv", "COMPUTE_REPORT.csv", "summary.md", "energy_breakdown.png",
             "layer_latency.png", "tile_utilization.png", COMPLETE_MARKER)


def check_run_dir(out: str | Path) -> Path:
    """Check before any work that ``out`` can be written as a run folder (a previous run
    folder there is replaced as a whole; a folder holding other files is refused)."""
    return check_output_dir(out, "run folder", own_files=RUN_FILES)


def write_run(res, out: str | Path, workload_args: dict[str, Any] | None = None,
              plots: bool = True, compute_report: bool = True) -> Path:
    """Write the run folder (see module doc) atomically; returns its path.

    The files go into a temporary sibling folder which, once complete, gets the marker
    ``RUN_COMPLETE`` and is renamed into place, replacing a previous run's folder as a whole
    (so a ``--no-plots`` re-run leaves no old PNGs).  A folder another process is writing
    raises :class:`~archsim.errors.RunFolderError`."""
    out = check_run_dir(out)
    with atomic_folder(out, f"archsim {provenance()['archsim']} run folder, complete\n") as tmp:
        _write_files(res, tmp, workload_args, plots, compute_report)
    return out


def _write_files(res, out: Path, workload_args: dict[str, Any] | None, plots: bool,
                 compute_report: bool) -> None:
    s = _summary(res)
    energy, area = s.get("energy"), s.get("area")
    resolved = {
        "arch": res.arch.resolved(),
        "run": {"workload": res.workload, "dataflow": res.dataflow, "mapping": res.mapping,
                "seed": res.seed, **(workload_args or {})},
        "versions": provenance(),
    }
    _atomic_write(out / "config.resolved.yaml", yaml.safe_dump(resolved, sort_keys=False))
    _atomic_write(out / "summary.json", json.dumps(s, indent=2, default=float))
    if getattr(res, "plan", None) is not None:
        from archsim.mapping.plan import plan_yaml

        _atomic_write(out / "mapping.yaml", plan_yaml(res.plan))
    search = getattr(res, "search", None)
    if search is not None:
        _atomic_write(out / "mapping_search.csv", search.csv_text())
    lay = layer_energy(res, energy)
    _atomic_write(out / "layers.csv", _layers_csv(res, lay))
    _atomic_write(out / "tiles.csv", _tiles_csv(res))
    _atomic_write(out / "components.csv", _components_csv(res, energy, area))
    if compute_report:
        _atomic_write(out / "COMPUTE_REPORT.csv", _compute_report_csv(res))
    images: list[str] = []
    if plots:
        from archsim.report import plots as P

        if energy and energy.get("by_class_pj"):
            P.energy_breakdown(energy["by_class_pj"], out / "energy_breakdown.png",
                               f"energy by component class ({res.workload}, {res.arch.name})")
            images.append("energy_breakdown.png")
        if s["layers"]:
            P.layer_latency(s["layers"], out / "layer_latency.png",
                            f"per-layer latency ({res.workload}, {res.arch.name})")
            images.append("layer_latency.png")
        P.tile_heatmap([t["utilization"] for t in s["per_tile"]], res.arch.grid.rows,
                       res.arch.grid.cols, out / "tile_utilization.png",
                       f"tile utilisation ({res.arch.grid.rows}x{res.arch.grid.cols} tiles; "
                       f"mean {s['utilization']:.3f} = run utilisation)",
                       label="executed MACs x cycles/MAC / (PEs x latency)")
        images.append("tile_utilization.png")
    md = summary_markdown(s, resolved, images, lay is not None)
    if search is not None:
        md = md.rstrip("\n") + "\n\n" + search.markdown()
    _atomic_write(out / "summary.md", md)


def format_summary(res) -> str:
    s = _summary(res)
    lines = [
        (f"workload {s['workload']} on {s['arch']} ({s['tiles']} tiles x {s['pes_per_tile']} "
        f"PEs, {s['pe_kind']}), dataflow {s['dataflow']}, mapping {s['mapping']}"),
        f"  latency          {s['latency_cycles']:,.0f} cycles ({s['latency_us']:.2f} us)",
        f"  MACs dense       {s['macs_dense']:,}",
        f"  MACs executed    {s['macs_executed']:,}",
        f"  utilization      {s['utilization']:.3f}",
        (f"  compute bound    {s['compute_bound_cycles']:,.0f} cycles; "
        f"DRAM bound {s['dram_bound_cycles']:,.0f} cycles"),
        f"  events           {s['events']:,}",
    ]
    if s["stall_cycles"]:
        stalls = ", ".join(f"{k} {v:,.0f}" for k, v in s["stall_cycles"].items())
        lines.append(f"  stalls (tile-cycles) {stalls}")
    if s.get("energy"):
        e = s["energy"]
        lines.append(f"  energy           {e['total_pj'] / 1e6:,.3f} uJ ({e['source']})")
    if s.get("area"):
        lines.append(f"  area             {s['area']['total_um2'] / 1e6:,.3f} mm^2")
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


def register_cli(subparsers, name: str) -> None:
    """``archsim compare RUN_DIR... [--out reports/compare]`` (see archsim.report.compare)."""
    from archsim.report.compare import register_compare

    register_compare(subparsers, name)
