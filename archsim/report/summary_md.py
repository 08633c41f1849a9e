"""``summary.md``: the page of a run folder a person reads first.

In:  the run's summary (``SimResult.summary()`` plus energy/area), its resolved configuration
     (``config.resolved.yaml`` content) and the names of the plots written next to it.
Out: ``summary_markdown(...)`` -> Markdown text: what ran, headline numbers (latency,
     utilisation, MACs, throughput, bounds, energy, area), where the time goes (top stall
     causes, longest layers), the energy breakdown by component class, where the cost numbers
     come from, and the files of the folder.  Metrics are defined in docs/metrics.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["TOP_LAYERS", "TOP_STALLS", "summary_markdown"]

TOP_STALLS = 6  # stall causes listed (the table says "the N largest of M")
TOP_LAYERS = 5  # longest layers listed


def _grid_override(arch: dict[str, Any], run: dict[str, Any]) -> str:
    """A line saying which memory system a sweep point that overrides ``grid`` kept."""
    base = run.get("base_design_point")
    over = dict(run.get("overrides") or {})
    if not isinstance(base, dict) or not ({"grid.rows", "grid.cols"} & set(over)):
        return ""
    d, gb = arch["dram"], arch["gbuf"]
    return (f"- sweep point: grid {arch['grid']['rows']}x{arch['grid']['cols']} overrides the "
            f"{base.get('grid')} grid of base design point `{base.get('name')}`; its memory "
            f"system is kept unchanged: {d['channels']} DRAM channel(s) x "
            f"{d['bytes_per_cycle_per_channel']} B/cycle, global buffer "
            f"{gb['capacity_bytes']:,} B with {gb['ports']} port(s) x {gb['bytes_per_cycle']} "
            "B/cycle")


def summary_markdown(s: dict[str, Any], resolved: dict[str, Any], images: list[str],
                     layer_energy: bool) -> str:
    """The run's ``summary.md``: what ran, headline numbers, stalls, energy, cost sources."""
    arch, run, ver = resolved["arch"], resolved["run"], resolved["versions"]
    pa = arch["tile"]["pe_array"]
    lat = s["latency_cycles"]
    lat_s = s["latency_us"] * 1e-6
    grid_note = _grid_override(arch, run)
    title = f"# {s['workload']} on {s['arch']}"
    if grid_note:
        title += (f" with grid {arch['grid']['rows']}x{arch['grid']['cols']} (memory system of "
                  f"the {run['base_design_point']['grid']} base kept)")
    L: list[str] = [f"{title} ({s['dataflow']}, {s['mapping']})", ""]
    L += ["## What ran", "",
          (f"- workload `{run.get('workload', s['workload'])}`, sparsity "
          f"{run.get('sparsity', 'n/a')}, seed {s['seed']}"),
          (f"- design point `{s['arch']}` from `{s['arch_source']}`: {arch['grid']['rows']}x"
          f"{arch['grid']['cols']} tiles of {pa['rows']}x{pa['cols']} `{s['pe_kind']}` PEs "
          f"{pa['pe_params']}, {arch['clock_mhz']} MHz, ideal memory {arch['ideal_memory']}"),
          *([grid_note] if grid_note else []),
          f"- dataflow `{s['dataflow']}`, mapping `{s['mapping']}`",
          (f"- sparsity mode `{s.get('sparsity_mode', 'n/a')}`, zero gating "
           f"{'on' if s.get('zero_gating') else 'off'} (docs/model.md, Sparsity hardware)"),
          f"- LUT organisation: {_lut_org(s.get('lut_organisation'))}",
          (f"- fold pipelining "
           f"{'on' if (s.get('mechanisms') or {}).get('fold_pipelining') else 'off'} "
           f"(docs/model.md, Fold pipelining)"),
          _fetch_line(s.get("mechanisms") or {}),
          (f"- archsim {ver.get('archsim')} at git `{str(ver.get('git_revision'))[:12]}`, "
          f"Python {ver.get('python')}, SimPy {ver.get('simpy')}"), ""]
    info = s.get("workload_info") or {}
    if info.get("weights"):
        L.insert(len(L) - 1, f"- weights: **{info['weights']}**"
                 + ("" if not str(info["weights"]).startswith("random-init") else
                    " -- not trained: sparsity patterns and activation statistics are those of "
                    "random weights, not of a trained network"))
    if info.get("pruning"):
        empty = info.get("empty_layers") or []
        L.insert(len(L) - 1, f"- pruning: {info['pruning']}, sparsity achieved "
                 f"{float(info.get('sparsity_achieved', 0)):.3f}"
                 + (f"; layers with no weight left: {', '.join(empty)}" if empty else ""))
    if s.get("functional"):
        f = s["functional"]
        L += [(f"- functional check: exact_match={f.get('exact_match')} over "
              f"{f.get('nodes_checked')} nodes vs {f.get('reference')}"), ""]
    dense, ex = s["macs_dense"], s["macs_executed"]
    bound = max(s["compute_bound_cycles"], s["dram_bound_cycles"])
    L += ["## Headline numbers", "", "| metric | value |", "|---|---|",
          f"| latency | {lat:,.0f} cycles = {s['latency_us']:,.2f} us |",
          (f"| utilization (executed MACs x cycles/MAC / (PEs x latency)) | "
          f"{s['utilization']:.4f} |"),
          (f"| MACs dense / executed | {dense:,} / {ex:,} "
          f"({100 * (1 - ex / dense) if dense else 0:.1f}% skipped) |"),
          (f"| effective throughput (2 x dense MACs / latency) | "
          f"{2 * dense / lat_s / 1e9 if lat_s else 0:,.2f} GOPS |"),
          (f"| compute bound / DRAM bound | {s['compute_bound_cycles']:,.0f} / "
          f"{s['dram_bound_cycles']:,.0f} cycles |"),
          f"| latency / max(bounds) | {lat / bound if bound else float('nan'):.2f} |",
          f"| simulation events | {s['events']:,} |"]
    e, a = s.get("energy"), s.get("area")
    if e:
        L.append(f"| energy per run | {e['total_pj'] / 1e6:,.4f} uJ (dynamic "
                 f"{e.get('dynamic_pj', 0) / 1e6:,.4f}, "
                 f"leakage {e.get('leakage_pj', 0) / 1e6:,.4f})"
                 f" |")
        if dense:
            L.append(f"| energy per dense MAC | {e['total_pj'] / dense:,.3f} pJ |")
    if a:
        L.append(f"| area | {a['total_um2'] / 1e6:,.4f} mm^2 |")
    L.append("")
    b = s.get("bounds") or {}
    if b:
        bc = b["cycles"]
        L += ["## Bounds", "",
              ("Analytic lower bounds on this mapping's latency (archsim/mapping/bounds.py, "
               "docs/model.md); the largest binds."), "",
              "| bound | cycles | latency / bound |", "|---|---|---|"]
        L += [f"| {k}{' (binding)' if k == b['binding'] else ''} | {v:,.0f} | "
              f"{lat / v if v else float('nan'):.2f} |" for k, v in bc.items()]
        m = s.get("mechanisms") or {}
        if m:
            L += ["", ("Mechanisms: " + ", ".join(f"{k} {v}" for k, v in m.items()))]
        L.append("")
    stalls = sorted(s["stall_cycles"].items(), key=lambda kv: -kv[1])
    tile_time = s["tiles"] * lat
    L += ["## Where the time goes", "",
          ("Stalls are PE-array idle time of a tile, attributed to the fetch phase that "
          "overlapped it, summed over tiles (tile-cycles; docs/metrics.md)."), ""]
    if stalls:
        shown = min(len(stalls), TOP_STALLS)
        L += [(f"The {shown} largest of {len(stalls)} stall causes:" if shown < len(stalls)
               else f"All {len(stalls)} stall causes:"), "",
              "| cause | tile-cycles | share of tile-time |", "|---|---|---|"]
        L += [f"| {k} | {v:,.0f} | {100 * v / tile_time if tile_time else 0:.1f}% |"
              for k, v in stalls[:TOP_STALLS]]
    else:
        L.append("No stalls recorded.")
    top = sorted(s["layers"], key=lambda l: -l["cycles"])[:TOP_LAYERS]
    which = (f"The {len(top)} longest of {len(s['layers'])} layers" if len(top) < len(s["layers"])
             else f"All {len(top)} layers, longest first")
    L += ["", f"{which} (cycles: first compute start to last output write):", "",
          "| layer | op | cycles | compute tile-cycles | MACs executed |", "|---|---|---|---|---|"]
    L += [f"| {l['node']} | {l['op']} | {l['cycles']:,.0f} | {l['compute_cycles']:,} | "
          f"{l['macs_executed']:,} |" for l in top]
    L += ["", "## Energy breakdown", ""]
    if e:
        tot = e["total_pj"] or 1.0
        L += ["| component class | energy (uJ) | share |", "|---|---|---|"]
        L += [f"| {k} | {v / 1e6:,.4f} | {100 * v / tot:.1f}% |"
              for k, v in sorted((e.get("by_class_pj") or {}).items(), key=lambda kv: -kv[1])]
        if not layer_energy:
            L += ["", ("Per-layer energy is not in layers.csv: the result has no per-layer "
                  "energy and no per-action energies keyed by action name.")]
    else:
        L.append("No energy numbers: this build has no energy model attached to the result.")
    L += ["", "## Where the cost numbers come from", "",
          (f"- cost table named by the design point: `arch_configs/{arch.get('energy_table')}` "
          f"(leakage {'on' if arch.get('leakage') else 'off'})")]
    L.append(f"- energy: {e.get('source')}" if e else "- energy: not computed")
    L.append(f"- area: {a.get('source')}" if a else "- area: not computed")
    L += [("- cycles: SimPy transactions with analytic durations; compute cycles from the "
          "systolic fold model (SCALE-Sim v3 closed form) x the PE kind's cycles per MAC"), ""]
    L += ["## Files", "",
          ("`config.resolved.yaml` (every parameter, versions), `summary.json`, `layers.csv`, "
          "`tiles.csv`, `components.csv`, `COMPUTE_REPORT.csv` (SCALE-Sim columns)."), ""]
    L += [f"![{Path(img).stem}]({img})" for img in images]
    return "\n".join(L) + "\n"


def _fetch_line(m: dict) -> str:
    """The fetch unit's mechanisms (docs/model.md, Buffers and fetch)."""
    def on(k: str) -> str:
        return "on" if m.get(k) else "off"

    stream = (f"on ({m.get('stream_sub_blocks')} sub-blocks)" if m.get("streaming")
              else "off")
    return (f"- fetch: streaming {stream}, weight streaming {on('weight_streaming')}, write "
            f"streaming {on('write_streaming')}, weight prefetch {on('weight_prefetch')}, "
            f"multicast {on('multicast')} (docs/model.md)")


def _lut_org(o: dict[str, Any] | None) -> str:
    """One line stating the LUT organisation and how its tables are shared."""
    if not o:
        return "not priced"
    if not o.get("tables"):
        return "no tables (PE kind without look-ups)"
    return (f"{o['description']}; {o['read_pj']:.4f} pJ per look-up, "
            f"{o['area_per_pe_um2']:,.0f} um^2 of tables per PE")
