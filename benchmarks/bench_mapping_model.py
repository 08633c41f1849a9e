"""Validate the analytic mapping model (archsim.mapping.analytic) against SimPy.

For varied layers of ResNet-18 (3x3 conv, 1x1 conv, fully connected, and a depthwise 3x3
made from a 3x3 layer's shape), dense and 90% pruned, on 1 tile (mac_1x1) and 16 tiles
(mac_4x4) as shipped (sparsity mode ``none``, zero gating), and the pruned layers also under
the sparsity modes that skip zeros (``gather`` on both, ``filter_block`` on mac_4x4,
``nm_structured`` on mac_1x1; ``tile.sparsity.mode`` overrides): random valid mappings
(archsim.mapping.search.random_plans), each timed and priced by the analytic model and by
SimPy running the layer alone.  Prints, and writes to ``--out`` (default
reports/mapping_model.md): Spearman rank correlation of latency and of energy (pooled, and
per layer x design point: median and worst), and the median and worst
relative errors.  Usage::

    PYTHONPATH=. python benchmarks/bench_mapping_model.py [--plans 10] [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from archsim import zoo
from archsim.design.arch import load_arch
from archsim.energy import load_cost_model
from archsim.mapping.analytic import LayerModel
from archsim.mapping.heuristic import heuristic_plan
from archsim.mapping.layer import gemm_layers
from archsim.mapping.plan import MappingPlan
from archsim.mapping.schedule import MappingError, MappingSpec, build_schedule
from archsim.mapping.search import random_plans, single_layer_graph
from archsim.pipeline import price
from archsim.sim.engine import run_schedule

LAYERS = {"conv3x3": "layer3_0_conv2", "conv1x1": "layer3_0_shortcut_0", "fc": "linear",
          "depthwise": "layer2_1_conv1"}


def depthwise(g, node: str, seed: int, sparsity: float):
    """The layer with groups = channels (one 3x3 filter per channel), same shapes otherwise."""
    g = single_layer_graph(g, node)
    a = g.nodes[node]
    w = np.asarray(a["weight"])
    rng = np.random.default_rng(seed)
    dw = rng.integers(-255, 256, size=(w.shape[0], 1, *w.shape[2:]))
    if sparsity:
        dw[rng.random(dw.shape) < sparsity] = 0
    a.update(weight=dw, groups=int(w.shape[0]), macs_dense=int(a["macs_dense"] // w.shape[1]))
    if "mask" in a:
        a["mask"] = dw != 0
    return g


def measure(layer_graph, node: str, arch, plans: list, costs, model) -> list[tuple]:
    """(analytic latency, SimPy latency, analytic energy, SimPy energy) per valid plan."""
    L = gemm_layers(layer_graph, arch)[node]
    out_home = "gbuf" if L.M * L.N * L.act_bytes <= arch.gbuf.capacity_bytes else "dram"
    rows = []
    for lp in plans:
        plan = MappingPlan(label="bench", dataflow=lp.dataflow, keep_inputs=True,
                           layers=(dataclasses.replace(lp, group=0),))
        try:
            sched = build_schedule(layer_graph, arch, lp.dataflow, plan)
        except MappingError:
            continue
        res = price(run_schedule(arch, layer_graph, sched), costs)
        est = model.estimate(L, lp, in_home="dram", out_home=out_home, keep_inputs=True)
        rows.append((est.latency_cycles, res.latency_cycles, est.energy_pj,
                     res.energy.total_pj))
    return rows


# (design point, sparsity mode) per weight sparsity
DESIGNS = {0.0: [("mac_1x1", "none"), ("mac_4x4", "none")],
           0.9: [("mac_1x1", "none"), ("mac_4x4", "none"), ("mac_1x1", "gather"),
                 ("mac_4x4", "gather"), ("mac_4x4", "filter_block"),
                 ("mac_1x1", "nm_structured")]}


def run(n_plans: int, seed: int = 0) -> dict:
    groups = {}
    for sparsity in (0.0, 0.9):
        g = zoo.build("resnet18", sparsity=sparsity, seed=seed)
        for base_name, mode in DESIGNS[sparsity]:
            arch = load_arch(base_name)
            if mode != arch.tile.sparsity.mode:
                arch = arch.with_overrides({"tile.sparsity.mode": mode})
            arch_name = base_name if mode == "none" else f"{base_name} {mode}"
            costs = load_cost_model(arch, dataflow="ws")
            model = LayerModel(arch, costs)
            for kind, node in LAYERS.items():
                lg = depthwise(g, node, seed, sparsity) if kind == "depthwise" else \
                    single_layer_graph(g, node)
                L = gemm_layers(lg, arch)[node]
                base = heuristic_plan(lg, arch, "ws", MappingSpec.parse("layer")).layers[0]
                plans = [base] + random_plans(L, arch, base, n_plans, seed)
                groups[(kind, sparsity, arch_name)] = measure(lg, node, arch, plans, costs,
                                                              model)
    return groups


def summarise(groups: dict) -> dict:
    all_rows = [r for rows in groups.values() for r in rows]
    lat_err = [abs(a - s) / s for a, s, _, _ in all_rows]
    en_err = [abs(a - s) / s for _, _, a, s in all_rows]
    per = {k: (spearmanr([r[0] for r in v], [r[1] for r in v])[0],
               spearmanr([r[2] for r in v], [r[3] for r in v])[0], len(v))
           for k, v in groups.items() if len(v) >= 3}
    lat_rhos = [v[0] for v in per.values() if not np.isnan(v[0])]
    en_rhos = [v[1] for v in per.values() if not np.isnan(v[1])]
    return {
        "samples": len(all_rows),
        "spearman_latency_pooled": spearmanr([r[0] for r in all_rows],
                                             [r[1] for r in all_rows])[0],
        "spearman_energy_pooled": spearmanr([r[2] for r in all_rows],
                                            [r[3] for r in all_rows])[0],
        "spearman_latency_per_group_median": statistics.median(lat_rhos),
        "spearman_latency_per_group_worst": min(lat_rhos),
        "spearman_energy_per_group_median": statistics.median(en_rhos),
        "spearman_energy_per_group_worst": min(en_rhos),
        "latency_error_median": statistics.median(lat_err),
        "latency_error_worst": max(lat_err),
        "energy_error_median": statistics.median(en_err),
        "energy_error_worst": max(en_err),
        # one tile is timed cycle for cycle: the 16-tile samples alone
        "latency_error_median_16_tiles": statistics.median(
            abs(a - s) / s for k, v in groups.items() if "4x4" in k[2] for a, s, _, _ in v),
        "energy_error_median_16_tiles": statistics.median(
            abs(a - s) / s for k, v in groups.items() if "4x4" in k[2] for _, _, a, s in v),
        "per_group": per,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plans", type=int, default=10, help="random plans per layer x design")
    ap.add_argument("--out", default="reports/mapping_model.md")
    args = ap.parse_args()
    t0 = time.perf_counter()
    s = summarise(run(args.plans))
    lines = ["# Analytic mapping model vs SimPy", "",
             (f"Generated by `benchmarks/bench_mapping_model.py --plans {args.plans}` "
             f"({time.perf_counter() - t0:.0f} s)."), "",
             "| measure | value |", "|---|---:|"]
    for k, v in s.items():
        if k != "per_group":
            lines.append(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |")
    lines += ["", "| layer | sparsity | design | plans | Spearman latency | Spearman energy |",
              "|---|---:|---|---:|---:|---:|"]
    for (kind, sp, a), (rl, re, n) in s["per_group"].items():
        lines.append(f"| {kind} | {sp} | {a} | {n} | {rl:.3f} | {re:.3f} |")
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
