"""Builds and writes the ``archsim paper`` report.

In:  :class:`~archsim.studies.paper.PaperAssumptions`, the zoo models and sparsity, which optional
     studies to run (mixed precision, whole system), the command line that produced it.
Out: ``build_report(...)`` -> :class:`PaperReport` (every number of the report);
     ``write_report(report, out_dir)`` -> paths of ``paper_comparison.md`` (tables and the
     sentences explaining them, all generated from the numbers) and ``paper_comparison.csv``
     (long format: section, model, kind, metric, value, paper, unit).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from archsim.studies.markdown import fmt, md_table, span
from archsim.studies.paper import (
    PAPER_CLAIMS,
    PAPER_MIXED,
    PHYSICAL,
    ZOO,
    PaperAssumptions,
    account_steps,
    headline_ratios,
    model_figures,
    physical_assumptions,
    sensitivity,
    sharing_alternatives,
    unit_costs,
)
from archsim.studies.paper_system import format_system, simulate_system

__all__ = ["PaperReport", "build_report", "fmt", "md_table", "span", "write_report"]

DIGITS_NET, DIGITS_SPARSITY = "smallvgg", 0.9
KEYS = list(PAPER_CLAIMS)


@dataclass(frozen=True)
class PaperReport:
    """Everything ``write_report`` prints."""

    assumptions: PaperAssumptions
    command: str
    ratios: dict
    units: dict
    sensitivity: list
    sparsity: float
    models: list = field(default_factory=list)
    digits: object = None  # MixedResult of the accuracy budget
    digits_info: dict = field(default_factory=dict)
    tau: float | None = None
    zoo_mixed: dict = field(default_factory=dict)
    system: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)
    images: int = 20
    physical: dict = field(default_factory=dict)  # the four ratios, physical account
    physical_units: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)  # account_steps: paper -> physical
    alternatives: list = field(default_factory=list)  # sharing_alternatives


def build_report(pa: PaperAssumptions, sparsity: float = 0.9, models=("vgg11",), mixed=True,
                 system=True, images: int = 20, argv: str = "archsim paper") -> PaperReport:
    """Run every part of the comparison (see module doc)."""
    from archsim.studies import mixed_precision as mp

    sec: dict[str, float] = {}
    t0 = time.perf_counter()
    variants = mp.DEFAULT_VARIANTS
    units = unit_costs(pa, ("exact",) + variants)
    ratios, sens = headline_ratios(pa), sensitivity(pa)
    phys = physical_assumptions(pa)
    physical, physical_units = headline_ratios(phys), unit_costs(phys)
    steps, alternatives = account_steps(pa), sharing_alternatives(pa)
    sec["arithmetic units"] = time.perf_counter() - t0
    t = time.perf_counter()
    from archsim import zoo as zoo_hook

    built = {m: zoo_hook.build_quantized(m, sparsity=sparsity, seed=0) for m in models}
    graphs = {m: gq[0] for m, gq in built.items()}
    figs = model_figures(pa, sparsity, models, graphs=graphs)
    sec["zoo graphs"] = time.perf_counter() - t
    digits = tau = None
    info: dict = {}
    zoo: dict = {}
    if mixed:
        t = time.perf_counter()
        g, x, y = mp.digits_data(DIGITS_NET, DIGITS_SPARSITY)
        digits = mp.accuracy_budget(g, x, y, units, 1.0, variants)
        tau = mp.calibrate_tau(mp.layer_errors(g, x, variants), digits.assignment)
        info = {"net": DIGITS_NET, "pruning": g.graph.get("pruning", ""),
                "float": 100 * g.graph["test_accuracy_float"],
                "int": 100 * g.graph["test_accuracy_int"], "test_images": len(y),
                "layers": {n: int(g.nodes[n]["macs_nonzero"]) for n in mp.compute_layers(g)}}
        sec["mixed precision (digits)"] = time.perf_counter() - t
        t = time.perf_counter()
        imgs, _ = zoo_hook.images("cifar10", images)
        for m, (g, qm) in built.items():
            xz = qm.quantize_input(imgs).numpy().astype("int64")
            zoo[m] = mp.proxy_budget(g, mp.layer_errors(g, xz, variants), units, tau, variants)
        sec["mixed precision (zoo proxy)"] = time.perf_counter() - t
    rows = []
    if system:

        t = time.perf_counter()
        rows = simulate_system(pa, graphs)
        sec["whole system"] = time.perf_counter() - t
    sec["total"] = time.perf_counter() - t0
    return PaperReport(pa, argv, ratios, units, sens, sparsity, figs, digits, info, tau, zoo,
                       rows, sec, images, physical, physical_units, steps, alternatives)


_f, _table = fmt, md_table


def _mixed_ratios(r, u) -> dict[str, float]:
    return {"vs_lut_area": r.macs * u["lut"].area_um2 / r.area_um2_macs,
            "vs_lut_energy": r.macs * u["lut"].energy_per_mac_pj / r.energy_pj,
            "vs_mac_area": r.macs * u["mac"].area_um2 / r.area_um2_macs,
            "vs_mac_energy": r.macs * u["mac"].energy_per_mac_pj / r.energy_pj}


def _section_units(rep: PaperReport) -> list[str]:
    r, u, pa = rep.ratios, rep.units, rep.assumptions
    dev = max(abs(r[k] / PAPER_CLAIMS[k] - 1) for k in KEYS)
    names = {"lutna_vs_lut_area": "LUT-NA vs traditional LUT, area",
             "lutna_vs_lut_energy": "LUT-NA vs traditional LUT, energy per inference",
             "lutna_vs_mac_area": "LUT-NA vs digital MAC, area",
             "lutna_vs_mac_energy": "LUT-NA vs digital MAC, energy per inference"}
    ph = rep.physical
    rows = [[names[k], f"{PAPER_CLAIMS[k]:.2f}x", f"{r[k]:.2f}x",
             f"{100 * (r[k] / PAPER_CLAIMS[k] - 1):+.1f}%",
             f"{ph[k]:.3g}x" if ph else "-"] for k in KEYS]
    out = ["## 1. Headline ratios: the paper's account and the physical account", "",
           ("Per inference = unit cost x non-zero MACs. Every layer uses one PE kind, so these "
           "ratios are the same for every model (section 3 gives the absolute figures). The "
           "*paper's account* counts the arithmetic units under the paper's assumptions "
           "(below): one single-port table set shared by 64 PEs (256 for the monolithic "
           "table) whose reads switch only the 16 rows a stationary weight digit selects, "
           "and multipliers without the accumulator. The *physical account* builds the same "
           "units as the simulator's design points do (`arch_configs/lutna_*.yaml`, "
           "docs/energy.md 'Shared tables'): "
           f"{PHYSICAL['lutna_pes_per_table']} PEs per table set served by "
           f"{PHYSICAL['sharing']} copies of {PHYSICAL['table_ports']}-read-port tables, every "
           "read switching the whole array, and the 32-bit accumulator in every unit. "
           "Ratios below 1 mean LUT-NA costs more."), "",
           _table(["comparison (times less)", "paper", "paper's account (archsim)",
                   "deviation", "physical account"], rows), "",
           (f"Paper's account: largest deviation {100 * dev:.1f}% "
           f"({'within' if dev <= 0.10 else 'outside'} the 10% target)."), "",
           ] + _accounts(rep) + [
           "### Assumptions", "", _table(["assumption", "value", "why"],
                                         [list(a) for a in pa.describe()]), "",
           "### Unit costs per MAC", ""]
    rows = []
    accounts = [("paper's", u)] + ([("physical", rep.physical_units)] if rep.physical_units
                                   else [])
    for acc, units in accounts:
        mac = units["mac"]
        for k in ("mac", "lut", "lutna"):
            c = units[k]
            bd = ", ".join(f"{n} {v:.4g}" for n, v in c.breakdown.items())
            rows.append([f"{c.kind} ({acc})", _f(c.energy_per_mac_pj, 4), _f(c.area_um2, 1),
                         _f(c.energy_per_mac_pj / mac.energy_per_mac_pj, 3),
                         _f(c.area_um2 / mac.area_um2, 3), f"{c.lookups_per_mac:g}",
                         str(list(c.add_widths)), bd])
    out += [_table(["unit", "pJ / MAC", "um^2 / PE", "energy vs MAC", "area vs MAC",
                    "look-ups", "shift-add widths", "breakdown (pJ, um^2)"], rows), ""]
    t = u["lutna"].table
    lt = u["lut"].table
    out += [(f"LUT-NA table: {t.spec.entries} x {t.spec.word_bits} bits, "
            f"{t.read_pj * 1e3:.2f} fJ per read ({t.read_model}), {t.area_um2:,.0f} um^2 per "
            f"table shared by {t.spec.pes_per_table} PEs. Monolithic table: {lt.spec.entries:,}"
            f" x {lt.spec.word_bits} bits ({lt.spec.capacity_bytes / 1024:,.0f} KiB), "
            f"{lt.read_pj:.3f} pJ per read, {lt.area_um2 / 1e6:.2f} mm^2 shared by "
            f"{lt.spec.pes_per_table} PEs."), ""]
    return out


def _accounts(rep: PaperReport) -> list[str]:
    """What moves each ratio from the paper's account to the physical one."""
    if not rep.steps:
        return []

    def row(s, extra=()):
        return [s.label, s.change] + [_f(s.ratios[k], 3) for k in KEYS] + list(extra)

    hdr = ["vs LUT area", "vs LUT energy", "vs MAC area", "vs MAC energy"]
    steps = [row(s) for s in rep.steps]
    alts = [row(s, [str(c)]) for s, c in rep.alternatives]
    pu, u = rep.physical_units, rep.units
    na, mac, lut = pu["lutna"], pu["mac"], pu["lut"]
    t = na.table
    first, ported = rep.steps[0].ratios, rep.steps[1].ratios
    priv = next(s for s, _ in rep.alternatives if s.label == "private_subarray").ratios
    return ["### What moves each ratio", "",
            "Cumulative, from the paper's account (first row) to the physical one (last row):",
            "", _table(["step", "change"] + hdr, steps), "",
            ("The physical account under each way of serving a table set's "
             f"{PHYSICAL['lutna_pes_per_table']} readers (accumulator included; the last "
             "column is LUT-NA's cycles per MAC step: a time-multiplexed set is that many "
             "times slower, so it needs that many times the area for the same throughput):"),
            "", _table(["sharing", "hardware"] + hdr + ["cycles / MAC step"], alts), "",
            (f"Energy moves with what a read switches: the paper's weight-stationary read of a "
             f"shared 256 x 8 table switches 16 rows ({u['lutna'].table.read_pj * 1e3:.1f} fJ);"
             f" a table read by PEs holding different weights switches all 256 on ported "
             f"lines ({t.read_pj * 1e3:.1f} fJ, {t.read_model}), so LUT-NA goes from "
             f"{first['lutna_vs_mac_energy']:.2f}x less energy than a MAC to "
             f"{1 / ported['lutna_vs_mac_energy']:.1f}x more "
             f"({1 / rep.physical['lutna_vs_mac_energy']:.1f}x once every unit has its "
             f"accumulator). Area moves with ports and "
             f"copies: {t.spec.copies} copies of {t.spec.read_ports} ports per "
             f"{t.spec.pes_per_table} PEs cost {t.area_per_pe_um2 * na.tables_per_pe:,.0f} "
             f"um^2 of tables per PE against "
             f"{u['lutna'].table.area_per_pe_um2 * u['lutna'].tables_per_pe:,.0f} in the "
             f"paper's account; a LUT-NA unit is then {na.area_um2:,.0f} um^2 against a MAC's "
             f"{mac.area_um2:,.0f}. The monolithic LUT suffers far more (a "
             f"{lut.table.spec.entries:,}-entry table read whole: "
             f"{lut.table.read_pj:.1f} pJ per look-up), so the ratios against it grow. Only "
             f"private slices per PE (`private_subarray`, ws only) keep the 16-row read: "
             f"{priv['lutna_vs_mac_energy']:.2f}x less energy than a MAC at "
             f"{1 / priv['lutna_vs_mac_area']:.1f}x its area, before the slice loads of every "
             f"weight fold (simulated in section 5 only if chosen)."), ""]


