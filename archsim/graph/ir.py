"""Workload graph IR: validation, shape rules, save/load, and helpers for the simulator.

The format is described in ``docs/workload_graph.md`` (format version 2; version 1 graphs,
which lack the optional attributes version 2 added, are still read and validated). A workload is a
``networkx.DiGraph`` whose nodes are layer-level operations carrying integer tensors and whose
edges are tensors (``shape``, ``bytes``). This module never imports torch.

Inputs: a ``networkx.DiGraph`` built by ``workloads.export`` (or by hand, for tests), or an
``archsim.graph.dag.Dag`` (the networkx-free graph the topology and workload readers build).
Outputs:
    validate_workload(g)       -> None, raises ``WorkloadError`` naming the node and attribute
    save_workload(g, path)     -> writes ``path/graph.json`` and ``path/arrays.npz``
    load_workload(path)        -> an equal DiGraph (same attributes, dtypes, tuples)
    read_workload(path)        -> the same as an ``archsim.graph.dag.Dag`` (no networkx import)
    topo_order(g)              -> node names, dependencies first, ties in insertion order
    compute_nodes(g)           -> conv/linear node names in ``topo_order``
    gemm_shape(attrs)          -> (M, N, K) of one GEMM of a conv/linear node
    is_compute(op)             -> True for ``conv`` and ``linear``
    input_range(g, node)       -> (signed, lo, hi) a conv/linear/matmul node declares for its
                                  (first) input
    infer_shape(attrs, shapes) -> output shape an op produces from its input shapes
    range_bits(lo, hi), edge_bytes(shape, lo, hi)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from archsim.errors import WorkloadError, short
from archsim.graph.dag import Dag, insertion_topo_order, is_digraph

if TYPE_CHECKING:  # networkx costs ~0.3 s to import; only loaded where a DiGraph is built
    import networkx as nx

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
OPS = ("input", "conv", "linear", "maxpool", "avgpool", "add", "concat", "relu", "flatten",
       "clamp", "table", "mul", "matmul", "softmax", "norm", "constant", "to_tokens",
       "token_pool")
# the transformer ops (archsim.graph.seqops; docs/workload_graph.md "Transformer ops")
SEQ_OPS = ("matmul", "softmax", "norm", "constant", "to_tokens", "token_pool")
COMPUTE_OPS = ("conv", "linear")

# fmt: off
_GRAPH_REQUIRED = {
    "format_version": int, "name": str, "inputs": list, "outputs": list, "act_bits": int,
    "weight_bits": int, "sparsity": (int, float), "pruning": str, "seed": int,
}
_NODE_REQUIRED = {
    "op": str, "inputs": list, "out_shape": tuple, "out_scale": float, "out_lo": int,
    "out_hi": int,
}
_GEMM_REQUIRED = {
    "weight": np.ndarray, "mask": np.ndarray, "bias": (np.ndarray, type(None)),
    "weight_bits": int, "act_bits": int, "w_scale": np.ndarray, "requant_mult": np.ndarray,
    "requant_shift": int, "macs_dense": int, "macs_nonzero": int,
}
_POOL_REQUIRED = {"kernel": tuple, "stride": tuple, "padding": tuple}
_OP_REQUIRED = {
    "input": {},
    "conv": {**_GEMM_REQUIRED, "stride": tuple, "padding": tuple, "groups": int},
    "linear": _GEMM_REQUIRED,
    "maxpool": _POOL_REQUIRED,
    "avgpool": {**_POOL_REQUIRED, "requant_mult": int, "requant_shift": int},
    "add": {"requant_mults": list, "requant_shift": int},
    "concat": {"axis": int, "requant_mults": list, "requant_shift": int},
    "relu": {},
    "flatten": {"start_dim": int},
    "clamp": {"clamp_lo": int, "clamp_hi": int},
    "table": {"table": np.ndarray, "table_lo": int, "fn": str},
    "mul": {"requant_mult": int, "requant_shift": int},
    # transformer ops (archsim.graph.seqops; docs/workload_graph.md "Transformer ops")
    "matmul": {"heads": int, "transpose_b": bool, "requant_mult": int, "requant_shift": int,
               "macs_dense": int},
    "softmax": {"segment": int, "causal": bool, "q_offset": int, "exp_q_ln2": int,
                "exp_q_b": int, "exp_q_c": int},
    "norm": {"norm": str, "gamma": np.ndarray, "beta": (np.ndarray, type(None)),
             "norm_bits": int, "eps_q": int, "requant_mult": int, "requant_shift": int},
    "constant": {"value": np.ndarray},
    "to_tokens": {},
    "token_pool": {"requant_mult": int, "requant_shift": int},
}
# optional per-op attributes (format version 2): name -> type; absent = the default stated
_OP_OPTIONAL = {
    "conv": {"dilation": tuple, "in_signed": bool, "in_lo": int, "in_hi": int, "empty": bool},
    "linear": {"in_signed": bool, "in_lo": int, "in_hi": int, "empty": bool},
    "matmul": {"in_signed": bool, "in_lo": int, "in_hi": int},
}
# (min, max) number of inputs; None = any
_N_INPUTS = {"input": (0, 0), "conv": (1, 1), "linear": (1, 1), "maxpool": (1, 1),
             "avgpool": (1, 1), "add": (2, None), "concat": (1, None), "relu": (1, 1),
             "flatten": (1, 1), "clamp": (1, 1), "table": (1, 1), "mul": (2, 2),
             "matmul": (2, 2), "softmax": (1, 1), "norm": (1, 1), "constant": (0, 0),
             "to_tokens": (1, 1), "token_pool": (1, 1)}
# fmt: on


def is_compute(op: str) -> bool:
    """True for ops that do multiply-accumulates (``conv``, ``linear``)."""
    return op in COMPUTE_OPS


def input_range(g, node) -> tuple[bool, int, int]:
    """(signed, lo, hi) of the (first) input a conv/linear/matmul ``node`` declares
    (``in_signed``, ``in_lo``, ``in_hi``); graphs without them (format 1, SCALE-Sim
    topologies) get the producer's ``out_lo`` / ``out_hi``, signed if ``out_lo < 0``."""
    a = g.nodes[node]
    if "in_lo" in a:
        return bool(a["in_signed"]), int(a["in_lo"]), int(a["in_hi"])
    src = g.nodes[a["inputs"][0]]
    lo, hi = int(src.get("out_lo", 0)), int(src.get("out_hi", 0))
    return lo < 0, lo, hi


