"""Post-training integer quantisation of a lowered model, and its fake-quant forward.

Scheme (docs/workload_graph.md has the integer semantics):
- weights: BatchNorm2d folded into the preceding conv, then symmetric per-output-channel
  quantisation to ``weight_bits``: w_int in +-(2**(b-1) - 1) (sign-magnitude friendly),
  w_scale[o] = max|w[o]| / (2**(b-1) - 1); pruned (zero) weights stay zero;
- activations: ``act_bits``; unsigned (0 .. 2**b - 1) where the values cannot be negative
  (after a ReLU, which is folded into the producing conv/linear/add when it is that
  producer's only user; after max/avg pooling or concatenation of unsigned values; image
  inputs in [0, 1], scale 1/(2**b - 1)), signed (-2**(b-1) .. 2**(b-1) - 1) elsewhere;
  scales from the max |value| seen on real calibration images;
- biases: int64 at scale in_scale x w_scale[o];
- requantisation: fixed point, per-channel ``requant_mult`` and one ``requant_shift`` per
  layer, with the shift chosen so that accumulator x mult cannot overflow int64.

Inputs: ``Lowered`` (workloads.lower) and float calibration images (N, ...) in the model's
input range. Outputs:
    quantize(lowered, calib_images, weight_bits=9, act_bits=8) -> QuantizedModel
    QuantizedModel.quantize_input(x) -> int64 tensor
    QuantizedModel.forward_int(x_int) -> {layer name: int64 tensor}  (fake-quant run through
        the model's own fx graph, integer-exact: float64 convolutions of integers < 2**53)
    QuantizedModel(x) -> dequantised float64 output (first model output)
    QuantizedModel.qlayers -> {layer name: QLayer}
The bit-width sweep lives in ``workloads.sweep``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from workloads.lower import Lowered


class QuantizationError(ValueError):
    """The model cannot be quantised as asked (e.g. accumulator overflow)."""


@dataclass
class QLayer:
    out_scale: float
    out_lo: int
    out_hi: int
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    w_scale: np.ndarray | None = None
    requant_mult: object = None  # int64 (O,) for conv/linear, int for avgpool
    requant_shift: int | None = None
    requant_mults: list | None = None


def act_range(signed: bool, bits: int) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _scale(maxabs: float, signed: bool, bits: int) -> float:
    q = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    return float(maxabs) / q if maxabs > 0 else 1.0 / q


def fold_bn(layer) -> tuple[np.ndarray, np.ndarray]:
    """Float64 (weight, bias) of a conv/linear layer with its BatchNorm2d folded in."""
    m = layer.module
    w = m.weight.detach().double().numpy().copy()
    b = m.bias.detach().double().numpy().copy() if m.bias is not None else np.zeros(w.shape[0])
    if layer.bn is not None:
        bn = layer.bn
        gamma = bn.weight.detach().double().numpy() if bn.affine else np.ones(w.shape[0])
        beta = bn.bias.detach().double().numpy() if bn.affine else np.zeros(w.shape[0])
        inv = gamma / np.sqrt(bn.running_var.detach().double().numpy() + bn.eps)
        w = w * inv.reshape((-1,) + (1,) * (w.ndim - 1))
        b = (b - bn.running_mean.detach().double().numpy()) * inv + beta
    return w, b


def fixed_point(ms: np.ndarray, acc_bound: int, where: str) -> tuple[np.ndarray, int]:
    """(mult int64, shift) with mult / 2**shift ~ ms and acc_bound * mult < 2**62."""
    prec = min(31, 61 - int(acc_bound).bit_length())
    if prec < 8:
        raise QuantizationError(
            f"{where}: accumulators up to {acc_bound} leave no room for requantisation"
        )
    mmax = float(np.max(ms))
    e = math.floor(math.log2(mmax)) if mmax > 0 else 0
    shift = min(62, max(1, prec - 1 - e))
    mult = np.rint(np.asarray(ms, dtype=np.float64) * 2.0**shift).astype(np.int64)
    if int(np.abs(mult).max(initial=0)) * int(acc_bound) + (1 << (shift - 1)) >= 2**63:
        raise QuantizationError(f"{where}: requantisation would overflow int64")
    return mult, int(shift)


class _Calibrator(fx.Interpreter):
    def run_node(self, n):
        v = super().run_node(n)
        if n.name in self.watch:
            lo, hi = float(v.min()), float(v.max())
            old = self.ranges.get(n.name, (lo, hi))
            self.ranges[n.name] = (min(lo, old[0]), max(hi, old[1]))
        return v


def calibrate(lowered: Lowered, images: torch.Tensor, batch: int = 32) -> dict:
    """{fx node name: (min, max)} of every layer output on the float model."""
    cal = _Calibrator(lowered.gm)
    cal.watch = {lay.out_fx for lay in lowered.layers}
    cal.ranges = {}
    with torch.no_grad():
        for i in range(0, len(images), batch):
            cal.run(images[i : i + batch].float())
    return cal.ranges


def _consumers(lowered: Lowered) -> dict:
    cons = {lay.name: [] for lay in lowered.layers}
    for lay in lowered.layers:
        for p in lay.inputs:
            cons[p].append(lay)
    return cons


def quantize(
    lowered: Lowered, calib_images: torch.Tensor, weight_bits: int = 9, act_bits: int = 8
) -> QuantizedModel:
    """Quantise every layer of ``lowered`` using ranges seen on ``calib_images``."""
    if not 2 <= weight_bits <= 16 or not 2 <= act_bits <= 16:
        raise QuantizationError(f"weight_bits {weight_bits} / act_bits {act_bits} outside 2..16")
    ranges = calibrate(lowered, calib_images)
    cons = _consumers(lowered)
    q: dict[str, QLayer] = {}
    wq = (1 << (weight_bits - 1)) - 1
    for lay in lowered.layers:
        lo_v, hi_v = ranges.get(lay.out_fx, (0.0, 0.0))
        relu_next = (
            len(cons[lay.name]) == 1
            and cons[lay.name][0].op == "relu"
            and lay.name not in lowered.outputs
        )
        ins = [q[p] for p in lay.inputs]
        where = f"layer {lay.name!r}"
        if lay.op == "input":
            signed = lo_v < 0
            scale = (
                1.0 / ((1 << act_bits) - 1)
                if (not signed and hi_v <= 1.0)
                else _scale(max(abs(lo_v), abs(hi_v)), signed, act_bits)
            )
            q[lay.name] = QLayer(scale, *act_range(signed, act_bits))
        elif lay.op in ("conv", "linear"):
            w, b = fold_bn(lay)
            flat = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
            pos = flat[flat > 0]
            fallback = float(np.median(pos)) / wq if pos.size else 1.0 / wq
            w_scale = np.where(flat > 0, flat / wq, fallback).astype(np.float64)
            w_int = np.clip(np.rint(w / w_scale.reshape((-1,) + (1,) * (w.ndim - 1))), -wq, wq)
            w_int = w_int.astype(np.int64)
            s_in = ins[0].out_scale
            bias = np.rint(b / (s_in * w_scale)).astype(np.int64)
            signed = not relu_next
            hi_r = max(hi_v, 0.0) if not signed else max(abs(lo_v), abs(hi_v))
            s_out = _scale(hi_r, signed, act_bits)
            amax = max(abs(ins[0].out_lo), abs(ins[0].out_hi))
            bound = int(
                (np.abs(w_int).reshape(w.shape[0], -1).sum(axis=1) * amax + np.abs(bias)).max()
            )
            mult, shift = fixed_point(s_in * w_scale / s_out, bound, where)
            q[lay.name] = QLayer(
                s_out,
                *act_range(signed, act_bits),
                weight=w_int,
                bias=bias,
                w_scale=w_scale,
                requant_mult=mult,
                requant_shift=shift,
            )
        elif lay.op in ("maxpool", "flatten"):
            q[lay.name] = QLayer(ins[0].out_scale, ins[0].out_lo, ins[0].out_hi)
        elif lay.op == "relu":
            q[lay.name] = QLayer(ins[0].out_scale, 0, ins[0].out_hi)
        elif lay.op == "avgpool":
            kh, kw = lay.params["kernel"]
            mult, shift = 1 << 24, 24
            mult = round(mult / (kh * kw))
            while mult % 2 == 0 and shift > 1:
                mult, shift = mult // 2, shift - 1
            q[lay.name] = QLayer(
                ins[0].out_scale,
                ins[0].out_lo,
                ins[0].out_hi,
                requant_mult=int(mult),
                requant_shift=int(shift),
            )
        elif lay.op in ("add", "concat"):
            all_unsigned = all(i.out_lo >= 0 for i in ins)
            if lay.op == "add":
                signed = not (relu_next or all_unsigned)
                hi_r = max(hi_v, 0.0) if not signed else max(abs(lo_v), abs(hi_v))
            else:
                signed = not all_unsigned
                hi_r = max(i.out_scale * max(abs(i.out_lo), abs(i.out_hi)) for i in ins)
            s_out = _scale(hi_r, signed, act_bits)
            bound = sum(max(abs(i.out_lo), abs(i.out_hi)) for i in ins)
            mults, shift = fixed_point(np.array([i.out_scale / s_out for i in ins]), bound, where)
            q[lay.name] = QLayer(
                s_out,
                *act_range(signed, act_bits),
                requant_mults=[int(m) for m in mults],
                requant_shift=shift,
            )
        else:  # pragma: no cover - lower() only makes the ops above
            raise QuantizationError(f"{where}: op {lay.op!r} has no quantiser")
    return QuantizedModel(lowered, q, weight_bits, act_bits)


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
        self.bn_nodes = {lay.out_fx for lay in qm.lowered.layers if lay.bn is not None}

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
        if n.name in self.bn_nodes:
            return self.env[n.args[0]]  # folded into the conv before it
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
        if lay.op in ("conv", "linear"):
            w = torch.from_numpy(ql.weight).double()
            if lay.op == "conv":
                p = lay.params
                acc = F.conv2d(xs[0].double(), w, None, p["stride"], p["padding"], 1, p["groups"])
            else:
                acc = xs[0].double() @ w.T
            acc = torch.round(acc).long()
            bias = torch.from_numpy(ql.bias).reshape((1, -1) + (1,) * (acc.ndim - 2))
            return _requant(acc + bias, ql.requant_mult, ql.requant_shift, lo, hi)
        if lay.op == "relu":
            return torch.clamp(xs[0], 0, hi)
        if lay.op == "flatten":
            return xs[0].reshape(xs[0].shape[0], -1)
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
