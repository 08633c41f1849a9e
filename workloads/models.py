"""CIFAR-10 model zoo in the layer shapes of the widely used kuangliu/pytorch-cifar models.

Written here (no torchvision). Inputs are 3x32x32 images in [0, 1] (pixels / 255); there is
no normalisation layer, so a checkpoint trained with mean/std normalisation needs that folded
into its first conv by the user. Dense conv+linear MACs at batch 1:

    vgg11 152.8 M, vgg19 398.1 M, resnet18 555.4 M, resnet34 1,159.4 M, googlenet 1,521.8 M
    mobilenetv2 and efficientnet_b0 (CIFAR-style, workloads.mobile): see test_wl_models

Inputs: a model name and a seed. Outputs:
    zoo_model(name, seed=0) -> nn.Module in eval mode, initialised under ``torch.manual_seed(seed)``
                               inside a forked RNG (the global torch RNG is left untouched)
    ZOO                     -> {name: constructor}
    VGG, ResNet, BasicBlock, GoogLeNet, Inception classes
State-dict keys match kuangliu's, so its checkpoints load directly (see ``load_checkpoint``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archsim.errors import WorkloadError

VGG_CFG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        "M",
    ],
    "vgg19": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
}


class VGG(nn.Module):
    """kuangliu VGG: conv3x3-BN-ReLU stacks, max-pools, a 1x1 avg-pool, one Linear(512, 10)."""

    def __init__(self, cfg_name: str = "vgg11", num_classes: int = 10):
        super().__init__()
        self.features = self._make_layers(VGG_CFG[cfg_name])
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x):
        out = self.features(x)
        out = out.view(out.size(0), -1)
        return self.classifier(out)

    @staticmethod
    def _make_layers(cfg):
        layers = []
        in_channels = 3
        for x in cfg:
            if x == "M":
                layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
            else:
                layers += [
                    nn.Conv2d(in_channels, x, kernel_size=3, padding=1),
                    nn.BatchNorm2d(x),
                    nn.ReLU(inplace=True),
                ]
                in_channels = x
        layers += [nn.AvgPool2d(kernel_size=1, stride=1)]
        return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class ResNet(nn.Module):
    """kuangliu ResNet for CIFAR: 3x3 stem, four stages, avg_pool2d(4), Linear(512, 10)."""

    def __init__(self, num_blocks, num_classes: int = 10):
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._make_layer(64, num_blocks[0], stride=1)
        self.layer2 = self._make_layer(128, num_blocks[1], stride=2)
        self.layer3 = self._make_layer(256, num_blocks[2], stride=2)
        self.layer4 = self._make_layer(512, num_blocks[3], stride=2)
        self.linear = nn.Linear(512, num_classes)

    def _make_layer(self, planes, num_blocks, stride):
        layers = []
        for s in [stride] + [1] * (num_blocks - 1):
            layers.append(BasicBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer1(out)
        out = self.layer2(out)
        out = self.layer3(out)
        out = self.layer4(out)
        out = F.avg_pool2d(out, 4)
        out = out.view(out.size(0), -1)
        return self.linear(out)


def _cbr(cin, cout, k, padding=0):
    return [
        nn.Conv2d(cin, cout, kernel_size=k, padding=padding),
        nn.BatchNorm2d(cout),
        nn.ReLU(True),
    ]


class Inception(nn.Module):
    """Four branches (1x1; 1x1-3x3; 1x1-3x3-3x3; maxpool-1x1) concatenated on channels."""

    def __init__(self, in_planes, n1x1, n3x3red, n3x3, n5x5red, n5x5, pool_planes):
        super().__init__()
        self.b1 = nn.Sequential(*_cbr(in_planes, n1x1, 1))
        self.b2 = nn.Sequential(*_cbr(in_planes, n3x3red, 1), *_cbr(n3x3red, n3x3, 3, 1))
        self.b3 = nn.Sequential(
            *_cbr(in_planes, n5x5red, 1), *_cbr(n5x5red, n5x5, 3, 1), *_cbr(n5x5, n5x5, 3, 1)
        )
        self.b4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), *_cbr(in_planes, pool_planes, 1)
        )

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class GoogLeNet(nn.Module):
    """kuangliu GoogLeNet for CIFAR (192-channel 3x3 stem, nine Inception blocks)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.pre_layers = nn.Sequential(*_cbr(3, 192, 3, 1))
        self.a3 = Inception(192, 64, 96, 128, 16, 32, 32)
        self.b3 = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.a4 = Inception(480, 192, 96, 208, 16, 48, 64)
        self.b4 = Inception(512, 160, 112, 224, 24, 64, 64)
        self.c4 = Inception(512, 128, 128, 256, 24, 64, 64)
        self.d4 = Inception(512, 112, 144, 288, 32, 64, 64)
        self.e4 = Inception(528, 256, 160, 320, 32, 128, 128)
        self.a5 = Inception(832, 256, 160, 320, 32, 128, 128)
        self.b5 = Inception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AvgPool2d(8, stride=1)
        self.linear = nn.Linear(1024, num_classes)

    def forward(self, x):
        out = self.pre_layers(x)
        out = self.a3(out)
        out = self.b3(out)
        out = self.maxpool(out)
        out = self.a4(out)
        out = self.b4(out)
        out = self.c4(out)
        out = self.d4(out)
        out = self.e4(out)
        out = self.maxpool(out)
        out = self.a5(out)
        out = self.b5(out)
        out = self.avgpool(out)
        out = out.view(out.size(0), -1)
        return self.linear(out)


