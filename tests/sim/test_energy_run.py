"""Energy and area come with every simulation; a missing cost entry stops it before it runs."""

import pytest
import yaml

import archsim
from archsim.design.arch import ConfigError, builtin_arch_dir

from .helpers import gemm_csv, tiny_arch


def test_run_has_energy_area_and_per_layer_energy(tmp_path):
    arch = tiny_arch(**{"grid.rows": 2, "grid.cols": 2})
    res = archsim.simulate(arch, str(gemm_csv(tmp_path, [("a", 16, 8, 8), ("b", 8, 8, 8)])))
    s = res.summary()
    e = s["energy"]
    assert e["total_pj"] == pytest.approx(e["dynamic_pj"] + e["leakage_pj"])
    assert e["total_pj"] == pytest.approx(sum(e["by_component_pj"].values()))
    assert "45 nm" in e["source"] and "0.9 V" in e["source"]
    assert s["area"]["total_um2"] > 0 and "45 nm" in s["area"]["source"]
    # every layer is priced; its dynamic energy is part of the total
    assert all(l["energy_pj"] > 0 for l in s["layers"])
    assert sum(l["energy_pj"] for l in s["layers"]) <= e["total_pj"] * 1.5


def test_missing_cost_entry_fails_before_simulating(tmp_path):
    data = yaml.safe_load((builtin_arch_dir() / "energy" / "horowitz_45nm.yaml").read_text())
    del data["classes"]["lut_bank"]["read_pj_per_cell"]  # the look-up energy of LUT banks
    table = tmp_path / "no_lookup.yaml"
    table.write_text(yaml.safe_dump(data))
    arch = archsim.load_arch("lutna_2x2").with_overrides({"energy_table": str(table)})
    with pytest.raises(ConfigError, match=r"no_lookup.yaml: no energy for action 'lookup' of "
                                          r"component class 'lut_bank' \(used by tile0.lut_bank0"):
        archsim.simulate(arch, str(gemm_csv(tmp_path, [("g", 4, 4, 4)])))
