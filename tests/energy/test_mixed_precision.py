"""Mixed precision: the greedy search, the budgets, and the functional runs."""

from dataclasses import dataclass

import numpy as np
import pytest

from archsim.studies import mixed_precision as mp


@dataclass(frozen=True)
class _Cost:
    energy_per_mac_pj: float
    area_um2: float = 1.0


COSTS = {"exact": _Cost(1.0), "drop_ll": _Cost(0.8), "trunc_act_low": _Cost(0.5),
         "keep_hh": _Cost(0.1)}


def test_greedy_takes_free_moves_then_the_best_value():
    layers = {"a": 100, "b": 10}
    loss = {("a", "keep_hh"): 5.0, ("a", "trunc_act_low"): 0.5, ("a", "drop_ll"): 0.0,
            ("b", "keep_hh"): 0.2, ("b", "trunc_act_low"): 0.1, ("b", "drop_ll"): 0.0}

    def spend(assign):
        return sum(loss[(n, v)] for n, v in assign.items() if v != "exact")

    assign, used, steps = mp.greedy_assign(layers, COSTS, spend, budget=1.0)
    # a: keep_hh would cost 5 points (over budget); trunc_act_low fits; b goes to keep_hh
    assert assign == {"a": "trunc_act_low", "b": "keep_hh"}
    assert used == pytest.approx(0.7) and used <= 1.0
    # zero-cost moves first, the largest saving first among them (a: 100 x 0.2 = 20 pJ)
    assert steps[0][:2] == ("a", "drop_ll")


def test_greedy_with_zero_budget_keeps_exact_unless_free():
    layers = {"a": 5}
    assign, _, steps = mp.greedy_assign(layers, COSTS, lambda a: 1.0 * (a["a"] != "exact"),
                                        budget=0.0)
    assert assign == {"a": "exact"} and steps == []


def test_proxy_budget_and_tau():
    class G:  # the attribute proxy_budget reads
        def __init__(self):
            self.nodes = {"a": {"macs_nonzero": 100}, "b": {"macs_nonzero": 10}}

    errors = {"a": {"drop_ll": 0.01, "trunc_act_low": 0.2, "keep_hh": 0.5},
              "b": {"drop_ll": 0.01, "trunc_act_low": 0.1, "keep_hh": 0.3}}
    tau = mp.calibrate_tau(errors, {"a": "trunc_act_low", "b": "exact"})
    assert tau == pytest.approx(0.2)

    import archsim.studies.mixed_precision as m

    orig = m.compute_layers
    m.compute_layers = lambda g: ["a", "b"]
    try:
        r = mp.proxy_budget(G(), errors, COSTS, tau)
    finally:
        m.compute_layers = orig
    assert r.spent <= tau**2 + 1e-12
    assert r.assignment["a"] in ("drop_ll", "trunc_act_low")
    assert r.energy_pj < r.exact_energy_pj and r.macs == 110


def test_variant_kinds():
    k = mp.variant_kind("trunc_act_low+bias", act_signed=True)
    assert k.name == "alutna" and k.bias_comp and k.act_signed and k.approx == "trunc_act_low"
    assert mp.variant_kind("exact").name == "lutna"
    with pytest.raises(ValueError, match="variant"):
        mp.variant_kind("keep_hh+noise")


def test_run_mixed_matches_the_exact_ops_and_alutna(tmp_path):
    from archsim.graph.ops import run_graph
    from archsim.graph.scalesim_csv import load_topology

    csv = tmp_path / "t.csv"
    csv.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                   "Channels, Num Filter, Strides,\nconv1, 6, 6, 3, 3, 4, 5, 1,\n")
    g = load_topology(csv)
    rng = np.random.default_rng(0)
    inp = g.graph["inputs"][0]
    x = rng.integers(0, 256, size=g.nodes[inp]["out_shape"]).astype(np.int64)
    exact = mp.run_mixed(g, x, {})
    ref = run_graph(g, x)
    for n in ref:
        assert np.array_equal(exact[n], ref[n])
    conv = mp.compute_layers(g)[0]
    approx = mp.run_mixed(g, x, {conv: "keep_hh"})
    # all-one weights: the top weight digit is 0, so keep_hh drops everything
    assert not np.array_equal(approx[conv], exact[conv])
    again = mp.run_mixed(g, x, {conv: "keep_hh"}, base=exact, changed=[conv])
    assert np.array_equal(again[conv], approx[conv])


@pytest.mark.slow
def test_accuracy_budget_on_digits():
    pytest.importorskip("torch")
    from archsim.studies.paper import PaperAssumptions, unit_costs

    g, x, y = mp.digits_data("lenet", 0.0)
    costs = unit_costs(PaperAssumptions(), ("exact",) + mp.DEFAULT_VARIANTS)
    r = mp.accuracy_budget(g, x, y, costs, 1.0)
    assert r.spent <= 1.0 and r.baseline > 90
    assert r.energy_pj < r.exact_energy_pj
    errs = mp.layer_errors(g, x[:64])
    assert set(errs) == set(mp.compute_layers(g))
    for d in errs.values():
        assert d["drop_ll"] < d["keep_hh"]
