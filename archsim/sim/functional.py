"""Functional mode: real integer data carried through the simulated tasks.

In:  the workload graph (with ``sample_input``), the Schedule and the tile PE kind.
Out: :class:`FunctionalState` whose ``compute(task, chunk)`` is called by every tile when a
     chunk finishes computing: it reads the chunk's input rows from the tensors its producers
     have written so far (a conv chunk's reads checked to lie in the input region the mapper
     fetches for it), computes the block with the PE kind's arithmetic (look-up tables for
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
from archsim.graph import ops, seqops
from archsim.graph.ir import input_range
from archsim.mapping.regions import conv_input_region, geom_of
from archsim.mapping.schedule import ROW_OPS, Chunk, Schedule, Task

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


def _check_fetched(node: str, a: dict[str, Any], in_shape: tuple[int, ...], ch: Chunk) -> None:
    """Raise unless every input pixel the conv chunk's windows read lies in the input region
    the mapper fetches for it (:func:`conv_input_region`: its rows, thinned to the touched
    rows and columns when the stride skips lines)."""
    _, _, h, w = in_shape
    ho, wo = int(a["out_shape"][2]), int(a["out_shape"][3])
    reg = conv_input_region(a, geom_of(tuple(in_shape)), geom_of(tuple(a["out_shape"])),
                            ch.m0, ch.m1, ch.n0, ch.n1)
    (sh, sw), (ph, pw) = _pair(a["stride"]), _pair(a["padding"])
    dh, dw = _pair(a.get("dilation", (1, 1)))
    kh, kw = np.asarray(a["weight"]).shape[2:]
    n, r = np.divmod(np.arange(ch.m0, ch.m1), ho * wo)
    oh, ow = np.divmod(r, wo)
    ii = oh[:, None] * sh - ph + dh * np.arange(kh)[None, :]  # (m, kh) input rows read
    jj = ow[:, None] * sw - pw + dw * np.arange(kw)[None, :]  # (m, kw) input columns read
    real = ((ii >= 0) & (ii < h))[:, :, None] & ((jj >= 0) & (jj < w))[:, None, :]
    p = n[:, None, None] * (h * w) + ii[:, :, None] * w + jj[:, None, :]
    held = (p >= reg.p0) & (p < reg.p1)
    if reg.gather is not None:
        held &= (np.isin(ii, reg.gather.rows)[:, :, None]
                 & np.isin(jj, reg.gather.cols)[:, None, :])
    missing = int(np.count_nonzero(real & ~held))
    if missing:
        raise FunctionalError(
            f"node {node!r} ({a['op']}): the chunk of output pixels [{ch.m0}, {ch.m1}) reads "
            f"{missing} input pixel positions outside the input region fetched for it")


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
            if a["op"] == "to_tokens":
                return seqops.to_tokens(v)
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
            return v.reshape(shape)
        if name in self.nchw:
            return self.nchw[name]
        if a["op"] == "constant":
            return np.asarray(a["value"], dtype=np.int64)
        raise FunctionalError(f"node {name!r} was read before any task wrote it")

    # ---- computing --------------------------------------------------------------------------
    def compute(self, task: Task, chunk: Chunk) -> None:
        a = self.g.nodes[task.node]
        try:
            if a["op"] in ("conv", "linear"):
                self._gemm(task.node, a, chunk)
            elif a["op"] == "matmul":
                self._matmul(task.node, a, chunk)
            elif a["op"] in ROW_OPS or len(a["out_shape"]) == 3:
                self._rows(task.node, a, chunk)  # token tensors: partitioned by rows
            else:
                self._vector(task.node, a, chunk)  # (N, C, H, W) / (N, F): by channels
        except FunctionalError:
            raise
        except ValueError as e:
            raise FunctionalError(f"node {task.node!r} ({a['op']}): {e}") from None

    def _checked_input(self, node: str, a: dict[str, Any]) -> tuple[np.ndarray, bool]:
        """The node's (first) input and its declared sign; values outside the declared range
        raise naming the node."""
        x = self.value(a["inputs"][0])
        signed, lo, hi = input_range(self.g, node)
        if x.size and (int(x.min()) < lo or int(x.max()) > hi):
            raise FunctionalError(
                f"node {node!r} ({a['op']}): input values span [{int(x.min())}, {int(x.max())}]"
                f", outside the declared input range [{lo}, {hi}] "
                f"({'signed' if signed else 'unsigned'})")
        return x, signed

    def _gemm(self, node: str, a: dict[str, Any], ch: Chunk) -> None:
        x, signed = self._checked_input(node, a)
        w = np.asarray(a["weight"], dtype=np.int64)
        wlo, whi = self.pe.weight_range
        if w.size and (int(w.min()) < wlo or int(w.max()) > whi):
            raise FunctionalError(
                f"node {node!r} ({a['op']}): the workload's {a.get('weight_bits', '?')}-bit "
                f"weights span [{int(w.min())}, {int(w.max())}], the design point's PE kind "
                f"{self.pe.label} takes [{wlo}, {whi}]; quantise the workload to its weight "
                f"width (zoo names are built at the design point's widths)")
        out_shape = a["out_shape"]
        mm = self.pe.for_activations(signed).matmul
        if a["op"] == "linear":
            x = x.reshape(-1, x.shape[-1])  # token tensors: (B T) rows
            acc = mm(x[ch.m0:ch.m1], w[ch.n0:ch.n1].T)
        else:
            groups = int(a.get("groups", 1))
            o, cg, kh, kw = w.shape
            fpg = o // groups
            ho, wo = out_shape[2], out_shape[3]
            parts = []
            g0, g1 = ch.n0 // fpg, (ch.n1 - 1) // fpg
            _check_fetched(node, a, x.shape, ch)
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
            ch_axis = -1 if a["op"] == "linear" else 1
            m_total = int(np.prod(out_shape)) // out_shape[ch_axis]
            buf = self.pm[node] = np.zeros((m_total, out_shape[ch_axis]), dtype=np.int64)
        buf[ch.m0:ch.m1, ch.n0:ch.n1] = out

    def _matmul(self, node: str, a: dict[str, Any], ch: Chunk) -> None:
        """Rows [m0, m1) x columns [n0, n1) of a product of two activations, the second
        operand in the PE's weight slot (``archsim.pe.organisation.dynamic_operand``)."""
        from archsim.pe.organisation import dynamic_operand

        av, signed = self._checked_input(node, a)
        bv = self.value(a["inputs"][1])
        b_attrs = self.g.nodes[a["inputs"][1]]
        pe = dynamic_operand(self.pe.for_activations(signed), int(b_attrs["out_lo"]),
                             int(b_attrs["out_hi"])).kind
        bsz, t, nout = a["out_shape"]
        heads = a["heads"]
        width = nout // heads
        da, db = av.shape[2] // heads, bv.shape[2] // heads
        acc = np.zeros((ch.m1 - ch.m0, ch.n1 - ch.n0), dtype=np.int64)
        for bi in range(ch.m0 // t, -(-ch.m1 // t)):
            r0, r1 = max(ch.m0, bi * t), min(ch.m1, (bi + 1) * t)
            for h in range(ch.n0 // width, -(-ch.n1 // width)):
                c0, c1 = max(ch.n0, h * width), min(ch.n1, (h + 1) * width)
                ah = av[bi, r0 - bi * t:r1 - bi * t, h * da:(h + 1) * da]
                bh = bv[bi, :, h * db:(h + 1) * db]
                w = bh.T if a["transpose_b"] else bh
                acc[r0 - ch.m0:r1 - ch.m0, c0 - ch.n0:c1 - ch.n0] = pe.matmul(
                    ah, w[:, c0 - h * width:c1 - h * width])
        out = ops.requant(acc, int(a["requant_mult"]), int(a["requant_shift"]),
                          int(a["out_lo"]), int(a["out_hi"]))
        buf = self.pm.get(node)
        if buf is None:
            buf = self.pm[node] = np.zeros((bsz * t, nout), dtype=np.int64)
        buf[ch.m0:ch.m1, ch.n0:ch.n1] = out

    def _rows(self, node: str, a: dict[str, Any], ch: Chunk) -> None:
        """Rows [m0, m1) of a row-wise op (whole feature rows; token tensors as (B T, F))."""
        shape = a["out_shape"]
        if a["op"] == "concat" and a["axis"] == 1:  # along tokens
            block = self._concat_rows(a, ch.m0, ch.m1)
            buf = self.nchw.get(node)
            if buf is None:
                buf = self.nchw[node] = np.zeros(shape, dtype=np.int64)
            buf.reshape(-1, shape[-1])[ch.m0:ch.m1] = block
            return
        ins = [self.value(i) for i in a["inputs"]]
        if a["op"] == "token_pool":
            block = ops.run_node(a, [ins[0][ch.m0:ch.m1]])
        elif a["op"] == "softmax" and a["causal"]:
            # rows depend on their position: compute the batch items covered, keep the rows
            t = shape[1]
            b0, b1 = ch.m0 // t, -(-ch.m1 // t)
            full = ops.run_node(a, [x[b0:b1] for x in ins]).reshape(-1, shape[-1])
            block = full[ch.m0 - b0 * t:ch.m1 - b0 * t]
        else:
            rows = [x.reshape(-1, x.shape[-1])[ch.m0:ch.m1][None] for x in ins]
            block = ops.run_node(a, rows)[0]
        buf = self.nchw.get(node)
        if buf is None:
            buf = self.nchw[node] = np.zeros(shape, dtype=np.int64)
        buf.reshape(-1, shape[-1])[ch.m0:ch.m1] = block.reshape(-1, shape[-1])

    def _concat_rows(self, a: dict[str, Any], m0: int, m1: int) -> np.ndarray:
        """Rows [m0, m1) of a concatenation along tokens, reading only the inputs they need
        (the task depends on those alone)."""
        t_out, f = a["out_shape"][1], a["out_shape"][-1]
        out = np.zeros((m1 - m0, f), dtype=np.int64)
        for b in range(m0 // t_out, -(-m1 // t_out)):
            off = 0
            for name, mult in zip(a["inputs"], a["requant_mults"]):
                t_in = self.g.nodes[name]["out_shape"][1]
                lo = max(m0, b * t_out + off)
                hi = min(m1, b * t_out + off + t_in)
                if lo < hi:
                    r0 = lo - b * t_out - off
                    x = self.value(name)[b, r0:r0 + hi - lo]
                    out[lo - m0:hi - m0] = ops.requant(x, int(mult), int(a["requant_shift"]),
                                                       int(a["out_lo"]), int(a["out_hi"]))
                off += t_in
        return out

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
