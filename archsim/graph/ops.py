"""Exact integer semantics of workload-graph ops on int64 numpy arrays (no torch).

The simulator's functional mode calls these; ``workloads.reference`` re-implements them in
torch and the tests check both agree bit for bit. Semantics are those of
``docs/workload_graph.md``.

Inputs: node attribute dicts of a workload graph and int64 arrays (N,C,H,W), (N,F) or token
tensors (B,T,F) (the transformer ops are in ``archsim.graph.seqops``).
Outputs:
    requant(x, mult, shift, lo, hi)          fixed-point rescale with round-half-up and clamp
    maxpool2d, avgpool2d, add, concat, relu, flatten, clamp, table_lookup, mul
                                             one op each, int64 out
    im2col(x, kernel, stride, padding)       (N*Hout*Wout, C*kh*kw) patches, K order (c, kh, kw)
    conv2d_acc(x, w, stride, padding, groups, matmul_fn=None, dilation=1)   exact int64
                                             accumulators
    run_node(attrs, inputs, conv_fn=None, matmul_fn=None)       one node's integer output
    run_graph(g, x, conv_fn=None, matmul_fn=None)               {node: output} for a graph

``matmul_fn(a, b)`` receives int64 activations a (M, K) and int64 weights b (K, N) and must
return the exact int64 product (M, N); it is how a PE kind plugs its arithmetic in.
``conv_fn(x, w, stride, padding, groups)`` replaces the whole convolution (linear layers are
passed to it as 1x1 convolutions on (N, I, 1, 1)). The default is exact: a float64 BLAS
product when every partial sum is provably below 2**53 (so it is exact), int64 otherwise.
"""

from __future__ import annotations

import numpy as np

from archsim.graph import seqops
from archsim.graph.ir import WorkloadError, topo_order
from archsim.pe import lowering
from archsim.pe.intmath import exact_int_matmul


def requant(x, mult, shift: int, lo: int, hi: int) -> np.ndarray:
    """clip((x * mult + 2**(shift-1)) >> shift, lo, hi); ``mult`` scalar or per channel (axis 1)."""
    x = np.asarray(x, dtype=np.int64)
    shift = int(shift)
    if not 1 <= shift <= 62:
        raise ValueError(f"requant: shift {shift} outside 1..62")
    m = np.asarray(mult, dtype=np.int64)
    if m.ndim == 1:
        if x.ndim < 2 or x.shape[1] != m.shape[0]:
            raise ValueError(f"requant: {m.shape[0]} multipliers for input of shape {x.shape}")
        m = m.reshape((1, -1) + (1,) * (x.ndim - 2))
    if x.size and m.size:
        bound = int(np.abs(x).max()) * int(np.abs(m).max()) + (1 << (shift - 1))
        if bound >= 2**63:
            raise ValueError(f"requant: |x * mult| up to {bound} overflows int64")
    y = (x * m + (np.int64(1) << np.int64(shift - 1))) >> np.int64(shift)
    return np.clip(y, lo, hi).astype(np.int64)


def relu(x, hi: int) -> np.ndarray:
    """clip(x, 0, hi)."""
    return np.clip(np.asarray(x, dtype=np.int64), 0, hi)


def clamp(x, lo: int, hi: int) -> np.ndarray:
    """clip(x, lo, hi) (ReLU6, hardtanh, clamp at integer bounds of the input's scale)."""
    return np.clip(np.asarray(x, dtype=np.int64), lo, hi)


def table_lookup(x, table, table_lo: int) -> np.ndarray:
    """table[x - table_lo]: an element-wise function tabulated over every input integer."""
    x = np.asarray(x, dtype=np.int64)
    t = np.asarray(table, dtype=np.int64)
    i = x - int(table_lo)
    if i.size and (int(i.min()) < 0 or int(i.max()) >= t.shape[0]):
        raise ValueError(f"table: input values span [{int(x.min())}, {int(x.max())}], table "
                         f"covers [{table_lo}, {int(table_lo) + t.shape[0] - 1}]")
    return t[i]


def mul(x, s, mult: int, shift: int, lo: int, hi: int) -> np.ndarray:
    """requant(x * s, mult, shift, lo, hi); ``s`` equal in shape to ``x`` (any rank, e.g. a
    gated (B, T, F) product) or (N, C, 1, 1) for an (N, C, H, W) ``x`` (squeeze-excite)."""
    x = np.asarray(x, dtype=np.int64)
    s = np.asarray(s, dtype=np.int64)
    return requant(x * s, int(mult), shift, lo, hi)


