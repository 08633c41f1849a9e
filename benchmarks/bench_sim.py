#!/usr/bin/env python
"""Speed and scale of the simulator (issue 4): ``python benchmarks/bench_sim.py [--repeats 5]``.

Measures, with one torch/BLAS thread, the median (and min/max) of ``--repeats`` runs of
``archsim.simulate`` (mapping + SimPy run + collection; the workload graph is built once,
outside the timing):

- ResNet-18 (CIFAR, 90% sparsity, seed 0) on ``lutna_8x8``, ws, layer mapping: wall seconds,
  events, events/s, simulated MACs per wall second.      Targets: < 5 s, < 100k events.
- ResNet-34 (90% sparsity) on ``lutna_16x16`` (256 tiles), ws, layer mapping. Target: < 30 s.
- peak memory: ``ru_maxrss`` of this whole process (torch and both models included), of a
  simulator-only child process (graph unpickled, no torch), and the tracemalloc peak of one
  ``simulate`` call.                                                      Target: < 2 GB.
- scaling from 1 to 256 tiles: ``lutna_1x1`` with ``grid.rows = grid.cols = n`` for
  n = 1, 2, 4, 8, 16: wall, events, tasks (``build_schedule(...).tasks``) and wall per task;
  wall should grow no faster than the number of tasks.
- one ``mapping="pipeline"`` point (ResNet-18 on ``lutna_8x8``) for reference.
- a cProfile of one ResNet-18 8x8 run (top archsim entries by cumulative time).

Writes/replaces the "## Simulator" section of ``reports/benchmarks.md`` (other sections are
kept) unless ``--no-report``. No assertion fails the run: targets are reported as met / not met.
"""

from __future__ import annotations

import os

# one BLAS / OpenMP thread: must be set before numpy or torch load
for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import cProfile
import datetime
import io
import json
import pickle
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# run from any folder: the repo root first on the path (the script's own folder is
# benchmarks/, where neither package lives)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REPORT = ROOT / "reports" / "benchmarks.md"
REPORT_TITLE = "# archsim benchmarks"
SECTION = "Simulator"
SECTION_ORDER = ("Simulator", "SCALE-Sim comparison", "Sweep")


# ----------------------------------------------------------------- report file (shared helper)
def update_section(title: str, body: str, path: Path = REPORT) -> None:
    """Replace (or append) the ``## title`` section of reports/benchmarks.md, keeping the rest.

    A section runs from its ``## `` heading to the next ``## `` heading. A missing file is
    created with the title line and empty placeholders for the known sections.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        text = path.read_text()
    else:
        text = REPORT_TITLE + "\n\n" + "".join(
            f"## {s}\n\n(not measured yet)\n\n" for s in SECTION_ORDER)
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip() == f"## {title}"), None)
    new = [f"## {title}\n", "\n"] + [ln + "\n" for ln in body.rstrip("\n").split("\n")] + ["\n"]
    if start is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        if lines and lines[-1].strip():
            lines.append("\n")
        lines += new
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
        lines[start:end] = new
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("".join(lines))
    tmp.replace(path)


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                             capture_output=True, timeout=5).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True, timeout=5).stdout
        rev += " (+ uncommitted changes)" if dirty.strip() else ""
    except (OSError, subprocess.SubprocessError):
        rev = "unknown"
    return {
        "nproc": (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                  else os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": rev,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "loadavg": os.getloadavg(),
    }


def stats(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def fmt_s(st: dict) -> str:
    return f"{st['median']:.3f} ({st['min']:.3f}-{st['max']:.3f})"


# ------------------------------------------------------------------------------- measurements
def timed_runs(arch, g, dataflow: str, mapping: str, repeats: int) -> dict:
    """Run ``simulate`` ``repeats`` times; wall and CPU seconds of each, facts of the last."""
    import archsim

    walls, cpus = [], []
    res = None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        res = archsim.simulate(arch, g, dataflow=dataflow, mapping=mapping)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    wall = stats(walls)
    return {
        "wall": wall, "cpu": stats(cpus), "events": res.events,
        "macs_executed": res.macs_executed, "latency_cycles": res.latency_cycles,
        "events_per_s": res.events / wall["median"],
        "macs_per_s": res.macs_executed / wall["median"],
    }


def n_tasks(g, arch, dataflow: str, mapping: str) -> int:
    from archsim.mapping.schedule import build_schedule

    return len(build_schedule(g, arch, dataflow, mapping).tasks)


CHILD = r"""
import json, pickle, sys, time
import archsim
g = pickle.load(open(sys.argv[1], "rb"))
t0 = time.perf_counter()
res = archsim.simulate(sys.argv[2], g, dataflow="ws", mapping="layer")
wall = time.perf_counter() - t0
# VmHWM: this process's own high-water RSS (ru_maxrss would include the parent's at fork)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"maxrss_kb": hwm,
                  "wall": wall, "events": res.events, "torch_imported": "torch" in sys.modules}))
