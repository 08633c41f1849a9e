"""The work of one sweep point, as run inside a worker process (local pool or Dask worker).

In:  a :class:`PointTask` -- the point (parameters and id), the base design point, where its
     workload graph is (a saved workload folder, a topology CSV, or the graph itself), and
     whether/where to write the point's run folder.
Out: a :class:`PointResult` (frozen, JSON-able): status ``ok`` or ``error`` with the error
     text, the point's metrics, the worker's wall seconds.  A point that raises never
     raises out of ``run_point``; only KeyboardInterrupt/SystemExit propagate.

Workers use one torch/BLAS/OpenMP thread (``limit_threads``): the sweep already runs one
process per core.  Graphs are cached per process by path, so a worker loads each workload
once per sweep, not once per point.  This module imports nothing heavy at import time (it is
unpickled first in every spawned worker).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "METRIC_COLUMNS",
    "Point",
    "PointResult",
    "PointTask",
    "build_point_arch",
    "die_with_parent",
    "init_worker",
    "limit_threads",
    "metrics_of",
    "run_point",
]

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

# metric columns of the sweep CSV, in order (values from ``metrics_of``)
METRIC_COLUMNS = ("arch", "pe_kind", "tiles", "pes_per_tile", "latency_cycles", "latency_us",
                  "utilization", "macs_dense", "macs_executed", "compute_bound_cycles",
                  "dram_bound_cycles", "binding_bound", "binding_bound_cycles", "events",
                  "stall_cycles", "top_stall_cause",
                  "energy_pj", "dynamic_energy_pj", "leakage_energy_pj", "area_um2")


@dataclass(frozen=True)
class Point:
    """One point of a sweep: everything that determines its result (and its id)."""

    index: int
    point_id: str
    workload: str
    sparsity: float | None  # None: the workload is a file (sparsity does not apply)
    seed: int
    dataflow: str
    mapping: str
    overrides: tuple[tuple[str, Any], ...]  # dotted config field -> value, applied in order
    labels: tuple[tuple[str, Any], ...]  # sweep axis -> value as given (CSV columns)


@dataclass(frozen=True)
class PointTask:
    point: Point
    base_arch: Any  # ArchConfig
    workload_path: str | None  # saved workload folder or topology CSV (local pool)
    run_dir: str | None  # write the point's run folder here (None: do not)
    plots: bool = False


@dataclass(frozen=True)
class PointResult:
    point_id: str
    status: str  # "ok" | "error"
    error: str = ""
    traceback: str = ""
    wall_seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PointResult:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


_LIMITED = False


def limit_threads() -> None:
    """One thread for OpenMP/BLAS/torch in this process (idempotent)."""
    global _LIMITED
    if _LIMITED:
        return
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with joblib
        pass
    if "torch" in sys.modules:  # never import torch just to limit it
        sys.modules["torch"].set_num_threads(1)
    _LIMITED = True


def init_worker(parent_pid: int | None = None) -> None:
    """Process-pool initializer: one thread, Ctrl-C is the parent's business, and the worker
    exits when its parent dies however it dies (see :func:`die_with_parent`)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    limit_threads()
    if parent_pid is not None:
        die_with_parent(parent_pid)


PARENT_POLL_SECONDS = 0.5


def die_with_parent(parent_pid: int) -> None:
    """End this process when ``parent_pid`` is gone, even after a SIGKILL of the parent.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` -- the kernel kills this process when its
    parent exits.  Everywhere (and as a fallback): a daemon thread that polls
    ``os.getppid()`` every :data:`PARENT_POLL_SECONDS` and exits the process once it changed
    (the orphan was re-parented).  A parent that died before this call is caught at once."""
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the thread remains
            pass
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        import time as _time

        while True:
            _time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="archsim-parent-watchdog", daemon=True).start()


_GRAPHS: dict[str, Any] = {}


def _graph(path: str):
    g = _GRAPHS.get(path)
    if g is None:
        from archsim.pipeline import resolve_workload

        if len(_GRAPHS) >= 2:  # bound the memory of a worker
            _GRAPHS.pop(next(iter(_GRAPHS)))
        g = _GRAPHS[path] = resolve_workload(path)
    return g


