"""Exact integer semantics of the transformer ops of the workload graph (numpy, no torch).

In:  int64 arrays -- token tensors are (B, T, F): batch, tokens, features -- and the node's
     integer attributes (docs/workload_graph.md, "Transformer ops").
Out: int64 arrays. ``workloads.reference`` re-implements each op in torch; the tests check
     both agree bit for bit, and ``workloads.transformer`` reports their error against float.

Methods (all integer, no floating point at run time):
- ``matmul_heads``: per head h, a_h (T x d) times b_h^T (S x d) (``transpose_b``) or a_h
  (T x S) times b_h (S x e); heads are contiguous feature blocks; exact accumulators, then
  ``requant``.
- ``softmax_int``: I-BERT's integer exponential (Kim et al., ICML 2021, arXiv 2101.01321,
  "i-exp"): with the row maximum subtracted (q <= 0) and integer constants q_ln2 = floor(ln 2 /
  S), q_b = floor(b / S), q_c = floor(c / (a S^2)) of the input scale S (a = 0.3585,
  b = 1.353, c = 0.344): z = floor(-q / q_ln2), p = q + z q_ln2, e = ((p + q_b)^2 + q_c) >> z;
  then probabilities round(255 e / sum e) (scale 1/255). ``causal`` masks key s > t +
  ``q_offset`` of query t (e = 0). Softmax runs per ``segment`` of S features (one head).
- ``norm_int``: LayerNorm / RMSNorm with an exact integer square root (floor; I-BERT computes
  it by Newton iteration, the result is the same integer): for ``layer``, d = F x - sum x
  (exact centring), r = isqrt((sum d^2 // F << 2P) // F^2 + eps_q), y = floor(d gamma 2^P /
  (F r)); for ``rms``, r = isqrt((sum x^2 << 2P) // F + eps_q), y = floor(x gamma 2^P / r);
  then y + beta (``archsim.graph.ops.run_node`` requantises). P = ``norm_bits`` fractional
  bits of the reciprocal.
- ``to_tokens``: (N, C, H, W) -> (N, H W, C), a reshape (free).
- ``token_pool``: sum over tokens (requantised by ``run_node`` to the mean).
"""

from __future__ import annotations

import numpy as np

from archsim.pe.intmath import exact_int_matmul

__all__ = ["IEXP_A", "IEXP_B", "IEXP_C", "isqrt", "matmul_heads", "norm_int", "softmax_int",
           "to_tokens", "token_pool"]

IEXP_A, IEXP_B, IEXP_C = 0.3585, 1.353, 0.344  # I-BERT's second-order fit of exp on (-ln2, 0]


def isqrt(n: np.ndarray) -> np.ndarray:
    """Exact floor square root of non-negative int64 values below 2^62."""
    n = np.asarray(n, dtype=np.int64)
    if n.size and (int(n.min()) < 0 or int(n.max()) >= 1 << 62):
        raise ValueError("isqrt: values must be in [0, 2^62)")
    r = np.floor(np.sqrt(n.astype(np.float64))).astype(np.int64)
    for _ in range(2):  # float sqrt is within 1 of the answer below 2^62
        r = np.where(r * r > n, r - 1, r)
        r = np.where((r + 1) * (r + 1) <= n, r + 1, r)
    return r