def flatten(x, start_dim: int = 1) -> np.ndarray:
    """Reshape to (N, -1) (``start_dim`` 1)."""
    x = np.asarray(x, dtype=np.int64)
    return x.reshape(x.shape[:start_dim] + (-1,))


def add(xs, mults, shift: int, lo: int, hi: int) -> np.ndarray:
    """clip((sum_i x_i * m_i + 2**(shift-1)) >> shift, lo, hi)."""
    xs = [np.asarray(x, dtype=np.int64) for x in xs]
    bound = sum(int(np.abs(x).max(initial=0)) * abs(int(m)) for x, m in zip(xs, mults, strict=True))
    if bound >= 2**62:
        raise ValueError(f"add: sum of |x_i * m_i| up to {bound} overflows int64")
    acc = sum(x * np.int64(m) for x, m in zip(xs, mults))
    return requant(acc, 1, shift, lo, hi)


def concat(xs, mults, shift: int, lo: int, hi: int, axis: int = 1) -> np.ndarray:
    """Requantise each input with its own mult, then concatenate along ``axis``."""
    parts = [requant(x, int(m), shift, lo, hi) for x, m in zip(xs, mults, strict=True)]
    return np.concatenate(parts, axis=axis)


def _windows(x: np.ndarray, kernel, stride, padding, fill) -> np.ndarray:
    """View (N, C, Hout, Wout, kh, kw) of the padded input."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return win[:, :, ::sh, ::sw]


def maxpool2d(x, kernel, stride, padding) -> np.ndarray:
    """Max over windows; padding never wins (it is -inf)."""
    x = np.asarray(x, dtype=np.int64)
    fill = np.iinfo(np.int64).min
    return _windows(x, kernel, stride, padding, fill).max(axis=(4, 5))


def avgpool2d(x, kernel, stride, padding, mult: int, shift: int, lo: int, hi: int) -> np.ndarray:
    """requant(window sum with zero padding counted, mult, shift, lo, hi)."""
    x = np.asarray(x, dtype=np.int64)
    s = _windows(x, kernel, stride, padding, 0).sum(axis=(4, 5))
    return requant(s, int(mult), shift, lo, hi)


def im2col(x, kernel, stride, padding) -> np.ndarray:
    """Patches (N*Hout*Wout, C*kh*kw), rows (n, oh, ow), columns (c, kh, kw): the one
    lowering every PE kind uses (``archsim.pe.lowering.im2col``)."""
    return lowering.im2col(np.asarray(x), tuple(kernel), stride, padding)[0]


def exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact int64 ``a @ b`` (``archsim.pe.intmath.exact_int_matmul``: float64 BLAS in
    K chunks small enough to stay exact, int64 where a single product exceeds 2**53)."""
    return exact_int_matmul(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))


def conv2d_acc(x, w, stride, padding, groups: int = 1, matmul_fn=None,
               dilation=(1, 1)) -> np.ndarray:
    """Integer conv2d accumulators (N, O, Hout, Wout) through ``matmul_fn`` per group."""
    return lowering.conv2d_lowered(matmul_fn or exact_matmul, np.asarray(x, dtype=np.int64),
                                   np.asarray(w, dtype=np.int64), tuple(stride),
                                   tuple(padding), groups, tuple(dilation))


