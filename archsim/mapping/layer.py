"""Facts of the GEMM layers of a workload graph on one design point, shared by the mapper, the
plan generators and the analytic model.

In:  a validated workload graph (docs/workload_graph.md) and a design point (its PE array,
     ``tile.sparsity`` mode, ``acc_bits`` and tile buffers).
Out: :func:`graph_aliases` (nodes that are free views of another tensor: flatten, a relu / clamp
     whose input range already lies inside its bounds), :func:`gemm_layers` ->
     ``{node: GemmLayer}`` in topological order, and :class:`GemmLayer` with the layer's GEMM
     sizes (M pixels, N filters, K reduction), its weight non-zero mask, the design point's
     sparsity rule for it (:func:`layer_rule`), its declared input sign, the fold model of a
     block (:meth:`GemmLayer.fold`), the bytes of a weight block as stored (compacted weights
     plus metadata), the input region a block reads and whether a chunk fits the tile buffers
     (:func:`buffer_caps` gives the usable capacities, per a layer plan's single / double
     buffer choices; :func:`buffer_modes` the design point's defaults); :class:`ChunkTiming`
     turns a block's fold into compute cycles, buffer traffic and the SRAM-bandwidth stall
     (docs/model.md, "Compute cycles of a chunk" and "Partial sums and buffer bandwidth").

The reduction is split over input channels of a group: part ``[kc0, kc1)`` covers rows
``[kc0 * kk, kc1 * kk)`` of the (K, N) weight matrix, ``kk`` = kernel positions (1 for linear).
Partial sums -- of a reduction split over folds inside a tile, or over tiles by a plan's
``split_k`` -- are ``tile.pe_array.acc_bits`` wide (``acc_bytes`` whole bytes each).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from archsim.errors import MappingError
from archsim.graph.dag import insertion_topo_order, lexicographic_topo_order
from archsim.graph.ir import input_range
from archsim.mapping.fold import DATAFLOWS, FoldCycles, SparseRule, fold_cycles, overhead_cycles
from archsim.mapping.partition import split_range
from archsim.mapping.regions import Region, TensorGeom, conv_input_region, geom_of
from archsim.pe.organisation import effective_ops, read_stretch

if TYPE_CHECKING:
    import networkx as nx

    from archsim.design.arch import ArchConfig

__all__ = ["ChunkTiming", "GemmLayer", "allowed_dataflows", "buffer_caps", "buffer_modes",
           "gemm_layers", "graph_aliases", "is_identity_clip", "layer_rule", "mapping_order",
           "shadow_bits"]


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def mapping_order(g: nx.DiGraph) -> list[str]:
    """The order the mapper visits nodes: topological, ties among ready nodes by name, unless
    the graph keeps its insertion order (SCALE-Sim topologies: layers run in row order)."""
    if g.graph.get("topo_order") == "insertion":
        return insertion_topo_order(g)
    return lexicographic_topo_order(g)


def is_identity_clip(g: nx.DiGraph, a: dict[str, Any], src: str) -> bool:
    """A relu / clamp whose producer ``src`` (a base tensor) already lies inside its bounds."""
    if a["op"] not in ("relu", "clamp"):
        return False
    s = g.nodes[src]
    lo, hi = (0, s["out_hi"]) if a["op"] == "relu" else (a["clamp_lo"], a["clamp_hi"])
    return int(s["out_lo"]) >= lo and int(s["out_hi"]) <= hi


def graph_aliases(g: nx.DiGraph, order: list[str]) -> dict[str, str]:
    """Free views: flatten, to_tokens ((N, C, H, W) -> (N, H W, C) has the same channel x pixel
    layout), and a relu / clamp that cannot change its input -> its input."""
    aliases: dict[str, str] = {}

    def base(n: str) -> str:
        while n in aliases:
            n = aliases[n]
        return n

    for node in order:
        a = g.nodes[node]
        if a["op"] in ("flatten", "to_tokens") or (a["op"] in ("relu", "clamp")
                                    and is_identity_clip(g, a, base(a["inputs"][0]))):
            aliases[node] = a["inputs"][0]
    return aliases


def buffer_caps(arch: ArchConfig, plan: Any = None) -> dict[str, int]:
    """Usable bytes of each tile buffer for one chunk: half when double-buffered, unless
    ``plan`` (a :class:`~archsim.mapping.plan.LayerPlan`) uses the input, weight or output
    buffer ``single`` (whole); ideal memory: whole."""
    t = arch.tile
    div = 1 if arch.ideal_memory else 2
    whole = {"ifmap": plan is not None and plan.input_buffer == "single",
             "weight": plan is not None and plan.weight_buffer == "single",
             "ofmap": plan is not None and plan.output_buffer == "single"}
    return {name: cfg.capacity_bytes // (div if cfg.double_buffered and not whole[name] else 1)
            for name, cfg in (("ifmap", t.sram.ifmap), ("weight", t.sram.weight),
                              ("ofmap", t.sram.ofmap))}


def buffer_modes(arch: ArchConfig) -> tuple[str, str, str]:
    """The (input_buffer, weight_buffer, output_buffer) modes the design point's buffers have
    by default: ``double`` where the buffer is double-buffered, ``single`` where it is not."""
    s = arch.tile.sram
    return tuple("double" if b.double_buffered else "single"  # type: ignore[return-value]
                 for b in (s.ifmap, s.weight, s.ofmap))


def outputs_at_end(sram_reads: tuple[tuple[str, int], ...]) -> bool:
    """Whether a chunk completes its outputs only when its compute ends: its reduction is
    split over its own folds, so partial sums are read back from the ofmap buffer (write
    streaming then writes all of them at the end)."""
    return any(buf == "ofmap" and n for buf, n in sram_reads)


def stream_pieces(arch: ArchConfig, total_bytes: int, sub_blocks: int) -> list[int]:
    """Weight / write streaming (``tile.fetch.weight_streaming``, ``write_streaming``): the
    sizes of the requests a chunk's ``total_bytes`` of weights (or outputs) move as --
    ``sub_blocks`` pieces rounded up to whole DRAM bursts and link flits (so the pieces move
    the bytes, bursts and flits one request would), the last one the rest; one piece when
    they do not split."""
    align = math.lcm(arch.dram.burst_bytes, arch.interconnect.link_bytes_per_cycle)
    step = _ceil(_ceil(total_bytes, max(1, sub_blocks)), align) * align
    if step >= total_bytes:
        return [total_bytes] if total_bytes else []
    return [min(step, total_bytes - p0) for p0 in range(0, total_bytes, step)]


def allowed_dataflows(arch: ArchConfig) -> tuple[str, ...]:
    """Dataflows a layer may use on ``arch``: ws only with weight-programmed tables or
    SCALE-Sim's optimised N:M mapping."""
    if (arch.tile.lut_banks.organisation == "weight"
            or arch.tile.sparsity.optimized_mapping):
        return ("ws",)
    return DATAFLOWS


