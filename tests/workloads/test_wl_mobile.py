"""Modern CNN ops and per-layer signedness, exact end to end on real CIFAR-10 images.

MobileNetV2- and EfficientNet-B0-style nets (tiny configurations of the same block types:
inverted residuals, depthwise 3x3 / 5x5, ReLU6, SiLU and sigmoid tables, squeeze-excite),
dilated and depthwise-multiplier convolutions, hardtanh / clamp / hardswish: numpy graph ops,
the torch reference and the fake-quant forward agree bit for bit, and functional runs on 1, 4
and 16 tiles (os / ws / is, LUT-NA and MAC) match the reference exactly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import archsim
import workloads
from archsim.graph.ops import run_graph
from archsim.sim.functional import FunctionalError
from workloads import data
from workloads.mobile import EfficientNetB0, MobileNetV2
from workloads.zoo import _recalibrate_bn

TINY_MBV2 = {"width": 0.25, "cfg": [(1, 8, 1, 1), (4, 12, 2, 2), (4, 16, 2, 2)], "last": 32}
TINY_EFF = {"width": 0.25, "cfg": [(1, 8, 1, 1, 3), (4, 12, 2, 2, 5), (4, 16, 1, 2, 3)],
            "last": 32}


class Odd(nn.Module):
    """Dilation, depthwise multiplier 2, hardtanh, clamp, hardswish, x.mean, gating."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 3, padding=2, dilation=2)
        self.dw = nn.Conv2d(6, 12, 3, padding=1, groups=6)  # channel multiplier 2
        self.c2 = nn.Conv2d(12, 8, 3, stride=2, padding=2, dilation=(2, 1))
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        y = F.hardtanh(self.c1(x), -0.5, 1.0)
        y = torch.clamp(self.dw(y), min=-1.0)
        y = F.hardswish(self.c2(y))
        g = torch.sigmoid(y.mean((2, 3), keepdim=True))
        return self.fc(F.relu6(y * g).mean((2, 3), keepdim=True).flatten(1))


def _graph(make, n_calib=8):
    x = data.load_foolbox_cifar10(n_calib)[0]
    torch.manual_seed(0)
    m = make().eval()
    if any(isinstance(b, nn.BatchNorm2d) for b in m.modules()):
        _recalibrate_bn(m, x)
    g, qm = workloads.to_workload(m, x, type(m).__name__, example=x[:1])
    xi = qm.quantize_input(x[:1])
    workloads.attach_reference(g, xi.numpy(), "foolbox cifar10 test image 0")
    return g, qm, xi


@pytest.fixture(scope="module")
def nets():
    return {
        "mbv2": _graph(lambda: MobileNetV2(**TINY_MBV2)),
        "eff": _graph(lambda: EfficientNetB0(**TINY_EFF)),
        "odd": _graph(Odd),
    }


@pytest.mark.parametrize("net", ["mbv2", "eff", "odd"])
def test_numpy_ops_torch_reference_and_fakequant_agree_bit_for_bit(nets, net):
    g, qm, xi = nets[net]
    out = run_graph(g, xi.numpy())
    fq = qm.forward_int(xi)
    for n in g.nodes:
        assert np.array_equal(out[n], g.nodes[n]["ref_output"]), n
        assert np.array_equal(out[n], fq[n].numpy()), n


def test_exported_ops_and_declared_input_signs(nets):
    ops = {k: {a["op"] for _, a in nets[k][0].nodes(data=True)} for k in nets}
    assert {"clamp", "add", "conv"} <= ops["mbv2"]
    assert {"table", "mul", "add"} <= ops["eff"]
    assert {"clamp", "table", "mul"} <= ops["odd"]
    g = nets["mbv2"][0]
    for n, a in g.nodes(data=True):
        if a["op"] in ("conv", "linear"):
            src = g.nodes[a["inputs"][0]]
            assert (a["in_lo"], a["in_hi"]) == (src["out_lo"], src["out_hi"]), n
            assert a["in_signed"] == (src["out_lo"] < 0)
    signed = [n for n, a in g.nodes(data=True) if a.get("in_signed")]
    unsigned = [n for n, a in g.nodes(data=True) if a.get("in_signed") is False]
    assert signed and unsigned  # projections feed signed layers; ReLU6 outputs unsigned ones
    assert all(g.nodes[n]["in_lo"] == -127 for n in signed)  # symmetric: sign-magnitude fits
    odd = nets["odd"][0]
    assert odd.nodes["c1"]["dilation"] == (2, 2) and odd.nodes["c2"]["dilation"] == (2, 1)
    assert odd.nodes["dw"]["groups"] == 6 and odd.nodes["dw"]["weight"].shape == (12, 1, 3, 3)


