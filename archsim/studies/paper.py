"""``archsim paper``: reproduce, explain and extend the LUT-NA paper's area / energy claims.

In:  a cost table (default ``horowitz_45nm``) and :class:`PaperAssumptions` (how the
     arithmetic units are built: table cells, weight-stationary reads, sharing factors,
     counting convention); for the per-model, mixed-precision and system sections the
     ``workloads`` zoo (imported lazily; torch).
Out: ``headline_ratios(pa)`` -> the four "times less" ratios of LUT-NA against a
     traditional monolithic LUT and a digital MAC, counted as the paper counts them (unit cost
     per MAC; per inference = unit cost x non-zero MACs, the same ratio for every model when
     all layers use one PE kind); ``sensitivity(pa)`` -> how each assumption moves them;
     ``model_figures`` -> absolute per-model figures; ``register_cli`` adds ``archsim paper``,
     which writes ``reports/paper_comparison.md`` and ``.csv``
     (``archsim.studies.paper_report``) or, with ``--json``, prints the four ratios.

The arithmetic-unit part runs in well under a second; the mixed-precision study
(``archsim.studies.mixed_precision``) and the whole-system comparison
(``archsim.studies.paper_system``) take a few minutes on one core and can be skipped with
``--no-mixed`` / ``--no-system``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from archsim.design.schema import dump, parse
from archsim.energy import (
    CostError,
    CostTable,
    UnitAssumptions,
    UnitCost,
    load_cost_table,
    pe_unit_cost,
)
from archsim.pe import pe_kind

__all__ = [
    "PAPER_CLAIMS",
    "PHYSICAL",
    "PAPER_MIXED",
    "ZOO",
    "PaperAssumptions",
    "SensitivityRow",
    "deviation",
    "account_steps",
    "headline_ratios",
    "physical_assumptions",
    "sharing_alternatives",
    "model_figures",
    "sensitivity",
    "unit_costs",
    "with_entry",
]

PAPER_CLAIMS = {"lutna_vs_lut_area": 29.54, "lutna_vs_lut_energy": 3.34,
                "lutna_vs_mac_area": 1.23, "lutna_vs_mac_energy": 1.80}
PAPER_MIXED = {"vs_lut_area": (32.22, 50.95), "vs_lut_energy": (3.68, 6.25),
               "vs_mac_area": (1.35, 2.14), "vs_mac_energy": (1.99, 3.38)}
ZOO = ("vgg11", "vgg19", "resnet18", "resnet34", "googlenet")


@dataclass(frozen=True)
class PaperAssumptions:
    """The stated assumptions under which the unit costs reproduce the paper (see report)."""

    table: str = "horowitz_45nm"
    cell: str = "sram"
    weight_stationary: bool = True
    lutna_pes_per_table: int = 64
    lut_pes_per_table: int = 256
    include_accumulator: bool = False
    adder_tree: str = "merged"
    parallel_tables: bool = True
    digit_bits: int = 4
    act_bits: int = 8
    weight_bits: int = 9
    read_pj_per_cell: float | None = None  # None: the table's own value
    sharing: str = "ideal"  # the paper's counting; see PHYSICAL for the simulator's
    table_ports: int = 1  # read ports per table copy (replicated / time_multiplexed)

    @property
    def stretch_cycles(self) -> int:
        """Cycles per MAC step a time-multiplexed LUT-NA table set adds (1: none)."""
        if self.sharing != "time_multiplexed":
            return 1
        return -(-self.lutna_pes_per_table // min(self.table_ports, self.lutna_pes_per_table))

    def unit_assumptions(self) -> UnitAssumptions:
        return UnitAssumptions(cell=self.cell, weight_stationary=self.weight_stationary,
                               include_accumulator=self.include_accumulator,
                               adder_tree=self.adder_tree)

    def kind(self, name: str, **extra):
        bits = {"act_bits": self.act_bits, "weight_bits": self.weight_bits}
        if name in ("lutna", "alutna"):
            bits.update(digit_bits=self.digit_bits, parallel_tables=self.parallel_tables)
        return pe_kind(name, **bits, **extra)

    def cost_table(self) -> CostTable:
        t = _table(self.table)
        if self.read_pj_per_cell is not None:
            t = with_entry(t, "lut_bank", "read_pj_per_cell", self.read_pj_per_cell,
                           "sensitivity override")
        return t

    def describe(self) -> list[tuple[str, str, str]]:
        """(assumption, value, why) rows for the report."""
        t = self.cost_table()
        return [
            ("cost table", f"{t.name} ({t.technology_node_nm:g} nm, {t.voltage_v:g} V)",
             ("Horowitz ISSCC 2014 arithmetic; SRAM / LUT figures derived from CACTI 7 "
             "(arch_configs/energy/)")),
            ("operands", (f"{self.act_bits}-bit activations, {self.weight_bits}-bit weights, "
             f"{self.digit_bits}-bit digits"), "the paper's precision"),
            ("table cells", self.cell, ("programmable tables (the simulator programs them); "
             "CACTI macro area per capacity")),
            ("table reads", "weight-stationary" if self.weight_stationary else "random access",
             ("the weight part of the index is fixed while activations stream, so only the "
             "2^(index - weight bits) rows it selects switch per read")),
            ("table sharing", _SHARING_DESC.get(self.sharing, self.sharing),
             ("the paper's counting: one single-port table serves all sharing PEs at once"
              if self.sharing == "ideal" else "docs/energy.md 'Shared tables'")),
            ("LUT-NA sharing", f"{self.lutna_pes_per_table} PEs per table set",
             ("one bank of 4 ports x 64 look-ups/cycle (shipped lutna configs) serves 256 "
             "look-ups/cycle; LUT-NA needs 4 per MAC")),
            ("LUT sharing", f"{self.lut_pes_per_table} PEs per monolithic table",
             ("the same bank bandwidth serves 256 PEs at 1 look-up per MAC (one table per "
             "16x16 tile)")),
            ("look-ups", "parallel (one table per digit pair)" if self.parallel_tables
             else "sequential (one table, 4 cycles per MAC)", "the paper's LUT-NA unit"),
            ("counting", "multiplier units only" if not self.include_accumulator
             else "multiplier + 32-bit accumulator", ("the paper compares Wallace-tree / "
             "array multipliers; the accumulator is the same in all three")),
            ("shift-add tree", self.adder_tree, ("non-overlapping partial products are "
             "concatenated; adds span only the overlapping bits")),
        ]


_SHARING_DESC = {
    "ideal": "paper's assumption: one single-port table per set, 16-row reads",
    "multiport": "multiport: one copy with a read port per sharing PE",
    "replicated": "replicated: ceil(S / ports) copies",
    "time_multiplexed": "time_multiplexed: one copy, ceil(S / ports) cycles per MAC step",
    "private_subarray": "private_subarray: a private 16-row slice per PE + a master table",
}

# The physical account: the units as the shipped design points build them (arch_configs/
# lutna_*.yaml: 16 PEs per table set, 4 copies of a 4-read-port table; a PE has the 32-bit
# accumulator whatever its multiplier); the monolithic LUT gets the same tile organisation.
PHYSICAL = {"sharing": "replicated", "table_ports": 4, "lutna_pes_per_table": 16,
            "lut_pes_per_table": 16, "include_accumulator": True}


@lru_cache(maxsize=8)
def _table(name: str) -> CostTable:
    return load_cost_table(name)


def with_entry(table: CostTable, cls: str, key: str, value: float, source: str) -> CostTable:
    """A copy of ``table`` with ``classes.<cls>.<key>`` set to a scalar (validated)."""
    data = dump(table)
    data["classes"][cls][key] = {"value": value, "source": source}
    return parse(CostTable, data, table.path, error=CostError)


def unit_costs(pa: PaperAssumptions, variants: tuple[str, ...] = ()) -> dict[str, UnitCost]:
    """Unit costs of mac, lut, lutna and the given mixed-precision variants."""
    t, ua = pa.cost_table(), pa.unit_assumptions()
    sh = (pa.sharing, pa.table_ports)
    out = {
        "mac": pe_unit_cost(pa.kind("mac"), t, 1, ua),
        "lut": pe_unit_cost(pa.kind("lut"), t, pa.lut_pes_per_table, ua, "product", *sh),
        "lutna": pe_unit_cost(pa.kind("lutna"), t, pa.lutna_pes_per_table, ua, "product", *sh),
    }
    for v in variants:
        if v == "exact":
            k = pa.kind("lutna")
        else:
            approx, _, bias = v.partition("+")
            k = pa.kind("alutna", approx=approx, bias_comp=bias == "bias")
        out[v] = pe_unit_cost(k, t, pa.lutna_pes_per_table, ua, "product", *sh)
    return out


def headline_ratios(pa: PaperAssumptions | None = None) -> dict[str, float]:
    """The four "times less" ratios (LUT-NA against LUT and MAC, area and energy)."""
    u = unit_costs(pa or PaperAssumptions())
    na, lut, mac = u["lutna"], u["lut"], u["mac"]
    return {
        "lutna_vs_lut_area": lut.area_um2 / na.area_um2,
        "lutna_vs_lut_energy": lut.energy_per_mac_pj / na.energy_per_mac_pj,
        "lutna_vs_mac_area": mac.area_um2 / na.area_um2,
        "lutna_vs_mac_energy": mac.energy_per_mac_pj / na.energy_per_mac_pj,
    }


def physical_assumptions(pa: PaperAssumptions | None = None) -> PaperAssumptions:
    """``pa`` with the simulator's physical table organisation and PE (``PHYSICAL``)."""
    return replace(pa or PaperAssumptions(), **PHYSICAL)


