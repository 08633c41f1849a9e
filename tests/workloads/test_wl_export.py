"""Exported zoo graphs: integer agreement (fake-quant == torch reference == archsim.graph.ops),
quantisation error bounds, dependencies, MAC counts, round trip, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import workloads
from archsim.graph.ir import load_workload, save_workload, validate_workload
from archsim.graph.ops import run_graph
from tests.test_graph import assert_same_graph
from workloads.quant import fold_bn
from workloads.reference import reference_outputs

ZOO = ["vgg11", "vgg19", "resnet18", "resnet34", "googlenet"]


@pytest.fixture(scope="module")
def built():
    cache = {}

    def get(name, sparsity=0.0, sample=1):
        key = (name, sparsity, sample)
        if key not in cache:
            cache[key] = workloads.build_quantized(name, sparsity=sparsity, sample=sample)
        return cache[key]

    return get


@pytest.mark.parametrize("name", ZOO)
def test_reference_equals_fake_quant_and_archsim_ops(built, name):
    g, qm = built(name, sample=2 if name == "resnet18" else 1)
    x = g.graph["sample_input"]
    assert x.dtype == np.int64 and x.min() >= 0 and x.max() <= 255
    fq = qm.forward_int(torch.from_numpy(x))
    ops_out = run_graph(g, x)
    assert set(fq) == set(g.nodes) == set(ops_out)
    for n in g.nodes:
        ref = g.nodes[n]["ref_output"]
        assert np.array_equal(fq[n].numpy(), ref), f"fake-quant differs at {n}"
        assert np.array_equal(ops_out[n], ref), f"archsim.graph.ops differs at {n}"
    # the dequantised output tracks the float model (random-init nets amplify rounding noise,
    # so the bound is relative; trained small nets are checked tighter in test_wl_quant)
    out = g.graph["outputs"][0]
    with torch.no_grad():
        fl = qm.lowered.gm(torch.from_numpy(x).double().float() / 255).double().numpy()
    deq = g.nodes[out]["ref_output"] * g.nodes[out]["out_scale"]
    assert np.sqrt(((deq - fl) ** 2).mean()) <= 0.25 * np.sqrt((fl**2).mean())


@pytest.mark.parametrize("name", ["vgg11", "resnet18", "googlenet"])
def test_each_layer_is_within_a_quantisation_step_of_float(built, name):
    """Given the exact integer input, a conv/linear output is the float result rounded: within
    0.5 step of float with the quantised weights, within a few steps of the unquantised ones."""
    g, qm = built(name)
    for lay in qm.lowered.layers:
        if lay.op not in ("conv", "linear"):
            continue
        a = g.nodes[lay.name]
        p = g.nodes[a["inputs"][0]]
        x = torch.from_numpy(p["ref_output"]).double() * p["out_scale"]
        s, lo, hi = a["out_scale"], a["out_lo"] * a["out_scale"], a["out_hi"] * a["out_scale"]
        wq = torch.from_numpy(
            a["weight"] * a["w_scale"].reshape((-1,) + (1,) * (a["weight"].ndim - 1))
        )
        bq = torch.from_numpy(a["bias"] * a["w_scale"] * p["out_scale"])
        w, b = (torch.from_numpy(t) for t in fold_bn(lay))
        got = torch.from_numpy(a["ref_output"]).double() * s
        for ww, bb, tol in ((wq, bq, 0.5 + 1e-6), (w, b, 3.0)):
            if lay.op == "conv":
                f = F.conv2d(x, ww, bb, a["stride"], a["padding"], 1, a["groups"])
            else:
                f = x @ ww.T + bb
            err = float((got - f.clamp(lo, hi)).abs().max()) / s
            assert err <= tol, f"{name}.{lay.name}: {err:.3f} steps"


def test_resnet_adds_depend_on_block_input_or_shortcut(built):
    g, _ = built("resnet18")
    adds = [n for n in g.nodes if g.nodes[n]["op"] == "add"]
    assert len(adds) == 8
    for n in adds:
        preds = list(g.predecessors(n))
        assert len(preds) == 2 and len(g.nodes[n]["inputs"]) == 2
        main, short = g.nodes[n]["inputs"]
        assert g.nodes[main]["op"] == "conv" and main.endswith("conv2")
        assert g.nodes[short]["op"] == "relu" or "shortcut" in short
        assert g.nodes[n]["out_lo"] == 0  # the ReLU after the add is folded in
        (succ,) = g.successors(n)
        assert g.nodes[succ]["op"] == "relu"
    assert sum("shortcut" in n for n in g.nodes) == 3


def test_googlenet_concats_join_four_branches(built):
    g, _ = built("googlenet")
    cats = [n for n in g.nodes if g.nodes[n]["op"] == "concat"]
    assert len(cats) == 9
    for n in cats:
        ins = g.nodes[n]["inputs"]
        assert len(ins) == 4 and all(g.nodes[i]["op"] == "relu" for i in ins)
        c = sum(g.nodes[i]["out_shape"][1] for i in ins)
        assert g.nodes[n]["out_shape"][1] == c
    a3 = g.nodes["a3_b1_0"]
    assert a3["op"] == "conv" and a3["inputs"] == ["pre_layers_2"]
    users = sorted(g.nodes[n]["op"] for n in g.successors("maxpool"))
    assert users == ["conv", "conv", "conv", "maxpool"]  # a4's four branches read the pool


@pytest.mark.parametrize("name, sparsity", [("vgg11", 0.9), ("resnet18", 0.5)])
def test_nonzero_macs_follow_masks_and_sparsity(built, name, sparsity):
    g, _ = built(name, sparsity)
    tot_w = tot_nz = 0
    for _, a in g.nodes(data=True):
        if a["op"] not in ("conv", "linear"):
            continue
        pix = a["macs_dense"] // a["weight"].size
        assert a["macs_nonzero"] == pix * int(a["mask"].sum())
        assert np.array_equal(a["mask"], a["weight"] != 0)
        tot_w, tot_nz = tot_w + a["weight"].size, tot_nz + int(a["mask"].sum())
    achieved = 1 - tot_nz / tot_w
    assert sparsity <= achieved <= sparsity + 0.01
    assert g.graph["sparsity"] == sparsity
    assert g.graph["pruning"] == "one-shot per-layer magnitude"
    assert g.graph["macs_nonzero"] < g.graph["macs_dense"]
    assert g.graph["empty_layers"] == [] and g.graph["weights"] == "random-init (seed 0)"
    for n, a in g.nodes(data=True):  # per layer: each keeps floor((1 - s) n), none emptied
        if a["op"] in ("conv", "linear"):
            assert a["empty"] is False
            assert 1 - a["mask"].sum() / a["mask"].size >= sparsity, n


def test_global_pruning_warns_naming_emptied_layers():
    import warnings

    from torch import nn

    from workloads.zoo import EmptyLayerWarning, _prune

    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 4))
    with torch.no_grad():
        m[1].weight.mul_(1e-3)  # all of layer 1 below every weight of layer 0
    with pytest.warns(EmptyLayerWarning, match=r"emptied 1 layer\(s\): 1$"):
        assert _prune(m, 0.5, "global") == "one-shot global magnitude"
    assert not m[1].weight.any()
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 4))
    with torch.no_grad():
        m[1].weight.mul_(1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _prune(m, 0.99, "layer") == "one-shot per-layer magnitude"
    assert int((m[1].weight != 0).sum()) == 1 and int((m[0].weight != 0).sum()) == 1
    with pytest.raises(ValueError, match="prune must be one of"):
        _prune(m, 0.5, "channel")


def test_weights_are_sign_magnitude_9_bit_and_scales_positive(built):
    g, _ = built("vgg11")
    for _, a in g.nodes(data=True):
        if a["op"] in ("conv", "linear"):
            assert np.abs(a["weight"]).max() == 255 and a["weight"].min() >= -255
            assert (a["w_scale"] > 0).all() and a["weight_bits"] == 9 and a["act_bits"] == 8


def test_save_load_round_trip_of_a_built_graph(built, tmp_path):
    g, _ = built("resnet18", sample=2)
    save_workload(g, tmp_path / "r18")
    h = load_workload(tmp_path / "r18")
    validate_workload(h)
    assert_same_graph(g, h)


def test_build_is_deterministic(built):
    g, _ = built("resnet18", 0.5)
    h = workloads.build("resnet18", sparsity=0.5, sample=1)
    assert_same_graph(g, h)
    k = workloads.build("resnet18", sparsity=0.5, seed=1)
    assert not np.array_equal(k.nodes["conv1"]["weight"], g.nodes["conv1"]["weight"])


def test_reference_rejects_a_wrong_input_shape(built):
    g, _ = built("vgg11")
    with pytest.raises(ValueError, match="input shape"):
        reference_outputs(g, np.zeros((3, 3, 32, 32), dtype=np.int64))


def test_build_argument_errors():
    with pytest.raises(KeyError, match="unknown workload"):
        workloads.build("alexnet")
    with pytest.raises(ValueError, match="sparsity"):
        workloads.build("vgg11", sparsity=1.0)
    assert set(ZOO) <= set(workloads.names()) and {"lenet", "smallvgg"} <= set(workloads.names())
