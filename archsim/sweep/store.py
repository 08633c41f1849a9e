"""The results of a sweep on disk, written so that an interruption loses nothing finished.

In:  the sweep's output folder, points (:class:`~archsim.sweep.worker.Point`) and their
     results (:class:`~archsim.sweep.worker.PointResult`).
Out: ``results/<point_id>.json`` -- one file per finished point, written atomically (temp file,
     fsync, rename, fsync of the folder) as soon as the result arrives; ``sweep.csv`` -- one
     row per point of the current sweep in point order, rebuilt atomically from the results.
``ResultStore.load()`` returns the finished results, which a re-run skips (resume).

CSV columns: ``point_id, index, workload, sparsity, seed, dataflow, mapping``, one column per
swept config axis (as given: ``grid``, ``tile.pe_array.pe_kind``, ...), the metrics of
``sweep_worker.METRIC_COLUMNS``, ``run_dir``, ``wall_seconds``, ``status``, ``error``.
Points without a result yet have status ``pending``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from archsim.sweep.worker import METRIC_COLUMNS, Point, PointResult

__all__ = ["ResultStore", "atomic_write_text", "csv_columns"]

PARAM_COLUMNS = ("point_id", "index", "workload", "sparsity", "seed", "dataflow", "mapping")
TAIL_COLUMNS = ("run_dir", "wall_seconds", "status", "error")


def atomic_write_text(path: Path, text: str, fsync: bool = True) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="") as f:
        f.write(text)
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)
    if fsync:
        try:
            fd = os.open(path.parent, os.O_RDONLY)
        except OSError:  # pragma: no cover - platforms without directory fds
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def csv_columns(axis_names: Iterable[str]) -> list[str]:
    return [*PARAM_COLUMNS, *axis_names, *METRIC_COLUMNS, *TAIL_COLUMNS]


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, sort_keys=True)
    return v


class ResultStore:
    """``results/`` (one JSON per finished point) and ``sweep.csv`` under ``out_dir``."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)
        self.results_dir = self.out_dir / "results"
        self.csv_path = self.out_dir / "sweep.csv"
        self.results_dir.mkdir(parents=True, exist_ok=True)

    def path_of(self, point_id: str) -> Path:
        return self.results_dir / f"{point_id}.json"

    def save(self, point: Point, result: PointResult, run_dir: str = "") -> None:
        """Write one point's result (atomic, durable) before anything else happens."""
        record = {"point": _point_json(point), "run_dir": run_dir, **result.to_json()}
        atomic_write_text(self.path_of(point.point_id),
                          json.dumps(record, indent=1, default=_json_default))

    def load(self) -> dict[str, tuple[PointResult, str]]:
        """Finished results by point id (unreadable files -- a crash mid-write of an old
        version -- are ignored, so the point simply runs again)."""
        out: dict[str, tuple[PointResult, str]] = {}
        for f in sorted(self.results_dir.glob("*.json")):
            try:
                data = json.loads(f.read_text())
                res = PointResult.from_json(data)
            except (OSError, ValueError, TypeError):
                continue
            if res.point_id == f.stem:
                out[res.point_id] = (res, data.get("run_dir", ""))
        return out

    def write_csv(self, points: list[Point], axis_names: list[str],
                  results: dict[str, tuple[PointResult, str]]) -> Path:
        """Rebuild ``sweep.csv`` (one row per point, point order) atomically."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(csv_columns(axis_names))
        for p in sorted(points, key=lambda q: q.index):
            labels = dict(p.labels)
            row = [p.point_id, p.index, p.workload, p.sparsity, p.seed, p.dataflow, p.mapping]
            row += [labels.get(a) for a in axis_names]
            got = results.get(p.point_id)
            if got is None:
                row += [None] * len(METRIC_COLUMNS) + ["", None, "pending", ""]
            else:
                res, run_dir = got
                row += [res.metrics.get(m) for m in METRIC_COLUMNS]
                row += [run_dir, f"{res.wall_seconds:.3f}", res.status, res.error]
            w.writerow([_cell(v) for v in row])
        atomic_write_text(self.csv_path, buf.getvalue())
        return self.csv_path


def _json_default(v: Any) -> Any:
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return str(v)


def _point_json(p: Point) -> dict[str, Any]:
    return {"index": p.index, "workload": p.workload, "sparsity": p.sparsity, "seed": p.seed,
            "dataflow": p.dataflow, "mapping": p.mapping,
            "overrides": [[k, v] for k, v in p.overrides],
            "labels": [[k, v] for k, v in p.labels]}
