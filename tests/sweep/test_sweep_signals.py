"""A sweep stopped by SIGTERM saves its finished points and exits 143; its workers never
outlive it, even when it is SIGKILLed (real processes, real signals)."""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .util import small_gemm, tiny_arch_yaml

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

SETS = ["grid=1x1,1x2", "dataflow=os,ws,is", "tile.pe_array.cols=4,8"]  # 12 points


def _cli(arch, wl, out, jobs):
    return [sys.executable, "-m", "archsim", "sweep", "--arch", str(arch), "--workload", str(wl),
            *(a for s in SETS for a in ("--set", s)), "--out", str(out), "--jobs", str(jobs),
            "--no-progress", "--no-point-dirs"]


def _children(pid: int) -> set[int]:
    out = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.add(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def _wait_for(cond, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def _start(tmp_path, jobs=2):
    arch, wl = tiny_arch_yaml(tmp_path), small_gemm(tmp_path, big=True)
    out = tmp_path / "sw"
    proc = subprocess.Popen(_cli(arch, wl, out, jobs), cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, out


def _workers(pid: int) -> set[int]:
    """Spawned pool workers (python children other than the resource tracker)."""
    out = set()
    for c in _children(pid):
        try:
            cmd = Path(f"/proc/{c}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmd:
            out.add(c)
    return out


def test_sigterm_saves_finished_points_and_exits_143(tmp_path):
    proc, out = _start(tmp_path)
    results = out / "results"
    try:
        assert _wait_for(lambda: proc.poll() is not None or (
            results.is_dir() and len(list(results.glob("*.json"))) >= 2), 120)
        assert proc.poll() is None, f"sweep ended before the signal: {proc.stderr.read()}"
        workers = _workers(proc.pid)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 143, err
    assert "terminated; finished points are saved" in err and "Traceback" not in err
    finished = len(list(results.glob("*.json")))
    with (out / "sweep.csv").open() as f:
        status = [r["status"] for r in csv.DictReader(f)]
    assert len(status) == 12
    assert status.count("ok") == finished >= 2
    assert status.count("pending") == 12 - finished
    assert _wait_for(lambda: not any(_alive(w) for w in workers), 10)


def test_workers_exit_when_the_sweep_is_killed(tmp_path):
    proc, _ = _start(tmp_path)
    try:
        assert _wait_for(lambda: proc.poll() is not None or len(_workers(proc.pid)) >= 2, 120)
        assert proc.poll() is None, f"sweep ended early: {proc.stderr.read()}"
        workers = _workers(proc.pid)
        proc.kill()  # SIGKILL to the parent only: no handler, no cleanup in it
        proc.wait(timeout=30)
        assert _wait_for(lambda: not any(_alive(w) for w in workers), 10), \
            f"workers {[w for w in workers if _alive(w)]} outlived their parent"
        # nothing of the sweep's process group is left running (zombies aside: whether they
        # are reaped depends on the machine's init)
        assert _wait_for(lambda: not _group(proc.pid), 10), _group(proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _group(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(d.name))
    return out
