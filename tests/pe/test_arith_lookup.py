"""The look-up path (literal table reads) equals the fast path for every kind, with the
default tables and with programmed (altered or random) tables."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.pe import pe_kind

from .arith_reference import operands

CONFIGS = [
    ("mac", {}),
    ("mac", {"act_signed": True, "weight_bits": 5}),
    ("lut", {}),
    ("lut", {"weight_bits": 8, "act_signed": True}),
    ("lut", {"act_bits": 4, "weight_bits": 3}),
    ("lutna", {}),
    ("lutna", {"digit_bits": 1, "weight_bits": 8}),
    ("lutna", {"digit_bits": 2, "act_signed": True}),
    ("lutna", {"digit_bits": 8}),
    ("lutna", {"parallel_tables": False, "weight_bits": 16}),
    ("alutna", {}),
    ("alutna", {"approx": "keep_hh", "bias_comp": True}),
    ("alutna", {"approx": "trunc_act_low", "act_signed": True, "bias_comp": True}),
    ("alutna", {"approx": [(0, 0), (1, 1)], "digit_bits": 2, "weight_bits": 8}),
    ("alutna", {"approx": "trunc_weight_low", "digit_bits": 1, "bias_comp": True}),
]


def _random_table(kind, rng, mode):
    """A programmed table: 'random' contents, or the exact one with a few entries altered."""
    if kind.name == "lut":
        exact = kind.product_table
        lo, hi = -(1 << (kind.word_bits - 1)), (1 << (kind.word_bits - 1)) - 1
    else:
        exact = kind.digit_table
        lo, hi = 0, exact.size - 1
    if mode == "random":
        return rng.integers(lo, hi + 1, size=exact.shape)
    t = exact.copy()
    idx = rng.integers(0, t.size, size=3)
    t.flat[idx] = rng.integers(lo, hi + 1, size=3)
    return t


@settings(max_examples=80, deadline=None)
@given(
    cfg=st.integers(0, len(CONFIGS) - 1),
    table=st.sampled_from(["default", "random", "altered"]),
    m=st.integers(1, 9),
    k=st.integers(1, 40),
    n=st.integers(1, 9),
    seed=st.integers(0, 2**32 - 1),
)
def test_lookup_path_equals_fast_path(cfg, table, m, k, n, seed):
    name, params = CONFIGS[cfg]
    rng = np.random.default_rng(seed)
    kind = pe_kind(name, **params)
    if table != "default" and name != "mac":
        kind = pe_kind(name, **params, table=_random_table(kind, rng, table))
    a, w = operands(kind, (m, k), (k, n), rng)
    fast = kind.matmul(a, w)
    slow = kind.matmul_lookup(a, w)
    assert fast.dtype == slow.dtype == np.int64
    np.testing.assert_array_equal(fast, slow)
    if kind.exact:
        np.testing.assert_array_equal(fast, a @ w)


@pytest.mark.parametrize(("name", "params"), [c for c in CONFIGS if c[0] != "mac"])
def test_programmed_table_on_a_conv_layer(name, params):
    rng = np.random.default_rng(9)
    base = pe_kind(name, **params)
    kind = pe_kind(name, **params, table=_random_table(base, rng, "random"))
    x, w = operands(kind, (1, 8, 10, 10), (8, 8, 3, 3), rng)
    fast = kind.conv2d(x, w, stride=2, padding=1)
    np.testing.assert_array_equal(fast, kind.conv2d(x, w, stride=2, padding=1, path="lookup"))
    assert not np.array_equal(fast, base.conv2d(x, w, stride=2, padding=1))


def test_lookup_reads_table_entries_by_hand():
    """T[x, y] = 1 at (1, 1), 2 at (3, 0), else 0: products follow the table, not a * w."""
    t = np.zeros((16, 16), dtype=np.int64)
    t[1, 1] = 1
    t[3, 0] = 2
    kind = pe_kind("lutna", table=t)
    a = np.array([[1, 17, 3, 0x31, 3]])
    w = np.array([[1], [1], [16], [-1], [0]])
    # digits are (low, high); products sum T[a_i, w_j] << 4 (i + j) over all four pairs:
    # a=1, w=1: T[1,1] = 1.  a=17 (1,1), w=1 (1,0): T[1,1] + T[1,1] << 4 = 17.
    # a=3 (3,0), w=16 (0,1): T[3,0] = 2.  a=0x31 (1,3), w=-1 (1,0):
    # -(T[1,1] + T[3,0] << 8) = -513.  w=0: skipped MAC, 0 whatever T[3,0] holds.
    expected_each = np.array([1, 17, 2, -513, 0])
    np.testing.assert_array_equal(kind.multiply(a[0], w[:, 0]), expected_each)
    np.testing.assert_array_equal(kind.matmul_lookup(a, w), [[expected_each.sum()]])
    np.testing.assert_array_equal(kind.matmul(a, w), [[expected_each.sum()]])


def test_monolithic_lut_indexes_twos_complement_bits():
    t = np.zeros((256, 512), dtype=np.int64)
    t[5, 512 - 3] = 1234  # column of weight -3
    t[5, 3] = -7
    kind = pe_kind("lut", table=t)
    np.testing.assert_array_equal(
        kind.multiply(np.array([5, 5, 5]), np.array([-3, 3, 0])), [1234, -7, 0]
    )
    np.testing.assert_array_equal(kind.matmul(np.array([[5, 5]]), np.array([[-3], [3]])), [[1227]])


def test_fast_path_chunks_large_reductions_exactly():
    """Operands large enough that one float64 matmul could not be exact: K is chunked."""
    from archsim.pe.intmath import exact_int_matmul

    rng = np.random.default_rng(0)
    a = rng.integers(-(2**20), 2**20, size=(5, 3000))
    b = rng.integers(-(2**20), 2**20, size=(3000, 4))
    np.testing.assert_array_equal(exact_int_matmul(a, b), a @ b)
    big = np.full((1, 2), 2**30)
    np.testing.assert_array_equal(exact_int_matmul(big, big.T), big @ big.T)  # int fallback
    with pytest.raises(ValueError, match="overflow"):
        exact_int_matmul(np.full((1, 4), 2**31), np.full((4, 1), 2**31))