"""


def child_memory(g, arch_path: Path) -> dict:
    """Peak RSS of a fresh process that only unpickles the graph and simulates (no torch)."""
    with tempfile.TemporaryDirectory(prefix="archsim-bench-") as d:
        gp = Path(d) / "g.pkl"
        with gp.open("wb") as f:
            pickle.dump(g, f, protocol=pickle.HIGHEST_PROTOCOL)
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        out = subprocess.run([sys.executable, "-c", CHILD, str(gp), str(arch_path)], cwd=d,
                             env=env, capture_output=True, text=True, timeout=1800)
        if out.returncode != 0:
            return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "?"}
        return json.loads(out.stdout.strip().splitlines()[-1])


def traced_peak(arch, g, dataflow: str, mapping: str) -> float:
    """tracemalloc peak (bytes) of one ``simulate`` call (Python + numpy allocations)."""
    import archsim

    tracemalloc.start()
    tracemalloc.reset_peak()
    archsim.simulate(arch, g, dataflow=dataflow, mapping=mapping)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def profile_run(arch, g, top: int = 10) -> tuple[list[tuple], float, list[tuple]]:
    """cProfile of one simulate call: the ``top`` archsim functions by cumulative time."""
    import archsim

    pr = cProfile.Profile()
    t0 = time.perf_counter()
    pr.enable()
    archsim.simulate(arch, g, dataflow="ws", mapping="layer")
    pr.disable()
    wall = time.perf_counter() - t0
    st = pstats.Stats(pr, stream=io.StringIO())
    rows = []
    pkg = str(ROOT / "archsim")
    for (fname, line, func), (_, nc, tt, ct, _) in st.stats.items():  # type: ignore[attr-defined]
        if fname.startswith(pkg):
            rows.append((ct, tt, nc, f"{Path(fname).relative_to(ROOT)}:{line}({func})"))
    rows.sort(reverse=True)
    # also the biggest non-archsim costs (SimPy, numpy ...) by own time
    return rows[:top], wall, sorted(
        ((tt, nc, f"{Path(f).name}:{ln}({fn})") for (f, ln, fn), (_, nc, tt, ct, _)
         in st.stats.items() if not f.startswith(pkg)), reverse=True)[:5]  # type: ignore


# ------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per point (median)")
    ap.add_argument("--r34-repeats", type=int, default=None,
                    help="timed runs of the ResNet-34 16x16 point (default: --repeats)")
    ap.add_argument("--no-report", action="store_true", help="do not touch reports/benchmarks.md")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    ap.add_argument("--json", default=None, help="also write all numbers to this JSON file")
    args = ap.parse_args(argv)
    cmd = "python benchmarks/bench_sim.py" + (" " + " ".join(argv if argv is not None
                                                              else sys.argv[1:])).rstrip()
    r34_rep = args.r34_repeats or args.repeats

    import torch

    torch.set_num_threads(1)
    import simpy

    import archsim
    import workloads
    from archsim.design.arch import load_arch

    info = machine_info()
    info["torch_threads"] = torch.get_num_threads()
    info["simpy"] = getattr(simpy, "__version__", "?")
    info["archsim"] = archsim.__version__
    print(f"machine: {info}", flush=True)

    t0 = time.perf_counter()
    g18 = workloads.build("resnet18", sparsity=0.9, seed=0)
    t_b18 = time.perf_counter() - t0
    t0 = time.perf_counter()
    g34 = workloads.build("resnet34", sparsity=0.9, seed=0)
    t_b34 = time.perf_counter() - t0
    print(f"built resnet18 in {t_b18:.1f} s, resnet34 in {t_b34:.1f} s (not timed)", flush=True)

    a8_path = ROOT / "arch_configs" / "lutna_8x8.yaml"
    a16_path = ROOT / "arch_configs" / "lutna_16x16.yaml"
    a8, a16 = load_arch(a8_path), load_arch(a16_path)
    base = load_arch(ROOT / "arch_configs" / "lutna_1x1.yaml")
    out: dict = {"machine": info, "command": cmd, "repeats": args.repeats}

    # warm-up (imports inside simulate, first-call caches) -- not counted
    archsim.simulate(base, g18, dataflow="ws", mapping="layer")

    r18 = timed_runs(a8, g18, "ws", "layer", args.repeats)
    r18["tasks"] = n_tasks(g18, a8, "ws", "layer")
    print(f"resnet18 lutna_8x8 ws layer: {r18}", flush=True)
    r34 = timed_runs(a16, g34, "ws", "layer", r34_rep)
    r34["tasks"] = n_tasks(g34, a16, "ws", "layer")
    print(f"resnet34 lutna_16x16 ws layer: {r34}", flush=True)
    pipe = timed_runs(a8, g18, "ws", "pipeline", args.repeats)
    pipe["tasks"] = n_tasks(g18, a8, "ws", "pipeline")
    print(f"resnet18 lutna_8x8 ws pipeline: {pipe}", flush=True)
    out.update(resnet18_8x8=r18, resnet34_16x16=r34, resnet18_8x8_pipeline=pipe)

    scaling = []
    for n in (1, 2, 4, 8, 16):
        arch = base.with_overrides({"grid.rows": n, "grid.cols": n})
        r = timed_runs(arch, g18, "ws", "layer", args.repeats)
        r["grid"] = n
        r["tasks"] = n_tasks(g18, arch, "ws", "layer")
        scaling.append(r)
        print(f"scaling {n}x{n}: wall {r['wall']['median']:.3f} s, events {r['events']}, "
              f"tasks {r['tasks']}", flush=True)
    out["scaling"] = scaling

    mem = {
        "tracemalloc_peak_r18_bytes": traced_peak(a8, g18, "ws", "layer"),
        "tracemalloc_peak_r34_bytes": traced_peak(a16, g34, "ws", "layer"),
        "child_r18": child_memory(g18, a8_path),
        "child_r34": child_memory(g34, a16_path),
        "process_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    out["memory"] = mem
    print(f"memory: {mem}", flush=True)

    prof = None
    if not args.no_profile:
        top, pwall, other = profile_run(a8, g18)
        prof = {"wall_under_profiler": pwall, "top_archsim": top, "top_other_tottime": other}
        out["profile"] = prof
        print("cProfile (resnet18 lutna_8x8 ws layer), top archsim entries by cumulative time:")
        for ct, tt, nc, name in top:
            print(f"  {ct:8.3f} s cum  {tt:8.3f} s own  {nc:>9} calls  {name}")

    info["loadavg_end"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    body = render(out, prof, t_b18, t_b34, r34_rep)
    print("\n" + body)
    if not args.no_report:
        update_section(SECTION, body)
        print(f"\nwrote the '## {SECTION}' section of {REPORT.relative_to(ROOT)}")
    return 0


def render(out: dict, prof, t_b18: float, t_b34: float, r34_rep: int) -> str:
    info, mem = out["machine"], out["memory"]
    r18, r34, pipe = out["resnet18_8x8"], out["resnet34_16x16"], out["resnet18_8x8_pipeline"]
    gb = 1024 ** 3

    def yes(b: bool) -> str:
        return "met" if b else "**not met**"

    child18, child34 = mem["child_r18"], mem["child_r34"]
    peak_child = max(c.get("maxrss_kb", 0) for c in (child18, child34)) * 1024
    peak_proc = mem["process_maxrss_kb"] * 1024
    L = [
        f"Measured {info['date']} on {info['nproc']} CPUs ({info['cpu']}), Python "
        f"{info['python']}, SimPy {info['simpy']}, archsim {info['archsim']} at git "
        f"{info['git']}; one torch/BLAS thread. Load average at start "
        f"{info['loadavg'][0]:.2f}, at end {info['loadavg_end'][0]:.2f} (other jobs were "
        "sharing the machine when this is above ~1; wall times are then inflated, CPU "
        "seconds less so).",
        "",
        f"Command: `{out['command']}` (from the repo root, venv active). Wall seconds of "
        f"`archsim.simulate` (mapping + SimPy run + results), median of {out['repeats']} runs "
        f"({r34_rep} for ResNet-34) with (min-max); the workload graphs are built once, "
        f"outside the timing (ResNet-18 {t_b18:.1f} s, ResNet-34 {t_b34:.1f} s).",
        "",
        "| point | wall s median (min-max) | CPU s median | events | events/s | simulated "
        "MACs/s | tasks | latency cycles | target | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def row(name, r, target, ok):
        return (f"| {name} | {fmt_s(r['wall'])} | {r['cpu']['median']:.3f} | {r['events']:,} | "
                f"{r['events_per_s']:,.0f} | {r['macs_per_s']:,.0f} | {r['tasks']:,} | "
                f"{r['latency_cycles']:,.0f} | {target} | {ok} |")

    L.append(row("ResNet-18 90% sparse, lutna_8x8, ws, layer", r18, "< 5 s, < 100k events",
                 yes(r18["wall"]["median"] < 5 and r18["events"] < 100_000)))
    L.append(row("ResNet-34 90% sparse, lutna_16x16, ws, layer", r34, "< 30 s",
                 yes(r34["wall"]["median"] < 30)))
    L.append(row("ResNet-18 90% sparse, lutna_8x8, ws, **pipeline** (reference)", pipe, "-",
                 "-"))
    L += [
        "",
        "Peak memory (target < 2 GB):",
        "",
        "| measure | peak | met |",
        "|---|---|---|",
        f"| simulator-only process (graph unpickled, no torch), ResNet-18 lutna_8x8, "
        f"VmHWM | {child18.get('maxrss_kb', 0) / 1024:,.0f} MiB (torch imported: "
        f"{child18.get('torch_imported')}) | {yes(peak_child < 2 * gb)} |",
        f"| simulator-only process, ResNet-34 lutna_16x16, VmHWM | "
        f"{child34.get('maxrss_kb', 0) / 1024:,.0f} MiB (torch imported: "
        f"{child34.get('torch_imported')}) | {yes(peak_child < 2 * gb)} |",
        f"| one `simulate` call, tracemalloc peak, ResNet-18 / ResNet-34 | "
        f"{mem['tracemalloc_peak_r18_bytes'] / 2**20:,.0f} / "
        f"{mem['tracemalloc_peak_r34_bytes'] / 2**20:,.0f} MiB | "
        f"{yes(mem['tracemalloc_peak_r34_bytes'] < 2 * gb)} |",
        f"| this whole benchmark process (torch, model building, all runs), ru_maxrss | "
        f"{peak_proc / 2**20:,.0f} MiB | {yes(peak_proc < 2 * gb)} |",
        "",
        "Scaling from 1 to 256 tiles: ResNet-18 90% sparse on `lutna_1x1` with "
        "`arch.with_overrides({\"grid.rows\": n, \"grid.cols\": n})` (so one DRAM channel and "
        "the 1x1 design's global buffer ports at every size), ws, layer mapping. `tasks` = "
        "`len(build_schedule(g, arch, \"ws\", \"layer\").tasks)`.",
        "",
        "| grid | tiles | wall s median (min-max) | events | tasks | wall per task ms | "
        "events per task | wall x vs 1x1 | tasks x vs 1x1 | latency cycles |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    s0 = out["scaling"][0]
    for r in out["scaling"]:
        n = r["grid"]
        L.append(
            f"| {n}x{n} | {n * n} | {fmt_s(r['wall'])} | {r['events']:,} | {r['tasks']:,} | "
            f"{1000 * r['wall']['median'] / r['tasks']:.2f} | {r['events'] / r['tasks']:.0f} | "
            f"{r['wall']['median'] / s0['wall']['median']:.1f} | "
            f"{r['tasks'] / s0['tasks']:.1f} | {r['latency_cycles']:,.0f} |")
    last = out["scaling"][-1]
    grow_w = last["wall"]["median"] / s0["wall"]["median"]
    grow_t = last["tasks"] / s0["tasks"]
    L += ["", f"Wall time grew {grow_w:.1f}x from 1 to 256 tiles while the task count grew "
          f"{grow_t:.1f}x: wall grows {'no faster' if grow_w <= grow_t else '**faster**'} than "
          "the number of tasks (target: no faster)."]
    if prof:
        L += ["", "cProfile of one ResNet-18 lutna_8x8 ws layer run "
              f"({prof['wall_under_profiler']:.2f}"
              " s under the profiler), top archsim functions by cumulative time:", "",
              "| cumulative s | own s | calls | function |", "|---|---|---|---|"]
        for ct, tt, nc, name in prof["top_archsim"]:
            L.append(f"| {ct:.3f} | {tt:.3f} | {nc:,} | `{name}` |")
        L += ["", "Largest costs outside archsim by own time: " + "; ".join(
            f"`{name}` {tt:.3f} s ({nc:,} calls)" for tt, nc, name in prof["top_other_tottime"])
            + "."]
    return "\n".join(L)


if __name__ == "__main__":
    raise SystemExit(main())