def _section_sensitivity(rep: PaperReport) -> list[str]:
    rows = []
    for s in rep.sensitivity:
        rows.append([s.label, s.change] + [_f(s.ratios[k]) for k in KEYS]
                    + [f"{100 * s.deviation:.0f}%", "yes" if s.deviation <= 0.10 else "no"])
    by = {s.change: s for s in rep.sensitivity}
    rnd = by["random access (no static index bits)"].ratios["lutna_vs_mac_energy"]
    cacti = by["per cell from CACTI's 256 x 8-bit LUT point"].ratios["lutna_vs_mac_energy"]
    acc = by["accumulator included in every unit"].ratios
    return ["## 2. Sensitivity: one assumption changed at a time", "",
            _table(["assumption", "changed to", "vs LUT area", "vs LUT energy", "vs MAC area",
                    "vs MAC energy", "max deviation", "within 10%"], rows), "",
            ("What moves what: the *area* ratios are set by how many PEs share a table "
            "(storage is amortised, every look-up still reads) and by the cell type; the "
            "*energy* ratios by how many table rows switch per read. Without the "
            f"weight-stationary read (all 256 rows of a digit table switch) LUT-NA costs "
            f"{1 / rnd:.1f}x a MAC's energy instead of "
            f"{1 / rep.ratios['lutna_vs_mac_energy']:.2f}x;"
            f" with the per-cell read energy taken from CACTI's own 256 x 8-bit LUT figure "
            f"(fixed decoder / sense costs of a tiny array) LUT-NA is only {cacti:.2f}x better "
            f"than a MAC. Counting the 32-bit accumulator in every unit dilutes all four "
            f"ratios (vs MAC energy {acc['lutna_vs_mac_energy']:.2f}x). The node barely "
            "matters: both tables scale logic and memory by the same CACTI-derived factors. "
            "In short, the paper's energy advantage over a MAC needs table reads that switch "
            "only a 16-entry slice, and its area advantage needs one table set shared by "
            "tens of PEs; neither is a property of LUTs by default."), ""]


