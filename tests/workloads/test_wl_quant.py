"""Quantisation scheme, BN/ReLU folding, trained small nets, bit sweep, generic fx export."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import workloads
from archsim.graph.ops import run_graph
from workloads.data import digits_split
from workloads.export import to_workload
from workloads.lower import UnsupportedOpError, lower
from workloads.quant import QuantizationError, baseline_bits, bit_sweep, fixed_point, fold_bn
from workloads.small import small_model


@pytest.fixture(scope="module")
def lenet():
    return workloads.build_quantized("lenet", sample=4)


@pytest.mark.parametrize("bits", [8, 9])
def test_weights_are_symmetric_per_channel(bits):
    x = digits_split()[0][:32]
    g, _ = to_workload(small_model("smallvgg", 0), x, "s", weight_bits=bits)
    q = 2 ** (bits - 1) - 1
    for _, a in g.nodes(data=True):
        if a["op"] in ("conv", "linear"):
            per_ch = np.abs(a["weight"].reshape(len(a["weight"]), -1)).max(axis=1)
            assert (per_ch == q).all() and a["weight"].min() >= -q and a["weight_bits"] == bits


def test_bn_folding_is_exact_in_float():
    torch.manual_seed(0)
    conv, bn = nn.Conv2d(3, 5, 3, padding=1), nn.BatchNorm2d(5)
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.uniform_(-1, 1)
    model = nn.Sequential(conv, bn).eval()
    low = lower(model, torch.zeros(1, 3, 8, 8))
    (layer,) = [lay for lay in low.layers if lay.op == "conv"]
    assert layer.bn is bn
    w, b = fold_bn(layer)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    want = model.double()(x)
    got = F.conv2d(x, torch.from_numpy(w), torch.from_numpy(b), padding=1)
    assert torch.allclose(got, want, atol=1e-12)


def test_relu_is_folded_and_activations_are_unsigned_after_it(lenet):
    g, _ = lenet
    a = g.nodes
    assert a["conv1"]["out_lo"] == 0 and a["conv1"]["out_hi"] == 255
    assert a["relu"]["inputs"] == ["conv1"] and a["relu"]["out_scale"] == a["conv1"]["out_scale"]
    # logits: signed, symmetric (sign-magnitude friendly)
    assert a["fc2"]["out_lo"] == -127 and a["fc2"]["out_hi"] == 127
    assert a["x"]["out_scale"] == 1 / 255 and g.graph["sample_input"].max() <= 255
    for _, _, e in g.edges(data=True):
        assert e["bytes"] == int(np.prod(e["shape"]))  # 8-bit everywhere


def test_trained_small_net_integer_model_matches_float(lenet):
    g, qm = lenet
    assert g.graph["test_accuracy_float"] >= 0.95
    assert abs(g.graph["test_accuracy_int"] - g.graph["test_accuracy_float"]) <= 0.01
    xte = digits_split()[2]
    with torch.no_grad():
        fl = qm.lowered.gm(xte).double().numpy()
    deq = qm(xte).numpy()
    s = g.nodes["fc2"]["out_scale"]
    assert np.abs(deq - fl).mean() <= 1.0 * s  # within one output step on average
    assert (deq.argmax(1) == fl.argmax(1)).mean() >= 0.99
    ref = g.nodes["fc2"]["ref_output"]
    assert np.array_equal(
        ref, qm.forward_int(torch.from_numpy(g.graph["sample_input"]))["fc2"].numpy()
    )


def test_bit_sweep_writes_csv_and_8_bits_reach_baseline(tmp_path):
    rows = bit_sweep(tmp_path / "sweep.csv", bits=[4, 8], act_bits=[4, 8])
    with open(tmp_path / "sweep.csv") as f:
        back = list(csv.DictReader(f))
    assert len(back) == 4 and {int(r["weight_bits"]) for r in back} == {4, 8}
    r88 = next(r for r in rows if r["weight_bits"] == 8 and r["act_bits"] == 8)
    assert r88["int_accuracy"] >= r88["float_accuracy"] - 0.005
    assert baseline_bits(rows) in (4, 8)


def test_fixed_point_refuses_overflow():
    mult, shift = fixed_point(np.array([0.001, 0.0005]), 10**6, "t")
    assert abs(mult[0] / 2**shift - 0.001) < 1e-9 and mult.dtype == np.int64
    with pytest.raises(QuantizationError, match="no room"):
        fixed_point(np.array([0.5]), 2**58, "t")


class Branchy(nn.Module):
    """Every supported op form: functional and module pools, views, +=, cat, dropout, ..."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4)), nn.ReLU()
        )
        self.a = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.b = nn.Conv2d(4, 4, 1, groups=2)
        self.drop = nn.Dropout(0.3)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, 6)
        self.fc2 = nn.Linear(6, 3)
        self.flat = nn.Flatten()

    def forward(self, x):
        x = self.stem(x)
        y = self.a(x)
        y += self.b(x)
        y = torch.relu(y)
        z = F.max_pool2d(y, 2)
        w = F.avg_pool2d(y, 2)
        c = torch.cat([z, w.relu()], dim=1)
        c = self.drop(c)
        p = F.adaptive_avg_pool2d(c, 2)
        q = torch.add(p, p)
        q = q.view(q.size(0), -1)
        r = self.fc(q)
        s = self.flat(self.pool(c))
        return self.fc2(F.relu(r)), torch.flatten(s, 1)


