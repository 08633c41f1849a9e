"""Tensor layout for the mapper: regions of activation tensors as channel x pixel intervals.

In:  node output shapes ((N, C, H, W), token tensors (B, T, F), or (N, F)) and GEMM block
     bounds.
Out: :class:`TensorGeom` (C channels x P = N*H*W flattened pixels) and :class:`Region`
     (a channel interval x a pixel interval of one tensor) with overlap and size, plus the
     input region a conv block reads (rows with their halo, channels of its groups).

A GEMM block covers output pixels [m0, m1) (flattened n, oh, ow) and filters [n0, n1); its
output region is exactly that.  Its input region is a superset computed from input rows: the
rows from the first to the last output row's receptive field, across all columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Region", "TensorGeom", "conv_input_region", "geom_of"]


@dataclass(frozen=True)
class Region:
    c0: int
    c1: int
    p0: int
    p1: int

    @property
    def elements(self) -> int:
        return max(0, self.c1 - self.c0) * max(0, self.p1 - self.p0)

    def overlap(self, other: Region) -> Region | None:
        c0, c1 = max(self.c0, other.c0), min(self.c1, other.c1)
        p0, p1 = max(self.p0, other.p0), min(self.p1, other.p1)
        if c0 >= c1 or p0 >= p1:
            return None
        return Region(c0, c1, p0, p1)


@dataclass(frozen=True)
class TensorGeom:
    n: int
    c: int
    h: int
    w: int

    @property
    def p(self) -> int:
        return self.n * self.h * self.w

    @property
    def elements(self) -> int:
        return self.c * self.p

    def gemm_region(self, m0: int, m1: int, n0: int, n1: int) -> Region:
        """Output region of a GEMM block: pixels [m0, m1) x channels [n0, n1)."""
        return Region(n0, n1, m0, m1)

    def batch_region(self, b0: int, b1: int) -> Region:
        """All channels and pixels of batch items [b0, b1) (a linear layer's input rows)."""
        hw = self.h * self.w
        return Region(0, self.c, b0 * hw, b1 * hw)


def geom_of(shape: tuple[int, ...]) -> TensorGeom:
    if len(shape) == 4:
        return TensorGeom(*(int(s) for s in shape))
    if len(shape) == 2:
        return TensorGeom(int(shape[0]), int(shape[1]), 1, 1)
    if len(shape) == 3:  # token tensors (B, T, F): F channels x B T pixels (rows)
        return TensorGeom(int(shape[0]), int(shape[2]), int(shape[1]), 1)
    raise ValueError(f"tensor shape {shape} is neither (N, C, H, W), (B, T, F) nor (N, F)")


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, int):
        return v, v
    a, b = v
    return int(a), int(b)


def conv_input_region(a: dict[str, Any], ig: TensorGeom, og: TensorGeom,
                      m0: int, m1: int, n0: int, n1: int) -> Region:
    """Input region read by the conv block of output pixels [m0, m1), filters [n0, n1)."""
    sh, _ = _pair(a["stride"])
    ph, _ = _pair(a["padding"])
    kh = int(a["weight"].shape[2])
    kh = int(a.get("dilation", (1, 1))[0]) * (kh - 1) + 1  # rows a dilated kernel spans
    groups = int(a.get("groups", 1))
    o = og.c
    cg = ig.c // groups
    g0, g1 = n0 // (o // groups), (n1 - 1) // (o // groups)
    hw_out = og.h * og.w
    b0, r0 = divmod(m0, hw_out)
    b1, r1 = divmod(m1 - 1, hw_out)
    oh0, oh1 = r0 // og.w, r1 // og.w
    ih0 = max(0, oh0 * sh - ph)
    ih1 = min(ig.h - 1, oh1 * sh - ph + kh - 1)
    hw_in = ig.h * ig.w
    p0 = b0 * hw_in + ih0 * ig.w
    p1 = b1 * hw_in + (ih1 + 1) * ig.w
    return Region(g0 * cg, (g1 + 1) * cg, p0, max(p1, p0 + 1))