def _section_models(rep: PaperReport) -> list[str]:
    rows = [[m["model"], _f(m["macs_dense"] / 1e6, 1), _f(m["macs_nonzero"] / 1e6, 1),
             f"{100 * m['mac_reduction']:.1f}%", _f(m["lutna_energy_uj"]), _f(m["lut_energy_uj"]),
             _f(m["mac_energy_uj"]), _f(m["lutna_area_mm2_macs"], 0),
             _f(m["lut_area_mm2_macs"], 0), _f(m["mac_area_mm2_macs"], 0)]
            for m in rep.models]
    prun = rep.models[0]["pruning"] if rep.models else ""
    return ["## 3. Per-model absolute figures (arithmetic units)", "",
            (f"Models from `workloads.build(name, sparsity={rep.sparsity})`: CIFAR-10 shapes, "
            f"{prun} pruning of random-init weights at {100 * rep.sparsity:.0f}% weight "
            "sparsity (the paper's lottery-ticket models remove up to 98% of MACs; global "
            "pruning of untrained weights empties some layers at higher sparsity). Energy per "
            "inference = non-zero MACs x unit energy; 'area x MACs' is the paper's counting "
            "(unit area x MACs, i.e. one unit per MAC), in mm^2."), "",
            _table(["model", "dense MMACs", "non-zero MMACs", "fewer MACs", "LUT-NA uJ",
                    "LUT uJ", "MAC uJ", "LUT-NA area x MACs", "LUT area x MACs",
                    "MAC area x MACs"], rows), ""]


