"""Structural cost of look-up tables and of each PE kind's arithmetic unit.

In:  a :class:`TableSpec` (entries, word width, cell kind, static index bits, read ports,
     PEs sharing the table) or a PE kind (``archsim.pe``), a
     :class:`~archsim.energy.tables.CostTable` and :class:`UnitAssumptions`.
Out: ``table_cost(spec, table)`` -> :class:`TableCost` (area, energy per read, energy per
     written entry, leakage, area breakdown); ``pe_unit_cost(kind, table, pes_per_table,
     assumptions)`` -> :class:`UnitCost` (energy per MAC, area per PE, breakdown).

Table model (docs/energy.md has the derivation of every constant):

- *read energy* = word bits x active entries x ``lut_bank.read_pj_per_cell``. The active
  entries are ``entries >> static_index_bits``: index bits that stay fixed while operands
  stream (the weight half of a product-table index under a weight-stationary dataflow) select
  a sub-array once, and only its 2^(n - s) rows switch per read. SRAM tables are capped at the
  macro energy of the SRAM curve for their capacity (``sram.read_pj_per_64b`` x
  (w/64)^``word_exponent``), which is what a random access to a large table costs.
- *area*: ``sram`` cells take the SRAM macro area for the capacity (periphery included);
  ``latch`` and ``rom`` tables are entries x bits x cell area plus a square-ish organisation's
  periphery counted in transistors: one 8-transistor row driver per row, a column mux of
  6-transistor mux2s per output bit, a 4-transistor output driver per bit. Each extra read
  port adds ``extra_port_area_fraction`` to the storage and replicates the periphery.
- *sharing*: a table shared by ``pes_per_table`` PEs is charged 1/``pes_per_table`` of its
  area and leakage per PE; every look-up still pays one read.
- *writes* (programming) cost ``write_to_read`` x one random-access read per entry; ROM
  tables cannot be written (their contents are fixed at fabrication): 0.

Arithmetic units per PE kind (energy per MAC, area per PE):
``mac``: an n_a x n_b multiplier (``multiplier`` curve in n_a n_b) + accumulator;
``lut``: one 2^(n_a+n_b)-entry x (n_a+n_b)-bit product table + accumulator;
``lutna`` / ``alutna``: one 2^(2k) x 2k-bit digit table per parallel look-up (one table used
in sequence otherwise), the shift-add tree of the kept partial products, an optional bias add,
and the accumulator. With ``adder_tree="merged"`` partial products whose bit ranges do not
overlap are concatenated for free and the remaining operands are added pairwise, each add
spanning from the higher operand's lowest bit to the top of the wider operand (its carry-out
is free; ``shift_add_widths``); ``"chain"`` charges L - 1 full product-width adds, as the PE
kind's operation counts read.

LUT organisation (``organisation``, ``archsim.pe.organisation``): ``"product"`` (default) costs
the PE kind's own tables as above. ``"weight"`` (exact ``lutna`` only) costs what a
weight-programmed PE holds: one private 2^k-entry x (weight_bits + k)-bit table of W*x per PE
(never shared: ``pes_per_table`` must be 1), indexed by the k-bit activation digit alone (0
static index bits: the weight is in the contents), read once per activation digit; the
act_digits partial products |W| x a_i, shifted by k*i, are combined by the same shift-add
machinery. As in the product organisation the stored word is sign-magnitude (W's sign + a
(weight_bits - 1 + k)-bit magnitude), the adds combine magnitudes and the product's sign is
applied by the conditional negate folded into the accumulate. Programming a table writes its 2^k
entries per weight fold (the simulator counts them); each entry costs that table's write energy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from archsim.energy.tables import CostError, CostTable
from archsim.pe.organisation import effective_ops, effective_tables

__all__ = [
    "ADDER_TREES",
    "CELLS",
    "ORGANISATIONS",
    "TableCost",
    "TableSpec",
    "UnitAssumptions",
    "UnitCost",
    "adder_cost",
    "pe_table_spec",
    "pe_unit_cost",
    "shift_add_widths",
    "sign_logic_cost",
    "table_cost",
    "weight_partial_terms",
]

CELLS = ("sram", "latch", "rom")
ADDER_TREES = ("merged", "chain")
ORGANISATIONS = ("product", "weight")
_ROW_DRIVER_T, _MUX2_T, _OUT_T = 8, 6, 4  # transistors: row driver, mux2, output driver


def _check_int(name: str, v, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return v


@dataclass(frozen=True)
class TableSpec:
    """One physical look-up table."""

    entries: int
    word_bits: int
    cell: str = "sram"
    static_index_bits: int = 0
    read_ports: int = 1
    pes_per_table: int = 1

    def __post_init__(self) -> None:
        _check_int("TableSpec.entries", self.entries, 2)
        if self.entries & (self.entries - 1):
            raise ValueError(f"TableSpec.entries must be a power of two, got {self.entries}")
        _check_int("TableSpec.word_bits", self.word_bits, 1)
        if self.cell not in CELLS:
            raise ValueError(f"TableSpec.cell must be one of {CELLS}, got {self.cell!r}")
        _check_int("TableSpec.static_index_bits", self.static_index_bits, 0)
        if self.static_index_bits > self.index_bits:
            raise ValueError(f"TableSpec.static_index_bits={self.static_index_bits} exceeds the "
                             f"{self.index_bits} index bits of a {self.entries}-entry table")
        _check_int("TableSpec.read_ports", self.read_ports, 1)
        _check_int("TableSpec.pes_per_table", self.pes_per_table, 1)

    @property
    def index_bits(self) -> int:
        return self.entries.bit_length() - 1

    @property
    def active_entries(self) -> int:
        """Rows that switch on one read (the static index bits pick the sub-array)."""
        return self.entries >> self.static_index_bits

    @property
    def bits(self) -> int:
        return self.entries * self.word_bits

    @property
    def capacity_bytes(self) -> float:
        return self.bits / 8


@dataclass(frozen=True)
class TableCost:
    """Costs of one physical table; ``*_per_pe`` divide by the sharing factor."""

    spec: TableSpec
    area_um2: float
    read_pj: float
    write_pj_per_entry: float
    leakage_uw: float
    area_breakdown_um2: dict[str, float]
    read_model: str

    @property
    def area_per_pe_um2(self) -> float:
        return self.area_um2 / self.spec.pes_per_table

    @property
    def leakage_per_pe_uw(self) -> float:
        return self.leakage_uw / self.spec.pes_per_table


def _word_factor(word_bits: int, exponent: float) -> float:
    """Energy of a w-bit access relative to a 64-bit one."""
    return (word_bits / 64) ** exponent if word_bits <= 64 else word_bits / 64


def table_cost(spec: TableSpec, table: CostTable) -> TableCost:
    """Area, read / write energy and leakage of one table (see module doc)."""
    w, e, ports = spec.word_bits, spec.entries, spec.read_ports
    port_f = table.value("lut_bank", "extra_port_area_fraction") if ports > 1 else 0.0
    breakdown: dict[str, float] = {}
    if spec.cell == "sram":
        breakdown["sram_macro"] = table.value("sram", "area_um2", spec.capacity_bytes) * (
            1 + port_f * (ports - 1))
    else:
        cell_key = "latch_um2_per_bit" if spec.cell == "latch" else "rom_um2_per_bit"
        per_bit = table.value("lut_bank", cell_key)
        breakdown["storage"] = e * w * per_bit * (1 + port_f * (ports - 1))
        a_t = table.value("lut_bank", "periphery_um2_per_transistor")
        rows = 1 << math.ceil(spec.index_bits / 2)
        cols_per_bit = e // rows
        breakdown["row_decoder"] = ports * rows * _ROW_DRIVER_T * a_t
        breakdown["column_mux"] = ports * w * (cols_per_bit - 1) * _MUX2_T * a_t
        breakdown["output"] = ports * w * _OUT_T * a_t
    area = sum(breakdown.values())

    def read(active: int) -> tuple[float, str]:
        if table.has("lut_bank", "lookup_pj"):
            return table.value("lut_bank", "lookup_pj"), "explicit lut_bank.lookup_pj"
        pj = w * active * table.value("lut_bank", "read_pj_per_cell")
        model = f"{w} bits x {active} active entries x lut_bank.read_pj_per_cell"
        if spec.cell == "sram":
            macro = table.value("sram", "read_pj_per_64b", spec.capacity_bytes) * _word_factor(
                w, table.value("sram", "word_exponent"))
            if macro < pj:
                pj, model = macro, "SRAM macro read (sram.read_pj_per_64b at the table capacity)"
        return pj, model

    read_pj, model = read(spec.active_entries)
    if spec.cell == "rom":
        write_pj = 0.0
    elif table.has("lut_bank", "program_pj"):
        write_pj = table.value("lut_bank", "program_pj")
    else:
        write_pj = table.value("lut_bank", "write_to_read") * read(e)[0]
    dens = table.value("lut_bank", "leakage_uw_per_um2")
    if spec.cell == "rom":
        leak = (breakdown["storage"] * table.value("lut_bank", "rom_leakage_uw_per_um2")
                + (area - breakdown["storage"]) * dens)
    else:
        leak = area * dens
    return TableCost(spec, area, read_pj, write_pj, leak, breakdown, model)


def adder_cost(bits: int, table: CostTable) -> tuple[float, float]:
    """(energy pJ, area um^2) of one ``bits``-wide integer add (adder curves)."""
    return table.value("adder", "energy_pj", bits), table.value("adder", "area_um2", bits)


SIGN_LOGIC_BASIS = ("adder.energy_pj at 8 bits / 8: one bit slice of an 8-bit adder, whose "
                    "sum XOR bounds the XOR of two sign bits")


def sign_logic_cost(table: CostTable) -> float:
    """Energy (pJ) of the sign logic one signed-activation LUT-NA MAC adds: the XOR of the
    activation's and the weight's sign bits that picks add or subtract in the accumulator,
    priced as one bit slice of an 8-bit adder (``SIGN_LOGIC_BASIS``; docs/energy.md)."""
    return table.value("adder", "energy_pj", 8) / 8


def shift_add_widths(terms: list[tuple[int, int]], mode: str = "merged") -> list[int]:
    """Widths of the adds that sum partial products ``(shift, max value)`` (see module doc)."""
    if mode not in ADDER_TREES:
        raise ValueError(f"adder_tree must be one of {ADDER_TREES}, got {mode!r}")
    terms = [(s, m) for s, m in terms if m > 0]
    if len(terms) <= 1:
        return []
    total = sum(m << s for s, m in terms)
    if mode == "chain":
        return [total.bit_length()] * (len(terms) - 1)
    # concatenate terms whose bit ranges do not overlap (best fit), then add operand pairs
    ops: list[tuple[int, int]] = []  # (lowest bit, max value) of each concatenated operand
    for s, m in sorted(terms):
        fits = [i for i, (_lo, mv) in enumerate(ops) if mv.bit_length() <= s]
        if fits:
            i = max(fits, key=lambda j: ops[j][1].bit_length())
            ops[i] = (ops[i][0], ops[i][1] + (m << s))
        else:
            ops.append((s, m << s))
    widths = []
    while len(ops) > 1:
        best = None
        for i in range(len(ops)):
            for j in range(i + 1, len(ops)):
                (la, ma), (lb, mb) = ops[i], ops[j]
                width = max(ma.bit_length(), mb.bit_length()) - max(la, lb)
                if best is None or width < best[0]:
                    best = (width, i, j)
        width, i, j = best
        merged = (min(ops[i][0], ops[j][0]), ops[i][1] + ops[j][1])
        ops = [o for k, o in enumerate(ops) if k not in (i, j)] + [merged]
        widths.append(width)
    return widths


@dataclass(frozen=True)
class UnitAssumptions:
    """How an arithmetic unit is built (the knobs the paper comparison varies)."""

    cell: str = "sram"
    weight_stationary: bool = True
    include_accumulator: bool = True
    adder_tree: str = "merged"
    acc_bits: int = 32

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"UnitAssumptions.cell must be one of {CELLS}, got {self.cell!r}")
        if self.adder_tree not in ADDER_TREES:
            raise ValueError(f"UnitAssumptions.adder_tree must be one of {ADDER_TREES}, "
                             f"got {self.adder_tree!r}")
        _check_int("UnitAssumptions.acc_bits", self.acc_bits, 2)


@dataclass(frozen=True)
class UnitCost:
    """One PE's arithmetic unit: energy per MAC, area (shared tables amortised), breakdown."""

    kind: str
    energy_per_mac_pj: float
    area_um2: float
    breakdown: dict[str, float]
    lookups_per_mac: float = 0.0
    add_widths: tuple[int, ...] = ()
    tables_per_pe: int = 0
    table: TableCost | None = None
    leakage_uw: float = 0.0
    notes: tuple[str, ...] = field(default=())
    organisation: str = "product"


