"""Systolic fold model: compute cycles and operand counts of one GEMM block on an R x C array.

In:  dataflow (``os`` | ``ws`` | ``is``), array rows R and cols C, a GEMM block M x N x K
     (M output pixels, N filters, K = window), optionally its weight non-zero mask (K, N) and
     a :class:`SparseRule` (the design point's sparsity mode as it applies to this layer).
Out: :class:`FoldCycles` -- folds, cycles (SCALE-Sim v3 closed form, docs/scalesim_sparse.md
     section 3), MACs issued / with a non-zero weight, operand elements read, partial sums
     written back, the weight operand as stored (elements and metadata bits).

Dense (no rule, or mode ``none``): cycles = folds * cycles_per_fold - 1, exactly SCALE-Sim's
stall-free count; every MAC is issued (zero weights included).
Sparse modes (docs/model.md, "Sparsity hardware"); K_c is the compacted reduction length of a
column fold (os / ws) and replaces K in the dense formula of that fold:
  - ``nm_structured`` (N:M per layer, SCALE-Sim v3): K_c = floor(K/M)*N + min(N, K mod M) for
    all three dataflows; with SCALE-Sim's optimised mapping (ws only) K_c = ceil(K/2B)*B.
  - ``filter_block``: os / ws drop the K rows that are zero in every filter of the column
    fold (K_c = rows with any non-zero); is streams only the filters with a non-zero in the
    fold's K rows.  Dead folds are skipped.
  - ``gather`` with window W: each column compacts its own non-zeros inside every block of W
    consecutive K rows; the fold needs K_c = sum over blocks of the densest column's count
    (W >= K: the densest column's non-zeros; W = 1: ``filter_block``).  is: as filter_block
    (the stationary operand is the input; a streamed filter cannot be compacted per row).
The PE kind's cycles per MAC and the gather network's latency / bandwidth scale or bound
these cycles (done by the caller).

Fold pipelining (``pipelined=True``, the design point's ``tile.pe_array.fold_pipelining``;
docs/model.md "Fold pipelining"): a shadow register per PE takes the next fold's stationary
operand (ws / is) or the finished sums (os) while the current fold streams, so fold f issues
max(T_f, R) cycles after fold f-1 (R cycles to shift an operand through R PEs) and the block
pays the fill / skew / drain once -- os: R + C - 2, ws / is: 2R + C - 2 -- keeping SCALE-Sim's
-1: cycles = sum_f max(T_f, R) + overhead - 1.  ``FoldCycles.fill_cycles`` is then the part of
it a predecessor streaming back to back hides (overhead - 1; 0 when not pipelined).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

__all__ = ["DATAFLOWS", "FoldCycles", "SparseRule", "fold_cycles", "nm_k", "overhead_cycles"]

DATAFLOWS = ("os", "ws", "is")
MODES = ("none", "nm_structured", "filter_block", "gather")


@dataclass(frozen=True, kw_only=True)
class SparseRule:
    """How one layer's zero weights are handled (built from ``tile.sparsity`` per layer)."""

    mode: str = "gather"
    nm: tuple[int, int] | None = None  # nm_structured: the layer's (N, M)
    window: int | None = None  # gather: compaction window W (None: the whole K)
    block_size: int = 0  # nm_structured optimised mapping: B (0 = off)
    metadata: str = "ellpack_block"  # nm_structured metadata format

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"sparsity mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.mode == "nm_structured" and not self.block_size:
            if self.nm is None:
                raise ValueError("nm_structured needs the layer's N:M")
            n, m = self.nm
            if not 1 <= n <= m:
                raise ValueError(f"N:M sparsity {n}:{m}: need 1 <= N <= M")


@dataclass(frozen=True)
class FoldCycles:
    """Result of the fold model for one block (counts in elements; see module doc)."""

    folds: int
    cycles: int  # includes SCALE-Sim's -1 (the last drain cycle overlaps the next block)
    macs_dense: int
    macs_mapped: int  # MACs issued to PEs (zero weights the compaction keeps included)
    pe_slots: int  # sum over folds of R * C * T: PE-cycles offered during the folds
    macs_nonzero: int = 0  # issued MACs whose weight is non-zero
    act_reads: int = 0  # activation elements read from the input buffer
    weight_reads: int = 0  # weight elements read from the weight buffer
    psum_writes: int = 0  # partial sums written back (and read again) between folds
    weights_stored: int = 0  # weight elements of the operand as stored (one pass)
    meta_bits: int = 0  # metadata bits stored with them
    fill_cycles: int = 0  # pipelined: overhead - 1 of ``cycles`` a back-to-back block hides

    @property
    def mapping_efficiency(self) -> float:
        return self.macs_mapped / self.pe_slots if self.pe_slots else 0.0

    def __add__(self, other: FoldCycles) -> FoldCycles:
        return FoldCycles(*(getattr(self, f.name) + getattr(other, f.name)
                            for f in fields(self)))


