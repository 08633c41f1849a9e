"""CostModel: per-action energies and area roll-ups on tiny configs worked out by hand;
missing cost entries fail before any simulation with component, action and file named."""

import math

import pytest
import yaml

from archsim.design.arch import arch_from_dict, load_arch
from archsim.energy import CostError, load_cost_model
from archsim.energy.tables import builtin_energy_dir

# one 2-tile chip of 2x2 MAC PEs, 512 B buffers (1 bank), 1 vector lane, 8 B links, 8 KB gbuf
TINY = {
    "name": "tiny_mac",
    "clock_mhz": 500.0,
    "grid": {"rows": 1, "cols": 2},
    "tile": {
        "pe_array": {"rows": 2, "cols": 2, "pe_kind": "mac",
                     "pe_params": {"act_bits": 8, "weight_bits": 9}},
        "lut_banks": {"count": 0},
        "sram": {"ifmap": {"capacity_bytes": 512}, "weight": {"capacity_bytes": 512},
                 "ofmap": {"capacity_bytes": 512}},
        "vector_lanes": 1,
    },
    "interconnect": {"link_bytes_per_cycle": 8},
    "dram": {"channels": 1},
    "gbuf": {"capacity_bytes": 8192},
    "energy_table": "energy/horowitz_45nm.yaml",
    "leakage": True,
}
MULT_PJ = 0.2 * (72 / 64) ** (math.log(15.5) / math.log(16))  # 8 x 9 multiplier, 0.22470 pJ
MULT_UM2 = 282 * (72 / 64) ** (math.log(3495 / 282) / math.log(16))  # 313.83 um^2


@pytest.fixture(scope="module")
def tiny():
    return load_cost_model(arch_from_dict(TINY, source="tiny"))


def test_per_action_energies_by_hand(tiny):
    e = tiny.action_energy_pj
    assert e("tile0.pe_array.mac") == pytest.approx((8 + 32) * 0.00321)  # registers: 0.1284
    assert e("tile1.pe_array.mult") == pytest.approx(MULT_PJ)
    assert e("tile0.pe_array.add") == pytest.approx(0.1)  # the 32-bit accumulate
    assert e("tile0.ifmap_sram.read_bytes") == pytest.approx(2.14 / 8)  # 512 B: 2.14 pJ/64 b
    assert e("tile0.ofmap_sram.write_bytes") == pytest.approx(2.14 / 8)  # write_to_read 1.0
    assert e("tile0.vector.op") == pytest.approx(0.05)
    assert e("noc.r0c0.E.flit_hop") == pytest.approx(8 * 0.3)  # 8 B flit x 0.3 pJ/B
    assert e("noc.mem0.in.flit_hop") == pytest.approx(2.4)
    assert e("gbuf.read_bytes") == pytest.approx(10 / 8)  # 8 KB: 10 pJ per 64 bits
    assert e("dram.ch0.write_bytes") == pytest.approx(162.5)


def test_energy_roll_up_by_hand(tiny):
    actions = {"tile0.pe_array.mac": 100, "tile0.pe_array.mult": 100, "tile0.pe_array.add": 100,
               "tile1.ifmap_sram.read_bytes": 64, "gbuf.read_bytes": 8,
               "dram.ch0.read_bytes": 8, "noc.mem0.in.flit_hop": 1}
    # 12.84 + 22.470 + 10 + 64 * 0.2675 + 8 * 1.25 + 8 * 162.5 + 2.4
    dynamic = 12.84 + 100 * MULT_PJ + 10 + 17.12 + 10 + 1300 + 2.4
    # leakage (uW): per tile 4 PEs x (313.83 + 137 + 49 reg bits x 3.857) x 0.02
    #   + 3 x 4553 x 0.01 (SRAM) + 128.7 x 0.02 (vector) + 8 x 771 x 0.02 (router);
    #   + gbuf 53680 x 0.01; 1000 cycles at 500 MHz = 2 us
    pe = 4 * (MULT_UM2 + 137 + 49 * 3.857) * 0.02
    per_tile = pe + 3 * 4553 * 0.01 + 128.7 * 0.02 + 8 * 771 * 0.02
    leak_uw = 2 * per_tile + 53680 * 0.01
    r = tiny.energy(actions, latency_cycles=1000)
    assert r.dynamic_pj == pytest.approx(dynamic)
    assert r.leakage_pj == pytest.approx(leak_uw * 2.0)
    assert r.total_pj == pytest.approx(dynamic + leak_uw * 2.0)
    assert sum(r.by_action_pj.values()) == pytest.approx(r.dynamic_pj)
    assert sum(r.by_class_pj.values()) == pytest.approx(r.total_pj)
    assert sum(r.by_component_pj.values()) == pytest.approx(r.total_pj)
    assert r.by_component_pj["dram.ch0"] == pytest.approx(1300)
    assert r.by_class_pj["sram"] == pytest.approx(17.12 + 2 * 3 * 4553 * 0.01 * 2.0)
    assert "horowitz_45nm" in r.source and "45 nm" in r.source and "0.9 V" in r.source