def _section_mixed(rep: PaperReport) -> list[str]:
    if rep.digits is None:
        return ["## 4. Mixed precision", "", "Skipped (`--no-mixed`).", ""]
    u, d, info = rep.units, rep.digits, rep.digits_info
    ex = u["exact"]
    vrows = [[v, _f(u[v].energy_per_mac_pj / ex.energy_per_mac_pj, 3),
              _f(u[v].area_um2 / ex.area_um2, 3), f"{u[v].lookups_per_mac:g}"]
             for v in u if v not in ("mac", "lut", "lutna")]
    steps = [[n, _f(info["layers"][n] / 1e3, 1), v, _f(s, 2)] for n, v, s in d.steps]
    dr = _mixed_ratios(d, u)
    out = ["## 4. Mixed precision: exact LUT-NA or A-LUT-NA per layer", "",
           "Variants (A-LUT-NA drops digit partial products; costs relative to exact LUT-NA):",
           "", _table(["variant", "energy", "area", "look-ups"], vrows), "",
           ("Greedy search: start with every layer exact; at each step try every (layer, "
           "more aggressive variant) move, keep those within the budget, take the one that "
           "saves the most energy per unit of budget spent; stop when no move fits."), "",
           f"### Measured accuracy: {info['net']} on sklearn digits", "",
           (f"{info['net']} trained here, {info['pruning']}; test split {info['test_images']} "
           f"images; float {info['float']:.2f}%, integer (8-bit activations, 9-bit weights) "
           f"{info['int']:.2f}%. Budget: 1 accuracy point against the all-exact integer model "
           f"({d.baseline:.2f}%). Every candidate is a full functional run with the PE "
           "kinds' own integer arithmetic."), "",
           _table(["step: layer", "kMACs", "variant", "points lost after the step"], steps), "",
           (f"Result: {100 * d.approximated_fraction:.0f}% of MACs approximated, accuracy "
           f"{d.baseline - d.spent:.2f}% ({d.spent:+.2f} points lost); energy "
           f"{d.energy_pj / d.exact_energy_pj:.3f} and area x MACs "
           f"{d.area_um2_macs / d.exact_area_um2_macs:.3f} of exact LUT-NA."), ""]
    rows = [["digits " + info["net"] + " (measured)", _mix(d)]
            + [_f(dr[k]) for k in PAPER_MIXED]]
    for m, r in rep.zoo_mixed.items():
        mr = _mixed_ratios(r, u)
        rows.append([f"{m} (proxy, {100 * r.spent / r.budget:.0f}% of budget)", _mix(r)]
                    + [_f(mr[k]) for k in PAPER_MIXED])
    zr = [_mixed_ratios(r, u) for r in rep.zoo_mixed.values()]
    if zr:
        rows.append(["zoo range (archsim)", ""] + [f"{min(z[k] for z in zr):.2f} - "
                                                   f"{max(z[k] for z in zr):.2f}"
                                                   for k in PAPER_MIXED])
    rows.append(["paper range", ""] + [f"{a:.2f} - {b:.2f}" for a, b in PAPER_MIXED.values()])
    overlap = []
    for k, (a, b) in PAPER_MIXED.items():
        if zr:
            lo, hi = min(z[k] for z in zr), max(z[k] for z in zr)
            rel = "inside" if a <= lo and hi <= b else ("above" if lo > b else (
                "below" if hi < a else "overlapping"))
            overlap.append(f"{k.replace('_', ' ')}: {rel}")
    out += ["### CIFAR-10 zoo: measured proxy", "",
            ("The zoo cannot be trained here, so accuracy is replaced by a measured proxy: the "
            "relative L2 error of each layer's output with its input exact, on the first "
            f"{rep.images} real CIFAR-10 test images foolbox ships (up to 1,024 sampled "
            "output positions per layer). Errors "
            "of approximated layers add in quadrature; the budget tau is calibrated on the "
            f"digits net: the proxy of its 1-point solution, tau = {rep.tau:.3f}. The zoo "
            "weights are random (no checkpoints), so this measures arithmetic fidelity, not "
            "accuracy."), "",
            _table(["network", "MACs: exact / drop_ll / trunc_act_low / keep_hh",
                    "vs LUT area", "vs LUT energy", "vs MAC area", "vs MAC energy"], rows), "",
            "archsim's zoo range against the paper's: " + "; ".join(overlap) + ". Ranges "
            "come from how much of each network the budget lets A-LUT-NA take; a net with "
            "many layers spends the quadrature budget on cheap partial approximations "
            "(drop_ll), a net with few large layers on aggressive ones.", ""]
    return out


