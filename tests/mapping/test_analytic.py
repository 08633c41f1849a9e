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


@pytest.mark.parametrize("multicast", [True, False])
def test_analytic_multicast_reads_shared_weights_once(tmp_path, multicast):
    """Two tiles (1 x 2 grid, DRAM channel 0 at router (0, 0)) split a 1x1 conv's 4 pixels and
    share its 8 x 8 = 64 weight bytes.  Multicast: one DRAM read of the weights, sent along the
    XY tree {edge link, (0,0)->E} = 16 flits x 2 links; each tile's 16 input bytes its own read
    (4 flits over 1 and 2 links); outputs 16 bytes each back (4 flits over 1 and 2 links).
    Unicast: each tile reads the weights (16 flits over 1 and 2 links).  SimPy counts the
    same bytes and flit hops."""
    from collections import defaultdict

    from archsim.mapping.plan import LayerPlan
    from tests.sim.helpers import tiny_arch

    g = resolve_workload(str(conv_csv(tmp_path, [("g", 2, 2, 1, 1, 8, 8, 1)])))
    arch = tiny_arch(**{"grid.rows": 1, "grid.cols": 2, "interconnect.multicast": multicast})
    lp = LayerPlan(layer="g", tile_count=2, split_pixels=2, chunk_pixels=2, chunk_channels=8,
                   group=0)
    L = gemm_layers(g, arch)["g"]
    est = LayerModel(arch).estimate(L, lp, in_home="dram", out_home="dram", keep_inputs=True)
    reads = (64 if multicast else 2 * 64) + 2 * 16
    assert est.dram_bytes == reads + 2 * 16  # + the outputs written
    weight_hops = 16 * 2 if multicast else 16 * 1 + 16 * 2
    assert est.flit_hops == weight_hops + (4 + 8) + (4 + 8)
    assert est.multicast_groups == (1 if multicast else 0)
    # timing (DRAM latency 10, 1 cycle a hop, 4 B/cycle, SRAM 16 B/cycle, no prefetch):
    # tile 0's inputs at 10 + 1 .. 15, written by 16; tile 1's at 15 .. 19 (after tile 0's on
    # the one channel), written by 20.  Multicast: the weights' read when the last member
    # asks (20): 20 + 10 + 2 hops = 32 .. 48 (16 cycles), written by 52; 47 cycles of compute
    # -> 99; the output write 10 + 1 hop + 4 -> 114.
    if multicast:
        assert est.latency_cycles == 114
    sched = build_schedule(g, arch, "ws", MappingPlan(keep_inputs=True, layers=(lp,)))
    assert len(sched.multicast) == est.multicast_groups
    acts = defaultdict(int)
    for k, v in run_schedule(arch, g, sched).actions.items():
        acts[(k.kind, k.action)] += v
    assert acts[("dram", "read_bytes")] == reads
    assert acts[("noc_link", "flit_hop")] == est.flit_hops


@pytest.mark.parametrize("streaming, prefetch, w_stream, pipe", [
    (False, False, False, False), (False, True, False, False), (True, False, False, False),
    (True, True, False, False), (True, False, True, False), (True, True, True, False),
    (True, True, False, True)])
def test_analytic_latency_is_simpys_on_one_tile(tmp_path, streaming, prefetch, w_stream, pipe):
    """On one tile nothing is contended but what the model times (the DRAM channels' queues,
    the tile pipeline): with and without streamed inputs, weight prefetch and weight
    streaming (``tile.fetch``), and with fold pipelining, the estimate's latency is SimPy's,
    cycle for cycle."""
    g = resolve_workload(str(conv_csv(tmp_path, [("c", 16, 16, 3, 3, 32, 64, 1)])))
    arch = load_arch("mac_1x1").with_overrides({
        "tile.fetch.streaming": streaming, "tile.fetch.weight_prefetch": prefetch,
        "tile.fetch.weight_streaming": w_stream, "tile.pe_array.fold_pipelining": pipe})
    L = gemm_layers(g, arch)["c"]
    base = heuristic_plan(g, arch, "ws", MappingSpec.parse("layer")).layers[0]
    model = LayerModel(arch)
    for lp in [base] + random_plans(L, arch, base, 3, seed=3):
        plan = MappingPlan(label="t", dataflow=lp.dataflow, keep_inputs=True, layers=(lp,))
        sched = build_schedule(g, arch, lp.dataflow, plan)
        est = model.estimate(L, lp, in_home="dram", out_home="gbuf", keep_inputs=True)
        assert est.latency_cycles == run_schedule(arch, g, sched).latency_cycles
