"""Digit-decomposed look-up arithmetic shared by LUT-NA and A-LUT-NA.

In:  a ``DigitSpec``: digit width k, number of activation / weight magnitude digits, the kept
     (i, j) digit pairs (i indexes activation digits, j weight digits, 0 = least
     significant), the 2^k x 2^k digit-product table and the per-MAC bias constant; plus
     validated int64 operands.
Out: ``lookup_products`` -> element-wise products, reading the table for every kept digit
     pair; ``digit_matmul`` -> the (M, N) int64 accumulation computed with a few exact BLAS
     matmuls. Both implement, per MAC, with s_a = -1 if a < 0 else +1 and s_w = sign(w)
     (0 for a zero weight: a skipped MAC)::

         product = s_a * s_w * (sum_{(i,j) kept} T[a_i, w_j] * 2^(k (i + j)) + bias)

     where a_i, w_j are the k-bit digits of |a| and |w|.

Fast path. With the exact table (T[x, y] = x * y) the kept set, as a 0/1 matrix C, is written
as a short sum of rank-one terms u v^T (by rows, by columns, or as all-ones minus the dropped
pairs, whichever needs the fewest terms); each term is one matmul of
L = s_a * sum_i u_i 2^(k i) a_i by R = s_w * sum_j v_j 2^(k j) w_j (digit sums are bit masks
of the magnitude). A programmed table T adds its difference D = T - (exact table), decomposed
one-hot over the digit values of one side (the side with fewer values that are present in
the data and have a non-zero row / column of D): sum_k D[a_i, w_j] = sum_v D[a_i, v] @ [w_j == v].
So a table with a few altered entries costs a few extra matmuls; a fully random 16 x 16 table
up to 32 at k = 4. The bias adds bias * (s_a @ s_w).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .intmath import exact_int_matmul, sign_magnitude, split_digits

__all__ = ["DigitSpec", "digit_matmul", "lookup_products", "rank1_plan"]

Pair = tuple[int, int]


@dataclass(frozen=True)
class DigitSpec:
    """Everything the digit arithmetic needs; built by the LUT-NA kinds."""

    k: int
    n_act: int
    n_weight: int
    kept: tuple[Pair, ...]
    table: np.ndarray
    table_is_exact: bool  # the table holds x * y (the fast path then needs no table)
    bias: int


def rank1_plan(kept: tuple[Pair, ...], n_act: int, n_weight: int) -> list[tuple[tuple, tuple]]:
    """Fewest rank-one terms (u, v) with sum_t u_t v_t^T equal to the kept-pair 0/1 matrix."""
    c = np.zeros((n_act, n_weight), dtype=np.int64)
    for i, j in kept:
        c[i, j] = 1

    def by_rows(m: np.ndarray, sign: int) -> list[tuple[tuple, tuple]]:
        eye = np.eye(m.shape[0], dtype=np.int64)
        return [(tuple(sign * eye[i]), tuple(m[i])) for i in range(m.shape[0]) if m[i].any()]

    def by_cols(m: np.ndarray, sign: int) -> list[tuple[tuple, tuple]]:
        return [(u, v) for v, u in by_rows(m.T, sign)]

    ones = [(tuple([1] * n_act), tuple([1] * n_weight))]
    plans = [
        by_rows(c, 1),
        by_cols(c, 1),
        ones + by_rows(1 - c, -1),
        ones + by_cols(1 - c, -1),
    ]
    return min(plans, key=len)


def _digits(spec: DigitSpec, a: np.ndarray, w: np.ndarray):
    s_a, mag_a = sign_magnitude(a, zero_sign=1)
    s_w, mag_w = sign_magnitude(w, zero_sign=0)
    return (
        s_a,
        split_digits(mag_a, spec.k, spec.n_act),
        s_w,
        split_digits(mag_w, spec.k, spec.n_weight),
    )


def lookup_products(spec: DigitSpec, a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Element-wise products of broadcastable ``a`` and ``w``, one table read per kept pair."""
    s_a, a_d, s_w, w_d = _digits(spec, a, w)
    acc = np.zeros(np.broadcast_shapes(a.shape, w.shape), dtype=np.int64)
    for i, j in spec.kept:
        acc += spec.table[a_d[i], w_d[j]] << (spec.k * (i + j))
    acc += spec.bias
    return acc * s_a * s_w


