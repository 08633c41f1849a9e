"""Post-training integer quantisation of a lowered model, and a bit-width sweep.

Scheme (docs/workload_graph.md has the integer semantics):
- weights: BatchNorm2d folded into the preceding conv, then symmetric per-output-channel
  quantisation to ``weight_bits``: w_int in +-(2**(b-1) - 1) (sign-magnitude friendly),
  w_scale[o] = max|w[o]| / (2**(b-1) - 1); pruned (zero) weights stay zero;
- activations: ``act_bits``; unsigned (0 .. 2**b - 1) where the values cannot be negative
  (after a ReLU, which is folded into the producing conv/linear/add when it is that
  producer's only user; after max/avg pooling or concatenation of unsigned values; image
  inputs in [0, 1], scale 1/(2**b - 1)), signed symmetric (-(2**(b-1) - 1) .. 2**(b-1) - 1,
  sign-magnitude friendly like the weights) elsewhere;
  scales from the max |value| seen on real calibration images;
- biases: int64 at scale in_scale x w_scale[o];
- requantisation: fixed point, per-channel ``requant_mult`` and one ``requant_shift`` per
  layer, with the shift chosen so that accumulator x mult cannot overflow int64;
- transformer ops, by the integer methods of ``workloads.transformer``: products of two
  activations requantised like a layer (a constant scale after them folded in); softmax by
  I-BERT's integer exponential on the input's scale, probabilities unsigned at 1/(2^b - 1);
  LayerNorm / RMSNorm with gamma (and beta) at gamma's scale max|gamma| / 127, the exact
  integer square root with ``NORM_BITS`` fractional bits, requantised to the calibrated range.

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
    clamp: tuple | None = None  # clamp: integer (lo, hi) bounds at the input's scale
    table: np.ndarray | None = None  # table: int64 values for inputs out_lo .. out_hi of its input
    extra: dict | None = None  # matmul / softmax / norm: the op's integer attributes


def act_range(signed: bool, bits: int) -> tuple[int, int]:
    """Integer range of an activation: unsigned 0 .. 2^b - 1, or signed symmetric
    +-(2^(b-1) - 1) (sign-magnitude friendly, like the weights: -2^(b-1) is never produced)."""
    return (-((1 << (bits - 1)) - 1), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _scale(maxabs: float, signed: bool, bits: int) -> float:
    q = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    return float(maxabs) / q if maxabs > 0 else 1.0 / q


def fold_bn(layer) -> tuple[np.ndarray, np.ndarray]:
    """Float64 (weight, bias) of a conv/linear layer with its BatchNorm2d and a constant
    output scale (``params["out_mul"]``, ``workloads.lower``) folded in."""
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
    k = float(layer.params.get("out_mul", 1.0))
    return w * k, b * k


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


def _clip_of(lowered: Lowered, cons: dict, lay) -> tuple[float, float] | None:
    """(lo, hi) real interval the layer's only consumer clamps to (ReLU, ReLU6, clamp), so the
    layer's own output range can use it; None if there is no such consumer."""
    nxt = cons[lay.name]
    if len(nxt) != 1 or lay.name in lowered.outputs:
        return None
    c = nxt[0]
    if c.op == "relu":
        return 0.0, math.inf
    if c.op == "clamp":
        lo, hi = c.params["min"], c.params["max"]
        return (-math.inf if lo is None else lo), (math.inf if hi is None else hi)
    return None


def _out_range(lo_v, hi_v, clip, signed_default: bool) -> tuple[bool, float]:
    """(signed, max |value| to represent) of an output calibrated to [lo_v, hi_v], narrowed by
    the consumer's clamp ``clip``; unsigned when the clamp makes it non-negative."""
    if clip is not None:
        lo_v, hi_v = max(lo_v, clip[0]), min(hi_v, clip[1])
    signed = signed_default and not (clip is not None and clip[0] >= 0)
    hi_r = max(hi_v, 0.0) if not signed else max(abs(lo_v), abs(hi_v))
    return signed, hi_r


def _round_half_up(v: float) -> int:
    return math.floor(v + 0.5)


def _q_input(lay, ins, rng, clip, qa) -> QLayer:
    lo_v, hi_v = rng
    signed = lo_v < 0
    scale = (
        1.0 / ((1 << qa.act_bits) - 1)
        if (not signed and hi_v <= 1.0)
        else _scale(max(abs(lo_v), abs(hi_v)), signed, qa.act_bits)
    )
    return QLayer(scale, *act_range(signed, qa.act_bits))


