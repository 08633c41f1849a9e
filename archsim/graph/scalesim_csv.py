"""SCALE-Sim topology CSVs -> workload graphs, so SCALE-Sim users bring layer lists unchanged.

In:  a CSV in SCALE-Sim's conv format (``Layer name, IFMAP Height, IFMAP Width, Filter Height,
     Filter Width, Channels, Num Filter, Strides``; the IFMAP is already padded) or GEMM
     format (``Layer, M, N, K``), detected from the header; either may end with SCALE-Sim v3's
     ``Sparsity`` column (``N:M``: N non-zero weights in every block of M), kept as the node
     attribute ``nm_sparsity: [N, M]``.  One trailing comma per line (as SCALE-Sim writes
     them) is allowed; every other cell is checked: an empty or non-integer cell, a missing,
     unknown or extra column is an error naming the file, the line and the column.  Sizes are
     bounded (``MAX_*`` below, docs/cli.md "Limits").
Out: a validated workload graph (``load_topology``: a networkx ``DiGraph``; ``read_topology``:
     the same as an ``archsim.graph.dag.Dag``, without importing networkx): one independent conv
     node per row, in row order (each with its own input node, as SCALE-Sim simulates layers
     one after another), all-one 8-bit weights; with ``nm_sparsity`` they are pruned to
     SCALE-Sim's pattern: in every block of M consecutive positions of the filter's K
     (archsim's flatten order) the first N are kept, identically for every filter
     (docs/scalesim_sparse.md section 2).
     A GEMM row M x N x K becomes a conv with an M x K input, a 1 x K filter and N filters
     (SCALE-Sim's own conversion), so M output pixels, N filters and a K window.  Output
     sizes follow SCALE-Sim's ``ceil((H - Fh + s) / s)``; where that exceeds a real conv's
     output the input is extended by the missing rows (documented in docs/metrics.md).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from archsim.errors import TopologyError, short
from archsim.graph.dag import Dag
from archsim.graph.ir import FORMAT_VERSION, edge_bytes, validate_workload
from archsim.safeio import read_text

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["CONV_COLUMNS", "GEMM_COLUMNS", "MAX_DIM", "MAX_LAYERS", "MAX_TENSOR", "MAX_WEIGHTS",
           "OPTIONAL_COLUMNS", "TopologyError", "load_topology", "read_topology"]


# upper bounds of a topology (docs/cli.md "Limits"): beyond them a layer's arrays alone would
# take gigabytes (the reader builds an all-one weight tensor per layer)
MAX_LAYERS = 10_000
MAX_DIM = 1 << 20  # any one dimension, filter size or stride
MAX_WEIGHTS = 1 << 24  # weights of one layer (Num Filter x Channels x Filter H x Filter W)
MAX_TENSOR = 1 << 28  # elements of one layer's IFMAP or OFMAP
MAX_NAME = 200  # characters of a layer name

# column names as SCALE-Sim writes them; matched ignoring case and spaces
CONV_COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                "Channels", "Num Filter", "Strides")
GEMM_COLUMNS = ("Layer", "M", "N", "K")
OPTIONAL_COLUMNS = ("Sparsity",)  # SCALE-Sim v3: N:M structured sparsity of the layer's weights
_FIRST = {"layername", "layer"}


def _key(text: str) -> str:
    return "".join(text.lower().split())


def _int(path: Path, line: int, col: str, text: str) -> int:
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not digits.isascii() or not digits.isdigit():
        raise TopologyError(f"{path}:{line}: column {col!r}: {short(text)} is not an integer")
    if len(digits) > 18:
        raise TopologyError(f"{path}:{line}: column {col!r}: {short(text)} is above the limit "
                            f"of {MAX_DIM:,}")
    v = int(text)
    if v <= 0:
        raise TopologyError(f"{path}:{line}: column {col!r}: must be positive, got {v}")
    if v > MAX_DIM:
        raise TopologyError(f"{path}:{line}: column {col!r}: {v} is above the limit of "
                            f"{MAX_DIM:,}")
    return v


def _nm(path: Path, line: int, col: str, text: str) -> list[int]:
    """An ``N:M`` structured-sparsity cell: N non-zero weights in every block of M."""
    n_text, colon, m_text = text.partition(":")
    if not colon:
        raise TopologyError(f"{path}:{line}: column {col!r}: {short(text)} is not N:M "
                            "(e.g. 2:4, N non-zero weights in every block of M)")
    n, m = (_int(path, line, col, t.strip()) for t in (n_text, m_text))
    if n > m:
        raise TopologyError(f"{path}:{line}: column {col!r}: {text!r} has N > M")
    return [n, m]


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """Non-blank lines as (line number, stripped cells); one trailing empty cell (SCALE-Sim
    ends every line with a comma) is dropped, any other empty cell is kept (and refused)."""
    text = read_text(path, "SCALE-Sim topology CSV", TopologyError)
    try:
        raw = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise TopologyError(f"{path}: not a CSV file ({exc})") from None
    rows = []
    for i, r in enumerate(raw):
        cells = [c.strip() for c in r]
        if not any(cells):
            continue
        if cells[-1] == "":
            cells.pop()
        rows.append((i + 1, cells))
        if len(rows) > MAX_LAYERS + 1:
            raise TopologyError(f"{path}: more than {MAX_LAYERS:,} layers (the limit)")
    if not rows:
        raise TopologyError(f"{path}: empty topology file")
    return rows


def _header(path: Path, line: int, header: list[str]) -> tuple[str, list[str]]:
    """The format (``conv`` or ``gemm``) and the column names of ``header``."""
    keys = [_key(h) for h in header]
    for fmt, cols in (("gemm", GEMM_COLUMNS), ("conv", CONV_COLUMNS)):
        want = [_key(c) for c in cols[1:]]
        if keys[:1] and keys[0] in _FIRST and keys[1:len(cols)] == want:
            extra = header[len(cols):]
            known = [c for c in OPTIONAL_COLUMNS]
            for j, h in enumerate(extra):
                if j >= len(known) or _key(h) != _key(known[j]):
                    raise TopologyError(
                        f"{path}:{line}: column {len(cols) + j + 1} {short(h)}: unknown column "
                        f"(after {', '.join(cols)} only {', '.join(OPTIONAL_COLUMNS)} may "
                        "follow)")
            return fmt, list(cols) + [known[j] for j in range(len(extra))]
    for j, h in enumerate(header):
        if h == "":
            raise TopologyError(f"{path}:{line}: header column {j + 1} is empty")
    raise TopologyError(
        f"{path}:{line}: header {short(', '.join(header), 120)} is neither SCALE-Sim conv format "
        f"({', '.join(CONV_COLUMNS)}) nor GEMM format ({', '.join(GEMM_COLUMNS)}), each "
        f"optionally followed by {', '.join(OPTIONAL_COLUMNS)}"
    )


def _add_conv(g: Dag, name: str, h: int, w: int, fh: int, fw: int, c: int, n: int,
              sh: int, sw: int, attrs: dict | None = None) -> None:
    ho, wo = -(-(h - fh + sh) // sh), -(-(w - fw + sw) // sw)
    # SCALE-Sim's ceil rule can count one more output than a real conv would see; extend the
    # input by the missing rows/cols so the graph's conv produces exactly SCALE-Sim's outputs
    h, w = max(h, (ho - 1) * sh + fh), max(w, (wo - 1) * sw + fw)
    inp = f"{name}.input"
    g.add_node(inp, op="input", inputs=[], out_shape=(1, c, h, w), out_scale=1.0 / 255,
               out_lo=0, out_hi=255)
    weight = np.ones((n, c, fh, fw), dtype=np.int64)
    nm = (attrs or {}).get("nm_sparsity")
    if nm is not None:  # SCALE-Sim's N:M pattern: the first N of every M, in every filter
        keep = (np.arange(c * fh * fw) % nm[1]) < nm[0]
        weight = np.broadcast_to(keep.astype(np.int64).reshape(c, fh, fw), weight.shape).copy()
    macs = ho * wo * weight.size
    g.add_node(name, op="conv", inputs=[inp], out_shape=(1, n, ho, wo), out_scale=1.0,
               out_lo=0, out_hi=255, weight=weight, mask=weight != 0,
               bias=None, stride=(sh, sw), padding=(0, 0), groups=1, weight_bits=8, act_bits=8,
               w_scale=np.ones(n, dtype=np.float64), requant_mult=np.ones(n, dtype=np.int64),
               requant_shift=1, macs_dense=macs,
               macs_nonzero=ho * wo * int(np.count_nonzero(weight)), **(attrs or {}))
    g.add_edge(inp, name, shape=(1, c, h, w), bytes=edge_bytes((1, c, h, w), 0, 255))


def load_topology(path: str | Path) -> nx.DiGraph:
    """The layers of a SCALE-Sim topology CSV as a validated networkx ``DiGraph``."""
    return read_topology(path).to_networkx()


def read_topology(path: str | Path) -> Dag:
    """The layers of a SCALE-Sim topology CSV as a validated :class:`~archsim.graph.dag.Dag`.

    Layers keep the order of the rows (the graph's insertion order, which the mapper follows,
    so ``COMPUTE_REPORT.csv``'s LayerID is the row index, as in SCALE-Sim's own report)."""
    path = Path(path)
    rows = _rows(path)
    (hline, header), rows = rows[0], rows[1:]
    fmt, cols = _header(path, hline, header)
    g = Dag()
    names: set[str] = set()
    order: list[str] = []
    for line, r in rows:
        for j, cell in enumerate(r[:len(cols)]):
            if cell == "":
                raise TopologyError(f"{path}:{line}: column {cols[j]!r} is empty")
        if len(r) < len(cols):
            raise TopologyError(f"{path}:{line}: column {cols[len(r)]!r} is missing (expected "
                                f"{len(cols)} columns: {', '.join(cols)})")
        if len(r) > len(cols):
            raise TopologyError(f"{path}:{line}: extra cell {short(r[len(cols)])} after the last "
                                f"column {cols[-1]!r}")
        name = r[0]
        if len(name) > MAX_NAME:
            raise TopologyError(f"{path}:{line}: column {cols[0]!r}: layer name {short(name)} is "
                                f"longer than {MAX_NAME} characters")
        if name in names or f"{name}.input" in names or name.endswith(".input"):
            raise TopologyError(f"{path}:{line}: duplicate layer name {short(name)}"
                                if name in names else
                                f"{path}:{line}: layer name {short(name)} clashes with the "
                                "input node of another layer (names ending in '.input')")
        attrs: dict = {}
        n_fixed = len(GEMM_COLUMNS) if fmt == "gemm" else len(CONV_COLUMNS)
        if len(cols) > n_fixed:
            attrs["nm_sparsity"] = _nm(path, line, cols[n_fixed], r[n_fixed])
        vals = [_int(path, line, cols[i], r[i]) for i in range(1, n_fixed)]
        if fmt == "gemm":
            m, n, k = vals
            h, w, fh, fw, c, nf, sh, sw = m, k, 1, k, 1, n, 1, 1
        else:
            h, w, fh, fw, c, nf, sh = vals
            sw = sh
            if fh > h or fw > w:
                raise TopologyError(f"{path}:{line}: filter {fh}x{fw} larger than IFMAP {h}x{w}")
        _check_sizes(path, line, h, w, fh, fw, c, nf, sh, sw)
        _add_conv(g, name, h, w, fh, fw, c, nf, sh, sw, attrs)
        names.update((name, f"{name}.input"))
        order.append(name)
    if not order:
        raise TopologyError(f"{path}: no layers after the header")
    sizes = sum(g.nodes[n]["weight"].size for n in order)
    nnz = sum(int(np.count_nonzero(g.nodes[n]["weight"])) for n in order)
    nm = any("nm_sparsity" in g.nodes[n] for n in order)
    g.graph.update(format_version=FORMAT_VERSION, name=path.stem,
                   inputs=[f"{n}.input" for n in order], outputs=list(order), act_bits=8,
                   weight_bits=8, sparsity=1.0 - nnz / sizes,
                   pruning=("N:M per layer (SCALE-Sim topology Sparsity column)" if nm
                            else "none (SCALE-Sim topology)"), seed=0,
                   topo_order="insertion")
    validate_workload(g)
    return g


def _check_sizes(path: Path, line: int, h: int, w: int, fh: int, fw: int, c: int, n: int,
                 sh: int, sw: int) -> None:
    ho, wo = -(-(h - fh + sh) // sh), -(-(w - fw + sw) // sw)
    for what, size, limit in (("weights (Num Filter x Channels x Filter H x W)", n * c * fh * fw,
                               MAX_WEIGHTS),
                              ("IFMAP elements (H x W x Channels)", h * w * c, MAX_TENSOR),
                              ("OFMAP elements", ho * wo * n, MAX_TENSOR)):
        if size > limit:
            raise TopologyError(f"{path}:{line}: {size:,} {what} is above the limit of "
                                f"{limit:,} per layer")
