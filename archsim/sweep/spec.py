"""Sweep specifications: what to sweep, validated strictly, expanded into points.

In:  a YAML sweep file (``load_sweep_file``) or command-line pieces (``spec_from_args``:
     ``--set FIELD=V1,V2``, ``--workload``, ``--sparsity``, ``--seed``, optionally on top of a
     file), and the base design point (``expand_points``).
Out: a frozen :class:`SweepSpec`; ``expand_points(spec, base)`` -> the points in order
     (:class:`~archsim.sweep.worker.Point`, each with its id); ``parse_grid`` for the ``grid``
     shorthand (``4x2``, ``1x1..16x16``).  Unknown or duplicate keys, unknown field paths, bad
     dataflows/mappings/sparsities raise :class:`~archsim.design.arch.ConfigError` naming the file
     (or ``<command line>``) and the field.  The file format is shown in :mod:`archsim.sweep.run`.

A point's id is a hash of its parameters, of the base design point's content (not its path),
of the workload's identity (zoo name, or the content of a CSV / workload folder) and of the
simulator's code (``code_identity``), so a resumed sweep never reuses a result that other
code produced.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archsim.design.arch import ConfigError, load_yaml_strict
from archsim.errors import short
from archsim.sweep.worker import Point

__all__ = ["FILE_KEYS", "SweepSpec", "expand_points", "load_sweep_file", "parse_grid",
           "spec_from_args", "workload_kind"]

FILE_KEYS = ("arch", "workloads", "sparsity", "seeds", "dataflow", "mapping", "set", "name",
             "out")
_SPECIAL = {"dataflow": "dataflow", "mapping": "mapping", "workload": "workloads",
            "workloads": "workloads", "sparsity": "sparsity", "seed": "seeds", "seeds": "seeds"}


@dataclass(frozen=True)
class SweepSpec:
    arch: str
    workloads: tuple[str, ...]
    sparsity: tuple[float, ...] = (0.0,)
    seeds: tuple[int, ...] = (0,)
    axes: tuple[tuple[str, tuple[Any, ...]], ...] = ()  # incl. "dataflow" / "mapping"
    name: str = ""
    out: str = ""
    source: str = "<command line>"

    def axis_names(self) -> list[str]:
        """Config axes (CSV parameter columns), without dataflow and mapping."""
        return [a for a, _ in self.axes if a not in ("dataflow", "mapping")]

    def to_json(self) -> dict[str, Any]:
        return {"arch": self.arch, "workloads": list(self.workloads),
                "sparsity": list(self.sparsity), "seeds": list(self.seeds),
                "set": {a: list(v) for a, v in self.axes}, "name": self.name,
                "source": self.source}


# ---- parsing ----------------------------------------------------------------------------------
_GRID = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_grid(value: Any, where: str) -> list[tuple[int, int]]:
    """``"4x2"`` -> [(4, 2)]; ``"1x1..16x16"`` -> (1,1), (2,2), ... (16,16) (both doubled)."""
    text = str(value)
    if ".." in text:
        a, _, b = text.partition("..")
        (r0, c0), (r1, c1) = parse_grid(a, where)[0], parse_grid(b, where)[0]
        out = [(r0, c0)]
        while out[-1][0] < r1 or out[-1][1] < c1:
            r, c = out[-1]
            out.append((r * 2, c * 2))
        if out[-1] != (r1, c1):
            raise ConfigError(f"{where}: grid range {text!r}: doubling {r0}x{c0} does not reach "
                              f"{r1}x{c1}")
        return out
    m = _GRID.match(text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ConfigError(f"{where}: grid value {text!r} is not ROWSxCOLS (e.g. 4x4) or a "
                          f"range 1x1..16x16")
    return [(int(m.group(1)), int(m.group(2)))]


def _as_list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _check_field(base: dict, path: str, where: str) -> None:
    node: Any = base
    parts = path.split(".")
    for i, part in enumerate(parts):
        if i > 0 and parts[i - 1] == "pe_params":
            return  # PE parameters are checked by the PE kind when the point runs
        if not isinstance(node, dict) or part not in node or part == "source":
            valid = sorted(k for k in node if k != "source") if isinstance(node, dict) else []
            raise ConfigError(f"{where}: unknown field {path!r}: no {'.'.join(parts[:i + 1])!r} "
                              f"in the design point (valid here: {', '.join(valid)}; or grid)")
        node = node[part]


def _build_spec(data: dict[str, Any], source: str) -> SweepSpec:
    """Validate plain sweep data (file or command line) into a SweepSpec."""
    from archsim.mapping.fold import DATAFLOWS
    from archsim.mapping.schedule import MappingSpec

    where = source
    unknown = sorted(set(data) - set(FILE_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} "
                          f"(valid keys: {', '.join(FILE_KEYS)})")
    if not data.get("arch") or not isinstance(data["arch"], str):
        raise ConfigError(f"{where}: 'arch' (base design point name or YAML path) is required")
    workloads = [str(w) for w in _as_list(data.get("workloads") or [])]
    if not workloads:
        raise ConfigError(f"{where}: 'workloads' needs at least one workload")
    axes: dict[str, list[Any]] = {}
    set_ = data.get("set") or {}
    if not isinstance(set_, dict):
        raise ConfigError(f"{where}: 'set' must map config fields to lists of values")
    top = {k: data[k] for k in ("dataflow", "mapping", "sparsity", "seeds") if k in data}
    for key, vals in set_.items():
        key = str(key)
        if key in _SPECIAL:
            if _SPECIAL[key] in top or (_SPECIAL[key] == "workloads" and data.get("workloads")):
                raise ConfigError(f"{where}: {key!r} is given twice (top level and in 'set')")
            if _SPECIAL[key] == "workloads":
                raise ConfigError(f"{where}: give workloads under 'workloads', not in 'set'")
            if _SPECIAL[key] in ("sparsity", "seeds"):
                top[_SPECIAL[key]] = vals
                continue
        axes[key] = _as_list(vals)
    for k in ("dataflow", "mapping"):
        if k in top:
            axes[k] = _as_list(top[k])
        axes.setdefault(k, ["ws"] if k == "dataflow" else ["layer"])
    for k, vals in axes.items():
        if not vals:
            raise ConfigError(f"{where}: field {k!r} has no values")
    for df in axes["dataflow"]:
        if df not in DATAFLOWS:
            raise ConfigError(f"{where}: field 'dataflow': {df!r} is not one of "
                              f"{', '.join(DATAFLOWS)}")
    def _mapping(m: str) -> str:
        if m.split(":")[0] == "search":  # mapping search (archsim.mapping.search)
            from archsim.mapping.search import OBJECTIVES

            obj = m.partition(":")[2] or "latency"
            if obj not in OBJECTIVES:
                raise ValueError(f"search objective {obj!r} is not one of {OBJECTIVES}")
            return f"search:{obj}"
        return MappingSpec.parse(m).label()

    try:
        axes["mapping"] = [_mapping(str(m)) for m in axes["mapping"]]
    except ValueError as exc:
        raise ConfigError(f"{where}: field 'mapping': {exc}") from None
    if "grid" in axes:
        if "grid.rows" in axes or "grid.cols" in axes:
            raise ConfigError(f"{where}: 'grid' and 'grid.rows'/'grid.cols' cannot both be swept")
        axes["grid"] = [f"{r}x{c}" for v in axes["grid"]
                        for r, c in parse_grid(v, f"{where}: grid")]
    try:
        sparsity = tuple(float(s) for s in _as_list(top.get("sparsity", [0.0])))
        seeds = tuple(int(s) for s in _as_list(top.get("seeds", [0])))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: 'sparsity' must be numbers and 'seeds' integers ({exc})") \
            from None
    if any(not 0.0 <= s < 1.0 for s in sparsity):
        raise ConfigError(f"{where}: field 'sparsity': values must be in [0, 1), got "
                          f"{short(sparsity)}")
    if any(sparsity) and all(workload_kind(w) != "zoo" for w in workloads):
        raise ConfigError(f"{where}: field 'sparsity' {short(sparsity)} applies to zoo workloads "
                          "only, and every workload here is a CSV file or a saved folder")
    for k, v in (("name", data.get("name")), ("out", data.get("out"))):
        if v is not None and not isinstance(v, str):
            raise ConfigError(f"{where}: {k!r} must be a string")
    return SweepSpec(arch=data["arch"], workloads=tuple(workloads), sparsity=sparsity,
                     seeds=seeds, axes=tuple((k, tuple(v)) for k, v in axes.items()),
                     name=data.get("name") or "", out=data.get("out") or "", source=source)


def load_sweep_file(path: str | Path) -> SweepSpec:
    """Read and validate a YAML sweep file (duplicate keys rejected, errors name the file)."""
    data = load_yaml_strict(path, "sweep file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a sweep file is a mapping (arch, workloads, set, ...)")
    spec = _build_spec(data, str(path))
    return spec if spec.name else dataclasses.replace(spec, name=Path(path).stem)


def _parse_token(key: str, tok: str) -> Any:
    tok = tok.strip()
    if key in ("grid", "mapping", "dataflow", "workload", "workloads"):
        return tok
    from archsim.safeio import parse_yaml

    try:
        return parse_yaml(tok, "<command line>", ConfigError) if tok else tok
    except ConfigError:
        return tok


def spec_from_args(file: str | None, arch: str | None, workloads: list[str],
                   sparsity: str | None, seeds: str | None, sets: list[str],
                   name: str | None = None) -> SweepSpec:
    """A spec from command-line pieces (``--set key=v1,v2``), optionally on top of a file."""
    data: dict[str, Any] = {}
    source = "<command line>"
    if file:
        raw = load_yaml_strict(file, "sweep file")
        if not isinstance(raw, dict):
            raise ConfigError(f"{file}: a sweep file is a mapping (arch, workloads, set, ...)")
        _build_spec(raw, str(file))  # validate the file on its own first (errors name it)
        data, source = dict(raw), f"{file} + command line"
        data["set"] = dict(data.get("set") or {})
    if arch:
        data["arch"] = arch
    if workloads:
        data["workloads"] = [w for item in workloads for w in item.split(",") if w]
    try:
        if sparsity is not None:
            data["sparsity"] = [float(s) for s in sparsity.split(",")]
        if seeds is not None:
            data["seeds"] = [int(s) for s in seeds.split(",")]
    except ValueError:
        raise ConfigError(f"{source}: --sparsity takes numbers and --seed integers, comma "
                          f"separated; got {short(sparsity)} / {short(seeds)}") from None
    for item in sets:
        key, eq, vals = item.partition("=")
        key = key.strip()
        if not eq or not key or not vals:
            raise ConfigError(f"{source}: --set {item!r}: expected FIELD=VALUE[,VALUE...]")
        values = [_parse_token(key, t) for t in vals.split(",")]
        target = _SPECIAL.get(key)
        if target == "workloads":
            data["workloads"] = [str(v) for v in values]
        elif target in ("sparsity", "seeds", "dataflow", "mapping"):
            data.pop(target, None)
            data.setdefault("set", {}).pop(target, None)
            data[target] = values
        else:
            data.setdefault("set", {})[key] = values
    if name:
        data["name"] = name
    if not file and "name" not in data:
        data["name"] = ""
    spec = _build_spec(data, source)
    if not spec.name:
        plain_file = file and not (arch or workloads or sparsity or seeds or sets)
        spec = dataclasses.replace(
            spec, name=Path(file).stem if plain_file else _default_name(spec, file))
    return spec


def _default_name(spec: SweepSpec, file: str | None) -> str:
    digest = hashlib.sha256(json.dumps(spec.to_json(), sort_keys=True, default=str)
                            .encode()).hexdigest()[:8]
    stem = Path(file).stem if file else Path(spec.arch).stem
    return f"{stem}-{digest}"


# ---- points -----------------------------------------------------------------------------------
def _sha(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def workload_kind(w: str) -> str:
    p = Path(w)
    if p.is_dir():
        return "folder"
    if p.suffix.lower() == ".csv":
        return "file"
    return "zoo"


def _workload_identity(w: str, kind: str) -> str:
    if kind == "zoo":
        return f"zoo:{w}"
    p = Path(w)
    h = hashlib.sha256()
    files = [p] if kind == "file" else sorted(q for q in p.iterdir() if q.is_file())
    for f in files:
        if not f.exists():
            raise ConfigError(f"workload {short(w)}: no such file")
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return f"{kind}:{h.hexdigest()[:16]}"


@functools.lru_cache(maxsize=1)
def code_identity() -> str:
    """Hash of the simulator's own code and cost tables: a point finished by other code is
    not reused on resume (it would silently mix results of two simulator versions)."""
    from archsim.design.arch import builtin_arch_dir

    root = Path(__file__).resolve().parent.parent  # the archsim package
    h = hashlib.sha256()
    files = sorted(root.rglob("*.py")) + sorted((root.parent / "workloads").rglob("*.py")) \
        + sorted((builtin_arch_dir() / "energy").glob("*.yaml"))
    for f in files:
        if "__pycache__" in f.parts or not f.is_file():
            continue
        h.update(str(f.relative_to(root.parent)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def expand_points(spec: SweepSpec, base) -> list[Point]:
    """All points of the sweep in order (ids include the base design point's content)."""
    base_data = {k: v for k, v in base.resolved().items() if k != "source"}
    for axis, _ in spec.axes:
        if axis not in ("grid", "dataflow", "mapping"):
            _check_field(base_data, axis, f"{spec.source}: set")
    base_id = _sha(base_data)
    names = [a for a, _ in spec.axes]
    points: list[Point] = []
    for w in spec.workloads:
        kind = workload_kind(w)
        ident = _workload_identity(w, kind)
        sparsities = spec.sparsity if kind == "zoo" else (None,)
        for s, seed in itertools.product(sparsities, spec.seeds):
            for combo in itertools.product(*(v for _, v in spec.axes)):
                vals = dict(zip(names, combo))
                over: list[tuple[str, Any]] = []
                for a in names:
                    if a == "grid":
                        (r, c), = parse_grid(vals[a], spec.source)
                        over += [("grid.rows", r), ("grid.cols", c)]
                    elif a not in ("dataflow", "mapping"):
                        over.append((a, vals[a]))
                pid = _sha({"code": code_identity(), "arch": base_id, "workload": ident,
                            "sparsity": s, "seed": seed,
                            "dataflow": vals["dataflow"], "mapping": vals["mapping"],
                            "overrides": over})[:16]
                points.append(Point(
                    index=len(points), point_id=pid, workload=w, sparsity=s, seed=seed,
                    dataflow=vals["dataflow"], mapping=vals["mapping"], overrides=tuple(over),
                    labels=tuple((a, vals[a]) for a in names
                                 if a not in ("dataflow", "mapping"))))
    ids = [p.point_id for p in points]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{spec.source}: the sweep repeats points (a value is listed twice)")
    return points
