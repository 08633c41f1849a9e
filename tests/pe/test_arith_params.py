"""Parameters, validation, registry, operation counts, tables, the pe-table and lowering."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from archsim.pe import (
    ALUTNA,
    LUTNA,
    OpCounts,
    PEKind,
    TableInventory,
    conv_output_hw,
    im2col,
    pe_kind,
    pe_kinds,
    register_pe_kind,
)
from archsim.report.pe_table import format_pe_table, pe_table_rows

torch.set_num_threads(1)

ALL_DEFAULT = [pe_kind(n) for n in ("mac", "lut", "lutna", "alutna")]


# ---- registry ------------------------------------------------------------------------------
def test_registry_lists_kinds():
    assert {"mac", "lut", "lutna", "alutna"} <= set(pe_kinds())
    assert isinstance(pe_kind("lutna"), LUTNA)
    assert isinstance(pe_kind("alutna"), ALUTNA)


def test_unknown_kind_lists_registered_names():
    with pytest.raises(ValueError, match="registered kinds: .*alutna.*lut.*lutna.*mac"):
        pe_kind("wallace")


def test_unknown_param_names_it_and_lists_valid():
    with pytest.raises(ValueError, match="digits.*valid parameters: .*digit_bits"):
        pe_kind("lutna", digits=4)
    with pytest.raises(ValueError, match="approx"):
        pe_kind("lutna", approx="drop_ll")  # only alutna has approx


def test_adding_a_kind_is_one_class_and_one_decorator():
    @register_pe_kind("toy_double")
    class Double(PEKind):
        act_bits: int = 4
        weight_bits: int = 4

        act_range = property(lambda self: (0, 15))
        weight_range = property(lambda self: (-7, 7))
        exact = property(lambda self: False)
        cycles_per_mac = property(lambda self: 2.0)

        def ops_per_mac(self):
            return OpCounts(mults=1, adds=2)

        def tables(self):
            return TableInventory(0, 0, 0)

        def _multiply(self, a, w):
            return 2 * a * w

        def _matmul_fast(self, a, w):
            return 2 * (a @ w)

    try:
        kind = pe_kind("toy_double", act_bits=4)
        assert "toy_double" in pe_kinds()
        assert dataclasses.is_dataclass(kind)
        with pytest.raises(dataclasses.FrozenInstanceError):
            kind.act_bits = 5
        x = np.arange(16).reshape(1, 1, 4, 4) % 16
        w = np.ones((2, 1, 3, 3), dtype=np.int64)
        np.testing.assert_array_equal(
            kind.conv2d(x, w), 2 * F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
        )
    finally:
        from archsim.pe import registry

        registry._REGISTRY.pop("toy_double", None)


# ---- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("lutna", {"digit_bits": 3}, "digit_bits"),
        ("lutna", {"digit_bits": 16}, "digit_bits"),
        ("lutna", {"act_bits": 6, "digit_bits": 4}, "digit_bits"),
        ("alutna", {"digit_bits": True}, "digit_bits"),
        ("lutna", {"weight_bits": 1}, "weight_bits"),
        ("lutna", {"weight_bits": 17}, "weight_bits"),
        ("mac", {"weight_bits": 0}, "weight_bits"),
        ("lut", {"weight_bits": -9}, "weight_bits"),
        ("mac", {"act_bits": 0}, "act_bits"),
        ("lut", {"act_bits": -8}, "act_bits"),
        ("lutna", {"act_bits": 8.0}, "act_bits"),
        ("lutna", {"act_bits": "8"}, "act_bits"),
        ("mac", {"act_bits": 1, "act_signed": True}, "act_bits"),
        ("mac", {"act_signed": "yes"}, "act_signed"),
        ("lutna", {"parallel_tables": 1}, "parallel_tables"),
        ("alutna", {"bias_comp": None}, "bias_comp"),
        ("alutna", {"approx": "drop_everything"}, "approx"),
        ("alutna", {"approx": 3}, "approx"),
        ("alutna", {"approx": []}, "approx"),
        ("alutna", {"approx": [(0, 2)]}, "approx"),
        ("alutna", {"approx": [(0, 0, 1)]}, "approx"),
        ("alutna", {"approx": "drop_ll", "digit_bits": 8}, "approx"),
        ("alutna", {"approx": "trunc_act_low", "digit_bits": 8}, "approx"),
        ("lutna", {"table": np.zeros((16, 8), dtype=np.int64)}, "table"),
        ("lutna", {"table": np.zeros((16, 16))}, "table"),
        ("lutna", {"table": np.zeros((16, 16), dtype=bool)}, "table"),
        ("lutna", {"table": np.full((16, 16), 256)}, "table"),
        ("lutna", {"table": np.full((16, 16), -1)}, "table"),
        ("lutna", {"digit_bits": 2, "table": np.zeros((16, 16), dtype=np.int64)}, "table"),
        ("lut", {"table": np.zeros((256, 256), dtype=np.int64)}, "table"),
        ("lut", {"act_bits": 2, "weight_bits": 2, "table": np.full((4, 4), 8)}, "table"),
        ("lut", {"act_bits": 16, "weight_bits": 16, "table": np.zeros((1, 1), np.int64)}, "table"),
    ],
)
def test_invalid_params_raise_naming_the_parameter(name, params, field):
    with pytest.raises(ValueError, match=field):
        pe_kind(name, **params)


def test_digit_bits_error_lists_valid_values():
    with pytest.raises(ValueError, match=r"valid values here: \[1, 2\]"):
        pe_kind("lutna", act_bits=6, digit_bits=4)


def test_operands_out_of_range_name_the_operand():
    kind = pe_kind("lutna")  # weights in sign-magnitude: -255..255
    with pytest.raises(ValueError, match="weights"):
        kind.matmul(np.ones((1, 1), int), np.array([[-256]]))
    with pytest.raises(ValueError, match="activations"):
        kind.matmul(np.array([[256]]), np.ones((1, 1), int))
    with pytest.raises(ValueError, match="activations"):
        kind.matmul(np.array([[-1]]), np.ones((1, 1), int))
    with pytest.raises(ValueError, match="activations"):
        kind.conv2d(np.full((1, 1, 3, 3), 300), np.ones((1, 1, 1, 1), int))
    with pytest.raises(ValueError, match="weights"):
        kind.linear(np.ones((2, 3), int), np.full((4, 3), 1000))
    with pytest.raises(ValueError, match="weights"):
        pe_kind("mac").matmul(np.ones((1, 1), int), np.array([[-257]]))
    with pytest.raises(ValueError, match="activations .*integer"):
        kind.matmul(np.ones((1, 1)), np.ones((1, 1), int))
    with pytest.raises(ValueError, match="weights .*integer"):
        kind.matmul(np.ones((1, 1), int), np.ones((1, 1), bool))
    signed = pe_kind("lutna", act_signed=True)
    assert signed.act_range == (-127, 127)
    with pytest.raises(ValueError, match="activations"):
        signed.matmul(np.array([[-128]]), np.ones((1, 1), int))


def test_shape_errors():
    kind = pe_kind("mac")
    with pytest.raises(ValueError, match="K="):
        kind.matmul(np.ones((2, 3), int), np.ones((4, 2), int))
    with pytest.raises(ValueError, match="2-D"):
        kind.matmul(np.ones(3, int), np.ones((3, 2), int))
    with pytest.raises(ValueError, match="groups"):
        kind.conv2d(np.ones((1, 3, 4, 4), int), np.ones((2, 3, 1, 1), int), groups=2)
    with pytest.raises(ValueError, match="input channels per group"):
        kind.conv2d(np.ones((1, 4, 4, 4), int), np.ones((2, 4, 1, 1), int), groups=2)
    with pytest.raises(ValueError, match="stride"):
        kind.conv2d(np.ones((1, 1, 4, 4), int), np.ones((1, 1, 1, 1), int), stride=0)
    with pytest.raises(ValueError, match="padding"):
        kind.conv2d(np.ones((1, 1, 4, 4), int), np.ones((1, 1, 1, 1), int), padding=-1)
    with pytest.raises(ValueError, match="kernel_hw"):
        kind.conv2d(np.ones((1, 1, 2, 2), int), np.ones((1, 1, 3, 3), int))
    with pytest.raises(ValueError, match="path"):
        kind.linear(np.ones((1, 2), int), np.ones((1, 2), int), path="slow")
    with pytest.raises(ValueError, match="in_features"):
        kind.linear(np.ones((1, 3), int), np.ones((1, 2), int))


# ---- parameters, equality ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("mac", {}),
        ("lut", {"weight_bits": 8}),
        ("lutna", {"digit_bits": 2, "parallel_tables": False}),
        ("alutna", {"approx": [(1, 1), (0, 1)], "bias_comp": True}),
        ("alutna", {"approx": "keep_hh", "table": np.arange(256).reshape(16, 16)}),
    ],
)
def test_params_round_trip_and_equality(name, params):
    kind = pe_kind(name, **params)
    exported = kind.params()
    again = pe_kind(name, **exported)
    assert again == kind
    assert hash(again) == hash(kind)
    assert set(exported) == {f.name for f in dataclasses.fields(kind)}
    assert kind.label.startswith(name)


def test_equality_compares_tables_by_content():
    t = np.arange(256).reshape(16, 16)
    assert pe_kind("lutna", table=t) == pe_kind("lutna", table=t.copy())
    assert pe_kind("lutna", table=t) != pe_kind("lutna", table=t[::-1])
    assert pe_kind("lutna") != pe_kind("alutna", approx="none")
    assert len({pe_kind("lutna"), pe_kind("lutna"), pe_kind("lutna", digit_bits=2)}) == 2


def test_programmed_table_is_copied_and_read_only():
    t = np.arange(256).reshape(16, 16)
    kind = pe_kind("lutna", table=t)
    t[0, 0] = 99
    assert kind.table[0, 0] == 0
    with pytest.raises(ValueError):
        kind.table[0, 0] = 1
    exact = np.arange(16)[:, None] * np.arange(16)[None, :]
    assert pe_kind("lutna", table=exact).exact
    assert pe_kind(
        "lut",
        act_bits=3,
        weight_bits=3,
        table=pe_kind("lut", act_bits=3, weight_bits=3).product_table,
    ).exact


def test_defaults_are_the_paper_setting():
    for kind in ALL_DEFAULT:
        assert (kind.act_bits, kind.weight_bits) == (8, 9)
        assert kind.act_range == (0, 255)
    assert pe_kind("lutna").weight_range == (-255, 255)
    assert pe_kind("mac").weight_range == (-256, 255)
    assert pe_kind("lutna").digit_bits == 4


# ---- counts, tables, latency ----------------------------------------------------------------
def test_ops_tables_latency_of_each_kind():
    mac, lut, lutna, alutna = ALL_DEFAULT
    assert mac.ops_per_mac() == OpCounts(mults=1, adds=1)
    assert mac.tables() == TableInventory(0, 0, 0) and mac.cycles_per_mac == 1
    assert lut.ops_per_mac() == OpCounts(lookups=1, adds=1)
    t = lut.tables()
    assert (t.n_tables, t.entries, t.word_bits, t.total_bits) == (1, 131_072, 17, 131_072 * 17)
    assert pe_kind("lut", weight_bits=8).tables().total_bits == 65_536 * 16  # 1 Mib
    # LUT-NA 8x9, k=4: 4 look-ups, 3 shift-add adds + 1 accumulate, 3 non-zero shifts
    assert lutna.ops_per_mac() == OpCounts(lookups=4, adds=4, shifts=3)
    t = lutna.tables()
    assert (t.n_tables, t.entries, t.word_bits, t.bits_per_table) == (4, 256, 8, 2048)
    assert lutna.cycles_per_mac == 1
    seq = pe_kind("lutna", parallel_tables=False)
    assert seq.tables().n_tables == 1 and seq.cycles_per_mac == 4
    assert alutna.ops_per_mac() == OpCounts(lookups=3, adds=3, shifts=3)
    hh = pe_kind("alutna", approx="keep_hh", bias_comp=True)
    assert hh.ops_per_mac() == OpCounts(lookups=1, adds=2, shifts=1)


@pytest.mark.parametrize(
    ("k", "wb", "lookups"),
    [(1, 9, 64), (2, 9, 16), (4, 9, 4), (8, 9, 1), (4, 8, 4), (2, 8, 16), (8, 16, 2), (1, 2, 8)],
)
def test_lookups_per_mac_formula(k, wb, lookups):
    kind = pe_kind("lutna", digit_bits=k, weight_bits=wb)
    assert kind.ops_per_mac().lookups == lookups == (8 // k) * -(-(wb - 1) // k)
    assert kind.tables().entries == 2 ** (2 * k)
    assert kind.tables().word_bits == 2 * k


def test_opcounts_helpers_and_validation():
    o = OpCounts(lookups=4, adds=4, shifts=3)
    assert o.scaled(10) == OpCounts(lookups=40, adds=40, shifts=30)
    assert o + OpCounts(mults=1) == OpCounts(lookups=4, adds=4, shifts=3, mults=1)
    with pytest.raises(ValueError, match="adds"):
        OpCounts(adds=-1)
    with pytest.raises(ValueError, match="n_tables"):
        TableInventory(n_tables=-1, entries=4, word_bits=2)


# ---- pe table --------------------------------------------------------------------------------
def test_pe_table_rows_and_format():
    rows = pe_table_rows()
    labels = [r["label"] for r in rows]
    assert labels[:3] == ["mac", "lut", "lutna"]
    assert "lutna(digit_bits=2)" in labels
    assert any("keep_hh" in lab for lab in labels) and any("trunc_act_low" in lab for lab in labels)
    by = {r["label"]: r for r in rows}
    assert by["lutna"]["total_table_bits"] == 4 * 256 * 8
    assert by["lutna(digit_bits=2)"]["lookups_per_mac"] == 16
    assert by["lut"]["entries_per_table"] == 131_072
    text = format_pe_table(rows)
    assert len(text.splitlines()) == len(rows) + 2
    assert "131,072" in text and "lookups/mac" in text
    assert pe_table_rows(["mac", pe_kind("lutna", digit_bits=8)])[1]["entries_per_table"] == 65_536
    for r in rows:
        assert not any("energy" in key or "pj" in key for key in r)


# ---- lowering ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("hw", "k", "s", "p"),
    [((32, 32), (3, 3), 1, 1), ((9, 7), (3, 2), (2, 3), (1, 0)), ((8, 8), (1, 1), 2, 0)],
)
def test_im2col_matches_torch_unfold(hw, k, s, p):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (2, 3, *hw))
    cols, (oh, ow) = im2col(x, k, s, p)
    ref = F.unfold(torch.from_numpy(x).double(), k, stride=s, padding=p)  # (N, C*kh*kw, L)
    ref = ref.permute(0, 2, 1).reshape(-1, ref.shape[1]).long().numpy()
    np.testing.assert_array_equal(cols, ref)
    assert (oh, ow) == conv_output_hw(hw, k, s, p)
    assert oh * ow == F.unfold(torch.zeros(1, 1, *hw), k, stride=s, padding=p).shape[-1]


def test_fast_path_on_a_large_layer():
    """1024 x 2304 @ 2304 x 256 (a 3x3x256 conv on 32x32): exact (speed is in benchmarks/)."""
    kind = pe_kind("lutna")
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (1024, 2304))
    w = rng.integers(-255, 256, (2304, 256))
    out = kind.matmul(a, w)
    np.testing.assert_array_equal(out[:4], a[:4] @ w)
