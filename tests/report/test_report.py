"""Run folders: files, plots (Agg PNGs), components/energy columns, COMPUTE_REPORT, compare."""

import csv
import json

import pytest

import archsim
from archsim.cli import main
from archsim.report import plots
from archsim.report.compare import compare_runs, write_compare
from archsim.report.run_folder import component_class, layer_energy_by_class, write_run
from archsim.sim.actions import parse

from ..sim.helpers import gemm_csv, tiny_arch

PNG = b"\x89PNG\r\n\x1a\n"


def _rows(path):
    return list(csv.DictReader(path.read_text().splitlines()))


def _png_ok(path):
    data = path.read_bytes()
    return data[:8] == PNG and len(data) > 2000


@pytest.fixture(scope="module")
def run_pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    wl = gemm_csv(tmp, [("g1", 32, 16, 24), ("g2", 16, 32, 16)])
    a = archsim.simulate(tiny_arch(), str(wl), dataflow="os")
    b = archsim.simulate(tiny_arch(**{"grid.rows": 2, "grid.cols": 2}), str(wl), dataflow="ws")
    da = write_run(a, tmp / "a", {"workload": str(wl), "sparsity": 0.0, "seed": 0})
    db = write_run(b, tmp / "b", {"workload": str(wl), "sparsity": 0.0, "seed": 0}, plots=False)
    return a, b, da, db


def test_run_folder_files_and_plots(run_pair):
    a, _, da, db = run_pair
    for name in ("config.resolved.yaml", "summary.json", "layers.csv", "tiles.csv",
                 "components.csv", "COMPUTE_REPORT.csv", "summary.md"):
        assert (da / name).stat().st_size > 0, name
    for png in ("layer_latency.png", "tile_utilization.png"):
        assert _png_ok(da / png), png
    assert not list(db.glob("*.png"))  # plots=False
    md = (da / "summary.md").read_text()
    assert "## Headline numbers" in md and "## Where the cost numbers come from" in md
    assert "![layer_latency](layer_latency.png)" in md
    s = json.loads((da / "summary.json").read_text())
    assert s["latency_cycles"] == a.latency_cycles


def test_layers_components_compute_report(run_pair):
    a, _, da, _ = run_pair
    layers = list(_rows(da / "layers.csv"))
    assert [r["layer"] for r in layers] == [l.node for l in a.layers]
    for r, l in zip(layers, a.layers):
        assert float(r["stall_total_cycles"]) == pytest.approx(sum(l.stall_cycles.values()))
        assert int(r["macs_executed"]) == l.macs_executed
    comps = {r["component"]: r for r in _rows(da / "components.csv")}
    assert int(comps["tile0.pe_array"]["mac"]) == a.actions[parse("tile0.pe_array.mac")]
    assert comps["tile0.pe_array"]["class"] == "pe_array"
    lines = (da / "COMPUTE_REPORT.csv").read_text().splitlines()
    assert lines[0] == ("LayerID, Total Cycles, Stall Cycles, Overall Util %, "
                        "Mapping Efficiency %, Compute Util %,")
    assert len(lines) == 1 + len(a.layers)
    first = [float(x) for x in lines[1].rstrip(",").split(",")]
    l0 = a.layers[0]
    assert first[1] == pytest.approx(l0.cycles)
    assert first[3] == pytest.approx(100 * l0.macs_executed / (16 * l0.cycles), abs=1e-3)


def test_component_class():
    assert component_class("tile3.lut_bank12") == "lut_bank"
    assert component_class("tile0.ifmap_sram") == "sram"
    assert component_class("tile1.vector") == "vector"
    assert component_class("noc.r0c1.E") == "noc_link"
    assert component_class("noc.mem0.in") == "noc_link"
    assert component_class("dram.ch1") == "dram"
    assert component_class("gbuf") == "gbuf"


class _WithEnergy:
    """A SimResult with an energy/area report attached (stand-in for archsim.energy)."""

    def __init__(self, res):
        self._res = res
        by_action = {str(k): 2.0 * n for k, n in res.actions.items()}  # 2 pJ per counted unit
        by_comp, by_class = {}, {}
        for k, v in by_action.items():
            comp = k.rpartition(".")[0]
            by_comp[comp] = by_comp.get(comp, 0.0) + v
            by_class[component_class(comp)] = by_class.get(component_class(comp), 0.0) + v
        dyn = sum(by_action.values())
        self.energy = {"total_pj": dyn + 10.0, "dynamic_pj": dyn, "leakage_pj": 10.0,
                       "by_component_pj": by_comp, "by_action_pj": by_action,
                       "by_class_pj": by_class, "source": "test table"}
        self.area = {"total_um2": 1e6, "by_component_um2": {"tile0.pe_array": 1e6},
                     "by_class_um2": {"pe_array": 1e6}, "source": "test area"}
        self.layer_energy = {}  # no per-layer reports: layers.csv splits dynamic energy

    def __getattr__(self, name):
        return getattr(self._res, name)


def test_energy_columns_and_plot(run_pair, tmp_path):
    a = _WithEnergy(run_pair[0])
    per_layer = layer_energy_by_class(a, a.energy)
    total = sum(sum(v.values()) for v in per_layer.values())
    assert total == pytest.approx(a.energy["dynamic_pj"])
    d = write_run(a, tmp_path / "e")
    assert _png_ok(d / "energy_breakdown.png")
    layers = list(_rows(d / "layers.csv"))
    assert "energy_pe_array_pj" in layers[0] and "energy_dynamic_pj" in layers[0]
    comps = {r["component"]: r for r in _rows(d / "components.csv")}
    assert float(comps["tile0.pe_array"]["area_um2"]) == 1e6
    s = json.loads((d / "summary.json").read_text())
    assert s["energy"]["source"] == "test table" and s["area"]["total_um2"] == 1e6
    md = (d / "summary.md").read_text()
    assert "test table" in md and "test area" in md


