"""Activation-table kinds (tmac, luttc) and ternary mac on the simulated chip: the tables are
programmed per activation group (counted, timed, priced), costs worked out by hand from the
horowitz_45nm numbers, design-point rules name their field."""

from __future__ import annotations

import math

import pytest

import archsim
from archsim.design.arch import ConfigError, load_arch
from archsim.energy import CostError, UnitAssumptions, load_cost_model, load_cost_table
from archsim.energy.lutcost import activation_build_pj, pe_table_spec, pe_unit_cost
from archsim.mapping.schedule import build_schedule
from archsim.pe import pe_kind
from archsim.pipeline import resolve_workload
from archsim.sim.actions import parse
from tests.sim.helpers import gemm_csv, tiny_arch

T = load_cost_table("horowitz_45nm")
E_CELL = 0.0000990  # lut_bank.read_pj_per_cell
READ_8X11 = 11 * 8 * E_CELL  # 0 static index bits: all 8 entries switch; 0.008712 pJ
ADD11_PJ = 0.03 + 3 / 8 * (0.05 - 0.03)  # adder.energy_pj at 11 bits: 0.0375
ADD32_PJ = 0.1
REG_PJ = 0.00321
# the design points below share a table among 4 PEs with sharing 'multiport' (the default):
# 4 read ports, word and bit lines sqrt(1 + 0.5 x 3) longer (docs/energy.md "Shared tables")
WIRE4 = math.sqrt(1 + 0.5 * (4 - 1))


def _arch(kind="tmac", **over):
    params = {"act_bits": 8, "weight_bits": 2}
    params["group" if kind == "tmac" else "k_dim"] = 4
    return tiny_arch(**{"tile.pe_array.pe_kind": kind, "tile.pe_array.pe_params": params,
                        "tile.lut_banks.count": 1, "tile.lut_banks.pes_per_table": 4,
                        "tile.lut_banks.organisation": "activation", **over})


def test_unit_cost_by_hand():
    k = pe_kind("tmac", weight_bits=2)
    u = pe_unit_cost(k, T, 16)
    # 0.5 look-ups of the 8 x 11-bit table + 0.5 accumulate adds of 32 bits per MAC
    assert u.energy_per_mac_pj == pytest.approx(0.5 * READ_8X11 + 0.5 * ADD32_PJ)
    assert u.breakdown["adders_um2"] == 137.0 and "accumulator_pj" not in u.breakdown
    assert u.tables_per_pe == 1 and u.table.spec.pes_per_table == 16
    # ternary mac: no multiplier, the accumulator only
    m = pe_unit_cost(pe_kind("mac", weights="ternary"), T)
    assert m.energy_per_mac_pj == ADD32_PJ and "mult_pj" not in m.breakdown
    # building one stored entry on the tile: 10 adds per 8-entry table, 11 bits wide
    assert activation_build_pj(k, T) == pytest.approx(10 / 8 * ADD11_PJ)
    assert activation_build_pj(pe_kind("luttc", weight_bits=2), T) == 0.0  # built ahead
    with pytest.raises(CostError, match="ROM"):
        pe_table_spec(k, UnitAssumptions(cell="rom"))
    with pytest.raises(CostError, match="activation"):
        pe_unit_cost(pe_kind("lutna"), T, organisation="activation")
    with pytest.raises(CostError, match="weight"):
        pe_unit_cost(k, T, organisation="weight")


def test_design_point_rules_name_the_field():
    with pytest.raises(ConfigError, match="tile.lut_banks.organisation"):
        tiny_arch(**{"tile.pe_array.pe_kind": "tmac", "tile.pe_array.pe_params": {},
                     "tile.lut_banks.count": 1})
    with pytest.raises(ConfigError, match="tile.lut_banks.organisation"):
        tiny_arch(**{"tile.pe_array.pe_kind": "lutna", "tile.pe_array.pe_params": {},
                     "tile.lut_banks.count": 1, "tile.lut_banks.organisation": "activation"})
    with pytest.raises(ConfigError, match="tile.lut_banks.pes_per_table"):
        _arch("luttc", **{"tile.lut_banks.pes_per_table": 2})
    with pytest.raises(ConfigError, match="group"):
        _arch(**{"tile.pe_array.pe_params": {"group": 1}})


