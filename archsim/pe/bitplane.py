"""Bit-plane look-up kinds whose tables are built from activations: ``tmac`` and ``luttc``.

In:  ``act_bits`` (1..16, default 8), ``act_signed`` (default False: unsigned activations as
     in the CNN graphs; True for two's-complement activations, e.g. after a LayerNorm),
     ``weight_bits`` b (1..8, default 4; 1..4 are the low-bit weights these kinds are for, up
     to 8 planes serve an 8-bit dynamic operand such as K or V in attention), ``weights``
     (``"int"`` or ``"ternary"``) and the group size g (``group`` for ``tmac``, ``k_dim`` for
     ``luttc``; 2..8, default 4).
Out: exact int64 products / matmuls, op counts, the table each PE reads, latency, and the
     activation-table use of a GEMM (``activation_tables(k)``).

Arithmetic (T-MAC, Wei et al., EuroSys 2025, arXiv 2407.00088, ``python/t_mac/ops/qgemm.py``;
LUT Tensor Core, Mo et al., ISCA 2025, arXiv 2408.06003). Weights are b-bit two's-complement
integers w in [-2^(b-1), 2^(b-1) - 1] (this covers the symmetric +-(2^(b-1) - 1) the
quantiser produces; b = 1 gives {-1, 0}); ternary weights {-1, 0, +1} use the 2-bit code.
The unsigned code u = w + 2^(b-1) has bits beta_i; with signs s_i = 2 beta_i - 1 in {-1, +1}::

    sum_i 2^i s_i = 2u - (2^b - 1) = 2w + 1.

For a group of g activations x_j the table holds T[idx] = sum_j s_j(idx) x_j, with
s_j(idx) = +1 if bit j of idx is set, else -1 (2^g entries). A weight column's bit plane i
indexes it with idx = sum_j beta_i[j] 2^j, and per output::

    acc = sum_i 2^i sum_groups T_group[idx_i]        (= sum_k x_k (2 w_k + 1))
    y   = (acc - sum_k x_k) / 2                     (exact: acc - sum x is always even)

The correction term sum_k x_k is T-MAC's "LUT bias" (-1/2 sum x there) taken exactly in
integers: no rounding, so both kinds are exact. Tables hold exact integers (T-MAC rounds its
table entries to int8 per group of activations; LUT Tensor Core keeps fp16 -- this model
keeps the exact integer words, ``word_bits`` wide, and says so). Since T[~idx] = -T[idx],
only 2^(g-1) entries are stored:

- ``tmac``  (mirror consolidation): entries with the top index bit clear are stored; an index
  with the top bit set reads entry (~idx) and negates.
- ``luttc`` (table symmetrisation, as ``sv_lut_array`` of the T-MAC repository): entries with
  index bit 0 set are stored at idx >> 1; bit 0 clear reads entry (~idx) >> 1 and negates.

The negation is folded into the accumulate (add or subtract), as the sign in LUT-NA.

Per MAC (b planes, group g): b / g look-ups, b / g accumulate adds, (b - 1) / g shifts (the
2^i plane weight: wired for ``tmac``, an exponent add in LUT Tensor Core's fp16 datapath), no
multiplies; b / g cycles: one bit plane of g weights per PE per cycle (bit-serial). Not in
these per-MAC counts (declared): the per-output correction (one add and one shift per output,
i.e. 1/K per MAC) and the per-token sum_k x_k (K adds shared by every output of the token).

Tables: one 2^(g-1)-entry table of ``word_bits`` = bits of the signed range +-g max|x| per PE
(shared along a PE row through ``tile.lut_banks.pes_per_table``). They are *programmed from
activations*: a GEMM with K inputs needs ceil(K / g) tables per token (``activation_tables``),
rebuilt for every token -- the simulator counts them per activation group
(``archsim.pe.organisation``). Building one table takes (g - 1) adds for T[0] = -sum x_j and
one add per further entry (Gray-code order: neighbouring entries differ by +-2 x_j):
2^(g-1) + g - 2 adds. ``tmac`` builds them on the tile (``table_build = "tile"``); ``luttc``
receives them built ahead by the vector unit fused with the producing operator and broadcast
along the elongated tile (``table_build = "ahead"``).

Paths: ``matmul`` is the exact integer matmul (the kinds are exact); ``matmul_lookup`` builds
the stored half-tables from the activations and reads them plane by plane with the index
convention above (slow; the reference for the fast path); ``multiply`` applies the bit-plane
identity element-wise (g = 1, no table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import (
    OpCounts,
    PEKind,
    TableInventory,
    check_bool,
    check_int,
    check_weight_code,
    weight_code_range,
)
from .intmath import exact_int_matmul, int_range

__all__ = ["ActivationTables", "BitPlaneKind"]

_LOOKUP_CHUNK_ELEMS = 1 << 21


@dataclass(frozen=True)
class ActivationTables:
    """The activation tables one token needs for a GEMM with ``k_features`` inputs."""

    k_features: int
    tables_per_token: int
    entries_per_table: int
    word_bits: int
    bits_per_token: int
    build_adds_per_table: int
    build_adds_per_token: int


@dataclass(frozen=True, eq=False, kw_only=True)
class BitPlaneKind(PEKind):
    """Shared parameters and arithmetic of ``tmac`` and ``luttc`` (not registered)."""

    act_bits: int = 8
    weight_bits: int = 4
    act_signed: bool = False
    weights: str = "int"

    _group_field: ClassVar[str] = "group"
    mirror_bit: ClassVar[str] = "top"  # "top" (tmac) or "low" (luttc)
    table_build: ClassVar[str] = "tile"  # "tile" (tmac) or "ahead" (luttc)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        code, wb = check_weight_code(self.weights, self.weight_bits, 4)
        set_(self, "weights", code)
        set_(self, "weight_bits", check_int("weight_bits", wb, 1, 8))
        set_(self, "act_signed", check_bool("act_signed", self.act_signed))
        set_(self, "act_bits", check_int("act_bits", self.act_bits, 2 if self.act_signed else 1,
                                         16))
        f = self._group_field
        set_(self, f, check_int(f, getattr(self, f), 2, 8))

    # ---- structure -------------------------------------------------------------------------
    @property
    def g(self) -> int:
        """Activations per table (the group size)."""
        return int(getattr(self, self._group_field))

    @property
    def planes(self) -> int:
        """Weight bit planes processed one after another (2 for ternary weights)."""
        return self.weight_bits

    @property
    def entries_full(self) -> int:
        return 1 << self.g

    @property
    def entries_stored(self) -> int:
        return 1 << (self.g - 1)

    @property
    def word_bits(self) -> int:
        """Bits of a table word: the signed range +-g max|x|."""
        lo, hi = self.act_range
        return (self.g * max(-lo, hi)).bit_length() + 1

    @property
    def build_adds_per_table(self) -> int:
        return (self.g - 1) + (self.entries_stored - 1)

    def activation_tables(self, k_features: int) -> ActivationTables:
        """Tables, entries and build adds one token needs for a GEMM with K inputs."""
        k = check_int("k_features", k_features, 1, None)
        n = -(-k // self.g)
        return ActivationTables(
            k_features=k, tables_per_token=n, entries_per_table=self.entries_stored,
            word_bits=self.word_bits, bits_per_token=n * self.entries_stored * self.word_bits,
            build_adds_per_table=self.build_adds_per_table,
            build_adds_per_token=n * self.build_adds_per_table,
        )

    # ---- PEKind ----------------------------------------------------------------------------
    @property
    def act_range(self) -> tuple[int, int]:
        return int_range(self.act_bits, self.act_signed)

    @property
    def weight_range(self) -> tuple[int, int]:
        return weight_code_range(self.weights, self.weight_bits)

    @property
    def exact(self) -> bool:
        return True

    @property
    def cycles_per_mac(self) -> float:
        return self.planes / self.g

    def ops_per_mac(self) -> OpCounts:
        b, g = self.planes, self.g
        return OpCounts(lookups=b / g, adds=b / g, shifts=(b - 1) / g)

    def tables(self) -> TableInventory:
        return TableInventory(n_tables=1, entries=self.entries_stored, word_bits=self.word_bits)

    # ---- tables ----------------------------------------------------------------------------
    def stored_indices(self) -> np.ndarray:
        """Full-table index held by each stored entry."""
        r = np.arange(self.entries_stored, dtype=np.int64)
        return r if self.mirror_bit == "top" else (r << 1) | 1

    def address(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(negate, stored address) of full-table indices ``idx``."""
        full = self.entries_full - 1
        if self.mirror_bit == "top":
            neg = (idx >> (self.g - 1)) & 1 == 1
            return neg, np.where(neg, ~idx & (self.entries_stored - 1), idx)
        neg = idx & 1 == 0
        return neg, np.where(neg, (~idx & full) >> 1, idx >> 1)

    def build_tables(self, a: np.ndarray) -> np.ndarray:
        """Stored half-tables of activations ``a`` (M, K): (M, ceil(K/g), 2^(g-1)) int64."""
        a = self.check_activations(a, "activations (a)")
        if a.ndim != 2:
            raise ValueError(f"activations (a) must be 2-D (M, K), got shape {a.shape}")
        return self._build(a)

    def _build(self, a: np.ndarray) -> np.ndarray:
        m, k = a.shape
        g = self.g
        groups = -(-k // g)
        xp = np.zeros((m, groups * g), dtype=np.int64)
        xp[:, :k] = a
        idx = self.stored_indices()
        signs = np.where((idx[:, None] >> np.arange(g)[None, :]) & 1 == 1, 1, -1)  # (E, g)
        return np.einsum("mgj,ej->mge", xp.reshape(m, groups, g), signs.astype(np.int64))

    def _planes(self, w: np.ndarray) -> list[np.ndarray]:
        u = w + (1 << (self.planes - 1))
        return [(u >> i) & 1 for i in range(self.planes)]

    # ---- arithmetic ------------------------------------------------------------------------
    def _multiply(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        odd = sum((2 * p - 1) << i for i, p in enumerate(self._planes(w)))  # = 2w + 1
        return (a * odd - a) // 2

    def _matmul_fast(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        return exact_int_matmul(a, w)

    def _matmul_lookup(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        m, k = a.shape
        n = w.shape[1]
        out = np.zeros((m, n), dtype=np.int64)
        if out.size == 0 or k == 0:
            return out
        g = self.g
        groups = -(-k // g)
        wp = np.zeros((groups * g, n), dtype=np.int64)
        wp[:k] = w  # padded weights meet zero activations: they add 0 to tables and sum x
        bits = np.arange(g, dtype=np.int64)[None, :, None]
        plan = []
        for i, p in enumerate(self._planes(wp)):
            idx = (p.reshape(groups, g, n) << bits).sum(axis=1)  # (groups, N)
            plan.append((i, *self.address(idx)))
        gi = np.arange(groups)[:, None]
        rows = max(1, _LOOKUP_CHUNK_ELEMS // (groups * n))
        for m0 in range(0, m, rows):
            xa = a[m0 : m0 + rows]
            tabs = self._build(xa)  # (rows, groups, E)
            acc = np.zeros((xa.shape[0], n), dtype=np.int64)
            for i, neg, addr in plan:
                vals = tabs[:, gi, addr]  # (rows, groups, N): one read per group and column
                acc += np.where(neg[None], -vals, vals).sum(axis=1) << i
            twice = acc - xa.sum(axis=1)[:, None]
            if np.any(twice & 1):  # cannot happen: sum_k x_k (2 w_k + 1) - sum_k x_k = 2 y
                raise AssertionError("bit-plane accumulation is odd")
            out[m0 : m0 + rows] = twice >> 1
        return out
