"""LUT-NA PE kind (``lutna``): digit-decomposed look-ups combined by shift-and-add.

In:  ``act_bits`` (1..16, default 8), ``weight_bits`` (2..16, default 9), ``digit_bits`` k
     (1, 2, 4 or 8 and dividing ``act_bits``; default 4), ``act_signed`` (default False),
     ``parallel_tables`` (default True), ``table`` (None for the exact digit-product table,
     or a programmed 2^k x 2^k integer array with entries in [0, 2^(2k) - 1]), ``weights``
     (``"int"`` default, or ``"ternary"``: BitNet b1.58 weights {-1, 0, +1}; ``weight_bits``
     becomes 2, i.e. a 1-bit magnitude, one weight digit -- the sign-magnitude range of
     2-bit weights is exactly {-1, 0, +1}, so ternary LUT-NA looks up one digit pair per
     activation digit and gains nothing else from the restriction).
Out: products sum_{i,j} T[a_i, w_j] << k(i+j) with the operands' signs applied, their counts
     and tables (see below).

Sign handling (sign-magnitude on both operands):
- activations are unsigned ``act_bits`` integers in [0, 2^act_bits - 1], split into
  act_bits / k digits. With ``act_signed`` they are sign-magnitude: the magnitude has
  act_bits - 1 bits (range +-(2^(act_bits-1) - 1)), padded to ceil((act_bits - 1) / k) digits.
- weights are signed ``weight_bits`` integers in sign-magnitude: the magnitude has
  weight_bits - 1 bits, so the range is the symmetric +-(2^(wb-1) - 1); -2^(wb-1) is out of
  range and raises. The magnitude is padded up to ceil((wb - 1) / k) whole k-bit digits
  (9-bit weights -> 8-bit magnitude -> exactly two 4-bit digits; 8-bit weights -> 7-bit
  magnitude -> a full low digit and a 3-bit high digit).
- digits index an unsigned table of k x k -> 2k-bit products; the product's sign is applied
  by a conditional negate folded into the accumulator (add or subtract). With unsigned
  activations that sign is the weight's sign bit itself (no extra logic). With signed
  activations it is the XOR of the two sign bits: one XOR per MAC, counted as
  ``OpCounts.signs`` = 1 and priced as sign logic (docs/energy.md).
- a zero weight is a skipped MAC and contributes 0.
- per layer: the simulator passes each layer's declared input sign (``act_signed=`` on
  ``matmul``), so one array runs unsigned layers (act_bits-bit magnitudes) and signed
  layers (sign + (act_bits - 1)-bit magnitude digits) side by side.

Per MAC with L = (activation digits) x (weight digits) look-ups (4 for 8b x 9b at k = 4):
L look-ups; L - 1 adds to combine the shifted partial products plus 1 accumulate add; one
shift for each partial product with a non-zero shift k(i+j) (L - 1; fixed, wired shifts that
a cost table may price at zero). With ``parallel_tables`` the PE holds L copies of the
2^(2k)-entry x 2k-bit table and finishes a MAC in 1 cycle; otherwise it holds one table read
L times in sequence, L cycles per MAC.

``DigitLUTKind`` holds what LUT-NA and A-LUT-NA share; A-LUT-NA (``archsim.pe.alutna``)
only changes which digit pairs are kept and adds an optional bias.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .base import (
    OpCounts,
    PEKind,
    TableInventory,
    check_bool,
    check_int,
    check_table,
    check_weight_code,
)
from .digits import DigitSpec, digit_matmul, lookup_products
from .intmath import digit_max
from .registry import register_pe_kind

__all__ = ["DIGIT_BITS", "LUTNA", "DigitLUTKind"]

DIGIT_BITS = (1, 2, 4, 8)
Pair = tuple[int, int]


@dataclass(frozen=True, eq=False, kw_only=True)
class DigitLUTKind(PEKind):
    """Shared parameters and arithmetic of the digit-decomposed LUT kinds (not registered).

    Subclasses define ``kept_pairs`` and ``bias_per_mac``.
    """

    act_bits: int = 8
    weight_bits: int = 9
    digit_bits: int = 4
    act_signed: bool = False
    parallel_tables: bool = True
    table: np.ndarray | None = None
    weights: str = "int"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        code, wb = check_weight_code(self.weights, self.weight_bits, 9)
        set_(self, "weights", code)
        set_(self, "weight_bits", wb)
        set_(self, "act_signed", check_bool("act_signed", self.act_signed))
        set_(self, "parallel_tables", check_bool("parallel_tables", self.parallel_tables))
        lo = 2 if self.act_signed else 1
        set_(self, "act_bits", check_int("act_bits", self.act_bits, lo, 16))
        set_(self, "weight_bits", check_int("weight_bits", self.weight_bits, 2, 16))
        k = self.digit_bits
        if isinstance(k, bool) or k not in DIGIT_BITS or self.act_bits % k:
            valid = [d for d in DIGIT_BITS if self.act_bits % d == 0]
            raise ValueError(
                f"digit_bits must be one of {list(DIGIT_BITS)} and divide act_bits="
                f"{self.act_bits}; valid values here: {valid}; got {k!r}"
            )
        set_(self, "digit_bits", int(k))
        if self.table is not None:
            n = 1 << self.digit_bits
            set_(self, "table", check_table("table", self.table, (n, n), 0, n * n - 1))

    # ---- structure -------------------------------------------------------------------------
    @property
    def act_mag_bits(self) -> int:
        """Bits of the activation magnitude (act_bits, or act_bits - 1 if signed)."""
        return self.act_bits - (1 if self.act_signed else 0)

    @property
    def weight_mag_bits(self) -> int:
        """Bits of the weight magnitude (weight_bits - 1: sign-magnitude)."""
        return self.weight_bits - 1

    @property
    def n_act_digits(self) -> int:
        return -(-self.act_mag_bits // self.digit_bits)

    @property
    def n_weight_digits(self) -> int:
        return -(-self.weight_mag_bits // self.digit_bits)

    @property
    def act_digit_max(self) -> tuple[int, ...]:
        """Largest value of each activation digit (least significant first)."""
        return digit_max(self.act_mag_bits, self.digit_bits, self.n_act_digits)

    @property
    def weight_digit_max(self) -> tuple[int, ...]:
        """Largest value of each weight-magnitude digit (least significant first)."""
        return digit_max(self.weight_mag_bits, self.digit_bits, self.n_weight_digits)

    @property
    def all_pairs(self) -> tuple[Pair, ...]:
        return tuple((i, j) for i in range(self.n_act_digits) for j in range(self.n_weight_digits))

    @property
    @abstractmethod
    def kept_pairs(self) -> tuple[Pair, ...]:
        """(activation digit, weight digit) pairs whose partial products are summed."""

    @property
    @abstractmethod
    def bias_per_mac(self) -> int:
        """Constant added to each product magnitude (before the sign) of a non-zero weight."""

    @cached_property
    def digit_table(self) -> np.ndarray:
        """The 2^k x 2^k digit-product table in use (programmed or exact)."""
        if self.table is not None:
            return self.table
        v = np.arange(1 << self.digit_bits, dtype=np.int64)
        t = v[:, None] * v[None, :]
        t.setflags(write=False)
        return t

    @cached_property
    def table_is_exact(self) -> bool:
        """True if the table in use holds the exact digit products."""
        if self.table is None:
            return True
        v = np.arange(1 << self.digit_bits, dtype=np.int64)
        return bool(np.array_equal(self.table, v[:, None] * v[None, :]))

    @cached_property
    def _spec(self) -> DigitSpec:
        return DigitSpec(
            k=self.digit_bits,
            n_act=self.n_act_digits,
            n_weight=self.n_weight_digits,
            kept=tuple(self.kept_pairs),
            table=self.digit_table,
            table_is_exact=self.table_is_exact,
            bias=self.bias_per_mac,
        )

    # ---- PEKind ----------------------------------------------------------------------------
    @property
    def act_range(self) -> tuple[int, int]:
        hi = (1 << self.act_mag_bits) - 1
        return (-hi if self.act_signed else 0), hi

    @property
    def weight_range(self) -> tuple[int, int]:
        hi = (1 << self.weight_mag_bits) - 1
        return -hi, hi

    @property
    def exact(self) -> bool:
        return (
            self.table_is_exact
            and self.bias_per_mac == 0
            and len(self.kept_pairs) == len(self.all_pairs)
        )

    @property
    def lookups_per_mac(self) -> int:
        return len(self.kept_pairs)

    @property
    def cycles_per_mac(self) -> float:
        return 1.0 if self.parallel_tables else float(self.lookups_per_mac)

    def ops_per_mac(self) -> OpCounts:
        n = self.lookups_per_mac
        return OpCounts(
            lookups=n,
            adds=(n - 1) + 1 + (1 if self.bias_per_mac else 0),
            shifts=sum(1 for i, j in self.kept_pairs if i + j > 0),
            signs=1 if self.act_signed else 0,
        )

    def tables(self) -> TableInventory:
        return TableInventory(
            n_tables=self.lookups_per_mac if self.parallel_tables else 1,
            entries=1 << (2 * self.digit_bits),
            word_bits=2 * self.digit_bits,
        )

    def _multiply(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        return lookup_products(self._spec, a, w)

    def _matmul_fast(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        return digit_matmul(self._spec, a, w)


@register_pe_kind("lutna")
class LUTNA(DigitLUTKind):
    """Exact LUT-NA: every digit pair is looked up."""

    @property
    def kept_pairs(self) -> tuple[Pair, ...]:
        return self.all_pairs

    @property
    def bias_per_mac(self) -> int:
        return 0
