"""Traditional monolithic product-table PE kind (``lut``).

In:  ``act_bits`` (1..16, default 8), ``weight_bits`` (2..16, default 9), ``act_signed``
     (default False), ``table`` (None for the exact product table, or a programmed integer
     array of shape (2^act_bits, 2^weight_bits) with entries in the signed
     (act_bits + weight_bits)-bit range).
Out: products read from one table of 2^(n_a + n_b) entries of (n_a + n_b) bits, indexed by
     (activation bits, weight two's-complement bits): row = a mod 2^n_a (the activation's own
     value if unsigned, its two's-complement bit pattern if ``act_signed``), column =
     w mod 2^n_b. Entries are signed products (stored as two's complement words). One
     look-up and one accumulate add per MAC, one cycle per MAC.

Signedness is fixed by the table: per-call ``act_signed`` different from the kind's raises.
Operand ranges are the full two's-complement ranges (e.g. weights -256..255 for 9 bits), as
for ``mac``. A zero weight is a skipped MAC (contributes 0). The exact table is only built
when the look-up path needs it; the fast path of the exact table is an exact integer matmul.
A programmed table is computed on the fast path by one-hot decomposition over the distinct
operand values present (on the side that has fewer of them):
sum_k T[a[m,k], w[k,n]] = sum_v T[a, v] @ [w == v].
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .base import OpCounts, PEKind, TableInventory, check_bool, check_int, check_table
from .intmath import exact_int_matmul, int_range
from .registry import register_pe_kind

__all__ = ["MonolithicLUT"]

_MAX_MATERIALISED_ENTRIES = 1 << 22


@register_pe_kind("lut")
class MonolithicLUT(PEKind):
    """One table holding every product a * w."""

    act_bits: int = 8
    weight_bits: int = 9
    act_signed: bool = False
    table: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "act_signed", check_bool("act_signed", self.act_signed))
        lo = 2 if self.act_signed else 1
        object.__setattr__(self, "act_bits", check_int("act_bits", self.act_bits, lo, 16))
        object.__setattr__(self, "weight_bits", check_int("weight_bits", self.weight_bits, 2, 16))
        if self.table is not None:
            if self.entries > _MAX_MATERIALISED_ENTRIES:
                raise ValueError(
                    f"table: a programmed monolithic table of {self.entries} entries is too "
                    f"large; at most {_MAX_MATERIALISED_ENTRIES} (act_bits + weight_bits <= 22)"
                )
            shape = (1 << self.act_bits, 1 << self.weight_bits)
            wlo, whi = int_range(self.word_bits, True)
            object.__setattr__(self, "table", check_table("table", self.table, shape, wlo, whi))

    def _sign_variant(self, act_signed: bool) -> PEKind:
        raise ValueError(
            f"PE kind {self.label} holds one product table indexed by "
            f"{'signed' if self.act_signed else 'unsigned'} activations; "
            f"a layer with {'signed' if act_signed else 'unsigned'} inputs needs other table "
            f"contents (per-layer reprogramming is not modelled): use mac, lutna or alutna"
        )

    # ---- structure -------------------------------------------------------------------------
    @property
    def word_bits(self) -> int:
        return self.act_bits + self.weight_bits

    @property
    def entries(self) -> int:
        return 1 << (self.act_bits + self.weight_bits)

    @cached_property
    def product_table(self) -> np.ndarray:
        """The table contents (programmed, or the exact products built on demand)."""
        if self.table is not None:
            return self.table
        if self.entries > _MAX_MATERIALISED_ENTRIES:
            raise ValueError(
                f"the exact monolithic table of {self.entries} entries is too large to build "
                f"for the look-up path (act_bits + weight_bits <= 22); the fast path needs none"
            )
        return _exact_table(self.act_bits, self.weight_bits, self.act_signed)

    @cached_property
    def _table_is_exact(self) -> bool:
        if self.table is None:
            return True
        exact = _exact_table(self.act_bits, self.weight_bits, self.act_signed)
        return bool(np.array_equal(self.table, exact))

    # ---- PEKind ----------------------------------------------------------------------------
    @property
    def act_range(self) -> tuple[int, int]:
        return int_range(self.act_bits, self.act_signed)

    @property
    def weight_range(self) -> tuple[int, int]:
        return int_range(self.weight_bits, True)

    @property
    def exact(self) -> bool:
        return self._table_is_exact

    @property
    def cycles_per_mac(self) -> float:
        return 1.0

    def ops_per_mac(self) -> OpCounts:
        return OpCounts(lookups=1, adds=1)

    def tables(self) -> TableInventory:
        return TableInventory(n_tables=1, entries=self.entries, word_bits=self.word_bits)

    def _multiply(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        t = self.product_table
        ia = a & ((1 << self.act_bits) - 1)
        iw = w & ((1 << self.weight_bits) - 1)
        return np.where(w != 0, t[ia, iw], 0)

    def _matmul_fast(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        if self._table_is_exact:
            return exact_int_matmul(a, w)
        t = self.product_table
        ia = a & ((1 << self.act_bits) - 1)
        iw = w & ((1 << self.weight_bits) - 1)
        nz = w != 0
        w_vals = np.unique(iw[nz])
        a_vals = np.unique(ia)
        out = np.zeros((a.shape[0], w.shape[1]), dtype=np.int64)
        if len(w_vals) <= len(a_vals):
            for v in w_vals:
                col = t[:, v]
                if col.any():
                    out += exact_int_matmul(col[ia], (iw == v) & nz)
        else:
            for u in a_vals:
                row = t[u]
                if row.any():
                    out += exact_int_matmul(ia == u, np.where(nz, row[iw], 0))
        return out


def _from_bits(bits: np.ndarray, n: int) -> np.ndarray:
    """Two's-complement value of ``n``-bit patterns."""
    return np.where(bits >= (1 << (n - 1)), bits - (1 << n), bits)


def _exact_table(act_bits: int, weight_bits: int, act_signed: bool) -> np.ndarray:
    """The exact product table, indexed by (activation bits, weight bits)."""
    ia = np.arange(1 << act_bits, dtype=np.int64)
    iw = np.arange(1 << weight_bits, dtype=np.int64)
    a_val = _from_bits(ia, act_bits) if act_signed else ia
    t = a_val[:, None] * _from_bits(iw, weight_bits)[None, :]
    t.setflags(write=False)
    return t
