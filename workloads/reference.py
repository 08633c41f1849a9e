"""Reference integer execution of a workload graph, written in torch.

Independent of ``archsim.graph.ops`` (numpy) and of the fake-quant forward in ``workloads.quant``
(which runs the model's own fx graph): this one reads nothing but the workload graph.

Exactness: tensors are int64. Convolutions and linear layers run in float64 on integer
values; every product and every partial sum is an integer whose magnitude is at most
max|x| x sum|w[o]|, which ``_conv_acc`` checks is below 2**53, so float64 represents each
one exactly and the result is exact whatever the summation order (the rounding back to int64
is then a no-op). Max-pooling runs in float64 on integers (exact); average pooling sums with
``divisor_override=1`` (exact). Requantisation, additions, element-wise multiplies (``mul``)
and clamps are int64 arithmetic with arithmetic right shifts; ``table`` nodes gather from
their stored table (``torch.take``).

Inputs: a workload graph and an int64 input (numpy or torch), shape = the input node's.
Outputs:
    reference_outputs(g, x_int) -> {node name: int64 numpy array}
    reference_node(attrs, xs)   -> one node's int64 torch output
    attach_reference(g, x_int, source) -> g with ``sample_input``, ``sample_source`` and
        every node's ``ref_output`` set (validated again)
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from archsim.graph.ir import SEQ_OPS, WorkloadError, topo_order, validate_workload
from workloads.seqref import run_seq


def _requant(x: torch.Tensor, mult, shift: int, lo: int, hi: int) -> torch.Tensor:
    m = torch.as_tensor(mult, dtype=torch.int64)
    if m.ndim == 1:
        m = m.view((1, -1) + (1,) * (x.ndim - 2))
    return torch.clamp(torch.bitwise_right_shift(x * m + (1 << (shift - 1)), shift), lo, hi)


def _conv_acc(x: torch.Tensor, a: dict) -> torch.Tensor:
    w = torch.from_numpy(a["weight"])
    bound = int(x.abs().max()) * int(w.abs().reshape(w.shape[0], -1).sum(dim=1).max())
    if bound >= 2**53:
        raise WorkloadError(f"reference: accumulator bound {bound} >= 2**53; float64 not exact")
    if a["op"] == "conv":
        dil = tuple(a.get("dilation", (1, 1)))
        acc = F.conv2d(x.double(), w.double(), None, a["stride"], a["padding"], dil, a["groups"])
    else:
        acc = x.double() @ w.double().T
    return torch.round(acc).long()


def table_int(x: torch.Tensor, table: torch.Tensor, table_lo: int) -> torch.Tensor:
    """table[x - table_lo] (gather); raises if x leaves the tabulated range."""
    i = x - int(table_lo)
    if i.numel() and (int(i.min()) < 0 or int(i.max()) >= table.shape[0]):
        raise WorkloadError(f"reference: table input outside [{table_lo}, "
                            f"{int(table_lo) + table.shape[0] - 1}]")
    return torch.take(table, i)


def _run(a: dict, xs: list) -> torch.Tensor:
    op, lo, hi = a["op"], a["out_lo"], a["out_hi"]
    if op == "linear" and xs[0].ndim == 3:  # token tensors: (B, T, I) rows
        b, t, i = xs[0].shape
        return _run(a, [xs[0].reshape(b * t, i)]).reshape(b, t, -1)
    if op in SEQ_OPS:
        return run_seq(a, xs)
    if op in ("conv", "linear"):
        acc = _conv_acc(xs[0], a)
        if a["bias"] is not None:
            acc = acc + torch.from_numpy(a["bias"]).view((1, -1) + (1,) * (acc.ndim - 2))
        return _requant(acc, torch.from_numpy(a["requant_mult"]), a["requant_shift"], lo, hi)
    if op == "maxpool":
        return F.max_pool2d(xs[0].double(), a["kernel"], a["stride"], a["padding"]).long()
    if op == "avgpool":
        s = F.avg_pool2d(
            xs[0].double(),
            a["kernel"],
            a["stride"],
            a["padding"],
            count_include_pad=True,
            divisor_override=1,
        )
        return _requant(s.long(), a["requant_mult"], a["requant_shift"], lo, hi)
    if op == "add":
        acc = xs[0] * a["requant_mults"][0]
        for x, m in zip(xs[1:], a["requant_mults"][1:]):
            acc = acc + x * m
        return _requant(acc, 1, a["requant_shift"], lo, hi)
    if op == "concat":
        return torch.cat(
            [_requant(x, m, a["requant_shift"], lo, hi) for x, m in zip(xs, a["requant_mults"])],
            dim=a["axis"],
        )
    if op == "relu":
        return torch.clamp(xs[0], 0, hi)
    if op == "flatten":
        return torch.flatten(xs[0], a["start_dim"])
    if op == "clamp":
        return torch.clamp(xs[0], max(a["clamp_lo"], lo), min(a["clamp_hi"], hi))
    if op == "table":
        return table_int(xs[0], torch.from_numpy(a["table"]), a["table_lo"])
    if op == "mul":
        return _requant(xs[0] * xs[1], a["requant_mult"], a["requant_shift"], lo, hi)
    raise WorkloadError(f"reference: unknown op {op!r}")


@torch.no_grad()
def reference_node(a: dict, xs: list) -> torch.Tensor:
    """int64 output of one node (attribute dict ``a``) on int64 torch tensors ``xs``."""
    return _run(a, xs)


@torch.no_grad()
def reference_outputs(g, x_int) -> dict:
    """{node: int64 numpy output} of every node of ``g`` for the integer input ``x_int``."""
    x = torch.as_tensor(np.asarray(x_int)).long()
    inp = g.graph["inputs"][0]
    if tuple(x.shape) != tuple(g.nodes[inp]["out_shape"]):
        raise WorkloadError(
            f"reference: input shape {tuple(x.shape)} != {g.nodes[inp]['out_shape']}"
        )
    vals: dict = {}
    for n in topo_order(g):
        a = g.nodes[n]
        if a["op"] == "input":
            vals[n] = x
        else:
            vals[n] = _run(a, [vals[p] for p in a["inputs"]])
    return {n: v.numpy().astype(np.int64) for n, v in vals.items()}


def attach_reference(g, x_int, source: str):
    """Store ``x_int`` as ``sample_input`` and each node's reference output as ``ref_output``."""
    x = np.asarray(x_int, dtype=np.int64)
    outs = reference_outputs(g, x)
    g.graph["sample_input"] = x
    g.graph["sample_source"] = str(source)
    for n, v in outs.items():
        g.nodes[n]["ref_output"] = v
    validate_workload(g)
    return g
