"""Architecture configuration: typed, validated, frozen design points.

In:  a YAML file (``load_arch(path)``) or a plain dict (``arch_from_dict(d, source=...)``).
Out: a frozen :class:`ArchConfig` (a dataclass validated by :mod:`archsim.design.schema`)
     whose every parameter is declared once, with its type, unit (in the name), default and
     description.

Errors: unknown keys, duplicate keys, wrong types and impossible sizes raise :class:`ConfigError`
naming the dotted field and the file.  ``ArchConfig.with_overrides({"tile.pe_array.rows": 32})``
returns a new validated config (used by sweeps); ``resolved()`` is the plain dict written next to
every result.
"""

# ruff: noqa: RUF009  (field_() is dataclasses.field() plus metadata, not a shared default)

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

from archsim.design.schema import dump, field_, parse
from archsim.errors import ConfigError, short
from archsim.safeio import load_yaml

__all__ = [
    "SPARSITY_MODES",
    "ArchConfig",
    "ConfigError",
    "SparsityConfig",
    "arch_from_dict",
    "builtin_arch_dir",
    "load_arch",
    "load_yaml_strict",
]


# upper bounds of a design point beyond the per-field ones (documented in docs/cli.md)
MAX_PES_PER_TILE = 1 << 16  # 256 x 256
MAX_TILES = 1024  # e.g. 32 x 32


@dataclass(frozen=True, kw_only=True)
class PEArrayConfig:
    """The R x C systolic array of one tile and its PE kind."""

    rows: int = field_(16, gt=0, le=1024, doc="PE rows R of the systolic array")
    cols: int = field_(16, gt=0, le=1024, doc="PE columns C of the systolic array")
    pe_kind: str = field_("lutna", doc="PE kind name (see `archsim pe-table`)")
    pe_params: dict[str, Any] = field_(
        default_factory=dict, doc="parameters of the PE kind (act_bits, weight_bits, ...)"
    )
    acc_bits: int = field_(
        32, ge=2, doc="partial-sum width: psums held in the output buffer while a reduction "
        "is split over folds are this wide (the final output is the activation width)")
    fold_pipelining: bool = field_(
        False, doc="fold pipelining (docs/model.md 'Fold pipelining'): one shadow register "
        "per PE for the operand loaded or drained per fold (os: the acc_bits output "
        "accumulator; ws: the PE kind's weight_bits stationary weight; is: the act_bits "
        "stationary input), swapped per fold, so the next fold's operand shifts in (or the "
        "finished sums drain) while the current fold streams: folds issue every "
        "max(T, R) cycles and a block pays the array's fill/skew/drain once; consecutive "
        "chunks on a tile stream back to back when the next one's operands are ready. "
        "Off: SCALE-Sim's per-fold fill/drain")


@dataclass(frozen=True, kw_only=True)
class LUTBankConfig:
    """The look-up-table banks of one tile."""

    count: int = field_(4, ge=0, le=1024, doc="LUT banks per tile (0 for PE kinds without tables)")
    read_ports: int = field_(4, gt=0, le=1024, doc="look-up ports per bank")
    lookups_per_port_per_cycle: int = field_(64, gt=0, le=1 << 16,
                                             doc="look-ups one port serves/cycle")
    program_bytes_per_cycle: int = field_(8, gt=0, le=1 << 16,
                                          doc="table programming bandwidth/bank")
    pes_per_table: int = field_(1, gt=0, le=1 << 20, doc="PEs sharing one physical table copy")
    organisation: Literal["product", "weight", "activation"] = field_(
        "product",
        doc="product: shared k x k digit-product tables, loaded once per run; weight: "
        "per-PE tables holding W*x for every k-bit activation digit x, reprogrammed for every "
        "weight fold (ws dataflow only, exact lutna only); activation: tables of sums of g "
        "activations, programmed per activation group of every token (tmac, luttc only)",
    )
    sharing: Literal["multiport", "replicated", "time_multiplexed", "private_subarray"] = field_(
        "multiport",
        doc="how one table set serves the pes_per_table PEs that read it every cycle "
        "(docs/energy.md 'Shared tables'): multiport: one copy with pes_per_table read ports; "
        "replicated: ceil(pes_per_table / table_read_ports) copies; time_multiplexed: one copy, "
        "the array's MAC steps take ceil(pes_per_table / table_read_ports) cycles; "
        "private_subarray: a private slice per PE of the rows its stationary weight digit "
        "selects, copied from a master table every weight fold (ws dataflow only)",
    )
    table_read_ports: int = field_(
        1, gt=0, doc="read ports of each physical table copy for sharing replicated and "
        "time_multiplexed, at most pes_per_table are built (multiport has pes_per_table, "
        "private_subarray 1)")