def shadow_bits(arch: ArchConfig, df: str | None = None) -> int:
    """Bits of the fold-pipelining shadow register of one PE (docs/model.md "Fold
    pipelining"): os the output accumulator (``acc_bits``), ws the stationary weight (the PE
    kind's ``weight_bits``, the weight register the PE inventory prices for every kind), is
    the stationary input (``act_bits``).  ``df`` None: the widest over the dataflows ``arch``
    allows (what the hardware must hold); 0 when fold pipelining is off."""
    pa = arch.tile.pe_array
    if not pa.fold_pipelining:
        return 0
    pe = arch.pe()
    width = {"os": pa.acc_bits, "ws": pe.weight_bits, "is": pe.act_bits}
    if df is not None:
        return width[df]
    return max(width[d] for d in allowed_dataflows(arch))


def dataflow_error(arch: ArchConfig, df: str) -> str | None:
    """Why ``df`` is not allowed on ``arch`` (None: it is)."""
    if arch.tile.lut_banks.organisation == "weight" and df != "ws":
        return (f"{arch.source}: tile.lut_banks.organisation 'weight' reprograms tables per "
                f"stationary weight and needs dataflow 'ws', not {df!r}")
    lb = arch.tile.lut_banks
    if lb.sharing == "private_subarray" and arch.pe().tables().n_tables and df != "ws":
        return (f"{arch.source}: tile.lut_banks.sharing 'private_subarray' holds the table "
                f"slice of each PE's stationary weight digit and needs dataflow 'ws', "
                f"not {df!r}")
    if arch.tile.sparsity.optimized_mapping and df != "ws":
        return (f"{arch.source}: tile.sparsity.optimized_mapping supports dataflow 'ws' only, "
                f"not {df!r} (as SCALE-Sim 3.0.0)")
    return None


