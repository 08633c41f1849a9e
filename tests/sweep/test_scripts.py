"""The study scripts users start from run end to end in --quick mode."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from .util import small_gemm

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


def _rows(path):
    return list(csv.DictReader(path.read_text().splitlines()))


def _run(script, tmp_path, *extra):
    wl = small_gemm(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--quick", "--model",
                           str(wl), "--out", str(out), "--jobs", "1", *extra],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_tile_scaling_quick(tmp_path):
    out, stdout = _run("tile_scaling.py", tmp_path)
    rows = list(_rows(out / "tile_scaling.csv"))
    assert [r["grid"] for r in rows] == ["1x1", "1x2", "2x2"]
    assert float(rows[0]["speedup"]) == 1.0
    assert [float(r["ideal_speedup"]) for r in rows] == [1.0, 2.0, 4.0]
    for png in ("speedup.png", "latency.png"):
        assert (out / png).read_bytes()[:8] == PNG
    assert "| tiles | grid |" in stdout


def test_compare_dataflows_quick(tmp_path):
    out, _ = _run("compare_dataflows.py", tmp_path)
    rows = list(_rows(out / "compare.csv"))
    assert [(r["dataflow"], r["mapping"]) for r in rows] == [
        ("os", "layer:auto"), ("os", "pipeline:auto"), ("ws", "layer:auto"),
        ("ws", "pipeline:auto")]
    assert {"mac latency_cycles", "lutna latency_cycles"} <= set(rows[0])
    assert sum("*" in r[k] for r in rows for k in r if k.endswith("latency_cycles")) >= 1
    assert (out / "latency.png").read_bytes()[:8] == PNG


@pytest.mark.parametrize("n, want", [(1, ["1x1"]), (4, ["1x1", "1x2", "2x2"]),
                                     (256, ["1x1", "1x2", "2x2", "2x4", "4x4", "4x8", "8x8",
                                            "8x16", "16x16"])])
def test_tile_grids(n, want):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from tile_scaling import grids_up_to
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert grids_up_to(n) == want