SPARSITY_MODES = ("none", "nm_structured", "filter_block", "gather")


@dataclass(frozen=True, kw_only=True)
class SparsityConfig:
    """What the tile does with zero weights (docs/model.md, "Sparsity hardware")."""

    mode: Literal["none", "nm_structured", "filter_block", "gather"] = field_(
        "none",
        doc="none: zeros are computed (dense timing); nm_structured: N:M blocks compacted as "
        "SCALE-Sim v3 (per-layer N:M, an M:1 operand select per MAC); filter_block: whole "
        "all-zero fold rows / filter blocks skipped (a block bitmap, no per-element metadata); "
        "gather: each PE column compacts its own filter's non-zeros within a window of "
        "select_window operands (a gather network and a metadata decoder)")
    zero_gating: bool = field_(
        False, doc="PEs detect a zero weight and hold their multiplier / adders / look-ups "
        "(a zero check per MAC is priced); false: a zero weight costs a full MAC")
    select_window: int = field_(
        8, gt=0, doc="gather: operands each PE's selector chooses from (the compaction "
        "window along K); nm_structured: the largest block M the M:1 selectors support")
    gather_latency_cycles: int = field_(
        1, ge=0, doc="gather: pipeline cycles the gather network and decoder add per fold")
    gather_operands_per_cycle: int | None = field_(
        None, gt=0, doc="gather: operands the gather network delivers per cycle per tile; "
        "null = one selector per PE (rows x cols)")
    metadata: Literal["ellpack_block", "csr", "csc"] = field_(
        "ellpack_block", doc="nm_structured: metadata format of the compacted filters "
        "(SCALE-Sim v3 SparseRep)")
    optimized_mapping: bool = field_(
        False, doc="nm_structured: SCALE-Sim v3's OptimizedMapping (ws only): pairs of "
        "block_size-row blocks with at most block_size/2 non-zeros each share one block")
    block_size: int = field_(
        4, ge=2, doc="nm_structured with optimized_mapping: the block size B (SCALE-Sim "
        "BlockSize; even, <= PE rows)")

    def _check(self) -> None:
        if self.optimized_mapping and self.mode != "nm_structured":
            raise ValueError(f"optimized_mapping needs mode 'nm_structured', not {self.mode!r}")
        if self.block_size % 2:
            raise ValueError(f"block_size must be even, got {self.block_size}")


@dataclass(frozen=True, kw_only=True)
class SRAMConfig:
    """One on-tile SRAM buffer."""

    capacity_bytes: int = field_(gt=0, le=1 << 30, doc="capacity of the buffer")
    banks: int = field_(1, gt=0, le=1024, doc="independent banks")
    ports: int = field_(1, gt=0, le=1024, doc="access ports (concurrent transactions)")
    bytes_per_cycle: int = field_(32, gt=0, le=1 << 16, doc="bytes per cycle per port")
    latency_cycles: int = field_(1, ge=0, le=1 << 20, doc="access latency per transaction")
    double_buffered: bool = field_(True, doc="fetch next block while computing")


@dataclass(frozen=True, kw_only=True)
class TileSRAMConfig:
    """The three SRAM buffers of a tile."""

    ifmap: SRAMConfig = field_(default_factory=partial(SRAMConfig, capacity_bytes=65536),
                               doc="input-activation buffer")
    weight: SRAMConfig = field_(default_factory=partial(SRAMConfig, capacity_bytes=65536),
                                doc="weight buffer")
    ofmap: SRAMConfig = field_(default_factory=partial(SRAMConfig, capacity_bytes=65536),
                               doc="output (partial-sum) buffer")


