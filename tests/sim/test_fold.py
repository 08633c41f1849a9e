"""Fold model == SCALE-Sim v3 closed form (docs/facts.md section 4) and sparse-skipping rules."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.mapping.fold import fold_cycles


@pytest.mark.parametrize(
    "df,m,n,k,expected",
    [
        ("os", 64, 64, 64, 1503), ("ws", 64, 64, 64, 1759), ("is", 64, 64, 64, 1759),
        # ResNet-18 CIFAR conv1: 34x34x3 padded input, 64 3x3 filters -> 32x32 outputs
        ("os", 1024, 64, 27, 14591), ("ws", 1024, 64, 27, 8559), ("is", 1024, 64, 27, 14079),
    ],
)
def test_scalesim_printed_examples(df, m, n, k, expected):
    assert fold_cycles(df, 16, 16, m, n, k).cycles == expected


def _closed_form(df, R, C, m, n, k):
    sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[df]
    cpf = t + R + C - 2 if df == "os" else 2 * R + C + t - 2
    return math.ceil(sr / R) * math.ceil(sc / C) * cpf - 1


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["os", "ws", "is"]), st.integers(1, 64), st.integers(1, 64),
       st.integers(1, 300), st.integers(1, 300), st.integers(1, 300))
def test_dense_matches_closed_form(df, R, C, m, n, k):
    assert fold_cycles(df, R, C, m, n, k).cycles == _closed_form(df, R, C, m, n, k)


def test_all_ones_mask_equals_dense():
    for df in ("os", "ws", "is"):
        dense = fold_cycles(df, 8, 4, 37, 13, 29)
        masked = fold_cycles(df, 8, 4, 37, 13, 29, np.ones((29, 13), dtype=bool))
        assert masked.cycles == dense.cycles


def test_sparse_rules_worked_by_hand():
    # K=4, N=2 on a 2x2 array; filter 0 has 1 non-zero, filter 1 has 3.
    mask = np.array([[1, 1], [0, 1], [0, 1], [0, 0]], dtype=bool)
    # os: M=2 -> 1 row fold; one column fold with T = max nnz = 3: 3 + 2 + 2 - 2 = 5, -1
    assert fold_cycles("os", 2, 2, 2, 2, 4, mask).cycles == 4
    # ws: compacted K = 3 -> ceil(3/2) = 2 row folds of 2*2 + 2 + M(2) - 2 = 6 -> 12 - 1
    assert fold_cycles("ws", 2, 2, 2, 2, 4, mask).cycles == 11
    # is: K rows 0-1 touch both filters (T=2), rows 2-3 touch filter 1 (T=1);
    # M=2 -> 1 col fold: (4 + 2 + 2 - 2) + (4 + 2 + 1 - 2) - 1 = 6 + 5 - 1
    assert fold_cycles("is", 2, 2, 2, 2, 4, mask).cycles == 10
    fc = fold_cycles("is", 2, 2, 2, 2, 4, mask)
    # issued: fold 0 streams 2 filters x 2 rows, fold 1 one filter x 2 rows, for M=2 pixels;
    # 8 of the 12 issued MACs have a non-zero weight
    assert (fc.macs_mapped, fc.macs_nonzero) == (2 * 6, 2 * 4)


def test_bad_arguments():
    with pytest.raises(ValueError, match="dataflow"):
        fold_cycles("xs", 4, 4, 1, 1, 1)
    with pytest.raises(ValueError, match="rows"):
        fold_cycles("os", 0, 4, 1, 1, 1)
    with pytest.raises(ValueError, match="mask shape"):
        fold_cycles("os", 4, 4, 2, 2, 2, np.ones((3, 2), dtype=bool))
