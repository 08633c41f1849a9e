"""Lower a traceable ``nn.Module`` to a list of layer-level ops via ``torch.fx``.

Inputs: a float ``nn.Module`` (eval mode) and an example input tensor (N, ...).
Outputs: ``lower(model, example) -> Lowered`` with
    gm       the ``torch.fx.GraphModule`` (its forward is the model's own control flow)
    layers   ``Layer`` records in topological order, one per workload-graph node
    alias    {fx node name: layer name} for every tensor-valued fx node (a BatchNorm2d folded
             into its conv, Dropout/Identity/contiguous/no-op views map to their input layer)
    outputs  layer names the model returns, in order

Dispatch is three tables of op handlers, one entry per torch op, so a new op is one handler
plus one table row: ``MODULE_HANDLERS`` (module type -> handler(ctx, node, module, x)),
``FUNCTION_HANDLERS`` (function -> (argument names, handler(ctx, node, args))) and
``METHOD_HANDLERS`` (tensor method name -> (argument names, handler)). Handlers call
``ctx.add_layer`` (a new graph node), ``ctx.alias_to`` (no node: the value of an input) or
``ctx.err`` (``UnsupportedOpError`` naming the fx node and its op).

Supported: Conv2d (incl. groups, depthwise with a channel multiplier, dilation; + a directly
following BatchNorm2d, folded later), Linear, ReLU (module, F.relu, torch.relu, .relu()),
ReLU6 / Hardtanh / F.relu6 / F.hardtanh / torch.clamp / .clamp / .clip with constant bounds
(``clamp``), SiLU / Sigmoid / Hardswish / Hardsigmoid / Tanh (module or function: ``table``,
the function tabulated over every input integer), MaxPool2d / F.max_pool2d, AvgPool2d /
F.avg_pool2d, AdaptiveAvgPool2d / F.adaptive_avg_pool2d to an output dividing the input,
``.mean((2, 3), keepdim=True)`` (global average pooling), flatten (torch.flatten, nn.Flatten,
.flatten, .view/.reshape(N, -1)), add of two tensors (operator.add / += / torch.add / .add),
multiply of two tensors, the second equal in shape or (N, C, 1, 1) (operator.mul / *= /
torch.mul / .mul: squeeze-excite gating), torch.cat on channels, Dropout (identity in eval),
Identity, nested Sequentials. Shape arithmetic (.size(), .shape, getitem on it) is allowed.

Transformers (token tensors (B, T, F)): Linear on (B, T, F); LayerNorm and RMSNorm over the
last dimension (``norm``); GELU (exact or tanh) and SiLU (``table``); softmax over the last
dimension (``softmax``); the product of two activations (torch.matmul / @ / torch.bmm /
.matmul: ``matmul``) with a constant scale after it (``* c`` or ``/ c``, folded into the
product's requantisation); and the head reshapes between them: ``.view`` / ``.reshape`` of
(B, T, F) to (B, T, H, F/H) and back, ``.transpose`` / ``.permute`` / torch.transpose. The
graph keeps token tensors as (B, T, F), heads as contiguous feature blocks; the lowering tracks
how each fx tensor is laid out over its graph tensor (``_Ctx.views``: ``None`` = the same
tensor, ``(H, perm)``: fx = G.reshape(B, T, H, F/H).permute(perm), ``(None, perm)``: fx =
G.permute(perm)), so Q (B, H, T, d) times K^T (B, H, d, S) becomes a ``matmul`` with ``heads``
H and ``transpose_b``, and P (B, H, T, S) times V (B, H, S, e) one without.
Anything else raises ``UnsupportedOpError`` naming the fx node and its op.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real

import torch
import torch.nn.functional as F
from torch import fx, nn

from archsim.errors import WorkloadError


class UnsupportedOpError(WorkloadError):
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


# element-wise functions exported as ``table`` nodes (tabulated over the input integers)
TABLE_FNS: dict[str, Callable] = {
    "silu": F.silu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "sigmoid": torch.sigmoid,
    "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid,
    "tanh": torch.tanh,
}

_META_FUNCS = {getattr, operator.getitem, operator.mul, operator.floordiv, operator.add,
               operator.sub, operator.truediv, operator.pow, math.sqrt}
_ROWS = (0, 2, 1, 3)  # (B, H, T, d): per-head rows
_COLS = (0, 2, 3, 1)  # (B, H, d, T): per-head transposed


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
        elif isinstance(v, Real):
            self.consts[n.name] = v  # shape arithmetic (e.g. 1 / sqrt(head size))
        return v


class _Ctx:
    """State of one lowering and the helpers op handlers use."""

    def __init__(self, gm: fx.GraphModule, seen: dict, consts: dict | None = None):
        self.gm, self.seen, self.consts = gm, seen, consts or {}
        self.layers: list[Layer] = []
        self.by_name: dict[str, Layer] = {}
        self.alias: dict[str, str] = {}
        self.views: dict[str, tuple | None] = {}  # fx name -> layout over its graph tensor
        self.users = {n.name: len(n.users) for n in gm.graph.nodes}

    def err(self, node, msg):
        raise UnsupportedOpError(f"fx node {node.name!r} ({_describe(node)}): {msg}")

    def src(self, node, arg) -> str:
        if not isinstance(arg, fx.Node) or arg.name not in self.alias:
            self.err(node, f"argument {arg!r} is not a tensor produced by a supported op")
        return self.alias[arg.name]

    def is_tensor(self, arg) -> bool:
        return isinstance(arg, fx.Node) and arg.name in self.seen

    def const(self, arg):
        """The python number behind ``arg`` (a literal or traced shape arithmetic), or
        ``arg`` itself."""
        if isinstance(arg, fx.Node) and arg.name in self.consts:
            return self.consts[arg.name]
        return arg

    def add_layer(self, node, op, inputs, source, like=None, shape=None, view=None,
                  **kw) -> Layer:
        """A new graph node. ``like``: an fx input whose graph shape and layout the output
        keeps (element-wise ops); ``shape`` / ``view``: the graph shape and fx layout."""
        if like is not None:
            shape, view = self.gshape(like), self.views.get(like.name)
        shape = tuple(shape) if shape is not None else self.seen[node.name]
        lay = Layer(node.name, op, inputs, node.name, source, shape, **kw)
        self.layers.append(lay)
        self.by_name[lay.name] = lay
        self.alias[node.name] = lay.name
        self.views[node.name] = view
        return lay

    def alias_to(self, node, arg, view="same") -> None:
        self.alias[node.name] = self.src(node, arg)
        self.views[node.name] = self.views.get(arg.name) if view == "same" else view

    def gshape(self, arg) -> tuple:
        """Shape of the graph tensor behind fx value ``arg``."""
        return tuple(self.by_name[self.alias[arg.name]].out_shape)

    def plain(self, node, arg, what: str) -> None:
        """``arg`` must be laid out as its graph tensor (not a per-head view)."""
        if self.views.get(arg.name) is not None:
            self.err(node, f"{what} of a per-head / transposed view {self.seen[arg.name]}; "
                     "reshape it back to (B, T, F) first")

    def pool(self, node, op, x, kernel, stride, padding, source) -> None:
        kernel = _pair(kernel)
        stride = kernel if stride is None or stride == [] else _pair(stride)
        self.add_layer(node, op, [self.src(node, x)], source,
                       params={"kernel": kernel, "stride": stride, "padding": _pair(padding)})

    def adaptive(self, node, x, size, source) -> None:
        h, w = self.seen[x.name][2:]
        oh, ow = _pair(size) if size is not None else (h, w)
        if h % oh or w % ow:
            self.err(node, f"adaptive average pooling {h}x{w} -> {oh}x{ow} is not a plain pooling")
        self.pool(node, "avgpool", x, (h // oh, w // ow), (h // oh, w // ow), 0, source)

    def flatten_or_alias(self, node, x) -> None:
        in_shape, out_shape = self.seen[x.name], self.seen[node.name]
        if tuple(out_shape) == tuple(in_shape):
            self.alias_to(node, x)
        elif len(out_shape) == 2 and out_shape[0] == in_shape[0] and len(in_shape) >= 2:
            self.add_layer(node, "flatten", [self.src(node, x)], _describe(node),
                           params={"start_dim": 1})
        else:
            self.err(node, f"reshape {in_shape} -> {out_shape} is not a flatten to (N, -1)")

    def check_flatten_dims(self, node, a, ndim) -> None:
        start, end = a.get("start_dim", 0), a.get("end_dim", -1)
        if start != 1 or end not in (-1, ndim - 1):
            self.err(node, f"only flatten(start_dim=1, end_dim=-1) is supported, got {start}, "
                     f"{end}")

    def clamp(self, node, x, lo, hi, source) -> None:
        for v in (lo, hi):
            if v is not None and (not isinstance(v, Real) or isinstance(v, bool)):
                self.err(node, f"clamp bound {v!r} is not a constant number")
        if lo is None and hi is None:
            self.err(node, "clamp without bounds")
        if lo is not None and hi is not None and lo > hi:
            self.err(node, f"clamp bounds {lo} > {hi}")
        self.add_layer(node, "clamp", [self.src(node, x)], source, like=x,
                       params={"min": None if lo is None else float(lo),
                               "max": None if hi is None else float(hi)})

    def binary(self, node, op, x, y, source) -> None:
        if not (self.is_tensor(x) and self.is_tensor(y)):
            const = self.const(y if self.is_tensor(x) else x)
            if op == "mul" and isinstance(const, Real) and not isinstance(const, bool):
                self.scale_fold(node, x if self.is_tensor(x) else y, float(const))
                return
            self.err(node, f"{op} of a tensor and a constant {const!r}")
        if self.views.get(x.name) != self.views.get(y.name):
            self.err(node, f"{op} of tensors laid out differently ({self.seen[x.name]} and "
                     f"{self.seen[y.name]} over their graph tensors)")
        if op == "mul":
            xs, ys = self.seen[x.name], self.seen[y.name]
            if tuple(xs) != tuple(ys) and tuple(ys) != tuple(xs[:2]) + (1,) * (len(xs) - 2):
                if tuple(xs) == tuple(ys[:2]) + (1,) * (len(ys) - 2):
                    x, y = y, x  # gate first-or-second: keep the full tensor first
                else:
                    self.err(node, f"multiply of shapes {xs} and {ys}: only equal shapes or a "
                             f"per-channel (N, C, 1, 1) gate")
        self.add_layer(node, op, [self.src(node, x), self.src(node, y)], source, like=x)

    def scale_fold(self, node, x, factor: float) -> None:
        """``x * factor`` (a constant): folded into the product or linear layer making ``x``
        (its requantisation absorbs the factor), which must be ``x``'s only user."""
        prev = self.by_name.get(self.alias.get(x.name, ""))
        if (prev is None or prev.op not in ("matmul", "linear") or prev.out_fx != x.name
                or self.users[x.name] != 1 or not factor > 0 or not math.isfinite(factor)):
            self.err(node, "a constant scale is supported only right after a matmul or a "
                     "linear layer whose only user it is, and must be finite and > 0")
        prev.params["out_mul"] = prev.params.get("out_mul", 1.0) * factor
        prev.out_fx = node.name
        prev.source += f" x {factor:g}"
        self.alias[node.name] = prev.name
        self.views[node.name] = self.views.get(x.name)

    def permute(self, node, x, perm) -> None:
        """A transpose / permute: no node, a new layout of the same graph tensor."""
        v = self.views.get(x.name)
        nd = len(self.seen[x.name])
        perm = tuple(int(p) % nd for p in perm)
        if sorted(perm) != list(range(nd)):
            self.err(node, f"permutation {perm} of a {nd}-d tensor")
        if v is None:
            if nd != 3:
                self.err(node, f"transpose of a {nd}-d tensor (only token tensors (B, T, F) "
                         "and their per-head views)")
            v = (None, (0, 1, 2))
        new = tuple(v[1][p] for p in perm)
        if new[0] != 0:
            self.err(node, "a transpose that moves the batch dimension")
        self.alias_to(node, x, view=None if v[0] is None and new == (0, 1, 2) else (v[0], new))

    def reshape(self, node, x) -> None:
        """``.view`` / ``.reshape``: a flatten to (N, -1), or the head split (B, T, F) ->
        (B, T, H, F/H) and its inverse."""
        in_shape, out_shape = tuple(self.seen[x.name]), tuple(self.seen[node.name])
        v = self.views.get(x.name)
        if out_shape == in_shape:
            self.alias_to(node, x)
        elif v is None and len(in_shape) == 3 and len(out_shape) == 4 and (
                out_shape[:2] == in_shape[:2] and out_shape[2] * out_shape[3] == in_shape[2]):
            self.alias_to(node, x, view=(out_shape[2], (0, 1, 2, 3)))
        elif v is not None and v[0] is not None and v[1] == (0, 1, 2, 3) and (
                out_shape == self.gshape(x)):
            self.alias_to(node, x, view=None)
        elif v is None:
            self.flatten_or_alias(node, x)
        else:
            self.err(node, f"reshape {in_shape} -> {out_shape} of a per-head view (only back "
                     f"to (B, T, F) from (B, T, H, F/H))")

    def matmul(self, node, x, y, source) -> None:
        """The product of two activations as a ``matmul`` node (see the module doc)."""
        if not (self.is_tensor(x) and self.is_tensor(y)):
            self.err(node, "matmul with a constant operand (use nn.Linear for weights)")
        ra, rb = self._role(x), self._role(y)
        if ra is None or rb is None or ra[1] != "rows" or ra[0] != rb[0]:
            self.err(node, f"matmul of {self.seen[x.name]} and {self.seen[y.name]}: expected "
                     "per-head operands (B, H, T, d) x (B, H, d, S) or (B, H, S, e), or "
                     "(B, T, d) x (B, d, S) or (B, S, e), from reshapes / transposes of "
                     "(B, T, F) tensors")
        heads, tb = ra[0], rb[1] == "cols"
        out = self.seen[node.name]
        b, t, n = out[0], out[-2], out[-1]
        self.add_layer(node, "matmul", [self.src(node, x), self.src(node, y)], source,
                       shape=(b, t, heads * n), view=(heads, _ROWS) if len(out) == 4 else None,
                       params={"heads": heads, "transpose_b": tb,
                               "inner": int(self.seen[x.name][-1])})

    def _role(self, arg) -> tuple | None:
        """(heads, "rows" | "cols") of a matmul operand, None if it is no per-head matrix."""
        v, nd = self.views.get(arg.name), len(self.seen[arg.name])
        if v is None:
            return (1, "rows") if nd == 3 else None
        if v == (None, (0, 2, 1)):
            return 1, "cols"
        if v[0] is not None and v[1] in (_ROWS, _COLS):
            return v[0], "rows" if v[1] == _ROWS else "cols"
        return None

    def softmax(self, node, x, dim, source) -> None:
        nd = len(self.seen[x.name])
        r = self._role(x)
        if dim is None or int(dim) % nd != nd - 1 or r is None or r[1] != "rows":
            self.err(node, f"softmax over dim {dim} of {self.seen[x.name]}: only over the last "
                     "dimension of (B, T, F) or of per-head scores (B, H, T, S)")
        self.add_layer(node, "softmax", [self.src(node, x)], source, like=x,
                       params={"segment": int(self.seen[x.name][-1])})