def _mobilenetv2():
    from workloads.mobile import MobileNetV2

    return MobileNetV2()


def _efficientnet_b0():
    from workloads.mobile import EfficientNetB0

    return EfficientNetB0()


ZOO = {
    "vgg11": lambda: VGG("vgg11"),
    "vgg19": lambda: VGG("vgg19"),
    "resnet18": lambda: ResNet([2, 2, 2, 2]),
    "resnet34": lambda: ResNet([3, 4, 6, 3]),
    "googlenet": GoogLeNet,
    "mobilenetv2": _mobilenetv2,
    "efficientnet_b0": _efficientnet_b0,
}
INPUT_SHAPE = (3, 32, 32)


def zoo_model(name: str, seed: int = 0) -> nn.Module:
    """A freshly initialised zoo model (eval mode), deterministic for ``seed``."""
    if name not in ZOO:
        raise KeyError(f"unknown zoo model {name!r}; choose one of {sorted(ZOO)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ZOO[name]()
    return model.eval()


class CheckpointError(WorkloadError):
    """A state dict that does not fit the model (names the first offending key)."""


def load_checkpoint(model: nn.Module, path) -> nn.Module:
    """Load a state_dict (or kuangliu's {'net': state_dict, ...}) into ``model``; strict keys.

    Loaded with ``torch.load(weights_only=True)`` (tensors and plain containers only). A
    ``module.`` prefix (saved from DataParallel) is stripped. Raises ``FileNotFoundError``, or
    ``CheckpointError`` (a ValueError) in one line naming the first missing, unexpected or
    mis-shaped key.
    """
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {p} does not exist")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {p}: cannot be read as a state dict "
                              f"(torch.load weights_only=True): {msg}") from None
    if isinstance(state, dict) and "net" in state and isinstance(state["net"], dict):
        state = state["net"]
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"checkpoint {p}: not a state dict of tensors")
    state = {(k.removeprefix("module.")): v for k, v in state.items()}
    own = model.state_dict()
    name = type(model).__name__
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing:
        raise CheckpointError(f"checkpoint {p} does not match {name}: key {missing[0]!r} is "
                              f"missing ({len(missing)} missing in all)")
    if unexpected:
        raise CheckpointError(f"checkpoint {p} does not match {name}: key {unexpected[0]!r} is "
                              f"unexpected ({len(unexpected)} unexpected in all)")
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise CheckpointError(f"checkpoint {p} does not match {name}: key {k!r} has shape "
                                  f"{tuple(v.shape)}, the model expects {tuple(own[k].shape)}")
    model.load_state_dict(state, strict=True)
    return model.eval()
