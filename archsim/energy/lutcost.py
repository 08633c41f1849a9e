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
- *sharing* (``TableSpec.sharing``; docs/energy.md "Shared tables"): a table set read by
  S = ``pes_per_table`` PEs every cycle. ``"ideal"`` is the paper's counting (one single-port
  macro charged 1/S per PE, reads of only the 2^(n - s) rows the static index bits select;
  not physically consistent for S > 1: it is kept for ``archsim paper``'s paper account).
  The physical options: ``multiport`` (one copy with S read ports), ``replicated``
  (ceil(S / p) copies of ``read_ports`` = p ports), ``time_multiplexed`` (one copy with p
  ports; the array's MAC steps take ceil(S / p) cycles: ``stretch_cycles``), each read
  switching the whole array (decoder, one word line, all bit lines: E x w cells) of a
  multi-ported cell whose word and bit lines are longer by sqrt(1 + f (p - 1)) (f =
  ``extra_port_area_fraction``); ``private_subarray``: every PE holds a private single-port
  2^(n - s)-row slice (the rows its stationary weight digit selects; weight-stationary only)
  copied from a single-port master table per weight fold; a read switches only the slice,
  each slice entry written costs one master read + one slice write. Programming a replicated
  set broadcasts each entry to its copies (same cycles, energy x copies).
- *writes* (programming) cost ``write_to_read`` x one random-access read per entry; ROM
  tables cannot be written (their contents are fixed at fabrication): 0.

Arithmetic units per PE kind (energy per MAC, area per PE):
``mac``: an n_a x n_b multiplier (``multiplier`` curve in n_a n_b) + accumulator; with
``weights="ternary"`` no multiplier (the weight selects add / subtract / skip: the accumulator
alone);
``tmac`` / ``luttc`` (``archsim.pe.bitplane``): one 2^(g-1)-entry table of sums of g
activations per PE (shared along a row by ``pes_per_table``; 0 static index bits: the index
comes from the weight bits of the current plane; never ROM: rewritten per token), read b / g
times per MAC, each read accumulated by one ``acc_bits``-wide add (the accumulator *is* the
datapath, so ``include_accumulator`` does not add a second one) with the plane's 2^i as a wired
shift. ``activation_build_pj`` is the energy of building one stored entry on the tile
(``tmac``: (2^(g-1) + g - 2) / 2^(g-1) adds of ``word_bits`` per entry); ``luttc`` builds
ahead on the vector unit, priced there per add;
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
    "SHARINGS",
    "TableCost",
    "TableSpec",
    "UnitAssumptions",
    "UnitCost",
    "activation_build_pj",
    "adder_cost",
    "pe_table_spec",
    "pe_unit_cost",
    "port_wire_factor",
    "shift_add_widths",
    "sign_logic_cost",
    "table_cost",
    "weight_partial_terms",
]

