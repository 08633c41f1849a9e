"""Torch reference of the transformer ops' integer methods (independent of archsim's numpy).

In:  the node attribute dict of a transformer op (docs/workload_graph.md) and int64 torch
     tensors. Out: the op's int64 output, by the same integer method as
     ``archsim.graph.seqops`` (I-BERT's i-exp softmax, integer-square-root norms, per-head
     matmuls), written again here in torch so that the tests can check the two
     implementations bit for bit. Tabulated GELU / SiLU (``table``) and gated products
     (``mul``) are ops shared with CNNs, in ``workloads.reference``.
"""

from __future__ import annotations

import torch

__all__ = ["run_seq"]


def _requant(x: torch.Tensor, mult: int, shift: int, lo: int, hi: int) -> torch.Tensor:
    return torch.clamp(torch.bitwise_right_shift(x * int(mult) + (1 << (shift - 1)), shift),
                       lo, hi)


def _isqrt(n: torch.Tensor) -> torch.Tensor:
    r = torch.floor(torch.sqrt(n.double())).long()
    for _ in range(2):
        r = torch.where(r * r > n, r - 1, r)
        r = torch.where((r + 1) * (r + 1) <= n, r + 1, r)
    return r


def _matmul(a: torch.Tensor, b: torch.Tensor, heads: int, transpose_b: bool) -> torch.Tensor:
    bsz, t, fa = a.shape
    _, s, fb = b.shape
    ah = a.view(bsz, t, heads, fa // heads).transpose(1, 2).double()  # (B, H, T, d)
    bh = b.view(bsz, s, heads, fb // heads).transpose(1, 2).double()  # (B, H, S, e)
    prod = ah @ (bh.transpose(2, 3) if transpose_b else bh)  # exact below 2^53 (int8 operands)
    return torch.round(prod).long().transpose(1, 2).reshape(bsz, t, -1)


def _softmax(x: torch.Tensor, a: dict) -> torch.Tensor:
    bsz, t, f = x.shape
    seg = a["segment"]
    v = x.view(bsz, t, f // seg, seg)
    keys = torch.arange(seg).view(1, seg)
    queries = torch.arange(t).view(t, 1)
    allowed = (keys <= queries + a["q_offset"]) if a["causal"] else torch.ones(t, seg,
                                                                               dtype=torch.bool)
    allowed = allowed.view(1, t, 1, seg)
    m = torch.where(allowed, v, torch.full_like(v, -(2**60))).amax(dim=-1, keepdim=True)
    q = torch.where(allowed, v - m, torch.zeros_like(v))
    ln2, qb, qc = a["exp_q_ln2"], a["exp_q_b"], a["exp_q_c"]
    z = torch.clamp(torch.div(-q, ln2, rounding_mode="floor"), max=62)
    p = q + z * ln2
    e = torch.bitwise_right_shift((p + qb) * (p + qb) + qc, z)
    e = torch.where(allowed, e, torch.zeros_like(e))
    tot = e.sum(dim=-1, keepdim=True)
    hi = a["out_hi"]
    prob = torch.div(e * hi + torch.div(tot, 2, rounding_mode="floor"), tot,
                     rounding_mode="floor")
    return torch.clamp(prob, 0, hi).reshape(bsz, t, f)


def _norm(x: torch.Tensor, a: dict) -> torch.Tensor:
    f = x.shape[-1]
    p = a["norm_bits"]
    g = torch.from_numpy(a["gamma"])
    if a["norm"] == "layer":
        d = f * x - x.sum(dim=-1, keepdim=True)
        ss = (d * d).sum(dim=-1, keepdim=True)
        var = torch.div(torch.div(ss, f, rounding_mode="floor") * (1 << (2 * p)), f * f,
                        rounding_mode="floor")
        den = f * _isqrt(var + a["eps_q"])
    else:
        d = x
        ss = (d * d).sum(dim=-1, keepdim=True)
        den = _isqrt(torch.div(ss * (1 << (2 * p)), f, rounding_mode="floor") + a["eps_q"])
    y = torch.div(d * g * (1 << p), den, rounding_mode="floor")
    if a["beta"] is not None:
        y = y + torch.from_numpy(a["beta"])
    return _requant(y, a["requant_mult"], a["requant_shift"], a["out_lo"], a["out_hi"])


def run_seq(a: dict, xs: list) -> torch.Tensor:
    """Output of transformer op ``a`` on int64 tensors ``xs``."""
    op, lo, hi = a["op"], a["out_lo"], a["out_hi"]
    if op == "constant":
        return torch.from_numpy(a["value"]).long()
    if op == "to_tokens":
        n, c, h, w = xs[0].shape
        return xs[0].permute(0, 2, 3, 1).reshape(n, h * w, c)
    if op == "token_pool":
        return _requant(xs[0].sum(dim=1), a["requant_mult"], a["requant_shift"], lo, hi)
    if op == "matmul":
        acc = _matmul(xs[0], xs[1], a["heads"], a["transpose_b"])
        return _requant(acc, a["requant_mult"], a["requant_shift"], lo, hi)
    if op == "softmax":
        return _softmax(xs[0], a)
    if op == "norm":
        return _norm(xs[0], a)
    raise ValueError(f"reference: unknown op {op!r}")
