"""LUT organisation: what a table-based PE looks up per MAC and what must be programmed.

In:  a PE kind and the tile's ``lut_banks.organisation``.
Out: the effective per-MAC operation counts, the per-PE table inventory, the number of table
     entries written per weight fold, and (``activation``) the entries and build operations
     of the activation tables a GEMM block needs.

``product`` (default): the PE kind's own digit-product tables (``pe.ops_per_mac()``,
``pe.tables()``), loaded once per run.  ``weight`` (weight-programmed, docs/facts.md section 2):
each PE stores W*x for every k-bit activation digit x of its stationary weight: 2^k entries of
(weight_bits + k) bits, act_digits look-ups per MAC combined by act_digits - 1 shift-adds plus
the accumulate; the table is rewritten whenever a new weight fold is loaded (ws only).
``activation`` (the bit-plane kinds ``tmac`` / ``luttc``, ``archsim.pe.bitplane``): the tables
hold sums of activations, so they are programmed per activation group: a block of m tokens
(GEMM rows) x K inputs x n outputs writes m x ceil(K / g) tables of 2^(g-1) entries for every
``pes_per_table`` output columns it spans (one table copy serves that many PEs of a row; a
table is not kept across passes over further output columns -- declared: the block re-builds
it), whatever the dataflow.
Signed activations add one sign XOR per MAC in the ``product`` and ``weight`` organisations
of the LUT-NA kinds (``OpCounts.signs``); the bit-plane kinds take a signed activation's sum
in their tables (no sign logic).

Sharing (``tile.lut_banks.sharing``, docs/energy.md "Shared tables"): how one product-table
set serves the ``pes_per_table`` PEs that read it every cycle.  Only two options change what
the simulator does: ``time_multiplexed`` serves the S reads through ``table_read_ports``
ports, so every MAC step of the array takes ``ceil(S / ports)`` cycles
(:func:`read_stretch`); ``private_subarray`` gives each PE a private copy of the 2^(n - s)-row
slice its stationary weight digit selects, rewritten for every weight fold
(:func:`entries_per_fold`; ws dataflow only).  ``multiport`` and ``replicated`` change cost only.
"""

from __future__ import annotations

from dataclasses import dataclass

from archsim.pe.base import OpCounts, TableInventory

__all__ = [
    "SHARINGS",
    "DynamicOperand",
    "activation_build_ops",
    "activation_entries",
    "dynamic_operand",
    "effective_ops",
    "effective_tables",
    "entries_per_fold",
    "is_activation_kind",
    "read_stretch",
    "slice_entries",
]

SHARINGS = ("multiport", "replicated", "time_multiplexed", "private_subarray")


def is_activation_kind(pe) -> bool:
    """True for PE kinds whose tables are built from activations (``tmac``, ``luttc``)."""
    from archsim.pe.bitplane import BitPlaneKind

    return isinstance(pe, BitPlaneKind)


def effective_ops(pe, organisation: str, act_signed: bool | None = None) -> OpCounts:
    """Operations per MAC for a layer whose activations are ``act_signed`` (None: the kind's
    own setting). A kind whose signedness is fixed by its table contents (``lut``) counts the
    same operations either way (its functional run rejects the other sign)."""
    try:
        pe = pe.for_activations(act_signed)
    except ValueError:
        pass
    if organisation != "weight":
        return pe.ops_per_mac()
    n = pe.n_act_digits
    return OpCounts(lookups=float(n), adds=float(n), shifts=float(n - 1), mults=0.0,
                    signs=1.0 if pe.act_signed else 0.0)


def effective_tables(pe, organisation: str) -> TableInventory:
    if organisation != "weight":
        return pe.tables()
    k = pe.digit_bits
    return TableInventory(n_tables=1, entries=1 << k, word_bits=pe.weight_bits + k)


def slice_entries(pe) -> int:
    """Rows of the product-table slice one stationary weight digit selects (2^(n - s))."""
    inv = pe.tables()
    static = pe.digit_bits if hasattr(pe, "digit_bits") else pe.weight_bits
    return inv.entries >> static


def entries_per_fold(pe, organisation: str, rows: int, cols: int,
                     sharing: str = "multiport") -> int:
    """Table entries written when a new weight fold is loaded into an R x C array: the W*x
    tables of the weight organisation, or every PE's private slices (``private_subarray``)."""
    if organisation == "weight":
        return rows * cols * (1 << pe.digit_bits)
    if sharing == "private_subarray" and pe.tables().n_tables:
        return rows * cols * pe.tables().n_tables * slice_entries(pe)
    return 0


