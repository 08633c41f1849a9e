"""Batch size: run a workload graph for ``arch.batch`` inferences.

In:  a workload graph (batch = the leading dimension of its shapes) and the design point's
     ``batch``.
Out: the same graph when the batches agree; a copy with every shape's batch dimension, edge
     bytes and MAC counts scaled when the graph has batch 1 and carries no data; otherwise a
     :class:`BatchError` saying what to change (functional runs need that many real inputs:
     build the workload with ``sample=batch``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archsim.errors import BatchError
from archsim.graph.ir import edge_bytes

if TYPE_CHECKING:  # networkx is slow to import; graphs may also be archsim.graph.dag.Dag
    import networkx as nx

__all__ = ["BatchError", "apply_batch"]


def graph_batch(g: nx.DiGraph) -> int:
    return int(g.nodes[g.graph["inputs"][0]]["out_shape"][0])


def apply_batch(g: nx.DiGraph, batch: int | None, source: str = "<arch>") -> nx.DiGraph:
    have = graph_batch(g)
    if batch is None or batch == have:
        return g
    if have != 1 or "sample_input" in g.graph:
        raise BatchError(
            f"{source}: field 'batch' is {batch} but workload {g.graph.get('name')!r} was built "
            f"for batch {have}{' with real inputs' if 'sample_input' in g.graph else ''}; "
            f"set batch: {have}, or rebuild the workload with sample={batch} (functional) or "
            "without a sample (timing only)"
        )
    h = g.copy()
    h.graph = dict(g.graph)
    for n in h.nodes:
        a = dict(h.nodes[n])
        a.pop("ref_output", None)
        shape = tuple(a["out_shape"])
        a["out_shape"] = (batch,) + shape[1:]
        for key in ("macs_dense", "macs_nonzero"):
            if key in a:
                a[key] = int(a[key]) * batch
        h.nodes[n].clear()
        h.nodes[n].update(a)
    for u, v in h.edges:
        shape = h.nodes[u]["out_shape"]
        h.edges[u, v]["shape"] = shape
        h.edges[u, v]["bytes"] = edge_bytes(shape, h.nodes[u]["out_lo"], h.nodes[u]["out_hi"])
    return h
