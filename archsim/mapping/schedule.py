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
the tiles' vector units, partitioned by channels; on token tensors (B, T, F) they, softmax,
norm and token_pool are partitioned by token rows instead (never over axis 1,
``_Mapper._map_rows``). flatten, to_tokens and a relu / clamp whose input range already lies
inside its bounds are free views; ``constant`` tensors (a KV cache, a position embedding) live
in DRAM. Products of two activations (``matmul``) are GEMM layers of the plan whose second
operand is fetched from its producer (tile, global buffer or DRAM) and loaded into the array
in place of weights (``_Mapper._matmul_chunks``); their filter splits follow head boundaries.
A LUT kind with activation tables (``tile.lut_banks.organisation: activation``, tmac / luttc)
programs its tables per chunk from the chunk's activations. GEMM tasks carry their layer's
declared input sign (``Task.act_signed``), which sets the per-MAC operation counts the tiles
record; GEMM chunks apply the design point's sparsity mode (``tile.sparsity``, per layer
:func:`~archsim.mapping.layer.layer_rule`), hold partial sums at ``acc_bits`` and carry their
buffer traffic and SRAM-bandwidth stall (:class:`~archsim.mapping.layer.ChunkTiming`).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from archsim.design.arch import ArchConfig
from archsim.errors import MappingError, short
from archsim.mapping.fold import DATAFLOWS
from archsim.mapping.layer import (
    ChunkTiming,
    GemmLayer,
    buffer_caps,
    dataflow_error,
    gemm_layers,
    graph_aliases,
    mapping_order,
    shadow_bits,
)
from archsim.mapping.partition import split_range
from archsim.mapping.plan import LayerPlan, MappingPlan, PlanError
from archsim.mapping.regions import Region, TensorGeom, geom_of
from archsim.pe.organisation import activation_build_ops, activation_entries, entries_per_fold

if TYPE_CHECKING:  # networkx is slow to import; graphs may also be archsim.graph.dag.Dag
    import networkx as nx

__all__ = ["Chunk", "MappingError", "MappingSpec", "Schedule", "Source", "Task", "build_schedule"]

STRATEGIES = ("layer", "pipeline")
PARTITIONS = ("auto", "out_channels", "out_pixels")
VECTOR_OPS = ("maxpool", "avgpool", "add", "concat", "relu", "clamp", "table", "mul")
# ops over whole token rows (always on (B, T, F) tensors); element-wise VECTOR_OPS on token
# tensors are mapped row-wise too (partitioned over tokens, never over axis 1)
ROW_OPS = ("softmax", "norm", "token_pool")
# vector-unit operations per output element of the transformer ops (docs/model.md): softmax:
# max, subtract, i-exp (divide by q_ln2, multiply-add, square, add, shift), sum, normalise
# (multiply, divide); norm: sum (layer), square-accumulate, multiply by gamma, shift, divide,
# add beta, requantise (2), plus NORM_ROW_OPS per row for the integer square root; table: one
# look-up; mul: multiply + requantise; token_pool: accumulate; concat along tokens: copy;
# relu / clamp: one compare.
SEQ_VECTOR_OPS = {"softmax": 10, "norm": 8, "table": 1, "mul": 2, "token_pool": 1,
                  "concat": 1, "add": 2, "relu": 1, "clamp": 1}
NORM_ROW_OPS = 32


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
    # contiguous runs an edge-memory read gathers, ((bytes, count), ...): a strided conv's
    # touched pixels (Region.runs); empty: one run of nbytes
    runs: tuple[tuple[int, int], ...] = ()


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
    k_part: tuple[int, int] | None = None  # split-K: the reduction part whose weights it reads
    op_scale: float = 1.0  # PE work per MAC relative to a weight MAC (dynamic operands)
    # fold pipelining (docs/model.md "Fold pipelining"): the fill / drain of compute_cycles
    # the array hides when the previous chunk on the tile streams into this one, and the
    # bits shifted into the PEs' shadow registers (folds x R x C x shadow width); 0 when off
    fill_cycles: int = 0
    shadow_bits: int = 0


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
    # GEMM tasks: the layer plan's buffer use (LayerPlan.input_buffer / weight_buffer /
    # output_buffer)
    input_buffer: str = "double"
    weight_buffer: str = "double"
    output_buffer: str = "double"

    @property
    def name(self) -> str:
        return f"{self.node}[{self.id}]@tile{self.tile}"


