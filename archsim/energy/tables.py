"""Cost tables: per component class, energy per action (pJ), area (um^2), leakage (uW/um^2).

In:  a YAML file under ``arch_configs/energy/`` (``load_cost_table(path_or_name)``; a bare
     name such as ``horowitz_45nm`` or a path relative to ``arch_configs/`` is resolved there).
Out: a frozen :class:`CostTable` (dataclasses validated by :mod:`archsim.design.schema`): header
     (``name``, ``technology_node_nm``, ``voltage_v``, ``source``) and
     ``classes.<class>.<entry>``; every entry is either a :class:`Scalar` ``{value, source}``
     or a :class:`Curve` ``{x, interp, points, source}`` evaluated with ``Curve.at(x)``.

Entry names carry their unit (``_pj``, ``_um2``, ``_uw_per_um2``, ...). Curves interpolate
``linear`` (adders: energy and area linear in width) or ``loglog`` (power law between points;
SRAM energy / area against capacity are interpolated in log-capacity), extrapolating with the
end segments. Every entry must say where its number comes from (``source``, non-empty).

Errors (:class:`CostError`, a :class:`~archsim.design.arch.ConfigError`): duplicate YAML keys,
unknown keys, negative or non-numeric values, unsorted curve points, a curve extrapolated below
zero where it is evaluated -- each naming the dotted field and the file. Entries a design
point needs but the table lacks are reported by
``archsim.energy.model.load_cost_model`` before any simulation.
"""

# ruff: noqa: RUF009  (field_() is dataclasses.field() plus metadata, not a shared default)

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal

from archsim.design.arch import ConfigError, builtin_arch_dir, load_yaml_strict
from archsim.design.schema import Rules, field_, field_names, parse
from archsim.errors import CostError

__all__ = [
    "CostError",
    "CostTable",
    "Curve",
    "Scalar",
    "builtin_energy_dir",
    "load_cost_table",
    "resolve_table_path",
]


# A finite number >= 0, kept as written (int or float; bool is not a number).
NonNeg = Annotated[int | float, Rules(ge=0, finite=True)]
Source = Annotated[str, Rules(min_len=3, doc="where the number comes from")]


def _strictly_increasing(pts: list[tuple[float, float]]) -> None:
    xs = [p[0] for p in pts]
    if any(b <= a for a, b in pairwise(xs)):
        raise ValueError(f"x values must be strictly increasing, got {xs}")


@dataclass(frozen=True, kw_only=True)
class Scalar:
    """One number with its provenance."""

    value: NonNeg = field_(doc="the number, in the unit its entry name carries")
    source: Source = field_(doc="where the number comes from")

    def at(self, _x: float | None = None) -> float:
        return float(self.value)


@dataclass(frozen=True, kw_only=True)
class Curve:
    """y(x) through measured points; ``interp`` linear or log-log (power law) between them."""

    x: Literal["bits", "product_bits", "capacity_bytes"] = field_(doc="what x measures")
    interp: Literal["linear", "loglog"] = field_(doc="interpolation between the points")
    points: list[tuple[NonNeg, NonNeg]] = field_(
        min_len=2, check=_strictly_increasing, doc="(x, y) pairs, x strictly increasing")
    source: Source = field_(doc="where the numbers come from")

    def _check(self) -> None:
        """Cross-field rule, run by archsim.design.schema once every field is valid."""
        if self.interp == "loglog" and any(x <= 0 or y <= 0 for x, y in self.points):
            raise ValueError("loglog curves need x > 0 and y > 0 at every point")

    def in_range(self, x: float) -> bool:
        return self.points[0][0] <= x <= self.points[-1][0]

    def at(self, x: float) -> float:
        """Interpolated value; outside the points the end segment is extended.  A linear
        extrapolation below zero raises ``ValueError`` (a cost is never negative, and clamping
        it to 0 would hide that the table does not cover ``x``)."""
        if x is None or not math.isfinite(x) or x < 0:
            raise ValueError(f"curve argument {self.x} must be a finite number >= 0, got {x!r}")
        pts = self.points
        i = 0
        while i < len(pts) - 2 and x > pts[i + 1][0]:
            i += 1
        (x0, y0), (x1, y1) = pts[i], pts[i + 1]
        if self.interp == "linear":
            y = y0 + (y1 - y0) * (x - x0) / (x1 - x0)
            if y < 0:
                raise ValueError(
                    f"extrapolating the curve to {self.x} = {x:g} (its points cover "
                    f"{pts[0][0]:g}..{pts[-1][0]:g}) gives a negative value {y:.4g}; add a point "
                    "that covers it")
            return y
        if x <= 0:
            return 0.0
        slope = math.log(y1 / y0) / math.log(x1 / x0)
        return y0 * (x / x0) ** slope


