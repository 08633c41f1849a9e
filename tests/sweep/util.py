"""Small sweep fixtures: the tiny design point as a YAML file and a GEMM topology CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

from ..sim.helpers import gemm_csv, tiny_arch


def tiny_arch_yaml(tmp: Path) -> Path:
    data = tiny_arch().resolved()
    data.pop("source")
    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def small_gemm(tmp: Path, big: bool = False) -> Path:
    rows = [("g1", 192, 128, 192), ("g2", 96, 64, 96)] if big else [("g1", 32, 16, 24),
                                                                      ("g2", 16, 32, 16)]
    return gemm_csv(tmp, rows)


def read_rows(path: Path, drop=("wall_seconds",)) -> list[dict]:
    """CSV rows sorted by point id, without the wall-time columns."""
    with Path(path).open() as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in drop:
            r.pop(k, None)
    return sorted(rows, key=lambda r: r["point_id"])
