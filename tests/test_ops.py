"""archsim.graph.ops: exact integer semantics, checked by hand and against naive loops (no
torch)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.graph import ops
from archsim.graph.ir import WorkloadError, topo_order
from tests.test_graph import toy_graph


def naive_conv(x, w, stride, padding, groups):
    n, c, h, wd = x.shape
    o, ig, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=object)
    xp[:, :, ph : ph + h, pw : pw + wd] = x
    ho, wo = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    og = o // groups
    out = np.zeros((n, o, ho, wo), dtype=object)
    for b in range(n):
        for oc in range(o):
            g = oc // og
            for i in range(ho):
                for j in range(wo):
                    patch = xp[b, g * ig : (g + 1) * ig, i * sh : i * sh + kh, j * sw : j * sw + kw]
                    out[b, oc, i, j] = int((patch * w[oc].astype(object)).sum())
    return out


def py_requant(x: int, m: int, s: int, lo: int, hi: int) -> int:
    return min(hi, max(lo, (x * m + (1 << (s - 1))) // (1 << s)))


def test_requant_by_hand():
    x = np.array([-3, -2, -1, 0, 1, 2, 3, 1000, -1000])
    assert ops.requant(x, 1, 1, -128, 127).tolist() == [-1, -1, 0, 0, 1, 1, 2, 127, -128]
    y = ops.requant(np.array([[10, 10], [-10, -10]]), np.array([3, 5]), 2, -128, 127)
    assert y.tolist() == [[8, 13], [-7, -12]]  # floor((30+2)/4)=8, floor((50+2)/4)=13, ...
    assert y.dtype == np.int64


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-(2**31), 2**31), min_size=1, max_size=20),
    st.integers(0, 2**30),
    st.integers(1, 31),
    st.integers(-200, 0),
    st.integers(0, 300),
)
def test_requant_matches_python_ints(xs, m, s, lo, hi):
    got = ops.requant(np.array(xs, dtype=np.int64), m, s, lo, hi).tolist()
    assert got == [py_requant(x, m, s, lo, hi) for x in xs]


def test_requant_refuses_overflow():
    with pytest.raises(ValueError, match="overflows"):
        ops.requant(np.array([2**40]), 2**30, 4, -128, 127)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 2),
    st.sampled_from([1, 2]),
    st.integers(1, 3),
    st.integers(3, 7),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(0, 1),
    st.integers(0, 2**31 - 1),
)
def test_conv_matches_naive(n, groups, cpg, size, k, stride, pad, seed):
    rng = np.random.default_rng(seed)
    c, o = cpg * groups, 2 * groups
    x = rng.integers(-128, 128, (n, c, size, size))
    w = rng.integers(-255, 256, (o, cpg, k, k))
    got = ops.conv2d_acc(x, w, (stride, stride), (pad, pad), groups)
    assert got.dtype == np.int64
    assert np.array_equal(
        got, naive_conv(x, w, (stride, stride), (pad, pad), groups).astype(np.int64)
    )


def test_exact_matmul_falls_back_to_int64_when_float64_is_not_exact():
    a = np.array([[2**40 + 1, 3]], dtype=np.int64)
    b = np.array([[2**12 + 1], [5]], dtype=np.int64)
    assert ops.exact_matmul(a, b)[0, 0] == (2**40 + 1) * (2**12 + 1) + 15


def test_pooling_matches_naive():
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, (2, 3, 5, 5))
    got = ops.maxpool2d(x, (3, 3), (2, 2), (1, 1))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-(10**9))
    want = np.array(
        [
            [
                [
                    [xp[b, c, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].max() for j in range(3)]
                    for i in range(3)
                ]
                for c in range(3)
            ]
            for b in range(2)
        ]
    )
    assert np.array_equal(got, want)
    got = ops.avgpool2d(x, (2, 2), (2, 2), (1, 1), 1, 2, -128, 127)
    xz = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    sums = np.array(
        [
            [
                [
                    [xz[b, c, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].sum() for j in range(3)]
                    for i in range(3)
                ]
                for c in range(3)
            ]
            for b in range(2)
        ]
    )
    assert np.array_equal(got, np.floor((sums + 2) / 4).astype(np.int64))


def test_add_concat_relu_flatten():
    a, b = np.array([[1, -4]]), np.array([[3, 3]])
    assert ops.add([a, b], [3, 5], 2, -128, 127).tolist() == [[5, 1]]  # (3+15+2)>>2, (-12+15+2)>>2
    assert ops.concat([a, b], [2, 6], 1, 0, 255).tolist() == [[1, 0, 9, 9]]
    assert ops.relu(np.array([-5, 5, 300]), 255).tolist() == [0, 5, 255]
    assert ops.flatten(np.zeros((2, 3, 4, 5), dtype=np.int64)).shape == (2, 60)


def test_im2col_order_matches_weight_reshape():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (1, 3, 4, 4))
    w = rng.integers(-8, 8, (5, 3, 3, 3))
    cols = ops.im2col(x, (3, 3), (1, 1), (1, 1))
    assert cols.shape == (16, 27)
    acc = (cols @ w.reshape(5, -1).T).reshape(1, 4, 4, 5).transpose(0, 3, 1, 2)
    assert np.array_equal(acc, ops.conv2d_acc(x, w, (1, 1), (1, 1)))


def _manual(g, x):
    v = {"x": x}
    a = g.nodes
    v["c1"] = ops.requant(
        naive_conv(x, a["c1"]["weight"], (1, 1), (1, 1), 1).astype(np.int64)
        + a["c1"]["bias"][None, :, None, None],
        a["c1"]["requant_mult"],
        14,
        0,
        255,
    )
    v["r1"] = np.clip(v["c1"], 0, 255)
    v["c2"] = ops.requant(
        naive_conv(v["r1"], a["c2"]["weight"], (2, 2), (1, 1), 2).astype(np.int64)
        + a["c2"]["bias"][None, :, None, None],
        a["c2"]["requant_mult"],
        9,
        -128,
        127,
    )
    v["p1"] = ops.maxpool2d(v["r1"], (3, 3), (2, 2), (1, 1))
    v["a1"] = np.clip((v["p1"] * 3 + v["c2"] * 5 + 2) >> 2, -128, 127)
    v["cat"] = np.concatenate(
        [
            np.clip((v["a1"] * 2 + 1) >> 1, -128, 127),
            np.clip((v["p1"] + 1) >> 1, -128, 127),
            np.clip((v["a1"] * 7 + 1) >> 1, -128, 127),
        ],
        axis=1,
    )
    v["ap"] = np.clip((v["cat"].sum(axis=(2, 3), keepdims=True) * 7282 + 2**15) >> 16, -128, 127)
    v["fl"] = v["ap"].reshape(2, -1)
    v["fc"] = ops.requant(
        v["fl"] @ a["fc"]["weight"].T + a["fc"]["bias"], a["fc"]["requant_mult"], 12, -128, 127
    )
    return v


def test_run_graph_equals_hand_composition_and_uses_hooks():
    g = toy_graph()
    x = np.random.default_rng(3).integers(0, 256, (2, 4, 6, 6))
    got = ops.run_graph(g, x)
    want = _manual(g, x)
    assert list(got) == topo_order(g)
    for n in g.nodes:
        assert got[n].dtype == np.int64 and np.array_equal(got[n], want[n]), n
    calls = []

    def mm(a, b):
        calls.append((a.shape, b.shape))
        return a @ b

    hooked = ops.run_graph(g, x, matmul_fn=mm)
    assert calls == [
        ((72, 36), (36, 4)),
        ((18, 18), (18, 2)),
        ((18, 18), (18, 2)),
        ((2, 12), (12, 5)),
    ]
    assert all(np.array_equal(hooked[n], got[n]) for n in g.nodes)
    conv_calls = []

    def conv(x4, w4, stride, padding, groups):
        conv_calls.append(w4.shape)
        return ops.conv2d_acc(x4, w4, stride, padding, groups)

    hooked = ops.run_graph(g, x, conv_fn=conv)
    assert conv_calls == [(4, 4, 3, 3), (4, 2, 3, 3), (5, 12, 1, 1)]
    assert all(np.array_equal(hooked[n], got[n]) for n in g.nodes)


def test_run_graph_errors_name_the_problem():
    g = toy_graph()
    with pytest.raises(WorkloadError, match="input 'x' has shape"):
        ops.run_graph(g, np.zeros((1, 4, 6, 6), dtype=np.int64))
    with pytest.raises(WorkloadError, match="inputs"):
        ops.run_graph(g, {"y": np.zeros((2, 4, 6, 6), dtype=np.int64)})
