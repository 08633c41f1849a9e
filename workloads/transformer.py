"""Transformer zoo entries built as integer workload graphs: ``vit_tiny`` and ``decoder_block``.

In:  model sizes (arguments), weight bits, seed, phase (``decode_block``: ``prefill`` of T
     tokens or ``decode`` of one token with a KV cache of T), and whether to attach a sample.
Out: ``build_transformer(name, ...)`` -> a validated workload graph (docs/workload_graph.md,
     "Transformer ops") with, when ``sample`` is set, the sample input, every node's torch
     integer reference output (``workloads.reference``) and the graph attribute
     ``float_error``: the error of each integer approximation against float (the float
     function applied to the same dequantised integer input), and of the whole graph's output
     against the float model.

Models (random-initialised under ``seed``; nothing is downloaded or trained):
- ``decoder_block``: one Llama-style block (Touvron et al., arXiv 2302.13971): RMSNorm ->
  Q, K, V projections -> causal multi-head attention -> output projection -> residual add ->
  RMSNorm -> SwiGLU MLP (SiLU(x W_gate) * (x W_up)) W_down -> residual add. Rotary position
  embeddings are not modelled (they do not change the operations' sizes). Defaults: dim 256,
  4 heads, MLP 688 (= 8/3 dim rounded to 16), T = 128 tokens, batch 1.
  ``decode``: the input is token T (one row); K and V of the T previous tokens are a
  ``constant`` KV cache (computed by the float block on those tokens) to which the new
  token's K and V are appended by a ``concat`` along tokens.
- ``vit_tiny``: ViT-Ti (DeiT, Touvron et al., arXiv 2012.12877: dim 192, 3 heads, MLP 768,
  12 blocks) on CIFAR-10 32 x 32 images with 4 x 4 patches (64 tokens): patch conv ->
  tokens + learned position embedding -> pre-LayerNorm blocks with GELU MLPs -> LayerNorm ->
  mean over tokens -> linear classifier. No class token (mean pooling instead).

Integer methods: per-tensor symmetric 8-bit activations in [-127, 127] (probabilities
0..127, images 0..127 at scale 1/127, so every activation fits a signed 8-bit PE operand),
per-output-channel weights (absmax to +-(2^(b-1) - 1); at 2 bits BitNet b1.58's absmean
scale, Ma et al., arXiv 2402.17764, so the ternary weights are {-1, 0, +1}), integer
softmax / norms (``archsim.graph.seqops``), GELU / SiLU tabulated over the 255 input integers.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import torch
import torch.nn.functional as F

from archsim.graph.ir import FORMAT_VERSION, edge_bytes, validate_workload
from archsim.graph.seqops import iexp_constants
from workloads.reference import attach_reference

__all__ = ["TRANSFORMERS", "build_transformer"]

TRANSFORMERS = ("decoder_block", "vit_tiny")
A_HI = 127  # activations in [-127, 127]
NORM_BITS = 8
_FLOAT_FN = {"silu": F.silu, "gelu": F.gelu}


def _mult_shift(m: np.ndarray | float, bits: int = 24) -> tuple[np.ndarray, int]:
    """Integer multipliers and one shift with mult / 2^shift ~ m (m > 0)."""
    m = np.atleast_1d(np.asarray(m, dtype=np.float64))
    if not np.all(m > 0):
        raise ValueError("requantisation multiplier must be > 0")
    shift = int(np.clip(bits - math.ceil(math.log2(float(m.max()))), 1, 62))
    return np.maximum(1, np.round(m * 2.0**shift)).astype(np.int64), shift


def _scale(t: torch.Tensor, hi: int = A_HI) -> float:
    return max(float(t.abs().max()), 1e-8) / hi


class _Builder:
    """Adds nodes with their edges, keeping the float tensor each node approximates."""

    def __init__(self, name: str, weight_bits: int, seed: int) -> None:
        self.g = nx.DiGraph()
        self.g.graph.update(format_version=FORMAT_VERSION, name=name, inputs=[], outputs=[],
                            act_bits=8, weight_bits=int(weight_bits), sparsity=0.0,
                            pruning="none (dense)", seed=int(seed))
        self.wb = int(weight_bits)
        self.f: dict[str, torch.Tensor] = {}  # float tensor of every node (calibration)
        self.s: dict[str, float] = {}  # scale of every node
        self.macs = [0, 0]

    def add(self, name: str, op: str, inputs: list[str], ft: torch.Tensor, scale: float,
            lo: int = -A_HI, hi: int = A_HI, **attrs) -> str:
        shape = tuple(int(d) for d in ft.shape)
        self.g.add_node(name, op=op, inputs=list(inputs), out_shape=shape, out_scale=float(scale),
                        out_lo=int(lo), out_hi=int(hi), **attrs)
        for p in set(inputs):
            src = self.g.nodes[p]
            self.g.add_edge(p, name, shape=src["out_shape"],
                            bytes=edge_bytes(src["out_shape"], src["out_lo"], src["out_hi"]))
        self.f[name], self.s[name] = ft, float(scale)
        if "macs_dense" in attrs:
            self.macs[0] += attrs["macs_dense"]
            self.macs[1] += attrs.get("macs_nonzero", attrs["macs_dense"])
        return name

    # ---- layers -------------------------------------------------------------------------
    def quant_weight(self, w: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        qmax = (1 << (self.wb - 1)) - 1
        flat = w.reshape(w.shape[0], -1).double()
        if qmax == 1:  # ternary: BitNet b1.58 absmean scale
            ws = flat.abs().mean(dim=1)
        else:
            ws = flat.abs().amax(dim=1) / qmax
        ws = torch.clamp(ws, min=1e-12)
        wq = torch.clamp(torch.round(flat / ws[:, None]), -qmax, qmax).long()
        return wq.reshape(w.shape).numpy(), ws.numpy()

    def gemm(self, name: str, op: str, x: str, w: torch.Tensor, b: torch.Tensor | None,
             **conv) -> str:
        xf = self.f[x]
        if op == "linear":
            yf = F.linear(xf, w, b)
        else:
            yf = F.conv2d(xf, w, b, conv["stride"], conv["padding"])
        wq, ws = self.quant_weight(w)
        s_in, s_out = self.s[x], _scale(yf)
        acc_scale = s_in * ws
        bias = None if b is None else np.round(b.double().numpy() / acc_scale).astype(np.int64)
        mult, shift = _mult_shift(acc_scale / s_out)
        rows = int(np.prod(yf.shape[:-1])) if op == "linear" else int(
            yf.shape[0] * yf.shape[2] * yf.shape[3])
        attrs = {"weight": wq, "mask": wq != 0, "bias": bias, "weight_bits": self.wb,
                 "act_bits": 8, "w_scale": ws.astype(np.float64), "requant_mult": mult,
                 "requant_shift": shift, "macs_dense": rows * wq.size,
                 "macs_nonzero": rows * int(np.count_nonzero(wq))}
        if op == "conv":
            attrs.update(stride=tuple(conv["stride"]), padding=tuple(conv["padding"]), groups=1)
        return self.add(name, op, [x], yf, s_out, **attrs, **self.in_range(x))

    def in_range(self, x: str) -> dict:
        """The declared input sign and range of a GEMM / matmul reading ``x``: signed after
        norms, projections and residuals, unsigned after softmax and the image input."""
        src = self.g.nodes[x]
        return {"in_signed": bool(src["out_lo"] < 0), "in_lo": int(src["out_lo"]),
                "in_hi": int(src["out_hi"])}

    def norm(self, name: str, x: str, kind: str, gamma: torch.Tensor, beta, eps: float) -> str:
        xf = self.f[x]
        if kind == "rms":
            yf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * gamma
        else:
            yf = F.layer_norm(xf, (xf.shape[-1],), gamma, beta, eps)
        gs = _scale(gamma)
        g_int = np.round(gamma.double().numpy() / gs).astype(np.int64)
        b_int = None if beta is None else np.round(beta.double().numpy() / gs).astype(np.int64)
        s_out = _scale(yf)
        mult, shift = _mult_shift(gs / s_out)
        eps_q = max(1, round(eps / self.s[x] ** 2 * 4**NORM_BITS))
        return self.add(name, "norm", [x], yf, s_out, norm=kind, gamma=g_int, beta=b_int,
                        norm_bits=NORM_BITS, eps_q=int(eps_q), requant_mult=int(mult[0]),
                        requant_shift=shift, gamma_scale=float(gs), eps=float(eps))

    def matmul(self, name: str, a: str, b: str, heads: int, transpose_b: bool,
               extra_scale: float = 1.0) -> str:
        af, bf = self.f[a], self.f[b]
        bsz, t, fa = af.shape
        s = bf.shape[1]
        ah = af.view(bsz, t, heads, -1).transpose(1, 2)
        bh = bf.view(bsz, s, heads, -1).transpose(1, 2)
        yf = (ah @ (bh.transpose(2, 3) if transpose_b else bh)) * extra_scale
        yf = yf.transpose(1, 2).reshape(bsz, t, -1)
        s_out = _scale(yf)
        mult, shift = _mult_shift(self.s[a] * self.s[b] * extra_scale / s_out)
        inner = fa // heads if transpose_b else s
        macs = bsz * t * int(yf.shape[-1]) * inner
        return self.add(name, "matmul", [a, b], yf, s_out, heads=heads, transpose_b=transpose_b,
                        requant_mult=int(mult[0]), requant_shift=shift, macs_dense=macs,
                        **self.in_range(a))

    def softmax(self, name: str, x: str, segment: int, causal: bool, q_offset: int) -> str:
        xf = self.f[x]
        bsz, t, f = xf.shape
        v = xf.view(bsz, t, f // segment, segment)
        if causal:
            keep = torch.arange(segment)[None, :] <= torch.arange(t)[:, None] + q_offset
            v = v.masked_fill(~keep[None, :, None, :], float("-inf"))
        yf = torch.softmax(v, dim=-1).reshape(bsz, t, f)
        ln2, qb, qc = iexp_constants(self.s[x])
        return self.add(name, "softmax", [x], yf, 1.0 / A_HI, 0, A_HI, segment=segment,
                        causal=causal, q_offset=q_offset, exp_q_ln2=ln2, exp_q_b=qb,
                        exp_q_c=qc)

    def table(self, name: str, x: str, fn: str) -> str:
        src = self.g.nodes[x]
        yf = _FLOAT_FN[fn](self.f[x])
        grid = torch.arange(src["out_lo"], src["out_hi"] + 1, dtype=torch.float64) * self.s[x]
        s_out = max(_scale(yf), float(_FLOAT_FN[fn](grid).abs().max()) / A_HI)
        tab = torch.clamp(torch.round(_FLOAT_FN[fn](grid) / s_out), -A_HI, A_HI).long().numpy()
        return self.add(name, "table", [x], yf, s_out, table=tab, table_lo=src["out_lo"], fn=fn)

    def mul(self, name: str, a: str, b: str) -> str:
        yf = self.f[a] * self.f[b]
        s_out = _scale(yf)
        mult, shift = _mult_shift(self.s[a] * self.s[b] / s_out)
        return self.add(name, "mul", [a, b], yf, s_out, requant_mult=int(mult[0]),
                        requant_shift=shift)

    def residual(self, name: str, a: str, b: str) -> str:
        yf = self.f[a] + self.f[b]
        s_out = _scale(yf)
        mults, shift = _mult_shift(np.array([self.s[a], self.s[b]]) / s_out, bits=16)
        return self.add(name, "add", [a, b], yf, s_out, requant_mults=[int(m) for m in mults],
                        requant_shift=shift)

    def constant(self, name: str, ft: torch.Tensor) -> str:
        s = _scale(ft)
        v = torch.clamp(torch.round(ft.double() / s), -A_HI, A_HI).long().numpy()
        return self.add(name, "constant", [], ft, s, value=v)

    def concat_tokens(self, name: str, a: str, b: str) -> str:
        # equal scales (the cache was quantised with the new tokens' scale): mults 2 / 2^1
        if self.s[a] != self.s[b]:
            raise ValueError("concat_tokens: inputs must share a scale")
        yf = torch.cat([self.f[a], self.f[b]], dim=1)
        return self.add(name, "concat", [a, b], yf, self.s[a], axis=1, requant_mults=[2, 2],
                        requant_shift=1)

    def finish(self, inputs: list[str], outputs: list[str], extra: dict) -> nx.DiGraph:
        g = self.g
        g.graph.update(inputs=inputs, outputs=outputs, batch=int(g.nodes[inputs[0]]
                                                                  ["out_shape"][0]),
                       macs_dense=int(self.macs[0]), macs_nonzero=int(self.macs[1]), **extra)
        validate_workload(g)
        return g


# ---- models -------------------------------------------------------------------------------
def _attention(bd: _Builder, p: str, h: str, wts: dict, heads: int, causal: bool,
               cache: tuple[torch.Tensor, torch.Tensor] | None, bias: bool) -> str:
    def lin(n):
        return bd.gemm(f"{p}{n}", "linear", h, wts[n], wts.get(n + "_b") if bias else None)

    q, k, v = lin("wq"), lin("wk"), lin("wv")
    t = bd.f[q].shape[1]
    q_offset = 0
    if cache is not None:
        kc, vc = cache
        # the cache takes the scale of the new token's K / V (one tensor, one scale)
        for name, new, old in (("k", k, kc), ("v", v, vc)):
            s = max(bd.s[new], _scale(old))
            bd.s[new] = s
            bd.g.nodes[new]["out_scale"] = s
            mult, shift = _mult_shift(bd.s[h] * bd.g.nodes[new]["w_scale"] / s)
            bd.g.nodes[new].update(requant_mult=mult, requant_shift=shift)
            c = bd.constant(f"{p}{name}_cache", old)
            bd.s[c] = s
            bd.g.nodes[c]["out_scale"] = s
            bd.g.nodes[c]["value"] = torch.clamp(torch.round(old.double() / s), -A_HI,
                                                 A_HI).long().numpy()
            if name == "k":
                k = bd.concat_tokens(f"{p}k_all", c, new)
            else:
                v = bd.concat_tokens(f"{p}v_all", c, new)
        q_offset = int(cache[0].shape[1])
    d = bd.f[q].shape[-1] // heads
    sc = bd.matmul(f"{p}scores", q, k, heads, True, extra_scale=1.0 / math.sqrt(d))
    pr = bd.softmax(f"{p}softmax", sc, bd.f[k].shape[1], causal, q_offset)
    o = bd.matmul(f"{p}attn", pr, v, heads, False)
    del t
    return bd.gemm(f"{p}wo", "linear", o, wts["wo"], wts.get("wo_b") if bias else None)


def _rand(gen, *shape, std=1.0):
    return torch.randn(*shape, generator=gen, dtype=torch.float32) * std


def _decoder(bd: _Builder, gen, batch: int, tokens: int, dim: int, heads: int, ffn: int,
             phase: str) -> tuple[list[str], list[str], torch.Tensor, str]:
    wts = {n: _rand(gen, o, i, std=1 / math.sqrt(i)) for n, o, i in (
        ("wq", dim, dim), ("wk", dim, dim), ("wv", dim, dim), ("wo", dim, dim),
        ("w_gate", ffn, dim), ("w_up", ffn, dim), ("w_down", dim, ffn))}
    g1 = 1 + 0.1 * _rand(gen, dim)
    g2 = 1 + 0.1 * _rand(gen, dim)
    hidden = _rand(gen, batch, tokens + 1, dim)
    eps = 1e-5
    cache = None
    if phase == "decode":  # K / V of the T previous tokens, by the float block itself
        hn = hidden[:, :tokens]
        hn = hn * torch.rsqrt(hn.pow(2).mean(-1, keepdim=True) + eps) * g1
        cache = (F.linear(hn, wts["wk"]), F.linear(hn, wts["wv"]))
        x_f = hidden[:, tokens:]
    else:
        x_f = hidden[:, :tokens]
    x = bd.add("x", "input", [], x_f, _scale(x_f))
    h = bd.norm("norm1", x, "rms", g1, None, eps)
    a = _attention(bd, "", h, wts, heads, True, cache, bias=False)
    x2 = bd.residual("resid1", x, a)
    h2 = bd.norm("norm2", x2, "rms", g2, None, eps)
    gate = bd.gemm("w_gate", "linear", h2, wts["w_gate"], None)
    up = bd.gemm("w_up", "linear", h2, wts["w_up"], None)
    m = bd.mul("swiglu", bd.table("silu", gate, "silu"), up)
    dn = bd.gemm("w_down", "linear", m, wts["w_down"], None)
    y = bd.residual("resid2", x2, dn)
    return [x], [y], x_f, y


def _vit(bd: _Builder, gen, images: torch.Tensor, dim: int, heads: int, ffn: int, depth: int,
         classes: int = 10, patch: int = 4) -> tuple[list[str], list[str], torch.Tensor, str]:
    x_f = torch.round(images * A_HI) / A_HI  # images at scale 1/127 (0..127)
    x = bd.add("x", "input", [], x_f, 1.0 / A_HI, 0, A_HI)
    pw = _rand(gen, dim, 3, patch, patch, std=1 / math.sqrt(3 * patch * patch))
    pe = bd.gemm("patch", "conv", x, pw, 0.02 * _rand(gen, dim), stride=(patch, patch),
                 padding=(0, 0))
    ntok = (images.shape[2] // patch) * (images.shape[3] // patch)
    tok = bd.add("tokens", "to_tokens", [pe], bd.f[pe].flatten(2).transpose(1, 2), bd.s[pe])
    pos = bd.constant("pos_embed", 0.02 * _rand(gen, images.shape[0], ntok, dim))
    h = bd.residual("embed", tok, pos)
    eps = 1e-6
    for i in range(depth):
        p = f"b{i}_"
        wts = {n: _rand(gen, o, k, std=1 / math.sqrt(k)) for n, o, k in (
            ("wq", dim, dim), ("wk", dim, dim), ("wv", dim, dim), ("wo", dim, dim),
            ("fc1", ffn, dim), ("fc2", dim, ffn))}
        wts.update({n + "_b": 0.02 * _rand(gen, o) for n, o in (
            ("wq", dim), ("wk", dim), ("wv", dim), ("wo", dim), ("fc1", ffn), ("fc2", dim))})
        n1 = bd.norm(f"{p}norm1", h, "layer", 1 + 0.1 * _rand(gen, dim), 0.02 * _rand(gen, dim),
                     eps)
        a = _attention(bd, p, n1, wts, heads, False, None, bias=True)
        h = bd.residual(f"{p}resid1", h, a)
        n2 = bd.norm(f"{p}norm2", h, "layer", 1 + 0.1 * _rand(gen, dim), 0.02 * _rand(gen, dim),
                     eps)
        f1 = bd.gemm(f"{p}fc1", "linear", n2, wts["fc1"], wts["fc1_b"])
        f2 = bd.gemm(f"{p}fc2", "linear", bd.table(f"{p}gelu", f1, "gelu"), wts["fc2"],
                     wts["fc2_b"])
        h = bd.residual(f"{p}resid2", h, f2)
    hn = bd.norm("norm", h, "layer", 1 + 0.1 * _rand(gen, dim), 0.02 * _rand(gen, dim), eps)
    pooled_f = bd.f[hn].mean(dim=1)
    s_pool = _scale(pooled_f)
    mult, shift = _mult_shift(bd.s[hn] / (ntok * s_pool))
    pooled = bd.add("pool", "token_pool", [hn], pooled_f, s_pool, requant_mult=int(mult[0]),
                    requant_shift=shift)
    head = bd.gemm("head", "linear", pooled, _rand(gen, classes, dim, std=1 / math.sqrt(dim)),
                   torch.zeros(classes))
    return [x], [head], x_f, head


# ---- errors against float -----------------------------------------------------------------
def _float_errors(bd: _Builder, g: nx.DiGraph, out: str) -> dict:
    """Per approximated op: float function of the dequantised integer input vs the dequantised
    integer output; and the graph output against the float model."""
    errs: dict = {}
    ref = {n: g.nodes[n]["ref_output"] for n in g.nodes}
    for n in g.nodes:
        a = g.nodes[n]
        if a["op"] not in ("softmax", "norm", "table"):
            continue
        src = a["inputs"][0]
        xin = torch.from_numpy(ref[src]).double() * g.nodes[src]["out_scale"]
        if a["op"] == "softmax":
            bsz, t, f = xin.shape
            seg = a["segment"]
            v = xin.view(bsz, t, f // seg, seg)
            if a["causal"]:
                keep = torch.arange(seg)[None, :] <= torch.arange(t)[:, None] + a["q_offset"]
                v = v.masked_fill(~keep[None, :, None, :], float("-inf"))
            want = torch.softmax(v, dim=-1).reshape(bsz, t, f)
            method = "I-BERT integer exponential (i-exp), integer division"
        elif a["op"] == "norm":
            gs, eps = a["gamma_scale"], a["eps"]
            gam = torch.from_numpy(a["gamma"]).double() * gs
            bet = None if a["beta"] is None else torch.from_numpy(a["beta"]).double() * gs
            if a["norm"] == "rms":
                want = xin * torch.rsqrt(xin.pow(2).mean(-1, keepdim=True) + eps) * gam
            else:
                want = F.layer_norm(xin, (xin.shape[-1],), gam, bet, eps)
            method = f"integer {a['norm']}norm, exact floor square root, {a['norm_bits']} bits"
        else:
            want = _FLOAT_FN[a["fn"]](xin)
            method = f"{a['fn']} tabulated over the {a['table'].size} input integers"
        got = torch.from_numpy(ref[n]).double() * a["out_scale"]
        d = (got - want).abs()
        errs[n] = {"op": a["op"], "method": method, "max_abs": float(d.max()),
                   "rms": float(d.pow(2).mean().sqrt()),
                   "rms_rel": float(d.pow(2).mean().sqrt() / max(want.pow(2).mean().sqrt(), 1e-12))}
    got = torch.from_numpy(ref[out]).double() * g.nodes[out]["out_scale"]
    want = bd.f[out].double()
    d = (got - want).abs()
    errs["__output__"] = {"op": "graph output vs the float model (weights and activations "
                          "quantised)", "max_abs": float(d.max()),
                          "rms": float(d.pow(2).mean().sqrt()),
                          "rms_rel": float(d.pow(2).mean().sqrt() / max(
                              want.pow(2).mean().sqrt(), 1e-12))}
    return errs


def build_transformer(name: str, *, weight_bits: int = 8, seed: int = 0, sample: bool = False,
                      batch: int = 1, tokens: int = 128, dim: int | None = None,
                      heads: int | None = None, ffn: int | None = None, depth: int = 12,
                      phase: str = "prefill") -> nx.DiGraph:
    """The validated integer graph of ``name`` (``decoder_block`` or ``vit_tiny``)."""
    if name not in TRANSFORMERS:
        raise KeyError(f"unknown transformer {name!r}; choose one of {TRANSFORMERS}")
    if not 2 <= int(weight_bits) <= 16:
        raise ValueError(f"weight_bits must be in 2..16, got {weight_bits!r}")
    if phase not in ("prefill", "decode"):
        raise ValueError(f"phase must be 'prefill' or 'decode', got {phase!r}")
    gen = torch.Generator().manual_seed(int(seed))
    if name == "decoder_block":
        dim, heads = dim or 256, heads or 4
        ffn = ffn or 16 * math.ceil(8 * dim / 3 / 16)
        if dim % heads:
            raise ValueError(f"dim {dim} must be a multiple of heads {heads}")
        label = f"decoder_block_{phase}_T{tokens}"
        bd = _Builder(label, weight_bits, seed)
        ins, outs, x_f, out = _decoder(bd, gen, batch, int(tokens), dim, heads, ffn, phase)
        info = {"dim": dim, "heads": heads, "ffn": ffn, "tokens": int(tokens), "phase": phase,
                "batch": batch}
    else:
        dim, heads, ffn = dim or 192, heads or 3, ffn or 768
        from workloads import data

        images = data.load_foolbox_cifar10(batch)[0].float()
        bd = _Builder("vit_tiny", weight_bits, seed)
        ins, outs, x_f, out = _vit(bd, gen, images, dim, heads, ffn, int(depth))
        info = {"dim": dim, "heads": heads, "ffn": ffn, "depth": int(depth), "tokens": 64,
                "patch": 4, "batch": batch}
    g = bd.finish(ins, outs, {"transformer": info, "weights": f"random-init (seed {seed})",
                              "weights_source": f"random init (seed {seed})"})
    if sample:
        x_int = np.asarray(torch.clamp(torch.round(x_f.double() / bd.s[ins[0]]),
                                       g.nodes[ins[0]]["out_lo"],
                                       g.nodes[ins[0]]["out_hi"]).long().numpy())
        attach_reference(g, x_int, "the calibration input (random hidden states)"
                         if name == "decoder_block" else "foolbox cifar10 test images")
        g.graph["float_error"] = _float_errors(bd, g, out)
    return g
