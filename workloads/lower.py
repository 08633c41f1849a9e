"""Lower a traceable ``nn.Module`` to a list of layer-level ops via ``torch.fx``.

Inputs: a float ``nn.Module`` (eval mode) and an example input tensor (N, ...).
Outputs: ``lower(model, example) -> Lowered`` with
    gm       the ``torch.fx.GraphModule`` (its forward is the model's own control flow)
    layers   ``Layer`` records in topological order, one per workload-graph node
    alias    {fx node name: layer name} for every tensor-valued fx node (a BatchNorm2d folded
             into its conv, Dropout/Identity/contiguous/no-op views map to their input layer)
    outputs  layer names the model returns, in order

Supported: Conv2d (+ a directly following BatchNorm2d, folded later), Linear, ReLU (module,
F.relu, torch.relu, .relu()), MaxPool2d / F.max_pool2d, AvgPool2d / F.avg_pool2d,
AdaptiveAvgPool2d / F.adaptive_avg_pool2d to an output dividing the input, flatten
(torch.flatten, nn.Flatten, .flatten, .view/.reshape(N, -1)), add of two tensors
(operator.add / += / torch.add / .add), torch.cat on channels, Dropout (identity in eval),
Identity, nested Sequentials. Shape arithmetic (.size(), .shape, getitem on it) is allowed.
Anything else raises ``UnsupportedOpError`` naming the fx node and its op.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import fx, nn


class UnsupportedOpError(ValueError):
    """The model uses an op the workload graph cannot express exactly."""


@dataclass
class Layer:
    name: str
    op: str
    inputs: list
    out_fx: str
    source: str
    out_shape: tuple
    params: dict = field(default_factory=dict)
    module: nn.Module | None = None  # Conv2d / Linear for compute layers
    bn: nn.BatchNorm2d | None = None


@dataclass
class Lowered:
    gm: fx.GraphModule
    layers: list
    alias: dict
    outputs: list

    def layer(self, name: str) -> Layer:
        for lay in self.layers:
            if lay.name == name:
                return lay
        raise KeyError(name)


# fmt: off
_POOL_ARGS = ["input", "kernel_size", "stride", "padding"]
_FN_PARAMS = {
    F.relu: ["input", "inplace"], torch.relu: ["input"], torch.relu_: ["input"],
    operator.add: ["input", "other"], operator.iadd: ["input", "other"],
    torch.add: ["input", "other", "alpha"],
    torch.cat: ["tensors", "dim"], torch.flatten: ["input", "start_dim", "end_dim"],
    F.avg_pool2d: [*_POOL_ARGS, "ceil_mode", "count_include_pad", "divisor_override"],
    F.max_pool2d: [*_POOL_ARGS, "dilation", "ceil_mode", "return_indices"],
    F.adaptive_avg_pool2d: ["input", "output_size"],
    F.dropout: ["input", "p", "training", "inplace"],
}
_METHOD_PARAMS = {
    "relu": ["input"], "relu_": ["input"], "add": ["input", "other", "alpha"],
    "add_": ["input", "other", "alpha"], "flatten": ["input", "start_dim", "end_dim"],
    "contiguous": ["input"],
}
_META_FUNCS = {getattr, operator.getitem, operator.mul, operator.floordiv, operator.add,
               operator.sub}
# fmt: on


def _pair(v) -> tuple:
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(a) for a in v)


def _bind(node: fx.Node, names: list) -> dict:
    out = dict(zip(names, node.args))
    if len(node.args) > len(names):
        raise UnsupportedOpError(f"fx node {node.name!r} ({_describe(node)}): too many arguments")
    out.update(node.kwargs)
    return out


def _describe(node: fx.Node) -> str:
    t = node.target
    if node.op == "call_function":
        mod = (getattr(t, "__module__", "") or "").replace("_operator", "operator")
        t = f"{mod}.{getattr(t, '__name__', repr(t))}".lstrip(".")
    return f"{node.op} {t}"


class _Recorder(fx.Interpreter):
    """Runs the module once, keeping the shape of every tensor-valued node."""

    def run_node(self, n):
        v = super().run_node(n)
        if isinstance(v, torch.Tensor):
            self.shapes[n.name] = tuple(int(d) for d in v.shape)
        return v


def lower(model: nn.Module, example: torch.Tensor) -> Lowered:
    """Trace ``model`` and map its fx nodes to layers; raises ``UnsupportedOpError``."""
    gm = fx.symbolic_trace(model)
    rec = _Recorder(gm)
    rec.shapes = {}
    with torch.no_grad():
        rec.run(example)
    seen = rec.shapes
    modules = dict(gm.named_modules())
    layers: list[Layer] = []
    by_name: dict[str, Layer] = {}
    alias: dict[str, str] = {}
    users = {n.name: len(n.users) for n in gm.graph.nodes}
    outputs: list[str] = []

    def err(node, msg):
        raise UnsupportedOpError(f"fx node {node.name!r} ({_describe(node)}): {msg}")

    def src(node, arg):
        if not isinstance(arg, fx.Node) or arg.name not in alias:
            err(node, f"argument {arg!r} is not a tensor produced by a supported op")
        return alias[arg.name]

    def add_layer(node, op, inputs, source, **kw):
        lay = Layer(node.name, op, inputs, node.name, source, seen[node.name], **kw)
        layers.append(lay)
        by_name[lay.name] = lay
        alias[node.name] = lay.name
        return lay

    def pool(node, op, x, kernel, stride, padding, source):
        kernel = _pair(kernel)
        stride = kernel if stride is None or stride == [] else _pair(stride)
        add_layer(
            node,
            op,
            [src(node, x)],
            source,
            params={"kernel": kernel, "stride": stride, "padding": _pair(padding)},
        )

    def adaptive(node, x, size, source):
        h, w = seen[x.name][2:]
        oh, ow = _pair(size) if size is not None else (h, w)
        if h % oh or w % ow:
            err(node, f"adaptive average pooling {h}x{w} -> {oh}x{ow} is not a plain pooling")
        pool(node, "avgpool", x, (h // oh, w // ow), (h // oh, w // ow), 0, source)

    def flatten_or_alias(node, x):
        in_shape, out_shape = seen[x.name], seen[node.name]
        if tuple(out_shape) == tuple(in_shape):
            alias[node.name] = src(node, x)
        elif len(out_shape) == 2 and out_shape[0] == in_shape[0] and len(in_shape) >= 2:
            add_layer(node, "flatten", [src(node, x)], _describe(node), params={"start_dim": 1})
        else:
            err(node, f"reshape {in_shape} -> {out_shape} is not a flatten to (N, -1)")

    def check_flatten_dims(node, a, ndim):
        start, end = a.get("start_dim", 0), a.get("end_dim", -1)
        if start != 1 or end not in (-1, ndim - 1):
            err(node, f"only flatten(start_dim=1, end_dim=-1) is supported, got {start}, {end}")

    def add_op(node, a):
        if a.get("alpha", 1) != 1:
            err(node, "add with alpha != 1")
        x, y = a["input"], a["other"]
        if not (isinstance(y, fx.Node) and y.name in seen):
            err(node, f"add of a tensor and a constant {y!r}")
        add_layer(node, "add", [src(node, x), src(node, y)], _describe(node))

    for node in gm.graph.nodes:
        if node.op == "output":
            outs = node.args[0] if isinstance(node.args[0], (tuple, list)) else [node.args[0]]
            outputs = [src(node, o) for o in outs]
            continue
        if node.op == "placeholder":
            if any(lay.op == "input" for lay in layers):
                err(node, "only one input tensor is supported")
            add_layer(node, "input", [], "input")
            continue
        if node.name not in seen:
            # a python value (shape arithmetic); allowed only from shape queries
            ok = (node.op == "call_method" and node.target in ("size", "dim")) or (
                node.op == "call_function"
                and node.target in _META_FUNCS
                and (node.target is not getattr or node.args[1] in ("shape", "ndim"))
            )
            if not ok:
                err(node, "produces a non-tensor value; only shape queries may")
            continue
        if node.op == "get_attr":
            err(node, "direct use of a parameter/buffer is not supported")
        if node.op == "call_module":
            m = modules[node.target]
            x = node.args[0] if node.args else None
            name = f"{node.target} ({type(m).__name__})"
            if len(node.args) != 1 or node.kwargs:
                err(node, "module called with more than one argument")
            if isinstance(m, nn.Conv2d):
                if (
                    _pair(m.dilation) != (1, 1)
                    or m.padding_mode != "zeros"
                    or isinstance(m.padding, str)
                ):
                    err(node, "Conv2d with dilation, non-zero padding mode or string padding")
                add_layer(
                    node,
                    "conv",
                    [src(node, x)],
                    name,
                    module=m,
                    params={
                        "stride": _pair(m.stride),
                        "padding": _pair(m.padding),
                        "groups": int(m.groups),
                    },
                )
            elif isinstance(m, nn.BatchNorm2d):
                prev = by_name.get(alias.get(x.name, ""))
                if (
                    prev is None
                    or prev.op != "conv"
                    or prev.bn is not None
                    or prev.out_fx != x.name
                    or users[x.name] != 1
                ):
                    err(node, "BatchNorm2d must directly follow a Conv2d whose only user it is")
                if not m.track_running_stats or m.running_mean is None:
                    err(node, "BatchNorm2d without running statistics cannot be folded")
                prev.bn, prev.out_fx = m, node.name
                prev.source += f" + {name}"
                alias[node.name] = prev.name
            elif isinstance(m, nn.Linear):
                if len(seen[x.name]) != 2:
                    err(node, f"Linear on a {len(seen[x.name])}-d input (only (N, F) is supported)")
                add_layer(node, "linear", [src(node, x)], name, module=m)
            elif isinstance(m, nn.ReLU):
                add_layer(node, "relu", [src(node, x)], name)
            elif isinstance(m, nn.MaxPool2d):
                if _pair(m.dilation) != (1, 1) or m.ceil_mode or m.return_indices:
                    err(node, "MaxPool2d with dilation, ceil_mode or return_indices")
                pool(node, "maxpool", x, m.kernel_size, m.stride, m.padding, name)
            elif isinstance(m, nn.AvgPool2d):
                if (
                    m.ceil_mode
                    or m.divisor_override
                    or (not m.count_include_pad and _pair(m.padding) != (0, 0))
                ):
                    err(
                        node,
                        "AvgPool2d with ceil_mode, divisor_override or count_include_pad=False",
                    )
                pool(node, "avgpool", x, m.kernel_size, m.stride, m.padding, name)
            elif isinstance(m, nn.AdaptiveAvgPool2d):
                adaptive(node, x, m.output_size, name)
            elif isinstance(m, (nn.Dropout, nn.Dropout2d, nn.Identity)):
                alias[node.name] = src(node, x)
            elif isinstance(m, nn.Flatten):
                check_flatten_dims(
                    node, {"start_dim": m.start_dim, "end_dim": m.end_dim}, len(seen[x.name])
                )
                flatten_or_alias(node, x)
            else:
                err(node, f"module type {type(m).__name__} is not supported")
        elif node.op == "call_function":
            t = node.target
            if t not in _FN_PARAMS:
                err(node, "function is not supported")
            a = _bind(node, _FN_PARAMS[t])
            if t in (F.relu, torch.relu, torch.relu_):
                add_layer(node, "relu", [src(node, a["input"])], _describe(node))
            elif t in (operator.add, operator.iadd, torch.add):
                add_op(node, a)
            elif t is torch.cat:
                dim = a.get("dim", 0)
                nd = len(seen[node.name])
                if dim % nd != 1:
                    err(node, f"concatenation along dim {dim} (only channels, dim 1)")
                add_layer(
                    node,
                    "concat",
                    [src(node, v) for v in a["tensors"]],
                    _describe(node),
                    params={"axis": 1},
                )
            elif t is torch.flatten:
                check_flatten_dims(node, a, len(seen[a["input"].name]))
                flatten_or_alias(node, a["input"])
            elif t is F.avg_pool2d:
                if (
                    a.get("ceil_mode")
                    or a.get("divisor_override")
                    or (
                        a.get("count_include_pad") is False and _pair(a.get("padding", 0)) != (0, 0)
                    )
                ):
                    err(
                        node,
                        "avg_pool2d with ceil_mode, divisor_override or count_include_pad=False",
                    )
                pool(
                    node,
                    "avgpool",
                    a["input"],
                    a["kernel_size"],
                    a.get("stride"),
                    a.get("padding", 0),
                    _describe(node),
                )
            elif t is F.max_pool2d:
                if (
                    _pair(a.get("dilation", 1)) != (1, 1)
                    or a.get("ceil_mode")
                    or a.get("return_indices")
                ):
                    err(node, "max_pool2d with dilation, ceil_mode or return_indices")
                pool(
                    node,
                    "maxpool",
                    a["input"],
                    a["kernel_size"],
                    a.get("stride"),
                    a.get("padding", 0),
                    _describe(node),
                )
            elif t is F.adaptive_avg_pool2d:
                adaptive(node, a["input"], a["output_size"], _describe(node))
            elif t is F.dropout:
                if a.get("training", True) and a.get("p", 0.5) > 0:
                    err(node, "F.dropout with training=True is random; pass training=self.training")
                alias[node.name] = src(node, a["input"])
        elif node.op == "call_method":
            t = node.target
            if t in ("view", "reshape"):
                flatten_or_alias(node, node.args[0])
            elif t not in _METHOD_PARAMS:
                err(node, "method is not supported")
            else:
                a = _bind(node, _METHOD_PARAMS[t])
                if t in ("relu", "relu_"):
                    add_layer(node, "relu", [src(node, a["input"])], _describe(node))
                elif t in ("add", "add_"):
                    add_op(node, a)
                elif t == "flatten":
                    check_flatten_dims(node, a, len(seen[a["input"].name]))
                    flatten_or_alias(node, a["input"])
                elif t == "contiguous":
                    alias[node.name] = src(node, a["input"])
    if not outputs:
        raise UnsupportedOpError("model has no tensor output")
    _check_shapes(layers)
    return Lowered(gm, layers, alias, outputs)


def _check_shapes(layers: list) -> None:
    for lay in layers:
        if lay.op in ("conv", "maxpool", "avgpool") and len(lay.out_shape) != 4:
            raise UnsupportedOpError(f"fx node {lay.name!r}: {lay.op} output is not (N, C, H, W)")
        if lay.op == "linear" and len(lay.out_shape) != 2:
            raise UnsupportedOpError(f"fx node {lay.name!r}: linear output is not (N, F)")


def dense_macs(lowered: Lowered) -> int:
    """Dense conv + linear MACs of a lowered model at its example batch size."""
    total = 0
    for lay in lowered.layers:
        if lay.op == "conv":
            w = lay.module.weight
            total += math.prod(lay.out_shape) * math.prod(w.shape[1:])
        elif lay.op == "linear":
            total += math.prod(lay.out_shape) * lay.module.weight.shape[1]
    return total