def test_area_roll_up_by_hand(tiny):
    a = tiny.area()
    pe = 4 * (MULT_UM2 + 137 + 49 * 3.857)
    per_tile = pe + 3 * 4553 + 128.7 + 8 * 771
    assert a.by_component_um2["tile1.pe_array"] == pytest.approx(pe)
    assert a.by_component_um2["tile0.weight_sram"] == pytest.approx(4553)
    assert a.by_component_um2["noc.r0c1"] == pytest.approx(6168)
    assert a.total_um2 == pytest.approx(2 * per_tile + 53680)
    assert a.by_class_um2["sram"] == pytest.approx(6 * 4553)
    assert sum(a.by_class_um2.values()) == pytest.approx(a.total_um2)
    assert "lut_bank" not in a.by_class_um2


def test_no_leakage_when_disabled():
    cm = load_cost_model(arch_from_dict({**TINY, "leakage": False}, source="tiny"))
    r = cm.energy({"tile0.pe_array.mac": 1}, latency_cycles=10**6)
    assert r.leakage_pj == 0 and r.total_pj == pytest.approx(0.1284)


def test_lut_design_point_by_hand():
    d = yaml.safe_load(yaml.safe_dump(TINY))
    d["tile"]["pe_array"]["pe_kind"] = "lutna"
    d["tile"]["pe_array"]["pe_params"] = {"act_bits": 8, "weight_bits": 9, "digit_bits": 4}
    d["tile"]["lut_banks"] = {"count": 2, "pes_per_table": 2}
    cm = load_cost_model(arch_from_dict(d, source="tiny_lutna"))
    # default sharing multiport: 2 PEs per table -> 2 read ports; a read switches all 256
    # rows' bit lines (two PEs hold different weight digits), on lines sqrt(1 + 0.5) longer
    assert cm.action_energy_pj("tile0.lut_bank1.lookup") == pytest.approx(
        8 * 256 * 0.000099 * 1.5 ** 0.5)
    # program: one write ~ one read of the same array
    assert cm.action_energy_pj("tile0.lut_bank0.program") == pytest.approx(
        8 * 256 * 0.000099 * 1.5 ** 0.5)
    # add: (8-bit 0.03 + 12-bit 0.04 + 32-bit accumulate 0.1) spread over the 4 counted adds
    assert cm.action_energy_pj("tile1.pe_array.add") == pytest.approx(0.17 / 4)
    assert cm.action_energy_pj("tile1.pe_array.shift") == 0.0
    # tables: 4 per PE-group, ceil(4 PEs / 2) = 2 groups -> 8 SRAM tables of 256 B per tile,
    # split over 2 banks; the second port adds half the storage
    t256 = cm.table.value("sram", "area_um2", 256)
    assert cm.area().by_component_um2["tile0.lut_bank0"] == pytest.approx(4 * t256 * 1.5)
    with pytest.raises(CostError, match="does not emit 'mult'"):
        cm.action_energy_pj("tile0.pe_array.mult")


def test_unknown_or_foreign_actions_raise(tiny):
    with pytest.raises(CostError, match="not a simulator action name"):
        tiny.energy({"tile0.pe_array.divide": 1}, 0)
    with pytest.raises(CostError, match="has no component 'tile7.pe_array'"):
        tiny.energy({"tile7.pe_array.mac": 1}, 0)
    with pytest.raises(CostError, match="has no component 'tile0.lut_bank0'"):
        tiny.energy({"tile0.lut_bank0.lookup": 1}, 0)