def read_stretch(pe, lut_banks) -> int:
    """Cycles one MAC step of the array takes because of table ports: ``ceil(S / ports)`` for a
    time-multiplexed table set read by S = ``pes_per_table`` PEs, else 1."""
    if lut_banks.sharing != "time_multiplexed" or not pe.tables().n_tables:
        return 1
    return -(-lut_banks.pes_per_table // min(lut_banks.table_read_ports, lut_banks.pes_per_table))


def _tables(pe, organisation: str, m: int, k: int, col_counts, pes_per_table: int) -> int:
    if organisation != "activation" or m <= 0 or k <= 0:
        return 0
    copies = sum(-(-int(n) // pes_per_table) for n in col_counts if n > 0)
    return m * pe.activation_tables(k).tables_per_token * copies


def activation_entries(pe, organisation: str, m: int, k: int, col_counts,
                       pes_per_table: int) -> int:
    """Activation-table entries a GEMM block writes (0 unless ``activation``).

    ``m`` tokens, ``k`` inputs per output (per group of a grouped conv), ``col_counts`` the
    block's output columns in each group (one entry for an ungrouped GEMM)."""
    return _tables(pe, organisation, m, k, col_counts, pes_per_table) * (
        pe.entries_stored if organisation == "activation" else 0)


def activation_build_ops(pe, organisation: str, m: int, k: int, col_counts,
                         pes_per_table: int) -> int:
    """Adds that build those tables (2^(g-1) + g - 2 per table, ``archsim.pe.bitplane``)."""
    if organisation != "activation":
        return 0
    return _tables(pe, organisation, m, k, col_counts, pes_per_table) * pe.build_adds_per_table


@dataclass(frozen=True)
class DynamicOperand:
    """How a PE array built for ``pe``'s weights takes a dynamic (activation) second operand
    of a product of two activations (attention's Q K^T and P V).

    ``kind``: the PE kind whose arithmetic computes it (the second operand in the weight
    slot); ``passes``: PE work per MAC relative to a weight MAC (cycles, look-ups and adds
    scale by it); ``how``: the mechanism, as reports state it."""

    kind: object
    passes: float
    how: str


def dynamic_operand(pe, lo: int, hi: int) -> DynamicOperand:
    """The :class:`DynamicOperand` of ``pe`` for second-operand values in [lo, hi].

    - ``mac``: a multiplier as wide as the operand needs no extra pass; a narrower one splits
      the operand into weight-width digits (ceil(bits / weight_bits) passes); the ternary PE
      has no multiplier and shift-adds the operand bit-serially (bits passes).
    - ``lutna`` / ``alutna``: the operand's magnitude in k-bit weight digits; each extra digit
      is one more pass over the PE's digit tables.
    - ``tmac`` / ``luttc``: tables are built from the first operand (per activation group,
      as for weights) and indexed by the second operand's bit planes: bits / weight_bits.
    - ``lut``: its product table is indexed by the weight code and cannot take a wider operand.
    """
    import dataclasses
    import math

    from archsim.pe.bitplane import BitPlaneKind
    from archsim.pe.lut import MonolithicLUT
    from archsim.pe.lutna import DigitLUTKind
    from archsim.pe.mac import MAC

    mag = max(abs(int(lo)), abs(int(hi)))
    tc_bits = max(int(lo).bit_length(), int(hi).bit_length()) + 1  # two's complement
    wlo, whi = pe.weight_range
    if isinstance(pe, BitPlaneKind):
        kind = dataclasses.replace(pe, weight_bits=tc_bits, weights="int")
        return DynamicOperand(kind, tc_bits / pe.planes,
                              f"{pe.name}: tables from the first operand per activation group, "
                              f"{tc_bits} bit planes of the second (vs {pe.planes} for weights)")
    if isinstance(pe, MAC):
        kind = dataclasses.replace(pe, weight_bits=max(tc_bits, 2), weights="int")
        if pe.weights == "ternary":
            return DynamicOperand(kind, float(tc_bits), f"ternary mac: no multiplier; the "
                                  f"{tc_bits}-bit operand is shift-added bit-serially")
        if wlo <= lo and hi <= whi:
            return DynamicOperand(pe, 1.0, "mac: the multiplier takes the operand")
        return DynamicOperand(kind, float(math.ceil(tc_bits / pe.weight_bits)),
                              f"mac: {tc_bits}-bit operand split into {pe.weight_bits}-bit "
                              f"digits on the weight multiplier")
    if isinstance(pe, DigitLUTKind):
        mag_bits = max(1, mag.bit_length())
        kind = dataclasses.replace(pe, weight_bits=mag_bits + 1, weights="int")
        if pe.kept_pairs != pe.all_pairs:
            kind = pe if (wlo <= lo and hi <= whi) else None
            if kind is None:
                raise ValueError(f"{pe.label}: approximate digit pairs are defined for the "
                                 f"weight width; it cannot take a {mag_bits}-bit-magnitude "
                                 f"dynamic operand")
            return DynamicOperand(pe, 1.0, f"{pe.name}: the operand fits the weight digits")
        digits = -(-mag_bits // pe.digit_bits)
        return DynamicOperand(kind, digits / pe.n_weight_digits,
                              f"{pe.name}: {digits} weight digit(s) of the operand's "
                              f"{mag_bits}-bit magnitude (vs {pe.n_weight_digits} for weights)")
    if isinstance(pe, MonolithicLUT) and wlo <= lo and hi <= whi:
        return DynamicOperand(pe, 1.0, "lut: the operand fits the table's weight index")
    raise ValueError(f"PE kind {pe.label} cannot take a dynamic operand in [{lo}, {hi}] "
                     f"(its weight range is [{wlo}, {whi}])")
