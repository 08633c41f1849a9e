"""Shared helpers of the tests/pe tests: operand generators and torch references.

The references are written from the definitions in torch, independently of archsim's code:
exact kinds compare with torch's own int64 conv2d / linear; the digit kinds compare with a
sum over kept digit pairs of int64 convolutions of the signed digit planes.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)

RESNET18_LAYERS = [
    # (name, C, O, kernel, stride, padding, H) -- pytorch-cifar ResNet-18 shapes
    ("conv1", 3, 64, 3, 1, 1, 32),
    ("layer2.0.conv1", 64, 128, 3, 2, 1, 32),
    ("layer3.0.shortcut", 128, 256, 1, 2, 0, 16),
    ("layer4.0.conv1", 256, 512, 3, 2, 1, 8),
]


def operands(kind, a_shape, w_shape, rng, zero_frac=0.25):
    """Uniform random operands over the kind's full ranges, with some zeros."""
    alo, ahi = kind.act_range
    wlo, whi = kind.weight_range
    a = rng.integers(alo, ahi + 1, size=a_shape, dtype=np.int64)
    w = rng.integers(wlo, whi + 1, size=w_shape, dtype=np.int64)
    a[rng.random(a_shape) < zero_frac] = 0
    w[rng.random(w_shape) < zero_frac] = 0
    # make sure the extremes occur
    if a.size:
        a.flat[rng.integers(a.size)] = ahi
        a.flat[rng.integers(a.size)] = alo
    if w.size:
        w.flat[rng.integers(w.size)] = whi
        w.flat[rng.integers(w.size)] = wlo
    return a, w


def torch_conv2d(x, w, stride=1, padding=0, groups=1):
    """torch's integer convolution of the same integer arrays, as numpy int64."""
    return F.conv2d(
        torch.from_numpy(x), torch.from_numpy(w), stride=stride, padding=padding, groups=groups
    ).numpy()


def torch_linear(x, w):
    return F.linear(torch.from_numpy(x), torch.from_numpy(w)).numpy()


# ---- digit kinds, from the definition ------------------------------------------------------
def kept_pairs_by_definition(approx, n_a, n_w):
    """Kept (activation digit, weight digit) pairs of each named approximation."""
    every = {(i, j) for i in range(n_a) for j in range(n_w)}
    if approx == "none":
        return every
    if approx == "drop_ll":
        return every - {(0, 0)}
    if approx == "keep_hh":
        return {(n_a - 1, n_w - 1)}
    if approx == "trunc_act_low":
        return {(i, j) for (i, j) in every if i != 0}
    if approx == "trunc_weight_low":
        return {(i, j) for (i, j) in every if j != 0}
    return {tuple(p) for p in approx}


def digit_layout(act_bits, weight_bits, k, act_signed=False):
    """(n_act_digits, n_weight_digits, act digit maxima, weight digit maxima)."""
    ma = act_bits - (1 if act_signed else 0)
    mw = weight_bits - 1
    n_a = -(-ma // k)
    n_w = -(-mw // k)
    amax = [min(2**k - 1, 2 ** max(0, ma - k * i) - 1) for i in range(n_a)]
    wmax = [min(2**k - 1, 2 ** max(0, mw - k * j) - 1) for j in range(n_w)]
    return n_a, n_w, amax, wmax


def bias_by_definition(kept, act_bits, weight_bits, k, act_signed=False):
    """round-half-up of E[dropped terms] for uniform digits, exact product table."""
    n_a, n_w, amax, wmax = digit_layout(act_bits, weight_bits, k, act_signed)
    quarter_units = sum(
        amax[i] * wmax[j] * 2 ** (k * (i + j))
        for i in range(n_a)
        for j in range(n_w)
        if (i, j) not in kept
    )  # E = quarter_units / 4
    return (quarter_units + 2) // 4


def _signed_digit_planes(t, k, n):
    """(sign, [digit planes]) of an int64 tensor in sign-magnitude, with torch ops."""
    mag = t.abs()
    planes = [torch.bitwise_and(torch.bitwise_right_shift(mag, k * i), 2**k - 1) for i in range(n)]
    return planes


def torch_digit_op(op, x, w, *, k, act_bits, weight_bits, kept, bias, act_signed=False, **kw):
    """A-LUT-NA / LUT-NA result from the definition, with torch int64 ops.

    sum_{(i,j) kept} 2^(k(i+j)) op(s_a * a_i, sign(w) * w_j) + bias * op(s_a, sign(w)),
    s_a = -1 for negative activations else +1 (padding counts as activation 0, so s_a is
    padded with ones), a_i / w_j the k-bit digits of |a| / |w|.
    """
    n_a, n_w, _, _ = digit_layout(act_bits, weight_bits, k, act_signed)
    xt = torch.from_numpy(x)
    wt = torch.from_numpy(w)
    s_a = torch.where(xt < 0, -1, 1).to(torch.int64)
    s_w = torch.sign(wt)
    a_d = _signed_digit_planes(xt, k, n_a)
    w_d = _signed_digit_planes(wt, k, n_w)
    out = None
    for i, j in sorted(kept):
        term = op(s_a * a_d[i], s_w * w_d[j], **kw) * 2 ** (k * (i + j))
        out = term if out is None else out + term
    if bias:
        if op is F.conv2d and kw.get("padding", 0):
            ph, pw = _pair(kw["padding"])
            s_pad = F.pad(s_a, (pw, pw, ph, ph), value=1)
            out = out + bias * op(s_pad, s_w, **{**kw, "padding": 0})
        else:
            out = out + bias * op(s_a, s_w, **kw)
    return out.numpy()


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)