# ---------------------------------------------------------------- module handlers
# handler(ctx, node, module, x, name); the first entry whose type matches wins


def _conv_module(ctx, node, m, x, name):
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        ctx.err(node, "Conv2d with a non-zero padding mode or string padding")
    ctx.add_layer(node, "conv", [ctx.src(node, x)], name, module=m,
                  params={"stride": _pair(m.stride), "padding": _pair(m.padding),
                          "groups": int(m.groups), "dilation": _pair(m.dilation)})


def _bn_module(ctx, node, m, x, name):
    prev = ctx.by_name.get(ctx.alias.get(x.name, ""))
    if (prev is None or prev.op != "conv" or prev.bn is not None or prev.out_fx != x.name
            or ctx.users[x.name] != 1):
        ctx.err(node, "BatchNorm2d must directly follow a Conv2d whose only user it is")
    if not m.track_running_stats or m.running_mean is None:
        ctx.err(node, "BatchNorm2d without running statistics cannot be folded")
    prev.bn, prev.out_fx = m, node.name
    prev.source += f" + {name}"
    ctx.alias[node.name] = prev.name


def _linear_module(ctx, node, m, x, name):
    if len(ctx.seen[x.name]) not in (2, 3):
        ctx.err(node, f"Linear on a {len(ctx.seen[x.name])}-d input (only (N, F) and token "
                "tensors (B, T, F) are supported)")
    ctx.plain(node, x, "Linear")
    ctx.add_layer(node, "linear", [ctx.src(node, x)], name, module=m)