def _check_organisation(kind, organisation: str, pes_per_table: int) -> None:
    """Reject an unknown organisation, and a weight organisation the model cannot cost."""
    if organisation not in ORGANISATIONS:
        raise ValueError(f"organisation must be one of {ORGANISATIONS}, got {organisation!r}")
    if organisation != "weight":
        return
    from archsim.pe import LUTNA

    if not isinstance(kind, LUTNA):
        raise CostError(f"organisation 'weight' needs the exact 'lutna' PE kind, not "
                        f"{getattr(kind, 'label', kind)!r}")
    if pes_per_table != 1:
        raise CostError(f"organisation 'weight' holds one table per PE (its own stationary "
                        f"weight); pes_per_table must be 1, got {pes_per_table}")


def weight_partial_terms(kind) -> list[tuple[int, int]]:
    """(shift, max magnitude) of the partial products |W| x a_i of the weight organisation."""
    w_max = (1 << kind.weight_mag_bits) - 1
    k = kind.digit_bits
    return [(k * i, m * w_max) for i, m in enumerate(kind.act_digit_max)]


def pe_table_spec(kind, assumptions: UnitAssumptions, pes_per_table: int = 1,
                  organisation: str = "product") -> TableSpec | None:
    """The physical table a PE kind reads (None for kinds without tables).

    ``organisation="weight"``: the per-PE 2^k x (weight_bits + k)-bit W*x table, indexed by
    the activation digit only (0 static index bits whatever the dataflow)."""
    from archsim.pe import MAC, DigitLUTKind, MonolithicLUT

    _check_organisation(kind, organisation, pes_per_table)
    if organisation == "weight":
        if assumptions.cell == "rom":
            raise CostError("organisation 'weight' rewrites its tables for every weight fold; "
                            "ROM cells cannot be written (use sram or latch cells)")
        inv = effective_tables(kind, organisation)
        return TableSpec(inv.entries, inv.word_bits, assumptions.cell, 0, 1, pes_per_table)
    if isinstance(kind, MAC):
        return None
    if isinstance(kind, MonolithicLUT):
        static = kind.weight_bits if assumptions.weight_stationary else 0
        return TableSpec(kind.entries, kind.word_bits, assumptions.cell, static, 1, pes_per_table)
    if isinstance(kind, DigitLUTKind):
        inv = kind.tables()
        static = kind.digit_bits if assumptions.weight_stationary else 0
        return TableSpec(inv.entries, inv.word_bits, assumptions.cell, static, 1, pes_per_table)
    raise CostError(f"no structural cost model for PE kind {getattr(kind, 'label', kind)!r}; "
                    f"supported: mac, lut, lutna, alutna")


