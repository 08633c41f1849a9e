"""archsim.graph.ir: validation names node and attribute, exact save/load, helpers (no torch)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from archsim.graph.ir import (
    WorkloadError,
    compute_nodes,
    edge_bytes,
    gemm_shape,
    infer_shape,
    is_compute,
    load_workload,
    range_bits,
    save_workload,
    topo_order,
    validate_workload,
)


def add(g: nx.DiGraph, name: str, op: str, inputs: list, **attrs) -> None:
    """Add a node with its shape inferred, edges with bytes, and MAC counts filled in."""
    a = {"op": op, "inputs": list(inputs), **attrs}
    a.setdefault("out_lo", -128)
    a.setdefault("out_hi", 127)
    if op in ("relu", "maxpool", "flatten"):
        src = g.nodes[inputs[0]]
        a["out_scale"] = src["out_scale"]
        a["out_lo"], a["out_hi"] = (0 if op == "relu" else src["out_lo"]), src["out_hi"]
    a.setdefault("out_scale", 0.05)
    if op != "input":
        a["out_shape"] = infer_shape(a, [g.nodes[p]["out_shape"] for p in inputs])
    if op in ("conv", "linear"):
        w = a["weight"]
        a["mask"] = w != 0
        o = w.shape[0]
        a.setdefault("bias", np.arange(o, dtype=np.int64) - o // 2)
        a.setdefault("w_scale", np.full(o, 0.01))
        a.setdefault("requant_mult", np.arange(1, o + 1, dtype=np.int64) * 3)
        a.setdefault("requant_shift", 6)
        a.setdefault("weight_bits", 9)
        a.setdefault("act_bits", 8)
        n = a["out_shape"][0]
        pix = n * (math.prod(a["out_shape"][2:]) if op == "conv" else 1)
        a["macs_dense"] = pix * w.size
        a["macs_nonzero"] = pix * int(np.count_nonzero(w))
    g.add_node(name, **a)
    for p in dict.fromkeys(inputs):
        s = g.nodes[p]
        g.add_edge(
            p,
            name,
            shape=s["out_shape"],
            bytes=edge_bytes(s["out_shape"], s["out_lo"], s["out_hi"]),
        )


def toy_graph(batch: int = 2, seed: int = 0) -> nx.DiGraph:
    """input -> conv -> relu -> {maxpool, conv(grouped)} -> add/concat -> avgpool -> flatten ->
    linear."""
    rng = np.random.default_rng(seed)
    g = nx.DiGraph()
    add(g, "x", "input", [], out_shape=(batch, 4, 6, 6), out_scale=1 / 255, out_lo=0, out_hi=255)
    w1 = rng.integers(-255, 256, (4, 4, 3, 3))
    w1[rng.random(w1.shape) < 0.5] = 0
    add(
        g,
        "c1",
        "conv",
        ["x"],
        weight=w1,
        stride=(1, 1),
        padding=(1, 1),
        groups=1,
        out_lo=0,
        out_hi=255,
        requant_shift=14,
    )
    add(g, "r1", "relu", ["c1"])
    add(
        g,
        "c2",
        "conv",
        ["r1"],
        weight=rng.integers(-7, 8, (4, 2, 3, 3)),
        stride=(2, 2),
        padding=(1, 1),
        groups=2,
        requant_shift=9,
    )
    add(g, "p1", "maxpool", ["r1"], kernel=(3, 3), stride=(2, 2), padding=(1, 1))
    add(g, "a1", "add", ["p1", "c2"], requant_mults=[3, 5], requant_shift=2)
    add(g, "cat", "concat", ["a1", "p1", "a1"], axis=1, requant_mults=[2, 1, 7], requant_shift=1)
    add(
        g,
        "ap",
        "avgpool",
        ["cat"],
        kernel=(3, 3),
        stride=(3, 3),
        padding=(0, 0),
        requant_mult=7282,
        requant_shift=16,
    )
    add(g, "fl", "flatten", ["ap"], start_dim=1)
    add(g, "fc", "linear", ["fl"], weight=rng.integers(-255, 256, (5, 12)), requant_shift=12)
    g.graph.update(
        format_version=1,
        name="toy",
        inputs=["x"],
        outputs=["fc"],
        act_bits=8,
        weight_bits=9,
        sparsity=0.5,
        pruning="random (test)",
        seed=seed,
    )
    return g


def assert_same_graph(a: nx.DiGraph, b: nx.DiGraph) -> None:
    def same(x, y):
        assert type(x) is type(y), (x, y)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
        elif isinstance(x, (list, tuple)):
            assert len(x) == len(y)
            for u, v in zip(x, y):
                same(u, v)
        elif isinstance(x, dict):
            assert x.keys() == y.keys()
            for k in x:
                same(x[k], y[k])
        elif isinstance(x, float) and math.isnan(x):
            assert math.isnan(y)
        else:
            assert x == y

    assert list(a.nodes) == list(b.nodes)
    assert list(a.edges) == list(b.edges)
    same(dict(a.graph), dict(b.graph))
    for n in a.nodes:
        same(dict(a.nodes[n]), dict(b.nodes[n]))
    for e in a.edges:
        same(dict(a.edges[e]), dict(b.edges[e]))


def test_toy_graph_is_valid():
    validate_workload(toy_graph())


def test_save_load_round_trip_is_exact(tmp_path):
    g = toy_graph()
    g.graph["sample_input"] = np.arange(2 * 4 * 6 * 6, dtype=np.int64).reshape(2, 4, 6, 6) % 256
    g.graph["nested"] = {"t": (1, (2.5, "a")), "l": [(1, 2), None, True], "s": np.float32(1.5)}
    g.nodes["c1"]["bias"] = None
    g.nodes["fc"]["w_scale"] = np.array([0.1, float("nan"), 1e-300, 3.0, -0.0])
    save_workload(g, tmp_path / "wl")
    h = load_workload(tmp_path / "wl")
    assert_same_graph(g, h)
    assert type(h.graph["nested"]["s"]) is np.float32
    validate_workload(toy_graph())


def test_saved_json_is_node_link(tmp_path):
    import json

    save_workload(toy_graph(), tmp_path)
    d = json.loads((tmp_path / "graph.json").read_text())
    assert d["directed"] and not d["multigraph"]
    assert d["nodes"][0]["id"] == "x" and {"source", "target"} <= set(d["edges"][0])
    assert d["nodes"][1]["weight"] == {
        "__array__": d["nodes"][1]["weight"]["__array__"],
        "scalar": False,
    }


def test_load_missing_folder_names_the_file(tmp_path):
    with pytest.raises(WorkloadError, match="graph.json"):
        load_workload(tmp_path / "nope")


@pytest.mark.parametrize(
    "mutate, where, attr",
    [
        (lambda g: g.nodes["c1"].pop("requant_mult"), "c1", "requant_mult"),
        (
            lambda g: g.nodes["c1"].__setitem__("weight", g.nodes["c1"]["weight"].astype(np.int32)),
            "c1",
            "weight",
        ),
        (
            lambda g: g.nodes["c2"]["mask"].__setitem__(
                (0, 0, 0, 0), not g.nodes["c2"]["mask"][0, 0, 0, 0]
            ),
            "c2",
            "mask",
        ),
        (lambda g: g.nodes["fc"].__setitem__("out_shape", (2, 6)), "fc", "out_shape"),
        (lambda g: g.nodes["fc"].__setitem__("macs_nonzero", 1), "fc", "macs_nonzero"),
        (lambda g: g.nodes["a1"].__setitem__("requant_mults", [1]), "a1", "requant_mults"),
        (lambda g: g.nodes["ap"].__setitem__("op", "layernorm_fp32"), "ap", "op"),
        (lambda g: g.nodes["c1"].__setitem__("stride", [1, 1]), "c1", "stride"),
        (lambda g: g.nodes["c1"].__setitem__("out_scale", 1), "c1", "out_scale"),
        (lambda g: g.nodes["r1"].__setitem__("out_hi", 127), "r1", "out_lo"),
        (lambda g: g.nodes["fc"]["weight"].__setitem__((0, 0), 300), "fc", "weight"),
        (lambda g: g.nodes["a1"].__setitem__("inputs", ["p1", "r1"]), "a1", "inputs"),
        (
            lambda g: g.nodes["fl"].__setitem__(
                "ref_output", np.zeros((2, 12), dtype=np.int64) + 999
            ),
            "fl",
            "ref_output",
        ),
    ],
)
def test_validation_names_node_and_attribute(mutate, where, attr):
    g = toy_graph()
    mutate(g)
    with pytest.raises(WorkloadError) as e:
        validate_workload(g)
    assert f"node {where!r}" in str(e.value) and repr(attr) in str(e.value)


def test_validation_of_edges_and_graph_attributes():
    g = toy_graph()
    g.edges["c1", "r1"]["bytes"] += 1
    with pytest.raises(WorkloadError, match=r"edge \('c1', 'r1'\).*'bytes'"):
        validate_workload(g)
    g = toy_graph()
    del g.graph["seed"]
    with pytest.raises(WorkloadError, match="graph: attribute 'seed' is missing"):
        validate_workload(g)
    g = toy_graph()
    g.add_edge("fc", "x", shape=(2, 5), bytes=10)
    with pytest.raises(WorkloadError, match="cycle|inputs"):
        validate_workload(g)
    g = toy_graph()
    g.graph["sample_input"] = np.zeros((1, 4, 6, 6), dtype=np.int64)
    with pytest.raises(WorkloadError, match="sample_input"):
        validate_workload(g)


def test_topo_order_keeps_insertion_order_for_ties():
    g = nx.DiGraph()
    g.add_nodes_from(["d", "b", "a", "c"])
    g.add_edges_from([("a", "c"), ("d", "c")])
    assert topo_order(g) == ["d", "b", "a", "c"]
    order = topo_order(toy_graph())
    pos = {n: i for i, n in enumerate(order)}
    assert all(pos[u] < pos[v] for u, v in toy_graph().edges)


def test_compute_nodes_and_gemm_shapes():
    g = toy_graph(batch=2)
    assert compute_nodes(g) == ["c1", "c2", "fc"]
    assert is_compute("conv") and is_compute("linear") and not is_compute("add")
    assert gemm_shape(g.nodes["c1"]) == (2 * 6 * 6, 4, 4 * 3 * 3)
    assert gemm_shape(g.nodes["c2"]) == (2 * 3 * 3, 2, 2 * 3 * 3)  # per group, 2 groups
    assert gemm_shape(g.nodes["fc"]) == (2, 5, 12)
    with pytest.raises(WorkloadError, match="not a compute op"):
        gemm_shape(g.nodes["a1"])


def test_range_bits_and_edge_bytes():
    assert range_bits(0, 255) == 8 and range_bits(-128, 127) == 8 and range_bits(0, 127) == 7
    assert range_bits(0, 1023) == 10 and range_bits(-512, 511) == 10
    assert edge_bytes((1, 3, 2, 2), 0, 255) == 12 and edge_bytes((1, 3, 2, 2), 0, 1023) == 24
