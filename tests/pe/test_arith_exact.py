"""Exact kinds (mac, lut, lutna at every digit width, 8- and 9-bit weights) against torch.

torch's CPU conv2d / linear accept int64 tensors and accumulate in int64, so the reference
is torch's own exact integer result on the same integer arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.pe import pe_kind

from .arith_reference import RESNET18_LAYERS, operands, torch_conv2d, torch_linear

torch.set_num_threads(1)

EXACT_CONFIGS = (
    [("mac", {"weight_bits": wb}) for wb in (8, 9)]
    + [("lut", {"weight_bits": wb}) for wb in (8, 9)]
    + [("lutna", {"digit_bits": k, "weight_bits": wb}) for k in (1, 2, 4, 8) for wb in (8, 9)]
    + [
        ("mac", {"act_signed": True}),
        ("lut", {"act_signed": True}),
        ("lutna", {"act_signed": True, "digit_bits": 2}),
        ("lutna", {"act_signed": True, "digit_bits": 4, "weight_bits": 8}),
        ("lutna", {"act_bits": 4, "digit_bits": 2, "weight_bits": 5}),
    ]
)
KINDS = [pe_kind(name, **params) for name, params in EXACT_CONFIGS]
IDS = [k.label for k in KINDS]


def test_all_configured_kinds_are_exact():
    assert all(k.exact for k in KINDS)


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    return {
        "kind": draw(st.integers(0, len(KINDS) - 1)),
        "n": draw(st.integers(1, 2)),
        "groups": groups,
        "c": groups * draw(st.integers(1, 3)),
        "o": groups * draw(st.integers(1, 3)),
        "kh": draw(st.integers(1, 3)),
        "kw": draw(st.integers(1, 3)),
        "h": draw(st.integers(3, 7)),
        "w": draw(st.integers(3, 7)),
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "padding": (draw(st.integers(0, 2)), draw(st.integers(0, 2))),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv2d_matches_torch_random_shapes(case):
    kind = KINDS[case["kind"]]
    rng = np.random.default_rng(case["seed"])
    x, w = operands(
        kind,
        (case["n"], case["c"], case["h"], case["w"]),
        (case["o"], case["c"] // case["groups"], case["kh"], case["kw"]),
        rng,
    )
    kw = {"stride": case["stride"], "padding": case["padding"], "groups": case["groups"]}
    ref = torch_conv2d(x, w, **kw)
    fast = kind.conv2d(x, w, **kw)
    assert fast.dtype == np.int64
    np.testing.assert_array_equal(fast, ref)
    np.testing.assert_array_equal(kind.conv2d(x, w, **kw, path="lookup"), ref)


@settings(max_examples=40, deadline=None)
@given(
    kind_i=st.integers(0, len(KINDS) - 1),
    lead=st.lists(st.integers(1, 3), min_size=1, max_size=2),
    fin=st.integers(1, 40),
    fout=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_linear_matches_torch_random_shapes(kind_i, lead, fin, fout, seed):
    kind = KINDS[kind_i]
    x, w = operands(kind, (*lead, fin), (fout, fin), np.random.default_rng(seed))
    ref = torch_linear(x, w)
    np.testing.assert_array_equal(kind.linear(x, w), ref)
    np.testing.assert_array_equal(kind.linear(x, w, path="lookup"), ref)


_RESNET_CACHE: dict = {}


def _resnet_case(layer, weight_bits):
    key = (layer[0], weight_bits)
    if key not in _RESNET_CACHE:
        name, c, o, k, s, p, h = layer
        ref_kind = pe_kind("lutna", weight_bits=weight_bits)  # symmetric range: valid for all
        x, w = operands(ref_kind, (1, c, h, h), (o, c, k, k), np.random.default_rng(len(name)))
        _RESNET_CACHE[key] = (x, w, torch_conv2d(x, w, stride=s, padding=p))
    return _RESNET_CACHE[key]


@pytest.mark.parametrize("layer", RESNET18_LAYERS, ids=[lay[0] for lay in RESNET18_LAYERS])
@pytest.mark.parametrize(
    "kind", [k for k in KINDS if not k.act_signed and k.act_bits == 8], ids=lambda k: k.label
)
def test_resnet18_conv_layers_match_torch(kind, layer):
    x, w, ref = _resnet_case(layer, kind.weight_bits)
    _, _, _, _, s, p, _ = layer
    np.testing.assert_array_equal(kind.conv2d(x, w, stride=s, padding=p), ref)


@pytest.mark.parametrize(
    "kind",
    [pe_kind("lut"), pe_kind("lutna"), pe_kind("lutna", digit_bits=2, weight_bits=8)],
    ids=lambda k: k.label,
)
@pytest.mark.parametrize("layer", RESNET18_LAYERS, ids=[lay[0] for lay in RESNET18_LAYERS])
def test_resnet18_conv_layers_lookup_path(kind, layer):
    """Real table reads on the real spatial shapes (8 output channels to stay fast)."""
    x, w, ref = _resnet_case(layer, kind.weight_bits)
    _, _, _, _, s, p, _ = layer
    out = kind.conv2d(x, w[:8], stride=s, padding=p, path="lookup")
    np.testing.assert_array_equal(out, ref[:, :8])


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_resnet18_linear_matches_torch(kind):
    x, w = operands(kind, (4, 512), (10, 512), np.random.default_rng(7))
    ref = torch_linear(x, w)
    np.testing.assert_array_equal(kind.linear(x, w), ref)
    np.testing.assert_array_equal(kind.linear(x, w, path="lookup"), ref)


@pytest.mark.parametrize(
    ("c", "o", "groups", "kernel", "stride", "padding"),
    [
        (4, 6, 2, (3, 3), (2, 1), (1, 0)),
        (6, 6, 3, (3, 1), (1, 2), (0, 2)),
        (8, 8, 8, (3, 3), 1, 1),  # depthwise
        (4, 8, 4, (1, 3), (3, 2), (2, 1)),
        (3, 4, 1, (2, 2), 2, (1, 1)),
    ],
)
@pytest.mark.parametrize(
    "kind",
    [pe_kind("mac"), pe_kind("lut"), pe_kind("lutna"), pe_kind("lutna", digit_bits=1)],
    ids=lambda k: k.label,
)
def test_groups_stride_padding_pairs(kind, c, o, groups, kernel, stride, padding):
    rng = np.random.default_rng(3)
    x, w = operands(kind, (2, c, 9, 8), (o, c // groups, *kernel), rng)
    kw = {"stride": stride, "padding": padding, "groups": groups}
    ref = torch_conv2d(x, w, **kw)
    np.testing.assert_array_equal(kind.conv2d(x, w, **kw), ref)
    np.testing.assert_array_equal(kind.conv2d(x, w, **kw, path="lookup"), ref)


def test_mac_and_lut_accept_full_twos_complement_weights():
    for kind in (pe_kind("mac"), pe_kind("lut")):
        x = np.array([[255, 1]])
        w = np.array([[-256], [255]])
        np.testing.assert_array_equal(kind.matmul(x, w), x @ w)
        np.testing.assert_array_equal(kind.matmul_lookup(x, w), x @ w)
