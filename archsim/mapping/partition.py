"""Partitioning a GEMM layer over a group of tiles.

In:  GEMM sizes M (output pixels), N (filters), K, the number of tiles T, a partition request
     (``auto`` | ``out_channels`` | ``out_pixels``), the design point, dataflow and cycles/MAC.
Out: (tm, tn) with tm * tn <= T: the layer's output pixels are cut into tm ranges and its
     filters into tn ranges (``split_range`` gives the balanced integer ranges).

``out_channels`` prefers filters (tn = min(T, N), leftover tiles split pixels), ``out_pixels``
prefers pixels; ``auto`` evaluates power-of-two block counts (and the largest) with the fold
model and an edge-memory traffic estimate (the input tensor re-read by every filter block, the
compressed weights by every pixel block) and keeps the fastest, ties broken towards fewer
tiles, then towards filter splits -- so it may leave tiles idle when replicated traffic would
cost more than their compute saves.  ``sparse_ratio(tn)`` (when pruned weights are skipped)
scales the dense fold by the slowest of the ``tn`` filter blocks' sparse / dense fold cycles,
so a heavily pruned layer is not spread over tiles it cannot keep busy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from archsim.mapping.fold import fold_cycles

__all__ = ["LayerBytes", "choose_partition", "split_range"]


def split_range(total: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ranges covering [0, total), sizes differing by at most one."""
    parts = max(1, min(parts, total)) if total > 0 else 1
    base, extra = divmod(total, parts)
    out, start = [], 0
    for i in range(parts):
        size = base + (1 if i < extra else 0)
        out.append((start, start + size))
        start += size
    return out


@dataclass(frozen=True)
class LayerBytes:
    """Bytes a layer moves once: its input tensor, its (compressed) weights, its output."""

    inputs: int
    weights: int
    outputs: int


def _estimate(m, n, k, tm, tn, arch, dataflow, cpm, nbytes: LayerBytes,
              scale: float = 1.0) -> float:
    """Slowest of: per-tile compute, input reads, weight reads, edge links, the busiest
    tile's own link (cycles)."""
    R, C = arch.tile.pe_array.rows, arch.tile.pe_array.cols
    compute = fold_cycles(dataflow, R, C, -(-m // tm), -(-n // tn), k).cycles * cpm * scale
    if arch.ideal_memory:
        return compute
    d = arch.dram
    dram_bw = d.channels * d.bytes_per_cycle_per_channel
    in_traffic = nbytes.inputs * tn  # every filter block reads the whole input
    w_traffic = nbytes.weights * tm  # every pixel block reads its filters' weights
    fits = nbytes.inputs <= arch.gbuf.capacity_bytes
    gbuf_bw = arch.gbuf.ports * arch.gbuf.bytes_per_cycle
    dram_traffic = w_traffic + (0 if fits else in_traffic)
    edge_bw = d.channels * arch.interconnect.link_bytes_per_cycle
    # a task's fixed cost: the memory latency and the mesh crossing of its first transfer
    hop = arch.interconnect.hop_latency_cycles + arch.tile.router.latency_cycles
    fixed = d.latency_cycles + (arch.grid.rows + arch.grid.cols) * hop
    # one tile receives through one router port: its input block (the whole input when
    # only filters are split), its filters' weights, and writes its outputs
    per_tile = (nbytes.inputs / tm + nbytes.weights / tn + nbytes.outputs / (tm * tn)) / \
        arch.interconnect.link_bytes_per_cycle
    return fixed + max(compute, (in_traffic / gbuf_bw) if fits else 0.0, dram_traffic / dram_bw,
                       (in_traffic + w_traffic + nbytes.outputs) / edge_bw, per_tile)


def _candidates(limit: int) -> list[int]:
    """1, 2, 4, ... up to ``limit``, and ``limit`` itself."""
    out, v = [], 1
    while v < limit:
        out.append(v)
        v *= 2
    return out + [limit]


def choose_partition(m: int, n: int, k: int, tiles: int, request: str, arch, dataflow: str,
                     cpm: float, nbytes: LayerBytes,
                     sparse_ratio: Callable[[int], float] | None = None) -> tuple[int, int]:
    """(tm, tn) for the request (see module doc); ``sparse_ratio``: see module doc, or None."""
    if tiles <= 1:
        return 1, 1
    if request == "out_channels":
        tn = min(tiles, n)
        return max(1, min(m, tiles // tn)), tn
    if request == "out_pixels":
        tm = min(tiles, m)
        return tm, max(1, min(n, tiles // tm))
    best = None
    for tn in _candidates(min(tiles, n)):
        scale = 1.0 if sparse_ratio is None else sparse_ratio(tn)
        for tm in _candidates(min(m, tiles // tn)):
            est = _estimate(m, n, k, tm, tn, arch, dataflow, cpm, nbytes, scale)
            key = (est, tm * tn, -tn)
            if best is None or key < best[0]:
                best = (key, (tm, tn))
    return best[1]