def _block_max(mask: np.ndarray, size: int) -> int:
    """Most non-zeros of one filter in one block of ``size`` consecutive K rows."""
    k, n = mask.shape
    pad = _ceil(k, size) * size - k
    mk = np.concatenate([mask, np.zeros((pad, n), dtype=bool)]) if pad else mask
    return int(mk.reshape(-1, size, n).sum(axis=1).max()) if mk.size else 0


def layer_rule(arch: ArchConfig, node: str, a: dict[str, Any], mask: np.ndarray) -> SparseRule:
    """The design point's sparsity mode as it applies to this layer (docs/model.md)."""
    sp, src = arch.tile.sparsity, arch.source
    if sp.mode == "none":
        return SparseRule(mode="none")
    if sp.mode == "filter_block":
        return SparseRule(mode="filter_block")
    if sp.mode == "gather":
        return SparseRule(mode="gather", window=sp.select_window)
    k = mask.shape[0]
    declared = a.get("nm_sparsity")
    if sp.optimized_mapping:
        b = sp.block_size
        worst = int(_block_max(mask, b))
        if worst > b // 2:
            raise MappingError(
                f"{src}: layer {node!r}: optimized N:M mapping needs at most {b // 2} "
                f"non-zeros in every block of {b} weights of a filter, found {worst}")
        nm = tuple(int(v) for v in declared) if declared is not None else None
        return SparseRule(mode="nm_structured", nm=nm, block_size=b, metadata=sp.metadata)
    if declared is not None:
        n_, m_ = (int(v) for v in declared)
    else:  # from the weights: the block size the selectors support, N = densest block
        m_ = min(sp.select_window, k)
        n_ = max(1, int(_block_max(mask, m_)))
    if m_ > sp.select_window:
        raise MappingError(
            f"{src}: layer {node!r}: N:M {n_}:{m_} needs {m_}:1 operand selectors; "
            f"tile.sparsity.select_window is {sp.select_window}")
    worst = int(_block_max(mask, m_))
    if worst > n_:
        raise MappingError(
            f"{src}: layer {node!r}: weights break the layer's N:M sparsity {n_}:{m_} "
            f"({worst} non-zeros in one block of {m_})")
    return SparseRule(mode="nm_structured", nm=(n_, m_), metadata=sp.metadata)