@dataclass(frozen=True, kw_only=True)
class RouterConfig:
    """The NoC router of a tile."""

    latency_cycles: int = field_(1, ge=0, le=1 << 20, doc="router pipeline latency per hop")


@dataclass(frozen=True, kw_only=True)
class TileStreamingConfig:
    """Overlap of a tile's fetches with its compute below chunk granularity."""

    streaming: bool = field_(
        False, doc="true: a chunk's inputs arrive in sub_blocks pieces in the order compute "
        "consumes them; compute starts when the first piece (and the weights) are in the "
        "buffer and runs at the slower of its rate and the arrival rate")
    sub_blocks: int = field_(4, gt=0, le=1 << 16,
                             doc="pieces a streamed chunk's inputs arrive in (at most the "
                             "chunk's folds for a GEMM chunk)")
    weight_prefetch: bool = field_(
        False, doc="true: a chunk's weights (and table programming) are fetched as soon as "
        "its buffer slot is free -- before its task's producers finish and alongside its "
        "inputs -- into the weight buffer's free half")
    weight_streaming: bool = field_(
        False, doc="true (with streaming): a chunk's weights are fetched beside its inputs "
        "and also arrive in sub_blocks pieces in the order compute consumes them; compute "
        "starts when the first piece of each is in (false: all of a chunk's weights first)")
    write_streaming: bool = field_(
        False, doc="true (with streaming): a chunk's outputs go to the edge memory in "
        "sub_blocks pieces as its folds complete them (a chunk whose reduction is split over "
        "its folds: all at the end), so only the last piece is written after its compute")


@dataclass(frozen=True, kw_only=True)
class TileConfig:
    """One tile (every tile of the grid is identical)."""

    pe_array: PEArrayConfig = field_(default_factory=PEArrayConfig, doc="the systolic array")
    lut_banks: LUTBankConfig = field_(default_factory=LUTBankConfig, doc="look-up tables")
    sram: TileSRAMConfig = field_(default_factory=TileSRAMConfig, doc="the tile's buffers")
    router: RouterConfig = field_(default_factory=RouterConfig, doc="the tile's NoC router")
    vector_lanes: int = field_(16, gt=0, le=1 << 16,
                               doc="elementwise ops (pool/add/relu) per cycle")
    sparsity: SparsityConfig = field_(default_factory=SparsityConfig,
                                      doc="zero-weight handling and its hardware")
    fetch: TileStreamingConfig = field_(default_factory=TileStreamingConfig,
                                        doc="streaming and weight prefetch of the fetch unit")


def _unique_edges(edges: tuple[str, ...]) -> None:
    if len(set(edges)) != len(edges):
        raise ValueError(f"edges listed twice: {list(edges)}")


@dataclass(frozen=True, kw_only=True)
class GridConfig:
    """The mesh of tiles."""

    rows: int = field_(1, gt=0, le=64, doc="tile rows of the mesh")
    cols: int = field_(1, gt=0, le=64, doc="tile columns of the mesh")


@dataclass(frozen=True, kw_only=True)
class InterconnectConfig:
    """The network on chip between the tiles: a 2-D mesh (the one topology modelled, so it is
    not a field) with dimension-ordered routing."""

    link_bytes_per_cycle: int = field_(16, gt=0, le=1 << 16,
                                       doc="flit width = bytes per link-cycle")
    hop_latency_cycles: int = field_(1, ge=0, le=1 << 20, doc="wire latency per hop")
    multicast: bool = field_(
        False, doc="true: routers replicate flits, so one edge-memory read delivers the same "
        "bytes (shared weights, shared input regions) to several tiles along an XY tree, each "
        "tree link carrying them once; false: every tile reads its own copy")
    routing: Literal["xy", "yx", "short_first"] = field_(
        "xy", doc="dimension-ordered routing: X then Y, Y then X, or along the grid's shorter "
        "side first (a rows x cols grid then routes as the mirror image of its transpose); "
        "the same router hardware, only the order of its route computation differs")
    memory_edges: tuple[Literal["west", "east", "north", "south"], ...] = field_(
        ("west",), min_len=1, check=_unique_edges,
        doc="mesh edges the edge memory's ports (DRAM channels, and the global buffer's own "
        "ports when gbuf.attach is own_ports) attach to, spread evenly over the router sides "
        "of these edges; ports share a side only when they outnumber the sides")