@dataclass(frozen=True, kw_only=True)
class Schedule:
    dataflow: str
    mapping: MappingSpec
    plan: MappingPlan  # the per-layer decisions this schedule was built from
    tasks: tuple[Task, ...]
    layers: tuple[str, ...]  # nodes with tasks, in topological order
    homes: dict[str, str] = field(hash=False)  # tensor -> where it lives
    partitions: dict[str, tuple[int, int]] = field(hash=False)  # node -> (tm, tn)
    aliases: dict[str, str] = field(hash=False)  # free views (flatten, fused relu) -> base
    # multicast group -> the tiles it delivers to (sorted); see _multicast_groups
    multicast: dict[int, tuple[int, ...]] = field(default_factory=dict, hash=False)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _whole_hint(p: LayerPlan, buf: str) -> str:
    """Error hint: a double-buffered operand could use the whole buffer (plan field)."""
    fld = {"ifmap": "input_buffer", "weight": "weight_buffer", "ofmap": "output_buffer"}[buf]
    return f"; or {fld} 'single'" if getattr(p, fld) == "double" else ""


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
    """Builds one Schedule from a plan; holds the per-run lookups so helpers stay small."""

    def __init__(self, g: nx.DiGraph, arch: ArchConfig, dataflow: str, spec: MappingSpec,
                 plan: MappingPlan, layers: dict[str, GemmLayer] | None = None,
                 order: list[str] | None = None):
        if dataflow not in DATAFLOWS:
            raise MappingError(f"dataflow: {short(dataflow)} is not one of {', '.join(DATAFLOWS)}")
        self.g, self.arch, self.df, self.spec, self.plan = g, arch, dataflow, spec, plan
        self.pe = arch.pe()
        self.act_bytes = _ceil(int(g.graph.get("act_bits", 8)), 8)
        self.acc_bytes = _ceil(arch.tile.pe_array.acc_bits, 8)
        self.timing = ChunkTiming(arch, self.act_bytes)
        self.order = mapping_order(g) if order is None else order
        self.aliases: dict[str, str] = graph_aliases(g, self.order)
        self.layers = (gemm_layers(g, arch, self.order, self.aliases) if layers is None
                       else layers)
        self.tasks: list[Task] = []
        self.by_node: dict[str, list[Task]] = {}
        self.homes: dict[str, str] = {}
        self.partitions: dict[str, tuple[int, int]] = {}
        self.geoms: dict[str, TensorGeom] = {}
        self.ideal = arch.ideal_memory
        self.cap = buffer_caps(arch)
        self.n_tiles = arch.n_tiles
        self.spread = spread_order(arch.grid.rows, arch.grid.cols)
        lb = arch.tile.lut_banks
        self.org = lb.organisation
        self.sharing = lb.sharing
        self.ppt = lb.pes_per_table
        self.resident: dict[int, tuple] = {}  # tile -> (node, c0, c1, kc) of its loaded weights
        self.in_resident: dict[int, tuple] = {}  # tile -> (tensor, region) in its input buffer
        self.lp = self._check_plan()
        self.gid = self._groups()

    # ---- the plan against the graph and the design point ----------------------------------
    def _err(self, node: str, fld: str, msg: str) -> MappingError:
        return MappingError(f"{self.plan.label}: layer {node!r}: field {fld!r}: {msg}")

    def _check_plan(self) -> dict[str, LayerPlan]:
        lp = self.plan.by_layer()
        extra = [n for n in lp if n not in self.layers]
        if extra:
            raise MappingError(f"{self.plan.label}: layer {extra[0]!r}: field 'layer': no conv, "
                               f"linear or matmul node of that name in the workload")
        missing = [n for n in self.layers if n not in lp]
        if missing:
            raise MappingError(f"{self.plan.label}: layer {missing[0]!r}: field 'layer': the "
                               f"plan has no entry for it ({len(missing)} layer(s) missing)")
        for node, p in lp.items():
            L = self.layers[node]
            if p.tile_first + p.tile_count > self.n_tiles:
                raise self._err(node, "tile_count", f"tiles {p.tile_first}.."
                                f"{p.tile_first + p.tile_count - 1} exceed the design point's "
                                f"{self.n_tiles} tiles")
            for fld, v, lim, what in (("split_pixels", p.split_pixels, L.M, "output pixels"),
                                      ("split_channels", p.split_channels, L.N, "filters"),
                                      ("split_k", p.split_k, L.cin_per_group,
                                       "input channels per group")):
                if v > lim:
                    raise self._err(node, fld, f"{v} parts > the layer's {lim} {what}")
            if L.dynamic and p.split_channels > L.heads:
                raise self._err(node, "split_channels", f"{p.split_channels} parts > the "
                                f"matmul's {L.heads} heads (filter splits follow heads)")
            if L.dynamic and p.split_k > 1:
                raise self._err(node, "split_k", "the reduction of a product of two "
                                "activations is not split (split_k must be 1)")
            if p.split_k > 1 and L.groups > 1:
                raise self._err(node, "split_k", f"the reduction of a grouped conv "
                                f"({L.groups} groups) cannot be split")
            bad = dataflow_error(self.arch, p.dataflow)
            if bad:
                raise self._err(node, "dataflow", bad)
            self._check_buffers(node, L, p)
        return lp

    def _check_buffers(self, node: str, L: GemmLayer, p: LayerPlan) -> None:
        """``double`` needs a double-buffered buffer; a matmul's second operand streams in with
        its inputs, so its weight buffer is not used ``single`` (its outputs are written back
        as any layer's: its output buffer may be)."""
        sram = self.arch.tile.sram
        for fld, buf, cfg in (("input_buffer", "ifmap", sram.ifmap),
                              ("weight_buffer", "weight", sram.weight),
                              ("output_buffer", "ofmap", sram.ofmap)):
            if getattr(p, fld) == "double" and not cfg.double_buffered:
                raise PlanError(f"{self.plan.label}: layer {node!r}: field {fld!r}: 'double' "
                                f"needs a double-buffered buffer; {self.arch.source}: "
                                f"tile.sram.{buf}.double_buffered is false (use 'single')")
        if L.dynamic and p.weight_buffer == "single" and sram.weight.double_buffered:
            raise PlanError(f"{self.plan.label}: layer {node!r}: field 'weight_buffer': a "
                            f"matmul's second operand is fetched with its inputs, not as a "
                            f"weight set: 'single' is not supported (use 'double')")

    def _groups(self) -> dict[str, int | None]:
        """Pipelining group of every node (element-wise nodes: their first grouped input's);
        None: not pipelined (the layer is alone in its group)."""
        sizes: dict[int, int] = defaultdict(int)
        for p in self.lp.values():
            sizes[p.group] += 1
        gid: dict[str, int | None] = {}
        for node in self.order:
            if node in self.aliases:
                continue
            if node in self.lp:
                gid[node] = self.lp[node].group if sizes[self.lp[node].group] > 1 else None
            elif self.g.nodes[node]["op"] != "input":
                gid[node] = next((gid[self.base(p)] for p in self.g.nodes[node]["inputs"]
                                  if gid.get(self.base(p)) is not None), None)
        return gid

    def _consumers_in_group(self, node: str) -> bool:
        gid = self.gid.get(node)
        stack = list(self.g.successors(node))
        while stack:
            c = stack.pop()
            if c in self.aliases:
                stack.extend(self.g.successors(c))
            elif self.gid.get(c) != gid:
                return False
        return True

    # ---- tensor bookkeeping -------------------------------------------------------------
    def base(self, name: str) -> str:
        while name in self.aliases:
            name = self.aliases[name]
        return name

    def _home_for(self, node: str, nbytes: int, tiles: int = 1) -> str:
        if (self.gid.get(node) is not None and self.g.nodes[node]["op"] != "input"
                and nbytes <= self.cap["ofmap"] * max(1, tiles)
                and self._consumers_in_group(node)):
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
            out.append(Source(tensor=base, region=region, nbytes=mem_bytes, tile=None,
                              memory=home, runs=region.runs(self.act_bytes)))
        return out, deps

    def _tiles(self, p: LayerPlan, node: str) -> list[int]:
        """The tiles of a layer plan: positions tile_first.. of the spread order (every prefix
        of which is spread evenly over the grid, see :func:`spread_order`); a pipeline group's
        layers keep their contiguous tiles."""
        tiles = list(range(p.tile_first, p.tile_first + p.tile_count))
        if self.gid.get(node) is None:
            tiles = [self.spread[t] for t in tiles]
        return tiles

    def tiles_of(self, node: str) -> list[int]:
        """Tiles of an element-wise node: its group's producer tiles, else all tiles (in the
        spread order)."""
        if self.gid.get(node) is None:
            return list(self.spread)
        for p in self.g.nodes[node]["inputs"]:
            b = self.base(p)
            if self.gid.get(b) is None:
                continue
            if b in self.lp:
                q = self.lp[b]
                return self._tiles(q, b)
            if b in self.by_node:
                return sorted({t.tile for t in self.by_node[b]})
        return [0]

    # ---- build ------------------------------------------------------------------------------
    def build(self) -> Schedule:
        for node in self.order:
            a = self.g.nodes[node]
            op = a["op"]
            self.geoms[node] = geom_of(a["out_shape"])
            if op in ("input", "constant"):  # constants: stored data (KV cache, embedding)
                self.homes[node] = "dram"
            elif node in self.aliases:
                continue
            elif op in ("conv", "linear", "matmul"):
                self._map_gemm(node, a)
            elif op in ROW_OPS or (op in VECTOR_OPS and len(a["out_shape"]) == 3):
                self._map_rows(node, a)
            elif op in VECTOR_OPS:
                self._map_vector(node, a)
            else:
                raise MappingError(f"node {node!r}: op {op!r} is not supported by the mapper")
        layers = tuple(n for n in self.order if n in self.by_node)
        tasks, groups = tuple(self.tasks), {}
        if self.arch.interconnect.multicast:
            tasks, groups = _multicast_groups(tasks)
        return Schedule(
            dataflow=self.df, mapping=self.spec, plan=self.plan, tasks=tasks,
            layers=layers, homes=dict(self.homes), partitions=dict(self.partitions),
            aliases=dict(self.aliases), multicast=groups,
        )

    def _add_task(self, node, op, tile, deps, chunks, region, home, register=True,
                  signed=False, plan: LayerPlan | None = None) -> Task:
        bufs = {} if plan is None else {"input_buffer": plan.input_buffer,
                                        "weight_buffer": plan.weight_buffer,
                                        "output_buffer": plan.output_buffer}
        t = Task(id=len(self.tasks), node=node, op=op, tile=tile, deps=tuple(sorted(deps)),
                 chunks=tuple(chunks), out_region=region, out_home=home, act_signed=signed,
                 **bufs)
        self.tasks.append(t)
        if register:
            self.by_node.setdefault(node, []).append(t)
        return t

    # ---- GEMM layers ------------------------------------------------------------------------
    def _map_gemm(self, node: str, a: dict[str, Any]) -> None:
        L, p = self.layers[node], self.lp[node]
        tiles = self._tiles(p, node)
        T = len(tiles)
        out_bytes = L.M * L.N * self.act_bytes
        m_parts = split_range(L.M, p.split_pixels)
        n_parts = L.n_parts(p.split_channels)
        k_parts = split_range(L.cin_per_group, p.split_k)
        self.partitions[node] = (p.split_pixels, p.split_channels)
        home = self._home_for(node, out_bytes, T)
        self.homes[node] = home
        geom = self.geoms[node]
        i = 0
        for n0, n1 in n_parts:
            for m0, m1 in m_parts:
                region = geom.gemm_region(m0, m1, n0, n1)
                if L.dynamic:
                    tile = tiles[i % T]
                    i += 1
                    chunks, deps = self._matmul_chunks(L, p, m0, m1, n0, n1, tile)
                    self._add_task(node, "matmul", tile, deps, chunks, region, home,
                                   signed=L.act_signed, plan=p)
                    continue
                if p.split_k == 1:
                    tile = tiles[i % T]
                    i += 1
                    chunks, deps = self._gemm_chunks(L, p, m0, m1, n0, n1, None, tile)
                    self._add_task(node, a["op"], tile, deps, chunks, region, home,
                                   signed=L.act_signed, plan=p)
                    continue
                parts = []
                for kc in k_parts:
                    tile = tiles[i % T]
                    i += 1
                    self._check_partial_fits(L, p, m0, m1, n0, n1)
                    chunks, deps = self._gemm_chunks(L, p, m0, m1, n0, n1, kc, tile)
                    parts.append(self._add_task(node, a["op"], tile, deps, chunks, region,
                                                "tile", register=False, signed=L.act_signed,
                                                plan=p))
                self._reduce(L, p, parts, m0, m1, n0, n1, region, home)

    def _check_partial_fits(self, L, p, m0, m1, n0, n1) -> None:
        need = (m1 - m0) * (n1 - n0) * self.acc_bytes
        if not self.ideal and need > self.arch.tile.sram.ofmap.capacity_bytes:
            raise self._err(L.node, "split_k", f"a block's partial sums ({need} bytes) must "
                            f"stay in the output buffer until reduced: > tile.sram.ofmap "
                            f"capacity {self.arch.tile.sram.ofmap.capacity_bytes} bytes")

    def _reduce(self, L, p, parts, m0, m1, n0, n1, region, home) -> None:
        """Reduction task on the first part's tile: pull the partial sums, add, write out."""
        tile, tk, n = parts[0].tile, len(parts), n1 - n0
        rows = m1 - m0
        if not self.ideal:
            rows = min(rows, self.cap["ifmap"] // max(1, tk * n * self.acc_bytes),
                       self.cap["ofmap"] // max(1, n * self.act_bytes))
            if rows < 1:
                raise self._err(L.node, "split_k", f"one pixel's {tk} x {n} partial sums do "
                                f"not fit tile.sram.ifmap usable {self.cap['ifmap']} bytes")
        chunks = []
        for r0 in range(m0, m1, rows):
            r1 = min(m1, r0 + rows)
            reg = Region(n0, n1, r0, r1)
            nb = reg.elements * self.acc_bytes
            srcs = tuple(Source(tensor=f"{L.node}:partial", region=reg, nbytes=nb, tile=t.tile,
                                memory="tile") for t in parts)
            ops = reg.elements * (tk - 1)
            ob = reg.elements * self.act_bytes
            chunks.append(Chunk(
                m0=r0, m1=r1, n0=n0, n1=n1,
                compute_cycles=_ceil(ops, self.arch.tile.vector_lanes), folds=0, macs_dense=0,
                macs_executed=0, pe_slots=0, vector_ops=ops, sources=srcs, weight_bytes=0,
                program_entries=0, ofmap_bytes=ob, sram_reads=(("ifmap", nb * tk),),
                sram_writes=(("ofmap", ob),)))
        self.in_resident.pop(tile, None)
        self._add_task(L.node, L.op, tile, {t.id for t in parts}, chunks, region, home)

    def _gemm_chunks(self, L: GemmLayer, p: LayerPlan, m0, m1, n0, n1, kc, tile):
        node = L.node
        df = p.dataflow
        partial = kc is not None
        nc, mc = p.chunk_channels, p.chunk_pixels
        c_ranges = [(c0, min(n1, c0 + nc)) for c0 in range(n0, n1, nc)]
        r_ranges = [(r0, min(m1, r0 + mc)) for r0 in range(m0, m1, mc)]
        if p.loop_order == "channel_major":
            order = [(c, r) for c in c_ranges for r in r_ranges]
        else:
            order = [(c, r) for r in r_ranges for c in c_ranges]
        chunks: list[Chunk] = []
        deps: set[int] = set()
        src = L.in_tensor
        for (c0, c1), (r0, r1) in order:
            if not self.ideal:
                self._check_fits(L, p, r0, r1, c0, c1, kc)
            reg = L.input_region(r0, r1, c0, c1, kc)
            srcs, d = self.sources_for(src, reg)
            deps |= d
            if self.plan.keep_inputs and self.in_resident.get(tile) == (src, reg):
                srcs = []  # still in the input buffer
            self.in_resident[tile] = (src, reg)
            fc = L.fold(df, r1 - r0, c0, c1, kc)
            # weights stay in the weight buffer while consecutive chunks of the tile use them
            key = (node, c0, c1, kc)
            wb = 0 if self.resident.get(tile) == key else L.weight_bytes(df, c0, c1, kc)
            self.resident[tile] = key
            k0, k1 = L.k_rows(kc)
            cols = self._group_cols(L, c0, c1)
            # activation tables (tmac / luttc): built from this chunk's activations
            prog = self._program_entries(fc.folds) + activation_entries(
                self.pe, self.org, r1 - r0, k1 - k0, cols, self.ppt)
            build = self._build_ahead(self.pe, r1 - r0, k1 - k0, cols)
            ofb = (r1 - r0) * (c1 - c0) * (self.acc_bytes if partial else self.act_bytes)
            w = self.timing.chunk(r1 - r0, c1 - c0, fc, L.rule.mode, partial)
            cyc, stall = w.compute_cycles, w.sram_stall_cycles
            if build:
                # tables built ahead (luttc): the vector unit builds the next block's tables
                # while the array computes this one
                cyc = max(cyc, _ceil(build, self.arch.tile.vector_lanes))
                stall = self.timing.stall(w.sram_reads, w.sram_writes, cyc)
            chunks.append(Chunk(
                m0=r0, m1=r1, n0=c0, n1=c1, compute_cycles=cyc, folds=fc.folds,
                macs_dense=fc.macs_dense, macs_executed=fc.macs_mapped, pe_slots=fc.pe_slots,
                vector_ops=build, sources=tuple(srcs), weight_bytes=wb, program_entries=prog,
                ofmap_bytes=ofb, sram_reads=w.sram_reads, sram_writes=w.sram_writes,
                macs_nonzero=fc.macs_nonzero, selects=w.selects, decodes=w.decodes,
                sram_stall_cycles=stall, k_part=kc,
                fill_cycles=w.fill_cycles if cyc == w.compute_cycles else 0,
                shadow_bits=self._shadow_bits(fc.folds, df),
            ))
        return chunks, deps

    @staticmethod
    def _group_cols(L: GemmLayer, c0: int, c1: int) -> list[int]:
        """Output columns [c0, c1) counted per convolution group (per head of a matmul)."""
        if L.groups == 1:
            return [c1 - c0]
        fpg = L.N // L.groups
        return [int(v) for v in np.bincount(np.arange(c0, c1) // fpg)[c0 // fpg:]]

    def _build_ahead(self, kind, m: int, k: int, cols: list[int]) -> int:
        """Vector-unit adds building a chunk's activation tables when ``kind`` builds them
        ahead of the array (luttc); 0 otherwise."""
        if getattr(kind, "table_build", None) != "ahead":
            return 0
        return activation_build_ops(kind, self.org, m, k, cols, self.ppt)

    def _matmul_chunks(self, L: GemmLayer, p: LayerPlan, m0, m1, n0, n1, tile):
        """A product of two activations: (token rows) x (the second operand's columns).  The
        second operand is fetched like an input (from the producer tile, the global buffer or
        DRAM) and loaded into the array in place of weights; the PE array computes it as
        ``organisation.dynamic_operand`` says (``Chunk.op_scale``: its passes)."""
        df = p.dataflow
        nc, mc = p.chunk_channels, p.chunk_pixels
        c_ranges = [(c0, min(n1, c0 + nc)) for c0 in range(n0, n1, nc)]
        r_ranges = [(r0, min(m1, r0 + mc)) for r0 in range(m0, m1, mc)]
        if p.loop_order == "channel_major":
            order = [(c, r) for c in c_ranges for r in r_ranges]
        else:
            order = [(c, r) for r in r_ranges for c in c_ranges]
        chunks: list[Chunk] = []
        deps: set[int] = set()
        kind = L.dyn.kind
        for (c0, c1), (r0, r1) in order:
            if not self.ideal:
                self._check_fits(L, p, r0, r1, c0, c1, None)
            reg = L.input_region(r0, r1, c0, c1)
            srcs, d = self.sources_for(L.in_tensor, reg)
            deps |= d
            if self.plan.keep_inputs and self.in_resident.get(tile) == (L.in_tensor, reg):
                srcs = []
            self.in_resident[tile] = (L.in_tensor, reg)
            breg = L.b_region(r0, r1, c0, c1)
            s2, d2 = self.sources_for(L.b_tensor, breg)
            deps |= d2
            self.resident.pop(tile, None)  # the operand replaces the tile's weights
            fc = L.fold(df, r1 - r0, c0, c1)  # dense
            cols = self._group_cols(L, c0, c1)
            prog = activation_entries(kind, self.org, r1 - r0, L.K, cols, self.ppt)
            build = self._build_ahead(kind, r1 - r0, L.K, cols)
            w = self.timing.dynamic_chunk(L, r1 - r0, c1 - c0, fc, build)
            chunks.append(Chunk(
                m0=r0, m1=r1, n0=c0, n1=c1, compute_cycles=w.compute_cycles, folds=fc.folds,
                macs_dense=fc.macs_dense, macs_executed=fc.macs_mapped, pe_slots=fc.pe_slots,
                vector_ops=build, sources=tuple(srcs + s2), weight_bytes=0,
                program_entries=prog, ofmap_bytes=(r1 - r0) * (c1 - c0) * self.act_bytes,
                sram_reads=w.sram_reads, sram_writes=w.sram_writes,
                macs_nonzero=fc.macs_nonzero, sram_stall_cycles=w.sram_stall_cycles,
                op_scale=L.dyn.passes, fill_cycles=w.fill_cycles,
                shadow_bits=self._shadow_bits(fc.folds, df),
            ))
        return chunks, deps

    def _check_fits(self, L, p, r0, r1, c0, c1, kc) -> None:
        """Raise naming the layer, the buffer and the plan field when a chunk overflows."""
        df = p.dataflow
        cap = buffer_caps(self.arch, p)
        bad = L.misfit(cap, df, r0, r1, c0, c1, kc)
        if bad is None:
            return
        split = f" (of reduction part {kc[0]}..{kc[1] - 1})" if kc else ""
        if bad == "weight":
            need = L.weight_bytes(df, c0, c1, kc)
            who = "one filter" if c1 - c0 == 1 else f"{c1 - c0} filters"
            if L.dynamic:
                who = ("one output column" if c1 - c0 == 1 else f"{c1 - c0} output columns") \
                    + " (the second operand, loaded in place of weights)"
            fld = "chunk_channels" if c1 - c0 > 1 else "split_k"
            raise MappingError(
                f"{self.arch.source}: layer {L.node!r} does not fit: {who}{split} needs "
                f"{need} weight bytes > tile.sram.weight usable capacity {cap['weight']} "
                f"bytes (plan field {fld!r}{_whole_hint(p, 'weight')})")
        reg = L.input_region(r0, r1, c0, c1, kc)
        el = L.out_el_bytes(df, c0, c1, kc)
        who = "one output pixel" if r1 - r0 == 1 else f"{r1 - r0} output pixels"
        fld = "chunk_pixels" if r1 - r0 > 1 else ("chunk_channels" if bad == "ofmap"
                                                   else "split_k")
        raise MappingError(
            f"{self.arch.source}: layer {L.node!r} does not fit: {who}{split} needs "
            f"{reg.elements * self.act_bytes} input bytes (tile.sram.ifmap usable "
            f"{cap['ifmap']}) and {(r1 - r0) * (c1 - c0) * el} output bytes "
            f"(tile.sram.ofmap usable {cap['ofmap']}) (plan field {fld!r}"
            f"{_whole_hint(p, bad)})")

    def _shadow_bits(self, folds: int, df: str) -> int:
        """Fold pipelining: every fold shifts one operand into each PE's shadow register."""
        pa = self.arch.tile.pe_array
        return folds * pa.rows * pa.cols * shadow_bits(self.arch, df)

    def _program_entries(self, folds: int) -> int:
        """Weight-programmed tables or private slices: every weight fold loads new table
        entries into each PE."""
        R, C = self.arch.tile.pe_array.rows, self.arch.tile.pe_array.cols
        return folds * entries_per_fold(self.pe, self.org, R, C, self.sharing)

    # ---- element-wise nodes -----------------------------------------------------------------
    def _map_vector(self, node: str, a: dict[str, Any]) -> None:
        geom = self.geoms[node]
        tiles = self.tiles_of(node)
        n_tasks = max(1, min(geom.c, len(tiles),
                             -(-geom.elements // self.plan.min_vector_elements)))
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
            tile = tiles[i % len(tiles)]
            self.in_resident.pop(tile, None)
            self._add_task(node, op, tile, deps, [chunk], region, home)

    # ---- row-wise vector ops ----------------------------------------------------------------
    def _map_rows(self, node: str, a: dict[str, Any]) -> None:
        """Ops over whole feature rows (tokens): partitioned by rows over the tiles."""
        geom = self.geoms[node]
        op = a["op"]
        tiles = self.tiles_of(node)
        n_tasks = max(1, min(geom.p, len(tiles),
                             -(-geom.elements // self.plan.min_vector_elements)))
        cache_rows = op == "concat" and a["axis"] == 1 and self._const_rows(a)
        home = "dram" if cache_rows else self._home_for(node, geom.elements * self.act_bytes)
        self.homes[node] = home
        per_el = SEQ_VECTOR_OPS.get(op, 1)
        for i, (p0, p1) in enumerate(split_range(geom.p, n_tasks)):
            region = Region(0, geom.c, p0, p1)
            srcs, deps, new_rows = [], set(), p1 - p0
            for inp, reg in self._row_inputs(a, p0, p1):
                if cache_rows and self.g.nodes[self.base(inp)]["op"] == "constant":
                    new_rows -= reg.p1 - reg.p0  # the cache is in place: nothing to move
                    continue
                s, d = self.sources_for(inp, reg)
                srcs += s
                deps |= d
            ops = new_rows * geom.c * per_el
            if op == "norm":
                ops += (p1 - p0) * NORM_ROW_OPS
            if op == "token_pool":
                ops = sum(s.region.elements for s in srcs)
            cyc = _ceil(ops, self.arch.tile.vector_lanes)
            in_bytes = sum(s.nbytes for s in srcs)
            ob = new_rows * geom.c * self.act_bytes
            chunk = Chunk(m0=p0, m1=p1, n0=0, n1=geom.c, compute_cycles=cyc, folds=0,
                          macs_dense=0, macs_executed=0, pe_slots=0, vector_ops=ops,
                          sources=tuple(srcs), weight_bytes=0, program_entries=0, ofmap_bytes=ob,
                          sram_reads=(("ifmap", in_bytes),), sram_writes=(("ofmap", ob),))
            tile = tiles[i % len(tiles)]
            self.in_resident.pop(tile, None)
            self._add_task(node, op, tile, deps, [chunk], region, home)

    def _const_rows(self, a) -> bool:
        return any(self.g.nodes[self.base(i)]["op"] == "constant" for i in a["inputs"])

    def _row_inputs(self, a, p0: int, p1: int):
        """(input, region) pairs output rows [p0, p1) read."""
        op = a["op"]
        if op == "token_pool":
            ig = self.geoms[self.base(a["inputs"][0])]
            yield a["inputs"][0], Region(0, ig.c, p0 * ig.h, p1 * ig.h)
            return
        if op == "concat" and a["axis"] == 1:  # along tokens: row (b, t) is one input's row
            t_out = a["out_shape"][1]
            off = 0
            for inp in a["inputs"]:
                ig = self.geoms[self.base(inp)]
                t_in = ig.h
                for b in range(p0 // t_out, _ceil(p1, t_out)):
                    lo = max(p0, b * t_out + off)
                    hi = min(p1, b * t_out + off + t_in)
                    if lo < hi:
                        r0 = b * t_in + lo - b * t_out - off
                        yield inp, Region(0, ig.c, r0, r0 + hi - lo)
                off += t_in
            return
        for inp in a["inputs"]:
            yield inp, Region(0, self.geoms[self.base(inp)].c, p0, p1)

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
    """Tasks with the reads of :func:`multicast_assignment` joined into multicast groups."""
    assign, groups = multicast_assignment(tasks)
    if not groups:
        return tasks, {}
    out = []
    for t in tasks:
        chunks = []
        for ci, c in enumerate(t.chunks):
            srcs = tuple(replace(src, group=assign[(t.id, ci, si)])
                         if (t.id, ci, si) in assign else src for si, src in enumerate(c.sources))
            chunks.append(replace(c, sources=srcs, weight_group=assign.get((t.id, ci, -1))))
        out.append(replace(t, chunks=tuple(chunks)))
    return tuple(out), groups


def multicast_assignment(tasks) -> tuple[dict[tuple[int, int, int], int],
                                         dict[int, tuple[int, ...]]]:
    """Which edge-memory reads of ``tasks`` (``Task``-like: ``id`` = position, ``node``,
    ``tile``, ``chunks`` with ``sources``, ``weight_bytes``, ``n0``, ``n1``, ``k_part``) are
    joined into multicast groups: ({(task, chunk, source index | -1 for the weights): group},
    {group: its tiles, sorted}).  The analytic model calls it on its own chunk sequence.

    A read is keyed by what it delivers: a chunk's weights (layer, filter range, reduction
    part, bytes) or an edge-memory input source (tensor, region, memory, bytes).  A key read
    by two or more tiles, once on each, becomes a group: in the simulator its members meet
    (each when its fetch reaches it) and one memory read travels the XY tree to all of them.
    Members reach
    their groups in their own fetch order, so the groups must be ordered the same way on
    every tile: keys are taken in a topological order of the per-tile sequences (inputs of
    a chunk before its weights -- the strictest order the fetch unit uses) and a key closing
    a cycle stays a per-tile read.  Partly overlapping regions (a pixel split's halo rows)
    are not merged: only identical reads are multicast, and only among tasks of one node (two
    nodes reading the same region -- a norm and the residual add after it, on their own tiles
    in a pipeline -- may depend on each other, and a group joining them would never meet).
    """
    occ: dict[tuple, list[tuple[int, int, int]]] = {}  # key -> (task, chunk, source | -1)
    for t in tasks:
        for ci, c in enumerate(t.chunks):
            for si, src in enumerate(c.sources):
                if src.tile is None and src.nbytes:
                    occ.setdefault(("i", t.node, src.tensor, src.region, src.memory,
                                    src.nbytes),
                                   []).append((t.id, ci, si))
            if c.weight_bytes:
                occ.setdefault(("w", t.node, c.n0, c.n1, c.k_part, c.weight_bytes),
                               []).append((t.id, ci, -1))
    keys = {}
    for k, where in occ.items():
        tiles = [tasks[ti].tile for ti, _, _ in where]
        if len(tiles) >= 2 and len(set(tiles)) == len(tiles):
            keys[k] = where
    if not keys:
        return {}, {}
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
    return assign, groups


def build_schedule(g: nx.DiGraph, arch: ArchConfig, dataflow: str = "ws",
                   mapping: MappingSpec | MappingPlan | str | None = None,
                   layers: dict[str, GemmLayer] | None = None) -> Schedule:
    """Map ``g`` onto ``arch`` (see module doc): a :class:`MappingPlan` is built as it is;
    a spec (or its text) is first turned into the heuristic's plan.  ``layers``: the graph's
    :func:`~archsim.mapping.layer.gemm_layers`, when the caller already has them."""
    order = mapping_order(g)
    if isinstance(mapping, MappingPlan):
        for lp in mapping.layers:  # before the layers' sparsity rules are worked out
            bad = dataflow_error(arch, lp.dataflow)
            if bad:
                raise MappingError(f"{mapping.label}: layer {lp.layer!r}: field 'dataflow': "
                                   f"{bad}")
    else:
        spec = MappingSpec.parse(mapping)
        if dataflow not in DATAFLOWS:
            raise MappingError(f"dataflow: {short(dataflow)} is not one of "
                               f"{', '.join(DATAFLOWS)}")
        bad = dataflow_error(arch, dataflow)
        if bad:
            raise MappingError(bad)
    if layers is None:
        layers = gemm_layers(g, arch, order, graph_aliases(g, order))
    if isinstance(mapping, MappingPlan):
        plan, spec = mapping, MappingSpec(min_vector_elements=mapping.min_vector_elements)
    else:
        from archsim.mapping.heuristic import heuristic_plan

        plan = heuristic_plan(g, arch, dataflow, spec, layers)
    return _Mapper(g, arch, dataflow, spec, plan, layers, order).build()