def matmul_heads(a, b, heads: int, transpose_b: bool, matmul_fn=None) -> np.ndarray:
    """Per-head products of (B, T, H*d) and (B, S, H*d) [transpose_b] or (B, T, H*S) and
    (B, S, H*e) -> (B, T, H*S) or (B, T, H*e) int64 accumulators."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    mm = matmul_fn or exact_int_matmul
    bsz, t, fa = a.shape
    _, s, fb = b.shape
    da, db = fa // heads, fb // heads
    out_f = heads * (s if transpose_b else db)
    out = np.zeros((bsz, t, out_f), dtype=np.int64)
    for n in range(bsz):
        for h in range(heads):
            ah = a[n, :, h * da:(h + 1) * da]
            bh = b[n, :, h * db:(h + 1) * db]
            w = bh.T if transpose_b else bh
            width = w.shape[1]
            out[n, :, h * width:(h + 1) * width] = mm(ah, w)
    return out


def iexp_constants(scale: float) -> tuple[int, int, int]:
    """(q_ln2, q_b, q_c) of I-BERT's i-exp for an input of ``scale``."""
    q_ln2 = int(np.floor(np.log(2.0) / scale))
    if q_ln2 < 1:
        raise ValueError(f"softmax: input scale {scale} > ln 2; i-exp needs a finer scale")
    return q_ln2, int(np.floor(IEXP_B / scale)), int(np.floor(IEXP_C / (IEXP_A * scale * scale)))


def softmax_int(x, segment: int, q_ln2: int, q_b: int, q_c: int, causal: bool = False,
                q_offset: int = 0, out_hi: int = 255) -> np.ndarray:
    """Integer softmax over each ``segment`` of the last axis of (B, T, F) (see module doc)."""
    x = np.asarray(x, dtype=np.int64)
    bsz, t, f = x.shape
    v = x.reshape(bsz, t, f // segment, segment)
    allowed = np.ones((t, segment), dtype=bool)
    if causal:
        allowed = np.arange(segment)[None, :] <= (np.arange(t)[:, None] + q_offset)
    allowed = allowed[None, :, None, :]
    low = np.iinfo(np.int64).min // 4
    m = np.where(allowed, v, low).max(axis=-1, keepdims=True)
    q = np.where(allowed, v - m, 0)
    z = np.minimum((-q) // q_ln2, 62)
    p = q + z * q_ln2
    e = ((p + q_b) ** 2 + q_c) >> z
    e = np.where(allowed, e, 0)
    tot = e.sum(axis=-1, keepdims=True)
    prob = (e * out_hi + tot // 2) // tot
    return np.clip(prob, 0, out_hi).reshape(bsz, t, f)


def norm_int(x, kind: str, gamma, beta, norm_bits: int, eps_q: int) -> np.ndarray:
    """Integer LayerNorm (``kind="layer"``) / RMSNorm (``"rms"``) over the last axis, before
    the requantisation: y + beta at gamma's scale."""
    x = np.asarray(x, dtype=np.int64)
    f = x.shape[-1]
    g = np.asarray(gamma, dtype=np.int64)
    p = int(norm_bits)
    if kind == "layer":
        d = f * x - x.sum(axis=-1, keepdims=True)
        ss = (d * d).sum(axis=-1, keepdims=True)
        var = ((ss // f) << (2 * p)) // (f * f)
        den = f * isqrt(var + eps_q)
    elif kind == "rms":
        d = x
        ss = (d * d).sum(axis=-1, keepdims=True)
        var = (ss << (2 * p)) // f
        den = isqrt(var + eps_q)
    else:
        raise ValueError(f"norm: kind must be 'layer' or 'rms', got {kind!r}")
    if int(np.abs(d).max(initial=0)) * int(np.abs(g).max(initial=0)) >= 1 << (62 - p):
        raise ValueError("norm: d x gamma x 2^norm_bits overflows int64")
    y = ((d * g) << p) // den
    if beta is not None:
        y = y + np.asarray(beta, dtype=np.int64)
    return y


def to_tokens(x) -> np.ndarray:
    """(N, C, H, W) -> (N, H*W, C)."""
    x = np.asarray(x, dtype=np.int64)
    n, c, h, w = x.shape
    return x.transpose(0, 2, 3, 1).reshape(n, h * w, c)


def token_pool(x) -> np.ndarray:
    """(B, T, F) -> (B, F): the sum over tokens."""
    return np.asarray(x, dtype=np.int64).sum(axis=1)