@dataclass(frozen=True, kw_only=True)
class DRAMConfig:
    """Off-chip memory."""

    channels: int = field_(1, gt=0, le=1024, doc="independent DRAM channels")
    bytes_per_cycle_per_channel: int = field_(16, gt=0, le=1 << 16, doc="bandwidth per channel")
    latency_cycles: int = field_(100, ge=0, le=1 << 20, doc="access latency per request")
    burst_bytes: int = field_(
        32, gt=0, le=1 << 16, doc="access granularity: every request moves (is timed and "
        "priced as) whole bursts; 32 = LPDDR4 x16 channel, burst length 16 (docs/facts.md "
        "section 3)")


@dataclass(frozen=True, kw_only=True)
class GlobalBufferConfig:
    """The on-chip global buffer at the mesh edge."""

    capacity_bytes: int = field_(1 << 20, ge=0, le=1 << 36, doc="on-chip global buffer at the mesh "
                                "edge; tensors larger than this live in DRAM (0: no buffer)")
    ports: int = field_(2, gt=0, le=1024, doc="concurrent transactions")
    bytes_per_cycle: int = field_(64, gt=0, le=1 << 16, doc="bandwidth per port")
    latency_cycles: int = field_(4, ge=0, le=1 << 20, doc="access latency per transaction")
    attach: Literal["dram_channels", "own_ports"] = field_(
        "dram_channels", doc="dram_channels: global-buffer transfers enter the mesh through "
        "the DRAM channels' edge links (link_bytes_per_cycle each); own_ports: each port has "
        "its own attach point and edge link of bytes_per_cycle (carrying bytes_per_cycle / "
        "link_bytes_per_cycle transfers at once), spread with the DRAM channels")