def _norm_module(kind):
    def h(ctx, node, m, x, name):
        shape = ctx.seen[x.name]
        if tuple(m.normalized_shape) != (shape[-1],) or len(shape) not in (2, 3):
            ctx.err(node, f"{type(m).__name__} over {tuple(m.normalized_shape)} of {shape}: only "
                    "over the last dimension of (N, F) or (B, T, F)")
        ctx.plain(node, x, type(m).__name__)
        f = shape[-1]
        gamma = (m.weight.detach().double() if m.weight is not None
                 else torch.ones(f, dtype=torch.float64))
        bias = getattr(m, "bias", None)
        beta = None if kind == "rms" or bias is None else bias.detach().double()
        eps = m.eps if m.eps is not None else torch.finfo(torch.float32).eps
        ctx.add_layer(node, "norm", [ctx.src(node, x)], name,
                      params={"norm": kind, "gamma": gamma, "beta": beta, "eps": float(eps)})
    return h


def _gelu_module(ctx, node, m, x, name):
    fn = {"none": "gelu", "tanh": "gelu_tanh"}[m.approximate]
    ctx.add_layer(node, "table", [ctx.src(node, x)], name, like=x, params={"fn": fn})


def _maxpool_module(ctx, node, m, x, name):
    if _pair(m.dilation) != (1, 1) or m.ceil_mode or m.return_indices:
        ctx.err(node, "MaxPool2d with dilation, ceil_mode or return_indices")
    ctx.pool(node, "maxpool", x, m.kernel_size, m.stride, m.padding, name)


