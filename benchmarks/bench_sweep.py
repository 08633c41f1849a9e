#!/usr/bin/env python
"""Sweep throughput (issue 6): ``python benchmarks/bench_sweep.py [--repeats 1] [--jobs N]``.

Runs, from scratch each time (a fresh output folder, so nothing is resumed), the sweep

    archsim sweep --arch lutna_2x2 --workload resnet18 --sparsity 0.9 \
        --set grid=1x1,1x2,2x2,2x4,4x4,4x8 --set dataflow=os,ws,is \
        --set tile.pe_array.pe_kind=mac,lut,lutna,alutna \
        --set mapping=layer,layer:out_channels,pipeline

216 points (>= 200: three dataflows make an exact 200 impossible as a product), per-point run
folders included (``--no-point-dirs`` to skip), one worker process per core with one
BLAS/torch thread each.  Wall time includes building the 90%-sparse ResNet-18 once.
Target: under 300 s on a 2-core machine.  With ``--profile``, one of the most expensive
points (4x8 tiles, pipeline mapping) is profiled in this process to show where time goes.

Appends a row to the table of the "## Sweep" section of ``reports/benchmarks.md`` (the
section is created if missing; other sections are kept) unless ``--no-report``.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import cProfile
import csv
import datetime
import io
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from any folder: the repo's packages first
    sys.path.insert(0, str(ROOT))

REPORT = ROOT / "reports" / "benchmarks.md"
TITLE = "Sweep"
TARGET_S = 300.0
SETS = ["grid=1x1,1x2,2x2,2x4,4x4,4x8", "dataflow=os,ws,is",
        "tile.pe_array.pe_kind=mac,lut,lutna,alutna", "mapping=layer,layer:out_channels,pipeline"]
HEADER = ("| date | git | points | jobs | point dirs | wall s | median point s | "
          "sum of point s | failed | load avg before | target < 300 s |")


def _git() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, check=False, cwd=ROOT)
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True,
                           check=False, cwd=ROOT).stdout.strip()
    return (out.stdout.strip() or "unknown") + ("+dirty" if dirty else "")


def run_once(jobs: int | None, point_dirs: bool) -> dict:
    from archsim.sweep.run import run_sweep, spec_from_args

    spec = spec_from_args(None, "lutna_2x2", ["resnet18"], "0.9", None, SETS,
                          name="bench_sweep")
    out = Path(tempfile.mkdtemp(prefix="archsim_bench_sweep_"))
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    try:
        res = run_sweep(spec, out, jobs=jobs, point_dirs=point_dirs, progress=True)
        wall = time.perf_counter() - t0
        rows = list(csv.DictReader(res.csv_path.read_text().splitlines()))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    per = [float(r["wall_seconds"]) for r in rows if r["wall_seconds"]]
    return {"points": res.points, "wall_s": wall, "failed": res.failed, "load": load,
            "median_point_s": statistics.median(per), "sum_point_s": sum(per),
            "errors": res.errors[:3]}


def profile_point(top: int = 15) -> str:
    """cProfile of one expensive point (ResNet-18 90%, 4x8 tiles, lutna, ws, pipeline)."""
    import workloads
    from archsim.design.arch import load_arch
    from archsim.pipeline import simulate

    g = workloads.build("resnet18", sparsity=0.9, seed=0)
    arch = load_arch("lutna_2x2").with_overrides({"grid.rows": 4, "grid.cols": 8})
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    res = simulate(arch, g, dataflow="ws", mapping="pipeline")
    prof.disable()
    wall = time.perf_counter() - t0
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    lines = [ln for ln in buf.getvalue().splitlines() if "archsim" in ln or "simpy" in ln]
    return (f"One point (4x8 tiles, lutna, ws, pipeline): {wall:.2f} s wall, {res.events:,} "
            f"events; top entries by cumulative time:\n\n```\n" + "\n".join(lines[:top])
            + "\n```")


def update_report(row: str, command: str, profile: str | None, path: Path = REPORT) -> None:
    """Append ``row`` to the table of the ``## Sweep`` section, keeping everything else."""
    text = path.read_text() if path.exists() else "# archsim benchmarks\n\n"
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == f"## {TITLE}"), None)
    end = len(lines)
    if start is not None:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
        old = lines[start:end]
        rows = [ln for ln in old if ln.startswith("| 20")]
        old_prof = []
        if profile is None and "Where the time goes:" in "\n".join(old):
            k = next(i for i, ln in enumerate(old) if ln.startswith("Where the time goes:"))
            old_prof = old[k:]
            while old_prof and not old_prof[-1].strip():
                old_prof.pop()
    else:
        rows, old_prof = [], []
    body = [f"## {TITLE}", "",
            ("90%-sparse ResNet-18 on `lutna_2x2` swept over 6 grids (1x1..4x8) x os/ws/is x "
            "mac/lut/lutna/alutna x layer/layer:out_channels/pipeline = 216 points, per-point "
            "run folders written, local process pool with one thread per worker; wall time "
            "includes building the workload once. Target: 200 points in < 300 s on 2 cores."),
            "", f"Command: `{command}`", "", HEADER,
            "|---|---|---|---|---|---|---|---|---|---|---|", *rows, row, ""]
    if profile is not None:
        body += ["Where the time goes: " + profile, ""]
    else:
        body += [*old_prof, ""] if old_prof else []
    new = lines[:start] if start is not None else (lines + [""] if lines and lines[-1] else lines)
    new = new + body + (lines[end:] if start is not None else [])
    tmp = path.with_suffix(".md.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text("\n".join(new).rstrip("\n") + "\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1, help="runs; the median is reported")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    ap.add_argument("--no-point-dirs", action="store_true", help="skip per-point run folders")
    ap.add_argument("--profile", action="store_true", help="also profile one expensive point")
    ap.add_argument("--no-report", action="store_true", help="do not touch reports/benchmarks.md")
    args = ap.parse_args(argv)
    command = ("python benchmarks/bench_sweep.py " + " ".join(
        argv if argv is not None else sys.argv[1:])).strip()
    try:
        import workloads

        workloads.build  # noqa: B018 - fail early when the zoo is not there
    except (ImportError, AttributeError) as exc:
        print(f"bench_sweep: workloads.build is not available ({exc})", file=sys.stderr)
        return 2
    runs = [run_once(args.jobs, not args.no_point_dirs) for _ in range(args.repeats)]
    for r in runs:
        print(f"{r['points']} points in {r['wall_s']:.1f} s (median point {r['median_point_s']:.2f}"
              f" s, {r['failed']} failed, load before {r['load']:.1f})")
        for pid, err in r["errors"]:
            print(f"  failed {pid}: {err}")
    wall = statistics.median(r["wall_s"] for r in runs)
    med = runs[sorted(range(len(runs)), key=lambda i: runs[i]["wall_s"])[len(runs) // 2]]
    jobs = args.jobs or len(os.sched_getaffinity(0))
    walls = ", ".join(f"{r['wall_s']:.1f}" for r in runs)
    row = (f"| {datetime.date.today()} | {_git()} | {med['points']} | {jobs} | "
           f"{'no' if args.no_point_dirs else 'yes'} | {wall:.1f} (runs: {walls}) | "
           f"{med['median_point_s']:.2f} | {med['sum_point_s']:.0f} | {med['failed']} | "
           f"{med['load']:.1f} | {'met' if wall < TARGET_S else 'NOT met'} |")
    profile = profile_point() if args.profile else None
    if profile:
        print(profile)
    print(f"median wall {wall:.1f} s over {len(runs)} run(s): target < {TARGET_S:.0f} s "
          f"{'met' if wall < TARGET_S else 'NOT met'}")
    if not args.no_report:
        update_report(row, command, profile)
        print(f"appended to {REPORT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