@dataclass(frozen=True, kw_only=True, eq=False)
class GemmLayer:
    """One conv / linear node as a GEMM on one design point (see module doc)."""

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
    acc_bytes: int  # one partial sum (tile.pe_array.acc_bits)
    rows: int  # PE array
    cols: int
    rule: SparseRule  # the design point's sparsity mode for this layer
    act_signed: bool  # the layer's declared input sign
    in_tensor: str  # base tensor read
    in_geom: TensorGeom
    out_geom: TensorGeom
    # a product of two activations (matmul): the second operand's base tensor, its geometry,
    # tokens per batch item of the output (t_len) and of the second operand (s_len), heads,
    # whether it is transposed, and how the PE array takes it (organisation.DynamicOperand)
    b_tensor: str | None = None
    b_geom: TensorGeom | None = None
    heads: int = 1
    transpose_b: bool = False
    t_len: int = 1
    s_len: int = 1
    dyn: Any = None
    pipelined: bool = False  # the design point's tile.pe_array.fold_pipelining
    _folds: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def dynamic(self) -> bool:
        """A product of two activations: no weights, the second operand is fetched."""
        return self.b_tensor is not None

    def n_parts(self, tn: int) -> list[tuple[int, int]]:
        """Output-column ranges of a ``tn``-way filter split; a matmul's follow head
        boundaries (``tn`` at most ``heads``)."""
        if not self.dynamic:
            return split_range(self.N, tn)
        per = self.N // self.heads
        return [(h0 * per, h1 * per) for h0, h1 in split_range(self.heads, tn)]

    def head_span(self, c0: int, c1: int) -> tuple[int, int]:
        """Heads [h0, h1) output columns [c0, c1) of a matmul belong to."""
        per = self.N // self.heads
        return c0 // per, _ceil(c1, per)

    def b_region(self, r0: int, r1: int, c0: int, c1: int) -> Region:
        """Region of a matmul's second operand that output rows [r0, r1) x columns [c0, c1)
        need: the heads' features of every key / value token of the rows' batch items."""
        b0, b1 = r0 // self.t_len, _ceil(r1, self.t_len)
        rows = (b0 * self.s_len, b1 * self.s_len)
        if self.transpose_b:
            h0, h1 = self.head_span(c0, c1)
            d = self.b_geom.c // self.heads
            return Region(h0 * d, h1 * d, *rows)
        return Region(c0, c1, *rows)

    @property
    def macs(self) -> int:
        return self.M * self.N * self.K

    def k_rows(self, kc: tuple[int, int] | None) -> tuple[int, int]:
        if kc is None:
            return 0, self.K
        return kc[0] * self.kk, kc[1] * self.kk

    def fold(self, df: str, m: int, c0: int, c1: int, kc: tuple[int, int] | None = None,
             dense: bool = False) -> FoldCycles:
        """Fold model of output pixels (m of them) x filters [c0, c1) over reduction part
        ``kc`` under the layer's sparsity rule (``dense``: no rule, the partitioner's
        reference); grouped convs run their groups one after another (with fold pipelining
        back to back: the chunk pays the array's fill / drain once).  Cached."""
        key = (df, m, c0, c1, kc, dense)
        hit = self._folds.get(key)
        if hit is not None:
            return hit
        k0, k1 = self.k_rows(kc)
        R, C = self.rows, self.cols
        rule = None if dense else self.rule
        sub = None if dense else self.mask[k0:k1, c0:c1]
        pipe = self.pipelined
        if self.groups == 1:
            fc = fold_cycles(df, R, C, m, c1 - c0, k1 - k0, sub, rule, pipe)
        else:
            fpg = self.N // self.groups  # filters of one group are contiguous
            gid = np.arange(c0, c1) // fpg
            fc = FoldCycles(0, 0, 0, 0, 0)
            blocks = 0
            for gi in np.unique(gid):
                sel = np.nonzero(gid == gi)[0]
                g = fold_cycles(df, R, C, m, len(sel), k1 - k0,
                                None if sub is None else sub[:, sel], rule, pipe)
                blocks += g.folds > 0
                fc = fc + g
            if pipe and blocks > 1:  # the groups stream back to back: one fill / drain
                hid = (blocks - 1) * (overhead_cycles(df, R, C) - 1)
                fc = replace(fc, cycles=fc.cycles - hid, fill_cycles=fc.fill_cycles - hid)
        self._folds[key] = fc
        return fc

    def weight_bytes_exact(self, df: str, c0: int, c1: int,
                           kc: tuple[int, int] | None = None) -> float:
        """Bytes of filters [c0, c1) over part ``kc`` as stored: the weights the sparsity rule
        keeps plus their metadata (dense: every weight).  A matmul: the second operand's
        K x (c1 - c0) activations one batch item loads into the array in place of weights."""
        if self.dynamic:
            return float(self.K * (c1 - c0) * self.act_bytes)
        fc = self.fold(df, 1, c0, c1, kc)
        return fc.weights_stored * self.wbits / 8 + fc.meta_bits / 8

    def weight_bytes(self, df: str, c0: int, c1: int,
                     kc: tuple[int, int] | None = None) -> int:
        """:meth:`weight_bytes_exact` rounded up to whole bytes (what a chunk fetches)."""
        return int(np.ceil(self.weight_bytes_exact(df, c0, c1, kc)))

    def out_el_bytes(self, df: str, c0: int, c1: int, kc: tuple[int, int] | None = None) -> int:
        """Bytes per output element held in the ofmap buffer: partial sums (acc_bits) when the
        reduction is split over tiles or over the folds of the chunk, else the activation."""
        if kc is not None or self.fold(df, 1, c0, c1, kc).psum_writes:
            return self.acc_bytes
        return self.act_bytes

    def input_region(self, m0: int, m1: int, c0: int, c1: int,
                     kc: tuple[int, int] | None = None) -> Region:
        """Input region read by output pixels [m0, m1) x filters [c0, c1) (part ``kc``); a
        conv whose stride skips input lines reads only the touched ones (its ``gather``)."""
        if self.dynamic:  # token rows, the features of the heads the columns belong to
            h0, h1 = self.head_span(c0, c1)
            return Region(h0 * self.K, h1 * self.K, m0, m1)
        if self.op == "linear":
            if len(self.attrs["out_shape"]) == 3:
                return Region(0, self.in_geom.c, m0, m1)  # token rows (B, T, F)
            reg = self.in_geom.batch_region(m0, m1)
        else:
            reg = conv_input_region(self.attrs, self.in_geom, self.out_geom, m0, m1, c0, c1)
        if kc is not None and self.groups == 1:
            reg = Region(kc[0], kc[1], reg.p0, reg.p1, reg.gather)
        return reg

    def misfit(self, caps: dict[str, int], df: str, r0: int, r1: int, c0: int, c1: int,
               kc: tuple[int, int] | None = None) -> str | None:
        """The first buffer a chunk overflows (``"weight"``, ``"ifmap"``, ``"ofmap"``) or None."""
        if self.weight_bytes(df, c0, c1, kc) > caps["weight"]:
            return "weight"
        if self.input_region(r0, r1, c0, c1, kc).elements * self.act_bytes > caps["ifmap"]:
            return "ifmap"
        if (r1 - r0) * (c1 - c0) * self.out_el_bytes(df, c0, c1, kc) > caps["ofmap"]:
            return "ofmap"
        return None