CELLS = ("sram", "latch", "rom")
ADDER_TREES = ("merged", "chain")
ORGANISATIONS = ("product", "weight", "activation")
SHARINGS = ("ideal", "multiport", "replicated", "time_multiplexed", "private_subarray")
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
    sharing: str = "ideal"

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
        if self.sharing not in SHARINGS:
            raise ValueError(f"TableSpec.sharing must be one of {SHARINGS}, got {self.sharing!r}")
        if self.sharing == "multiport" and self.read_ports != self.pes_per_table:
            raise ValueError(f"TableSpec: multiport gives the table one read port per sharing "
                             f"PE: read_ports must be {self.pes_per_table}, got {self.read_ports}")
        if self.sharing in ("replicated", "time_multiplexed") and (
                self.read_ports > self.pes_per_table):
            raise ValueError(f"TableSpec: {self.read_ports} read ports for "
                             f"{self.pes_per_table} PE(s): more ports than readers")
        if self.sharing == "private_subarray":
            if self.read_ports != 1 or self.static_index_bits == 0:
                raise ValueError("TableSpec: private_subarray needs a single-port master table "
                                 "and static index bits (the stationary weight digit) > 0")
            if self.cell == "rom":
                raise ValueError("TableSpec: private_subarray slices are rewritten for every "
                                 "weight fold; ROM cells cannot be written")

    @property
    def index_bits(self) -> int:
        return self.entries.bit_length() - 1

    @property
    def active_entries(self) -> int:
        """Rows that switch on one read: the slice the static index bits pick (``ideal``:
        the paper's counting; ``private_subarray``: the private slice), else the whole array."""
        if self.sharing in ("ideal", "private_subarray"):
            return self.entries >> self.static_index_bits
        return self.entries

    @property
    def copies(self) -> int:
        """Physical copies of the table per set of ``pes_per_table`` PEs (``replicated``)."""
        if self.sharing == "replicated":
            return -(-self.pes_per_table // self.read_ports)
        return 1

    @property
    def stretch_cycles(self) -> int:
        """Cycles the S reads of one MAC step take (``time_multiplexed``), else 1."""
        if self.sharing == "time_multiplexed":
            return -(-self.pes_per_table // self.read_ports)
        return 1

    @property
    def bits(self) -> int:
        return self.entries * self.word_bits

    @property
    def capacity_bytes(self) -> float:
        return self.bits / 8


@dataclass(frozen=True)
class TableCost:
    """Costs of one table set serving ``spec.pes_per_table`` PEs (all its copies, ports and
    private slices); ``*_per_pe`` divide by the sharing factor."""

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


def _array_area(entries: int, w: int, cell: str, ports: int,
                table: CostTable) -> dict[str, float]:
    """Area breakdown of one physical array of ``entries`` x ``w`` bits with ``ports`` ports."""
    port_f = table.value("lut_bank", "extra_port_area_fraction") if ports > 1 else 0.0
    out: dict[str, float] = {}
    if cell == "sram":
        out["sram_macro"] = table.value("sram", "area_um2", entries * w / 8) * (
            1 + port_f * (ports - 1))
        return out
    cell_key = "latch_um2_per_bit" if cell == "latch" else "rom_um2_per_bit"
    out["storage"] = entries * w * table.value("lut_bank", cell_key) * (1 + port_f * (ports - 1))
    a_t = table.value("lut_bank", "periphery_um2_per_transistor")
    rows = 1 << math.ceil((entries.bit_length() - 1) / 2)
    cols_per_bit = max(1, entries // rows)
    out["row_decoder"] = ports * rows * _ROW_DRIVER_T * a_t
    out["column_mux"] = ports * w * (cols_per_bit - 1) * _MUX2_T * a_t
    out["output"] = ports * w * _OUT_T * a_t
    return out


def port_wire_factor(ports: int, table: CostTable) -> float:
    """Length of a p-ported cell's word and bit lines relative to a single-ported one:
    sqrt(1 + f (p - 1)) with f = ``lut_bank.extra_port_area_fraction`` (the cell's area grows
    by 1 + f (p - 1), in both dimensions alike)."""
    if ports <= 1:
        return 1.0
    return math.sqrt(1 + table.value("lut_bank", "extra_port_area_fraction") * (ports - 1))


def _array_read(entries: int, w: int, cell: str, active: int, wire: float,
                table: CostTable) -> tuple[float, str]:
    """Energy of one read switching ``active`` rows x ``w`` bits (SRAM: capped at the macro)."""
    if table.has("lut_bank", "lookup_pj"):
        return table.value("lut_bank", "lookup_pj"), "explicit lut_bank.lookup_pj"
    pj = w * active * table.value("lut_bank", "read_pj_per_cell") * wire
    model = f"{w} bits x {active} active entries x lut_bank.read_pj_per_cell"
    if wire != 1.0:
        model += f" x {wire:.3f} (port wiring)"
    if cell == "sram":
        macro = table.value("sram", "read_pj_per_64b", entries * w / 8) * _word_factor(
            w, table.value("sram", "word_exponent")) * wire
        if macro < pj:
            pj, model = macro, "SRAM macro read (sram.read_pj_per_64b at the table capacity)"
    return pj, model


def table_cost(spec: TableSpec, table: CostTable) -> TableCost:
    """Area, read / write energy and leakage of one table set (see module doc)."""
    w, e, ports = spec.word_bits, spec.entries, spec.read_ports
    physical = spec.sharing != "ideal"
    wire = port_wire_factor(ports, table) if physical else 1.0
    copy = _array_area(e, w, spec.cell, ports, table)
    breakdown = {k: v * spec.copies for k, v in copy.items()}
    if spec.sharing == "private_subarray":
        sub_e = spec.active_entries
        sub = _array_area(sub_e, w, spec.cell, 1, table)
        for k, v in sub.items():
            breakdown[f"private_{k}"] = v * spec.pes_per_table
    area = sum(breakdown.values())

    if spec.sharing == "private_subarray":
        read_pj, model = _array_read(spec.active_entries, w, spec.cell, spec.active_entries, 1.0,
                                     table)
        model = f"private {spec.active_entries}-row slice per PE: {model}"
    else:
        read_pj, model = _array_read(e, w, spec.cell, spec.active_entries, wire, table)
    if spec.cell == "rom":
        write_pj = 0.0
    elif table.has("lut_bank", "program_pj"):
        write_pj = table.value("lut_bank", "program_pj")
    elif spec.sharing == "private_subarray":
        # a slice entry: one random read of the master table + one write of the slice
        write_pj = (_array_read(e, w, spec.cell, e, 1.0, table)[0]
                    + table.value("lut_bank", "write_to_read") * read_pj)
    else:
        # a replicated set is programmed by broadcasting each entry to all its copies
        write_pj = spec.copies * table.value("lut_bank", "write_to_read") * _array_read(
            e, w, spec.cell, e, wire, table)[0]
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
    sharing: str = "ideal"

    @property
    def stretch_cycles(self) -> int:
        """Cycles per MAC step added by time-multiplexed table ports (1: none)."""
        return self.table.spec.stretch_cycles if self.table is not None else 1


def _check_organisation(kind, organisation: str, pes_per_table: int) -> None:
    """Reject an unknown organisation, and a weight organisation the model cannot cost."""
    if organisation not in ORGANISATIONS:
        raise ValueError(f"organisation must be one of {ORGANISATIONS}, got {organisation!r}")
    from archsim.pe.organisation import is_activation_kind

    if organisation == "activation" and not is_activation_kind(kind):
        raise CostError(f"organisation 'activation' needs a PE kind with activation-built "
                        f"tables (tmac, luttc), not {getattr(kind, 'label', kind)!r}")
    if organisation == "weight" and is_activation_kind(kind):
        raise CostError(f"organisation 'weight' does not apply to "
                        f"{getattr(kind, 'label', kind)!r}: its tables hold activations")
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


def _table_ports(sharing: str, pes_per_table: int, table_ports: int) -> int:
    if sharing == "multiport":
        return pes_per_table
    if sharing in ("replicated", "time_multiplexed"):
        return min(table_ports, pes_per_table)  # a copy never has more ports than readers
    return 1


def pe_table_spec(kind, assumptions: UnitAssumptions, pes_per_table: int = 1,
                  organisation: str = "product", sharing: str = "ideal",
                  table_ports: int = 1) -> TableSpec | None:
    """The physical table set a PE kind reads (None for kinds without tables).

    ``organisation="weight"``: the per-PE 2^k x (weight_bits + k)-bit W*x table, indexed by
    the activation digit only (0 static index bits whatever the dataflow).  ``sharing`` (see
    module doc) sets the ports: ``multiport`` S, ``replicated`` / ``time_multiplexed``
    ``table_ports``, else 1; the static index bits (weight half of the index under a
    weight-stationary dataflow) count only for ``ideal`` and ``private_subarray``.  The
    bit-plane kinds (``tmac``, ``luttc``) read activation tables indexed by weight bits only
    (0 static index bits), shared by ``pes_per_table`` PEs under the same ``sharing``."""
    from archsim.pe import MAC, BitPlaneKind, DigitLUTKind, MonolithicLUT

    _check_organisation(kind, organisation, pes_per_table)
    if sharing not in SHARINGS:
        raise ValueError(f"sharing must be one of {SHARINGS}, got {sharing!r}")
    ports = _table_ports(sharing, pes_per_table, table_ports)
    if isinstance(kind, BitPlaneKind):
        if assumptions.cell == "rom":
            raise CostError(f"{kind.label} rewrites its activation tables for every token; ROM "
                            f"cells cannot be written (use sram or latch cells)")
        if sharing == "private_subarray":
            raise CostError(f"{kind.label}: sharing 'private_subarray' slices product tables by "
                            f"a stationary weight digit; activation tables have no such slice")
        inv = kind.tables()
        return TableSpec(inv.entries, inv.word_bits, assumptions.cell, 0, ports, pes_per_table,
                         sharing)
    if organisation == "weight":
        if assumptions.cell == "rom":
            raise CostError("organisation 'weight' rewrites its tables for every weight fold; "
                            "ROM cells cannot be written (use sram or latch cells)")
        if sharing == "private_subarray":
            raise CostError("organisation 'weight' already gives every PE its own table; "
                            "sharing 'private_subarray' applies to product tables")
        inv = effective_tables(kind, organisation)
        return TableSpec(inv.entries, inv.word_bits, assumptions.cell, 0, ports, pes_per_table,
                         "ideal" if sharing == "ideal" else sharing)
    if isinstance(kind, MAC):
        return None
    if isinstance(kind, MonolithicLUT):
        static, inv = kind.weight_bits, kind.tables()
    elif isinstance(kind, DigitLUTKind):
        static, inv = kind.digit_bits, kind.tables()
    else:
        raise CostError(f"no structural cost model for PE kind {getattr(kind, 'label', kind)!r}; "
                        f"supported: mac, lut, lutna, alutna, tmac, luttc")
    if sharing == "private_subarray" and not assumptions.weight_stationary:
        raise CostError("sharing 'private_subarray' holds the slice a stationary weight digit "
                        "selects: it needs weight-stationary reads (dataflow ws)")
    if not assumptions.weight_stationary or sharing not in ("ideal", "private_subarray"):
        static = 0
    if sharing == "private_subarray" and assumptions.cell == "rom":
        raise CostError("sharing 'private_subarray' rewrites its slices for every weight fold; "
                        "ROM cells cannot be written (use sram or latch cells)")
    return TableSpec(inv.entries, inv.word_bits, assumptions.cell, static, ports, pes_per_table,
                     sharing)


def activation_build_pj(kind, table: CostTable) -> float:
    """Energy of building one stored activation-table entry on the tile (0 if none is built
    there): the build adds of a table, at ``word_bits``, spread over its stored entries."""
    if getattr(kind, "table_build", None) != "tile":
        return 0.0
    return (kind.build_adds_per_table / kind.entries_stored
            * adder_cost(kind.word_bits, table)[0])


def pe_unit_cost(kind, table: CostTable, pes_per_table: int = 1,
                 assumptions: UnitAssumptions | None = None,
                 organisation: str = "product", sharing: str = "ideal",
                 table_ports: int = 1) -> UnitCost:
    """Energy per MAC and area per PE of ``kind``'s arithmetic unit (see module doc)."""
    from archsim.pe import MAC, BitPlaneKind, DigitLUTKind, MonolithicLUT

    a = assumptions or UnitAssumptions()
    _check_int("pes_per_table", pes_per_table, 1)
    _check_organisation(kind, organisation, pes_per_table)
    bd: dict[str, float] = {}
    logic_area = 0.0
    lookups, widths, n_tables, tcost = 0.0, [], 0, None
    accumulate = a.include_accumulator
    notes: tuple[str, ...] = ()
    if isinstance(kind, BitPlaneKind):
        tcost = table_cost(pe_table_spec(kind, a, pes_per_table, organisation, sharing,
                                         table_ports), table)
        lookups = float(kind.ops_per_mac().lookups)
        n_tables = kind.tables().n_tables
        bd["lookup_pj"] = lookups * tcost.read_pj
        bd["tables_um2"] = n_tables * tcost.area_per_pe_um2
        e_add, a_add = adder_cost(a.acc_bits, table)
        bd["adders_pj"] = float(kind.ops_per_mac().adds) * e_add
        bd["adders_um2"] = a_add
        logic_area += a_add
        accumulate = False
        notes = ((f"{kind.planes} bit plane(s) / group of {kind.g}: each look-up accumulated "
                  f"by one {a.acc_bits}-bit add (the accumulator is the datapath)"),)
    elif organisation == "weight":
        tcost = table_cost(pe_table_spec(kind, a, pes_per_table, organisation, sharing,
                                         table_ports), table)
        lookups = float(effective_ops(kind, organisation).lookups)
        n_tables = effective_tables(kind, organisation).n_tables
        bd["lookup_pj"] = lookups * tcost.read_pj
        bd["tables_um2"] = n_tables * tcost.area_per_pe_um2
        widths = shift_add_widths(weight_partial_terms(kind), a.adder_tree)
        bd["adders_pj"] = sum(adder_cost(b, table)[0] for b in widths)
        bd["adders_um2"] = sum(adder_cost(b, table)[1] for b in widths)
        logic_area += bd["adders_um2"]
    elif isinstance(kind, MAC) and kind.weights == "ternary":
        notes = ("ternary weights: no multiplier; add / subtract / skip in the accumulator",)
    elif isinstance(kind, MAC):
        bits = kind.act_bits * kind.weight_bits
        bd["mult_pj"] = table.value("multiplier", "energy_pj", bits)
        bd["mult_um2"] = table.value("multiplier", "area_um2", bits)
        logic_area += bd["mult_um2"]
    elif isinstance(kind, (MonolithicLUT, DigitLUTKind)):
        spec = pe_table_spec(kind, a, pes_per_table, organisation, sharing, table_ports)
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
    if accumulate:
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
                    notes=notes, organisation=organisation,
                    sharing=tcost.spec.sharing if tcost is not None else "ideal")
