"""Run sweep points on this machine: one worker process per core, or in this process.

In:  point tasks (:class:`~archsim.sweep.worker.PointTask`), the number of worker processes
     and a callback ``on_result(PointResult)`` called in this process as each result arrives
     (the caller saves it at once, so an interruption loses nothing finished).
Out: nothing; every task gets exactly one result through the callback unless interrupted.

Workers are spawned (not forked: the parent may hold torch/OpenMP state) with one
BLAS/OpenMP/torch thread each and ignore Ctrl-C; at most ``2 * jobs`` points are in flight.
If a worker dies (killed, out of memory) the pool is rebuilt and the points that were in
flight are re-run one at a time in a one-worker pool, so the death is blamed on the point that
caused it; a point whose lone worker dies ``MAX_ATTEMPTS`` times is recorded as failed.
Ctrl-C and SIGTERM (raised here as :class:`~archsim.errors.Interrupted` by the command line)
kill this sweep's workers (by their process objects) and re-raise.  Workers also exit by
themselves when this process dies however it dies, SIGKILL included
(:func:`~archsim.sweep.worker.die_with_parent`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from archsim.sweep.worker import PointResult, PointTask, init_worker, run_point

__all__ = ["MAX_ATTEMPTS", "run_local"]

MAX_ATTEMPTS = 3


def _kill_workers(ex: ProcessPoolExecutor) -> None:
    for proc in list((getattr(ex, "_processes", None) or {}).values()):
        try:
            proc.kill()
        except (OSError, AttributeError):  # pragma: no cover - already gone
            pass


def _run_alone(t: PointTask, ctx) -> PointResult | None:
    """Run one point in a fresh single-worker pool; None if that worker died."""
    ex = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=init_worker,
                             initargs=(os.getpid(),))
    try:
        return ex.submit(run_point, t).result()
    except BrokenProcessPool:
        return None
    except Exception as exc:  # noqa: BLE001 -- e.g. a task that cannot be pickled
        return PointResult(t.point.point_id, "error", error=f"{type(exc).__name__}: {exc}")
    except BaseException:
        _kill_workers(ex)
        raise
    finally:
        ex.shutdown(wait=False, cancel_futures=True)
        _kill_workers(ex)


def run_local(tasks: list[PointTask], jobs: int, on_result: Callable[[PointResult], None]) -> None:
    """Run ``tasks`` on ``jobs`` processes (1: sequentially in this process).

    When a worker dies, every point that was in flight becomes a suspect and is re-run alone
    in a one-worker pool, so a death is blamed on the point that caused it, never on a
    bystander; a point whose lone worker dies ``MAX_ATTEMPTS`` times is recorded as failed.
    """
    if jobs <= 1:
        for t in tasks:
            on_result(run_point(t, one_thread=False))
        return
    ctx = multiprocessing.get_context("spawn")
    queue = deque(tasks)
    suspects: deque[PointTask] = deque()
    deaths: Counter[str] = Counter()
    while queue or suspects:
        if suspects:
            t = suspects.popleft()
            pid = t.point.point_id
            res = _run_alone(t, ctx)
            if res is None:
                deaths[pid] += 1
                if deaths[pid] < MAX_ATTEMPTS:
                    suspects.append(t)
                    continue
                res = PointResult(pid, "error", error=(
                    f"worker process died {deaths[pid]} times while running this point alone "
                    f"(killed, or out of memory)"))
            on_result(res)
            continue
        ex = ProcessPoolExecutor(max_workers=min(jobs, len(queue)), mp_context=ctx,
                                 initializer=init_worker,
                                 initargs=(os.getpid(),))
        inflight: dict = {}
        broken = False
        try:
            while (queue and not broken) or inflight:
                while queue and not broken and len(inflight) < 2 * jobs:
                    t = queue.popleft()
                    try:
                        inflight[ex.submit(run_point, t)] = t
                    except BrokenProcessPool:
                        queue.appendleft(t)
                        broken = True
                if not inflight:
                    break
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for fut in done:
                    t = inflight.pop(fut)
                    try:
                        res = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        suspects.append(t)
                        continue
                    except Exception as exc:  # noqa: BLE001 -- e.g. a task that cannot be pickled
                        res = PointResult(t.point.point_id, "error",
                                          error=f"{type(exc).__name__}: {exc}")
                    on_result(res)
        except BaseException:
            _kill_workers(ex)
            ex.shutdown(wait=False, cancel_futures=True)
            raise
        ex.shutdown(wait=not broken, cancel_futures=True)
        if broken:
            _kill_workers(ex)