def run_node(attrs: dict, inputs: list, conv_fn=None, matmul_fn=None) -> np.ndarray:
    """Integer output of one node; ``inputs`` are arrays in the order of ``attrs['inputs']``."""
    op = attrs["op"]
    lo, hi = attrs["out_lo"], attrs["out_hi"]
    if op == "input":
        raise WorkloadError("run_node: an input node has no computation; pass its value")
    if op in ("conv", "linear"):
        x = np.asarray(inputs[0], dtype=np.int64)
        w = attrs["weight"]
        lead = x.shape[:-1]
        if op == "linear":
            x = x.reshape(-1, x.shape[-1])  # token tensors (B, T, I) -> (B T, I)
            x4, w4 = x[:, :, None, None], w[:, :, None, None]
            stride, padding, groups, dil = (1, 1), (0, 0), 1, (1, 1)
        else:
            x4, w4 = x, w
            stride, padding, groups = attrs["stride"], attrs["padding"], attrs["groups"]
            dil = tuple(attrs.get("dilation", (1, 1)))
        if conv_fn is not None:
            if dil != (1, 1):
                acc = np.asarray(conv_fn(x4, w4, stride, padding, groups, dilation=dil),
                                 dtype=np.int64)
            else:
                acc = np.asarray(conv_fn(x4, w4, stride, padding, groups), dtype=np.int64)
        else:
            acc = conv2d_acc(x4, w4, stride, padding, groups, matmul_fn, dil)
        if op == "linear":
            acc = acc[:, :, 0, 0]
        if attrs["bias"] is not None:
            acc = acc + attrs["bias"].reshape((1, -1) + (1,) * (acc.ndim - 2))
        out = requant(acc, attrs["requant_mult"], attrs["requant_shift"], lo, hi)
        return out.reshape(*lead, -1) if op == "linear" else out
    if op == "maxpool":
        return maxpool2d(inputs[0], attrs["kernel"], attrs["stride"], attrs["padding"])
    if op == "avgpool":
        return avgpool2d(
            inputs[0],
            attrs["kernel"],
            attrs["stride"],
            attrs["padding"],
            attrs["requant_mult"],
            attrs["requant_shift"],
            lo,
            hi,
        )
    if op == "add":
        return add(inputs, attrs["requant_mults"], attrs["requant_shift"], lo, hi)
    if op == "concat":
        return concat(inputs, attrs["requant_mults"], attrs["requant_shift"], lo, hi, attrs["axis"])
    if op == "relu":
        return relu(inputs[0], hi)
    if op == "flatten":
        return flatten(inputs[0], attrs["start_dim"])
    if op == "clamp":
        return clamp(inputs[0], max(attrs["clamp_lo"], lo), min(attrs["clamp_hi"], hi))
    if op == "table":
        return table_lookup(inputs[0], attrs["table"], attrs["table_lo"])
    if op == "mul":
        return mul(inputs[0], inputs[1], attrs["requant_mult"], attrs["requant_shift"], lo, hi)
    if op == "to_tokens":
        return seqops.to_tokens(inputs[0])
    if op == "token_pool":
        return requant(seqops.token_pool(inputs[0]), attrs["requant_mult"],
                       attrs["requant_shift"], lo, hi)
    if op == "constant":
        return np.asarray(attrs["value"], dtype=np.int64)
    if op == "matmul":
        acc = seqops.matmul_heads(inputs[0], inputs[1], attrs["heads"], attrs["transpose_b"],
                                  matmul_fn)
        return requant(acc, attrs["requant_mult"], attrs["requant_shift"], lo, hi)
    if op == "softmax":
        return seqops.softmax_int(inputs[0], attrs["segment"], attrs["exp_q_ln2"],
                                  attrs["exp_q_b"], attrs["exp_q_c"], attrs["causal"],
                                  attrs["q_offset"], hi)
    if op == "norm":
        y = seqops.norm_int(inputs[0], attrs["norm"], attrs["gamma"], attrs["beta"],
                            attrs["norm_bits"], attrs["eps_q"])
        return requant(y, attrs["requant_mult"], attrs["requant_shift"], lo, hi)
    raise WorkloadError(f"run_node: unknown op {op!r}")


def run_graph(g, x, conv_fn=None, matmul_fn=None) -> dict:
    """Run every node of ``g`` on input ``x`` (array, or {input name: array}); {name: int64}."""
    ins = g.graph["inputs"]
    feeds = x if isinstance(x, dict) else {ins[0]: x}
    if set(feeds) != set(ins):
        raise WorkloadError(f"run_graph: inputs {sorted(feeds)} given, graph needs {ins}")
    out = {}
    for n in topo_order(g):
        a = g.nodes[n]
        if a["op"] == "input":
            v = np.asarray(feeds[n], dtype=np.int64)
            if tuple(v.shape) != tuple(a["out_shape"]):
                raise WorkloadError(
                    f"run_graph: input {n!r} has shape {v.shape}, expected {a['out_shape']}"
                )
            out[n] = v
            continue
        try:
            out[n] = run_node(a, [out[p] for p in a["inputs"]], conv_fn, matmul_fn)
        except (ValueError, KeyError) as e:
            raise WorkloadError(f"run_graph: node {n!r} ({a['op']}): {e}") from e
    return out