Entry = Scalar | Curve


@dataclass(frozen=True, kw_only=True)
class AdderClass:
    """Integer adders: curves against the width in bits."""

    energy_pj: Curve | None = None
    area_um2: Curve | None = None
    leakage_uw_per_um2: Scalar | None = None


@dataclass(frozen=True, kw_only=True)
class MultiplierClass:
    """Integer multipliers: curves against n_a x n_b (product_bits)."""

    energy_pj: Curve | None = None
    area_um2: Curve | None = None
    leakage_uw_per_um2: Scalar | None = None


@dataclass(frozen=True, kw_only=True)
class PEArrayClass:
    """PE-array registers and shifts."""

    register_pj_per_bit: Scalar | None = None
    register_um2_per_bit: Scalar | None = None
    shift_pj: Scalar | None = None
    leakage_uw_per_um2: Scalar | None = None


@dataclass(frozen=True, kw_only=True)
class LUTBankClass:
    """Look-up-table cells, periphery and accesses."""

    read_pj_per_cell: Scalar | None = None
    latch_um2_per_bit: Scalar | None = None
    rom_um2_per_bit: Scalar | None = None
    periphery_um2_per_transistor: Scalar | None = None
    write_to_read: Scalar | None = None
    extra_port_area_fraction: Scalar | None = None
    leakage_uw_per_um2: Scalar | None = None
    rom_leakage_uw_per_um2: Scalar | None = None
    lookup_pj: Scalar | None = None
    program_pj: Scalar | None = None


@dataclass(frozen=True, kw_only=True)
class SRAMClass:
    """SRAM buffers: curves against capacity."""

    read_pj_per_64b: Curve | None = None
    write_to_read: Scalar | None = None
    word_exponent: Scalar | None = None
    area_um2: Curve | None = None
    leakage_uw_per_um2: Scalar | None = None


@dataclass(frozen=True, kw_only=True)
class VectorClass:
    """The vector (elementwise) unit."""

    op_pj: Scalar | None = None
    area_um2_per_lane: Scalar | None = None
    leakage_uw_per_um2: Scalar | None = None


@dataclass(frozen=True, kw_only=True)
class NoCLinkClass:
    """Network-on-chip links and routers."""

    flit_hop_pj_per_byte: Scalar | None = None
    router_um2_per_link_byte: Scalar | None = None
    leakage_uw_per_um2: Scalar | None = None


@dataclass(frozen=True, kw_only=True)
class DRAMClass:
    """Off-chip DRAM accesses."""

    read_pj_per_byte: Scalar | None = None
    write_pj_per_byte: Scalar | None = None


@dataclass(frozen=True, kw_only=True)
class LogicClass:
    """Small logic primitives (sparsity hardware: operand selectors, zero detection)."""

    mux2_pj_per_bit: Scalar | None = None
    mux2_um2_per_bit: Scalar | None = None
    nor_pj_per_input: Scalar | None = None
    nor_um2_per_input: Scalar | None = None
    clock_gate_um2: Scalar | None = None
    leakage_uw_per_um2: Scalar | None = None


