"""Whole-system comparison for ``archsim paper``: LUT-NA, traditional LUT and MAC arrays
simulated end to end, so SRAM, interconnect, DRAM, table programming, leakage and
utilisation are counted next to the arithmetic units.

In:  :class:`~archsim.studies.paper.PaperAssumptions`, workload graphs by model name, the reference
     design points (``lutna_4x4`` and ``mac_4x4``: 16 tiles of 16 x 16 PEs, 500 MHz), the
     weight-stationary dataflow.
Out: ``design_points(pa)`` -> {kind: ArchConfig} (LUT-NA with the paper's table sharing; the
     LUT variant of the same chip with the same table sharing); ``simulate_system(pa,
     graphs)`` -> one :class:`SystemRow` per (model, kind) with latency, utilisation, energy
     and area by component class, TOPS / mm^2 and TOPS / W (1 MAC = 2 operations, counting
     the MACs actually executed: pruned weights are skipped); ``format_system(rows, ...)`` ->
     the markdown lines of the report's whole-system section.

Energy uses :func:`~archsim.energy.load_cost_model` with the paper's table cells and
weight-stationary reads, the physical table sharing (ported copies, whole-array reads) and
the 32-bit accumulator and PE pipeline registers (a real PE has them whatever its
multiplier): this section is the physical account.
"""

from __future__ import annotations

from dataclasses import dataclass

from archsim.design.arch import ArchConfig, load_arch
from archsim.energy import UnitAssumptions, load_cost_model

__all__ = ["KINDS", "SystemRow", "design_points", "format_system", "simulate_system"]

KINDS = ("lutna", "lut", "mac")
CLASSES = ("pe_array", "lut_bank", "sram", "gbuf", "noc_link", "dram", "vector")


@dataclass(frozen=True)
class SystemRow:
    """One model on one design point."""

    model: str
    kind: str
    arch: str
    latency_cycles: float
    clock_mhz: float
    macs_executed: int
    utilization: float
    energy_pj: float
    leakage_pj: float
    energy_by_class_pj: dict[str, float]
    area_um2: float
    area_by_class_um2: dict[str, float]
    program_entries: int
    source: str
    peak_tops: float

    @property
    def peak_tops_per_mm2(self) -> float:
        return self.peak_tops / (self.area_um2 / 1e6)

    @property
    def latency_us(self) -> float:
        return self.latency_cycles / self.clock_mhz

    @property
    def tops(self) -> float:
        return 2 * self.macs_executed / (self.latency_us * 1e-6) / 1e12

    @property
    def tops_per_w(self) -> float:
        return 2 * self.macs_executed / self.energy_pj  # ops / pJ == TOPS / W

    @property
    def tops_per_mm2(self) -> float:
        return self.tops / (self.area_um2 / 1e6)

    @property
    def compute_pj(self) -> float:
        """Dynamic + leakage energy of the PE arrays and LUT banks."""
        e = self.energy_by_class_pj
        return e.get("pe_array", 0.0) + e.get("lut_bank", 0.0)


def design_points(pa, base: str = "lutna_4x4", mac_base: str = "mac_4x4") -> dict[str, ArchConfig]:
    """The three chips of the physical account (``archsim.studies.paper.PHYSICAL``): LUT-NA
    with the shipped table organisation, the same chip with a monolithic-LUT PE kind (one
    bank, the same sharing), MAC."""
    from archsim.studies.paper import physical_assumptions

    pa = physical_assumptions(pa)
    lutna = load_arch(base).with_overrides({"tile.lut_banks.sharing": pa.sharing,
                                            "tile.lut_banks.table_read_ports": pa.table_ports})
    params = {"act_bits": pa.act_bits, "weight_bits": pa.weight_bits,
              "digit_bits": pa.digit_bits, "parallel_tables": pa.parallel_tables}
    lutna = lutna.with_overrides({"tile.pe_array.pe_params": params,
                                  "tile.lut_banks.pes_per_table": pa.lutna_pes_per_table})
    lut = lutna.with_overrides({
        "name": f"{lutna.name}_as_lut",
        "tile.pe_array.pe_kind": "lut",
        "tile.pe_array.pe_params": {"act_bits": pa.act_bits, "weight_bits": pa.weight_bits},
        "tile.lut_banks.count": 1,
        "tile.lut_banks.pes_per_table": pa.lut_pes_per_table,
    })
    mac = load_arch(mac_base).with_overrides({
        "tile.pe_array.pe_params": {"act_bits": pa.act_bits, "weight_bits": pa.weight_bits}})
    return {"lutna": lutna, "lut": lut, "mac": mac}


