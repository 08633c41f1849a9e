"""Sweeps: any config fields x dataflows x mappings x workloads, run in parallel, resumable.

In:  a :class:`SweepSpec` -- from the command line (``spec_from_args``) or a YAML sweep file
     (``load_sweep_file``, validated strictly: unknown or duplicate keys and unknown field
     paths raise :class:`~archsim.design.arch.ConfigError` naming the file and the field).
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
``scheduler="tcp://host:port"`` (:mod:`archsim.sweep.cluster`).

Modules: ``sweep_spec`` (parsing, validation, points), ``sweep_worker`` (one point in a
worker), ``sweep_store`` (results on disk, CSV), ``sweep_local`` / ``sweep_dask`` (executors).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from archsim.design.arch import load_arch
from archsim.errors import EXIT_INTERRUPTED, EXIT_SWEEP_FAILED, Interrupted, exit_code_of_signal
from archsim.report.outputs import check_output_dir, folder_lock, safe_name
from archsim.sweep.spec import (
    FILE_KEYS,
    SweepSpec,
    expand_points,
    load_sweep_file,
    parse_grid,
    spec_from_args,
    workload_kind,
)
from archsim.sweep.store import ResultStore, atomic_write_text
from archsim.sweep.worker import Point, PointResult, PointTask, task_cost

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


# ---- running ----------------------------------------------------------------------------------
def _prepare_workloads(points: list[Point], cache: Path, in_memory: bool) -> dict[tuple, Any]:
    """(workload, sparsity, seed) -> saved folder / file path (local) or graph (Dask)."""
    from archsim.pipeline import resolve_workload

    out: dict[tuple, Any] = {}
    for p in points:
        key = (p.workload, p.sparsity, p.seed)
        if key in out:
            continue
        kind = workload_kind(p.workload)
        if kind != "zoo":
            out[key] = (resolve_workload(p.workload) if in_memory
                        else str(Path(p.workload).resolve()))
            continue
        folder = cache / re.sub(r"[^A-Za-z0-9_.-]", "_",
                                f"{p.workload}_s{p.sparsity}_seed{p.seed}")
        if (folder / ".complete").exists():
            out[key] = resolve_workload(folder) if in_memory else str(folder.resolve())
            continue
        g = resolve_workload(p.workload, seed=p.seed, sparsity=p.sparsity or 0.0)
        if in_memory:
            out[key] = g
        else:
            from archsim.graph.ir import save_workload

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
    out = sweep_dir(spec, out_dir)
    with folder_lock(out, "sweep folder"):
        return _run_locked(spec, out, base, points, t0, jobs, scheduler, point_dirs,
                           point_plots, retry_failed, progress)


SWEEP_FILES = ("sweep.yaml", "sweep.csv", "results", "points", "_workloads")


def sweep_dir(spec: SweepSpec, out_dir: str | Path | None = None) -> Path:
    """The sweep's output folder (default ``reports/sweeps/<name>``, the name made safe),
    checked before any work: a folder holding other files than a sweep's is refused."""
    out = Path(out_dir or spec.out or Path("reports") / "sweeps" / safe_name(spec.name or "sweep"))
    return check_output_dir(out, "sweep folder", own_files=SWEEP_FILES)


def _run_locked(spec, out, base, points, t0, jobs, scheduler, point_dirs, point_plots,
                retry_failed, progress) -> SweepResult:
    store = ResultStore(out)
    from archsim.report.run_folder import provenance

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
                    from archsim.report.run_folder import write_run
                    from archsim.sweep.worker import workload_args

                    write_run(sim, out / run_dir, workload_args(p, base), plots=point_plots)
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
                from archsim.sweep.cluster import run_dask

                run_dask(tasks, scheduler, graphs, on_result, keep_results=point_dirs)
            else:
                from archsim.sweep.local import run_local

                run_local(tasks, jobs or _default_jobs(), on_result)
        finally:
            if bar is not None:
                bar.close()
            with _signals_held():  # a second Ctrl-C / SIGTERM waits for the CSV
                # rebuilt from the durable results: one saved just before an interruption
                # counts even if the interruption came before it reached ``results``
                results.update({pid: v for pid, v in store.load().items() if pid in valid})
                store.write_csv(points, axis_names, results)
    n_fail = sum(1 for p in points
                 if p.point_id in results and results[p.point_id][0].status != "ok")
    if all(p.point_id in results for p in points) and (out / "_workloads").exists():
        shutil.rmtree(out / "_workloads", ignore_errors=True)
    return SweepResult(out, store.csv_path, len(points), len(todo), len(points) - len(todo),
                       n_fail, time.perf_counter() - t0, tuple(failed))


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT and SIGTERM (main thread, POSIX) until the block is done."""
    import signal
    import threading

    sigs = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


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
    if args.jobs is not None and not 1 <= args.jobs <= 1024:
        from archsim.errors import UsageError

        raise UsageError(f"--jobs {args.jobs}: give 1..1024 worker processes")
    sweep_dir(spec, args.out)  # before any work
    try:
        res = run_sweep(spec, args.out, jobs=args.jobs, scheduler=args.scheduler,
                        point_dirs=not args.no_point_dirs, point_plots=args.point_plots,
                        retry_failed=args.retry_failed, progress=not args.no_progress)
    except (KeyboardInterrupt, Interrupted) as exc:
        how = "interrupted" if isinstance(exc, KeyboardInterrupt) else "terminated"
        print(f"\narchsim sweep: {how}; finished points are saved (sweep.csv shows them) -- "
              "run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) \
            else exit_code_of_signal(exc.signum)
    print(f"sweep {spec.name}: {res.points} points, {res.ran} run now, {res.skipped} done "
          f"before, {res.failed} failed, {res.wall_seconds:.1f} s")
    for pid, err in res.errors[:5]:
        print(f"  failed {pid}: {err}")
    print(f"results: {res.csv_path}")
    return EXIT_SWEEP_FAILED if res.failed else 0


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
