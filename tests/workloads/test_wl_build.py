"""workloads.build options: calibration folder/tensor, checkpoints, small nets, samples."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import workloads
from archsim.graph.ir import validate_workload
from workloads.data import load_digits
from workloads.models import zoo_model


def _cifar_folder(tmp_path, n=16):
    raw = np.random.default_rng(0).integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    np.concatenate([labels[:, None], raw], axis=1).tofile(tmp_path / "test_batch.bin")
    return tmp_path


def test_calibration_from_a_cifar_batches_folder_and_a_tensor(tmp_path):
    folder = _cifar_folder(tmp_path)
    g = workloads.build("vgg11", calib=folder)
    assert "test_batch" in g.graph["calib_source"] and g.graph["batch"] == 1
    h = workloads.build("vgg11", calib=torch.rand(4, 3, 32, 32))
    assert h.graph["calib_source"] == "user tensor (4 images)"
    assert g.nodes["features_0"]["out_scale"] != h.nodes["features_0"]["out_scale"]
    with pytest.raises(ValueError, match="calib"):
        workloads.build("vgg11", calib=3)


def test_checkpoint_weights_are_used(tmp_path):
    path = tmp_path / "vgg11.pt"
    torch.save(zoo_model("vgg11", 7).state_dict(), path)
    g = workloads.build("vgg11", checkpoint=path)
    assert g.graph["weights_source"] == f"checkpoint {path}"
    assert "random init" in workloads.build("vgg11").graph["weights_source"]
    assert np.array_equal(
        g.nodes["classifier"]["weight"],
        workloads.build("vgg11", seed=3, checkpoint=path).nodes["classifier"]["weight"],
    )


def test_small_net_graph_with_sample(tmp_path):
    g = workloads.build("smallvgg", sample=3)
    validate_workload(g)
    assert g.graph["sample_input"].shape == (3, 1, 8, 8) and g.graph["batch"] == 3
    assert g.graph["sample_source"].startswith("sklearn digits test split")
    assert all("ref_output" in a for _, a in g.nodes(data=True))
    assert g.graph["pruning"] == "none (dense)" and g.graph["test_accuracy_int"] >= 0.95
    convs = [n for n, a in g.nodes(data=True) if a["op"] == "conv"]
    assert len(convs) == 4 and all(g.nodes[c]["out_lo"] == 0 for c in convs)


@pytest.mark.slow
def test_lottery_ticket_build_and_mnist_build():
    g = workloads.build("lenet", sparsity=0.9, sample=2)
    assert g.graph["pruning"].startswith("lottery ticket (IMP")
    assert g.graph["sparsity_achieved"] >= 0.9
    assert g.graph["test_accuracy_int"] >= 0.9
    m = workloads.build("lenet5", sample=2)
    assert m.graph["sample_input"].shape == (2, 1, 28, 28)
    assert m.graph["test_accuracy_int"] >= 0.9


@pytest.mark.slow
def test_digits_loader_equals_sklearn():
    from sklearn.datasets import load_digits as sk

    d = sk()
    x, y = load_digits()
    assert np.array_equal(y.numpy(), d.target)
    assert np.array_equal(np.rint(x.numpy()[:, 0] * 255), np.rint(d.images * 255 / 16))
