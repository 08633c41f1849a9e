"""The heuristic plan generator: the project's one-shot mapping rules, written out as a plan.

In:  a workload graph, a design point, the run's dataflow and a :class:`MappingSpec`
     (strategy ``layer`` | ``pipeline``, partition ``auto`` | ``out_channels`` | ``out_pixels``).
Out: a :class:`~archsim.mapping.plan.MappingPlan` (``generator: heuristic``) that
     :func:`archsim.mapping.schedule.build_schedule` turns into the Schedule.

Rules (one dataflow for every layer, no reduction split, inputs not kept; a product of two
activations -- matmul -- is planned like a GEMM layer whose filter split is at most its
heads, the pixel split taking the tiles that leaves):
  - ``layer``: every GEMM layer on all tiles, its own group; (pixels x filters) split by
    :func:`archsim.mapping.partition.choose_partition` (weights as stored under the design
    point's sparsity mode; the sparse / dense fold ratio when the mode skips zeros);
  - ``pipeline``: the GEMM layers share one group, each on a contiguous tile range sized by
    its MACs (round-robin single tiles when there are more layers than tiles); output pixels
    cut into ``stream_blocks`` row blocks per tile;
  - temporal tiles: filters halved (from the widest block) until a chunk's weights fit the
    weight buffer, then pixels halved until every chunk's input and output fit (outputs whose
    reduction is split over folds held at acc_bits); one pair of sizes per layer (the
    smallest any block needs);
  - buffers (input, weight, output): ``double`` where the design point double-buffers them
    (chunks sized for half),
    ``single`` where it does not (:func:`~archsim.mapping.layer.buffer_modes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from archsim.mapping.layer import (
    GemmLayer,
    buffer_caps,
    buffer_modes,
    gemm_layers,
    graph_aliases,
    mapping_order,
)
from archsim.mapping.partition import LayerBytes, choose_partition, split_range
from archsim.mapping.plan import LayerPlan, MappingPlan

if TYPE_CHECKING:
    import networkx as nx

    from archsim.design.arch import ArchConfig

__all__ = ["chunk_sizes", "heuristic_plan", "pipeline_tile_groups", "sparse_fold_ratio"]


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def pipeline_tile_groups(layers: list[GemmLayer], n_tiles: int) -> dict[str, tuple[int, int]]:
    """``{node: (first tile, count)}``: tiles shared out by MACs (module doc)."""
    groups: dict[str, tuple[int, int]] = {}
    if not layers:
        return groups
    if len(layers) >= n_tiles:
        for i, L in enumerate(layers):
            groups[L.node] = (i % n_tiles, 1)
        return groups
    macs = np.array([max(1, int(L.attrs["macs_dense"])) for L in layers], float)
    share = np.maximum(1, np.floor(macs / macs.sum() * n_tiles)).astype(int)
    while share.sum() > n_tiles:
        share[int(np.argmax(share))] -= 1
    rest = n_tiles - int(share.sum())
    frac = macs / macs.sum() * n_tiles - share
    for i in np.argsort(-frac, kind="stable")[:rest]:
        share[i] += 1
    start = 0
    for L, s in zip(layers, share):
        groups[L.node] = (start, int(s))
        start += int(s)
    return groups


def sparse_fold_ratio(L: GemmLayer, dataflow: str):
    """tn -> the largest sparse / dense fold-cycle ratio over ``tn`` filter blocks (the
    layer's sparsity rule against dense timing)."""
    def ratio(tn: int) -> float:
        worst = 0.0
        for n0, n1 in split_range(L.N, tn):
            dense = L.fold(dataflow, L.M, n0, n1, dense=True).cycles
            if dense:
                worst = max(worst, L.fold(dataflow, L.M, n0, n1).cycles / dense)
        return worst

    return ratio


def chunk_sizes(L: GemmLayer, arch: ArchConfig, dataflow: str, tm: int,
                tn: int) -> tuple[int, int] | None:
    """(chunk_pixels, chunk_channels) by halving (module doc); None when one pixel x one filter
    does not fit."""
    m_parts, n_parts = split_range(L.M, tm), L.n_parts(tn)
    if arch.ideal_memory:
        return max(b - a for a, b in m_parts), max(b - a for a, b in n_parts)
    caps = buffer_caps(arch)
    nc = None
    for n0, n1 in n_parts:
        c = n1 - n0
        while c > 1 and L.weight_bytes(dataflow, n0, n0 + c) > caps["weight"]:
            c = _ceil(c, 2)
        nc = c if nc is None else min(nc, c)
    if L.weight_bytes(dataflow, n_parts[0][0], n_parts[0][0] + 1) > caps["weight"]:
        return None
    mc = max(b - a for a, b in m_parts)
    while True:
        bad = False
        for n0, n1 in n_parts:
            for c0 in range(n0, n1, nc):
                c1 = min(n1, c0 + nc)
                for m0, m1 in m_parts:
                    for r0 in range(m0, m1, mc):
                        if L.misfit(caps, dataflow, r0, min(m1, r0 + mc), c0, c1):
                            bad = True
                            break
                    if bad:
                        break
                if bad:
                    break
            if bad:
                break
        if not bad:
            return mc, nc
        if mc == 1:
            return None
        mc = _ceil(mc, 2)


def heuristic_plan(g: nx.DiGraph, arch: ArchConfig, dataflow: str, spec: Any,
                   layers: dict[str, GemmLayer] | None = None) -> MappingPlan:
    """The plan of the heuristic rules (module doc) for ``spec`` (an
    :class:`archsim.mapping.schedule.MappingSpec`); unmappable layers fail in the mapper."""
    order = mapping_order(g)
    if layers is None:
        layers = gemm_layers(g, arch, order, graph_aliases(g, order))
    T = arch.n_tiles
    pipeline = spec.strategy == "pipeline"
    tgroups = pipeline_tile_groups(list(layers.values()), T) if pipeline else {}
    pe = arch.pe()
    cpm = float(pe.cycles_per_mac)
    in_buf, w_buf, out_buf = buffer_modes(arch)
    out: list[LayerPlan] = []
    for gi, (node, L) in enumerate(layers.items()):
        first, count = tgroups.get(node, (0, T))
        if pipeline:
            tm, tn = min(L.M, count * spec.stream_blocks), 1
        else:
            w_bytes = int(L.weight_bytes_exact(dataflow, 0, L.N))
            nbytes = LayerBytes(L.in_geom.elements * L.act_bytes, w_bytes,
                                L.M * L.N * L.act_bytes)
            ratio = None if L.rule.mode == "none" else sparse_fold_ratio(L, dataflow)
            tm, tn = choose_partition(L.M, L.N, L.K, count, spec.partition, arch, dataflow,
                                      cpm, nbytes, ratio)
            if L.dynamic and tn > L.heads:  # a matmul's filter splits follow heads
                tn = L.heads
                tm = min(L.M, max(tm, count // tn))
        sizes = chunk_sizes(L, arch, dataflow, tm, tn)
        # a layer that cannot fit keeps 1 x 1 chunks: the mapper reports what overflows
        mc, nc = sizes if sizes is not None else (1, 1)
        out.append(LayerPlan(layer=node, dataflow=dataflow, tile_first=first,
                             tile_count=count, split_pixels=tm, split_channels=tn, split_k=1,
                             chunk_pixels=mc, chunk_channels=nc, loop_order="channel_major",
                             group=0 if pipeline else gi, input_buffer=in_buf,
                             weight_buffer=w_buf, output_buffer=out_buf))
    return MappingPlan(label=spec.label(), generator="heuristic", dataflow=dataflow,
                       keep_inputs=False, min_vector_elements=spec.min_vector_elements,
                       layers=tuple(out))