def account_steps(pa: PaperAssumptions | None = None) -> list[SensitivityRow]:
    """From the paper's account to the physical one, one change at a time (cumulative)."""
    pa = pa or PaperAssumptions()
    p1 = replace(pa, sharing=PHYSICAL["sharing"], table_ports=PHYSICAL["table_ports"])
    p2 = replace(p1, lutna_pes_per_table=PHYSICAL["lutna_pes_per_table"],
                 lut_pes_per_table=PHYSICAL["lut_pes_per_table"])
    p3 = physical_assumptions(pa)
    ports = PHYSICAL["table_ports"]
    steps = [
        ("paper account", "the paper's assumptions (section 1)", pa),
        ("+ ported tables", f"tables serve their PEs with ports: replicated copies of {ports} "
         f"read ports, every read switches the whole array (paper sharing: "
         f"{pa.lutna_pes_per_table} / {pa.lut_pes_per_table} PEs)", p1),
        ("+ shipped sharing", f"{PHYSICAL['lutna_pes_per_table']} PEs per table set for both "
         f"(arch_configs/lutna_*.yaml)", p2),
        ("+ accumulator", "every unit has the 32-bit accumulator (= physical account)", p3),
    ]
    return [SensitivityRow(label, change, headline_ratios(p)) for label, change, p in steps]


