"""Integer-exact fake-quant forward of a quantised model, through the model's own fx graph.

Tensors between nodes are float64 real values (integer x scale), as in fake quantisation, but
every layer recovers its integer inputs, convolves integers in float64 (exact: all partial
sums stay below 2**53 for the bit widths used here) and requantises with the same fixed-point
``requant_mult`` / ``requant_shift`` as the workload graph, so its integers are the ones the
graph's reference must reproduce. It is independent of ``workloads.export`` and
``workloads.reference``: it runs the traced model (control flow, residual adds, concats)
rather than the exported graph.

Inputs: a ``Lowered`` model and per-layer ``QLayer`` parameters (made by
``workloads.quant.quantize``).
Outputs:
    QuantizedModel.quantize_input(x) -> int64 tensor (round half up, clamped)
    QuantizedModel.forward_int(x_int) -> {layer name: int64 tensor}
    QuantizedModel(x) -> dequantised float64 first output
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from workloads.lower import Lowered


class QuantizationError(ValueError):
    """The model cannot be quantised as asked (e.g. accumulator overflow)."""


def _requant(x: torch.Tensor, mult, shift: int, lo: int, hi: int) -> torch.Tensor:
    m = torch.as_tensor(np.asarray(mult, dtype=np.int64))
    if m.ndim == 1:
        m = m.reshape((1, -1) + (1,) * (x.ndim - 2))
    return torch.clamp((x * m + (1 << (shift - 1))) >> shift, lo, hi)


class _FakeQuant(fx.Interpreter):
    """Runs the model's fx graph with every layer replaced by its integer-exact version."""

    def __init__(self, qm: QuantizedModel):
        super().__init__(qm.lowered.gm)
        self.qm = qm
        self.first = {lay.name: lay for lay in qm.lowered.layers}
        # fx nodes folded into the layer before them (BatchNorm2d, a constant scale)
        self.folded = {lay.out_fx for lay in qm.lowered.layers if lay.out_fx != lay.name}

    def _int(self, v: torch.Tensor, fx_node) -> torch.Tensor:
        s = self.qm.qlayers[self.qm.lowered.alias[fx_node.name]].out_scale
        return torch.floor(v / s + 0.5).long()

    def _tensor_args(self, n) -> list:
        out = []

        def visit(a):
            if isinstance(a, fx.Node):
                if a.name in self.qm.lowered.alias:
                    out.append(a)
            elif isinstance(a, (list, tuple)):
                for b in a:
                    visit(b)

        visit(list(n.args) + list(n.kwargs.values()))
        return out

    def run_node(self, n):
        if n.name in self.folded:  # folded into the layer before it
            return self.env[next(a for a in n.args if isinstance(a, fx.Node))]
        lay = self.first.get(n.name)
        if lay is None:
            return super().run_node(n)
        if lay.op == "input":
            v = super().run_node(n)
            self.ints[lay.name] = self._int(v, n)
            return v
        xs = [self._int(self.env[a], a) for a in self._tensor_args(n)]
        y = self._layer(lay, xs)
        self.ints[lay.name] = y
        return y.double() * self.qm.qlayers[lay.name].out_scale

    def _layer(self, lay, xs):
        ql = self.qm.qlayers[lay.name]
        lo, hi = ql.out_lo, ql.out_hi
        if lay.op == "linear" and xs[0].ndim == 3:  # token tensors: (B T) rows
            b, t, i = xs[0].shape
            return self._layer(lay, [xs[0].reshape(b * t, i)]).reshape(b, t, -1)
        if lay.op in ("conv", "linear"):
            w = torch.from_numpy(ql.weight).double()
            if lay.op == "conv":
                p = lay.params
                acc = F.conv2d(xs[0].double(), w, None, p["stride"], p["padding"],
                               p.get("dilation", 1), p["groups"])
            else:
                acc = xs[0].double() @ w.T
            acc = torch.round(acc).long()
            bias = torch.from_numpy(ql.bias).reshape((1, -1) + (1,) * (acc.ndim - 2))
            return _requant(acc + bias, ql.requant_mult, ql.requant_shift, lo, hi)
        if lay.op == "relu":
            return torch.clamp(xs[0], 0, hi)
        if lay.op == "flatten":
            return xs[0].reshape(xs[0].shape[0], -1)
        if lay.op == "clamp":
            return torch.clamp(xs[0], max(ql.clamp[0], lo), min(ql.clamp[1], hi))
        if lay.op == "table":
            src = self.qm.qlayers[lay.inputs[0]]
            return torch.from_numpy(ql.table)[xs[0] - src.out_lo]
        if lay.op == "mul":
            return _requant(xs[0] * xs[1], ql.requant_mult, ql.requant_shift, lo, hi)
        if lay.op == "matmul":  # the fx operands as laid out by the model (heads, transposes)
            acc = torch.round(xs[0].double() @ xs[1].double()).long()
            return _requant(acc, ql.requant_mult, ql.requant_shift, lo, hi)
        if lay.op in ("softmax", "norm"):  # over the last dimension, whatever the layout
            from workloads.seqref import run_seq

            a = {**ql.extra, "op": lay.op, "out_lo": lo, "out_hi": hi,
                 "requant_mult": ql.requant_mult, "requant_shift": ql.requant_shift}
            x = xs[0]
            rows = x.reshape(1, -1, x.shape[-1])
            return run_seq(a, [rows]).reshape(x.shape)
        if lay.op == "maxpool":
            p = lay.params
            return F.max_pool2d(xs[0].double(), p["kernel"], p["stride"], p["padding"]).long()
        if lay.op == "avgpool":
            p = lay.params
            k = p["kernel"][0] * p["kernel"][1]
            s = F.avg_pool2d(
                xs[0].double(), p["kernel"], p["stride"], p["padding"], count_include_pad=True
            )
            return _requant(torch.round(s * k).long(), ql.requant_mult, ql.requant_shift, lo, hi)
        if lay.op == "add":
            acc = sum(x * m for x, m in zip(xs, ql.requant_mults, strict=True))
            return _requant(acc, 1, ql.requant_shift, lo, hi)
        if lay.op == "concat":
            return torch.cat(
                [
                    _requant(x, m, ql.requant_shift, lo, hi)
                    for x, m in zip(xs, ql.requant_mults, strict=True)
                ],
                1,
            )
        raise QuantizationError(f"layer {lay.name!r}: no fake-quant for op {lay.op!r}")


