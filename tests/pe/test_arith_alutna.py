"""A-LUT-NA against a torch reference written from the definition, and its error statistics
against the closed forms (docs/facts.md section 2)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.pe import error_bounds, error_stats, pe_kind

from .arith_reference import (
    bias_by_definition,
    digit_layout,
    kept_pairs_by_definition,
    operands,
    torch_digit_op,
)

torch.set_num_threads(1)

PRESETS = ["none", "drop_ll", "keep_hh", "trunc_act_low", "trunc_weight_low"]
CONFIGS = (
    [
        {"approx": p, "bias_comp": b, "digit_bits": k, "weight_bits": wb}
        for p, b, k, wb in itertools.product(PRESETS, (False, True), (1, 2, 4), (8, 9))
    ]
    + [
        {"approx": p, "bias_comp": b, "digit_bits": 4, "act_signed": True}
        for p, b in itertools.product(PRESETS, (False, True))
    ]
    + [
        {"approx": [(1, 1), (0, 1), (1, 0)], "bias_comp": True},
        {"approx": [(0, 3), (3, 0), (2, 2)], "digit_bits": 2, "bias_comp": True},
        {"approx": "keep_hh", "digit_bits": 8, "weight_bits": 9},
    ]
)


def _definition(kind):
    n_a, n_w, _, _ = digit_layout(kind.act_bits, kind.weight_bits, kind.digit_bits, kind.act_signed)
    kept = kept_pairs_by_definition(kind.params()["approx"], n_a, n_w)
    bias = (
        bias_by_definition(kept, kind.act_bits, kind.weight_bits, kind.digit_bits, kind.act_signed)
        if kind.bias_comp
        else 0
    )
    common = {
        "k": kind.digit_bits,
        "act_bits": kind.act_bits,
        "weight_bits": kind.weight_bits,
        "act_signed": kind.act_signed,
    }
    return kept, bias, common


@pytest.mark.parametrize("params", CONFIGS, ids=lambda p: pe_kind("alutna", **p).label)
def test_kept_pairs_and_bias_follow_definition(params):
    kind = pe_kind("alutna", **params)
    kept, bias, _ = _definition(kind)
    assert set(kind.kept_pairs) == kept
    assert kind.bias_per_mac == bias
    assert kind.ops_per_mac().lookups == len(kept)
    assert kind.exact == (kept == set(kind.all_pairs) and bias == 0)


@pytest.mark.parametrize("params", CONFIGS, ids=lambda p: pe_kind("alutna", **p).label)
def test_conv2d_and_linear_match_torch_definition(params):
    kind = pe_kind("alutna", **params)
    kept, bias, common = _definition(kind)
    rng = np.random.default_rng(11)
    x, w = operands(kind, (2, 4, 7, 6), (6, 2, 3, 3), rng)
    conv_kw = {"stride": (2, 1), "padding": (1, 2), "groups": 2}
    ref = torch_digit_op(F.conv2d, x, w, kept=kept, bias=bias, **common, **conv_kw)
    np.testing.assert_array_equal(kind.conv2d(x, w, **conv_kw), ref)
    np.testing.assert_array_equal(kind.conv2d(x, w, **conv_kw, path="lookup"), ref)
    xl, wl = operands(kind, (3, 50), (5, 50), rng)
    ref = torch_digit_op(F.linear, xl, wl, kept=kept, bias=bias, **common)
    np.testing.assert_array_equal(kind.linear(xl, wl), ref)
    np.testing.assert_array_equal(kind.linear(xl, wl, path="lookup"), ref)


@settings(max_examples=30, deadline=None)
@given(
    cfg=st.integers(0, len(CONFIGS) - 1),
    n=st.integers(1, 2),
    c=st.integers(1, 4),
    o=st.integers(1, 4),
    hw=st.integers(3, 6),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    padding=st.integers(0, 2),
    seed=st.integers(0, 2**32 - 1),
)
def test_conv2d_matches_torch_definition_random_shapes(
    cfg, n, c, o, hw, kernel, stride, padding, seed
):
    kind = pe_kind("alutna", **CONFIGS[cfg])
    kept, bias, common = _definition(kind)
    x, w = operands(kind, (n, c, hw, hw), (o, c, kernel, kernel), np.random.default_rng(seed))
    conv_kw = {"stride": stride, "padding": padding}
    ref = torch_digit_op(F.conv2d, x, w, kept=kept, bias=bias, **common, **conv_kw)
    np.testing.assert_array_equal(kind.conv2d(x, w, **conv_kw), ref)


def test_resnet18_layer_alutna_matches_definition():
    kind = pe_kind("alutna", approx="drop_ll", bias_comp=True)
    kept, bias, common = _definition(kind)
    x, w = operands(kind, (1, 64, 32, 32), (128, 64, 3, 3), np.random.default_rng(5))
    conv_kw = {"stride": 2, "padding": 1}
    ref = torch_digit_op(F.conv2d, x, w, kept=kept, bias=bias, **common, **conv_kw)
    np.testing.assert_array_equal(kind.conv2d(x, w, **conv_kw), ref)


# ---- error statistics ---------------------------------------------------------------------
def _magnitude_grid(kind):
    """Every (|a|, |w|) pair once: the uniform-digit distribution exactly."""
    a_hi = kind.act_range[1]
    w_hi = kind.weight_range[1]
    return np.arange(a_hi + 1)[:, None], np.arange(w_hi + 1)[None, :]


def test_facts_closed_forms_unsigned_8b_by_8b():
    """docs/facts.md section 2: drop a_L b_L -> error in [0, 225]; keep a_H b_H -> error up to
    7,425."""
    drop = error_bounds(pe_kind("alutna", approx="drop_ll"))
    assert (drop.min_error, drop.max_error, drop.max_abs_error) == (0, 225, 225)
    assert drop.mean_error == pytest.approx(225 / 4)
    keep = error_bounds(pe_kind("alutna", approx="keep_hh"))
    assert (keep.min_error, keep.max_error) == (0, 7425)
    trunc = error_bounds(pe_kind("alutna", approx="trunc_act_low"))
    assert trunc.max_error == 15 * 255
    assert drop.full_scale == 255 * 255


@pytest.mark.parametrize(
    "params",
    [p for p in CONFIGS if p.get("digit_bits", 4) in (2, 4) and not p.get("act_signed")],
    ids=lambda p: pe_kind("alutna", **p).label,
)
def test_exhaustive_error_equals_closed_form(params):
    kind = pe_kind("alutna", **params)
    stats = error_stats(kind, *_magnitude_grid(kind))
    bounds = error_bounds(kind)
    assert stats.max_error == bounds.max_error
    assert stats.min_error == bounds.min_error
    assert stats.max_abs_error == bounds.max_abs_error
    assert stats.mean_error == pytest.approx(bounds.mean_error, rel=1e-12, abs=1e-9)
    assert stats.max_rel_full_scale == pytest.approx(bounds.max_abs_error / bounds.full_scale)


@pytest.mark.parametrize("approx", ["drop_ll", "keep_hh", "trunc_act_low"])
@pytest.mark.parametrize("bias_comp", [False, True])
def test_random_uniform_error_matches_closed_form(approx, bias_comp):
    kind = pe_kind("alutna", approx=approx, bias_comp=bias_comp)
    rng = np.random.default_rng(2024)
    n = 1_000_000
    a = rng.integers(0, 256, n)
    w = rng.integers(0, 256, n)
    stats = error_stats(kind, a, w)
    bounds = error_bounds(kind)
    assert bounds.min_error <= stats.min_error
    assert stats.max_error <= bounds.max_error
    assert stats.max_abs_error <= bounds.max_abs_error
    assert stats.max_error >= 0.95 * bounds.max_error
    err = a * w - kind.multiply(a, w)
    tol = 5 * err.std() / np.sqrt(n)
    assert abs(stats.mean_error - bounds.mean_error) < tol
    if bias_comp:
        assert abs(stats.mean_error) < 0.05 * error_bounds(kind.__class__(approx=approx)).mean_error


def test_drop_ll_unsigned_8b_magnitudes_max_225_on_data():
    kind = pe_kind("alutna", approx="drop_ll")
    rng = np.random.default_rng(1)
    stats = error_stats(kind, rng.integers(0, 256, 200_000), rng.integers(0, 256, 200_000))
    assert stats.max_abs_error == 225
    assert stats.min_error == 0


def test_signed_operands_error_bounded_by_max_abs():
    kind = pe_kind("alutna", approx="trunc_act_low", act_signed=True, bias_comp=True)
    a, w = operands(kind, (100_000,), (100_000,), np.random.default_rng(4))
    stats = error_stats(kind, a, w)
    assert stats.max_abs_error <= error_bounds(kind).max_abs_error
    assert abs(stats.mean_error) < 0.05 * error_bounds(kind).max_abs_error


def test_error_bounds_exact_kinds_and_programmed_tables():
    for kind in (
        pe_kind("mac"),
        pe_kind("lut"),
        pe_kind("lutna"),
        pe_kind("alutna", approx="none"),
    ):
        b = error_bounds(kind)
        assert (b.min_error, b.max_error, b.max_abs_error, b.mean_error) == (0, 0, 0, 0.0)
    table = np.arange(256).reshape(16, 16)
    with pytest.raises(ValueError, match="programmed table"):
        error_bounds(pe_kind("alutna", table=table))


def test_error_stats_on_programmed_table():
    v = np.arange(16)
    table = v[:, None] * v[None, :]
    table[15, 15] = 0  # a stuck-at-zero entry
    kind = pe_kind("lutna", table=table)
    assert not kind.exact
    stats = error_stats(kind, np.array([255, 15, 240]), np.array([255, 15, 1]))
    assert stats.max_abs_error == 225 * (1 + 16 + 16 + 256)
    assert stats.min_error == 0