def test_plot_functions(tmp_path):
    assert _png_ok(plots.scaling([1, 2, 4, 8], [1, 1.9, 3.5, 6], tmp_path / "s.png"))
    assert _png_ok(plots.grouped_bars(["os", "ws"], {"mac": [1, 2], "lutna": [2, 3]},
                                      tmp_path / "g.png", "cycles"))
    assert _png_ok(plots.tile_heatmap([0.1, 0.5, 0.9, 1.0], 2, 2, tmp_path / "h.png"))
    with pytest.raises(ValueError, match="2x2 grid"):
        plots.tile_heatmap([0.1], 2, 2, tmp_path / "bad.png")


def test_compare_two_runs(run_pair, tmp_path, capsys):
    a, b, da, db = run_pair
    t = compare_runs([da, db])
    assert t.runs == ("a", "b")
    rows = {(m, u): v for m, u, v in t.rows}
    assert rows[("latency", "cycles")] == (a.latency_cycles, b.latency_cycles)
    assert rows[("speed-up vs first", "x")][1] == pytest.approx(a.latency_cycles / b.latency_cycles)
    assert rows[("tiles", "tiles")] == (1, 4)
    md, cs = write_compare(t, tmp_path / "cmp.md")
    assert md.name == "cmp.md" and cs.name == "cmp.csv"
    assert cs.read_text().splitlines()[0] == "metric,unit,a,b"
    assert main(["compare", str(da), str(db), "--out", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out
    assert "speed-up vs first" in out and (tmp_path / "cli.md").exists()
    assert main(["compare", str(tmp_path)]) == 2  # not a run folder: a clear error
    assert "no summary.json" in capsys.readouterr().err


def test_compute_report_matches_scalesim_on_ideal_memory(tmp_path):
    # SCALE-Sim v3, 16x16, GEMM 64x64x64: os 1503, ws 1759 cycles, no stalls
    # (docs/facts.md section 4)
    wl = gemm_csv(tmp_path, [("g", 64, 64, 64)])
    for df, cycles in (("os", 1503), ("ws", 1759)):
        d = write_run(archsim.simulate("scalesim_16x16", str(wl), dataflow=df),
                      tmp_path / df, plots=False)
        row = (d / "COMPUTE_REPORT.csv").read_text().splitlines()[1].split(",")
        assert [float(x) for x in row[:3]] == [0, cycles, 0]
        assert float(row[4]) == 100.0  # dense 64x64 on 16x16 folds: every slot used


def test_run_folder_with_the_real_energy_model(run_pair, tmp_path):
    energy = pytest.importorskip("archsim.energy")
    res = run_pair[0]
    if getattr(res, "energy", None) is None:  # simulator without costs: attach them here
        model = energy.load_cost_model(res.arch, dataflow=res.dataflow)

        class WithCosts:
            def __init__(self, r):
                self._r, self.layer_energy = r, {}
                self.energy = model.energy(r.actions, r.latency_cycles)
                self.area = model.area()

            def __getattr__(self, name):
                return getattr(self._r, name)

        res = WithCosts(res)
    d = write_run(res, tmp_path / "costs", plots=False)
    layers = _rows(d / "layers.csv")
    per_layer = getattr(res, "layer_energy", None)
    if per_layer:
        for r in layers:
            assert float(r["energy_total_pj"]) == pytest.approx(per_layer[r["layer"]].total_pj)
    else:
        assert sum(float(r["energy_dynamic_pj"]) for r in layers) <= res.energy.dynamic_pj * (
            1 + 1e-9)
    comps = {r["component"]: r for r in _rows(d / "components.csv")}
    assert float(comps["tile0.pe_array"]["energy_pj"]) == pytest.approx(
        res.energy.by_component_pj["tile0.pe_array"])
    assert float(comps["tile0.pe_array"]["area_um2"]) > 0
    assert json.loads((d / "summary.json").read_text())["energy"]["source"] == res.energy.source
    assert _png_ok(write_run(res, tmp_path / "png")  / "energy_breakdown.png")


def test_summary_says_what_it_shows(tmp_path):
    """summary.md says 'N largest of M' and which memory system a grid override kept; the heat
    map draws the headline utilisation per tile (its mean is the run's utilisation)."""
    wl = gemm_csv(tmp_path, [(f"g{i}", 32, 16, 24) for i in range(7)])
    base = archsim.load_arch("lutna_2x2")
    arch = base.with_overrides({"grid.rows": 1, "grid.cols": 2})
    res = archsim.simulate(arch, str(wl))
    d = write_run(res, tmp_path / "pt", plots=False, workload_args={
        "overrides": {"grid.rows": 1, "grid.cols": 2},
        "base_design_point": {"name": "lutna_2x2", "grid": "2x2"}})
    md = (d / "summary.md").read_text()
    assert md.splitlines()[0].startswith(
        "# gemm on lutna_2x2 with grid 1x2 (memory system of the 2x2 base kept)")
    assert f"its memory system is kept unchanged: {arch.dram.channels} DRAM channel(s)" in md
    assert "The 5 longest of 7 layers" in md
    s = res.summary()
    assert sum(t["utilization"] for t in s["per_tile"]) / 2 == pytest.approx(s["utilization"])
    assert all(t["busy_fraction"] >= t["utilization"] for t in s["per_tile"])
