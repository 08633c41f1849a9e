"""Transformer blocks from a user's module: torch.fx lowering of token tensors, heads, products
of two activations, softmax, norms; three integer implementations agree (fake-quant forward of
the model's own fx graph, torch reference of the graph, numpy / simulated tiles)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import archsim
import workloads
from workloads.export import export_graph
from workloads.lower import UnsupportedOpError, lower
from workloads.quant import quantize
from workloads.reference import reference_outputs

torch.set_num_threads(1)


class Llama(nn.Module):
    """RMSNorm, causal-free attention written with permute / torch.transpose / matmul and a
    constant scale, SwiGLU gating, residual adds."""

    def __init__(self, dim=32, heads=4, ffn=48):
        super().__init__()
        self.h = heads
        self.n1, self.n2 = nn.RMSNorm(dim, eps=1e-5), nn.RMSNorm(dim)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(dim, dim, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(dim, ffn, bias=False), nn.Linear(dim, ffn, bias=False)
        self.down = nn.Linear(ffn, dim, bias=False)

    def forward(self, x):
        b, t, c = x.shape
        d = c // self.h
        h = self.n1(x)
        q = self.wq(h).reshape(b, t, self.h, d).permute(0, 2, 1, 3)
        k = self.wk(h).reshape(b, t, self.h, d).permute(0, 2, 3, 1)
        v = torch.transpose(self.wv(h).view(b, t, self.h, d), 1, 2)
        p = F.softmax(torch.matmul(q, k) * (1.0 / math.sqrt(d)), dim=-1)
        o = torch.matmul(p, v).permute(0, 2, 1, 3).reshape(b, t, c)
        x = x + self.wo(o)
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Single(nn.Module):
    """One head on (B, T, F) with bmm, a division, ReLU on tokens."""

    def __init__(self, dim=16):
        super().__init__()
        self.q, self.k, self.v, self.fc = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x):
        a = torch.bmm(self.q(x), self.k(x).transpose(1, 2)) / 4
        y = torch.bmm(torch.softmax(a, -1), self.v(x))
        return torch.relu(self.fc(y)) + x


def _graph_layout(v: torch.Tensor, shape) -> np.ndarray:
    """A fake-quant tensor in the graph's layout: per-head (B, H, T, n) -> (B, T, H n)."""
    if v.ndim == 4:
        v = v.transpose(1, 2)
    return v.reshape(shape).numpy()


@pytest.fixture(scope="module", params=["llama", "single"])
def exported(request):
    torch.manual_seed(1)
    m, xs = ((Llama(), torch.randn(6, 10, 32)) if request.param == "llama"
             else (Single(), torch.randn(5, 7, 16)))
    m.eval()
    qm = quantize(lower(m, xs[:1]), xs, weight_bits=4)
    return request.param, m, xs, qm, export_graph(qm, request.param)


def test_fake_quant_and_graph_reference_agree_on_every_node(exported):
    _, m, xs, qm, g = exported
    x = qm.quantize_input(xs[:1])
    ref = reference_outputs(g, x.numpy())
    fq = qm.forward_int(x)
    for n in g.nodes:
        assert np.array_equal(ref[n], _graph_layout(fq[n], ref[n].shape)), n
    out = g.graph["outputs"][0]
    with torch.no_grad():
        want = m(xs[:1]).double()
    got = torch.from_numpy(ref[out]).double() * g.nodes[out]["out_scale"]
    assert float((got - want).pow(2).mean().sqrt() / want.pow(2).mean().sqrt()) < 0.1


def test_heads_and_operands_become_graph_attributes(exported):
    name, _, _, _, g = exported
    nodes = g.nodes
    if name == "llama":
        # Q K^T: 4 heads of (10 x 8) x (8 x 10); P V: (10 x 10) x (10 x 8)
        assert (nodes["matmul"]["heads"], nodes["matmul"]["transpose_b"]) == (4, True)
        assert nodes["matmul"]["out_shape"] == (1, 10, 40)
        assert nodes["matmul"]["macs_dense"] == 4 * 10 * 10 * 8
        assert (nodes["matmul_1"]["heads"], nodes["matmul_1"]["transpose_b"]) == (4, False)
        assert nodes["matmul_1"]["macs_dense"] == 4 * 10 * 8 * 10
        assert nodes["softmax"]["segment"] == 10 and nodes["softmax"]["out_lo"] == 0
        assert nodes["n1"]["norm"] == "rms" and nodes["n1"]["beta"] is None
        assert nodes["silu"]["op"] == "table" and nodes["mul_1"]["op"] == "mul"
        assert "x 0.353553" in nodes["matmul"]["source"]  # 1 / sqrt(8) folded in
        assert g.graph["macs_dense"] == 10 * (4 * 32 * 32 + 3 * 32 * 48) + 2 * 3200
    else:
        assert (nodes["bmm"]["heads"], nodes["bmm"]["transpose_b"]) == (1, True)
        assert nodes["bmm_1"]["transpose_b"] is False and nodes["relu"]["out_shape"] == (1, 7, 16)
    sm = [n for n in nodes if nodes[n]["op"] == "softmax"][0]
    pv = [n for n in nodes if nodes[n]["op"] == "matmul" and nodes[n]["inputs"][0] == sm][0]
    assert nodes[pv]["in_signed"] is False and nodes[pv]["in_lo"] == 0  # probabilities


@pytest.mark.parametrize("kind", ["lutna_2x2", "tmac_4x4"])
def test_from_module_runs_functionally_exact(exported, kind):
    name, m, xs, _, _ = exported
    g = workloads.from_module(m, xs, weight_bits=4)
    arch = archsim.load_arch(kind).with_overrides(
        {"tile.pe_array.pe_params": {"weight_bits": 4}})
    r = archsim.simulate(arch, g, functional=True)
    assert r.functional["exact_match"], r.functional["mismatched_nodes"]


class _Bad(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn, self.lin = fn, nn.Linear(8, 8)

    def forward(self, x):
        return self.fn(self, x)


def _heads(s, x):
    return s.lin(x).view(1, 4, 2, 4).transpose(1, 2)


@pytest.mark.parametrize("fn,match", [
    (lambda s, x: torch.softmax(s.lin(x), dim=1), "softmax over dim 1"),
    (lambda s, x: _heads(s, x).reshape(1, 2, 16), "reshape .* of a per-head view"),
    (lambda s, x: s.lin(x).transpose(1, 2) @ s.lin(x), "expected per-head operands"),
    (lambda s, x: _heads(s, x) + 1.0, "add of a tensor and a constant"),
    (lambda s, x: x * 0.5, "constant scale is supported only right after"),
    (lambda s, x: _heads(s, x), "an output of a per-head"),
    (lambda s, x: s.lin(x).transpose(0, 1), "moves the batch dimension"),
])
def test_unsupported_transformer_patterns_name_the_fx_node(fn, match):
    with pytest.raises(UnsupportedOpError, match=match):
        workloads.from_module(_Bad(fn).eval(), torch.randn(2, 4, 8))


def test_norm_over_more_than_the_last_dimension_is_rejected():
    m = nn.Sequential(nn.LayerNorm((4, 8))).eval()
    with pytest.raises(UnsupportedOpError, match="only over the last dimension"):
        workloads.from_module(m, torch.randn(2, 4, 8))