def _without(tmp_path, cls, key):
    data = yaml.safe_load((builtin_energy_dir() / "horowitz_45nm.yaml").read_text())
    del data["classes"][cls][key]
    p = tmp_path / "x.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_missing_lookup_entry_fails_before_simulation(tmp_path):
    p = _without(tmp_path, "lut_bank", "read_pj_per_cell")
    arch = load_arch("lutna_2x2").with_overrides({"energy_table": str(p)})
    with pytest.raises(CostError) as ei:
        load_cost_model(arch)
    assert str(ei.value) == (
        f"{p}: no energy for action 'lookup' of component class 'lut_bank' (used by "
        f"tile0.lut_bank0); add lut_bank.lookup_pj (or lut_bank.read_pj_per_cell for the "
        f"structural model)")


def test_explicit_lookup_energy_satisfies_the_check(tmp_path):
    data = yaml.safe_load((builtin_energy_dir() / "horowitz_45nm.yaml").read_text())
    del data["classes"]["lut_bank"]["read_pj_per_cell"]
    data["classes"]["lut_bank"]["lookup_pj"] = {"value": 0.5, "source": "test override"}
    data["classes"]["lut_bank"]["program_pj"] = {"value": 0.7, "source": "test override"}
    p = tmp_path / "y.yaml"
    p.write_text(yaml.safe_dump(data))
    cm = load_cost_model(load_arch("lutna_2x2"), table=p)
    assert cm.action_energy_pj("tile0.lut_bank0.lookup") == 0.5
    assert cm.action_energy_pj("tile0.lut_bank0.program") == 0.7


def test_missing_multiplier_and_area_entries(tmp_path):
    p = _without(tmp_path, "multiplier", "energy_pj")
    with pytest.raises(CostError, match=r"no energy for action 'mult' of component class "
                                        r"'pe_array' \(used by tile0.pe_array\); add "
                                        r"multiplier.energy_pj"):
        load_cost_model(load_arch("mac_2x2"), table=p)
    p = _without(tmp_path, "sram", "area_um2")
    with pytest.raises(CostError, match=r"no area / leakage for component class 'sram' "
                                        r"\(used by tile0.ifmap_sram\); add sram.area_um2"):
        load_cost_model(load_arch("mac_2x2"), table=p)
    p = _without(tmp_path, "dram", "write_pj_per_byte")
    with pytest.raises(CostError, match=r"'write_bytes' of component class 'dram' \(used by "
                                        r"dram.ch0\); add dram.write_pj_per_byte"):
        load_cost_model(load_arch("lutna_2x2"), table=p)


@pytest.mark.parametrize("name", ["lutna_4x4", "mac_4x4", "scalesim_16x16"])
def test_shipped_configs_are_covered_by_both_tables(name):
    for table in ("horowitz_45nm", "cacti_65nm"):
        cm = load_cost_model(load_arch(name), table=table)
        assert cm.area().total_um2 > 0 and cm.leakage_uw() > 0


def test_simulated_run_energy(tmp_path):
    from archsim import simulate

    csv = tmp_path / "t.csv"
    csv.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                   "Channels, Num Filter, Strides,\nconv1, 10, 10, 3, 3, 8, 16, 1,\n")
    arch = load_arch("lutna_2x2")
    cm = load_cost_model(arch, dataflow="ws")
    res = simulate(arch, str(csv), dataflow="ws")
    r = cm.energy(res.actions, res.latency_cycles)
    lookups = sum(v for k, v in res.actions.items() if k.action == "lookup")
    assert lookups == 4 * res.macs_executed
    assert r.by_class_pj["lut_bank"] >= lookups * cm.table_cost.read_pj
    for name, count in res.actions.items():
        assert r.by_action_pj[str(name)] == pytest.approx(count * cm.action_energy_pj(name))
    assert r.leakage_pj > 0 and r.total_pj == pytest.approx(r.dynamic_pj + r.leakage_pj)
