"""Cost tables: per component class, energy per action (pJ), area (um^2), leakage (uW/um^2).

In:  a YAML file under ``arch_configs/energy/`` (``load_cost_table(path_or_name)``; a bare
     name such as ``horowitz_45nm`` or a path relative to ``arch_configs/`` is resolved there).
Out: a frozen :class:`CostTable` (pydantic): header (``name``, ``technology_node_nm``,
     ``voltage_v``, ``source``) and ``classes.<class>.<entry>``; every entry is either a
     :class:`Scalar` ``{value, source}`` or a :class:`Curve` ``{x, interp, points, source}``
     evaluated with ``Curve.at(x)``.

Entry names carry their unit (``_pj``, ``_um2``, ``_uw_per_um2``, ...). Curves interpolate
``linear`` (adders: energy and area linear in width) or ``loglog`` (power law between points;
SRAM energy / area against capacity are interpolated in log-capacity), extrapolating with the
end segments. Every entry must say where its number comes from (``source``, non-empty).

Errors (:class:`CostError`, a :class:`~archsim.config.ConfigError`): duplicate YAML keys,
unknown keys, negative or non-numeric values, unsorted curve points -- each naming the dotted
field and the file. Entries a design point needs but the table lacks are reported by
``archsim.energy.model.load_cost_model`` before any simulation.
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from archsim.config import (
    ConfigError,
    builtin_arch_dir,
    format_validation_error,
    load_yaml_strict,
)

__all__ = [
    "CostError",
    "CostTable",
    "Curve",
    "Scalar",
    "builtin_energy_dir",
    "load_cost_table",
    "resolve_table_path",
]


class CostError(ConfigError):
    """An invalid or incomplete cost table: the message names the field / action and file."""


NonNeg = Annotated[StrictInt | StrictFloat, Field(ge=0, allow_inf_nan=False)]
Source = Annotated[str, Field(min_length=3, description="where the number comes from")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scalar(_Strict):
    """One number with its provenance."""

    value: NonNeg
    source: Source

    def at(self, _x: float | None = None) -> float:
        return float(self.value)


class Curve(_Strict):
    """y(x) through measured points; ``interp`` linear or log-log (power law) between them."""

    x: Literal["bits", "product_bits", "capacity_bytes"]
    interp: Literal["linear", "loglog"]
    points: list[tuple[NonNeg, NonNeg]] = Field(min_length=2)
    source: Source

    @field_validator("points")
    @classmethod
    def _sorted(cls, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        xs = [p[0] for p in pts]
        if any(b <= a for a, b in pairwise(xs)):
            raise ValueError(f"x values must be strictly increasing, got {xs}")
        return pts

    @model_validator(mode="after")
    def _positive_for_loglog(self) -> Curve:
        if self.interp == "loglog" and any(x <= 0 or y <= 0 for x, y in self.points):
            raise ValueError("loglog curves need x > 0 and y > 0 at every point")
        return self

    def in_range(self, x: float) -> bool:
        return self.points[0][0] <= x <= self.points[-1][0]

    def at(self, x: float) -> float:
        """Interpolated value; outside the points the end segment is extended (>= 0)."""
        if x is None or not math.isfinite(x) or x < 0:
            raise ValueError(f"curve argument {self.x} must be a finite number >= 0, got {x!r}")
        pts = self.points
        i = 0
        while i < len(pts) - 2 and x > pts[i + 1][0]:
            i += 1
        (x0, y0), (x1, y1) = pts[i], pts[i + 1]
        if self.interp == "linear":
            return max(0.0, y0 + (y1 - y0) * (x - x0) / (x1 - x0))
        if x <= 0:
            return 0.0
        slope = math.log(y1 / y0) / math.log(x1 / x0)
        return y0 * (x / x0) ** slope


Entry = Scalar | Curve


class AdderClass(_Strict):
    energy_pj: Curve | None = None
    area_um2: Curve | None = None
    leakage_uw_per_um2: Scalar | None = None


class MultiplierClass(_Strict):
    energy_pj: Curve | None = None
    area_um2: Curve | None = None
    leakage_uw_per_um2: Scalar | None = None


class PEArrayClass(_Strict):
    register_pj_per_bit: Scalar | None = None
    register_um2_per_bit: Scalar | None = None
    shift_pj: Scalar | None = None
    leakage_uw_per_um2: Scalar | None = None


class LUTBankClass(_Strict):
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


class SRAMClass(_Strict):
    read_pj_per_64b: Curve | None = None
    write_to_read: Scalar | None = None
    word_exponent: Scalar | None = None
    area_um2: Curve | None = None
    leakage_uw_per_um2: Scalar | None = None


class VectorClass(_Strict):
    op_pj: Scalar | None = None
    area_um2_per_lane: Scalar | None = None
    leakage_uw_per_um2: Scalar | None = None


class NoCLinkClass(_Strict):
    flit_hop_pj_per_byte: Scalar | None = None
    router_um2_per_link_byte: Scalar | None = None
    leakage_uw_per_um2: Scalar | None = None


class DRAMClass(_Strict):
    read_pj_per_byte: Scalar | None = None
    write_pj_per_byte: Scalar | None = None


class Classes(_Strict):
    adder: AdderClass = AdderClass()
    multiplier: MultiplierClass = MultiplierClass()
    pe_array: PEArrayClass = PEArrayClass()
    lut_bank: LUTBankClass = LUTBankClass()
    sram: SRAMClass = SRAMClass()
    vector: VectorClass = VectorClass()
    noc_link: NoCLinkClass = NoCLinkClass()
    dram: DRAMClass = DRAMClass()


class CostTable(_Strict):
    """One technology's cost table (see module doc)."""

    name: str = Field(min_length=1)
    description: str = ""
    technology_node_nm: NonNeg
    voltage_v: NonNeg
    source: Source
    classes: Classes
    path: str = Field("<dict>", description="file the table came from (set by the loader)")

    def entry(self, cls: str, key: str) -> Entry | None:
        """The entry ``classes.<cls>.<key>`` or None if absent (unknown names raise)."""
        group = getattr(self.classes, cls, None)
        if group is None or key not in type(group).model_fields:
            raise CostError(f"{self.path}: unknown cost entry {cls}.{key}")
        return getattr(group, key)

    def value(self, cls: str, key: str, x: float | None = None) -> float:
        """Evaluate ``classes.<cls>.<key>`` (at ``x`` for curves); missing entries raise."""
        e = self.entry(cls, key)
        if e is None:
            raise CostError(f"{self.path}: missing cost entry {cls}.{key}")
        return e.at(x)

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
        data = load_yaml_strict(path)
    except ConfigError as exc:
        raise CostError(str(exc)) from None
    if not isinstance(data, dict):
        raise CostError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    if "path" in data:
        raise CostError(f"{path}: field 'path': unknown key (set by the loader)")
    shown = path.resolve()
    root = builtin_arch_dir().parent
    shown = shown.relative_to(root) if shown.is_relative_to(root) else path
    try:
        return CostTable.model_validate({**data, "path": str(shown)})
    except ValidationError as exc:
        raise CostError(format_validation_error(exc, str(shown))) from None
