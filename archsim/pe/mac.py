"""Digital multiply-accumulate PE kind (``mac``): the baseline.

In:  ``act_bits`` (1..16, default 8), ``weight_bits`` (2..16, default 9), ``act_signed``
     (default False). Activations are unsigned ``act_bits`` integers, or two's complement if
     ``act_signed``; weights are two's-complement ``weight_bits`` integers (full range, e.g.
     -256..255 for 9 bits); ``weights`` (``"int"`` default, or ``"ternary"``: BitNet b1.58
     weights in {-1, 0, +1}, stored in 2 bits, so ``weight_bits`` becomes 2).
Out: exact products a * w; one multiply and one accumulate add per MAC, no tables, one cycle
     per MAC. With ternary weights there is no multiplier: the weight selects add, subtract
     or skip of the activation in the accumulator (BitNet's "multiplication-free" argument,
     Ma et al., arXiv 2402.17764), so one add and no multiply per MAC.
Per layer (``act_signed=`` per call): the multiplier takes signed or unsigned activations
(a Baugh-Wooley array with a signed/unsigned mode bit); it is priced as the same
act_bits x weight_bits array either way (the mode gates are not counted).
"""

from __future__ import annotations

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
from .registry import register_pe_kind

__all__ = ["MAC"]


@register_pe_kind("mac")
class MAC(PEKind):
    """Digital MAC: a multiplier (Wallace tree / array) feeding an accumulator."""

    act_bits: int = 8
    weight_bits: int = 9
    act_signed: bool = False
    weights: str = "int"

    def __post_init__(self) -> None:
        code, wb = check_weight_code(self.weights, self.weight_bits, 9)
        object.__setattr__(self, "weights", code)
        object.__setattr__(self, "weight_bits", wb)
        object.__setattr__(self, "act_signed", check_bool("act_signed", self.act_signed))
        lo = 2 if self.act_signed else 1
        object.__setattr__(self, "act_bits", check_int("act_bits", self.act_bits, lo, 16))
        object.__setattr__(self, "weight_bits", check_int("weight_bits", self.weight_bits, 2, 16))

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
        return 1.0

    def ops_per_mac(self) -> OpCounts:
        if self.weights == "ternary":
            return OpCounts(adds=1)
        return OpCounts(mults=1, adds=1)

    def tables(self) -> TableInventory:
        return TableInventory(n_tables=0, entries=0, word_bits=0)

    def _multiply(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        return a * w

    def _matmul_fast(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        return exact_int_matmul(a, w)
