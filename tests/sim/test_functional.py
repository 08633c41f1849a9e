"""Functional mode: real integers through every simulated task equal the PyTorch reference.

Every node's assembled output is compared with ``ref_output``, which workloads.reference
computes in torch from the same integer tensors.  Covered: 1, 4 and 16 tiles x os/ws/is x
every mapping strategy, on real inputs (digits for the small net, foolbox's CIFAR-10 test
images for ResNet-18 / GoogLeNet).
"""

import pytest

import archsim
from archsim.design.arch import load_arch

MAPPINGS = ["layer:out_channels", "layer:out_pixels", "layer", "pipeline"]


@pytest.fixture(scope="module")
def smallvgg():
    import workloads

    return workloads.build("smallvgg", sparsity=0.0, seed=0, sample=2)


@pytest.fixture(scope="module")
def resnet18():
    import workloads

    return workloads.build("resnet18", sparsity=0.9, seed=0, sample=1)


@pytest.mark.parametrize("mapping", MAPPINGS)
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("arch", ["lutna_1x1", "lutna_2x2", "lutna_4x4"])
def test_smallvgg_every_dataflow_mapping_and_tile_count(smallvgg, arch, dataflow, mapping):
    res = archsim.simulate(arch, smallvgg, dataflow=dataflow, mapping=mapping, functional=True)
    f = res.functional
    assert f["reference"].startswith("torch"), f["reference"]
    assert f["exact_match"], f
    assert f["max_abs_diff"] == 0
    assert f["nodes_checked"] == smallvgg.number_of_nodes()


@pytest.mark.parametrize("kind", ["mac", "lut", "lutna"])
def test_exact_kinds_on_resnet18(resnet18, kind):
    arch = load_arch("lutna_2x2").with_overrides({
        "tile.pe_array.pe_kind": kind,
        "tile.pe_array.pe_params": {"act_bits": 8, "weight_bits": 9},
        "tile.lut_banks.count": 0 if kind == "mac" else 4,
    })
    res = archsim.simulate(arch, resnet18, dataflow="ws", mapping="layer", functional=True)
    assert res.functional["exact_match"], res.functional


@pytest.mark.parametrize("mapping", ["layer:out_channels", "layer:out_pixels", "pipeline"])
def test_resnet18_sixteen_tiles(resnet18, mapping):
    res = archsim.simulate("lutna_4x4", resnet18, dataflow="os", mapping=mapping,
                           functional=True)
    assert res.functional["exact_match"], res.functional
    # the residual adds really consumed two producers
    adds = [n for n in resnet18.nodes if resnet18.nodes[n]["op"] == "add"]
    assert adds and all(len(resnet18.nodes[n]["inputs"]) == 2 for n in adds)


def test_approximate_kind_is_reported_not_hidden(smallvgg):
    arch = load_arch("lutna_1x1").with_overrides({
        "tile.pe_array.pe_kind": "alutna",
        "tile.pe_array.pe_params": {"act_bits": 8, "weight_bits": 9, "approx": "keep_hh"},
    })
    res = archsim.simulate(arch, smallvgg, dataflow="ws", functional=True)
    f = res.functional
    assert not f["pe_exact"]
    assert not f["exact_match"] and f["max_abs_diff"] > 0


def test_functional_needs_real_inputs(tmp_path):
    from .helpers import gemm_csv

    with pytest.raises(ValueError, match="no sample_input"):
        archsim.simulate("scalesim_16x16", str(gemm_csv(tmp_path, [("g", 4, 4, 4)])),
                         functional=True)


@pytest.mark.slow
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("mapping", MAPPINGS)
def test_googlenet_branches_sixteen_tiles(dataflow, mapping):
    import workloads

    g = workloads.build("googlenet", sparsity=0.5, seed=0, sample=1)
    res = archsim.simulate("lutna_4x4", g, dataflow=dataflow, mapping=mapping, functional=True)
    assert res.functional["exact_match"], res.functional