def _avgpool_module(ctx, node, m, x, name):
    if m.ceil_mode or m.divisor_override or (not m.count_include_pad
                                             and _pair(m.padding) != (0, 0)):
        ctx.err(node, "AvgPool2d with ceil_mode, divisor_override or count_include_pad=False")
    ctx.pool(node, "avgpool", x, m.kernel_size, m.stride, m.padding, name)


def _flatten_module(ctx, node, m, x, name):
    ctx.check_flatten_dims(node, {"start_dim": m.start_dim, "end_dim": m.end_dim},
                           len(ctx.seen[x.name]))
    ctx.flatten_or_alias(node, x)


def _table_module(fn_name):
    def h(ctx, node, m, x, name):
        ctx.add_layer(node, "table", [ctx.src(node, x)], name, like=x, params={"fn": fn_name})
    return h


MODULE_HANDLERS: list[tuple[type, Callable]] = [
    (nn.Conv2d, _conv_module),
    (nn.BatchNorm2d, _bn_module),
    (nn.Linear, _linear_module),
    (nn.ReLU, lambda c, n, m, x, name: c.add_layer(n, "relu", [c.src(n, x)], name, like=x)),
    (nn.Hardtanh, lambda c, n, m, x, name: c.clamp(n, x, m.min_val, m.max_val, name)),  # ReLU6
    (nn.MaxPool2d, _maxpool_module),
    (nn.AvgPool2d, _avgpool_module),
    (nn.AdaptiveAvgPool2d, lambda c, n, m, x, name: c.adaptive(n, x, m.output_size, name)),
    ((nn.Dropout, nn.Dropout2d, nn.Identity), lambda c, n, m, x, name: c.alias_to(n, x)),
    (nn.Flatten, _flatten_module),
    (nn.SiLU, _table_module("silu")),
    (nn.Sigmoid, _table_module("sigmoid")),
    (nn.Hardswish, _table_module("hardswish")),
    (nn.Hardsigmoid, _table_module("hardsigmoid")),
    (nn.Tanh, _table_module("tanh")),
    (nn.GELU, _gelu_module),
    (nn.LayerNorm, _norm_module("layer")),
    (nn.RMSNorm, _norm_module("rms")),
]

