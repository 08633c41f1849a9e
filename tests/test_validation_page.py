"""docs/validation.md: every archsim number on it is what archsim computes now.

The peers are not re-run here: their numbers are read from docs/validation_data.json, which
``python scripts/validate_peers.py`` writes together with the page.
"""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "docs" / "validation_data.json"


def _script():
    spec = importlib.util.spec_from_file_location("validate_peers",
                                                  ROOT / "scripts" / "validate_peers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def vp():
    return _script()


@pytest.fixture(scope="module")
def data():
    return json.loads(DATA.read_text())


def test_page_is_generated_from_its_data(vp, data):
    assert (ROOT / "docs" / "validation.md").read_text() == vp.write_page(data) + "\n"


def test_zigzag_inputs_and_archsim_side(vp, data):
    assert json.loads(json.dumps(vp.per_access_costs())) == data["costs"]
    for case in data["zigzag"]:
        now = json.loads(json.dumps(vp.archsim_zigzag_case(case["layer"], case["dataflow"])))
        assert now == case["archsim"], (case["layer"], case["dataflow"])
        assert json.loads(json.dumps(vp.hand_bounds(case["layer"], vp.per_access_costs()))) \
            == case["bounds"]
        # the spec ZigZag got carries archsim's per-access energies
        spec = vp.zigzag_spec(case["layer"], case["dataflow"], vp.per_access_costs())
        assert spec["array"]["mac_energy_pj"] == pytest.approx(data["costs"]["mac_pj"])


def test_dense_cycles_are_archsim_now(vp, data, tmp_path):
    live = {}
    for d in data["dense"]:
        if d["source"].startswith("live"):
            key = (d["csv"], d["dataflow"])
            if key not in live:
                live[key] = vp.archsim_dense(vp.LAYERS_DIR / d["csv"], d["dataflow"])
            assert live[key][d["layer"]] == d["archsim"]
    seen = {}
    for i, d in enumerate(x for x in data["dense"] if x["source"] == "recorded"):
        key = (d["row"], d["dataflow"], d["array"])
        if key not in seen:
            p = vp.dense_record_csv(d["input_type"], d["row"], tmp_path / f"r{i}.csv")
            seen[key] = sum(vp.archsim_dense(p, d["dataflow"],
                                             f"scalesim_{d['array']}x{d['array']}").values())
        assert seen[key] == d["archsim"], key


def test_search_section_archsim_side(vp, data):
    """Section 5: archsim's searched mapping, latency, energy and accesses (not its wall time)."""
    assert {(r["layer"], r["objective"]) for r in data["search"]} == {
        (n, o) for n in vp.SEARCH_LAYERS for o in vp.SEARCH_OBJECTIVES}
    for r in data["search"]:
        now = json.loads(json.dumps(vp.archsim_search_case(r["layer"], r["objective"])))
        assert now["archsim"] == r["archsim"], (r["layer"], r["objective"])
        now0 = json.loads(json.dumps(vp.archsim_search_case(r["layer"], r["objective"],
                                                            "no_latency")))
        assert now0["archsim"] == r["archsim_no_latency"], (r["layer"], r["objective"])
        assert vp.search_bounds(r["layer"], vp.per_access_costs()) == r["bounds"]
        spec = vp.zigzag_search_spec(r["layer"], r["objective"], vp.per_access_costs())
        assert spec["dataflow"] is None and spec["opt"] == r["objective"]
        assert spec["array"]["systolic"] is True  # the same systolic array as archsim's


def test_search_bounds_by_hand(vp):
    """fc_512_10 on one 16 x 16 tile: 5,120 MACs / 256 PEs = 20 cycles; 512 input + 5,120
    weight + 10 output bytes through a 16 B/cycle DRAM port = ceil(5,642 / 16) = 353 cycles;
    plus the design point's 100-cycle DRAM latency."""
    b = vp.search_bounds("fc_512_10", vp.per_access_costs())
    assert b["compute_bound_cycles"] == 20
    assert b["dram_bound_cycles"] == 353
    assert b["latency_bound_no_latency_cycles"] == 353
    assert b["latency_bound_cycles"] == 453
