"""A-LUT-NA PE kind (``alutna``): LUT-NA with some digit partial products dropped.

In:  every LUT-NA parameter (see ``archsim.pe.lutna``: act_bits, weight_bits, digit_bits,
     act_signed, parallel_tables, table; same sign handling) plus
     ``approx``: the name of a preset (below) or an explicit collection of kept (i, j)
     pairs, i = activation digit, j = weight-magnitude digit, 0 = least significant;
     ``bias_comp`` (default False): add a constant that cancels the mean of the dropped terms.
Out: products sum_{(i,j) kept} T[a_i, w_j] << k(i+j) (+ bias) with the operands' signs
     applied; look-ups, adds, shifts and tables scale with the number of kept pairs.

Presets, for n_a activation and n_w weight digits:

- ``none``: every pair (exact, same as ``lutna``);
- ``drop_ll``: all but (0, 0), the lowest x lowest product. Unsigned 8b x 8b magnitudes at
  k = 4 err by a_L * w_L in [0, 225]; 1/4 fewer look-ups;
- ``keep_hh``: only (n_a - 1, n_w - 1), the top x top product; 8b x 8b at k = 4 errs by up to
  7,425 with 1/4 of the look-ups;
- ``trunc_act_low``: every pair with i > 0 (drops all products of the lowest activation digit;
  half the look-ups at k = 4);
- ``trunc_weight_low``: every pair with j > 0 (the same for the lowest weight digit).

Bias compensation: c = round-half-up(E[sum of dropped T[a_i, w_j] << k(i+j)]) under
independent, uniformly distributed digits over their ranges (closed form: the mean of each
dropped pair's table block, times its shift; for the exact table
sum (amax_i amax_j / 4) << k(i+j)). It is added to the product magnitude of every MAC with a
non-zero weight, i.e. applied with the product's sign (s_a * sign(w)); zero weights are
skipped MACs and get none. It costs one more add per MAC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction
from functools import cached_property
from numbers import Integral
from typing import ClassVar

from .base import check_bool
from .lutna import DigitLUTKind, Pair
from .registry import register_pe_kind

__all__ = ["ALUTNA", "APPROX_PRESETS"]

APPROX_PRESETS: dict[str, Callable[[int, int], set[Pair]]] = {
    "none": lambda na, nw: {(i, j) for i in range(na) for j in range(nw)},
    "drop_ll": lambda na, nw: {(i, j) for i in range(na) for j in range(nw)} - {(0, 0)},
    "keep_hh": lambda na, nw: {(na - 1, nw - 1)},
    "trunc_act_low": lambda na, nw: {(i, j) for i in range(1, na) for j in range(nw)},
    "trunc_weight_low": lambda na, nw: {(i, j) for i in range(na) for j in range(1, nw)},
}


@register_pe_kind("alutna")
class ALUTNA(DigitLUTKind):
    """Approximate LUT-NA: only the kept digit pairs are looked up."""

    approx: str | tuple[Pair, ...] = "drop_ll"
    bias_comp: bool = False

    _label_always: ClassVar[tuple[str, ...]] = ("approx",)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "bias_comp", check_bool("bias_comp", self.bias_comp))
        na, nw = self.n_act_digits, self.n_weight_digits
        if isinstance(self.approx, str):
            if self.approx not in APPROX_PRESETS:
                raise ValueError(
                    f"approx must be one of {sorted(APPROX_PRESETS)} or a collection of kept "
                    f"(activation digit, weight digit) pairs; got {self.approx!r}"
                )
            kept = APPROX_PRESETS[self.approx](na, nw)
            if not kept:
                raise ValueError(
                    f"approx={self.approx!r} keeps no partial product with "
                    f"digit_bits={self.digit_bits} ({na} activation x {nw} weight digits)"
                )
        else:
            object.__setattr__(self, "approx", _parse_pairs(self.approx, na, nw))

    @cached_property
    def kept_pairs(self) -> tuple[Pair, ...]:
        if isinstance(self.approx, str):
            return tuple(
                sorted(APPROX_PRESETS[self.approx](self.n_act_digits, self.n_weight_digits))
            )
        return self.approx

    @property
    def dropped_pairs(self) -> tuple[Pair, ...]:
        kept = set(self.kept_pairs)
        return tuple(p for p in self.all_pairs if p not in kept)

    @cached_property
    def expected_dropped(self) -> Fraction:
        """E[sum of the dropped terms] per MAC under uniform digits (exact rational)."""
        t = self.digit_table
        am, wm = self.act_digit_max, self.weight_digit_max
        total = Fraction(0)
        for i, j in self.dropped_pairs:
            block = t[: am[i] + 1, : wm[j] + 1]
            total += Fraction(int(block.sum()), block.size) * (1 << (self.digit_bits * (i + j)))
        return total

    @cached_property
    def bias_per_mac(self) -> int:
        if not self.bias_comp:
            return 0
        e = self.expected_dropped
        return int((e + Fraction(1, 2)) // 1)  # round half up


def _parse_pairs(value: object, na: int, nw: int) -> tuple[Pair, ...]:
    msg = (
        f"approx must be one of {sorted(APPROX_PRESETS)} or a non-empty collection of kept "
        f"(activation digit i, weight digit j) pairs with 0 <= i < {na}, 0 <= j < {nw}"
    )
    iterable = isinstance(value, Iterable)
    if not iterable:
        raise ValueError(f"{msg}; got {value!r}")
    pairs = set()
    for p in value:
        ok = (
            isinstance(p, (tuple, list))
            and len(p) == 2
            and all(isinstance(x, Integral) and not isinstance(x, bool) for x in p)
        )
        if not ok or not (0 <= p[0] < na and 0 <= p[1] < nw):
            raise ValueError(f"{msg}; got pair {p!r}")
        pairs.add((int(p[0]), int(p[1])))
    if not pairs:
        raise ValueError(f"{msg}; got an empty collection")
    return tuple(sorted(pairs))