def _q_gemm(lay, ins, rng, clip, qa) -> QLayer:
    wq = (1 << (qa.weight_bits - 1)) - 1
    w, b = fold_bn(lay)
    flat = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    pos = flat[flat > 0]
    fallback = float(np.median(pos)) / wq if pos.size else 1.0 / wq
    w_scale = np.where(flat > 0, flat / wq, fallback).astype(np.float64)
    w_int = np.clip(np.rint(w / w_scale.reshape((-1,) + (1,) * (w.ndim - 1))), -wq, wq)
    w_int = w_int.astype(np.int64)
    s_in = ins[0].out_scale
    bias = np.rint(b / (s_in * w_scale)).astype(np.int64)
    signed, hi_r = _out_range(*rng, clip, True)
    s_out = _scale(hi_r, signed, qa.act_bits)
    amax = max(abs(ins[0].out_lo), abs(ins[0].out_hi))
    bound = int((np.abs(w_int).reshape(w.shape[0], -1).sum(axis=1) * amax + np.abs(bias)).max())
    mult, shift = fixed_point(s_in * w_scale / s_out, bound, qa.where)
    return QLayer(s_out, *act_range(signed, qa.act_bits), weight=w_int, bias=bias,
                  w_scale=w_scale, requant_mult=mult, requant_shift=shift)


def _q_same(lay, ins, rng, clip, qa) -> QLayer:
    return QLayer(ins[0].out_scale, ins[0].out_lo, ins[0].out_hi)


def _q_relu(lay, ins, rng, clip, qa) -> QLayer:
    return QLayer(ins[0].out_scale, 0, ins[0].out_hi)


def _q_clamp(lay, ins, rng, clip, qa) -> QLayer:
    s, src = ins[0].out_scale, ins[0]
    lo = src.out_lo if lay.params["min"] is None else _round_half_up(lay.params["min"] / s)
    hi = src.out_hi if lay.params["max"] is None else _round_half_up(lay.params["max"] / s)
    out = QLayer(s, max(lo, src.out_lo), min(hi, src.out_hi))
    out.clamp = (int(lo), int(hi))
    if out.out_lo > out.out_hi:
        raise QuantizationError(f"{qa.where}: clamp {lo}..{hi} excludes the whole input range "
                                f"{src.out_lo}..{src.out_hi}")
    return out


def _q_avgpool(lay, ins, rng, clip, qa) -> QLayer:
    kh, kw = lay.params["kernel"]
    mult, shift = 1 << 24, 24
    mult = round(mult / (kh * kw))
    while mult % 2 == 0 and shift > 1:
        mult, shift = mult // 2, shift - 1
    return QLayer(ins[0].out_scale, ins[0].out_lo, ins[0].out_hi, requant_mult=int(mult),
                  requant_shift=int(shift))


def _q_add_concat(lay, ins, rng, clip, qa) -> QLayer:
    all_unsigned = all(i.out_lo >= 0 for i in ins)
    if lay.op == "add":
        signed, hi_r = _out_range(*rng, clip, not all_unsigned)
    else:
        signed = not all_unsigned
        hi_r = max(i.out_scale * max(abs(i.out_lo), abs(i.out_hi)) for i in ins)
    s_out = _scale(hi_r, signed, qa.act_bits)
    bound = sum(max(abs(i.out_lo), abs(i.out_hi)) for i in ins)
    mults, shift = fixed_point(np.array([i.out_scale / s_out for i in ins]), bound, qa.where)
    return QLayer(s_out, *act_range(signed, qa.act_bits), requant_mults=[int(m) for m in mults],
                  requant_shift=shift)


def _q_mul(lay, ins, rng, clip, qa) -> QLayer:
    x, g = ins
    signed, hi_r = _out_range(*rng, clip, not (x.out_lo >= 0 and g.out_lo >= 0))
    s_out = _scale(hi_r, signed, qa.act_bits)
    bound = max(abs(x.out_lo), abs(x.out_hi)) * max(abs(g.out_lo), abs(g.out_hi))
    mult, shift = fixed_point(np.array([x.out_scale * g.out_scale / s_out]), bound, qa.where)
    return QLayer(s_out, *act_range(signed, qa.act_bits), requant_mult=int(mult[0]),
                  requant_shift=shift)


def _q_table(lay, ins, rng, clip, qa) -> QLayer:
    """Tabulate ``fn`` over every input integer: t[v - lo] = round(fn(v * s_in) / s_out), the
    output scale covering the function's whole range over the input range (never clips)."""
    from workloads.lower import TABLE_FNS

    src = ins[0]
    v = torch.arange(src.out_lo, src.out_hi + 1, dtype=torch.float64)
    y = TABLE_FNS[lay.params["fn"]](v * src.out_scale).double()
    ylo, yhi = float(y.min()), float(y.max())
    signed = ylo < 0
    s_out = _scale(max(abs(ylo), abs(yhi)), signed, qa.act_bits)
    lo, hi = act_range(signed, qa.act_bits)
    t = torch.clamp(torch.floor(y / s_out + 0.5), lo, hi).long().numpy().astype(np.int64)
    out = QLayer(s_out, lo, hi)
    out.table = t
    return out


