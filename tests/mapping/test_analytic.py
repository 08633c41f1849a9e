"""The analytic mapping model ranks random valid mappings as SimPy does; search is never worse."""

import pytest
from scipy.stats import spearmanr

from archsim.design.arch import load_arch
from archsim.energy import load_cost_model
from archsim.mapping.analytic import LayerModel
from archsim.mapping.heuristic import heuristic_plan
from archsim.mapping.layer import gemm_layers
from archsim.mapping.plan import MappingPlan
from archsim.mapping.schedule import MappingError, MappingSpec, build_schedule
from archsim.mapping.search import random_plans
from archsim.pipeline import price, resolve_workload, simulate
from archsim.sim.engine import run_schedule
from tests.sim.helpers import conv_csv


def test_analytic_latency_and_energy_rank_like_simpy(tmp_path):
    g = resolve_workload(str(conv_csv(tmp_path, [("c", 16, 16, 3, 3, 32, 64, 1)])))
    arch = load_arch("mac_2x2")
    costs = load_cost_model(arch, dataflow="ws")
    model = LayerModel(arch, costs)
    L = gemm_layers(g, arch)["c"]
    base = heuristic_plan(g, arch, "ws", MappingSpec.parse("layer")).layers[0]
    rows = []
    for lp in [base] + random_plans(L, arch, base, 10, seed=3):
        plan = MappingPlan(label="t", dataflow=lp.dataflow, keep_inputs=True, layers=(lp,))
        try:
            sched = build_schedule(g, arch, lp.dataflow, plan)
        except MappingError:
            continue
        res = price(run_schedule(arch, g, sched), costs)
        est = model.estimate(L, lp, in_home="dram", out_home="gbuf", keep_inputs=True)
        rows.append((est.latency_cycles, res.latency_cycles, est.energy_pj,
                     res.energy.total_pj))
    assert len(rows) >= 8
    assert spearmanr([r[0] for r in rows], [r[1] for r in rows])[0] >= 0.9
    assert spearmanr([r[2] for r in rows], [r[3] for r in rows])[0] >= 0.9


@pytest.mark.parametrize("mode, pipe", [("none", False), ("gather", False), ("none", True)])
def test_prefilter_bound_stays_below_the_estimate(tmp_path, mode, pipe):
    """The search's pre-filter (LayerModel.bound) is a lower bound of the full estimate up to
    the declared slack, for latency and energy, on every candidate of a 3x3 and a split-K-able
    layer (dense timing and gather; dense with fold pipelining)."""
    from archsim.mapping.search import BOUND_SLACK, layer_candidates

    g = resolve_workload(str(conv_csv(tmp_path, [("c", 8, 8, 3, 3, 64, 32, 1)])))
    arch = load_arch("mac_2x2").with_overrides({"tile.sparsity.mode": mode,
                                                 "tile.pe_array.fold_pipelining": pipe})
    w = g.nodes["c"]["weight"]
    w[:, ::3] = 0  # a third of the input channels pruned in every filter
    model = LayerModel(arch, load_cost_model(arch, dataflow="ws"))
    L = gemm_layers(g, arch)["c"]
    base = heuristic_plan(g, arch, "ws", MappingSpec.parse("layer")).layers[0]
    cands = layer_candidates(L, arch, base)
    assert any(c.split_k > 1 for c in cands)
    for lp in cands:
        lat, en = model.bound(L, lp, in_home="dram", out_home="gbuf", keep_inputs=True)
        est = model.estimate(L, lp, in_home="dram", out_home="gbuf", keep_inputs=True)
        assert lat * BOUND_SLACK <= est.latency_cycles
        assert en * BOUND_SLACK <= est.energy_pj


@pytest.mark.slow
def test_search_is_never_worse_than_the_heuristic(tmp_path):
    g = resolve_workload(str(conv_csv(tmp_path, [("a", 8, 8, 3, 3, 64, 128, 1),
                                                  ("b", 8, 8, 1, 1, 128, 64, 1)])))
    h = simulate("mac_2x2", g)
    s = simulate("mac_2x2", g, mapping="search")
    assert s.latency_cycles <= h.latency_cycles
    for c in s.search.layers:
        assert c.chosen_cycles <= c.heuristic_cycles
