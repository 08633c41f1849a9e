"""Running sweeps: CSV content, failures as rows, resume, process pool, kill + resume, Dask."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import archsim
from archsim.sweep.run import run_sweep, spec_from_args
from archsim.sweep.worker import build_point_arch

from ..sim.helpers import tiny_arch
from .util import read_rows, small_gemm, tiny_arch_yaml


def _spec(arch, wl, sets):
    return spec_from_args(None, str(arch), [str(wl)], None, None, sets)


def test_tiny_sweep_csv(tmp_path):
    arch, wl = tiny_arch_yaml(tmp_path), small_gemm(tmp_path)
    spec = _spec(arch, wl, ["grid=1x1,1x2", "dataflow=os,ws", "tile.pe_array.rows=4,0"])
    res = run_sweep(spec, tmp_path / "out", jobs=1)
    assert (res.points, res.ran, res.skipped, res.failed) == (8, 8, 0, 4)
    rows = read_rows(res.csv_path)
    assert len(rows) == 8
    assert list(rows[0])[:10] == ["point_id", "index", "workload", "sparsity", "seed",
                                  "dataflow", "mapping", "grid", "tile.pe_array.rows", "arch"]
    bad = [r for r in rows if r["tile.pe_array.rows"] == "0"]
    assert all(r["status"] == "error" and "tile.pe_array.rows" in r["error"] for r in bad)
    assert all(r["latency_cycles"] == "" and r["run_dir"] == "" for r in bad)
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 4 and all(r["error"] == "" for r in ok)
    # one point re-simulated directly gives the same numbers
    r = next(r for r in ok if r["grid"] == "1x2" and r["dataflow"] == "ws")
    a = build_point_arch(tiny_arch(), (("grid.rows", 1), ("grid.cols", 2),
                                       ("tile.pe_array.rows", 4)))
    direct = archsim.simulate(a, str(wl), dataflow="ws")
    assert float(r["latency_cycles"]) == direct.latency_cycles
    assert int(r["macs_executed"]) == direct.macs_executed and int(r["tiles"]) == 2
    assert float(r["utilization"]) == pytest.approx(direct.utilization, rel=1e-12)
    assert (res.out_dir / r["run_dir"] / "summary.json").is_file()
    rec = json.loads((res.out_dir / "results" / f"{r['point_id']}.json").read_text())
    assert rec["status"] == "ok" and rec["point"]["dataflow"] == "ws"
    # same sweep again: everything is skipped, the CSV is unchanged
    again = run_sweep(spec, tmp_path / "out", jobs=1)
    assert (again.ran, again.skipped) == (0, 8)
    assert read_rows(again.csv_path) == rows
    retry = run_sweep(spec, tmp_path / "out", jobs=1, retry_failed=True)
    assert retry.ran == 4 and retry.failed == 4


def test_process_pool_equals_in_process(tmp_path):
    arch, wl = tiny_arch_yaml(tmp_path), small_gemm(tmp_path)
    spec = _spec(arch, wl, ["grid=1x1..2x2", "dataflow=os,ws,is"])
    a = run_sweep(spec, tmp_path / "pool", jobs=2, point_dirs=False)
    b = run_sweep(spec, tmp_path / "serial", jobs=1, point_dirs=False)
    assert a.failed == 0 and read_rows(a.csv_path) == read_rows(b.csv_path)
    assert not (tmp_path / "pool" / "points").exists()


SETS = ["grid=1x1,1x2", "dataflow=os,ws,is", "tile.pe_array.cols=4,8"]  # 12 points


def _cli(arch, wl, out):
    return [sys.executable, "-m", "archsim", "sweep", "--arch", str(arch), "--workload", str(wl),
            *(a for s in SETS for a in ("--set", s)), "--out", str(out), "--jobs", "1",
            "--no-progress"]


def test_killed_sweep_resumes_without_loss(tmp_path):
    arch, wl = tiny_arch_yaml(tmp_path), small_gemm(tmp_path, big=True)
    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli(arch, wl, out), cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results = out / "results"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if results.is_dir() and len(list(results.glob("*.json"))) >= 3:
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"sweep ended before the kill: {proc.stderr.read()}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(results.glob("*.json")))
    assert 3 <= finished < 12
    done = subprocess.run(_cli(arch, wl, out), cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert f"{12 - finished} run now, {finished} done before" in done.stdout
    ref = run_sweep(_spec(arch, wl, SETS), tmp_path / "ref", jobs=1)  # never interrupted
    got, want = read_rows(out / "sweep.csv"), read_rows(ref.csv_path)
    assert len(got) == 12 and len({r["point_id"] for r in got}) == 12
    assert got == want
    assert len(list(results.glob("*.json"))) == 12


def test_dask_equals_local(tmp_path):
    distributed = pytest.importorskip("distributed")
    arch, wl = tiny_arch_yaml(tmp_path), small_gemm(tmp_path)
    spec = _spec(arch, wl, ["grid=1x1..2x2", "dataflow=os,ws", "tile.pe_array.rows=4,0"])
    local = run_sweep(spec, tmp_path / "local", jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        remote = run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert remote.failed == local.failed == 4
    assert read_rows(remote.csv_path) == read_rows(local.csv_path)
    ok = [r for r in read_rows(remote.csv_path) if r["status"] == "ok"]
    assert all((remote.out_dir / r["run_dir"] / "layers.csv").is_file() for r in ok)


class _DiesInWorker:
    """Stands in for a design point: building the point's config kills the worker process."""

    class grid:  # mimics ArchConfig.grid
        rows = cols = 1

    def with_overrides(self, over):
        os._exit(3)


def test_killed_worker_is_retried_then_recorded(tmp_path, monkeypatch):
    from archsim.sweep import local as sweep_local
    from archsim.sweep.worker import Point, PointTask

    monkeypatch.setattr(sweep_local, "MAX_ATTEMPTS", 2)
    arch, wl = tiny_arch(), small_gemm(tmp_path)

    def task(i, base):
        p = Point(i, f"p{i}", str(wl), None, 0, "ws", "layer:auto", (("grid.rows", 1),), ())
        return PointTask(p, base, str(wl), None)

    tasks = [task(0, _DiesInWorker()), task(1, arch), task(2, arch)]
    got = {}
    sweep_local.run_local(tasks, 2, lambda r: got.setdefault(r.point_id, r))
    assert sorted(got) == ["p0", "p1", "p2"]
    assert got["p0"].status == "error"
    assert "worker process died 2 times while running this point alone" in got["p0"].error
    assert got["p1"].status == got["p2"].status == "ok"
