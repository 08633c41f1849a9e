"""Functional mode: real integer data carried through the simulated tasks.

In:  the workload graph (with ``sample_input``), the Schedule and the tile PE kind.
Out: :class:`FunctionalState` whose ``compute(task, chunk)`` is called by every tile when a
     chunk finishes computing: it reads the chunk's input rows from the tensors its producers
     have written so far, computes the block with the PE kind's arithmetic (look-up tables for
     LUT kinds) for the layer's declared input sign (``in_signed``: the kind's per-layer
     variant), adds bias, requantises and writes the block into the node's output. An input
     outside the layer's declared range (``in_lo`` .. ``in_hi``), or any arithmetic error, raises
     :class:`FunctionalError` naming the node.  After the
     run ``outputs()`` gives every node's assembled output and ``compare()`` checks them against
     the torch reference stored in the graph (``ref_output``) or, if absent, against
     ``archsim.graph.ops.run_graph`` (numpy, exact integer MACs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from archsim.errors import WorkloadError
from archsim.graph import ops
from archsim.graph.ir import input_range
from archsim.mapping.schedule import Chunk, Schedule, Task

if TYPE_CHECKING:  # networkx is slow to import; graphs may also be archsim.graph.dag.Dag
    import networkx as nx

__all__ = ["FunctionalError", "FunctionalState"]


class FunctionalError(WorkloadError):
    """Functional mode cannot run (e.g. the workload has no sample input)."""


def _pair(v) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    return int(v[0]), int(v[1])


def patches_rows(x: np.ndarray, kh: int, kw: int, stride, padding, c0: int, c1: int,
                 m0: int, m1: int, ho: int, wo: int, dilation=(1, 1)) -> np.ndarray:
    """im2col rows for output pixels [m0, m1) over input channels [c0, c1): (m, C*kh*kw)."""
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    xs = x[:, c0:c1]
    if ph or pw:
        xs = np.pad(xs, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    m = np.arange(m0, m1)
    n, r = np.divmod(m, ho * wo)
    oh, ow = np.divmod(r, wo)
    ii = oh[:, None, None] * sh + dh * np.arange(kh)[None, :, None]
    jj = ow[:, None, None] * sw + dw * np.arange(kw)[None, None, :]
    # (m, C, kh, kw)
    p = xs[n[:, None, None, None], np.arange(c1 - c0)[None, :, None, None],
           ii[:, None, :, :], jj[:, None, :, :]]
    return p.reshape(m1 - m0, -1)


class FunctionalState:
    def __init__(self, g: nx.DiGraph, schedule: Schedule, pe) -> None:
        sample = g.graph.get("sample_input")
        if sample is None:
            raise FunctionalError(
                f"workload {g.graph.get('name')!r} has no sample_input: build it with "
                "workloads.build(..., sample=N) or attach real integer inputs"
            )
        self.g, self.schedule, self.pe = g, schedule, pe
        self.pm: dict[str, np.ndarray] = {}  # GEMM outputs, pixel-major (M, N)
        self.nchw: dict[str, np.ndarray] = {}  # element-wise outputs
        inputs = g.graph["inputs"]
        self.nchw[inputs[0]] = np.asarray(sample, dtype=np.int64)
        if len(inputs) > 1:
            raise FunctionalError(f"functional mode supports one input, workload has {inputs}")

    # ---- reading tensors --------------------------------------------------------------------
    def value(self, name: str) -> np.ndarray:
        a = self.g.nodes[name]
        if name in self.schedule.aliases:
            v = self.value(self.schedule.aliases[name])
            if a["op"] == "flatten":
                return v.reshape(v.shape[0], -1)
            if a["op"] == "relu":
                return ops.relu(v, int(a["out_hi"]))
            if a["op"] == "clamp":
                return ops.clamp(v, int(a["out_lo"]), int(a["out_hi"]))
            return v
        if name in self.pm:
            shape = a["out_shape"]
            v = self.pm[name]
            if len(shape) == 4:
                n, c, h, w = shape
                return v.reshape(n, h, w, c).transpose(0, 3, 1, 2)
            return v
        if name in self.nchw:
            return self.nchw[name]
        raise FunctionalError(f"node {name!r} was read before any task wrote it")

    # ---- computing --------------------------------------------------------------------------
    def compute(self, task: Task, chunk: Chunk) -> None:
        a = self.g.nodes[task.node]
        try:
            if a["op"] in ("conv", "linear"):
                self._gemm(task.node, a, chunk)
            else:
                self._vector(task.node, a, chunk)
        except FunctionalError:
            raise
        except ValueError as e:
            raise FunctionalError(f"node {task.node!r} ({a['op']}): {e}") from None

    def _gemm(self, node: str, a: dict[str, Any], ch: Chunk) -> None:
        x = self.value(a["inputs"][0])
        signed, lo, hi = input_range(self.g, node)
        if x.size and (int(x.min()) < lo or int(x.max()) > hi):
            raise FunctionalError(
                f"node {node!r} ({a['op']}): input values span [{int(x.min())}, {int(x.max())}]"
                f", outside the declared input range [{lo}, {hi}] "
                f"({'signed' if signed else 'unsigned'})")
        w = np.asarray(a["weight"], dtype=np.int64)
        out_shape = a["out_shape"]
        mm = self.pe.for_activations(signed).matmul
        if a["op"] == "linear":
            acc = mm(x[ch.m0:ch.m1], w[ch.n0:ch.n1].T)
        else:
            groups = int(a.get("groups", 1))
            o, cg, kh, kw = w.shape
            fpg = o // groups
            ho, wo = out_shape[2], out_shape[3]
            parts = []
            g0, g1 = ch.n0 // fpg, (ch.n1 - 1) // fpg
            for gi in range(g0, g1 + 1):
                f0, f1 = max(ch.n0, gi * fpg), min(ch.n1, (gi + 1) * fpg)
                cols = patches_rows(x, kh, kw, a["stride"], a["padding"], gi * cg, (gi + 1) * cg,
                                    ch.m0, ch.m1, ho, wo, a.get("dilation", (1, 1)))
                parts.append(mm(cols, w[f0:f1].reshape(f1 - f0, -1).T))
            acc = np.concatenate(parts, axis=1)
        bias = a.get("bias")
        if bias is not None:
            acc = acc + np.asarray(bias, dtype=np.int64)[ch.n0:ch.n1][None, :]
        mult = np.asarray(a["requant_mult"], dtype=np.int64)[ch.n0:ch.n1][None, :]
        out = ops.requant(acc, mult, int(a["requant_shift"]), int(a["out_lo"]), int(a["out_hi"]))
        buf = self.pm.get(node)
        if buf is None:
            m_total = int(np.prod(out_shape)) // out_shape[1]
            buf = self.pm[node] = np.zeros((m_total, out_shape[1]), dtype=np.int64)
        buf[ch.m0:ch.m1, ch.n0:ch.n1] = out

    def _vector(self, node: str, a: dict[str, Any], ch: Chunk) -> None:
        c0, c1 = ch.n0, ch.n1
        if a["op"] == "concat":
            # only the inputs overlapping channels [c0, c1) (the task's dependencies) are read
            parts, off = [], 0
            for name, mult in zip(a["inputs"], a["requant_mults"]):
                c = self.g.nodes[name]["out_shape"][1]
                lo, hi = max(c0, off), min(c1, off + c)
                if lo < hi:
                    x = self.value(name)[:, lo - off:hi - off]
                    parts.append(ops.requant(x, int(mult), int(a["requant_shift"]),
                                             int(a["out_lo"]), int(a["out_hi"])))
                off += c
            block = np.concatenate(parts, axis=1)
        else:
            block = ops.run_node(a, [self.value(i)[:, c0:c1] for i in a["inputs"]])
        buf = self.nchw.get(node)
        if buf is None:
            buf = self.nchw[node] = np.zeros(a["out_shape"], dtype=np.int64)
        buf[:, c0:c1] = block

    # ---- results ----------------------------------------------------------------------------
    def outputs(self) -> dict[str, np.ndarray]:
        return {n: self.value(n) for n in self.g.nodes if n in self.pm or n in self.nchw
                or n in self.schedule.aliases}

    def compare(self) -> dict[str, Any]:
        """Exact comparison of every computed node with the reference."""
        got = self.outputs()
        has_ref = all("ref_output" in self.g.nodes[n] for n in got)
        if has_ref:
            ref = {n: np.asarray(self.g.nodes[n]["ref_output"]) for n in got}
            source = "torch reference (ref_output in the workload)"
        else:
            ref = ops.run_graph(self.g, self.g.graph["sample_input"])
            source = "archsim.graph.ops.run_graph (numpy, exact integer MACs)"
        worst, mismatched = 0, []
        for n, v in got.items():
            r = ref[n]
            if r.shape != v.shape:
                mismatched.append(n)
                worst = max(worst, -1)
                continue
            d = int(np.max(np.abs(v - r))) if v.size else 0
            if d:
                mismatched.append(n)
            worst = max(worst, d)
        return {
            "exact_match": not mismatched,
            "max_abs_diff": worst,
            "nodes_checked": len(got),
            "mismatched_nodes": mismatched,
            "reference": source,
            "pe_kind": self.pe.name,
            "pe_exact": bool(self.pe.exact),
        }