def simulate_system(pa, graphs: dict, dataflow: str = "ws") -> list[SystemRow]:
    """Simulate every graph on every design point and cost the runs (see module doc)."""
    from archsim.pipeline import simulate

    archs = design_points(pa)
    ua = UnitAssumptions(cell=pa.cell, weight_stationary=dataflow == "ws",
                         include_accumulator=True, adder_tree=pa.adder_tree)
    table = pa.cost_table()
    models = {k: load_cost_model(a, assumptions=ua, table=table) for k, a in archs.items()}
    rows = []
    for name, g in graphs.items():
        for kind in KINDS:
            arch, cm = archs[kind], models[kind]
            res = simulate(arch, g, dataflow=dataflow)
            e = cm.energy(res.actions, res.latency_cycles)
            a = cm.area()
            prog = sum(v for k, v in res.actions.items() if k.action == "program")
            peak = 2 * arch.n_tiles * arch.pes_per_tile * arch.clock_mhz * 1e6 / (
                arch.pe().cycles_per_mac * 1e12)
            rows.append(SystemRow(name, kind, arch.name, res.latency_cycles, arch.clock_mhz,
                                  res.macs_executed, res.utilization, e.total_pj, e.leakage_pj,
                                  dict(e.by_class_pj), a.total_um2, dict(a.by_class_um2), prog,
                                  e.source, peak))
    return rows


