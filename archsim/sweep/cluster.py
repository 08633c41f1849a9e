"""Run sweep points on a Dask cluster (``archsim sweep --scheduler tcp://host:port``).

In:  point tasks, the scheduler address, the workload graphs by (workload, sparsity, seed)
     (built once here and scattered to every worker, so workers need no shared disk and no
     torch), and the ``on_result(PointResult, SimResult | None)`` callback.
Out: nothing; results arrive through the callback in this process as they finish, so the
     caller writes them (and the point run folders, from the returned SimResult) at once.

Needs the optional extra ``pip install 'archsim[dask]'``; dask is imported only here.  A
point whose worker keeps dying ends as Dask's ``KilledWorker`` and is recorded as failed.
The CSV is the same as a local run of the same sweep (apart from wall seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archsim.errors import UsageError, short
from archsim.sweep.worker import PointResult, PointTask, run_point, task_cost

__all__ = ["run_dask"]


def _dask_point(task: PointTask, graph, keep_result: bool):
    res, sim = run_point(task, graph=graph, keep_result=True)
    return res, (sim if keep_result else None)


def run_dask(tasks: list[PointTask], scheduler: str, graphs: dict[tuple, Any],
             on_result: Callable[..., None], keep_results: bool = True,
             timeout: str = "30s") -> None:
    """Submit every task to the cluster at ``scheduler`` and hand back results as they come."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise UsageError("--scheduler needs dask.distributed: pip install 'archsim[dask]'") \
            from None
    try:
        client = Client(scheduler, timeout=timeout)
    except (OSError, ValueError, TypeError) as exc:  # unreachable, or not an address
        raise UsageError(f"--scheduler {short(scheduler)}: cannot connect ({exc})") from None
    futures: dict = {}
    try:
        scattered = {k: client.scatter(g, broadcast=True, hash=False) for k, g in graphs.items()}
        for t in tasks:
            p = t.point
            fut = client.submit(_dask_point, t, scattered[(p.workload, p.sparsity, p.seed)],
                                keep_results, pure=False, priority=task_cost(t),
                                key=f"archsim-point-{p.point_id}-{id(t):x}")
            futures[fut] = t
        for fut in as_completed(list(futures)):
            t = futures.pop(fut)
            try:
                res, sim = fut.result()
            except Exception as exc:  # noqa: BLE001 -- KilledWorker, lost connection, ...
                res, sim = PointResult(t.point.point_id, "error",
                                       error=" ".join(f"{type(exc).__name__}: {exc}".split())), None
            on_result(res, sim)
            fut.release()
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        client.close()