class QuantizedModel(nn.Module):
    """The integer model: quantised parameters per layer plus an integer-exact forward."""

    def __init__(self, lowered: Lowered, qlayers: dict, weight_bits: int, act_bits: int):
        super().__init__()
        self.lowered = lowered
        self.qlayers = qlayers
        self.weight_bits = weight_bits
        self.act_bits = act_bits
        self.input_name = next(lay.name for lay in lowered.layers if lay.op == "input")

    def quantize_input(self, x: torch.Tensor) -> torch.Tensor:
        """Float input -> int64 input (round half up, clamped to the input range)."""
        ql = self.qlayers[self.input_name]
        return torch.clamp(
            torch.floor(x.double() / ql.out_scale + 0.5), ql.out_lo, ql.out_hi
        ).long()

    @torch.no_grad()
    def forward_int(self, x_int: torch.Tensor) -> dict:
        """{layer name: int64 output} of the fake-quant forward on integer input ``x_int``."""
        fq = _FakeQuant(self)
        fq.ints = {}
        fq.run(x_int.double() * self.qlayers[self.input_name].out_scale)
        return fq.ints

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Dequantised first output for float input ``x``."""
        ints = self.forward_int(self.quantize_input(x))
        out = self.lowered.outputs[0]
        return ints[out].double() * self.qlayers[out].out_scale