def build_point_arch(base, overrides: tuple[tuple[str, Any], ...]):
    """The point's design point: ``base.with_overrides`` in order (which also handles a
    change of ``tile.pe_array.pe_kind``, as the library does)."""
    return base.with_overrides(dict(overrides)) if overrides else base


def metrics_of(res) -> dict[str, Any]:
    """The sweep CSV's metrics of one SimResult (energy/area empty when absent)."""
    from archsim.report.run_folder import area_dict, energy_dict

    stalls = res.stall_cycles()
    e, a = energy_dict(res), area_dict(res)
    return {
        "arch": res.arch.name, "pe_kind": res.pe_kind, "tiles": res.arch.n_tiles,
        "pes_per_tile": res.arch.pes_per_tile, "latency_cycles": res.latency_cycles,
        "latency_us": res.latency_cycles / res.arch.clock_mhz,
        "utilization": res.utilization, "macs_dense": res.macs_dense,
        "macs_executed": res.macs_executed, "compute_bound_cycles": res.compute_bound_cycles,
        "dram_bound_cycles": res.dram_bound_cycles,
        "binding_bound": res.bounds.get("binding", ""),
        "binding_bound_cycles": res.bounds.get("binding_cycles"), "events": res.events,
        "stall_cycles": sum(stalls.values()),
        "top_stall_cause": max(stalls, key=stalls.get) if stalls else "",
        "energy_pj": e.get("total_pj") if e else None,
        "dynamic_energy_pj": e.get("dynamic_pj") if e else None,
        "leakage_energy_pj": e.get("leakage_pj") if e else None,
        "area_um2": a.get("total_um2") if a else None,
    }


def simulate_point(task: PointTask, graph=None):
    """Build the point's arch and simulate it; returns the SimResult (raises on failure)."""
    from archsim.pipeline import simulate

    p = task.point
    arch = build_point_arch(task.base_arch, p.overrides)
    g = graph if graph is not None else _graph(task.workload_path)
    return simulate(arch, g, dataflow=p.dataflow, mapping=p.mapping, seed=p.seed)


def workload_args(p: Point, base=None) -> dict[str, Any]:
    """The ``run`` section of a point's ``config.resolved.yaml``; with the base design point,
    a point that overrides the grid records the base (its memory system is kept)."""
    out = {"workload": p.workload, "sparsity": p.sparsity, "seed": p.seed,
           "sweep_point": p.point_id, "overrides": {k: v for k, v in p.overrides}}
    if base is not None and {"grid.rows", "grid.cols"} & set(out["overrides"]):
        out["base_design_point"] = {"name": base.name, "source": base.source,
                                    "grid": f"{base.grid.rows}x{base.grid.cols}"}
    return out


def run_point(task: PointTask, graph=None, keep_result: bool = False, one_thread: bool = True):
    """Run one point; returns PointResult, or (PointResult, SimResult|None) if keep_result.

    ``one_thread=False`` leaves the process's thread settings alone (in-process sweeps)."""
    if one_thread:
        limit_threads()
    t0 = time.perf_counter()
    res = None
    try:
        res = simulate_point(task, graph)
        metrics = metrics_of(res)
        if task.run_dir:
            from archsim.report.run_folder import write_run

            write_run(res, task.run_dir, workload_args(task.point, task.base_arch),
                      plots=task.plots)
        out = PointResult(task.point.point_id, "ok", wall_seconds=time.perf_counter() - t0,
                          metrics=metrics)
    except Exception as exc:  # noqa: BLE001 -- a failing point is a result, not a crash
        msg = " ".join(f"{type(exc).__name__}: {exc}".split())
        out = PointResult(task.point.point_id, "error", error=msg,
                          traceback=traceback.format_exc(limit=20),
                          wall_seconds=time.perf_counter() - t0)
        res = None
    return (out, res) if keep_result else out


def task_cost(task: PointTask) -> int:
    """Rough relative cost used to start expensive points first (tiles of the grid)."""
    over = dict(task.point.overrides)
    rows = over.get("grid.rows", task.base_arch.grid.rows)
    cols = over.get("grid.cols", task.base_arch.grid.cols)
    try:
        return int(rows) * int(cols)
    except (TypeError, ValueError):
        return 1
