"""Systolic fold model: compute cycles of one GEMM block on an R x C PE array.

In:  dataflow (``os`` | ``ws`` | ``is``), array rows R and cols C, a GEMM block M x N x K
     (M output pixels, N filters, K = window) and optionally its weight non-zero mask (K, N).
Out: :class:`FoldCycles` -- folds, cycles (SCALE-Sim v3 closed form, docs/facts.md
     section 4) and the mapping efficiency.

Dense (no mask): cycles = folds * cycles_per_fold - 1, exactly SCALE-Sim's stall-free count.
Sparse (mask given, zero weights skipped where the dataflow allows):
  - os: each PE column streams K; a column of filters skips its zero weights, so a fold lasts as
        long as its densest filter: T_fold = max nnz over the fold's C filters.
  - ws: weights are compacted per filter column before loading: a column fold needs
        ceil(max nnz / R) row folds instead of ceil(K / R).
  - is: inputs are stationary; a filter whose weights in the fold's K rows are all zero is not
        streamed: T_fold = number of filters with any non-zero in those rows.
The PE kind's latency per MAC scales these cycles (done by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DATAFLOWS", "FoldCycles", "fold_cycles"]

DATAFLOWS = ("os", "ws", "is")


@dataclass(frozen=True)
class FoldCycles:
    """Result of the fold model for one block."""

    folds: int
    cycles: int  # includes SCALE-Sim's -1 (the last drain cycle overlaps the next block)
    macs_dense: int
    macs_mapped: int  # MACs actually placed on PEs (after zero skipping)
    pe_slots: int  # sum over folds of R * C * T: PE-cycles offered during the folds

    @property
    def mapping_efficiency(self) -> float:
        return self.macs_mapped / self.pe_slots if self.pe_slots else 0.0


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _chunk_reduce(values: np.ndarray, size: int, how) -> np.ndarray:
    """Reduce a 1-D array in consecutive chunks of ``size`` (last may be short)."""
    n = values.shape[0]
    pad = _ceil(n, size) * size - n
    if pad:
        fill = 0
        values = np.concatenate([values, np.full(pad, fill, dtype=values.dtype)])
    return how(values.reshape(-1, size), axis=1)


def fold_cycles(
    dataflow: str, rows: int, cols: int, m: int, n: int, k: int, mask: np.ndarray | None = None
) -> FoldCycles:
    """Compute cycles of an M x N x K GEMM block on an R x C array (see module doc)."""
    if dataflow not in DATAFLOWS:
        raise ValueError(f"dataflow: {dataflow!r} is not one of {', '.join(DATAFLOWS)}")
    for name, v in (("rows", rows), ("cols", cols)):
        if v <= 0:
            raise ValueError(f"{name}: PE array size must be positive, got {v}")
    for name, v in (("M", m), ("N", n), ("K", k)):
        if v < 0:
            raise ValueError(f"GEMM {name} must be >= 0, got {v}")
    dense = m * n * k
    if dense == 0:
        return FoldCycles(0, 0, 0, 0, 0)
    if mask is not None and mask.shape != (k, n):
        raise ValueError(f"mask shape {mask.shape} does not match (K, N) = ({k}, {n})")
    R, C = rows, cols
    if mask is None:
        if dataflow == "os":
            sr, sc, t = m, n, k
            cpf = t + R + C - 2
        elif dataflow == "ws":
            sr, sc, t = k, n, m
            cpf = 2 * R + C + t - 2
        else:
            sr, sc, t = k, m, n
            cpf = 2 * R + C + t - 2
        folds = _ceil(sr, R) * _ceil(sc, C)
        return FoldCycles(folds, folds * cpf - 1, dense, dense, folds * R * C * t)

    col_nnz = mask.sum(axis=0).astype(np.int64)  # per filter
    mapped = int(col_nnz.sum()) * m
    if dataflow == "os":
        t_fold = _chunk_reduce(col_nnz, C, np.max)  # per filter-column fold
        row_folds = _ceil(m, R)
        folds = row_folds * len(t_fold)
        total = row_folds * int(np.sum(t_fold + R + C - 2))
        slots = row_folds * int(np.sum(t_fold)) * R * C
    elif dataflow == "ws":
        kmax = _chunk_reduce(col_nnz, C, np.max)
        row_folds = -(-kmax // R)
        folds = int(row_folds.sum())
        total = folds * (2 * R + C + m - 2)
        slots = folds * R * C * m
    else:
        # rows of the fold: consecutive K ranges of R; T = filters touching that range
        pad = _ceil(k, R) * R - k
        mk = np.concatenate([mask, np.zeros((pad, n), dtype=bool)]) if pad else mask
        t_fold = mk.reshape(-1, R, n).any(axis=1).sum(axis=1).astype(np.int64)
        live = t_fold[t_fold > 0]
        col_folds = _ceil(m, C)
        folds = col_folds * len(live)
        total = col_folds * int(np.sum(2 * R + C + live - 2))
        slots = col_folds * int(np.sum(live)) * R * C
    cycles = max(total - 1, 0) if folds else 0
    return FoldCycles(int(folds), int(cycles), dense, mapped, int(slots))