def sharing_alternatives(pa: PaperAssumptions | None = None) -> list[tuple[SensitivityRow, int]]:
    """The physical account under each sharing option: (ratios, LUT-NA cycles per MAC step)."""
    base = physical_assumptions(pa)
    cases = [("multiport", 1), ("replicated", 1), ("replicated", 4), ("time_multiplexed", 1),
             ("time_multiplexed", 4), ("private_subarray", 1)]
    out = []
    for sharing, ports in cases:
        p = replace(base, sharing=sharing, table_ports=ports)
        label = sharing if sharing in ("multiport", "private_subarray") else (
            f"{sharing}, {ports} port(s)")
        out.append((SensitivityRow(label, _SHARING_DESC[sharing], headline_ratios(p)),
                    p.stretch_cycles))
    return out


def deviation(ratios: dict[str, float]) -> float:
    """Largest relative deviation from the paper's four ratios."""
    return max(abs(ratios[k] / v - 1) for k, v in PAPER_CLAIMS.items())


@dataclass(frozen=True)
class SensitivityRow:
    label: str
    change: str
    ratios: dict[str, float]

    @property
    def deviation(self) -> float:
        return deviation(self.ratios)


def _cacti_lut_cell(pa: PaperAssumptions) -> float:
    """read_pj_per_cell calibrated on CACTI's 256 x 8-bit LUT point (0.79 pJ at 65 nm hp),
    scaled to the table's node by the CACTI 65/45 nm hp ratio (2.34 / 1.39)."""
    per_cell_65 = 0.79 / (256 * 8)
    return per_cell_65 if pa.cost_table().technology_node_nm >= 65 else per_cell_65 * 1.39 / 2.34


