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
"""

from __future__ import annotations

from archsim.pe.base import OpCounts, TableInventory

__all__ = [
    "activation_build_ops",
    "activation_entries",
    "effective_ops",
    "effective_tables",
    "entries_per_fold",
    "is_activation_kind",
]


def is_activation_kind(pe) -> bool:
    """True for PE kinds whose tables are built from activations (``tmac``, ``luttc``)."""
    from archsim.pe.bitplane import BitPlaneKind

    return isinstance(pe, BitPlaneKind)


def effective_ops(pe, organisation: str) -> OpCounts:
    if organisation != "weight":
        return pe.ops_per_mac()
    n = pe.n_act_digits
    return OpCounts(lookups=float(n), adds=float(n), shifts=float(n - 1), mults=0.0)


def effective_tables(pe, organisation: str) -> TableInventory:
    if organisation != "weight":
        return pe.tables()
    k = pe.digit_bits
    return TableInventory(n_tables=1, entries=1 << k, word_bits=pe.weight_bits + k)


def entries_per_fold(pe, organisation: str, rows: int, cols: int) -> int:
    """Table entries written when a new weight fold is loaded into an R x C array."""
    if organisation != "weight":
        return 0
    return rows * cols * (1 << pe.digit_bits)


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
