"""Export a quantised model to the workload graph (docs/workload_graph.md).

Inputs: any traceable float ``nn.Module`` plus calibration images, or a ``QuantizedModel``.
Outputs:
    export_graph(qm, name, ...) -> networkx.DiGraph, validated
    to_workload(model, calib_images, name, ...) -> (DiGraph, QuantizedModel): lower with
        torch.fx, quantise, export. The graph's batch is the batch of ``example`` (default 1).
    from_module(module, images, act_bits=8, weight_bits=9, name=None) -> DiGraph ready for
        ``archsim.simulate(arch, graph, functional=True)``: all ``images`` calibrate, the
        first is the integer ``sample_input``, every node carries its torch reference output
        (docs/own_model.md).
Per-op attributes come from the table ``EXPORTERS`` (op -> function), next to
``workloads.lower``'s handler tables and ``workloads.quant.QUANTISERS``: a new op is one row in
each. Node names are torch.fx node names (unique, e.g. ``layer1_0_conv1``, ``add_3``, ``cat``); the
``source`` attribute says which module(s) or function the node came from.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import torch

from archsim.graph.ir import FORMAT_VERSION, edge_bytes, validate_workload
from workloads.lower import lower
from workloads.quant import QuantizedModel, quantize


def _gemm_attrs(a: dict, lay, ql, qm: QuantizedModel) -> None:
    w = np.ascontiguousarray(ql.weight, dtype=np.int64)
    src = qm.qlayers[lay.inputs[0]]
    a.update(
        weight=w,
        mask=w != 0,
        bias=np.asarray(ql.bias, dtype=np.int64),
        weight_bits=int(qm.weight_bits),
        act_bits=int(qm.act_bits),
        w_scale=np.asarray(ql.w_scale, dtype=np.float64),
        requant_mult=np.asarray(ql.requant_mult, dtype=np.int64),
        requant_shift=int(ql.requant_shift),
        # the input's declared sign and integer range (the producer's clamp range)
        in_signed=bool(src.out_lo < 0),
        in_lo=int(src.out_lo),
        in_hi=int(src.out_hi),
    )
    shape = a["out_shape"]
    pix = shape[0] * shape[2] * shape[3] if lay.op == "conv" else int(np.prod(shape[:-1]))
    a["empty"] = not bool(np.any(w))  # every weight pruned (or rounded) to zero
    a["macs_dense"] = int(pix * w.size)
    a["macs_nonzero"] = int(pix * np.count_nonzero(w))
    if lay.op == "conv":
        p = lay.params
        a.update(stride=tuple(p["stride"]), padding=tuple(p["padding"]), groups=int(p["groups"]),
                 dilation=tuple(p.get("dilation", (1, 1))))


def _pool_attrs(a: dict, lay, ql, qm) -> None:
    p = lay.params
    a.update(kernel=tuple(p["kernel"]), stride=tuple(p["stride"]), padding=tuple(p["padding"]))
    if lay.op == "avgpool":
        a.update(requant_mult=int(ql.requant_mult), requant_shift=int(ql.requant_shift))


def _merge_attrs(a: dict, lay, ql, qm) -> None:
    a.update(requant_mults=[int(m) for m in ql.requant_mults], requant_shift=int(ql.requant_shift))
    if lay.op == "concat":
        a["axis"] = int(lay.params["axis"])


def _none(a: dict, lay, ql, qm) -> None:
    return None


def _matmul_attrs(a: dict, lay, ql, qm) -> None:
    src = qm.qlayers[lay.inputs[0]]
    a.update(heads=int(lay.params["heads"]), transpose_b=bool(lay.params["transpose_b"]),
             requant_mult=int(ql.requant_mult), requant_shift=int(ql.requant_shift),
             macs_dense=int(np.prod(a["out_shape"])) * int(lay.params["inner"]),
             in_signed=bool(src.out_lo < 0), in_lo=int(src.out_lo), in_hi=int(src.out_hi))


def _norm_attrs(a: dict, lay, ql, qm) -> None:
    a.update(ql.extra, requant_mult=int(ql.requant_mult), requant_shift=int(ql.requant_shift))


# op -> exporter(attrs to update, layer, its QLayer, the QuantizedModel)
EXPORTERS = {
    "input": _none,
    "relu": _none,
    "conv": _gemm_attrs,
    "linear": _gemm_attrs,
    "maxpool": _pool_attrs,
    "avgpool": _pool_attrs,
    "add": _merge_attrs,
    "concat": _merge_attrs,
    "flatten": lambda a, lay, ql, qm: a.update(start_dim=int(lay.params["start_dim"])),
    "clamp": lambda a, lay, ql, qm: a.update(clamp_lo=int(ql.clamp[0]), clamp_hi=int(ql.clamp[1])),
    "table": lambda a, lay, ql, qm: a.update(
        table=np.asarray(ql.table, dtype=np.int64),
        table_lo=int(qm.qlayers[lay.inputs[0]].out_lo),
        fn=str(lay.params["fn"]),
    ),
    "mul": lambda a, lay, ql, qm: a.update(
        requant_mult=int(ql.requant_mult), requant_shift=int(ql.requant_shift)
    ),
    "matmul": _matmul_attrs,
    "softmax": lambda a, lay, ql, qm: a.update(ql.extra),
    "norm": _norm_attrs,
}


def _node_attrs(lay, ql, qm: QuantizedModel) -> dict:
    a = {
        "op": lay.op,
        "inputs": list(lay.inputs),
        "out_shape": tuple(int(d) for d in lay.out_shape),
        "out_scale": float(ql.out_scale),
        "out_lo": int(ql.out_lo),
        "out_hi": int(ql.out_hi),
        "source": lay.source,
    }
    EXPORTERS[lay.op](a, lay, ql, qm)
    return a


def export_graph(
    qm: QuantizedModel,
    name: str,
    *,
    sparsity: float = 0.0,
    pruning: str = "none (dense)",
    seed: int = 0,
    extra: dict | None = None,
) -> nx.DiGraph:
    """The validated workload graph of ``qm``; ``extra`` adds graph attributes."""
    low = qm.lowered
    g = nx.DiGraph()
    for lay in low.layers:
        g.add_node(lay.name, **_node_attrs(lay, qm.qlayers[lay.name], qm))
    for lay in low.layers:
        for p in dict.fromkeys(lay.inputs):
            src = g.nodes[p]
            g.add_edge(
                p,
                lay.name,
                shape=tuple(src["out_shape"]),
                bytes=edge_bytes(src["out_shape"], src["out_lo"], src["out_hi"]),
            )
    comp = [a for _, a in g.nodes(data=True) if a["op"] in ("conv", "linear")]
    n_w = sum(a["weight"].size for a in comp)
    n_z = sum(a["weight"].size - int(np.count_nonzero(a["weight"])) for a in comp)
    mm = [a["macs_dense"] for _, a in g.nodes(data=True) if a["op"] == "matmul"]
    g.graph.update(
        format_version=FORMAT_VERSION,
        name=str(name),
        inputs=[qm.input_name],
        outputs=list(low.outputs),
        act_bits=int(qm.act_bits),
        weight_bits=int(qm.weight_bits),
        sparsity=float(sparsity),
        pruning=str(pruning),
        seed=int(seed),
        batch=int(g.nodes[qm.input_name]["out_shape"][0]),
        sparsity_achieved=float(n_z / n_w) if n_w else 0.0,
        macs_dense=int(sum(a["macs_dense"] for a in comp) + sum(mm)),
        macs_nonzero=int(sum(a["macs_nonzero"] for a in comp) + sum(mm)),
        empty_layers=[n for n, a in g.nodes(data=True) if a.get("empty")],
    )
    g.graph.update(extra or {})
    validate_workload(g)
    return g


def to_workload(
    model: torch.nn.Module,
    calib_images: torch.Tensor,
    name: str,
    *,
    example: torch.Tensor | None = None,
    weight_bits: int = 9,
    act_bits: int = 8,
    sparsity: float = 0.0,
    pruning: str = "none (dense)",
    seed: int = 0,
    extra: dict | None = None,
) -> tuple[nx.DiGraph, QuantizedModel]:
    """Lower ``model`` (eval mode) with torch.fx, quantise on ``calib_images``, export.

    ``example`` fixes the graph's batch and input shape (default: the first calibration
    image). Raises ``workloads.lower.UnsupportedOpError`` naming an unsupported fx node.
    """
    model.eval()
    if example is None:
        example = calib_images[:1]
    low = lower(model, example.float())
    qm = quantize(low, calib_images, weight_bits=weight_bits, act_bits=act_bits)
    g = export_graph(qm, name, sparsity=sparsity, pruning=pruning, seed=seed, extra=extra)
    return g, qm


def from_module(
    module: torch.nn.Module,
    images: torch.Tensor,
    act_bits: int = 8,
    weight_bits: int = 9,
    name: str | None = None,
) -> nx.DiGraph:
    """A user's own model as a workload graph with its torch integer reference attached.

    ``images``: a float tensor batch (N, ...) in the model's input range; all N calibrate the
    activation ranges and the first one becomes the functional sample. The module is used as
    given (its weights, eval mode); graph attribute ``weights`` says so.
    """
    if not isinstance(images, torch.Tensor) or not images.is_floating_point() or images.ndim < 2:
        raise ValueError("from_module: images must be a float tensor batch (N, ...), got "
                         f"{type(images).__name__} {getattr(images, 'shape', '')}")
    if len(images) < 1:
        raise ValueError("from_module: images is empty")
    name = name or type(module).__name__
    g, qm = to_workload(
        module, images, name, example=images[:1], weight_bits=weight_bits, act_bits=act_bits,
        extra={"weights": f"user module {type(module).__name__} (as given)",
               "calib_source": f"user images 0..{len(images) - 1}"},
    )
    from workloads.reference import attach_reference

    return attach_reference(g, qm.quantize_input(images[:1]).numpy(), "user images 0..0")