def _horowitz_8kb_cell(pa: PaperAssumptions) -> float:
    """read_pj_per_cell from Horowitz's 8 KB SRAM (10 pJ per 64-bit read, 1024 rows)."""
    v = 10.0 / (64 * 1024)
    return v if pa.cost_table().technology_node_nm < 65 else v * 1.69


def sensitivity(pa: PaperAssumptions | None = None) -> list[SensitivityRow]:
    """The four ratios with one assumption changed at a time (first row: as stated)."""
    pa = pa or PaperAssumptions()
    cases = [
        ("as stated", "-", pa),
        ("node", "cacti_65nm table (65 nm, CACTI 7 memories)", replace(pa, table="cacti_65nm")),
        ("table cells", "latch (register-file) cells", replace(pa, cell="latch")),
        ("table cells", "ROM (hard-wired products)", replace(pa, cell="rom")),
        ("table reads", "random access (no static index bits)",
         replace(pa, weight_stationary=False)),
        ("LUT-NA sharing", "16 PEs per table set", replace(pa, lutna_pes_per_table=16)),
        ("LUT-NA sharing", "256 PEs per table set", replace(pa, lutna_pes_per_table=256)),
        ("LUT sharing", "128 PEs per monolithic table", replace(pa, lut_pes_per_table=128)),
        ("LUT sharing", "1024 PEs per monolithic table", replace(pa, lut_pes_per_table=1024)),
        ("sharing", "equal: 64 PEs per table for both", replace(pa, lut_pes_per_table=64)),
        ("sharing", "equal: 256 PEs per table for both", replace(pa, lutna_pes_per_table=256)),
        ("sharing", "none: a table per PE", replace(pa, lutna_pes_per_table=1,
                                                    lut_pes_per_table=1)),
        ("look-ups", "sequential (one table, 4 cycles per MAC)",
         replace(pa, parallel_tables=False)),
        ("counting", "accumulator included in every unit", replace(pa, include_accumulator=True)),
        ("shift-add tree", "chain of 3 full-width adds", replace(pa, adder_tree="chain")),
        ("read energy", "per cell from CACTI's 256 x 8-bit LUT point",
         replace(pa, read_pj_per_cell=_cacti_lut_cell(pa))),
        ("read energy", "per cell from Horowitz's 8 KB SRAM",
         replace(pa, read_pj_per_cell=_horowitz_8kb_cell(pa))),
        ("digit width", "2-bit digits (16 look-ups of 16-entry tables)",
         replace(pa, digit_bits=2)),
    ]
    return [SensitivityRow(label, change, headline_ratios(p)) for label, change, p in cases]


def model_figures(pa: PaperAssumptions, sparsity: float = 0.9, models=ZOO, seed: int = 0,
                  graphs: dict | None = None) -> list[dict]:
    """Per model: dense and non-zero MACs and per-inference energy / area of each unit (the
    paper's counting). ``graphs`` may supply already built workload graphs by name."""
    u = unit_costs(pa)
    rows = []
    for name in models:
        g = (graphs or {}).get(name)
        if g is None:
            from archsim import zoo

            g = zoo.build(name, sparsity=sparsity, seed=seed)
        nodes = [n for n in g.nodes if g.nodes[n]["op"] in ("conv", "linear")]
        dense = sum(int(g.nodes[n]["macs_dense"]) for n in nodes)
        nz = sum(int(g.nodes[n]["macs_nonzero"]) for n in nodes)
        row = {"model": name, "macs_dense": dense, "macs_nonzero": nz,
               "mac_reduction": 1 - nz / dense, "pruning": g.graph.get("pruning", "")}
        for k in ("lutna", "lut", "mac"):
            row[f"{k}_energy_uj"] = nz * u[k].energy_per_mac_pj / 1e6
            row[f"{k}_area_mm2_macs"] = nz * u[k].area_um2 / 1e6
        rows.append(row)
    return rows