@dataclass(frozen=True, kw_only=True)
class ArchConfig:
    """One design point. Field names carry units; see docs/metrics.md for their meaning."""

    name: str = field_(min_len=1, max_len=200, doc="design point name")
    description: str = field_("", doc="free text")
    clock_mhz: float = field_(500.0, ge=0.001, le=100_000.0, finite=True,
                              doc="clock frequency (1 kHz .. 100 GHz)")
    batch: int | None = field_(
        None, gt=0, le=4096, doc="inferences per run; null = the workload's own batch (its "
        "leading dimension, e.g. the number of real sample images)")
    grid: GridConfig = field_(default_factory=GridConfig, doc="the mesh of tiles")
    tile: TileConfig = field_(default_factory=TileConfig, doc="every tile (all identical)")
    interconnect: InterconnectConfig = field_(default_factory=InterconnectConfig,
                                              doc="network on chip")
    dram: DRAMConfig = field_(default_factory=DRAMConfig, doc="off-chip memory")
    gbuf: GlobalBufferConfig = field_(default_factory=GlobalBufferConfig,
                                      doc="on-chip global buffer")
    ideal_memory: bool = field_(
        False, doc="True: SRAM, NoC and DRAM take zero time (SCALE-Sim CALC mode)"
    )
    energy_table: str = field_(
        "energy/horowitz_45nm.yaml", doc="cost table, relative to arch_configs/"
    )
    leakage: bool = field_(True, doc="include leakage x simulated time in energy")
    source: str = field_("<dict>", doc="file the config came from (set by the loader)")

    def _check(self) -> None:
        """Cross-field rules, run by archsim.design.schema once every field is valid."""
        from archsim.pe import pe_kind  # local: keep config importable on its own

        try:
            pe = pe_kind(self.tile.pe_array.pe_kind, **self.tile.pe_array.pe_params)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"tile.pe_array: {exc}") from None
        if self.pes_per_tile > MAX_PES_PER_TILE:
            raise ValueError(f"tile.pe_array: {self.tile.pe_array.rows}x"
                             f"{self.tile.pe_array.cols} = {self.pes_per_tile:,} PEs per tile is "
                             f"above the limit of {MAX_PES_PER_TILE:,}")
        if self.n_tiles > MAX_TILES:
            raise ValueError(f"grid: {self.grid.rows}x{self.grid.cols} = {self.n_tiles:,} tiles is "
                             f"above the limit of {MAX_TILES:,}")
        lb = self.tile.lut_banks
        sp = self.tile.sparsity
        if sp.optimized_mapping and sp.block_size > self.tile.pe_array.rows:
            raise ValueError(f"tile.sparsity.block_size: {sp.block_size} exceeds the PE rows "
                             f"{self.tile.pe_array.rows} (SCALE-Sim: 'Invalid block size')")
        if pe.tables().n_tables and lb.count == 0:
            raise ValueError(
                f"tile.lut_banks.count: PE kind {pe.name!r} reads tables; count must be > 0")
        if lb.organisation == "weight" and pe.name != "lutna":
            raise ValueError(
                f"tile.lut_banks.organisation: 'weight' needs the exact 'lutna' PE kind, "
                f"not {pe.name!r}")
        from archsim.pe.organisation import is_activation_kind

        if is_activation_kind(pe) != (lb.organisation == "activation"):
            raise ValueError(
                f"tile.lut_banks.organisation: PE kind {pe.name!r} "
                + ("builds its tables from activations and needs 'activation'"
                   if is_activation_kind(pe) else "has no activation-built tables")
                + f", not {lb.organisation!r}")
        if pe.name == "luttc" and lb.pes_per_table != self.tile.pe_array.cols:
            raise ValueError(
                f"tile.lut_banks.pes_per_table: 'luttc' broadcasts one table per activation row "
                f"along the elongated tile's {self.tile.pe_array.cols} columns; set it to "
                f"tile.pe_array.cols = {self.tile.pe_array.cols}, not {lb.pes_per_table}")
        if lb.organisation == "weight" and lb.pes_per_table != 1:
            raise ValueError(
                f"tile.lut_banks.pes_per_table: organisation 'weight' gives every PE its own "
                f"table of W*x for its stationary weight W, so a table cannot be shared; set "
                f"pes_per_table to 1, not {lb.pes_per_table}")
        f = self.tile.fetch
        if f.streaming and self.tile.sram.ifmap.ports < 2 and not self.ideal_memory:
            raise ValueError(
                f"tile.fetch.streaming: a streamed chunk is written into the ifmap buffer "
                f"while the array reads it, which needs tile.sram.ifmap.ports >= 2, not "
                f"{self.tile.sram.ifmap.ports}")
        if f.weight_streaming and not f.streaming:
            raise ValueError("tile.fetch.weight_streaming: weights stream in the sub-blocks of "
                             "tile.fetch.streaming, which is false")
        if f.write_streaming and not f.streaming:
            raise ValueError("tile.fetch.write_streaming: outputs stream in the sub-blocks of "
                             "tile.fetch.streaming, which is false")
        if f.write_streaming and self.tile.sram.ofmap.ports < 2 and not self.ideal_memory:
            raise ValueError(
                f"tile.fetch.write_streaming: streamed outputs are read from the ofmap buffer "
                f"while the array writes it, which needs tile.sram.ofmap.ports >= 2, not "
                f"{self.tile.sram.ofmap.ports}")
        if f.weight_streaming and self.tile.sram.weight.ports < 2 and not self.ideal_memory:
            raise ValueError(
                f"tile.fetch.weight_streaming: streamed weights are written into the weight "
                f"buffer while the array reads it, which needs tile.sram.weight.ports >= 2, "
                f"not {self.tile.sram.weight.ports}")

        if pe.tables().n_tables:
            self._check_sharing(lb)

    @staticmethod
    def _check_sharing(lb: LUTBankConfig) -> None:
        if lb.sharing in ("multiport", "private_subarray") and lb.table_read_ports != 1:
            ports = ("pes_per_table" if lb.sharing == "multiport" else "one")
            raise ValueError(
                f"tile.lut_banks.table_read_ports: sharing {lb.sharing!r} gives each table "
                f"{ports} read port(s); table_read_ports applies to 'replicated' and "
                f"'time_multiplexed' (leave it at 1), got {lb.table_read_ports}")
        if lb.sharing == "private_subarray" and lb.organisation != "product":
            raise ValueError(
                "tile.lut_banks.sharing: 'private_subarray' slices product tables; organisation "
                f"{lb.organisation!r} already gives every PE its own table")

    @property
    def n_tiles(self) -> int:
        return self.grid.rows * self.grid.cols

    @property
    def pes_per_tile(self) -> int:
        return self.tile.pe_array.rows * self.tile.pe_array.cols

    def pe(self):
        """The PE kind object of this design point."""
        from archsim.pe import pe_kind

        return pe_kind(self.tile.pe_array.pe_kind, **self.tile.pe_array.pe_params)

    def resolved(self) -> dict[str, Any]:
        """Every parameter, defaults included, as plain data (written next to results)."""
        return dump(self, json=True)

    def with_overrides(self, overrides: dict[str, Any]) -> ArchConfig:
        """A new validated config with dotted-path overrides applied, in order.

        The one place both the library and ``archsim sweep --set`` change a design point.
        Changing ``tile.pe_array.pe_kind`` without giving the whole ``tile.pe_array.pe_params``
        keeps only the current PE parameters the new kind accepts (lutna -> mac drops
        ``digit_bits`` and ``parallel_tables``, keeps ``act_bits`` and ``weight_bits``);
        single parameters (``tile.pe_array.pe_params.act_bits``) still apply on top.
        """
        data = dump(self)
        kind = overrides.get("tile.pe_array.pe_kind")
        if kind is not None and "tile.pe_array.pe_params" not in overrides:
            data["tile"]["pe_array"]["pe_params"] = _params_accepted_by(
                kind, data["tile"]["pe_array"]["pe_params"])
        for dotted, value in overrides.items():
            parts = dotted.split(".")
            node = data
            for i, part in enumerate(parts[:-1]):
                if not isinstance(node, dict) or part not in node:
                    raise ConfigError(
                        f"{self.source}: override {dotted!r}: unknown field "
                        f"{'.'.join(parts[: i + 1])!r}"
                    )
                node = node[part]
            in_params = parts[-2:-1] == ["pe_params"]  # PE parameters are free-form
            if not isinstance(node, dict) or (parts[-1] not in node and not in_params):
                raise ConfigError(f"{self.source}: override {dotted!r}: unknown field")
            node[parts[-1]] = value
        return arch_from_dict(data, source=f"{self.source} + overrides")