def format_system(rows: list[SystemRow], ratios: dict, lutna_pes_per_table: int) -> list[str]:
    """Markdown lines of the whole-system section of the paper report."""
    from archsim.studies.markdown import fmt as _f
    from archsim.studies.markdown import md_table as _table
    from archsim.studies.markdown import span as _span

    by = {(r.model, r.kind): r for r in rows}
    models = list(dict.fromkeys(r.model for r in rows))
    table = [[r.model, r.kind, _f(r.latency_us, 1), f"{100 * r.utilization:.0f}%",
             _f(r.energy_pj / 1e6, 1), _f(r.leakage_pj / 1e6, 1), _f(r.compute_pj / 1e6, 2),
             _f(r.area_um2 / 1e6, 2), _f(r.tops, 3), _f(r.tops_per_w, 3), _f(r.tops_per_mm2, 4)]
            for r in rows]
    surv = []
    for m in models:
        na, lut, mac = by[(m, "lutna")], by[(m, "lut")], by[(m, "mac")]
        surv.append([m, _f(lut.energy_pj / na.energy_pj), _f(mac.energy_pj / na.energy_pj),
                     _f(lut.compute_pj / na.compute_pj), _f(mac.compute_pj / na.compute_pj),
                     _f(lut.area_um2 / na.area_um2), _f(mac.area_um2 / na.area_um2)])
    classes = ("dram", "sram", "gbuf", "pe_array", "lut_bank", "noc_link", "vector")
    share = []

    def frac(kind: str, cls: tuple) -> float:
        part = sum(by[(m, kind)].energy_by_class_pj.get(c, 0) for m in models for c in cls)
        return part / sum(by[(m, kind)].energy_pj for m in models)

    for kind in ("lutna", "lut", "mac"):
        share.append([kind] + [f"{100 * frac(kind, (c,)):.1f}%" for c in classes])
    na0 = by[(models[0], "lutna")]
    e_mac = [by[(m, "mac")].energy_pj / by[(m, "lutna")].energy_pj for m in models]
    e_lut = [by[(m, "lut")].energy_pj / by[(m, "lutna")].energy_pj for m in models]
    mem = frac("lutna", ("dram", "sram", "gbuf"))
    lut0 = by[(models[0], "lut")]
    dens = []
    for kind in ("lutna", "lut", "mac"):
        rs = [by[(m, kind)] for m in models]
        dens.append([kind, _f(rs[0].peak_tops, 2), _f(rs[0].peak_tops_per_mm2, 3),
                     _f(sum(r.tops_per_mm2 for r in rs) / len(rs), 4),
                     _f(sum(r.tops_per_w for r in rs) / len(rs), 3),
                     _f(rs[0].area_by_class_um2.get("pe_array", 0) / 1e6
                        + rs[0].area_by_class_um2.get("lut_bank", 0) / 1e6, 2)])
    pe_ratio = [by[(m, "mac")].compute_pj / by[(m, "lutna")].compute_pj for m in models]
    pes = round(na0.peak_tops * 1e12 / (2 * na0.clock_mhz * 1e6))
    return ["## 5. Whole system: how much of the advantage survives", "",
            (f"Design points: `{na0.arch}` ({pes} LUT-NA PEs, {lutna_pes_per_table} PEs per "
            f"table set), the same chip with monolithic-LUT PEs (`{lut0.arch}`, the same "
            f"sharing) and `{by[(models[0], 'mac')].arch}`; {na0.clock_mhz:g} MHz, "
            "weight-stationary dataflow, layer-by-layer mapping, the graphs of section 3. "
            "Energy includes SRAM buffers, global buffer, mesh, DRAM, table programming, "
            "the accumulator and PE pipeline registers, and leakage over the simulated time; "
            "tables are shared as in the physical account of section 1. "
            "TOPS count 2 operations per executed (non-zero) MAC."), "",
            _table(["model", "PE kind", "latency us", "utilisation", "energy uJ", "leakage uJ",
                    "PE+LUT uJ", "area mm^2", "TOPS", "TOPS/W", "TOPS/mm^2"], table), "",
            "### Ratios at system level (times less for LUT-NA)", "",
            _table(["model", "energy vs LUT", "energy vs MAC", "PE+LUT energy vs LUT",
                    "PE+LUT energy vs MAC", "chip area vs LUT", "chip area vs MAC"], surv), "",
            "### Compute density and energy efficiency per PE kind", "",
            ("1 MAC = 2 operations. Peak: every PE busy every cycle; achieved: executed "
             "(non-zero) MACs over the simulated latency and energy, averaged over the models."),
            "", _table(["PE kind", "peak TOPS", "peak TOPS/mm^2", "achieved TOPS/mm^2",
                        "achieved TOPS/W", "PE + LUT area mm^2"], dens), "",
            "### Where the energy goes (all models)", "",
            _table(["PE kind"] + list(classes), share), "",
            (f"Of the unit-level advantage (energy {ratios['lutna_vs_mac_energy']:.2f}x vs "
            f"MAC, {ratios['lutna_vs_lut_energy']:.2f}x vs LUT) the PEs keep "
            f"{_span(pe_ratio)}x vs MAC once the accumulator and pipeline registers every PE "
            f"has are counted, and the whole system keeps {_span(e_mac)}x vs MAC and "
            f"{_span(e_lut)}x vs LUT: DRAM, SRAM and global-buffer traffic, identical for all "
            f"three PE kinds, take {100 * mem:.0f}% of LUT-NA's energy, and utilisation is low "
            f"({min(100 * r.utilization for r in rows):.0f}-"
            f"{max(100 * r.utilization for r in rows):.0f}%), so leakage over the run "
            "counts too. The monolithic LUT loses through its 2 Mbit tables (copies "
            "included): their "
            f"area ({lut0.area_by_class_um2.get('lut_bank', 0) / 1e6:.1f} mm^2 of "
            f"{lut0.area_um2 / 1e6:.1f}) leaks, and programming them "
            f"({lut0.program_entries:,} entries) costs time and energy."), ""]
