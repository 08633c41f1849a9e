"""Partitioning a GEMM layer over a group of tiles.

In:  GEMM sizes M (output pixels), N (filters), K, the number of tiles T, a partition request
     (``auto`` | ``out_channels`` | ``out_pixels``), the design point, dataflow and cycles/MAC.
Out: (tm, tn) with tm * tn <= T: the layer's output pixels are cut into tm ranges and its
     filters into tn ranges (``split_range`` gives the balanced integer ranges).

``out_channels`` prefers filters (tn = min(T, N), leftover tiles split pixels), ``out_pixels``
prefers pixels; ``auto`` evaluates every factorisation with the dense fold model and an edge
memory traffic estimate (inputs re-read by every filter block, weights by every pixel block)
and keeps the fastest, ties broken towards fewer tiles, then towards filter splits.
"""

from __future__ import annotations

from archsim.fold import fold_cycles

__all__ = ["split_range", "choose_partition"]


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


def _estimate(m, n, k, tm, tn, arch, dataflow, cpm, act_bytes) -> float:
    """Slowest of: per-tile compute, input reads, weight reads, edge links (cycles)."""
    R, C = arch.tile.pe_array.rows, arch.tile.pe_array.cols
    mm = -(-m // tm)
    nn = -(-n // tn)
    compute = fold_cycles(dataflow, R, C, mm, nn, k).cycles * cpm
    if arch.ideal_memory:
        return compute
    d = arch.dram
    dram_bw = d.channels * d.bytes_per_cycle_per_channel
    in_bytes = m * k * act_bytes * tn  # every filter block re-reads the inputs (im2col size)
    fits = m * k * act_bytes <= arch.gbuf.capacity_bytes
    in_bw = arch.gbuf.ports * arch.gbuf.bytes_per_cycle if fits else dram_bw
    w_bytes = n * k * tm  # every pixel block re-reads the weights
    edge_bw = d.channels * arch.interconnect.link_bytes_per_cycle
    return max(compute, in_bytes / in_bw, w_bytes / dram_bw,
               (in_bytes + w_bytes + m * n * act_bytes) / edge_bw)


def choose_partition(m: int, n: int, k: int, tiles: int, request: str, arch, dataflow: str,
                     cpm: float, act_bytes: int) -> tuple[int, int]:
    if tiles <= 1:
        return 1, 1
    if request == "out_channels":
        tn = min(tiles, n)
        return max(1, min(m, tiles // tn)), tn
    if request == "out_pixels":
        tm = min(tiles, m)
        return tm, max(1, min(n, tiles // tm))
    best = None
    for tn in range(1, min(tiles, n) + 1):
        tm = min(m, tiles // tn)
        if tm < 1:
            continue
        est = _estimate(m, n, k, tm, tn, arch, dataflow, cpm, act_bytes)
        key = (est, tm * tn, -tn)
        if best is None or key < best[0]:
            best = (key, (tm, tn))
    return best[1]
