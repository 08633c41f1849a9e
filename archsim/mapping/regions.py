"""Tensor layout for the mapper: regions of activation tensors as channel x pixel intervals.

In:  node output shapes ((N, C, H, W), token tensors (B, T, F), or (N, F)) and GEMM block
     bounds.
Out: :class:`TensorGeom` (C channels x P = N*H*W flattened pixels) and :class:`Region`
     (a channel interval x a pixel interval of one tensor, optionally thinned by a
     :class:`Gather`) with overlap, size and contiguous runs, plus the input region a conv
     block reads (rows with their halo, channels of its groups, and -- when the stride leaves
     gaps between the windows -- only the rows and columns some window covers) and
     :func:`port_bytes` (bytes a DRAM port moves for a read of such runs: whole bursts).

Layout (docs/model.md, "Activation layout"): a tensor is stored pixel after pixel (n, h, w
row-major), each pixel's channels contiguous (NHWC); a region is read as runs of consecutive
pixels, its channel interval counted as contiguous within a run.

A GEMM block covers output pixels [m0, m1) (flattened n, oh, ow) and filters [n0, n1); its
output region is exactly that.  Its input region is a superset computed from input rows: the
rows from the first to the last output row's receptive field, across all columns.  A conv whose
stride exceeds its (dilated) window span in a dimension skips input lines in that dimension:
there the region is thinned to the lines some output pixel's window covers (a gather, counted
per touched pixel and per contiguous run); with no gaps it stays the whole rows.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["Gather", "Region", "TensorGeom", "conv_gather", "conv_input_region", "geom_of",
           "port_bytes", "touched_lines"]


@dataclass(frozen=True)
class Gather:
    """The pixels of an (N, C, H, W) tensor a strided read touches: pixel (n, r, c) is read
    when row ``r`` is in ``rows`` and column ``c`` in ``cols`` (sorted line indices of one
    h x w image; every image alike)."""

    h: int
    w: int
    rows: tuple[int, ...]
    cols: tuple[int, ...]

    def before(self, p: int) -> int:
        """Touched pixels with flattened index < ``p``."""
        b, rem = divmod(p, self.h * self.w)
        r, c = divmod(rem, self.w)
        nc = len(self.cols)
        i = bisect_left(self.rows, r)
        own = bisect_left(self.cols, c) if i < len(self.rows) and self.rows[i] == r else 0
        return b * len(self.rows) * nc + i * nc + own

    def count(self, p0: int, p1: int) -> int:
        """Touched pixels in [p0, p1)."""
        return self.before(p1) - self.before(p0) if p1 > p0 else 0

    def runs(self, p0: int, p1: int) -> tuple[tuple[int, int], ...]:
        """Maximal runs of consecutive touched pixels in [p0, p1): ((length, count), ...) by
        length."""
        return _runs(self, p0, p1)


@lru_cache(maxsize=4096)
def _runs(g: Gather, p0: int, p1: int) -> tuple[tuple[int, int], ...]:
    col_runs: list[list[int]] = []  # maximal runs of consecutive touched columns
    for c in g.cols:
        if col_runs and col_runs[-1][1] == c:
            col_runs[-1][1] = c + 1
        else:
            col_runs.append([c, c + 1])
    hw = g.h * g.w
    lengths: dict[int, int] = {}
    cur0 = cur1 = -1  # the open run [cur0, cur1)
    for b in range(p0 // hw, (p1 - 1) // hw + 1 if p1 > p0 else 0):
        for r in g.rows:
            base = b * hw + r * g.w
            if base + g.w <= p0 or base >= p1:
                continue
            for c0, c1 in col_runs:
                s, e = max(p0, base + c0), min(p1, base + c1)
                if s >= e:
                    continue
                if s == cur1:
                    cur1 = e
                else:
                    if cur1 > cur0:
                        lengths[cur1 - cur0] = lengths.get(cur1 - cur0, 0) + 1
                    cur0, cur1 = s, e
    if cur1 > cur0:
        lengths[cur1 - cur0] = lengths.get(cur1 - cur0, 0) + 1
    return tuple(sorted(lengths.items()))


@dataclass(frozen=True)
class Region:
    c0: int
    c1: int
    p0: int
    p1: int
    gather: Gather | None = None  # None: every pixel of [p0, p1)

    @property
    def pixels(self) -> int:
        """Pixels of [p0, p1) the region holds (a gather: the touched ones)."""
        if self.gather is not None:
            return self.gather.count(self.p0, self.p1)
        return max(0, self.p1 - self.p0)

    @property
    def elements(self) -> int:
        return max(0, self.c1 - self.c0) * self.pixels

    def runs(self, el_bytes: int) -> tuple[tuple[int, int], ...]:
        """Contiguous byte runs of the region in the NHWC layout (module doc), as
        ((bytes, count), ...); empty when the region is one run (no gather)."""
        if self.gather is None:
            return ()
        per_px = max(0, self.c1 - self.c0) * el_bytes
        return tuple((n * per_px, k) for n, k in self.gather.runs(self.p0, self.p1))

    def overlap(self, other: Region) -> Region | None:
        c0, c1 = max(self.c0, other.c0), min(self.c1, other.c1)
        p0, p1 = max(self.p0, other.p0), min(self.p1, other.p1)
        if c0 >= c1 or p0 >= p1:
            return None
        return Region(c0, c1, p0, p1, self.gather or other.gather)


def port_bytes(nbytes: int, runs: tuple[tuple[int, int], ...], burst_bytes: int) -> int:
    """Bytes a DRAM port moves (and is priced for) reading ``nbytes`` as ``runs``
    (((bytes, count), ...); empty: one run of ``nbytes``): each run in whole bursts."""
    if not runs:
        return -(-nbytes // burst_bytes) * burst_bytes if nbytes > 0 else 0
    return sum(k * (-(-b // burst_bytes) * burst_bytes) for b, k in runs)


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


def touched_lines(n_in: int, n_out: int, stride: int, pad: int, span: int) -> tuple[int, ...]:
    """Input lines (rows or columns) some of ``n_out`` windows of ``span`` lines covers, the
    window of output line o starting at ``o * stride - pad``."""
    out: list[int] = []
    for o in range(n_out):
        s = o * stride - pad
        out.extend(range(max(0, s, out[-1] + 1 if out else 0), min(n_in, s + span)))
    return tuple(out)


@lru_cache(maxsize=256)
def _conv_gather(ih: int, iw: int, oh: int, ow: int, sh: int, sw: int, ph: int, pw: int,
                 kh: int, kw: int) -> Gather | None:
    if sh <= kh and sw <= kw:
        return None  # windows leave no gap: whole rows
    rows = touched_lines(ih, oh, sh, ph, kh) if sh > kh else tuple(range(ih))
    cols = touched_lines(iw, ow, sw, pw, kw) if sw > kw else tuple(range(iw))
    return Gather(ih, iw, rows, cols)


def conv_gather(a: dict[str, Any], ig: TensorGeom, og: TensorGeom) -> Gather | None:
    """The input pixels a conv's windows touch when its stride exceeds its (dilated) window
    span in a dimension (that dimension's lines some window covers, the other's all); None
    when the windows leave no gap."""
    (sh, sw), (ph, pw) = _pair(a["stride"]), _pair(a["padding"])
    (dh, dw) = _pair(a.get("dilation", (1, 1)))
    kh, kw = int(a["weight"].shape[2]), int(a["weight"].shape[3])
    return _conv_gather(ig.h, ig.w, og.h, og.w, sh, sw, ph, pw,
                        dh * (kh - 1) + 1, dw * (kw - 1) + 1)


def conv_input_region(a: dict[str, Any], ig: TensorGeom, og: TensorGeom,
                      m0: int, m1: int, n0: int, n1: int) -> Region:
    """Input region read by the conv block of output pixels [m0, m1), filters [n0, n1): the
    rows of its windows (first to last output row), thinned by :func:`conv_gather`."""
    sh, _ = _pair(a["stride"])
    ph, _ = _pair(a["padding"])
    kh = int(a["weight"].shape[2])
    kh = int(_pair(a.get("dilation", (1, 1)))[0]) * (kh - 1) + 1  # rows a dilated kernel spans
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
    return Region(g0 * cg, (g1 + 1) * cg, p0, max(p1, p0 + 1), conv_gather(a, ig, og))
