"""MobileNetV2- and EfficientNet-B0-style CIFAR networks (defined here; no downloads).

Inputs: a width multiplier and an optional block configuration (so tests can build tiny
versions of the same block types). Outputs:
    MobileNetV2(num_classes=10, width=1.0, cfg=MBV2_CFG, in_ch=3, last=1280, stem_stride=1)
        inverted residuals: 1x1 expand + ReLU6, depthwise 3x3 + ReLU6, 1x1 linear projection
        (no activation: the next layer's input is signed), residual add when shapes match
        (Sandler et al., CVPR 2018; CIFAR variant: stride-1 stem and first stages, as
        kuangliu/pytorch-cifar);
    EfficientNetB0(num_classes=10, width=1.0, cfg=EFFB0_CFG, in_ch=3, last=1280)
        MBConv blocks: 1x1 expand + SiLU, depthwise k x k + SiLU, squeeze-excite (global
        average pool, 1x1 reduce + SiLU, 1x1 expand + sigmoid, channel-wise multiply), 1x1
        linear projection, residual add (Tan & Le, ICML 2019; CIFAR strides). SiLU and sigmoid
        export as ``table`` nodes: the function tabulated over every input integer.
Both use BatchNorm after every conv (folded at export) and end with global average pooling
and a Linear classifier. All ops export exactly (docs/workload_graph.md).
"""

from __future__ import annotations

from torch import nn

__all__ = ["EFFB0_CFG", "MBV2_CFG", "EfficientNetB0", "MobileNetV2"]

# (expansion t, output channels c, repeats n, first stride s)
MBV2_CFG = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
            (6, 160, 3, 2), (6, 320, 1, 1)]
# (expansion, output channels, repeats, first stride, kernel)
EFFB0_CFG = [(1, 16, 1, 1, 3), (6, 24, 2, 1, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3),
             (6, 112, 3, 1, 5), (6, 192, 4, 2, 5), (6, 320, 1, 1, 3)]


def _ch(c: int, width: float) -> int:
    return max(4, round(c * width))


def _cba(cin, cout, k, stride=1, groups=1, act=nn.ReLU6):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    return layers + ([act()] if act is not None else [])


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, t: int):
        super().__init__()
        hid = cin * t
        layers = _cba(cin, hid, 1) if t != 1 else []
        layers += _cba(hid, hid, 3, stride, groups=hid)
        layers += _cba(hid, cout, 1, act=None)
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        out = self.conv(x)
        return x + out if self.residual else out


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 10, width: float = 1.0, cfg=None, in_ch: int = 3,
                 last: int = 1280, stem_stride: int = 1):
        super().__init__()
        cfg = MBV2_CFG if cfg is None else cfg
        c = _ch(32, width)
        layers = _cba(in_ch, c, 3, stem_stride)
        for t, co, n, s in cfg:
            co = _ch(co, width)
            for i in range(n):
                layers.append(InvertedResidual(c, co, s if i == 0 else 1, t))
                c = co
        last = _ch(last, width) if width < 1 else last
        layers += _cba(c, last, 1)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(last, num_classes)

    def forward(self, x):
        out = self.pool(self.features(x))
        return self.classifier(out.flatten(1))


class SqueezeExcite(nn.Module):
    def __init__(self, ch: int, reduced: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(ch, reduced, 1)
        self.act = nn.SiLU()
        self.expand = nn.Conv2d(reduced, ch, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        s = self.gate(self.expand(self.act(self.reduce(self.pool(x)))))
        return x * s


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, t: int, k: int):
        super().__init__()
        hid = cin * t
        layers = _cba(cin, hid, 1, act=nn.SiLU) if t != 1 else []
        layers += _cba(hid, hid, k, stride, groups=hid, act=nn.SiLU)
        layers.append(SqueezeExcite(hid, max(1, cin // 4)))
        layers += _cba(hid, cout, 1, act=None)
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        out = self.conv(x)
        return x + out if self.residual else out


class EfficientNetB0(nn.Module):
    def __init__(self, num_classes: int = 10, width: float = 1.0, cfg=None, in_ch: int = 3,
                 last: int = 1280):
        super().__init__()
        cfg = EFFB0_CFG if cfg is None else cfg
        c = _ch(32, width)
        layers = _cba(in_ch, c, 3, act=nn.SiLU)
        for t, co, n, s, k in cfg:
            co = _ch(co, width)
            for i in range(n):
                layers.append(MBConv(c, co, s if i == 0 else 1, t, k))
                c = co
        last = _ch(last, width) if width < 1 else last
        layers += _cba(c, last, 1, act=nn.SiLU)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(last, num_classes)

    def forward(self, x):
        out = self.pool(self.features(x))
        return self.classifier(out.flatten(1))