def test_generic_module_exports_and_agrees_everywhere():
    torch.manual_seed(0)
    model = Branchy().eval()
    x = digits_split()[0][:16]
    g, qm = to_workload(model, x, "branchy", example=x[:2])
    ops = {a["op"] for _, a in g.nodes(data=True)}
    assert ops == {
        "input",
        "conv",
        "relu",
        "add",
        "maxpool",
        "avgpool",
        "concat",
        "flatten",
        "linear",
    }
    assert g.nodes["b"]["groups"] == 2
    assert g.nodes["add"]["inputs"] == ["a", "b"]
    assert g.nodes["add_1"]["inputs"] == ["adaptive_avg_pool2d"] * 2
    assert len(g.graph["outputs"]) == 2
    xi = qm.quantize_input(x[:2])
    fq = qm.forward_int(xi)
    out = run_graph(g, xi.numpy())
    for n in g.nodes:
        assert np.array_equal(out[n], fq[n].numpy()), n
    ref = workloads.reference_outputs(g, xi.numpy())
    assert all(np.array_equal(ref[n], out[n]) for n in g.nodes)


class Exp(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        return torch.exp(self.conv(x))


class ScalarAdd(nn.Module):
    def forward(self, x):
        return x + 1


class ScalarMul(nn.Module):
    def forward(self, x):
        return x * 2.0


class Softmax(nn.Module):
    def __init__(self):
        super().__init__()
        self.act = nn.Softmax(dim=1)

    def forward(self, x):
        return self.act(x)


class TensorClamp(nn.Module):
    def forward(self, x):
        return torch.clamp(x, x.mean(), 1.0)


class ReflectPad(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")

    def forward(self, x):
        return self.conv(x)


@pytest.mark.parametrize(
    "model, node, what",
    [
        (Exp(), "exp", "function is not supported"),
        (ScalarAdd(), "add", "constant"),
        (ScalarMul(), "mul", "constant"),
        (Softmax(), "act", "Softmax"),
        (TensorClamp(), "mean", "mean over dims"),
        (ReflectPad(), "conv", "padding mode"),
    ],
)
def test_unsupported_op_raises_naming_the_node(model, node, what):
    with pytest.raises(UnsupportedOpError, match=rf"fx node '{node}'.*{what}"):
        to_workload(model, torch.rand(2, 1, 8, 8), "bad")


def test_small_net_build_is_deterministic(lenet):
    from tests.test_graph import assert_same_graph

    assert_same_graph(lenet[0], workloads.build("lenet", sample=4))