def _params_accepted_by(kind: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``params`` that PE kind ``kind`` accepts (all of them if it is unknown:
    validation then names the bad kind)."""
    import dataclasses

    from archsim.pe.registry import pe_kind_class

    try:
        valid = {f.name for f in dataclasses.fields(pe_kind_class(kind)) if f.init}
    except ValueError:
        return params
    return {k: v for k, v in params.items() if k in valid}


def load_yaml_strict(path: str | Path, what: str = "YAML file") -> Any:
    """Parse a YAML file safely (duplicate keys, size and alias expansion limited:
    :func:`archsim.safeio.load_yaml`); errors are :class:`ConfigError` naming the file."""
    return load_yaml(path, what, error=ConfigError)


def arch_from_dict(data: Any, source: str = "<dict>") -> ArchConfig:
    """Validate plain data into an ArchConfig; errors name the field and ``source``."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    data = dict(data)
    data["source"] = source
    return parse(ArchConfig, data, source, error=ConfigError)


def builtin_arch_dir() -> Path:
    """The shipped design points: the ``arch_configs`` package (package data in a wheel)."""
    import arch_configs

    return arch_configs.folder()


def load_arch(path: str | Path) -> ArchConfig:
    """Load a design point; a bare name such as ``lutna_2x2`` is looked up in arch_configs/."""
    p = Path(path)
    if not p.exists() and p.suffix == "":
        if (builtin_arch_dir() / f"{p}.yaml").exists():
            p = builtin_arch_dir() / f"{p}.yaml"
        else:
            names = sorted(q.stem for q in builtin_arch_dir().glob("*.yaml"))
            raise ConfigError(f"{short(str(path))}: no such file and not a built-in design "
                              f"point (built-in: {', '.join(names)})")
    return arch_from_dict(load_yaml_strict(p, "design point"), source=str(p))
