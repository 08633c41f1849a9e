"""Error of approximate PE kinds: measured statistics and closed-form bounds.

The error of one MAC is ``a * w - kind.multiply(a, w)`` (exact minus computed).

In:  ``error_stats(kind, a, w)``: a kind and broadcastable integer operand arrays (each
     element pair is one MAC); ``error_bounds(kind)``: a kind.
Out: ``ErrorStats`` (count, mean, mean |error|, min, max, max |error|, and max |error| relative
     to the full-scale product) measured on the data; ``ErrorBounds``: closed forms per MAC.

Closed forms (``error_bounds``) are stated for magnitudes (non-negative operands); a negative
operand flips the error's sign, so |error| <= ``max_abs_error`` holds on any data. For a
digit kind with the exact table, dropped pairs D, digit maxima amax_i (activation) and
wmax_j (weight magnitude), shift s_ij = 2^(k (i + j)) and bias c:

- the dropped sum lies in [0, M] with M = sum_D amax_i wmax_j s_ij (all digits at maximum);
- its mean under independent uniform digits is M / 4 (each digit has mean max / 2);
- with a zero weight nothing is computed (error 0), otherwise the error is dropped - c, so
  error in [-c, M - c], max |error| = max(c, M - c), and
  mean = M / 4 - c (1 - 2^-(weight_bits - 1)) (2^-(wb-1) = probability of a zero weight).

Uniform digits over their ranges are the same as uniform magnitudes over
[0, 2^mag_bits - 1], so an exhaustive grid of magnitudes reproduces min, max and mean exactly.
Exact kinds have all-zero bounds; kinds with a programmed table have no closed form
(ValueError).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .base import PEKind
from .lutna import DigitLUTKind

__all__ = ["ErrorBounds", "ErrorStats", "error_bounds", "error_stats", "full_scale"]


@dataclass(frozen=True)
class ErrorStats:
    """Error per MAC measured on data (error = exact - computed)."""

    n: int
    mean_error: float
    mean_abs_error: float
    min_error: int
    max_error: int
    max_abs_error: int
    max_rel_full_scale: float


@dataclass(frozen=True)
class ErrorBounds:
    """Closed-form error per MAC for magnitudes under uniform digits (see module doc)."""

    min_error: int
    max_error: int
    max_abs_error: int
    mean_error: float
    full_scale: int


def full_scale(kind: PEKind) -> int:
    """Largest |a| * |w| over the kind's operand ranges."""
    alo, ahi = kind.act_range
    wlo, whi = kind.weight_range
    return max(abs(alo), abs(ahi)) * max(abs(wlo), abs(whi))


def error_stats(kind: PEKind, a: Any, w: Any) -> ErrorStats:
    """Measure the per-MAC error of ``kind`` on element pairs of broadcastable ``a``, ``w``."""
    computed = kind.multiply(a, w)
    a64 = kind.check_activations(a)
    w64 = kind.check_weights(w)
    err = a64 * w64 - computed
    if err.size == 0:
        raise ValueError("error_stats needs at least one (a, w) pair; got empty operands")
    max_abs = int(np.abs(err).max())
    fs = full_scale(kind)
    return ErrorStats(
        n=int(err.size),
        mean_error=float(err.mean()),
        mean_abs_error=float(np.abs(err).mean()),
        min_error=int(err.min()),
        max_error=int(err.max()),
        max_abs_error=max_abs,
        max_rel_full_scale=max_abs / fs if fs else 0.0,
    )


def error_bounds(kind: PEKind) -> ErrorBounds:
    """Closed-form error bounds per MAC of ``kind`` (see the module docstring)."""
    fs = full_scale(kind)
    if kind.exact:
        return ErrorBounds(0, 0, 0, 0.0, fs)
    if not isinstance(kind, DigitLUTKind) or not kind.table_is_exact:
        raise ValueError(
            f"error_bounds has closed forms for digit kinds with the exact table only; "
            f"{kind.label} has a programmed table (measure it with error_stats)"
        )
    k = kind.digit_bits
    kept = set(kind.kept_pairs)
    am, wm = kind.act_digit_max, kind.weight_digit_max
    m = sum(am[i] * wm[j] << (k * (i + j)) for i, j in kind.all_pairs if (i, j) not in kept)
    c = kind.bias_per_mac
    p_nonzero_w = 1 - Fraction(1, 1 << kind.weight_mag_bits)
    mean = Fraction(m, 4) - c * p_nonzero_w
    return ErrorBounds(
        min_error=-c,
        max_error=m - c,
        max_abs_error=max(c, m - c),
        mean_error=float(mean),
        full_scale=fs,
    )
