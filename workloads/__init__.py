"""Workloads for archsim: model zoo, small nets, datasets, pruning, quantisation, export.

Everything torch lives here; ``archsim`` reads the exported graphs without torch.

Public API:
    build(name, sparsity=0.0, seed=0, weight_bits=9, act_bits=8, calib="default",
          sample=None, checkpoint=None) -> validated workload graph (networkx.DiGraph)
    names() -> list of model names build accepts
    to_workload(model, calib_images, name, ...) -> (graph, QuantizedModel) for any
          traceable nn.Module (workloads.export)
    from_module(module, images, act_bits=8, weight_bits=9, name=None) -> graph with its torch
          integer reference attached, ready for archsim.simulate(..., functional=True)
    reference_outputs(graph, x_int) -> {node: int64 array} (workloads.reference)
Submodules: models, mobile, small, data, prune, lower, quant, fakequant, export, reference,
zoo.
"""

from workloads.export import export_graph, from_module, to_workload
from workloads.lower import UnsupportedOpError
from workloads.reference import attach_reference, reference_outputs
from workloads.zoo import build, build_quantized, names

__all__ = [
    "UnsupportedOpError",
    "attach_reference",
    "build",
    "build_quantized",
    "export_graph",
    "from_module",
    "names",
    "reference_outputs",
    "to_workload",
]
