#!/usr/bin/env python
"""Speed of transformer simulations (issue 16): ``python benchmarks/bench_llm.py [--repeats 3]``.

Measures, with one torch/BLAS thread, the median (min-max) wall seconds of ``--repeats`` runs
of ``archsim.simulate`` (mapping + SimPy run + pricing; the graph is built once, outside the
timing) of a Llama-style decoder block (``decoder_block``: dim 256, 4 heads, SwiGLU 688) with
a 512-token prefill on 4 x 4 tiles, for each of ``mac_4x4``, ``lutna_4x4``, ``tmac_4x4`` and
``luttc_4x4`` (W2, signed 8-bit activations), in timing mode and in functional mode (real
integer data through every task, checked against the torch reference).  Target: < 10 s.

Writes/replaces the "## Transformers" section of ``reports/benchmarks.md`` unless
``--no-report``. No assertion fails the run: the target is reported as met / not met.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_sim import machine_info, update_section  # noqa: E402

TARGET_S = 10.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from archsim.design.arch import load_arch
    from archsim.pipeline import simulate
    from workloads.transformer import build_transformer

    info = machine_info()
    graphs = {False: build_transformer("decoder_block", tokens=args.tokens, weight_bits=2),
              True: build_transformer("decoder_block", tokens=args.tokens, weight_bits=2,
                                      sample=True)}
    rows = []
    for kind in ("mac", "lutna", "tmac", "luttc"):
        arch = load_arch(f"{kind}_4x4")
        params = dict(arch.tile.pe_array.pe_params, act_signed=True, weight_bits=2)
        arch = arch.with_overrides({"tile.pe_array.pe_params": params})
        df = "os" if kind == "luttc" else "ws"
        for functional, g in graphs.items():
            walls, res = [], None
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                res = simulate(arch, g, dataflow=df, functional=functional)
                walls.append(time.perf_counter() - t0)
            med = statistics.median(walls)
            rows.append((kind, "functional" if functional else "timing", med, min(walls),
                         max(walls), res.events, res.latency_cycles,
                         None if res.functional is None else res.functional["exact_match"]))
            print(f"{kind:6s} {rows[-1][1]:10s} {med:6.2f} s  events {res.events}  "
                  f"latency {res.latency_cycles:.0f} cycles")
    worst = max(r[2] for r in rows)
    lines = [
        f"`python benchmarks/bench_llm.py --repeats {args.repeats}`, {info['date']}, git "
        f"{info['git']}, {info['cpu']} ({info['nproc']} cores), Python {info['python']}, "
        f"load average {info['loadavg'][0]:.2f}.",
        "",
        f"Decoder block (dim 256, 4 heads, SwiGLU 688), prefill of {args.tokens} tokens, W2 A8, "
        "4 x 4 tiles; median (min-max) wall seconds of `archsim.simulate`.",
        "",
        "| design point | mode | wall s | events | latency (cycles) | exact |",
        "|---|---|---|---|---|---|",
    ]
    for kind, mode, med, lo, hi, ev, lat, exact in rows:
        lines.append(f"| {kind}_4x4 | {mode} | {med:.2f} ({lo:.2f}-{hi:.2f}) | {ev} | "
                     f"{lat:.0f} | {'-' if exact is None else exact} |")
    lines += ["", f"Target < {TARGET_S:.0f} s: {'met' if worst < TARGET_S else 'NOT met'} "
                  f"(slowest {worst:.2f} s).", ""]
    if not args.no_report:
        update_section("Transformers", "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