def _mix(r) -> str:
    """MAC-weighted share of each variant in an assignment."""
    share = {v: 0 for v in ("exact", "drop_ll", "trunc_act_low", "keep_hh")}
    for n, v in r.assignment.items():
        share[v.partition("+")[0]] = share.get(v.partition("+")[0], 0) + r.layer_macs[n]
    return " / ".join(f"{100 * m / r.macs:.0f}%" for m in share.values())


def _section_system(rep: PaperReport) -> list[str]:
    if not rep.system:
        return ["## 5. Whole system", "", "Skipped (`--no-system`).", ""]

    return format_system(rep.system, rep.ratios, PHYSICAL["lutna_pes_per_table"])


def _markdown(rep: PaperReport) -> str:
    t = rep.assumptions.cost_table()
    head = ["# LUT-NA paper comparison (Sen et al., arXiv 2406.05282)", "",
            (f"Regenerate every number in this file (and `paper_comparison.csv`) with: "
            f"`{rep.command}` ({rep.seconds.get('total', 0):.0f} s on one core here)."), "",
            f"Cost table: {t.provenance()}", "",
            "Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in rep.seconds.items()), ""]
    body = (_section_units(rep) + _section_sensitivity(rep) + _section_models(rep)
            + _section_mixed(rep) + _section_system(rep))
    tail = ["## 6. Limitations", "",
            ("- Unit costs are structural estimates from public figures (Horowitz, CACTI 7) and "
            "transistor counts, not circuit simulation; docs/energy.md derives every constant."),
            ("- The zoo weights are random (training CIFAR-10 is not feasible here); MAC counts "
            "and the mixed-precision proxy use them as they are."),
            ("- Leakage densities are assumptions (no public figure at hand); the system tables "
            "show leakage separately."), ""]
    return "\n".join(head + body + tail)


def _csv_rows(rep: PaperReport) -> list[list]:
    rows = [["units", "", "", k, rep.ratios[k], PAPER_CLAIMS[k], "x"] for k in KEYS]
    rows += [["physical", "", "", k, rep.physical[k], "", "x"] for k in rep.physical]
    for s in rep.steps:
        rows += [["accounts", "", s.label, k, s.ratios[k], "", "x"] for k in KEYS]
    for s, cyc in rep.alternatives:
        rows += [["sharing", "", s.label, k, s.ratios[k], "", "x"] for k in KEYS]
        rows.append(["sharing", "", s.label, "cycles_per_mac_step", cyc, "", "cycles"])
    for k, c in rep.units.items():
        rows += [["units", "", k, "energy_per_mac", c.energy_per_mac_pj, "", "pJ"],
                 ["units", "", k, "area", c.area_um2, "", "um2"]]
    for s in rep.sensitivity:
        rows += [["sensitivity", "", f"{s.label}: {s.change}", k, s.ratios[k], PAPER_CLAIMS[k],
                  "x"] for k in KEYS]
    for m in rep.models:
        for key in ("macs_dense", "macs_nonzero"):
            rows.append(["models", m["model"], "", key, m[key], "", "MACs"])
        for k in ("lutna", "lut", "mac"):
            rows.append(["models", m["model"], k, "energy_per_inference", m[f"{k}_energy_uj"],
                         "", "uJ"])
            rows.append(["models", m["model"], k, "area_x_macs", m[f"{k}_area_mm2_macs"], "",
                         "mm2"])
    mixed = ([("digits_" + rep.digits_info["net"], rep.digits)] if rep.digits else []) + list(
        rep.zoo_mixed.items())
    for m, r in mixed:
        for k, v in _mixed_ratios(r, rep.units).items():
            lo, hi = PAPER_MIXED[k]
            rows.append(["mixed", m, "", k, v, f"{lo:.2f}-{hi:.2f}", "x"])
        rows.append(["mixed", m, "", "approximated_mac_fraction", r.approximated_fraction, "",
                     ""])
    for r in rep.system:
        for metric, v, unit in (("latency", r.latency_us, "us"), ("energy", r.energy_pj / 1e6,
                                                                   "uJ"),
                                ("leakage", r.leakage_pj / 1e6, "uJ"),
                                ("area", r.area_um2 / 1e6, "mm2"), ("tops_per_w", r.tops_per_w,
                                                                    "TOPS/W"),
                                ("tops_per_mm2", r.tops_per_mm2, "TOPS/mm2"),
                                ("utilization", r.utilization, "")):
            rows.append(["system", r.model, r.kind, metric, v, "", unit])
        for c, v in r.energy_by_class_pj.items():
            rows.append(["system", r.model, r.kind, f"energy_{c}", v / 1e6, "", "uJ"])
    return rows


def write_report(rep: PaperReport, out_dir: Path) -> tuple[Path, Path]:
    """Write paper_comparison.md and .csv into ``out_dir`` (each atomically); returns both."""
    import io

    from archsim.report.outputs import atomic_write_text

    md, cp = report_paths(out_dir)
    atomic_write_text(md, _markdown(rep))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "model", "kind", "metric", "value", "paper", "unit"])
    for r in _csv_rows(rep):
        w.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in r])
    atomic_write_text(cp, buf.getvalue())
    return md, cp


