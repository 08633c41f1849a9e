"""Small networks that train in seconds on real data, and their training loop.

Inputs: images (N, 1, 8, 8) sklearn digits or (N, 1, 28, 28) MNIST in [0, 1].
Outputs:
    LeNet        8x8 digits: conv3x3(6)-pool-conv3x3(16)-pool-fc64-fc10     (~47 k MACs)
    SmallVGG     8x8 digits: 2x[conv3x3-BN-ReLU]x16, pool, 2x[...]x32, pool, fc10 (~0.4 M MACs)
    LeNet5       28x28 MNIST: conv5x5(6)-pool-conv5x5(16)-pool-fc120-fc84-fc10 (~0.4 M MACs)
    SMALL        {name: (constructor, dataset name)}
    TRAIN_CFG    {name: epochs, lr, batch} used by ``workloads.build``
    small_model(name, seed) -> seeded, eval-mode model
    train(model, x, y, epochs, ...) -> model (Adam, seeded shuffling; optional masks keep
                                     pruned weights at zero; optional callback per step)
    accuracy(model, x, y) -> float in [0, 1]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LeNet(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 2 * 2, 64)
        self.fc2 = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


class SmallVGG(nn.Module):
    def __init__(self, num_classes: int = 10, width: int = 16):
        super().__init__()
        w = width

        def cbr(i, o):
            return [
                nn.Conv2d(i, o, 3, padding=1, bias=False),
                nn.BatchNorm2d(o),
                nn.ReLU(inplace=True),
            ]

        self.features = nn.Sequential(
            *cbr(1, w),
            *cbr(w, w),
            nn.MaxPool2d(2),
            *cbr(w, 2 * w),
            *cbr(2 * w, 2 * w),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(2 * w * 2 * 2, num_classes)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.view(x.size(0), -1))


class LeNet5(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        return self.fc3(F.relu(self.fc2(x)))


# training hyper-parameters used by workloads.build and the bit sweep (seconds on one core)
TRAIN_CFG = {
    "lenet": {"epochs": 20, "lr": 2e-2, "batch": 128},
    "smallvgg": {"epochs": 10, "lr": 3e-3, "batch": 64},
    "lenet5": {"epochs": 6, "lr": 3e-3, "batch": 64},
}

SMALL = {"lenet": (LeNet, "digits"), "smallvgg": (SmallVGG, "digits"), "lenet5": (LeNet5, "mnist")}


def small_model(name: str, seed: int = 0) -> nn.Module:
    """A freshly initialised small net (eval mode), deterministic for ``seed``."""
    if name not in SMALL:
        raise KeyError(f"unknown small model {name!r}; choose one of {sorted(SMALL)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SMALL[name][0]()
    return model.eval()


def apply_masks(model: nn.Module, masks: dict) -> None:
    """Zero the parameters named in ``masks`` where the mask is False."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, m in masks.items():
            params[name].mul_(m.to(params[name].dtype))


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int = 20,
    lr: float = 3e-3,
    batch: int = 64,
    seed: int = 0,
    masks: dict | None = None,
    on_step=None,
    weight_decay: float = 0.0,
) -> nn.Module:
    """Train with Adam and seeded shuffling; ``masks`` keep pruned weights at zero.

    ``on_step(iteration, model)`` is called after every optimiser step (iteration from 1).
    Returns the model in eval mode.
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    it = 0
    if masks:
        apply_masks(model, masks)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            if masks:
                apply_masks(model, masks)
            it += 1
            if on_step is not None:
                on_step(it, model)
        sched.step()
    return model.eval()


@torch.no_grad()
def accuracy(model, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> float:
    """Top-1 accuracy of ``model`` (anything callable on a batch) on (x, y)."""
    if hasattr(model, "eval"):
        model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += int((model(x[i : i + batch]).argmax(dim=1) == y[i : i + batch]).sum())
    return correct / max(1, len(x))