# ---------------------------------------------------------------- function / method handlers
# handler(ctx, node, bound args, source)


def _relu_fn(c, n, a, s):
    c.add_layer(n, "relu", [c.src(n, a["input"])], s, like=a["input"])


def _add_fn(c, n, a, s):
    if a.get("alpha", 1) != 1:
        c.err(n, "add with alpha != 1")
    c.binary(n, "add", a["input"], a["other"], s)


def _mul_fn(c, n, a, s):
    c.binary(n, "mul", a["input"], a["other"], s)


def _cat_fn(c, n, a, s):
    dim = a.get("dim", 0)
    if dim % len(c.seen[n.name]) != 1:
        c.err(n, f"concatenation along dim {dim} (only channels, dim 1)")
    c.add_layer(n, "concat", [c.src(n, v) for v in a["tensors"]], s, params={"axis": 1})


def _flatten_fn(c, n, a, s):
    c.check_flatten_dims(n, a, len(c.seen[a["input"].name]))
    c.flatten_or_alias(n, a["input"])


def _avg_pool_fn(c, n, a, s):
    if a.get("ceil_mode") or a.get("divisor_override") or (
            a.get("count_include_pad") is False and _pair(a.get("padding", 0)) != (0, 0)):
        c.err(n, "avg_pool2d with ceil_mode, divisor_override or count_include_pad=False")
    c.pool(n, "avgpool", a["input"], a["kernel_size"], a.get("stride"), a.get("padding", 0), s)