def _ceil(a, b):
    return -(-a // b)


def _bits(n: int) -> int:
    """Bits to tell ``n`` things apart (0 for one)."""
    return int(n - 1).bit_length() if n > 1 else 0


def nm_k(k: int, n: int, m: int) -> int:
    """SCALE-Sim v3's compacted reduction length: floor(K/M) * N + min(N, K mod M)."""
    return (k // m) * n + min(n, k % m)


def _block_sums(mask: np.ndarray, w: int) -> np.ndarray:
    """(blocks, N) non-zero counts of consecutive ``w``-row blocks of a (K, N) mask."""
    k, n = mask.shape
    pad = _ceil(k, w) * w - k
    mk = np.concatenate([mask, np.zeros((pad, n), dtype=bool)]) if pad else mask
    return mk.reshape(-1, w, n).sum(axis=1, dtype=np.int64)


def overhead_cycles(dataflow: str, R: int, C: int) -> int:
    """The fill / skew / drain of one fold beyond its T streaming cycles (SCALE-Sim's
    cycles per fold minus T): os R + C - 2, ws / is 2R + C - 2."""
    return R + C - 2 if dataflow == "os" else 2 * R + C - 2


def _total(dataflow, R, C, folds, t_sum, t_pipe, pipelined):
    """(cycles, fill_cycles) of ``folds`` folds of ``t_sum`` summed temporal lengths
    (``t_pipe``: the sum of max(T_f, R)); 0 folds -> (0, 0)."""
    if not folds:
        return 0, 0
    ovh = overhead_cycles(dataflow, R, C)
    if pipelined:
        return t_pipe + ovh - 1, ovh - 1
    return t_sum + folds * ovh - 1, 0


def _dense(dataflow, R, C, m, n, k, nnz_cols=None, pipelined=False):
    if dataflow == "os":
        sr, sc, t = m, n, k
    elif dataflow == "ws":
        sr, sc, t = k, n, m
    else:
        sr, sc, t = k, m, n
    folds = _ceil(sr, R) * _ceil(sc, C)
    macs = m * n * k
    nonzero = macs if nnz_cols is None else m * int(nnz_cols)
    col_folds = _ceil(n, C)
    if dataflow == "os":
        ar, wr, ps = m * k * col_folds, n * k * _ceil(m, R), 0
    elif dataflow == "ws":
        ar, wr, ps = m * k * col_folds, n * k, m * n * (_ceil(k, R) - 1)
    else:
        ar, wr, ps = m * k, n * k * _ceil(m, C), m * n * (_ceil(k, R) - 1)
    cyc, fill = _total(dataflow, R, C, folds, folds * t, folds * max(t, R), pipelined)
    return FoldCycles(folds, cyc, macs, macs, folds * R * C * t, nonzero, ar, wr,
                      ps, n * k, 0, fill)


def fold_cycles(dataflow: str, rows: int, cols: int, m: int, n: int, k: int,
                mask: np.ndarray | None = None, rule: SparseRule | None = None,
                pipelined: bool = False) -> FoldCycles:
    """Compute cycles of an M x N x K GEMM block on an R x C array (see module doc).

    ``mask`` without ``rule``: per-column gather over the whole K (``SparseRule()``);
    ``pipelined``: fold pipelining (shadow registers, module doc)."""
    if dataflow not in DATAFLOWS:
        raise ValueError(f"dataflow: {dataflow!r} is not one of {', '.join(DATAFLOWS)}")
    for name, v in (("rows", rows), ("cols", cols)):
        if v <= 0:
            raise ValueError(f"{name}: PE array size must be positive, got {v}")
    for name, v in (("M", m), ("N", n), ("K", k)):
        if v < 0:
            raise ValueError(f"GEMM {name} must be >= 0, got {v}")
    if m * n * k == 0:
        return FoldCycles(0, 0, 0, 0, 0)
    if mask is not None and mask.shape != (k, n):
        raise ValueError(f"mask shape {mask.shape} does not match (K, N) = ({k}, {n})")
    R, C = rows, cols
    if rule is None:
        rule = SparseRule() if mask is not None else SparseRule(mode="none")
    nnz = None if mask is None else int(mask.sum())
    if rule.mode == "none":
        return _dense(dataflow, R, C, m, n, k, nnz, pipelined)
    if rule.mode == "nm_structured":
        return _nm(dataflow, R, C, m, n, k, nnz, rule, pipelined)
    if mask is None:
        mask = np.ones((k, n), dtype=bool)
        nnz = k * n
    if dataflow == "is":
        return _is_blocks(R, C, m, n, k, mask, nnz, pipelined)
    w = 1 if rule.mode == "filter_block" else (rule.window or k)
    return _compact(dataflow, R, C, m, n, k, mask, nnz, w, rule.mode, pipelined)


def _nm(dataflow, R, C, m, n, k, nnz, rule: SparseRule, pipelined=False) -> FoldCycles:
    """N:M structured (SCALE-Sim v3): the dense model on the compacted K_c."""
    if rule.block_size:
        if dataflow != "ws":
            raise ValueError(f"optimised N:M mapping supports dataflow 'ws' only, not "
                             f"{dataflow!r} (as SCALE-Sim 3.0.0)")
        b = rule.block_size
        kc = _ceil(k, 2 * b) * b
        meta_per = _bits(rule.nm[1]) if rule.nm else _bits(b)
    else:
        kc = nm_k(k, *rule.nm)
        meta_per = _bits(rule.nm[1])
    d = _dense(dataflow, R, C, m, n, kc, pipelined=pipelined)
    stored = kc * n
    if rule.metadata == "ellpack_block" or rule.block_size:
        meta = stored * meta_per
    else:  # csr / csc on the K x N pattern: index per non-zero + pointers (log2-sized fields)
        nz = kc * n if nnz is None else nnz
        if rule.metadata == "csr":
            meta = nz * _bits(n) + (k + 1) * _bits(nz + 1)
        else:
            meta = nz * _bits(k) + (n + 1) * _bits(nz + 1)
    nonzero = d.macs_mapped if nnz is None else min(d.macs_mapped, m * nnz)
    # the selectors need the whole M-block of activations: reads follow the uncompacted K
    ar = m * k * _ceil(n, C) if dataflow != "is" else m * k
    return FoldCycles(d.folds, d.cycles, m * n * k, d.macs_mapped, d.pe_slots, nonzero, ar,
                      d.weight_reads, d.psum_writes, stored, meta, d.fill_cycles)


def _compact(dataflow, R, C, m, n, k, mask, nnz, w, mode, pipelined=False) -> FoldCycles:
    """os / ws with per-column compaction inside windows of ``w`` rows (filter_block: w=1)."""
    sums = _block_sums(mask, w)  # (blocks, n)
    starts = np.arange(0, k, w)
    lens = np.minimum(w, k - starts)
    folds = t_sum = t_pipe = issued = slots = ar = wr = ps = stored = meta = 0
    row_folds_os = _ceil(m, R)
    idx_bits, cnt_bits = _bits(w), _bits(w + 1)
    for c0 in range(0, n, C):
        nf = min(C, n - c0)
        bmax = sums[:, c0:c0 + nf].max(axis=1)
        kc = int(bmax.sum())
        fnz = int(mask[:, c0:c0 + nf].sum())
        # gather: an index per non-zero and a count per (column, window); filter_block: one
        # bitmap bit per K row of the column fold
        meta += fnz * idx_bits + nf * len(starts) * cnt_bits if mode == "gather" else k
        if kc == 0:
            continue  # an all-zero block of filters: skipped (the bitmap / counts say so)
        live_rows = int(lens[bmax > 0].sum())
        # gather: pads are bubbles, only non-zeros are issued and stored; filter_block: the
        # live rows of the fold are stored and issued densely
        iss = st = fnz if mode == "gather" else kc * nf
        stored += st
        if dataflow == "os":
            folds += row_folds_os
            t_sum += row_folds_os * kc
            t_pipe += row_folds_os * max(kc, R)
            slots += row_folds_os * kc * R * C
            wr += row_folds_os * st
        else:
            rf = _ceil(kc, R)
            folds += rf
            t_sum += rf * m
            t_pipe += rf * max(m, R)
            slots += rf * R * C * m
            wr += st
            ps += m * nf * (rf - 1)
        issued += m * iss
        ar += m * live_rows
    cycles, fill = _total(dataflow, R, C, folds, t_sum, t_pipe, pipelined)
    return FoldCycles(folds, cycles, m * n * k, issued, slots,
                      m * nnz, ar, wr, ps, stored, meta, fill)


def _is_blocks(R, C, m, n, k, mask, nnz, pipelined=False) -> FoldCycles:
    """is: a row fold (R consecutive K rows) streams only the filters it has non-zeros of."""
    sums = _block_sums(mask, R)  # (row folds, n)
    live = sums > 0
    t_fold = live.sum(axis=1).astype(np.int64)
    lens = np.minimum(R, k - np.arange(0, k, R))
    keep = t_fold > 0
    col_folds = _ceil(m, C)
    folds = col_folds * int(keep.sum())
    cycles, fill = _total("is", R, C, folds, col_folds * int(np.sum(t_fold[keep])),
                          col_folds * int(np.sum(np.maximum(t_fold[keep], R))), pipelined)
    slots = col_folds * int(np.sum(t_fold[keep])) * R * C
    per_pass = int(np.sum(t_fold * lens))  # weight elements of the live (fold, filter) blocks
    contrib = live.sum(axis=0)  # row folds each filter takes part in
    ps = m * int(np.maximum(contrib - 1, 0).sum())
    return FoldCycles(folds, cycles, m * n * k, m * per_pass, slots,
                      m * nnz, m * int(lens[keep].sum()), col_folds * per_pass, ps, per_pass,
                      n * len(lens), fill)