def gemm_layers(g: nx.DiGraph, arch: ArchConfig, order: list[str] | None = None,
                aliases: dict[str, str] | None = None) -> dict[str, GemmLayer]:
    """``{node: GemmLayer}`` of every conv / linear / matmul node on ``arch``, in topological order
    (a layer whose weights break the design point's sparsity rule is a MappingError)."""
    order = mapping_order(g) if order is None else order
    aliases = graph_aliases(g, order) if aliases is None else aliases
    act_bytes = _ceil(int(g.graph.get("act_bits", 8)), 8)
    acc_bytes = _ceil(arch.tile.pe_array.acc_bits, 8)
    R, C = arch.tile.pe_array.rows, arch.tile.pe_array.cols

    def base(n: str) -> str:
        while n in aliases:
            n = aliases[n]
        return n

    out: dict[str, GemmLayer] = {}
    for node in order:
        a = g.nodes[node]
        if a["op"] == "matmul":
            out[node] = _matmul_layer(g, arch, node, a, base, act_bytes, acc_bytes)
            continue
        if a["op"] not in ("conv", "linear"):
            continue
        w = np.asarray(a["weight"])
        shape = a["out_shape"]
        if a["op"] == "linear":  # rows: batch items, or batch x tokens on (B, T, F)
            M, N, K, groups, kk = int(np.prod(shape[:-1])), w.shape[0], w.shape[1], 1, 1
        else:
            n, o, ho, wo = shape
            groups = int(a.get("groups", 1))
            M, N, K = n * ho * wo, o, int(np.prod(w.shape[1:]))
            kk = int(np.prod(w.shape[2:]))
        src = base(a["inputs"][0])
        mask = (w.reshape(w.shape[0], -1) != 0).T
        out[node] = GemmLayer(
            node=node, op=a["op"], attrs=a, M=int(M), N=int(N), K=int(K), groups=groups,
            kk=kk, cin_per_group=int(K) // kk, mask=mask, wbits=int(a.get("weight_bits", 8)),
            act_bytes=act_bytes, acc_bytes=acc_bytes, rows=R, cols=C,
            rule=layer_rule(arch, node, a, mask), act_signed=bool(input_range(g, node)[0]),
            in_tensor=src, in_geom=geom_of(g.nodes[src]["out_shape"]), out_geom=geom_of(shape),
            pipelined=arch.tile.pe_array.fold_pipelining)
    return out


