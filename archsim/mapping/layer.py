"""Facts of the GEMM layers of a workload graph, shared by the mapper and the plan generators.

In:  a validated workload graph (docs/workload_graph.md) and a design point's tile buffers.
Out: :func:`graph_aliases` (nodes that are free views of another tensor: flatten, a relu after an
     already clamped output), :func:`gemm_layers` -> ``{node: GemmLayer}`` in topological order,
     and :class:`GemmLayer` with the layer's GEMM sizes (M pixels, N filters, K reduction), its
     weight non-zero mask, the bytes of a weight block, the input region a block reads and
     whether a chunk fits the tile buffers (:func:`buffer_caps` gives the usable capacities).

The reduction is split over input channels of a group: part ``[kc0, kc1)`` covers rows
``[kc0 * kk, kc1 * kk)`` of the (K, N) weight matrix, ``kk`` = kernel positions (1 for linear).
Partial sums are 32-bit (``PARTIAL_BYTES``), as the accumulators of the ws/is dataflows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from archsim.graph.dag import insertion_topo_order, lexicographic_topo_order
from archsim.mapping.regions import Region, TensorGeom, conv_input_region, geom_of

if TYPE_CHECKING:
    import networkx as nx

    from archsim.design.arch import ArchConfig

__all__ = ["PARTIAL_BYTES", "GemmLayer", "buffer_caps", "gemm_layers", "graph_aliases",
           "sram_traffic"]

PARTIAL_BYTES = 4  # one 32-bit partial sum


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def mapping_order(g: nx.DiGraph) -> list[str]:
    """The order the mapper visits nodes: topological, ties among ready nodes by name, unless
    the graph keeps its insertion order (SCALE-Sim topologies: layers run in row order)."""
    if g.graph.get("topo_order") == "insertion":
        return insertion_topo_order(g)
    return lexicographic_topo_order(g)


def graph_aliases(g: nx.DiGraph, order: list[str]) -> dict[str, str]:
    """Free views: flatten, and a relu whose input is already clamped at >= 0 -> its input."""
    aliases: dict[str, str] = {}

    def base(n: str) -> str:
        while n in aliases:
            n = aliases[n]
        return n

    for node in order:
        a = g.nodes[node]
        op = a["op"]
        if op == "flatten" or (op == "relu"
                               and int(g.nodes[base(a["inputs"][0])]["out_lo"]) >= 0):
            aliases[node] = a["inputs"][0]
    return aliases


def buffer_caps(arch: ArchConfig) -> dict[str, int]:
    """Usable bytes of each tile buffer for one chunk (half when double-buffered)."""
    t = arch.tile
    div = 1 if arch.ideal_memory else 2
    return {name: cfg.capacity_bytes // (div if cfg.double_buffered else 1)
            for name, cfg in (("ifmap", t.sram.ifmap), ("weight", t.sram.weight),
                              ("ofmap", t.sram.ofmap))}


@dataclass(frozen=True, kw_only=True, eq=False)
class GemmLayer:
    """One conv / linear node as a GEMM (see module doc)."""

    node: str
    op: str
    attrs: dict[str, Any] = field(repr=False)
    M: int
    N: int
    K: int
    groups: int
    kk: int  # kernel positions per input channel (K = cin_per_group * kk)
    cin_per_group: int
    mask: np.ndarray = field(repr=False)  # (K, N) weight non-zero mask
    wbits: int
    act_bytes: int
    in_tensor: str  # base tensor read
    in_geom: TensorGeom
    out_geom: TensorGeom

    @property
    def macs(self) -> int:
        return self.M * self.N * self.K

    def k_rows(self, kc: tuple[int, int] | None) -> tuple[int, int]:
        if kc is None:
            return 0, self.K
        return kc[0] * self.kk, kc[1] * self.kk

    def weight_bytes(self, c0: int, c1: int, kc: tuple[int, int] | None = None,
                     skip_zeros: bool = True) -> int:
        """Bytes of filters [c0, c1) over reduction part ``kc`` (compressed when sparse)."""
        k0, k1 = self.k_rows(kc)
        el = self.wbits / 8.0
        dense = (k1 - k0) * (c1 - c0) * el
        if not skip_zeros:
            return int(np.ceil(dense))
        nnz = int(self.mask[k0:k1, c0:c1].sum())
        sparse = nnz * el + (k1 - k0) * (c1 - c0) / 8.0
        return int(np.ceil(min(dense, sparse)))

    def input_region(self, m0: int, m1: int, c0: int, c1: int,
                     kc: tuple[int, int] | None = None) -> Region:
        """Input region read by output pixels [m0, m1) x filters [c0, c1) (part ``kc``)."""
        if self.op == "linear":
            reg = self.in_geom.batch_region(m0, m1)
        else:
            reg = conv_input_region(self.attrs, self.in_geom, self.out_geom, m0, m1, c0, c1)
        if kc is not None and self.groups == 1:
            reg = Region(kc[0], kc[1], reg.p0, reg.p1)
        return reg

    def misfit(self, caps: dict[str, int], r0: int, r1: int, c0: int, c1: int,
               kc: tuple[int, int] | None = None, partial: bool = False,
               skip_zeros: bool = True) -> str | None:
        """The first buffer a chunk overflows (``"weight"``, ``"ifmap"``, ``"ofmap"``) or None."""
        if self.weight_bytes(c0, c1, kc, skip_zeros) > caps["weight"]:
            return "weight"
        if self.input_region(r0, r1, c0, c1, kc).elements * self.act_bytes > caps["ifmap"]:
            return "ifmap"
        el = PARTIAL_BYTES if partial else self.act_bytes
        if (r1 - r0) * (c1 - c0) * el > caps["ofmap"]:
            return "ofmap"
        return None


def gemm_layers(g: nx.DiGraph, order: list[str] | None = None,
                aliases: dict[str, str] | None = None) -> dict[str, GemmLayer]:
    """``{node: GemmLayer}`` of every conv / linear node, in topological order."""
    order = mapping_order(g) if order is None else order
    aliases = graph_aliases(g, order) if aliases is None else aliases
    act_bytes = _ceil(int(g.graph.get("act_bits", 8)), 8)

    def base(n: str) -> str:
        while n in aliases:
            n = aliases[n]
        return n

    out: dict[str, GemmLayer] = {}
    for node in order:
        a = g.nodes[node]
        if a["op"] not in ("conv", "linear"):
            continue
        w = np.asarray(a["weight"])
        shape = a["out_shape"]
        if a["op"] == "linear":
            M, N, K, groups, kk = shape[0], w.shape[0], w.shape[1], 1, 1
        else:
            n, o, ho, wo = shape
            groups = int(a.get("groups", 1))
            M, N, K = n * ho * wo, o, int(np.prod(w.shape[1:]))
            kk = int(np.prod(w.shape[2:]))
        src = base(a["inputs"][0])
        out[node] = GemmLayer(
            node=node, op=a["op"], attrs=a, M=int(M), N=int(N), K=int(K), groups=groups,
            kk=kk, cin_per_group=int(K) // kk, mask=(w.reshape(w.shape[0], -1) != 0).T,
            wbits=int(a.get("weight_bits", 8)), act_bytes=act_bytes, in_tensor=src,
            in_geom=geom_of(g.nodes[src]["out_shape"]), out_geom=geom_of(shape))
    return out


def sram_traffic(df: str, ab: int, m: int, n: int, K: int, executed: int, R: int, C: int,
                 partial: bool = False) -> tuple[tuple, tuple]:
    """Operand bytes an m x n x K chunk reads from / writes to the tile buffers in compute:
    ``(("ifmap", b), ("weight", b), ("ofmap", b))`` and ``(("ofmap", b),)``; ``ab`` bytes per
    activation, ``executed`` MACs after zero skipping, partial sums 32-bit."""
    dens = executed / max(1, m * n * K)
    if df == "os":
        if_r = m * K * _ceil(n, C) * ab * dens
        w_r = n * K * _ceil(m, R) * dens
        of_w = m * n * (PARTIAL_BYTES if partial else ab)
        of_r = 0
    elif df == "ws":
        if_r = m * K * _ceil(n, C) * ab * dens
        w_r = n * K * dens
        of_w = m * n * _ceil(K, R) * 4
        of_r = m * n * max(0, _ceil(K, R) - 1) * 4
    else:
        if_r = m * K * ab
        w_r = n * K * _ceil(m, C) * dens
        of_w = m * n * _ceil(K, R) * 4
        of_r = m * n * max(0, _ceil(K, R) - 1) * 4
    return (("ifmap", int(if_r)), ("weight", int(w_r)), ("ofmap", int(of_r))), \
        (("ofmap", int(of_w)),)
