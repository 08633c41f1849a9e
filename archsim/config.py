"""Architecture configuration: typed, validated, frozen design points.

In:  a YAML file (``load_arch(path)``) or a plain dict (``arch_from_dict(d, source=...)``).
Out: a frozen :class:`ArchConfig` (pydantic model) whose every parameter is declared once, with
     its type, unit (in the name), default and description.

Errors: unknown keys, duplicate keys, wrong types and impossible sizes raise :class:`ConfigError`
naming the dotted field and the file.  ``ArchConfig.with_overrides({"tile.pe_array.rows": 32})``
returns a new validated config (used by sweeps); ``resolved()`` is the plain dict written next to
every result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "ArchConfig",
    "ConfigError",
    "arch_from_dict",
    "builtin_arch_dir",
    "load_arch",
    "load_yaml_strict",
]


class ConfigError(ValueError):
    """An invalid configuration: the message names the field and the file."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


PosInt = Field(gt=0)


class PEArrayConfig(_Frozen):
    rows: int = Field(16, gt=0, description="PE rows R of the systolic array")
    cols: int = Field(16, gt=0, description="PE columns C of the systolic array")
    pe_kind: str = Field("lutna", description="PE kind name (see `archsim pe-table`)")
    pe_params: dict[str, Any] = Field(
        default_factory=dict, description="parameters of the PE kind (act_bits, weight_bits, ...)"
    )


class LUTBankConfig(_Frozen):
    count: int = Field(4, ge=0, description="LUT banks per tile (0 for PE kinds without tables)")
    read_ports: int = Field(4, gt=0, description="look-up ports per bank")
    lookups_per_port_per_cycle: int = Field(64, gt=0, description="look-ups one port serves/cycle")
    program_bytes_per_cycle: int = Field(8, gt=0, description="table programming bandwidth/bank")
    pes_per_table: int = Field(1, gt=0, description="PEs sharing one physical table copy")
    organisation: Literal["product", "weight"] = Field(
        "product",
        description="product: shared k x k digit-product tables, loaded once per run; weight: "
        "per-PE tables holding W*x for every k-bit activation digit x, reprogrammed for every "
        "weight fold (ws dataflow only, exact lutna only)",
    )


class SRAMConfig(_Frozen):
    capacity_bytes: int = Field(gt=0, description="capacity of the buffer")
    banks: int = Field(1, gt=0, description="independent banks")
    ports: int = Field(1, gt=0, description="access ports (concurrent transactions)")
    bytes_per_cycle: int = Field(32, gt=0, description="bytes per cycle per port")
    latency_cycles: int = Field(1, ge=0, description="access latency per transaction")
    double_buffered: bool = Field(True, description="fetch next block while computing")


class TileSRAMConfig(_Frozen):
    ifmap: SRAMConfig = SRAMConfig(capacity_bytes=65536)
    weight: SRAMConfig = SRAMConfig(capacity_bytes=65536)
    ofmap: SRAMConfig = SRAMConfig(capacity_bytes=65536)


class RouterConfig(_Frozen):
    latency_cycles: int = Field(1, ge=0, description="router pipeline latency per hop")


class TileConfig(_Frozen):
    pe_array: PEArrayConfig = PEArrayConfig()
    lut_banks: LUTBankConfig = LUTBankConfig()
    sram: TileSRAMConfig = TileSRAMConfig()
    router: RouterConfig = RouterConfig()
    vector_lanes: int = Field(16, gt=0, description="elementwise ops (pool/add/relu) per cycle")


class GridConfig(_Frozen):
    rows: int = Field(1, gt=0, description="tile rows of the mesh")
    cols: int = Field(1, gt=0, description="tile columns of the mesh")


class InterconnectConfig(_Frozen):
    topology: Literal["mesh"] = Field("mesh", description="2-D mesh, XY routing")
    link_bytes_per_cycle: int = Field(16, gt=0, description="flit width = bytes per link-cycle")
    hop_latency_cycles: int = Field(1, ge=0, description="wire latency per hop")


class DRAMConfig(_Frozen):
    channels: int = Field(1, gt=0, description="independent DRAM channels")
    bytes_per_cycle_per_channel: int = Field(16, gt=0, description="bandwidth per channel")
    latency_cycles: int = Field(100, ge=0, description="access latency per request")
    burst_bytes: int = Field(4096, gt=0, description="largest single DRAM request")