def _matmul_layer(g, arch, node: str, a: dict[str, Any], base, act_bytes: int,
                  acc_bytes: int) -> GemmLayer:
    """A product of two activations as a GEMM: M = B T token rows, N = the output features
    (heads x S for ``a @ b^T``, heads x e for ``a @ b``), K = the first operand's features per
    head; the heads run one after another like a grouped conv's groups (all weights dense)."""
    from archsim.pe.organisation import dynamic_operand

    src, bsrc = base(a["inputs"][0]), base(a["inputs"][1])
    bs = g.nodes[bsrc]
    try:
        dyn = dynamic_operand(arch.pe(), int(bs["out_lo"]), int(bs["out_hi"]))
    except ValueError as exc:
        raise MappingError(f"{arch.source}: layer {node!r} (matmul): {exc}") from None
    bsz, t, nout = (int(v) for v in a["out_shape"])
    heads = int(a["heads"])
    in_geom = geom_of(g.nodes[src]["out_shape"])
    K = in_geom.c // heads
    return GemmLayer(
        node=node, op="matmul", attrs=a, M=bsz * t, N=nout, K=K, groups=heads, kk=1,
        cin_per_group=K, mask=np.ones((K, nout), dtype=bool), wbits=8 * act_bytes,
        act_bytes=act_bytes, acc_bytes=acc_bytes, rows=arch.tile.pe_array.rows,
        cols=arch.tile.pe_array.cols, rule=SparseRule(mode="none"),
        act_signed=bool(input_range(g, node)[0]), in_tensor=src, in_geom=in_geom,
        out_geom=geom_of(a["out_shape"]), b_tensor=bsrc, b_geom=geom_of(bs["out_shape"]),
        heads=heads, transpose_b=bool(a["transpose_b"]), t_len=t,
        s_len=int(bs["out_shape"][1]), dyn=dyn, pipelined=arch.tile.pe_array.fold_pipelining)


@dataclass(frozen=True, kw_only=True)
class ChunkWork:
    """What one GEMM chunk costs its tile (the fields a Chunk carries)."""

    compute_cycles: int
    selects: int
    decodes: int
    sram_reads: tuple[tuple[str, int], ...]
    sram_writes: tuple[tuple[str, int], ...]
    sram_stall_cycles: int
    fill_cycles: int = 0  # of compute_cycles: the fold fill a back-to-back predecessor hides


