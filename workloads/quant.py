"""Post-training integer quantisation of a lowered model, and a bit-width sweep.

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
        (workloads.fakequant: ``qlayers`` {layer name: QLayer}, ``quantize_input``,
        ``forward_int`` integer-exact fake-quant forward, ``__call__`` dequantised output)
    fold_bn(layer), fixed_point(ms, acc_bound, where), calibrate(lowered, images)
    bit_sweep(csv_path, net="smallvgg", bits=range(4, 11), act_bits=None) -> rows: train a
        small net on sklearn digits, quantise it at every (weight_bits, act_bits), write the
        accuracy CSV (columns ``COLUMNS``); baseline_bits(rows, tol) -> smallest b whose
        b/b-bit accuracy is within ``tol`` of float
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import fx

from workloads.data import digits_split
from workloads.fakequant import QuantizationError, QuantizedModel
from workloads.lower import Lowered, lower
from workloads.small import SMALL, TRAIN_CFG, accuracy, small_model, train

__all__ = [
    "QLayer",
    "QuantizationError",
    "QuantizedModel",
    "act_range",
    "baseline_bits",
    "bit_sweep",
    "calibrate",
    "fixed_point",
    "fold_bn",
    "quantize",
]


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


# ---------------------------------------------------------------- bit-width sweep

COLUMNS = ["net", "dataset", "weight_bits", "act_bits", "float_accuracy", "int_accuracy", "n_test"]


def bit_sweep(
    csv_path,
    net: str = "smallvgg",
    bits=range(4, 11),
    act_bits=None,
    seed: int = 0,
    calib: int = 64,
) -> list:
    """Train ``net`` on digits, quantise at every (weight_bits, act_bits), write a CSV."""
    if SMALL.get(net, (None, None))[1] != "digits":
        digits = [k for k, v in SMALL.items() if v[1] == "digits"]
        raise ValueError(f"bit_sweep runs on the digits nets {digits}, not {net!r}")
    xtr, ytr, xte, yte = digits_split(seed=0)
    model = train(small_model(net, seed), xtr, ytr, seed=seed, **TRAIN_CFG[net])
    fl = accuracy(model, xte, yte)
    low = lower(model, xte[:1])
    rows = []
    for wb in bits:
        for ab in bits if act_bits is None else act_bits:
            qm = quantize(low, xtr[:calib], weight_bits=int(wb), act_bits=int(ab))
            rows.append(
                {
                    "net": net,
                    "dataset": "sklearn digits",
                    "weight_bits": int(wb),
                    "act_bits": int(ab),
                    "float_accuracy": round(fl, 6),
                    "int_accuracy": round(accuracy(qm, xte, yte), 6),
                    "n_test": len(xte),
                }
            )
    path = Path(csv_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return rows


def baseline_bits(rows: list, tol: float = 0.005) -> int | None:
    """Smallest b (weights = activations = b bits) within ``tol`` of float accuracy."""
    ok = [
        r["weight_bits"]
        for r in rows
        if r["weight_bits"] == r["act_bits"] and r["int_accuracy"] >= r["float_accuracy"] - tol
    ]
    return min(ok) if ok else None