def pe_unit_cost(kind, table: CostTable, pes_per_table: int = 1,
                 assumptions: UnitAssumptions | None = None,
                 organisation: str = "product") -> UnitCost:
    """Energy per MAC and area per PE of ``kind``'s arithmetic unit (see module doc)."""
    from archsim.pe import MAC, DigitLUTKind, MonolithicLUT

    a = assumptions or UnitAssumptions()
    _check_int("pes_per_table", pes_per_table, 1)
    _check_organisation(kind, organisation, pes_per_table)
    bd: dict[str, float] = {}
    logic_area = 0.0
    lookups, widths, n_tables, tcost = 0.0, [], 0, None
    if organisation == "weight":
        tcost = table_cost(pe_table_spec(kind, a, pes_per_table, organisation), table)
        lookups = float(effective_ops(kind, organisation).lookups)
        n_tables = effective_tables(kind, organisation).n_tables
        bd["lookup_pj"] = lookups * tcost.read_pj
        bd["tables_um2"] = n_tables * tcost.area_per_pe_um2
        widths = shift_add_widths(weight_partial_terms(kind), a.adder_tree)
        bd["adders_pj"] = sum(adder_cost(b, table)[0] for b in widths)
        bd["adders_um2"] = sum(adder_cost(b, table)[1] for b in widths)
        logic_area += bd["adders_um2"]
    elif isinstance(kind, MAC):
        bits = kind.act_bits * kind.weight_bits
        bd["mult_pj"] = table.value("multiplier", "energy_pj", bits)
        bd["mult_um2"] = table.value("multiplier", "area_um2", bits)
        logic_area += bd["mult_um2"]
    elif isinstance(kind, (MonolithicLUT, DigitLUTKind)):
        spec = pe_table_spec(kind, a, pes_per_table)
        tcost = table_cost(spec, table)
        lookups = float(kind.ops_per_mac().lookups)
        n_tables = kind.tables().n_tables
        bd["lookup_pj"] = lookups * tcost.read_pj
        bd["tables_um2"] = n_tables * tcost.area_per_pe_um2
        if isinstance(kind, DigitLUTKind):
            k = kind.digit_bits
            terms = [(k * (i + j), kind.act_digit_max[i] * kind.weight_digit_max[j])
                     for i, j in kind.kept_pairs]
            widths = shift_add_widths(terms, a.adder_tree)
            if kind.bias_per_mac:
                widths.append((sum(m << s for s, m in terms) + kind.bias_per_mac).bit_length())
            bd["adders_pj"] = sum(adder_cost(b, table)[0] for b in widths)
            bd["adders_um2"] = sum(adder_cost(b, table)[1] for b in widths)
            logic_area += bd["adders_um2"]
    else:
        pe_table_spec(kind, a, pes_per_table)  # raises with the supported kinds
    if a.include_accumulator:
        bd["accumulator_pj"], bd["accumulator_um2"] = adder_cost(a.acc_bits, table)
        logic_area += bd["accumulator_um2"]
    energy = sum(v for k, v in bd.items() if k.endswith("_pj"))
    area = sum(v for k, v in bd.items() if k.endswith("_um2"))
    leak = (logic_area - bd.get("mult_um2", 0.0)) * table.value("adder", "leakage_uw_per_um2")
    if "mult_um2" in bd:
        leak += bd["mult_um2"] * table.value("multiplier", "leakage_uw_per_um2")
    if tcost is not None:
        leak += n_tables * tcost.leakage_per_pe_uw
    return UnitCost(kind.label, energy, area, bd, lookups, tuple(widths), n_tables, tcost, leak,
                    organisation=organisation)