class ChunkTiming:
    """Per design point: a chunk's compute cycles (fold x cycles/MAC, LUT-bank and gather
    bounds), its buffer traffic during compute and the SRAM-bandwidth stall (module doc)."""

    def __init__(self, arch: ArchConfig, act_bytes: int) -> None:
        self.arch = arch
        pe = arch.pe()
        # a time-multiplexed table set serves its PEs in ceil(S / ports) cycles per MAC step
        self.cpm = float(pe.cycles_per_mac * read_stretch(pe, arch.tile.lut_banks))
        lb = arch.tile.lut_banks
        self.lookups_per_mac = effective_ops(pe, lb.organisation).lookups
        self.lut_bw = lb.count * lb.read_ports * lb.lookups_per_port_per_cycle
        self.sp = arch.tile.sparsity
        self.ab = act_bytes
        self.pb = _ceil(arch.tile.pe_array.acc_bits, 8)
        self.ideal = arch.ideal_memory
        sr = arch.tile.sram
        self.bw = {b: getattr(sr, b).bytes_per_cycle * getattr(sr, b).ports
                   for b in ("ifmap", "weight", "ofmap")}

    def compute_cycles(self, fc: FoldCycles, executed: int, selects: int) -> int:
        """Fold cycles x cycles/MAC (plus the gather network's pipeline per fold), but never
        faster than the LUT banks serve look-ups or the gather network delivers operands."""
        cyc = int(np.ceil(fc.cycles * self.cpm))
        if self.lut_bw and self.lookups_per_mac:
            cyc = max(cyc, int(np.ceil(executed * self.lookups_per_mac / self.lut_bw)))
        if self.sp.mode == "gather" and fc.folds:
            cyc += fc.folds * self.sp.gather_latency_cycles
            rate = self.sp.gather_operands_per_cycle or self.arch.pes_per_tile
            cyc = max(cyc, _ceil(selects, rate))
        return cyc

    @staticmethod
    def fill(fc: FoldCycles, cpm: float, fold_cyc: int, cyc: int) -> int:
        """The chunk's hideable fill (fold pipelining) in compute cycles: the fold model's
        ``fill_cycles`` x cycles/MAC (rounded down), 0 when a bandwidth bound (LUT banks,
        gather network, table build) rather than the folds sets ``cyc``."""
        return int(fc.fill_cycles * cpm) if fc.fill_cycles and cyc == fold_cyc else 0

    def fold_compute_cycles(self, fc: FoldCycles) -> int:
        """The folds' own share of :meth:`compute_cycles` (no bandwidth bound)."""
        cyc = int(np.ceil(fc.cycles * self.cpm))
        if self.sp.mode == "gather" and fc.folds:
            cyc += fc.folds * self.sp.gather_latency_cycles
        return cyc

    def traffic(self, m: int, n: int, fc: FoldCycles, partial: bool = False):
        """Operand bytes read from / written to the tile buffers during compute: activations,
        weights (1 byte per element) with their metadata, partial sums at acc_bits and the
        outputs at act_bits (at acc_bits when ``partial``: a split-K part's partial sums)."""
        ab, pb = self.ab, self.pb
        if_r = fc.act_reads * ab
        meta = fc.meta_bits * fc.weight_reads / fc.weights_stored if fc.weights_stored else 0
        w_r = fc.weight_reads + _ceil(int(np.ceil(meta)), 8)
        of_w = fc.psum_writes * pb + m * n * (pb if partial else ab)
        of_r = fc.psum_writes * pb
        reads = (("ifmap", int(if_r)), ("weight", int(w_r)), ("ofmap", int(of_r)))
        writes = (("ofmap", int(of_w)),)
        return reads, writes

    def stall(self, reads, writes, compute_cycles: int) -> int:
        """Cycles by which the buffers' bandwidth (bytes_per_cycle x ports) outlasts compute."""
        if self.ideal:
            return 0
        per: dict[str, int] = {}
        for buf, nbytes in reads + writes:
            per[buf] = per.get(buf, 0) + nbytes
        need = 0
        for buf, nbytes in per.items():
            need = max(need, _ceil(nbytes, self.bw[buf]))
        return max(0, need - compute_cycles)

    def dynamic_chunk(self, L: GemmLayer, m: int, n: int, fc: FoldCycles,
                      build_ops: int = 0) -> ChunkWork:
        """A matmul chunk: the dense fold x the dynamic operand's cycles per MAC (its passes
        scale the LUT-bank bound), never faster than the vector unit builds the next block's
        activation tables (``build_ops``, tables built ahead), with the dense fold's traffic."""
        dyn = L.dyn
        cyc = fold_cyc = int(np.ceil(fc.cycles * float(dyn.kind.cycles_per_mac)))
        if self.lut_bw and self.lookups_per_mac:
            cyc = max(cyc, _ceil(int(np.ceil(fc.macs_mapped * self.lookups_per_mac
                                             * dyn.passes)), self.lut_bw))
        if build_ops:
            cyc = max(cyc, _ceil(build_ops, self.arch.tile.vector_lanes))
        reads, writes = self.traffic(m, n, fc)
        return ChunkWork(compute_cycles=cyc, selects=0, decodes=0, sram_reads=reads,
                         sram_writes=writes, sram_stall_cycles=self.stall(reads, writes, cyc),
                         fill_cycles=self.fill(fc, float(dyn.kind.cycles_per_mac), fold_cyc,
                                               cyc))

    def chunk(self, m: int, n: int, fc: FoldCycles, mode: str,
              partial: bool = False) -> ChunkWork:
        executed = fc.macs_mapped
        selects = executed if mode in ("nm_structured", "gather") else 0
        cyc = self.compute_cycles(fc, executed, selects)
        reads, writes = self.traffic(m, n, fc, partial)
        return ChunkWork(compute_cycles=cyc, selects=selects,
                         decodes=fc.weight_reads if selects else 0, sram_reads=reads,
                         sram_writes=writes, sram_stall_cycles=self.stall(reads, writes, cyc),
                         fill_cycles=self.fill(fc, self.cpm, self.fold_compute_cycles(fc), cyc))