def digit_matmul(spec: DigitSpec, a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(M, K) x (K, N) accumulation of ``lookup_products``, via exact BLAS matmuls.

    The exact-table part uses the rank-one plan on bit-masked magnitudes; a programmed table
    T adds the one-hot decomposition of T - (exact table) over the values where it differs.
    """
    k = spec.k
    signed_a = bool((a < 0).any())
    s_a = np.where(a < 0, -1, 1) if signed_a else None
    mag_a = np.abs(a) if signed_a else a
    s_w = np.sign(w)
    if len(spec.kept) == spec.n_act * spec.n_weight:
        out = exact_int_matmul(a, w)
    else:
        out = np.zeros((a.shape[0], w.shape[1]), dtype=np.int64)
        mag_w = np.abs(w)
        for u, v in rank1_plan(spec.kept, spec.n_act, spec.n_weight):
            left = a if all(c == 1 for c in u) else _masked(mag_a, u, k, s_a)
            right = w if all(c == 1 for c in v) else _masked(mag_w, v, k, s_w)
            out += exact_int_matmul(left, right)
    if not spec.table_is_exact:
        ones = np.ones((1, 1), dtype=np.int64) if s_a is None else s_a
        a_d = split_digits(mag_a, k, spec.n_act)
        w_d = split_digits(np.abs(w), k, spec.n_weight)
        out += _one_hot_matmul(spec, ones, a_d, s_w, w_d)
    if spec.bias:
        if s_a is None:
            out += spec.bias * s_w.sum(axis=0)[None, :]
        else:
            out += spec.bias * exact_int_matmul(s_a, s_w)
    return out


def _masked(mag: np.ndarray, coef: tuple, k: int, sign: np.ndarray | None) -> np.ndarray:
    """sign * sum_i coef_i * (digit i of mag, in place), with coef_i in {-1, 0, 1}."""
    digit = (1 << k) - 1
    pos = sum(digit << (k * i) for i, c in enumerate(coef) if c == 1)
    neg = sum(digit << (k * i) for i, c in enumerate(coef) if c == -1)
    out = mag & pos
    if neg:
        out = out - (mag & neg)
    return out if sign is None else out * sign


def _present(digits: np.ndarray, mask: np.ndarray | None, k: int) -> np.ndarray:
    vals = digits[mask] if mask is not None else digits.ravel()
    return np.flatnonzero(np.bincount(vals, minlength=1 << k))


def _one_hot_matmul(spec: DigitSpec, s_a, a_d, s_w, w_d) -> np.ndarray:
    """Accumulation of the table's difference D = T - exact over the kept pairs, one-hot
    over the digit values (present in the data, with a non-zero column / row of D) of the
    side that has fewer of them. ``s_a`` may be a (1, 1) array of ones for unsigned data."""
    k = spec.k
    v_all = np.arange(1 << k, dtype=np.int64)
    d = spec.table - v_all[:, None] * v_all[None, :]
    rows_of: dict[int, list[int]] = {}  # weight digit j -> activation digits i kept with it
    cols_of: dict[int, list[int]] = {}  # activation digit i -> weight digits j kept with it
    for i, j in spec.kept:
        rows_of.setdefault(j, []).append(i)
        cols_of.setdefault(i, []).append(j)
    col_used = d.any(axis=0)
    row_used = d.any(axis=1)
    w_vals = {j: [v for v in _present(w_d[j], s_w != 0, k) if col_used[v]] for j in rows_of}
    a_vals = {i: [u for u in _present(a_d[i], None, k) if row_used[u]] for i in cols_of}
    out = np.zeros((a_d[0].shape[0], w_d[0].shape[1]), dtype=np.int64)
    if sum(map(len, w_vals.values())) <= sum(map(len, a_vals.values())):
        for j, vals in w_vals.items():
            for v in vals:
                left = sum(d[:, v][a_d[i]] * (1 << (k * i)) for i in rows_of[j])
                right = s_w * (w_d[j] == v)
                out += exact_int_matmul(s_a * left, right) * (1 << (k * j))
    else:
        for i, vals in a_vals.items():
            for u in vals:
                right = sum(d[u][w_d[j]] * (1 << (k * j)) for j in cols_of[i])
                left = s_a * (a_d[i] == u)
                out += exact_int_matmul(left, s_w * right) * (1 << (k * i))
    return out