def test_timing_run_warns_nothing_and_counts_one_sign_xor_per_signed_lutna_mac(nets):
    g = nets["eff"][0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # without zero gating every issued MAC of a signed layer runs its sign XOR
        arch = archsim.load_arch("lutna_1x1").with_overrides(
            {"tile.sparsity.zero_gating": False})
        r = archsim.simulate(arch, g, dataflow="ws")
    signed = {n for n, a in g.nodes(data=True) if a.get("in_signed")}
    want = sum(l.macs_executed for l in r.layers if l.node in signed)
    assert want > 0 and r.actions["tile0.pe_array.sign"] == want
    assert "tile0.pe_array.sign" in r.energy.by_action_pj  # priced
    m = archsim.simulate("mac_1x1", g, dataflow="ws")
    assert not any(str(k).endswith(".sign") for k in m.actions)  # signed multiplier: no extra op


@pytest.mark.parametrize("arch, dataflow", [("lutna_1x1", "os"), ("mac_2x2", "ws"),
                                            ("lutna_4x4", "is")])
def test_functional_exact_small_matrix(nets, arch, dataflow):
    for net in ("mbv2", "eff"):
        f = archsim.simulate(arch, nets[net][0], dataflow=dataflow, functional=True).functional
        assert f["exact_match"] and f["nodes_checked"] == len(nets[net][0]), (net, f)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lutna", "mac"])
@pytest.mark.parametrize("grid", ["1x1", "2x2", "4x4"])
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("net", ["mbv2", "eff", "odd"])
def test_functional_exact_full_matrix(nets, net, dataflow, grid, kind):
    f = archsim.simulate(f"{kind}_{grid}", nets[net][0], dataflow=dataflow,
                         functional=True).functional
    assert f["exact_match"], f


def test_functional_dilated_and_multiplier_convs_exact_on_tiles(nets):
    f = archsim.simulate("lutna_2x2", nets["odd"][0], dataflow="os", functional=True).functional
    assert f["exact_match"], f


def test_input_outside_declared_range_names_the_node(nets):
    g = nets["mbv2"][0].copy()
    x = g.graph["sample_input"].copy()
    x[0, 0, 0, 0] = 300  # the first conv declares 0..255
    g.graph["sample_input"] = x
    first = next(n for n, a in g.nodes(data=True) if a["op"] == "conv")
    with pytest.raises(FunctionalError, match=rf"node '{first}' \(conv\): input values span "
                       r"\[\d+, 300\], outside the declared input range \[0, 255\]"):
        archsim.simulate("lutna_1x1", g, functional=True)


def test_monolithic_lut_rejects_a_signed_layer_naming_it(nets):
    g = nets["mbv2"][0]
    archsim.simulate("lutna_1x1", g, dataflow="os")  # timing only: nothing wrong, no error
    from archsim.design.arch import load_arch

    arch = load_arch("lutna_1x1").with_overrides(
        {"tile.pe_array.pe_kind": "lut", "tile.pe_array.pe_params": {}})
    archsim.simulate(arch, g, dataflow="os")
    signed = [n for n in archsim.graph.ir.topo_order(g) if g.nodes[n].get("in_signed")]
    with pytest.raises(FunctionalError, match=rf"node '{signed[0]}' \(conv\): PE kind lut"):
        archsim.simulate(arch, g, dataflow="os", functional=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenetv2", "efficientnet_b0"])
def test_full_size_zoo_mobile_nets_functional_exact(name):
    g = workloads.build(name, sample=1)
    assert g.graph["weights"] == "random-init (seed 0)"
    for arch in ("lutna_4x4", "mac_4x4"):
        f = archsim.simulate(arch, g, dataflow="os", functional=True).functional
        assert f["exact_match"], (arch, f)


def test_run_reports_state_the_weights_source(nets, tmp_path):
    import json

    from archsim.report.run_folder import write_run

    g = nets["mbv2"][0].copy()
    g.graph["weights"] = "random-init (seed 0)"
    d = write_run(archsim.simulate("mac_1x1", g), tmp_path / "r", plots=False)
    s = json.loads((d / "summary.json").read_text())
    assert s["workload_info"]["weights"] == "random-init (seed 0)"
    md = (d / "summary.md").read_text()
    assert "- weights: **random-init (seed 0)** -- not trained" in md