def _max_pool_fn(c, n, a, s):
    if _pair(a.get("dilation", 1)) != (1, 1) or a.get("ceil_mode") or a.get("return_indices"):
        c.err(n, "max_pool2d with dilation, ceil_mode or return_indices")
    c.pool(n, "maxpool", a["input"], a["kernel_size"], a.get("stride"), a.get("padding", 0), s)


def _dropout_fn(c, n, a, s):
    if a.get("training", True) and a.get("p", 0.5) > 0:
        c.err(n, "F.dropout with training=True is random; pass training=self.training")
    c.alias_to(n, a["input"])


def _mean_fn(c, n, a, s):
    x = a["input"]
    shape = c.seen[x.name]
    dims = a.get("dim")
    dims = tuple(sorted(int(d) % len(shape) for d in (dims if isinstance(dims, (list, tuple))
                                                      else [dims]))) if dims is not None else ()
    if len(shape) != 4 or dims != (2, 3) or not a.get("keepdim", False) or a.get("dtype"):
        c.err(n, "only mean over dims (2, 3) with keepdim=True (global average pooling)")
    c.pool(n, "avgpool", x, shape[2:], shape[2:], 0, s)


def _table_fn(fn_name):
    def h(c, n, a, s):
        c.add_layer(n, "table", [c.src(n, a["input"])], s, like=a["input"],
                    params={"fn": fn_name})
    return h


def _gelu_fn(c, n, a, s):
    approx = a.get("approximate", "none")
    if approx not in ("none", "tanh"):
        c.err(n, f"gelu approximate={approx!r}")
    _table_fn("gelu" if approx == "none" else "gelu_tanh")(c, n, a, s)


def _div_fn(c, n, a, s):
    x, d = a["input"], c.const(a["other"])
    if not c.is_tensor(x) or c.is_tensor(d) or not isinstance(d, Real) or isinstance(d, bool) \
            or d == 0:
        c.err(n, "division is supported only of a tensor by a non-zero constant")
    c.scale_fold(n, x, 1.0 / float(d))


def _transpose_fn(c, n, a, s):
    nd = len(c.seen[a["input"].name])
    perm = list(range(nd))
    i, j = int(a["dim0"]) % nd, int(a["dim1"]) % nd
    perm[i], perm[j] = perm[j], perm[i]
    c.permute(n, a["input"], perm)


def _permute_method(c, n, a, s):
    dims = n.args[1:]
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    c.permute(n, n.args[0], dims if dims else n.kwargs.get("dims", ()))


def _softmax_fn(c, n, a, s):
    if a.get("dtype") is not None:
        c.err(n, "softmax with a dtype")
    c.softmax(n, a["input"], a.get("dim"), s)