def range_bits(lo: int, hi: int) -> int:
    """Bits needed to store an integer in [lo, hi] (8 for 0..255 and for -128..127)."""
    return max(1, int(hi - lo).bit_length())


def edge_bytes(shape: tuple, lo: int, hi: int) -> int:
    """Bytes of a tensor of ``shape`` whose elements lie in [lo, hi] (whole bytes each)."""
    return int(math.prod(shape)) * ((range_bits(lo, hi) + 7) // 8)


def topo_order(g: nx.DiGraph) -> list:
    """Nodes with every predecessor before its successors; ties kept in insertion order."""
    try:
        return insertion_topo_order(g)
    except ValueError as exc:
        raise WorkloadError(str(exc)) from None


def compute_nodes(g: nx.DiGraph) -> list:
    """The conv/linear nodes of ``g`` in ``topo_order``."""
    return [n for n in topo_order(g) if is_compute(g.nodes[n]["op"])]


def gemm_shape(attrs: dict) -> tuple[int, int, int]:
    """(M, N, K) of the GEMM a conv/linear node performs.

    conv: M = batch x Hout x Wout output pixels, N = O / groups output channels of one group,
    K = (I / groups) x kh x kw. A grouped conv is ``groups`` such GEMMs (one per group); for
    ``groups == 1`` N is all output channels. linear: M = batch, N = O, K = I.
    """
    op = attrs["op"]
    if op not in COMPUTE_OPS:
        raise WorkloadError(f"gemm_shape: op {op!r} is not a compute op (conv, linear)")
    w = attrs["weight"]
    if op == "conv":
        n, _, ho, wo = attrs["out_shape"]
        groups = attrs["groups"]
        return (
            int(n * ho * wo),
            int(w.shape[0] // groups),
            int(w.shape[1] * w.shape[2] * w.shape[3]),
        )
    if op == "linear":
        return int(math.prod(attrs["out_shape"][:-1])), int(w.shape[0]), int(w.shape[1])
    raise WorkloadError(f"gemm_shape: op {op!r} is not a compute op (conv, linear)")


def _pool_out(size: int, k: int, s: int, p: int) -> int:
    return (size + 2 * p - k) // s + 1


def infer_shape(attrs: dict, in_shapes: list) -> tuple:
    """Output shape (incl. batch) of the op in ``attrs`` applied to inputs of ``in_shapes``."""
    op = attrs["op"]
    if op == "input":
        return tuple(attrs["out_shape"])
    if op in ("relu", "clamp", "table"):
        return tuple(in_shapes[0])
    if op == "mul":
        x, s = (tuple(v) for v in in_shapes)
        if not (s == x or (len(x) == 4 and s == x[:2] + (1, 1))):
            raise WorkloadError(f"mul inputs {x} and {s}: the second must equal the first or "
                                f"be (N, C, 1, 1)")
        return x
    if op == "conv":
        n, c, h, w = in_shapes[0]
        o, ig, kh, kw = attrs["weight"].shape
        if c != ig * attrs["groups"]:
            raise WorkloadError(
                f"conv input has {c} channels, weight expects {ig * attrs['groups']}"
            )
        (sh, sw), (ph, pw) = attrs["stride"], attrs["padding"]
        dh, dw = attrs.get("dilation", (1, 1))
        kh, kw = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        return (n, o, _pool_out(h, kh, sh, ph), _pool_out(w, kw, sw, pw))
    if op == "linear":  # (N, I) or token tensors (B, T, I)
        *lead, i = in_shapes[0]
        if i != attrs["weight"].shape[1] or len(lead) not in (1, 2):
            raise WorkloadError(
                f"linear input has shape {tuple(in_shapes[0])}, weight expects (N, "
                f"{attrs['weight'].shape[1]}) or (B, T, {attrs['weight'].shape[1]})"
            )
        return (*lead, attrs["weight"].shape[0])
    if op in SEQ_OPS:
        return _infer_seq(attrs, in_shapes)
    if op in ("maxpool", "avgpool"):
        n, c, h, w = in_shapes[0]
        (kh, kw), (sh, sw), (ph, pw) = attrs["kernel"], attrs["stride"], attrs["padding"]
        return (n, c, _pool_out(h, kh, sh, ph), _pool_out(w, kw, sw, pw))
    if op == "add":
        if any(tuple(s) != tuple(in_shapes[0]) for s in in_shapes):
            raise WorkloadError(f"add inputs differ in shape: {in_shapes}")
        return tuple(in_shapes[0])
    if op == "concat":
        ax = attrs["axis"]
        base = list(in_shapes[0])
        for s in in_shapes[1:]:
            if len(s) != len(base) or any(
                a != b for d, (a, b) in enumerate(zip(s, base)) if d != ax
            ):
                raise WorkloadError(f"concat inputs differ outside axis {ax}: {in_shapes}")
        base[ax] = sum(s[ax] for s in in_shapes)
        return tuple(base)
    if op == "flatten":
        s = in_shapes[0]
        return tuple(s[: attrs["start_dim"]]) + (int(math.prod(s[attrs["start_dim"] :])),)
    raise WorkloadError(f"unknown op {op!r}")


def _infer_seq(attrs: dict, in_shapes: list) -> tuple:
    op = attrs["op"]
    if op == "constant":
        return tuple(int(s) for s in attrs["value"].shape)
    s0 = tuple(in_shapes[0])
    if op in ("softmax", "norm"):
        if op == "softmax" and (len(s0) != 3 or s0[2] % attrs["segment"]):
            raise WorkloadError(f"softmax input {s0} must be (B, T, F) with F a multiple of "
                                f"segment {attrs['segment']}")
        return s0
    if op == "to_tokens":
        if len(s0) != 4:
            raise WorkloadError(f"to_tokens input {s0} must be (N, C, H, W)")
        return (s0[0], s0[2] * s0[3], s0[1])
    if op == "token_pool":
        if len(s0) != 3:
            raise WorkloadError(f"token_pool input {s0} must be (B, T, F)")
        return (s0[0], s0[2])
    # matmul
    s1 = tuple(in_shapes[1])
    h = attrs["heads"]
    if len(s0) != 3 or len(s1) != 3 or s0[0] != s1[0] or h < 1:
        raise WorkloadError(f"matmul inputs {s0}, {s1} must be (B, T, F) and (B, S, F')")
    if attrs["transpose_b"]:
        if s0[2] != s1[2] or s0[2] % h:
            raise WorkloadError(f"matmul a @ b^T: features {s0[2]} and {s1[2]} must agree and "
                                f"divide into {h} heads")
        return (s0[0], s0[1], h * s1[1])
    if s0[2] != h * s1[1] or s1[2] % h:
        raise WorkloadError(f"matmul a @ b: a has {s0[2]} features, expected heads x S = "
                            f"{h} x {s1[1]}; b's {s1[2]} features must divide into {h} heads")
    return (s0[0], s0[1], s1[2])


def _check_type(where: str, key: str, value, typ) -> None:
    types = typ if isinstance(typ, tuple) else (typ,)
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        ok = False
    if not ok:
        names = "/".join(t.__name__ for t in types)
        raise WorkloadError(
            f"{where}: attribute {key!r} must be {names}, got {type(value).__name__}"
        )


def _checker(where: str):
    def chk(cond: bool, key: str, msg: str) -> None:
        if not cond:
            raise WorkloadError(f"{where}: attribute {key!r} {msg}")

    def arr(key: str, a: np.ndarray, dtype, shape=None) -> None:
        chk(a.dtype == dtype, key, f"must have dtype {np.dtype(dtype)}, got {a.dtype}")
        if shape is not None:
            chk(
                tuple(a.shape) == tuple(shape),
                key,
                f"must have shape {tuple(shape)}, got {a.shape}",
            )

    return chk, arr


def _two_ints(v) -> bool:
    return len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v)


def _validate_compute(where: str, a: dict) -> None:
    chk, arr = _checker(where)
    w = a["weight"]
    arr("weight", w, np.int64)
    chk(w.ndim == (4 if a["op"] == "conv" else 2), "weight", f"has wrong rank {w.ndim}")
    o = w.shape[0]
    arr("mask", a["mask"], np.bool_, w.shape)
    chk(bool(np.array_equal(a["mask"], w != 0)), "mask", "must be True exactly where weight != 0")
    if a.get("nm_sparsity") is not None:  # optional: the layer's declared N:M (SCALE-Sim v3)
        nm = a["nm_sparsity"]
        chk(isinstance(nm, (list, tuple)) and _two_ints(nm) and 1 <= nm[0] <= nm[1],
            "nm_sparsity", f"must be [N, M] with 1 <= N <= M, got {nm!r}")
    qmax = 2 ** (a["weight_bits"] - 1) - 1
    wmax = int(np.abs(w).max(initial=0))
    chk(wmax <= qmax, "weight", f"has |w| = {wmax} > {qmax} (weight_bits={a['weight_bits']})")
    if a["bias"] is not None:
        arr("bias", a["bias"], np.int64, (o,))
    arr("w_scale", a["w_scale"], np.float64, (o,))
    arr("requant_mult", a["requant_mult"], np.int64, (o,))
    chk(1 <= a["requant_shift"] <= 62, "requant_shift", "must be in 1..62")
    pix = math.prod(a["out_shape"][:-1]) if a["op"] == "linear" else a["out_shape"][0]
    if a["op"] == "conv":
        for key in ("stride", "padding"):
            chk(_two_ints(a[key]), key, "must be a tuple of 2 ints")
        chk(a["groups"] >= 1 and o % a["groups"] == 0, "groups", "must divide out channels")
        pix *= a["out_shape"][2] * a["out_shape"][3]
    dense, nz = pix * w.size, pix * int(np.count_nonzero(w))
    chk(a["macs_dense"] == dense, "macs_dense", f"is {a['macs_dense']}, expected {dense}")
    chk(a["macs_nonzero"] == nz, "macs_nonzero", f"is {a['macs_nonzero']}, expected {nz}")


def _validate_seq(where: str, a: dict, in_attrs: list) -> None:
    chk, arr = _checker(where)
    op = a["op"]
    if op in ("matmul", "norm", "token_pool"):
        chk(1 <= a["requant_shift"] <= 62, "requant_shift", "must be in 1..62")
    if op == "matmul":
        bsz, t, _ = a["out_shape"]
        s0, s1 = in_attrs[0]["out_shape"], in_attrs[1]["out_shape"]
        inner = s0[2] // a["heads"] if a["transpose_b"] else s1[1]
        cols = s1[1] if a["transpose_b"] else s1[2] // a["heads"]
        macs = bsz * a["heads"] * t * cols * inner
        chk(a["macs_dense"] == macs, "macs_dense", f"is {a['macs_dense']}, expected {macs}")
    if op == "softmax":
        chk(a["exp_q_ln2"] >= 1, "exp_q_ln2", "must be >= 1")
        chk(a["out_lo"] == 0, "out_lo", "of a softmax must be 0 (probabilities)")
        chk(a["q_offset"] >= 0, "q_offset", "must be >= 0")
    if op == "norm":
        f = a["out_shape"][-1]
        chk(a["norm"] in ("layer", "rms"), "norm", f"is {a['norm']!r}, expected layer or rms")
        arr("gamma", a["gamma"], np.int64, (f,))
        if a["beta"] is not None:
            arr("beta", a["beta"], np.int64, (f,))
        chk(0 <= a["norm_bits"] <= 16, "norm_bits", "must be in 0..16")
        chk(a["eps_q"] >= 1, "eps_q", "must be >= 1")
    if op == "constant":
        arr("value", a["value"], np.int64, a["out_shape"])
        v = a["value"]
        chk(not v.size or (v.min() >= a["out_lo"] and v.max() <= a["out_hi"]), "value",
            "has values outside out_lo..out_hi")
    if op == "to_tokens":
        src = in_attrs[0]
        chk(a["out_scale"] == src["out_scale"] and (a["out_lo"], a["out_hi"]) == (
            src["out_lo"], src["out_hi"]), "out_scale", "/range of to_tokens must be its input's")


def _validate_node(g: nx.DiGraph, n) -> None:
    a = g.nodes[n]
    where = f"node {n!r}"
    chk, arr = _checker(where)
    chk("op" in a, "op", "is missing")
    op = a["op"]
    chk(op in OPS, "op", f"is {op!r}, expected one of {OPS}")
    for key, typ in {**_NODE_REQUIRED, **_OP_REQUIRED[op]}.items():
        chk(key in a, key, f"is missing (required for op {op!r})")
        _check_type(where, key, a[key], typ)
    ins = a["inputs"]
    lo_n, hi_n = _N_INPUTS[op]
    chk(
        len(ins) >= lo_n and (hi_n is None or len(ins) <= hi_n),
        "inputs",
        f"has {len(ins)} entries; op {op!r} takes {lo_n}..{hi_n or 'many'}",
    )
    for p in ins:
        chk(p in g, "inputs", f"names {p!r}, which is not a node")
    preds = sorted(map(str, g.predecessors(n)))
    chk(set(ins) == set(g.predecessors(n)), "inputs", f"{ins} != the predecessor edges {preds}")
    chk(a["out_scale"] > 0 and math.isfinite(a["out_scale"]), "out_scale", "must be finite, > 0")
    chk(a["out_lo"] <= a["out_hi"], "out_lo", "must be <= out_hi")
    in_attrs = [g.nodes[p] for p in ins]
    try:
        expect = infer_shape(a, [p["out_shape"] for p in in_attrs])
    except WorkloadError as e:
        raise WorkloadError(f"{where}: {e}") from None
    chk(tuple(a["out_shape"]) == expect, "out_shape", f"is {a['out_shape']}, expected {expect}")
    for key, typ in _OP_OPTIONAL.get(op, {}).items():
        if key in a:
            _check_type(where, key, a[key], typ)
    if op in COMPUTE_OPS or op == "matmul":
        if "in_lo" in a or "in_hi" in a or "in_signed" in a:
            chk(all(k in a for k in ("in_signed", "in_lo", "in_hi")), "in_signed",
                "/in_lo/in_hi must be given together")
            src = in_attrs[0]
            chk(a["in_signed"] == (a["in_lo"] < 0), "in_signed",
                f"is {a['in_signed']} but in_lo is {a['in_lo']}")
            chk(a["in_lo"] <= src["out_lo"] and src["out_hi"] <= a["in_hi"], "in_lo",
                f"/in_hi {a['in_lo']}..{a['in_hi']} must contain the producer's range "
                f"{src['out_lo']}..{src['out_hi']}")
    if op in COMPUTE_OPS:
        _validate_compute(where, a)
        if "empty" in a:
            chk(a["empty"] == (not a["mask"].any()), "empty",
                f"is {a['empty']} but the layer has {int(a['mask'].sum())} non-zero weights")
        if op == "conv" and "dilation" in a:
            chk(_two_ints(a["dilation"]) and min(a["dilation"]) >= 1, "dilation",
                "must be a tuple of 2 ints >= 1")
    if op == "clamp":
        src = in_attrs[0]
        chk(a["out_scale"] == src["out_scale"], "out_scale", "of a clamp must equal its input's")
        lo, hi = max(a["clamp_lo"], src["out_lo"]), min(a["clamp_hi"], src["out_hi"])
        chk(a["out_lo"] == lo and a["out_hi"] == hi, "out_lo",
            f"/out_hi of a clamp must be {lo}..{hi}")
    if op == "table":
        src = in_attrs[0]
        n_in = src["out_hi"] - src["out_lo"] + 1
        arr("table", a["table"], np.int64, (n_in,))
        chk(a["table_lo"] == src["out_lo"], "table_lo", f"must be the input's out_lo "
            f"{src['out_lo']}")
        t = a["table"]
        chk(not t.size or (t.min() >= a["out_lo"] and t.max() <= a["out_hi"]), "table",
            "has values outside out_lo..out_hi")
    if op == "mul":
        chk(1 <= a["requant_shift"] <= 62, "requant_shift", "must be in 1..62")
    if op in ("maxpool", "avgpool"):
        for key in ("kernel", "stride", "padding"):
            chk(_two_ints(a[key]), key, "must be a tuple of 2 ints")
    if op in ("avgpool", "add", "concat"):
        chk(1 <= a["requant_shift"] <= 62, "requant_shift", "must be in 1..62")
    if op in ("add", "concat"):
        ok = len(a["requant_mults"]) == len(ins) and all(
            isinstance(m, int) for m in a["requant_mults"]
        )
        chk(ok, "requant_mults", "must be one int per input")
    if op in ("maxpool", "flatten", "relu"):
        src = in_attrs[0]
        chk(a["out_scale"] == src["out_scale"], "out_scale", f"of a {op} must equal its input's")
        lo = 0 if op == "relu" else src["out_lo"]
        chk(
            a["out_lo"] == lo and a["out_hi"] == src["out_hi"],
            "out_lo",
            f"/out_hi of a {op} must be {lo}..{src['out_hi']}",
        )
    if op in SEQ_OPS:
        _validate_seq(where, a, in_attrs)
    if "ref_output" in a:
        r = a["ref_output"]
        _check_type(where, "ref_output", r, np.ndarray)
        arr("ref_output", r, np.int64, a["out_shape"])
        inside = not r.size or (r.min() >= a["out_lo"] and r.max() <= a["out_hi"])
        chk(inside, "ref_output", "has values outside out_lo..out_hi")
    for p in set(ins):
        e, src = g.edges[p, n], g.nodes[p]
        ew = f"edge ({p!r}, {n!r})"
        for key in ("shape", "bytes"):
            if key not in e:
                raise WorkloadError(f"{ew}: attribute {key!r} is missing")
        if not isinstance(e["shape"], tuple) or e["shape"] != tuple(src["out_shape"]):
            raise WorkloadError(
                f"{ew}: attribute 'shape' is {e['shape']!r}, expected {src['out_shape']}"
            )
        b = edge_bytes(src["out_shape"], src["out_lo"], src["out_hi"])
        if e["bytes"] != b:
            raise WorkloadError(f"{ew}: attribute 'bytes' is {e['bytes']}, expected {b}")


def validate_workload(g: nx.DiGraph) -> None:
    """Check ``g`` against the contract; raise ``WorkloadError`` naming node and attribute.

    Any other exception a malformed graph provokes (an attribute of a wrong nested type) is
    reported as a ``WorkloadError`` too."""
    try:
        _validate_workload(g)
    except WorkloadError:
        raise
    except (TypeError, KeyError, IndexError, AttributeError, ValueError, OverflowError) as exc:
        raise WorkloadError(f"malformed workload graph: {type(exc).__name__}: "
                            f"{short(str(exc), 200)}") from None


def _validate_workload(g: nx.DiGraph) -> None:
    if not is_digraph(g):
        raise WorkloadError("workload must be a networkx.DiGraph (or an archsim.graph.dag.Dag)")
    for key, typ in _GRAPH_REQUIRED.items():
        if key not in g.graph:
            raise WorkloadError(f"graph: attribute {key!r} is missing")
        _check_type("graph", key, g.graph[key], typ)
    if g.graph["format_version"] not in READABLE_VERSIONS:
        raise WorkloadError(
            f"graph: attribute 'format_version' is {g.graph['format_version']}, "
            f"expected one of {READABLE_VERSIONS}"
        )
    if not 0.0 <= g.graph["sparsity"] <= 1.0:
        raise WorkloadError("graph: attribute 'sparsity' must be in 0..1")
    for key in ("inputs", "outputs"):
        for n in g.graph[key]:
            if n not in g:
                raise WorkloadError(f"graph: attribute {key!r} names {n!r}, which is not a node")
    for n in g.graph["inputs"]:
        if g.nodes[n].get("op") != "input":
            raise WorkloadError(f"graph: attribute 'inputs' names {n!r}, whose op is not 'input'")
    order = topo_order(g)
    for n in order:
        _validate_node(g, n)
    inputs = [n for n in g.nodes if g.nodes[n]["op"] == "input"]
    if sorted(map(str, inputs)) != sorted(map(str, g.graph["inputs"])):
        raise WorkloadError(
            f"graph: attribute 'inputs' is {g.graph['inputs']}, but input nodes are {inputs}"
        )
    if "sample_input" in g.graph:
        x = g.graph["sample_input"]
        _check_type("graph", "sample_input", x, np.ndarray)
        first = g.nodes[g.graph["inputs"][0]]
        _checker("graph")[1]("sample_input", x, np.int64, first["out_shape"])


# ---------------------------------------------------------------- save / load


def _encode(value, arrays: dict):
    if isinstance(value, (np.ndarray, np.generic)):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(value)
        return {"__array__": key, "scalar": isinstance(value, np.generic)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise WorkloadError(f"save_workload: dict key {k!r} is not a str")
            if k.startswith("__") and k in ("__array__", "__tuple__"):
                raise WorkloadError(f"save_workload: dict key {k!r} is reserved")
        return {k: _encode(v, arrays) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WorkloadError(f"save_workload: cannot store a value of type {type(value).__name__}")


def _decode(value, arrays):
    if isinstance(value, dict):
        if "__array__" in value:
            a = arrays[value["__array__"]]
            return a[()] if value.get("scalar") else a
        if "__tuple__" in value:
            return tuple(_decode(v, arrays) for v in value["__tuple__"])
        return {k: _decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    return value


def save_workload(g: nx.DiGraph, path) -> Path:
    """Write ``g`` to the folder ``path`` (graph.json + arrays.npz); returns the folder.

    graph.json is networkx node-link JSON (``directed``, ``multigraph``, ``graph``, ``nodes``
    with ``id``, ``edges`` with ``source``/``target``); arrays and numpy scalars are replaced
    by ``{"__array__": key}`` and tuples by ``{"__tuple__": [...]}``.
    """
    path = Path(path)
    for n in g.nodes:
        if not isinstance(n, str):
            raise WorkloadError(f"save_workload: node name {n!r} is not a str")
        if "id" in g.nodes[n]:
            raise WorkloadError(f"save_workload: node {n!r} has an attribute 'id' (reserved)")
    arrays: dict = {}
    data = {
        "directed": True,
        "multigraph": False,
        "graph": _encode(dict(g.graph), arrays),
        "nodes": [{"id": n, **_encode(dict(a), arrays)} for n, a in g.nodes(data=True)],
        "edges": [
            {"source": u, "target": v, **_encode(dict(a), arrays)} for u, v, a in g.edges(data=True)
        ],
    }
    path.mkdir(parents=True, exist_ok=True)
    (path / "graph.json").write_text(json.dumps(data, indent=1, allow_nan=True))
    np.savez(path / "arrays.npz", **arrays)
    return path


def read_workload(path) -> Dag:
    """Read a workload written by ``save_workload`` as a :class:`~archsim.graph.dag.Dag`.

    Raises ``WorkloadError`` naming the file on a bad folder: a missing, oversized, non-UTF-8
    or malformed ``graph.json``, a truncated, corrupt or empty ``arrays.npz`` (read without
    unpickling), a reference to an array the archive lacks.  Nodes and edges keep their saved
    order.  The graph is not validated here (``validate_workload``).
    """
    from archsim.safeio import load_json, load_npz

    path = Path(path)
    jpath, apath = path / "graph.json", path / "arrays.npz"
    for p in (jpath, apath):
        if not p.is_file():
            raise WorkloadError(f"load_workload: {p} does not exist")
    data = load_json(jpath, "workload graph", WorkloadError, allow_nan=True)
    if not isinstance(data, dict) or not isinstance(data.get("graph", {}), dict):
        raise WorkloadError(f"load_workload: {jpath}: expected node-link JSON (an object with "
                            "'graph', 'nodes' and 'edges')")
    version = data.get("graph", {}).get("format_version")
    if version not in READABLE_VERSIONS:
        raise WorkloadError(
            f"load_workload: {jpath} has format_version {short(version)}, expected one of "
            f"{READABLE_VERSIONS}"
        )
    if data.get("directed") is not True or data.get("multigraph"):
        raise WorkloadError(f"load_workload: {jpath} is not a directed simple graph")
    for key in ("nodes", "edges"):
        if not isinstance(data.get(key, []), list):
            raise WorkloadError(f"load_workload: {jpath}: {key!r} must be a list")
    arrays = load_npz(apath, "workload arrays", WorkloadError)
    try:
        data = _decode(data, arrays)
    except KeyError as exc:
        raise WorkloadError(f"load_workload: {jpath} refers to array {short(exc.args[0])}, which "
                            f"{apath.name} does not hold") from None
    except (TypeError, IndexError, ValueError) as exc:
        raise WorkloadError(f"load_workload: {jpath}: malformed array reference ({exc})") \
            from None
    g = Dag()
    g.graph.update(data.get("graph", {}))
    try:
        for i, nd in enumerate(data.get("nodes", [])):
            if not isinstance(nd, dict) or "id" not in nd:
                raise WorkloadError(f"load_workload: {jpath}: node #{i} has no 'id'")
            attrs = dict(nd)
            g.add_node(attrs.pop("id"), **attrs)
        for i, ed in enumerate(data.get("edges", [])):
            if not isinstance(ed, dict) or "source" not in ed or "target" not in ed:
                raise WorkloadError(
                    f"load_workload: {jpath}: edge #{i} needs 'source' and 'target'")
            attrs = dict(ed)
            g.add_edge(attrs.pop("source"), attrs.pop("target"), **attrs)
    except TypeError as exc:  # an unhashable node id, a non-string attribute name
        raise WorkloadError(f"load_workload: {jpath}: malformed node or edge ({exc})") from None
    return g


def load_workload(path) -> nx.DiGraph:
    """Read a workload written by ``save_workload``; raises ``WorkloadError`` on a bad folder."""
    return read_workload(path).to_networkx()
