"""Mapping: a workload graph + design point + dataflow + strategy -> a static Schedule.

In:  a validated workload graph (docs/workload_graph.md), an :class:`ArchConfig`, a dataflow
     (``os`` | ``ws`` | ``is``) and a :class:`MappingSpec` (strategy ``layer`` or ``pipeline``,
     partition ``auto`` | ``out_channels`` | ``out_pixels``).
Out: a frozen :class:`Schedule`: tasks (one block of one layer on one tile), each split into
     chunks that fit the tile's SRAM buffers, with dependencies, data sources and analytic
     compute cycles (fold model x the PE kind's cycles per MAC).

Strategies (the only place dataflows and strategies differ; the simulator is shared):
  - ``layer``: every layer is partitioned over all tiles into tm x tn blocks (output pixels x
    output channels); outputs go to the edge memory (global buffer if the tensor fits, DRAM
    otherwise) and the next layer reads them from there.
  - ``pipeline``: consecutive layers get disjoint tile groups sized by their MACs; a layer's
    output pixels are split into row blocks that stay in the producer tile's output buffer and
    are pulled over the mesh by the consumer's tiles as soon as they are ready.
Element-wise nodes (pooling, add, concat, mul, table look-ups, un-fused relu / clamp) run on
the tiles' vector units, partitioned by channels; flatten and a relu / clamp whose input range
already lies inside its bounds are free views. GEMM tasks carry their layer's declared input
sign (``Task.act_signed``), which sets the per-MAC operation counts the tiles record.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from archsim.design.arch import ArchConfig
from archsim.errors import MappingError, short
from archsim.graph.dag import insertion_topo_order, lexicographic_topo_order
from archsim.graph.ir import input_range
from archsim.mapping.fold import DATAFLOWS, FoldCycles, SparseRule, fold_cycles
from archsim.mapping.partition import LayerBytes, choose_partition, split_range
from archsim.mapping.regions import Region, TensorGeom, conv_input_region, geom_of
from archsim.pe.organisation import effective_ops, entries_per_fold

if TYPE_CHECKING:  # networkx is slow to import; graphs may also be archsim.graph.dag.Dag
    import networkx as nx

__all__ = ["Chunk", "MappingError", "MappingSpec", "Schedule", "Source", "Task", "build_schedule"]

STRATEGIES = ("layer", "pipeline")
PARTITIONS = ("auto", "out_channels", "out_pixels")
VECTOR_OPS = ("maxpool", "avgpool", "add", "concat", "relu", "clamp", "table", "mul")


@dataclass(frozen=True)
class MappingSpec:
    strategy: str = "layer"
    partition: str = "auto"
    stream_blocks: int = 4  # pipeline: row blocks per tile of a layer group
    min_vector_elements: int = 4096  # element-wise tasks are not cut smaller than this

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise MappingError(f"mapping: strategy {short(self.strategy)} is not one of "
                               f"{STRATEGIES}")
        if self.partition not in PARTITIONS:
            raise MappingError(f"mapping: partition {short(self.partition)} is not one of "
                               f"{PARTITIONS}")
        if self.min_vector_elements <= 0:
            raise MappingError("mapping: min_vector_elements must be positive")
        if self.stream_blocks <= 0:
            raise MappingError(f"mapping: stream_blocks must be positive, got {self.stream_blocks}")

    @classmethod
    def parse(cls, text: str | MappingSpec | None) -> MappingSpec:
        """``"layer"``, ``"layer:out_channels"``, ``"pipeline"`` ... or a MappingSpec."""
        if text is None:
            return cls()
        if isinstance(text, MappingSpec):
            return text
        strategy, _, partition = str(text).partition(":")
        return cls(strategy=strategy, partition=partition or "auto")

    def label(self) -> str:
        return f"{self.strategy}:{self.partition}"


@dataclass(frozen=True, kw_only=True)
class Source:
    """Bytes a chunk reads: from edge memory (``tile`` is None) or from a producer tile."""

    tensor: str
    region: Region
    nbytes: int
    tile: int | None  # None: edge memory (gbuf or DRAM)
    memory: str  # "gbuf" | "dram" | "tile"
    group: int | None = None  # multicast group delivering these bytes to several tiles


@dataclass(frozen=True, kw_only=True)
class Chunk:
    """One block of a task: output pixels [m0, m1) x channels [n0, n1), its work and bytes."""

    m0: int
    m1: int
    n0: int
    n1: int
    compute_cycles: int
    folds: int
    macs_dense: int
    macs_executed: int
    pe_slots: int
    vector_ops: int
    sources: tuple[Source, ...]
    weight_bytes: int  # weights fetched from DRAM for this chunk (0 when already resident)
    program_entries: int  # LUT entries (re)programmed before this chunk
    ofmap_bytes: int
    sram_reads: tuple[tuple[str, int], ...]  # (buffer, bytes) read during compute
    sram_writes: tuple[tuple[str, int], ...]
    macs_nonzero: int = 0  # issued MACs with a non-zero weight (the rest may be gated)
    selects: int = 0  # operands picked by the PEs' selectors (nm_structured, gather)
    decodes: int = 0  # metadata entries decoded into selector indices (nm_structured, gather)
    sram_stall_cycles: int = 0  # extra cycles the buffers' bandwidth adds to compute_cycles
    weight_group: int | None = None  # multicast group delivering this chunk's weights


@dataclass(frozen=True, kw_only=True)
class Task:
    id: int
    node: str
    op: str
    tile: int
    deps: tuple[int, ...]
    chunks: tuple[Chunk, ...]
    out_region: Region
    out_home: str  # "gbuf" | "dram" | "tile"
    act_signed: bool = False  # conv/linear: the layer's declared input sign (per-layer ops)

    @property
    def name(self) -> str:
        return f"{self.node}[{self.id}]@tile{self.tile}"


@dataclass(frozen=True, kw_only=True)
class Schedule:
    dataflow: str
    mapping: MappingSpec
    tasks: tuple[Task, ...]
    layers: tuple[str, ...]  # nodes with tasks, in topological order
    homes: dict[str, str] = field(hash=False)  # tensor -> where it lives
    partitions: dict[str, tuple[int, int]] = field(hash=False)  # node -> (tm, tn)
    aliases: dict[str, str] = field(hash=False)  # free views (flatten, fused relu) -> base
    # multicast group -> the tiles it delivers to (sorted); see _multicast_groups
    multicast: dict[int, tuple[int, ...]] = field(default_factory=dict, hash=False)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _bitrev(v: int, bits: int) -> int:
    return int(f"{v:0{bits}b}"[::-1], 2) if bits else 0


def spread_order(rows: int, cols: int) -> list[int]:
    """Tile indices ordered so that every prefix is spread evenly over the grid.

    The ``layer`` strategy gives a layer's blocks to the first tiles of this order, so a layer
    on fewer tiles than the grid has is not packed into the first rows (which made a 8x16
    grid slower than 16x8: a 16-block layer filled row 0 and queued on its links).  Order:
    Morton (bit-interleaved) order of the bit-reversed row and column numbers; the first
    ``2^k`` tiles of a power-of-two grid form a regular sub-lattice, rows and columns
    alternating.
    """
    rb, cb = (rows - 1).bit_length(), (cols - 1).bit_length()

    def key(t: int) -> tuple[int, int]:
        r, c = divmod(t, cols)
        br, bc = _bitrev(r, rb), _bitrev(c, cb)
        code, bit = 0, 0
        for i in range(max(rb, cb)):
            # the longer side's bits first at each level, so prefixes stay square-ish
            for v, nb in ((bc, cb), (br, rb)) if cb >= rb else ((br, rb), (bc, cb)):
                if i < nb:
                    code |= ((v >> (nb - 1 - i)) & 1) << (64 - bit)
                    bit += 1
        return code, t

    return sorted(range(rows * cols), key=key)


class _Mapper:
    """Builds one Schedule; holds the per-run lookups so helpers stay small."""

    def __init__(self, g: nx.DiGraph, arch: ArchConfig, dataflow: str, spec: MappingSpec):
        if dataflow not in DATAFLOWS:
            raise MappingError(f"dataflow: {short(dataflow)} is not one of {', '.join(DATAFLOWS)}")
        self.g, self.arch, self.df, self.spec = g, arch, dataflow, spec
        self.pe = arch.pe()
        self.cpm = float(self.pe.cycles_per_mac)
        self.act_bytes = _ceil(int(g.graph.get("act_bits", 8)), 8)
        self.acc_bytes = _ceil(arch.tile.pe_array.acc_bits, 8)
        self.sp = arch.tile.sparsity
        # ties among ready nodes: by name, unless the graph keeps its insertion order (SCALE-Sim
        # topologies: layers run and are numbered in row order)
        self.order = (insertion_topo_order(g) if g.graph.get("topo_order") == "insertion"
                      else lexicographic_topo_order(g))
        self.tasks: list[Task] = []
        self.by_node: dict[str, list[Task]] = {}
        self.homes: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.partitions: dict[str, tuple[int, int]] = {}
        self.geoms: dict[str, TensorGeom] = {}
        t = arch.tile
        self.ideal = arch.ideal_memory
        div = 2 if not self.ideal else 1
        self.cap = {
            "ifmap": t.sram.ifmap.capacity_bytes // (div if t.sram.ifmap.double_buffered else 1),
            "weight": t.sram.weight.capacity_bytes // (div if t.sram.weight.double_buffered else 1),
            "ofmap": t.sram.ofmap.capacity_bytes // (div if t.sram.ofmap.double_buffered else 1),
        }
        self.n_tiles = arch.n_tiles
        self.groups = self._tile_groups() if spec.strategy == "pipeline" else {}
        self.spread = spread_order(arch.grid.rows, arch.grid.cols)
        lb = arch.tile.lut_banks
        self.org = lb.organisation
        self.resident: dict[int, tuple] = {}  # tile -> (node, c0, c1) of its loaded weights
        if self.org == "weight" and dataflow != "ws":
            raise MappingError(
                f"{arch.source}: tile.lut_banks.organisation 'weight' reprograms tables per "
                f"stationary weight and needs dataflow 'ws', not {dataflow!r}")
        self.lookups_per_mac = effective_ops(self.pe, self.org).lookups
        self.lut_bw = lb.count * lb.read_ports * lb.lookups_per_port_per_cycle

    # ---- tensor bookkeeping -------------------------------------------------------------
    def base(self, name: str) -> str:
        while name in self.aliases:
            name = self.aliases[name]
        return name

    def _home_for(self, node: str, nbytes: int) -> str:
        if (self.spec.strategy == "pipeline" and self.g.nodes[node]["op"] != "input"
                and nbytes <= self.cap["ofmap"] * max(1, len(self.groups.get(node, [0])))):
            return "tile"
        gcap = self.arch.gbuf.capacity_bytes
        return "gbuf" if (nbytes <= gcap and self.g.nodes[node]["op"] != "input") else "dram"

    def sources_for(self, tensor: str, region: Region) -> tuple[list[Source], set[int]]:
        """Where the bytes of ``region`` of ``tensor`` come from, and the producer tasks."""
        base = self.base(tensor)
        deps: set[int] = set()
        out: list[Source] = []
        mem_bytes = 0
        for task in self.by_node.get(base, []):
            ov = task.out_region.overlap(region)
            if ov is None:
                continue
            deps.add(task.id)
            nbytes = ov.elements * self.act_bytes
            if task.out_home == "tile":
                out.append(Source(tensor=base, region=ov, nbytes=nbytes, tile=task.tile,
                                  memory="tile"))
            else:
                mem_bytes += nbytes
        if base not in self.by_node:  # network input: lives in DRAM, no producer task
            mem_bytes = region.elements * self.act_bytes
        if mem_bytes:
            home = self.homes.get(base, "dram")
            out.append(Source(tensor=base, region=region, nbytes=mem_bytes, tile=None, memory=home))
        return out, deps

    # ---- tile groups (pipeline) -----------------------------------------------------------
    def _tile_groups(self) -> dict[str, list[int]]:
        gemms = [n for n in self.order if self.g.nodes[n]["op"] in ("conv", "linear")]
        T = self.n_tiles
        groups: dict[str, list[int]] = {}
        if not gemms:
            return groups
        if len(gemms) >= T:
            for i, n in enumerate(gemms):
                groups[n] = [i % T]
            return groups
        macs = np.array([max(1, int(self.g.nodes[n]["macs_dense"])) for n in gemms], float)
        share = np.maximum(1, np.floor(macs / macs.sum() * T)).astype(int)
        while share.sum() > T:
            share[int(np.argmax(share))] -= 1
        rest = T - int(share.sum())
        frac = macs / macs.sum() * T - share
        for i in np.argsort(-frac, kind="stable")[:rest]:
            share[i] += 1
        start = 0
        for n, s in zip(gemms, share):
            groups[n] = list(range(start, start + int(s)))
            start += int(s)
        return groups

    def group_of(self, node: str) -> list[int]:
        if self.spec.strategy != "pipeline":
            return self.spread
        if node in self.groups:
            return self.groups[node]
        a = self.g.nodes[node]
        for p in a["inputs"]:
            b = self.base(p)
            if b in self.groups:
                return self.groups[b]
            if b in self.group_cache:
                return self.group_cache[b]
        return [0]

    # ---- build ------------------------------------------------------------------------------
    def build(self) -> Schedule:
        self.group_cache = {}
        for node in self.order:
            a = self.g.nodes[node]
            op = a["op"]
            self.geoms[node] = geom_of(a["out_shape"])
            if op == "input":
                self.homes[node] = "dram"
            elif op == "flatten" or self._is_identity_clip(a):
                self.aliases[node] = a["inputs"][0]
            elif op in ("conv", "linear"):
                self._map_gemm(node, a)
            elif op in VECTOR_OPS:
                self._map_vector(node, a)
            else:
                raise MappingError(f"node {node!r}: op {op!r} is not supported by the mapper")
            if node in self.by_node:
                self.group_cache[node] = sorted({t.tile for t in self.by_node[node]})
        layers = tuple(n for n in self.order if n in self.by_node)
        tasks, groups = tuple(self.tasks), {}
        if self.arch.interconnect.multicast:
            tasks, groups = _multicast_groups(tasks)
        return Schedule(
            dataflow=self.df, mapping=self.spec, tasks=tasks, layers=layers,
            homes=dict(self.homes), partitions=dict(self.partitions), aliases=dict(self.aliases),
            multicast=groups,
        )

    def _is_identity_clip(self, a: dict[str, Any]) -> bool:
        """A relu / clamp whose producer's output range already lies inside its bounds."""
        if a["op"] not in ("relu", "clamp"):
            return False
        src = self.g.nodes[self.base(a["inputs"][0])]
        lo, hi = (0, src["out_hi"]) if a["op"] == "relu" else (a["clamp_lo"], a["clamp_hi"])
        return int(src["out_lo"]) >= lo and int(src["out_hi"]) <= hi

    def _add_task(self, node, op, tile, deps, chunks, region, home, signed=False) -> None:
        t = Task(id=len(self.tasks), node=node, op=op, tile=tile, deps=tuple(sorted(deps)),
                 chunks=tuple(chunks), out_region=region, out_home=home, act_signed=signed)
        self.tasks.append(t)
        self.by_node.setdefault(node, []).append(t)

    # ---- GEMM layers ------------------------------------------------------------------------
    def _gemm_dims(self, a: dict[str, Any]) -> tuple[int, int, int, int]:
        shape = a["out_shape"]
        w = a["weight"]
        if a["op"] == "linear":
            return shape[0], w.shape[0], w.shape[1], 1
        n, o, ho, wo = shape
        groups = int(a.get("groups", 1))
        return n * ho * wo, o, int(np.prod(w.shape[1:])), groups

    def _weight_matrix_mask(self, a) -> np.ndarray:
        """(K, N) non-zero mask of the weights as the GEMM sees them (per group stacked)."""
        w = np.asarray(a["weight"])
        return (w.reshape(w.shape[0], -1) != 0).T

    def _rule(self, node: str, a: dict[str, Any], mask: np.ndarray) -> SparseRule:
        """The design point's sparsity mode as it applies to this layer (docs/model.md)."""
        sp, src = self.sp, self.arch.source
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
            if self.df != "ws":
                raise MappingError(
                    f"{src}: tile.sparsity.optimized_mapping supports dataflow 'ws' only, not "
                    f"{self.df!r} (as SCALE-Sim 3.0.0)")
            worst = int(_block_max(mask, b))
            if worst > b // 2:
                raise MappingError(
                    f"{src}: layer {node!r}: optimized N:M mapping needs at most {b // 2} "
                    f"non-zeros in every block of {b} weights of a filter, found {worst}")
            nm = tuple(int(v) for v in declared) if declared is not None else None
            return SparseRule(mode="nm_structured", nm=nm, block_size=b,
                              metadata=sp.metadata)
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

    def _weight_bytes(self, fc: FoldCycles, wbits: int) -> float:
        """Bytes of the weight operand as stored: compacted weights plus their metadata."""
        return fc.weights_stored * wbits / 8 + fc.meta_bits / 8

    def _map_gemm(self, node: str, a: dict[str, Any]) -> None:
        M, N, K, groups = self._gemm_dims(a)
        tiles = self.group_of(node)
        T = len(tiles)
        mask = self._weight_matrix_mask(a)
        rule = self._rule(node, a, mask)
        out_bytes = M * N * self.act_bytes
        if self.spec.strategy == "pipeline":
            tm, tn = T, 1
            m_parts = split_range(M, min(M, T * self.spec.stream_blocks))
            n_parts = [(0, N)]
        else:
            wbits = int(a.get("weight_bits", 8))
            w_bytes = int(self._weight_bytes(
                self._fold(1, N, K, groups, mask, 0, N, rule), wbits))
            in_geom = self.geoms[self.base(a["inputs"][0])]
            nbytes = LayerBytes(in_geom.elements * self.act_bytes, w_bytes, out_bytes)
            ratio = (None if rule.mode == "none"
                     else self._sparse_ratio(M, N, K, groups, mask, rule))
            tm, tn = choose_partition(M, N, K, T, self.spec.partition, self.arch, self.df,
                                      self.cpm, nbytes, ratio)
            m_parts = split_range(M, tm)
            n_parts = split_range(N, tn)
        self.partitions[node] = (tm, tn)
        home = self._home_for(node, out_bytes)
        self.homes[node] = home
        i = 0
        geom = self.geoms[node]
        signed = input_range(self.g, node)[0]
        for n0, n1 in n_parts:
            for m0, m1 in m_parts:
                tile = tiles[i % T]
                i += 1
                chunks, deps = self._gemm_chunks(node, a, m0, m1, n0, n1, K, groups, mask, tile,
                                                 rule)
                region = geom.gemm_region(m0, m1, n0, n1)
                self._add_task(node, a["op"], tile, deps, chunks, region, home, signed)

    def _input_region(self, node, a, m0, m1, n0, n1) -> Region:
        src = a["inputs"][0]
        ig = self.geoms[self.base(src)]
        if a["op"] == "linear":
            # rows are batch items; the whole feature vector of each is needed
            return ig.batch_region(m0, m1)
        return conv_input_region(a, ig, self.geoms[node], m0, m1, n0, n1)

    def _sparse_ratio(self, M, N, K, groups, mask, rule):
        """tn -> the largest sparse / dense fold-cycle ratio over ``tn`` filter blocks."""
        def ratio(tn: int) -> float:
            worst = 0.0
            for n0, n1 in split_range(N, tn):
                dense = self._fold(M, n1 - n0, K, groups, None, n0, N).cycles
                if dense:
                    sparse = self._fold(M, n1 - n0, K, groups, mask[:, n0:n1], n0, N,
                                        rule).cycles
                    worst = max(worst, sparse / dense)
            return worst

        return ratio

    def _gemm_chunks(self, node, a, m0, m1, n0, n1, K, groups, mask, tile, rule):
        wbits = int(a.get("weight_bits", 8))
        src = a["inputs"][0]
        ncols = n1 - n0
        N = mask.shape[1]

        # n-chunk so the weights fit; m-chunk so inputs and outputs fit
        def wbytes(c0, c1):
            fc1 = self._fold(1, c1 - c0, K, groups, mask[:, c0:c1], c0, N, rule)
            return int(np.ceil(self._weight_bytes(fc1, wbits)))

        nc = ncols
        if not self.ideal:
            while nc > 1 and wbytes(n0, n0 + nc) > self.cap["weight"]:
                nc = _ceil(nc, 2)
            if wbytes(n0, n0 + nc) > self.cap["weight"]:
                raise MappingError(
                    f"{self.arch.source}: layer {node!r} does not fit: one filter needs "
                    f"{wbytes(n0, n0 + 1)} weight bytes > tile.sram.weight usable capacity "
                    f"{self.cap['weight']} bytes"
                )
        chunks: list[Chunk] = []
        deps: set[int] = set()
        for c0 in range(n0, n1, nc):
            c1 = min(n1, c0 + nc)
            mc = m1 - m0
            # outputs whose reduction is split over folds are held as acc_bits partial sums
            split = self._fold(1, c1 - c0, K, groups, mask[:, c0:c1], c0, N, rule).psum_writes
            ob = self.acc_bytes if split else self.act_bytes
            if not self.ideal:
                while mc > 1 and not self._m_fits(node, a, m0, m0 + mc, c0, c1, ob):
                    mc = _ceil(mc, 2)
                if not self._m_fits(node, a, m0, m0 + mc, c0, c1, ob):
                    reg = self._input_region(node, a, m0, m0 + 1, c0, c1)
                    raise MappingError(
                        f"{self.arch.source}: layer {node!r} does not fit: one output pixel needs "
                        f"{reg.elements * self.act_bytes} input bytes (tile.sram.ifmap usable "
                        f"{self.cap['ifmap']}) and {(c1 - c0) * ob} output bytes "
                        f"(tile.sram.ofmap usable {self.cap['ofmap']})"
                    )
            first = True
            for r0 in range(m0, m1, mc):
                r1 = min(m1, r0 + mc)
                reg = self._input_region(node, a, r0, r1, c0, c1)
                srcs, d = self.sources_for(src, reg)
                deps |= d
                fc = self._fold(r1 - r0, c1 - c0, K, groups, mask[:, c0:c1], c0, N, rule)
                executed = fc.macs_mapped
                # weights stay in the weight buffer while consecutive chunks of the tile use them
                key = (node, c0, c1)
                wb = 0 if (not first or self.resident.get(tile) == key) else wbytes(c0, c1)
                self.resident[tile] = key
                prog = self._program_entries(fc.folds)
                first = False
                ofb = (r1 - r0) * (c1 - c0) * self.act_bytes
                reads, writes = self._sram_traffic(r1 - r0, c1 - c0, fc)
                selects = executed if rule.mode in ("nm_structured", "gather") else 0
                cyc = self._compute_cycles(fc, executed, selects)
                chunks.append(Chunk(
                    m0=r0, m1=r1, n0=c0, n1=c1, compute_cycles=cyc, folds=fc.folds,
                    macs_dense=fc.macs_dense, macs_executed=executed, pe_slots=fc.pe_slots,
                    vector_ops=0, sources=tuple(srcs), weight_bytes=wb, program_entries=prog,
                    ofmap_bytes=ofb, sram_reads=reads, sram_writes=writes,
                    macs_nonzero=fc.macs_nonzero, selects=selects,
                    decodes=fc.weight_reads if selects else 0,
                    sram_stall_cycles=self._sram_stall(reads, writes, cyc),
                ))
        return chunks, deps

    def _m_fits(self, node, a, r0, r1, c0, c1, out_el_bytes) -> bool:
        reg = self._input_region(node, a, r0, r1, c0, c1)
        return (reg.elements * self.act_bytes <= self.cap["ifmap"]
                and (r1 - r0) * (c1 - c0) * out_el_bytes <= self.cap["ofmap"])

    def _fold(self, m, n, K, groups, sub, c0, n_total, rule=None):
        """Fold cycles of an m x n block; grouped convs run their groups one after another.

        ``rule`` None: dense (the reference the partitioner compares with)."""
        R, C = self.arch.tile.pe_array.rows, self.arch.tile.pe_array.cols
        if rule is None:
            sub = None
        if groups == 1:
            return fold_cycles(self.df, R, C, m, n, K, sub, rule)
        fpg = n_total // groups  # filters of one group are contiguous
        gid = np.arange(c0, c0 + n) // fpg
        tot = FoldCycles(0, 0, 0, 0, 0)
        for gi in np.unique(gid):
            sel = np.nonzero(gid == gi)[0]
            tot = tot + fold_cycles(self.df, R, C, m, len(sel), K,
                                    None if sub is None else sub[:, sel], rule)
        return tot

    def _program_entries(self, folds: int) -> int:
        """Weight-programmed tables: every weight fold loads new tables into each PE."""
        R, C = self.arch.tile.pe_array.rows, self.arch.tile.pe_array.cols
        return folds * entries_per_fold(self.pe, self.org, R, C)

    def _compute_cycles(self, fc: FoldCycles, executed: int, selects: int) -> int:
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

    def _sram_stall(self, reads, writes, compute_cycles: int) -> int:
        """Cycles by which the buffers' bandwidth (bytes_per_cycle x ports) outlasts compute."""
        if self.ideal:
            return 0
        per: dict[str, int] = {}
        for buf, nbytes in reads + writes:
            per[buf] = per.get(buf, 0) + nbytes
        need = 0
        for buf, nbytes in per.items():
            cfg = getattr(self.arch.tile.sram, buf)
            need = max(need, _ceil(nbytes, cfg.bytes_per_cycle * cfg.ports))
        return max(0, need - compute_cycles)

    def _sram_traffic(self, m, n, fc: FoldCycles):
        """Operand bytes read from / written to the tile buffers during compute: activations,
        weights (1 byte per element) with their metadata, partial sums at acc_bits and the
        final outputs at act_bits."""
        ab, pb = self.act_bytes, self.acc_bytes
        if_r = fc.act_reads * ab
        meta = fc.meta_bits * fc.weight_reads / fc.weights_stored if fc.weights_stored else 0
        w_r = fc.weight_reads + _ceil(int(np.ceil(meta)), 8)
        of_w = fc.psum_writes * pb + m * n * ab
        of_r = fc.psum_writes * pb
        reads = (("ifmap", int(if_r)), ("weight", int(w_r)), ("ofmap", int(of_r)))
        writes = (("ofmap", int(of_w)),)
        return reads, writes

    # ---- element-wise nodes -----------------------------------------------------------------
    def _map_vector(self, node: str, a: dict[str, Any]) -> None:
        geom = self.geoms[node]
        tiles = self.group_of(node)
        n_tasks = max(1, min(geom.c, len(tiles),
                             -(-geom.elements // self.spec.min_vector_elements)))
        parts = split_range(geom.c, n_tasks)
        out_bytes = geom.elements * self.act_bytes
        home = self._home_for(node, out_bytes)
        self.homes[node] = home
        op = a["op"]
        per_el = 1
        if op in ("maxpool", "avgpool"):
            kh, kw = a["kernel"]
            per_el = kh * kw
        elif op == "add":
            per_el = len(a["inputs"])
        for i, (c0, c1) in enumerate(parts):
            region = Region(c0, c1, 0, geom.p)
            srcs, deps = [], set()
            for inp, reg in self._vector_inputs(node, a, c0, c1):
                s, d = self.sources_for(inp, reg)
                srcs += s
                deps |= d
            ops = region.elements * per_el
            cyc = _ceil(ops, self.arch.tile.vector_lanes)
            in_bytes = sum(s.nbytes for s in srcs)
            ob = region.elements * self.act_bytes
            chunk = Chunk(m0=0, m1=geom.p, n0=c0, n1=c1, compute_cycles=cyc, folds=0,
                          macs_dense=0, macs_executed=0, pe_slots=0, vector_ops=ops,
                          sources=tuple(srcs), weight_bytes=0, program_entries=0, ofmap_bytes=ob,
                          sram_reads=(("ifmap", in_bytes),), sram_writes=(("ofmap", ob),))
            self._add_task(node, op, tiles[i % len(tiles)], deps, [chunk], region, home)

    def _vector_inputs(self, node, a, c0, c1):
        op = a["op"]
        if op == "concat":
            off = 0
            for inp in a["inputs"]:
                c = self.geoms[self.base(inp)].c
                lo, hi = max(c0, off), min(c1, off + c)
                if lo < hi:
                    yield inp, Region(lo - off, hi - off, 0, self.geoms[self.base(inp)].p)
                off += c
            return
        for inp in a["inputs"]:
            yield inp, Region(c0, c1, 0, self.geoms[self.base(inp)].p)


def _multicast_groups(tasks: tuple[Task, ...]) -> tuple[tuple[Task, ...],
                                                        dict[int, tuple[int, ...]]]:
    """Tasks with identical edge-memory reads on several tiles joined into multicast groups.

    A read is keyed by what it delivers: a chunk's weights (layer, filter range, bytes) or an
    edge-memory input source (tensor, region, memory, bytes).  A key read by two or more
    tiles, once on each, becomes a group: in the simulator its members meet (each when its
    fetch reaches it) and one memory read travels the XY tree to all of them.  Members reach
    their groups in their own fetch order, so the groups must be ordered the same way on
    every tile: keys are taken in a topological order of the per-tile sequences (inputs of
    a chunk before its weights -- the strictest order the fetch unit uses) and a key closing
    a cycle stays a per-tile read.  Partly overlapping regions (a pixel split's halo rows)
    are not merged: only identical reads are multicast.
    """
    occ: dict[tuple, list[tuple[int, int, int]]] = {}  # key -> (task, chunk, source | -1)
    for t in tasks:
        for ci, c in enumerate(t.chunks):
            for si, src in enumerate(c.sources):
                if src.tile is None and src.nbytes:
                    occ.setdefault(("i", src.tensor, src.region, src.memory, src.nbytes),
                                   []).append((t.id, ci, si))
            if c.weight_bytes:
                occ.setdefault(("w", t.node, c.n0, c.n1, c.weight_bytes), []).append(
                    (t.id, ci, -1))
    keys = {}
    for k, where in occ.items():
        tiles = [tasks[ti].tile for ti, _, _ in where]
        if len(tiles) >= 2 and len(set(tiles)) == len(tiles):
            keys[k] = where
    if not keys:
        return tasks, {}
    first = {k: min(where) for k, where in keys.items()}
    seqs: dict[int, list] = {}
    for k, where in keys.items():
        for ti, ci, si in where:
            seqs.setdefault(tasks[ti].tile, []).append(((ti, ci, si if si >= 0 else 1 << 30), k))
    chains = [[k for _, k in sorted(seq, key=lambda e: e[0])] for _, seq in sorted(seqs.items())]
    live = set(keys)
    while True:  # Kahn's algorithm; drop the earliest key of a cycle and retry
        succ: dict[tuple, set] = {k: set() for k in live}
        indeg = dict.fromkeys(live, 0)
        for chain in chains:
            ks = [k for k in chain if k in live]
            for a, b in pairwise(ks):
                if b not in succ[a]:
                    succ[a].add(b)
                    indeg[b] += 1
        ready = sorted((first[k], k) for k in live if indeg[k] == 0)
        done = 0
        heapq.heapify(ready)
        while ready:
            _, k = heapq.heappop(ready)
            done += 1
            for b in succ[k]:
                indeg[b] -= 1
                if indeg[b] == 0:
                    heapq.heappush(ready, (first[b], b))
        if done == len(live):
            break
        live.discard(min((k for k in live if indeg[k] > 0), key=lambda k: first[k]))
    groups: dict[int, tuple[int, ...]] = {}
    assign: dict[tuple[int, int, int], int] = {}
    for k in sorted(live, key=lambda k: first[k]):
        gid = len(groups)
        groups[gid] = tuple(sorted(tasks[ti].tile for ti, _, _ in keys[k]))
        for w in keys[k]:
            assign[w] = gid
    out = []
    for t in tasks:
        chunks = []
        for ci, c in enumerate(t.chunks):
            srcs = tuple(replace(src, group=assign[(t.id, ci, si)])
                         if (t.id, ci, si) in assign else src for si, src in enumerate(c.sources))
            chunks.append(replace(c, sources=srcs, weight_group=assign.get((t.id, ci, -1))))
        out.append(replace(t, chunks=tuple(chunks)))
    return tuple(out), groups


def _block_max(mask: np.ndarray, size: int) -> int:
    """Most non-zeros of one filter in one block of ``size`` consecutive K rows."""
    k, n = mask.shape
    pad = _ceil(k, size) * size - k
    mk = np.concatenate([mask, np.zeros((pad, n), dtype=bool)]) if pad else mask
    return int(mk.reshape(-1, size, n).sum(axis=1).max()) if mk.size else 0


def build_schedule(g: nx.DiGraph, arch: ArchConfig, dataflow: str = "ws",
                   mapping: MappingSpec | str | None = None) -> Schedule:
    """Map ``g`` onto ``arch`` (see module doc)."""
    spec = MappingSpec.parse(mapping)
    return _Mapper(g, arch, dataflow, spec).build()