def test_tmac_run_programs_tables_per_activation_group(tmp_path):
    arch = _arch()
    csv = str(gemm_csv(tmp_path, [("g", 8, 8, 16)]))  # M = 8 tokens, N = 8, K = 16
    res = archsim.simulate(arch, csv, dataflow="ws")
    progs = sum(v for k, v in res.actions.items() if k.action == "program")
    looks = sum(v for k, v in res.actions.items() if k.action == "lookup")
    # 8 tokens x ceil(16 / 4) tables x 8 entries x ceil(8 columns / 4 PEs per table)
    assert progs == 8 * 4 * 8 * 2
    assert looks == 8 * 8 * 16 * 2 // 4  # b / g look-ups per MAC
    cm = load_cost_model(arch, dataflow="ws")
    e = cm.action_energy_pj
    assert e("tile0.lut_bank0.lookup") == pytest.approx(READ_8X11 * WIRE4)
    # one write (one random-access read x write_to_read 1.0) + 10/8 build adds of 11 bits
    assert e("tile0.lut_bank0.program") == pytest.approx(READ_8X11 * WIRE4 + 10 / 8 * ADD11_PJ)
    assert e("tile0.pe_array.add") == pytest.approx(ADD32_PJ)
    assert e("tile0.pe_array.mac") == pytest.approx((11 + 32) * 0.5 * REG_PJ)
    assert res.energy.by_action_pj["tile0.lut_bank0.program"] == pytest.approx(
        progs * e("tile0.lut_bank0.program"))
    basis = {c.action: c.basis for c in cm.action_costs() if c.component == "lut_bank"}
    assert "activation organisation" in basis["program"] and "build adds" in basis["program"]
    # programming is timed: 512 entries x 2 bytes through one 8 B/cycle port = 128 cycles
    sched = build_schedule(resolve_workload(csv), arch, "ws")
    assert sum(c.program_entries for t in sched.tasks for c in t.chunks) == 512
    slow = archsim.simulate(_arch(**{"tile.lut_banks.program_bytes_per_cycle": 1}), csv,
                            dataflow="ws")
    assert slow.latency_cycles > res.latency_cycles
    assert slow.stall_cycles().get("lut_program", 0) > 0


def test_luttc_builds_ahead_on_the_vector_unit(tmp_path):
    arch = _arch("luttc", **{"tile.pe_array.cols": 4})
    csv = str(gemm_csv(tmp_path, [("g", 8, 8, 16)]))
    res = archsim.simulate(arch, csv, dataflow="os")
    progs = sum(v for k, v in res.actions.items() if k.action == "program")
    assert progs == 512
    # 64 tables x 10 build adds, on the vector unit (priced as vector.op)
    assert res.actions[parse("tile0.vector.op")] == 64 * 10
    cm = load_cost_model(arch, dataflow="os")
    assert cm.action_energy_pj("tile0.lut_bank0.program") == pytest.approx(READ_8X11 * WIRE4)


def test_ternary_mac_has_no_multiplies(tmp_path):
    arch = tiny_arch(**{"tile.pe_array.pe_params": {"weights": "ternary"}})
    res = archsim.simulate(arch, str(gemm_csv(tmp_path, [("g", 4, 4, 4)])), dataflow="ws")
    assert not any(k.action == "mult" for k in res.actions)
    assert res.actions[parse("tile0.pe_array.add")] == 64


@pytest.mark.parametrize("name", ["tmac_4x4", "luttc_4x4"])
def test_shipped_design_points_load_and_price(name):
    cm = load_cost_model(load_arch(name), dataflow="ws")
    assert cm.organisation == "activation" and cm.tables.entries == 8
    assert cm.area().by_class_um2["lut_bank"] > 0
