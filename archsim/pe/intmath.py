"""Exact integer matrix products on top of float64 BLAS, and small integer helpers.

numpy's int64 matmul does not use BLAS and is slow; float64 BLAS is exact as long as every
partial sum it forms is an integer of magnitude below 2^53. ``exact_int_matmul`` checks that
bound from the operands' actual largest magnitudes and splits the reduction axis K into chunks
that respect it, converting each chunk's result to int64 before adding.

In:  int64 arrays ``a`` (M, K) and ``b`` (K, N).
Out: ``exact_int_matmul`` -> (M, N) int64, bit-exact; ``sign_magnitude`` -> (sign, magnitude)
     int64 arrays; ``split_digits`` -> list of k-bit digit arrays, least significant first;
     ``digit_max`` -> largest value each digit of an m-bit magnitude can take;
     ``int_range`` -> inclusive range of a two's-complement or unsigned integer.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "F64_EXACT",
    "digit_max",
    "exact_int_matmul",
    "int_range",
    "sign_magnitude",
    "split_digits",
]

F64_EXACT = 2**53  # every integer of magnitude <= 2^53 is exact in float64
_INT64_LIMIT = 2**63 - 1


def exact_int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit-exact ``a @ b`` for integer (or bool) arrays, via float64 BLAS in K chunks.

    Raises ValueError if the result could overflow int64.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    m, k = a.shape
    k2, n = b.shape
    if k != k2:
        raise ValueError(f"inner dimensions differ: a is {a.shape}, b is {b.shape}")
    if a.size == 0 or b.size == 0:
        return np.zeros((m, n), dtype=np.int64)
    a_max = max(abs(int(a.min())), abs(int(a.max())))
    b_max = max(abs(int(b.min())), abs(int(b.max())))
    per_term = a_max * b_max
    if per_term == 0:
        return np.zeros((m, n), dtype=np.int64)
    if per_term * k > _INT64_LIMIT:
        raise ValueError(
            f"integer matmul may overflow int64: K={k}, max|a|={a_max}, max|b|={b_max}"
        )
    chunk = (F64_EXACT - 1) // per_term
    if chunk < 1:  # single products beyond 2^53: fall back to numpy's exact int64 matmul
        return a.astype(np.int64) @ b.astype(np.int64)
    af = a.astype(np.float64)
    bf = b.astype(np.float64)
    if chunk >= k:
        return (af @ bf).astype(np.int64)
    out = np.zeros((m, n), dtype=np.int64)
    for k0 in range(0, k, chunk):
        out += (af[:, k0 : k0 + chunk] @ bf[k0 : k0 + chunk]).astype(np.int64)
    return out


def sign_magnitude(x: np.ndarray, zero_sign: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``x`` into (sign, |x|) int64 arrays; the sign of 0 is ``zero_sign`` (0 or 1)."""
    x = np.asarray(x, dtype=np.int64)
    sign = np.where(x < 0, -1, 1).astype(np.int64)
    if zero_sign == 0:
        sign[x == 0] = 0
    return sign, np.abs(x)


def split_digits(mag: np.ndarray, k: int, n: int) -> list[np.ndarray]:
    """The ``n`` k-bit digits of non-negative ``mag``, least significant first."""
    mask = (1 << k) - 1
    return [(mag >> (k * i)) & mask for i in range(n)]


def digit_max(mag_bits: int, k: int, n: int) -> tuple[int, ...]:
    """Largest value of each k-bit digit of an unsigned ``mag_bits``-bit magnitude.

    The top digit is partly filled when k does not divide ``mag_bits`` (e.g. a 7-bit
    magnitude in 4-bit digits has digit maxima (15, 7)).
    """
    return tuple((1 << max(0, min(k, mag_bits - k * i))) - 1 for i in range(n))


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """Inclusive range of a ``bits``-bit integer: two's complement if ``signed``."""
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1