def report_paths(out_dir: Path) -> tuple[Path, Path]:
    """paper_comparison.md and .csv in ``out_dir``, checked to be writable before any work."""
    from archsim.errors import OutputError
    from archsim.report.outputs import check_output_file

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a folder; choose another --out-dir")
    return (check_output_file(out_dir / "paper_comparison.md", "paper report"),
            check_output_file(out_dir / "paper_comparison.csv", "paper report"))



# ---- command line --------------------------------------------------------------------------
def register_cli(subparsers, name: str = "paper") -> argparse.ArgumentParser:
    """Add the ``archsim paper`` subcommand to an argparse ``subparsers``."""
    p = subparsers.add_parser(name, help="reproduce the LUT-NA paper's area/energy comparisons",
                              description="Reproduce, explain and extend the LUT-NA paper's "
                                          "area / energy claims.")
    p.add_argument("--json", action="store_true",
                   help="print the four headline ratios (the paper's account) as JSON and "
                        "write nothing")
    p.add_argument("--physical", action="store_true",
                   help="with --json: the four ratios of the physical account instead")
    p.add_argument("--table", default=PaperAssumptions.table,
                   help="cost table name or path (default horowitz_45nm)")
    p.add_argument("--sparsity", type=float, default=0.9,
                   help="weight sparsity of the zoo models (one-shot global magnitude)")
    p.add_argument("--models", nargs="+", default=list(ZOO), choices=list(ZOO))
    p.add_argument("--out-dir", default="reports", help="folder for paper_comparison.md/.csv")
    p.add_argument("--no-mixed", action="store_true", help="skip the mixed-precision study")
    p.add_argument("--no-system", action="store_true", help="skip the whole-system simulations")
    p.add_argument("--images", type=int, default=20,
                   help="CIFAR-10 images (foolbox, <= 20) for the zoo's mixed-precision proxy")
    p.set_defaults(func=_cmd_paper)
    return p


