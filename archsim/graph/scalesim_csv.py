"""SCALE-Sim topology CSVs -> workload graphs, so SCALE-Sim users bring layer lists unchanged.

In:  a CSV in SCALE-Sim's conv format (``Layer name, IFMAP Height, IFMAP Width, Filter Height,
     Filter Width, Channels, Num Filter, Strides[, Stride W]``; the IFMAP is already padded) or
     GEMM format (``Layer, M, N, K``), detected from the header.
Out: a validated workload graph (``load_topology``: a networkx ``DiGraph``; ``read_topology``:
     the same as an ``archsim.graph.dag.Dag``, without importing networkx): one independent conv
     node per row (each with its own input node, as SCALE-Sim simulates layers one after
     another), dense all-one 8-bit weights.
     A GEMM row M x N x K becomes a conv with an M x K input, a 1 x K filter and N filters
     (SCALE-Sim's own conversion), so M output pixels, N filters and a K window.  Output
     sizes follow SCALE-Sim's ``ceil((H - Fh + s) / s)``; where that exceeds a real conv's
     output the input is extended by the missing rows (documented in docs/metrics.md).
Errors name the file, the line and the column.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from archsim.graph.dag import Dag
from archsim.graph.ir import FORMAT_VERSION, edge_bytes, validate_workload

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["TopologyError", "load_topology", "read_topology"]


class TopologyError(ValueError):
    """A malformed topology CSV (names file, line and column)."""


def _int(path: Path, line: int, col: str, text: str) -> int:
    try:
        v = int(text.strip())
    except ValueError:
        raise TopologyError(f"{path}:{line}: column {col!r}: {text!r} is not an integer") from None
    if v <= 0:
        raise TopologyError(f"{path}:{line}: column {col!r}: must be positive, got {v}")
    return v


def _rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    with path.open(newline="") as f:
        rows = [(i + 1, [c for c in r]) for i, r in enumerate(csv.reader(f))]
    rows = [(i, [c.strip() for c in r if c.strip() != ""]) for i, r in rows]
    rows = [(i, r) for i, r in rows if r]
    if not rows:
        raise TopologyError(f"{path}: empty topology file")
    return rows[0][1], rows[1:]


def _add_conv(g: Dag, name: str, h: int, w: int, fh: int, fw: int, c: int, n: int,
              sh: int, sw: int) -> None:
    ho, wo = -(-(h - fh + sh) // sh), -(-(w - fw + sw) // sw)
    # SCALE-Sim's ceil rule can count one more output than a real conv would see; extend the
    # input by the missing rows/cols so the graph's conv produces exactly SCALE-Sim's outputs
    h, w = max(h, (ho - 1) * sh + fh), max(w, (wo - 1) * sw + fw)
    inp = f"{name}.input"
    g.add_node(inp, op="input", inputs=[], out_shape=(1, c, h, w), out_scale=1.0 / 255,
               out_lo=0, out_hi=255)
    weight = np.ones((n, c, fh, fw), dtype=np.int64)
    macs = ho * wo * weight.size
    g.add_node(name, op="conv", inputs=[inp], out_shape=(1, n, ho, wo), out_scale=1.0,
               out_lo=0, out_hi=255, weight=weight, mask=np.ones(weight.shape, dtype=bool),
               bias=None, stride=(sh, sw), padding=(0, 0), groups=1, weight_bits=8, act_bits=8,
               w_scale=np.ones(n, dtype=np.float64), requant_mult=np.ones(n, dtype=np.int64),
               requant_shift=1, macs_dense=macs, macs_nonzero=macs)
    g.add_edge(inp, name, shape=(1, c, h, w), bytes=edge_bytes((1, c, h, w), 0, 255))


def load_topology(path: str | Path) -> nx.DiGraph:
    """The layers of a SCALE-Sim topology CSV as a validated networkx ``DiGraph``."""
    return read_topology(path).to_networkx()


def read_topology(path: str | Path) -> Dag:
    """The layers of a SCALE-Sim topology CSV as a validated :class:`~archsim.graph.dag.Dag`."""
    path = Path(path)
    if not path.is_file():
        raise TopologyError(f"{path}: no such file")
    header, rows = _rows(path)
    hl = [h.lower().replace(" ", "") for h in header]
    gemm = len(hl) >= 4 and hl[1:4] == ["m", "n", "k"]
    if not gemm and len(hl) < 8:
        raise TopologyError(
            f"{path}:1: header {header} is neither SCALE-Sim conv format (Layer name, IFMAP "
            "Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides) "
            "nor GEMM format (Layer, M, N, K)"
        )
    g = Dag()
    names: list[str] = []
    for line, r in rows:
        if not r:
            continue
        name = r[0]
        if name in names:
            raise TopologyError(f"{path}:{line}: duplicate layer name {name!r}")
        if gemm:
            if len(r) < 4:
                raise TopologyError(f"{path}:{line}: expected Layer, M, N, K; got {r}")
            m, n, k = (_int(path, line, col, r[i]) for i, col in ((1, "M"), (2, "N"), (3, "K")))
            _add_conv(g, name, m, k, 1, k, 1, n, 1, 1)
        else:
            if len(r) < 8:
                raise TopologyError(f"{path}:{line}: expected 8 columns, got {len(r)}: {r}")
            cols = header[1:9] if len(header) >= 9 else header[1:8] + ["Stride W"]
            vals = [_int(path, line, cols[i - 1], r[i]) for i in range(1, min(len(r), 9))]
            h, w, fh, fw, c, n, sh = vals[:7]
            sw = vals[7] if len(vals) > 7 else sh
            if fh > h or fw > w:
                raise TopologyError(f"{path}:{line}: filter {fh}x{fw} larger than IFMAP {h}x{w}")
            _add_conv(g, name, h, w, fh, fw, c, n, sh, sw)
        names.append(name)
    if not names:
        raise TopologyError(f"{path}: no layers after the header")
    g.graph.update(format_version=FORMAT_VERSION, name=path.stem,
                   inputs=[f"{n}.input" for n in names], outputs=list(names), act_bits=8,
                   weight_bits=8, sparsity=0.0, pruning="none (SCALE-Sim topology)", seed=0)
    validate_workload(g)
    return g
