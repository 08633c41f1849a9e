"""LUT organisation: what a table-based PE looks up per MAC and what must be programmed.

In:  a PE kind and the tile's ``lut_banks.organisation``.
Out: the effective per-MAC operation counts, the per-PE table inventory, and the number of
     table entries written per weight fold.

``product`` (default): the PE kind's own digit-product tables (``pe.ops_per_mac()``,
``pe.tables()``), loaded once per run.  ``weight`` (weight-programmed, docs/facts.md section 2):
each PE stores W*x for every k-bit activation digit x of its stationary weight: 2^k entries of
(weight_bits + k) bits, act_digits look-ups per MAC combined by act_digits - 1 shift-adds plus
the accumulate; the table is rewritten whenever a new weight fold is loaded (ws only).
Signed activations add one sign XOR per MAC in both organisations (``OpCounts.signs``).
"""

from __future__ import annotations

from archsim.pe.base import OpCounts, TableInventory

__all__ = ["effective_ops", "effective_tables", "entries_per_fold"]


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


def entries_per_fold(pe, organisation: str, rows: int, cols: int) -> int:
    """Table entries written when a new weight fold is loaded into an R x C array."""
    if organisation != "weight":
        return 0
    return rows * cols * (1 << pe.digit_bits)
