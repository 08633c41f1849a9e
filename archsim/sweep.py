"""Sweeps: any config fields x dataflows x mappings x workloads, run in parallel, resumable.

In:  a :class:`SweepSpec` -- from the command line (``spec_from_args``) or a YAML sweep file
     (``load_sweep_file``, validated strictly: unknown or duplicate keys and unknown field
     paths raise :class:`~archsim.config.ConfigError` naming the file and the field).
Out: ``run_sweep(spec, out_dir, ...)`` -> :class:`SweepResult`; on disk ``<out>/sweep.csv``
     (one row per point), ``<out>/results/<point_id>.json`` (one per finished point, written
     atomically as it arrives), ``<out>/points/<point_id>/`` run folders (unless
     ``point_dirs=False``) and ``<out>/sweep.yaml`` (the resolved sweep, versions).

A YAML sweep file::

    arch: lutna_2x2                  # base design point (built-in name or YAML path)
    workloads: [resnet18]            # zoo names, saved workload folders, topology CSVs
    sparsity: [0.9]                  # zoo workloads only (default [0.0])
    seeds: [0]
    dataflow: [os, ws]               # default [ws]
    mapping: [layer, pipeline]       # default [layer]
    set:                             # config fields by dotted path -> values (product)
      grid: [1x1, 2x2, 4x4]          # shorthand for grid.rows + grid.cols; 1x1..16x16 doubles
      tile.pe_array.pe_kind: [mac, lutna]
    name: my_sweep                   # optional: default output reports/sweeps/<name>
    out: reports/sweeps/my_sweep     # optional output folder

Points are the product workload x sparsity x seed x (``set`` axes and dataflow/mapping, in
the order given; dataflow and mapping last unless placed in ``set``).  A point's id is a hash
of its parameters, the base design point's content and the workload's identity; a re-run of
the same sweep skips points that already have a result (failed points too, unless
``retry_failed``).  Local runs use one process per core (``jobs``), Dask runs use
``scheduler="tcp://host:port"`` (:mod:`archsim.sweep_dask`).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from archsim.config import ConfigError, load_arch, load_yaml_strict
from archsim.sweep_store import ResultStore, atomic_write_text
from archsim.sweep_worker import Point, PointResult, PointTask, task_cost

__all__ = [
    "SweepResult",
    "SweepSpec",
    "expand_points",
    "load_sweep_file",
    "parse_grid",
    "register_cli",
    "run_sweep",
    "spec_from_args",
]

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


@dataclass(frozen=True)
class SweepResult:
    out_dir: Path
    csv_path: Path
    points: int
    ran: int
    skipped: int
    failed: int
    wall_seconds: float
    errors: tuple[tuple[str, str], ...]  # (point_id, error) of failed points


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
    from archsim.fold import DATAFLOWS
    from archsim.mapping import MappingSpec

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
    try:
        axes["mapping"] = [MappingSpec.parse(str(m)).label() for m in axes["mapping"]]
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
        raise ConfigError(f"{where}: field 'sparsity': values must be in [0, 1), got {sparsity}")
    for k, v in (("name", data.get("name")), ("out", data.get("out"))):
        if v is not None and not isinstance(v, str):
            raise ConfigError(f"{where}: {k!r} must be a string")
    return SweepSpec(arch=data["arch"], workloads=tuple(workloads), sparsity=sparsity,
                     seeds=seeds, axes=tuple((k, tuple(v)) for k, v in axes.items()),
                     name=data.get("name") or "", out=data.get("out") or "", source=source)


def load_sweep_file(path: str | Path) -> SweepSpec:
    """Read and validate a YAML sweep file (duplicate keys rejected, errors name the file)."""
    data = load_yaml_strict(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a sweep file is a mapping (arch, workloads, set, ...)")
    spec = _build_spec(data, str(path))
    return spec if spec.name else dataclasses.replace(spec, name=Path(path).stem)


def _parse_token(key: str, tok: str) -> Any:
    tok = tok.strip()
    if key in ("grid", "mapping", "dataflow", "workload", "workloads"):
        return tok
    try:
        return yaml.safe_load(tok) if tok else tok
    except yaml.YAMLError:
        return tok


def spec_from_args(file: str | None, arch: str | None, workloads: list[str],
                   sparsity: str | None, seeds: str | None, sets: list[str],
                   name: str | None = None) -> SweepSpec:
    """A spec from command-line pieces (``--set key=v1,v2``), optionally on top of a file."""
    data: dict[str, Any] = {}
    source = "<command line>"
    if file:
        raw = load_yaml_strict(file)
        if not isinstance(raw, dict):
            raise ConfigError(f"{file}: a sweep file is a mapping (arch, workloads, set, ...)")
        _build_spec(raw, str(file))  # validate the file on its own first (errors name it)
        data, source = dict(raw), f"{file} + command line"
        data["set"] = dict(data.get("set") or {})
    if arch:
        data["arch"] = arch
    if workloads:
        data["workloads"] = [w for item in workloads for w in item.split(",") if w]
    if sparsity is not None:
        data["sparsity"] = [float(s) for s in sparsity.split(",")]
    if seeds is not None:
        data["seeds"] = [int(s) for s in seeds.split(",")]
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


def _workload_kind(w: str) -> str:
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
            raise FileNotFoundError(f"workload {w!r}: no such file")
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return f"{kind}:{h.hexdigest()[:16]}"


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
        kind = _workload_kind(w)
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
                pid = _sha({"arch": base_id, "workload": ident, "sparsity": s, "seed": seed,
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


# ---- running ----------------------------------------------------------------------------------
def _prepare_workloads(points: list[Point], cache: Path, in_memory: bool) -> dict[tuple, Any]:
    """(workload, sparsity, seed) -> saved folder / file path (local) or graph (Dask)."""
    from archsim.sim import resolve_workload

    out: dict[tuple, Any] = {}
    for p in points:
        key = (p.workload, p.sparsity, p.seed)
        if key in out:
            continue
        kind = _workload_kind(p.workload)
        if kind != "zoo":
            out[key] = (resolve_workload(p.workload) if in_memory
                        else str(Path(p.workload).resolve()))
            continue
        folder = cache / re.sub(r"[^A-Za-z0-9_.-]", "_", f"{p.workload}_s{p.sparsity}_seed{p.seed}")
        if (folder / ".complete").exists():
            out[key] = resolve_workload(folder) if in_memory else str(folder.resolve())
            continue
        g = resolve_workload(p.workload, seed=p.seed, sparsity=p.sparsity or 0.0)
        if in_memory:
            out[key] = g
        else:
            from archsim.graph import save_workload

            if folder.exists():
                shutil.rmtree(folder)
            save_workload(g, folder)
            (folder / ".complete").write_text("ok\n")
            out[key] = str(folder.resolve())
    return out


def _default_jobs() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_sweep(spec: SweepSpec, out_dir: str | Path | None = None, jobs: int | None = None,
              scheduler: str | None = None, point_dirs: bool = True, point_plots: bool = False,
              retry_failed: bool = False, progress: bool = False) -> SweepResult:
    """Run (or resume) the sweep; see the module doc for what is written where."""
    t0 = time.perf_counter()
    base = load_arch(spec.arch)
    points = expand_points(spec, base)
    out = Path(out_dir or spec.out or Path("reports") / "sweeps" / (spec.name or "sweep"))
    store = ResultStore(out)
    from archsim.report import provenance

    atomic_write_text(out / "sweep.yaml", yaml.safe_dump(
        {"sweep": spec.to_json(), "points": len(points), "versions": provenance()},
        sort_keys=False), fsync=False)
    results = {pid: v for pid, v in store.load().items()}
    valid = {p.point_id for p in points}
    done = {pid for pid, (r, _) in results.items()
            if pid in valid and (r.status == "ok" or not retry_failed)}
    todo = [p for p in points if p.point_id not in done]
    axis_names = spec.axis_names()
    store.write_csv(points, axis_names, results)
    failed: list[tuple[str, str]] = []
    if todo:
        graphs = _prepare_workloads(todo, out / "_workloads", in_memory=scheduler is not None)
        tasks = [PointTask(p, base, None if scheduler else graphs[(p.workload, p.sparsity, p.seed)],
                           str(out / "points" / p.point_id) if point_dirs and not scheduler
                           else None, point_plots) for p in todo]
        tasks.sort(key=lambda t: (-task_cost(t), t.point.index))
        by_id = {t.point.point_id: t.point for t in tasks}
        bar = _progress(len(points), len(points) - len(todo), progress)
        last_csv = [time.monotonic()]

        def on_result(res: PointResult, sim=None) -> None:
            p = by_id[res.point_id]
            run_dir = ""
            if point_dirs and res.status == "ok":
                run_dir = str(Path("points") / p.point_id)
                if sim is not None:  # Dask: the client writes the run folder
                    from archsim.report import write_run
                    from archsim.sweep_worker import workload_args

                    write_run(sim, out / run_dir, workload_args(p), plots=point_plots)
            store.save(p, res, run_dir)
            results[res.point_id] = (res, run_dir)
            if res.status != "ok":
                failed.append((res.point_id, res.error))
            if bar is not None:
                bar.update(1)
                if failed:
                    bar.set_postfix_str(f"{len(failed)} failed", refresh=False)
            if time.monotonic() - last_csv[0] > 2.0:
                store.write_csv(points, axis_names, results)
                last_csv[0] = time.monotonic()

        try:
            if scheduler:
                from archsim.sweep_dask import run_dask

                run_dask(tasks, scheduler, graphs, on_result, keep_results=point_dirs)
            else:
                from archsim.sweep_local import run_local

                run_local(tasks, jobs or _default_jobs(), on_result)
        finally:
            if bar is not None:
                bar.close()
            store.write_csv(points, axis_names, results)
    n_fail = sum(1 for p in points
                 if p.point_id in results and results[p.point_id][0].status != "ok")
    if all(p.point_id in results for p in points) and (out / "_workloads").exists():
        shutil.rmtree(out / "_workloads", ignore_errors=True)
    return SweepResult(out, store.csv_path, len(points), len(todo), len(points) - len(todo),
                       n_fail, time.perf_counter() - t0, tuple(failed))


def _progress(total: int, initial: int, on: bool):
    if not on:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc="sweep", unit="pt", file=sys.stderr,
                dynamic_ncols=True, smoothing=0.05)


# ---- command line -----------------------------------------------------------------------------
def _cmd_sweep(args: argparse.Namespace) -> int:
    spec = spec_from_args(args.file, args.arch, args.workload or [], args.sparsity, args.seed,
                          args.set or [], args.name)
    try:
        res = run_sweep(spec, args.out, jobs=args.jobs, scheduler=args.scheduler,
                        point_dirs=not args.no_point_dirs, point_plots=args.point_plots,
                        retry_failed=args.retry_failed, progress=not args.no_progress)
    except KeyboardInterrupt:
        print("\narchsim sweep: interrupted; finished points are saved -- run the same "
              "command again to resume", file=sys.stderr)
        return 130
    print(f"sweep {spec.name}: {res.points} points, {res.ran} run now, {res.skipped} done "
          f"before, {res.failed} failed, {res.wall_seconds:.1f} s")
    for pid, err in res.errors[:5]:
        print(f"  failed {pid}: {err}")
    print(f"results: {res.csv_path}")
    return 1 if res.failed else 0


def register_cli(subparsers, name: str) -> None:
    p = subparsers.add_parser(
        name, help="sweep config fields x workloads (local processes or Dask)",
        description="Sweep config fields, dataflows, mappings and workloads. Examples:\n"
        "  archsim sweep --arch lutna_2x2 --workload resnet18 --sparsity 0.9 "
        "--set grid=1x1,2x2,4x4 --set dataflow=os,ws\n  archsim sweep my_sweep.yaml --jobs 2",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", nargs="?", help="YAML sweep file (keys: " + ", ".join(FILE_KEYS) + ")")
    p.add_argument("--arch", help="base design point (built-in name or YAML path)")
    p.add_argument("--workload", action="append",
                   help="zoo name, saved workload folder or topology CSV (repeat or comma-list)")
    p.add_argument("--sparsity", help="comma list of weight sparsities for zoo workloads")
    p.add_argument("--seed", help="comma list of seeds (default 0)")
    p.add_argument("--set", action="append", metavar="FIELD=V1,V2",
                   help="sweep a config field (dotted path), grid (RxC, 1x1..16x16), "
                   "dataflow or mapping; repeatable")
    p.add_argument("--name", help="sweep name (default output reports/sweeps/<name>)")
    p.add_argument("--out", help="output folder (re-use it to resume)")
    p.add_argument("--jobs", type=int, default=None, help="local worker processes (default: "
                   "one per core; 1 = in this process)")
    p.add_argument("--scheduler", help="run on a Dask cluster at tcp://host:port "
                   "(pip install 'archsim[dask]')")
    p.add_argument("--no-point-dirs", action="store_true",
                   help="skip the per-point run folders (faster big sweeps)")
    p.add_argument("--point-plots", action="store_true", help="PNG plots in every point folder")
    p.add_argument("--retry-failed", action="store_true", help="re-run points that failed before")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=_cmd_sweep)