_POOL_ARGS = ["input", "kernel_size", "stride", "padding"]
_CLAMP = (["input", "min", "max"], lambda c, n, a, s: c.clamp(n, a["input"], a.get("min"),
                                                              a.get("max"), s))
_ADD = (["input", "other", "alpha"], _add_fn)
_MUL = (["input", "other"], _mul_fn)
_FLAT = (["input", "start_dim", "end_dim"], _flatten_fn)

FUNCTION_HANDLERS: dict[Callable, tuple[list, Callable]] = {
    F.relu: (["input", "inplace"], _relu_fn),
    torch.relu: (["input"], _relu_fn),
    torch.relu_: (["input"], _relu_fn),
    F.relu6: (["input", "inplace"], lambda c, n, a, s: c.clamp(n, a["input"], 0.0, 6.0, s)),
    F.hardtanh: (["input", "min_val", "max_val", "inplace"],
                 lambda c, n, a, s: c.clamp(n, a["input"], a.get("min_val", -1.0),
                                            a.get("max_val", 1.0), s)),
    torch.clamp: _CLAMP,
    torch.clip: _CLAMP,
    operator.add: (["input", "other"], _add_fn),
    operator.iadd: (["input", "other"], _add_fn),
    torch.add: _ADD,
    operator.mul: (["input", "other"], _mul_fn),
    operator.imul: (["input", "other"], _mul_fn),
    torch.mul: _MUL,
    torch.cat: (["tensors", "dim"], _cat_fn),
    torch.flatten: _FLAT,
    F.avg_pool2d: ([*_POOL_ARGS, "ceil_mode", "count_include_pad", "divisor_override"],
                   _avg_pool_fn),
    F.max_pool2d: ([*_POOL_ARGS, "dilation", "ceil_mode", "return_indices"], _max_pool_fn),
    F.adaptive_avg_pool2d: (["input", "output_size"],
                            lambda c, n, a, s: c.adaptive(n, a["input"], a["output_size"], s)),
    F.dropout: (["input", "p", "training", "inplace"], _dropout_fn),
    torch.mean: (["input", "dim", "keepdim", "dtype"], _mean_fn),
    F.silu: (["input", "inplace"], _table_fn("silu")),
    torch.sigmoid: (["input"], _table_fn("sigmoid")),
    F.sigmoid: (["input"], _table_fn("sigmoid")),
    F.hardswish: (["input", "inplace"], _table_fn("hardswish")),
    F.hardsigmoid: (["input", "inplace"], _table_fn("hardsigmoid")),
    torch.tanh: (["input"], _table_fn("tanh")),
    F.tanh: (["input"], _table_fn("tanh")),
    F.gelu: (["input", "approximate"], _gelu_fn),
    operator.truediv: (["input", "other"], _div_fn),
    operator.matmul: (["input", "other"], lambda c, n, a, s: c.matmul(n, a["input"],
                                                                       a["other"], s)),
    torch.matmul: (["input", "other"], lambda c, n, a, s: c.matmul(n, a["input"], a["other"],
                                                                   s)),
    torch.bmm: (["input", "mat2"], lambda c, n, a, s: c.matmul(n, a["input"], a["mat2"], s)),
    torch.transpose: (["input", "dim0", "dim1"], _transpose_fn),
    F.softmax: (["input", "dim", "_stacklevel", "dtype"], _softmax_fn),
    torch.softmax: (["input", "dim", "dtype"], _softmax_fn),
}

METHOD_HANDLERS: dict[str, tuple[list, Callable]] = {
    "relu": (["input"], _relu_fn),
    "relu_": (["input"], _relu_fn),
    "add": _ADD,
    "add_": _ADD,
    "mul": _MUL,
    "mul_": _MUL,
    "clamp": _CLAMP,
    "clamp_": _CLAMP,
    "clip": _CLAMP,
    "flatten": _FLAT,
    "contiguous": (["input"], lambda c, n, a, s: c.alias_to(n, a["input"])),
    "mean": (["input", "dim", "keepdim", "dtype"], _mean_fn),
    "sigmoid": (["input"], _table_fn("sigmoid")),
    "tanh": (["input"], _table_fn("tanh")),
    "matmul": (["input", "other"], lambda c, n, a, s: c.matmul(n, a["input"], a["other"], s)),
    "transpose": (["input", "dim0", "dim1"], _transpose_fn),
    "softmax": (["input", "dim", "dtype"], _softmax_fn),
    "div": (["input", "other"], _div_fn),
}


