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

Sharing (``tile.lut_banks.sharing``, docs/energy.md "Shared tables"): how one product-table
set serves the ``pes_per_table`` PEs that read it every cycle.  Only two options change what
the simulator does: ``time_multiplexed`` serves the S reads through ``table_read_ports``
ports, so every MAC step of the array takes ``ceil(S / ports)`` cycles
(:func:`read_stretch`); ``private_subarray`` gives each PE a private copy of the 2^(n - s)-row
slice its stationary weight digit selects, rewritten for every weight fold
(:func:`entries_per_fold`; ws dataflow only).  ``multiport`` and ``replicated`` change cost only.
"""

from __future__ import annotations

from archsim.pe.base import OpCounts, TableInventory

__all__ = ["SHARINGS", "effective_ops", "effective_tables", "entries_per_fold", "read_stretch",
           "slice_entries"]

SHARINGS = ("multiport", "replicated", "time_multiplexed", "private_subarray")


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