@dataclass(frozen=True, kw_only=True)
class Classes:
    """Entries per component class; an absent entry is None."""

    adder: AdderClass = field_(default_factory=AdderClass)
    multiplier: MultiplierClass = field_(default_factory=MultiplierClass)
    pe_array: PEArrayClass = field_(default_factory=PEArrayClass)
    lut_bank: LUTBankClass = field_(default_factory=LUTBankClass)
    sram: SRAMClass = field_(default_factory=SRAMClass)
    vector: VectorClass = field_(default_factory=VectorClass)
    noc_link: NoCLinkClass = field_(default_factory=NoCLinkClass)
    dram: DRAMClass = field_(default_factory=DRAMClass)
    logic: LogicClass = field_(default_factory=LogicClass)


@dataclass(frozen=True, kw_only=True)
class CostTable:
    """One technology's cost table (see module doc)."""

    name: str = field_(min_len=1, doc="table name")
    description: str = field_("", doc="free text")
    technology_node_nm: NonNeg = field_(doc="technology node")
    voltage_v: NonNeg = field_(doc="supply voltage")
    source: Source = field_(doc="where the numbers come from")
    classes: Classes = field_(doc="entries per component class")
    path: str = field_("<dict>", doc="file the table came from (set by the loader)")

    def entry(self, cls: str, key: str) -> Entry | None:
        """The entry ``classes.<cls>.<key>`` or None if absent (unknown names raise)."""
        if cls in field_names(Classes):
            group = getattr(self.classes, cls)
            if key in field_names(type(group)):
                return getattr(group, key)
        raise CostError(f"{self.path}: unknown cost entry {cls}.{key}")

    def value(self, cls: str, key: str, x: float | None = None) -> float:
        """Evaluate ``classes.<cls>.<key>`` (at ``x`` for curves); missing entries raise."""
        e = self.entry(cls, key)
        if e is None:
            raise CostError(f"{self.path}: missing cost entry {cls}.{key}")
        try:
            return e.at(x)
        except ValueError as exc:
            raise CostError(f"{self.path}: field 'classes.{cls}.{key}': {exc}") from None

    def has(self, cls: str, key: str) -> bool:
        return self.entry(cls, key) is not None

    def provenance(self) -> str:
        """One line naming the table, its file, node and voltage (printed by every report)."""
        return (f"{self.name} ({self.path}): {self.technology_node_nm:g} nm, "
                f"{self.voltage_v:g} V; {self.source.strip()}")


def builtin_energy_dir() -> Path:
    return builtin_arch_dir() / "energy"


def resolve_table_path(name_or_path: str | Path) -> Path:
    """A cost-table path from a path, a path relative to arch_configs/, or a bare name."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    for cand in (builtin_arch_dir() / p, builtin_energy_dir() / p,
                 builtin_energy_dir() / f"{p}.yaml"):
        if cand.is_file():
            return cand
    raise CostError(
        f"{name_or_path}: no such cost table (looked in {builtin_energy_dir()}; available: "
        f"{', '.join(sorted(q.stem for q in builtin_energy_dir().glob('*.yaml')))})"
    )


def load_cost_table(name_or_path: str | Path) -> CostTable:
    """Load and validate a cost table (strict YAML: duplicate keys are errors). Tables inside
    the source tree are named relative to it (``arch_configs/energy/x.yaml``)."""
    path = resolve_table_path(name_or_path)
    try:
        data = load_yaml_strict(path, "cost table")
    except ConfigError as exc:
        raise CostError(str(exc)) from None
    if not isinstance(data, dict):
        raise CostError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    if "path" in data:
        raise CostError(f"{path}: field 'path': unknown key (set by the loader)")
    shown = path.resolve()
    root = builtin_arch_dir().parent
    shown = shown.relative_to(root) if shown.is_relative_to(root) else path
    return parse(CostTable, {**data, "path": str(shown)}, str(shown), error=CostError)