def lower(model: nn.Module, example: torch.Tensor) -> Lowered:
    """Trace ``model`` and map its fx nodes to layers; raises ``UnsupportedOpError``."""
    gm = fx.symbolic_trace(model)
    rec = _Recorder(gm)
    rec.shapes, rec.consts = {}, {}
    with torch.no_grad():
        rec.run(example)
    ctx = _Ctx(gm, rec.shapes, rec.consts)
    modules = dict(gm.named_modules())
    outputs: list[str] = []
    for node in gm.graph.nodes:
        if node.op == "output":
            outs = node.args[0] if isinstance(node.args[0], (tuple, list)) else [node.args[0]]
            outputs = [ctx.src(node, o) for o in outs]
            for o in outs:
                ctx.plain(node, o, "an output")
            continue
        if node.op == "placeholder":
            if any(lay.op == "input" for lay in ctx.layers):
                ctx.err(node, "only one input tensor is supported")
            ctx.add_layer(node, "input", [], "input")
            continue
        if node.name not in ctx.seen:
            # a python value (shape arithmetic); allowed only from shape queries
            ok = (node.op == "call_method" and node.target in ("size", "dim")) or (
                node.op == "call_function"
                and node.target in _META_FUNCS
                and (node.target is not getattr or node.args[1] in ("shape", "ndim"))
            )
            if not ok:
                ctx.err(node, "produces a non-tensor value; only shape queries may")
            continue
        if node.op == "get_attr":
            ctx.err(node, "direct use of a parameter/buffer is not supported")
        if node.op == "call_module":
            m = modules[node.target]
            name = f"{node.target} ({type(m).__name__})"
            if len(node.args) != 1 or node.kwargs:
                ctx.err(node, "module called with more than one argument")
            handler = next((h for cls, h in MODULE_HANDLERS if isinstance(m, cls)), None)
            if handler is None:
                ctx.err(node, f"module type {type(m).__name__} is not supported")
            handler(ctx, node, m, node.args[0], name)
        elif node.op == "call_function":
            try:
                entry = FUNCTION_HANDLERS.get(node.target)
            except TypeError:  # unhashable target
                entry = None
            if entry is None:
                ctx.err(node, "function is not supported")
            names, handler = entry
            handler(ctx, node, _bind(node, names), _describe(node))
        elif node.op == "call_method":
            if node.target in ("view", "reshape"):
                ctx.reshape(node, node.args[0])
                continue
            if node.target == "permute":
                _permute_method(ctx, node, {}, "")
                continue
            entry = METHOD_HANDLERS.get(node.target)
            if entry is None:
                ctx.err(node, "method is not supported")
            names, handler = entry
            handler(ctx, node, _bind(node, names), _describe(node))
    if not outputs:
        raise UnsupportedOpError("model has no tensor output")
    _check_shapes(ctx.layers)
    return Lowered(gm, ctx.layers, ctx.alias, outputs)


def _check_shapes(layers: list) -> None:
    for lay in layers:
        if lay.op in ("conv", "maxpool", "avgpool") and len(lay.out_shape) != 4:
            raise UnsupportedOpError(f"fx node {lay.name!r}: {lay.op} output is not (N, C, H, W)")
        if lay.op == "linear" and len(lay.out_shape) not in (2, 3):
            raise UnsupportedOpError(f"fx node {lay.name!r}: linear output is not (N, F) or "
                                     "(B, T, F)")


def dense_macs(lowered: Lowered) -> int:
    """Dense conv + linear + matmul MACs of a lowered model at its example batch size."""
    total = 0
    for lay in lowered.layers:
        if lay.op == "conv":
            w = lay.module.weight
            total += math.prod(lay.out_shape) * math.prod(w.shape[1:])
        elif lay.op == "linear":
            total += math.prod(lay.out_shape) * lay.module.weight.shape[1]
        elif lay.op == "matmul":
            total += math.prod(lay.out_shape) * lay.params["inner"]
    return total