def _cmd_paper(args: argparse.Namespace) -> int:
    pa = PaperAssumptions(table=args.table)
    if args.json:
        ratios = headline_ratios(physical_assumptions(pa) if args.physical else pa)
        print(json.dumps({k: round(v, 4) for k, v in ratios.items()}, indent=2))
        return 0
    from archsim.pipeline import check_sparsity

    check_sparsity(args.sparsity)
    if not 1 <= args.images <= 20:
        from archsim.errors import UsageError

        raise UsageError(f"--images {args.images}: foolbox ships 20 CIFAR-10 images; give 1..20")
    report_paths(Path(args.out_dir))  # before any work
    report = build_report(pa, sparsity=args.sparsity, models=tuple(args.models),
                          mixed=not args.no_mixed, system=not args.no_system,
                          images=args.images, argv=_argv(args))
    md, csv_path = write_report(report, Path(args.out_dir))
    r = report.ratios
    print(f"LUT-NA vs traditional LUT: area {r['lutna_vs_lut_area']:.2f}x, energy "
          f"{r['lutna_vs_lut_energy']:.2f}x (paper 29.54x, 3.34x)")
    print(f"LUT-NA vs digital MAC:     area {r['lutna_vs_mac_area']:.2f}x, energy "
          f"{r['lutna_vs_mac_energy']:.2f}x (paper 1.23x, 1.80x)")
    ph = report.physical
    print(f"physical account (ported tables, accumulator): vs LUT area "
          f"{ph['lutna_vs_lut_area']:.3g}x, energy {ph['lutna_vs_lut_energy']:.3g}x; vs MAC "
          f"area {ph['lutna_vs_mac_area']:.3g}x, energy {ph['lutna_vs_mac_energy']:.3g}x")
    print(f"wrote {md} and {csv_path}")
    return 0


def _argv(args: argparse.Namespace) -> str:
    parts = ["archsim paper"]
    if args.table != PaperAssumptions.table:
        parts.append(f"--table {args.table}")
    if args.sparsity != 0.9:
        parts.append(f"--sparsity {args.sparsity}")
    if tuple(args.models) != ZOO:
        parts.append("--models " + " ".join(args.models))
    if args.out_dir != "reports":
        parts.append(f"--out-dir {args.out_dir}")
    if args.no_mixed:
        parts.append("--no-mixed")
    if args.no_system:
        parts.append("--no-system")
    if args.images != 20:
        parts.append(f"--images {args.images}")
    return " ".join(parts)
