"""Bit-plane kinds with activation-built tables (tmac, luttc) and ternary weights.

References: torch's own int64 matmul / conv2d / linear on the same integer arrays; the table
contents and counts are worked out by hand from the definitions in archsim.pe.bitplane.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from archsim.pe import OpCounts, TableInventory, pe_kind
from archsim.report.pe_table import format_pe_table, pe_table_rows

from .arith_reference import operands, torch_conv2d, torch_linear

torch.set_num_threads(1)


def _kind(name, g, **kw):
    return pe_kind(name, **({"group": g} if name == "tmac" else {"k_dim": g}), **kw)


CONFIGS = [
    (name, g, {"weight_bits": b, "act_signed": s})
    for name in ("tmac", "luttc")
    for b in (1, 2, 3, 4)
    for g, s in ((4, False), (3, True), (2, False), (8, True))
] + [(name, 4, {"weights": "ternary"}) for name in ("tmac", "luttc")]
KINDS = [_kind(n, g, **kw) for n, g, kw in CONFIGS]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: f"{k.label}-g{k.g}-s{int(k.act_signed)}")
def test_matmul_both_paths_equal_torch(kind):
    rng = np.random.default_rng(kind.weight_bits * 31 + kind.g)
    for m, k, n in ((5, 13, 7), (1, 1, 1), (3, 32, 2)):  # K not a multiple of g pads groups
        a, w = operands(kind, (m, k), (k, n), rng)
        ref = (torch.from_numpy(a) @ torch.from_numpy(w)).numpy()
        assert np.array_equal(kind.matmul(a, w), ref)
        assert np.array_equal(kind.matmul_lookup(a, w), ref)
        assert np.array_equal(kind.multiply(a[:, :, None], w[None]).sum(axis=1), ref)
    assert kind.exact


@pytest.mark.parametrize("name", ["tmac", "luttc"])
def test_conv2d_and_linear_both_paths_equal_torch(name):
    kind = _kind(name, 4, weight_bits=3)
    rng = np.random.default_rng(7)
    x, w = operands(kind, (2, 4, 6, 5), (6, 2, 3, 3), rng)
    ref = torch_conv2d(x, w, stride=(2, 1), padding=1, groups=2)
    for path in ("fast", "lookup"):
        assert np.array_equal(kind.conv2d(x, w, (2, 1), 1, 2, path=path), ref)
    x, w = operands(kind, (2, 3, 10), (4, 10), rng)  # (batch, tokens, features)
    for path in ("fast", "lookup"):
        assert np.array_equal(kind.linear(x, w, path=path), torch_linear(x, w))


def test_tables_by_hand():
    x = np.array([[1, 2, 3, 4]])
    # T[idx] = sum_j (+1 if bit j of idx else -1) x_j
    full = [sum((1 if (i >> j) & 1 else -1) * (j + 1) for j in range(4)) for i in range(16)]
    assert full[:8] == [-10, -8, -6, -4, -4, -2, 0, 2]
    tmac, luttc = pe_kind("tmac"), pe_kind("luttc")
    # tmac stores the top-bit-clear half; luttc the bit-0-set half at idx >> 1
    assert tmac.build_tables(x).tolist() == [[[-10, -8, -6, -4, -4, -2, 0, 2]]]
    assert luttc.build_tables(x).tolist() == [[[-8, -4, -2, 2, 0, 4, 6, 10]]]
    idx = np.arange(16)
    for kind in (tmac, luttc):
        stored = kind.build_tables(x)[0, 0]
        neg, addr = kind.address(idx)
        assert np.where(neg, -stored[addr], stored[addr]).tolist() == full  # mirror: T[~i] = -T[i]
    # w = [1, -2, 0, 1] at b = 2: u = w + 2 = [3, 0, 2, 3]; plane 0 bits 1,0,0,1 -> idx 9,
    # plane 1 bits 1,0,1,1 -> idx 13; acc = T[9] + 2 T[13] = 0 + 2*6 = 12; (12 - 10) / 2 = 1
    w = np.array([[1], [-2], [0], [1]])
    assert full[9] == 0 and full[13] == 6
    assert pe_kind("tmac", weight_bits=2).matmul_lookup(x, w).tolist() == [[1]] == (x @ w).tolist()


def test_ops_tables_latency_by_hand():
    k = pe_kind("tmac", weight_bits=2, group=4)
    assert k.ops_per_mac() == OpCounts(lookups=0.5, adds=0.5, shifts=0.25)
    assert k.cycles_per_mac == 0.5
    assert k.tables() == TableInventory(n_tables=1, entries=8, word_bits=11)  # +-1020: 11 bits
    assert pe_kind("tmac", weight_bits=4, group=4).cycles_per_mac == 1.0
    assert pe_kind("tmac", weight_bits=1, group=2).ops_per_mac() == OpCounts(lookups=0.5,
                                                                          adds=0.5)
    assert pe_kind("luttc", weight_bits=3, k_dim=4).ops_per_mac() == OpCounts(
        lookups=0.75, adds=0.75, shifts=0.5)
    assert pe_kind("tmac", act_signed=True).word_bits == 11  # +-512
    assert pe_kind("tmac", group=8).tables().entries == 128
    # T-MAC's example: K = 4096, g = 4 -> 1024 tables of 8 stored entries per token
    t = pe_kind("tmac").activation_tables(4096)
    assert (t.tables_per_token, t.entries_per_table, t.word_bits) == (1024, 8, 11)
    assert t.bits_per_token == 1024 * 8 * 11
    assert t.build_adds_per_table == 3 + 7 and t.build_adds_per_token == 10240
    assert pe_kind("tmac").activation_tables(5).tables_per_token == 2


def test_ternary_for_mac_lutna_tmac():
    mac = pe_kind("mac", weights="ternary")
    assert (mac.weight_bits, mac.weight_range) == (2, (-1, 1))
    assert mac.ops_per_mac() == OpCounts(adds=1)
    assert pe_kind("lutna", weights="ternary").weight_range == (-1, 1)
    assert pe_kind("lutna", weights="ternary").ops_per_mac().lookups == 2  # two act digits
    tm = pe_kind("tmac", weights="ternary")
    assert (tm.weight_bits, tm.planes, tm.weight_range) == (2, 2, (-1, 1))
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (4, 9))
    w = rng.integers(-1, 2, (9, 5))
    ref = a @ w
    for kind in (mac, pe_kind("lutna", weights="ternary"), tm, pe_kind("luttc", weights="ternary")):
        assert np.array_equal(kind.matmul(a, w), ref)
        assert np.array_equal(kind.matmul_lookup(a, w), ref)
        with pytest.raises(ValueError, match=r"weights \(w\) out of range"):
            kind.matmul(a, w * 2)
    assert pe_kind("mac", weights="ternary", weight_bits=2) == mac


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("tmac", {"weight_bits": 9}, "weight_bits"),
        ("tmac", {"weight_bits": 0}, "weight_bits"),
        ("tmac", {"group": 1}, "group"),
        ("tmac", {"group": 9}, "group"),
        ("luttc", {"k_dim": 16}, "k_dim"),
        ("tmac", {"act_bits": 0}, "act_bits"),
        ("tmac", {"weights": "binary"}, "weights"),
        ("tmac", {"weights": "ternary", "weight_bits": 3}, "weight_bits"),
        ("mac", {"weights": "ternary", "weight_bits": 8}, "weight_bits"),
        ("lutna", {"weights": 2}, "weights"),
        ("luttc", {"act_signed": 1}, "act_signed"),
        ("luttc", {"group": 4}, "group"),  # luttc's group size is k_dim
    ],
)
def test_bad_parameters_name_the_field(name, params, field):
    with pytest.raises(ValueError, match=field):
        pe_kind(name, **params)


@pytest.mark.parametrize(
    ("name", "params"),
    [("tmac", {"weight_bits": 2, "group": 3}), ("luttc", {"weights": "ternary"}),
     ("mac", {"weights": "ternary"}), ("lutna", {"weights": "ternary", "digit_bits": 2})],
)
def test_params_round_trip(name, params):
    kind = pe_kind(name, **params)
    again = pe_kind(name, **kind.params())
    assert again == kind and hash(again) == hash(kind)
    assert set(kind.params()) == {f.name for f in dataclasses.fields(kind)}


def test_pe_table_lists_the_new_kinds():
    rows = {r["label"]: r for r in pe_table_rows()}
    assert rows["tmac(weight_bits=2)"]["lookups_per_mac"] == 0.5
    assert rows["tmac(weight_bits=2)"]["table_source"] == "activations"
    assert rows["luttc(weight_bits=4)"]["cycles_per_mac"] == 1.0
    assert rows["mac(weight_bits=2, weights='ternary')"]["mults_per_mac"] == 0
    assert rows["lutna"]["table_source"] == "fixed" and rows["mac"]["table_source"] == "-"
    assert "activations" in format_pe_table(list(rows.values()))