class GlobalBufferConfig(_Frozen):
    capacity_bytes: int = Field(1 << 20, ge=0, description="on-chip global buffer at the mesh "
                                "edge; tensors larger than this live in DRAM (0: no buffer)")
    ports: int = Field(2, gt=0, description="concurrent transactions")
    bytes_per_cycle: int = Field(64, gt=0, description="bandwidth per port")
    latency_cycles: int = Field(4, ge=0, description="access latency per transaction")


class ArchConfig(_Frozen):
    """One design point. Field names carry units; see docs/metrics.md for their meaning."""

    name: str = Field(description="design point name")
    description: str = Field("", description="free text")
    clock_mhz: float = Field(500.0, gt=0, description="clock frequency")
    batch: int | None = Field(
        None, gt=0, description="inferences per run; null = the workload's own batch (its "
        "leading dimension, e.g. the number of real sample images)")
    grid: GridConfig = GridConfig()
    tile: TileConfig = TileConfig()
    interconnect: InterconnectConfig = InterconnectConfig()
    dram: DRAMConfig = DRAMConfig()
    gbuf: GlobalBufferConfig = GlobalBufferConfig()
    ideal_memory: bool = Field(
        False, description="True: SRAM, NoC and DRAM take zero time (SCALE-Sim CALC mode)"
    )
    energy_table: str = Field(
        "energy/horowitz_45nm.yaml", description="cost table, relative to arch_configs/"
    )
    leakage: bool = Field(True, description="include leakage x simulated time in energy")
    source: str = Field("<dict>", description="file the config came from (set by the loader)")

    @model_validator(mode="after")
    def _check(self) -> ArchConfig:
        from archsim.arith import pe_kind  # local: keep config importable on its own

        try:
            pe = pe_kind(self.tile.pe_array.pe_kind, **self.tile.pe_array.pe_params)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"tile.pe_array: {exc}") from None
        lb = self.tile.lut_banks
        if pe.tables().n_tables and lb.count == 0:
            raise ValueError(
                f"tile.lut_banks.count: PE kind {pe.name!r} reads tables; count must be > 0")
        if lb.organisation == "weight" and pe.name != "lutna":
            raise ValueError(
                f"tile.lut_banks.organisation: 'weight' needs the exact 'lutna' PE kind, "
                f"not {pe.name!r}")
        return self

    @property
    def n_tiles(self) -> int:
        return self.grid.rows * self.grid.cols

    @property
    def pes_per_tile(self) -> int:
        return self.tile.pe_array.rows * self.tile.pe_array.cols

    def pe(self):
        """The PE kind object of this design point."""
        from archsim.arith import pe_kind

        return pe_kind(self.tile.pe_array.pe_kind, **self.tile.pe_array.pe_params)

    def resolved(self) -> dict[str, Any]:
        """Every parameter, defaults included, as plain data (written next to results)."""
        return self.model_dump(mode="json")

    def with_overrides(self, overrides: dict[str, Any]) -> ArchConfig:
        """A new validated config with dotted-path overrides applied."""
        data = self.model_dump(mode="python")
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
            if not isinstance(node, dict) or (parts[-1] not in node and parts[-2:-1] != ["pe_params"]):
                raise ConfigError(f"{self.source}: override {dotted!r}: unknown field")
            node[parts[-1]] = value
        return arch_from_dict(data, source=f"{self.source} + overrides")


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parser when available


class _StrictLoader(_BaseLoader):
    """Safe YAML loader that rejects duplicate mapping keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(
                f"{loader.name}: duplicate key {key!r} at line {key_node.start_mark.line + 1} "
                f"(first at line {seen[key]})"
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_strict(path: str | Path) -> Any:
    """Parse YAML rejecting duplicate keys; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    text = path.read_text()
    loader = _StrictLoader(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per pydantic error: '<source>: field <dotted>: <message>'."""
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "<root>"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{source}: field {field!r}: {msg}")
    return "; ".join(lines)


def arch_from_dict(data: Any, source: str = "<dict>") -> ArchConfig:
    """Validate plain data into an ArchConfig; errors name the field and ``source``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    data = dict(data)
    data["source"] = source
    try:
        return ArchConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def builtin_arch_dir() -> Path:
    """The shipped ``arch_configs/`` folder (next to the package in a source checkout)."""
    return Path(__file__).resolve().parent.parent / "arch_configs"


def load_arch(path: str | Path) -> ArchConfig:
    """Load a design point; a bare name such as ``lutna_2x2`` is looked up in arch_configs/."""
    p = Path(path)
    if not p.exists() and p.suffix == "" and (builtin_arch_dir() / f"{p}.yaml").exists():
        p = builtin_arch_dir() / f"{p}.yaml"
    return arch_from_dict(load_yaml_strict(p), source=str(p))