NORM_BITS = 8  # fractional bits of the integer norms' reciprocal square root
GAMMA_LEVELS = 127  # gamma / beta of a norm in units of max|gamma| / 127


def _q_matmul(lay, ins, rng, clip, qa) -> QLayer:
    a, b = ins
    signed, hi_r = _out_range(*rng, clip, not (a.out_lo >= 0 and b.out_lo >= 0))
    s_out = _scale(hi_r, signed, qa.act_bits)
    amax, bmax = max(abs(a.out_lo), abs(a.out_hi)), max(abs(b.out_lo), abs(b.out_hi))
    bound = int(lay.params["inner"]) * amax * bmax
    ms = a.out_scale * b.out_scale * float(lay.params.get("out_mul", 1.0)) / s_out
    mult, shift = fixed_point(np.array([ms]), bound, qa.where)
    return QLayer(s_out, *act_range(signed, qa.act_bits), requant_mult=int(mult[0]),
                  requant_shift=shift)


def _q_softmax(lay, ins, rng, clip, qa) -> QLayer:
    from archsim.graph.seqops import iexp_constants

    lo, hi = act_range(False, qa.act_bits)
    s_in = ins[0].out_scale
    if s_in > math.log(2):
        raise QuantizationError(f"{qa.where}: softmax input scale {s_in:g} > ln 2 leaves the "
                                "integer exponential no resolution")
    ln2, qb, qc = iexp_constants(s_in)
    return QLayer(1.0 / hi, lo, hi, extra={"segment": int(lay.params["segment"]),
                                           "causal": False, "q_offset": 0, "exp_q_ln2": ln2,
                                           "exp_q_b": qb, "exp_q_c": qc})


def _q_norm(lay, ins, rng, clip, qa) -> QLayer:
    p = lay.params
    gamma = p["gamma"].numpy()
    gs = max(float(np.abs(gamma).max()), 1e-12) / GAMMA_LEVELS
    g_int = np.rint(gamma / gs).astype(np.int64)
    b_int = None if p["beta"] is None else np.rint(p["beta"].numpy() / gs).astype(np.int64)
    signed, hi_r = _out_range(*rng, clip, True)
    s_out = _scale(hi_r, signed, qa.act_bits)
    f = int(lay.out_shape[-1])
    # |normalised x| <= sqrt(F), so |y| <= (isqrt(F) + 1) x max|gamma| + max|beta|
    bound = (math.isqrt(f) + 1) * GAMMA_LEVELS + (0 if b_int is None else
                                                   int(np.abs(b_int).max(initial=0)))
    mult, shift = fixed_point(np.array([gs / s_out]), bound, qa.where)
    eps_q = max(1, round(p["eps"] / ins[0].out_scale ** 2 * 4**NORM_BITS))
    return QLayer(s_out, *act_range(signed, qa.act_bits), requant_mult=int(mult[0]),
                  requant_shift=shift,
                  extra={"norm": p["norm"], "gamma": g_int, "beta": b_int,
                         "norm_bits": NORM_BITS, "eps_q": int(eps_q),
                         "gamma_scale": float(gs), "eps": float(p["eps"])})


# op -> quantiser(layer, input QLayers, calibrated (min, max), consumer clamp, _QArgs)
QUANTISERS = {
    "input": _q_input,
    "conv": _q_gemm,
    "linear": _q_gemm,
    "maxpool": _q_same,
    "flatten": _q_same,
    "relu": _q_relu,
    "clamp": _q_clamp,
    "avgpool": _q_avgpool,
    "add": _q_add_concat,
    "concat": _q_add_concat,
    "mul": _q_mul,
    "table": _q_table,
    "matmul": _q_matmul,
    "softmax": _q_softmax,
    "norm": _q_norm,
}


@dataclass
class _QArgs:
    weight_bits: int
    act_bits: int
    where: str


def quantize(
    lowered: Lowered, calib_images: torch.Tensor, weight_bits: int = 9, act_bits: int = 8
) -> QuantizedModel:
    """Quantise every layer of ``lowered`` using ranges seen on ``calib_images``."""
    if not 2 <= weight_bits <= 16 or not 2 <= act_bits <= 16:
        raise QuantizationError(f"weight_bits {weight_bits} / act_bits {act_bits} outside 2..16")
    ranges = calibrate(lowered, calib_images)
    cons = _consumers(lowered)
    q: dict[str, QLayer] = {}
    for lay in lowered.layers:
        fn = QUANTISERS.get(lay.op)
        if fn is None:  # pragma: no cover - lower() only makes the ops above
            raise QuantizationError(f"layer {lay.name!r}: op {lay.op!r} has no quantiser")
        qa = _QArgs(weight_bits, act_bits, f"layer {lay.name!r}")
        rng = ranges.get(lay.out_fx, (0.0, 0.0))
        q[lay.name] = fn(lay, [q[p] for p in lay.inputs], rng, _clip_of(lowered, cons, lay), qa)
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
