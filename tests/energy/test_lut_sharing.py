"""Shared LUT tables: ports, copies, time multiplexing and private slices, worked by hand."""

import pytest

import archsim
from archsim.design.arch import ConfigError, load_arch
from archsim.energy import CostError, load_cost_model, load_cost_table
from archsim.energy.lutcost import TableSpec, table_cost

T = load_cost_table("horowitz_45nm")
E_CELL = 0.099e-3  # pJ per bit per active entry
GEMM = "benchmarks/scalesim_layers/gemm_64x64x64.csv"
T256 = T.value("sram", "area_um2", 256)  # one single-port 256 x 8-bit SRAM table


def test_multiport_prices_every_port():
    c = table_cost(TableSpec(256, 8, "sram", 0, 16, 16, "multiport"), T)
    # 16 ports: storage x (1 + 0.5 x 15); a read switches all 256 rows on sqrt(8.5)-long lines
    assert c.area_um2 == pytest.approx(T256 * 8.5)
    assert c.area_per_pe_um2 == pytest.approx(T256 * 8.5 / 16)
    assert c.read_pj == pytest.approx(8 * 256 * E_CELL * 8.5 ** 0.5)
    assert c.spec.copies == 1 and c.spec.stretch_cycles == 1


def test_replicated_and_time_multiplexed():
    rep = table_cost(TableSpec(256, 8, "sram", 0, 4, 16, "replicated"), T)
    assert rep.spec.copies == 4 and rep.area_um2 == pytest.approx(4 * T256 * 2.5)
    assert rep.read_pj == pytest.approx(8 * 256 * E_CELL * 2.5 ** 0.5)
    # programming broadcasts every entry to the 4 copies
    assert rep.write_pj_per_entry == pytest.approx(4 * rep.read_pj)
    tm = table_cost(TableSpec(256, 8, "sram", 0, 1, 16, "time_multiplexed"), T)
    assert tm.spec.stretch_cycles == 16 and tm.area_um2 == pytest.approx(T256)
    assert tm.read_pj == pytest.approx(8 * 256 * E_CELL)
    # three ports for 16 readers: ceil(16 / 3) = 6 cycles per MAC step
    assert TableSpec(256, 8, "sram", 0, 3, 16, "time_multiplexed").stretch_cycles == 6


def test_private_subarray_buys_the_16_row_read():
    c = table_cost(TableSpec(256, 8, "sram", 4, 1, 16, "private_subarray"), T)
    assert c.read_pj == pytest.approx(8 * 16 * E_CELL)
    # master + 16 private 16 x 8-bit slices (SRAM curve at 16 B)
    assert c.area_um2 == pytest.approx(T256 + 16 * T.value("sram", "area_um2", 16))
    # a slice entry: one random read of the master + one write of the slice
    assert c.write_pj_per_entry == pytest.approx(8 * 256 * E_CELL + 8 * 16 * E_CELL)
    with pytest.raises(ValueError, match="ROM cells cannot be written"):
        TableSpec(256, 8, "rom", 4, 1, 16, "private_subarray")
    with pytest.raises(ValueError, match="multiport"):
        TableSpec(256, 8, "sram", 0, 2, 16, "multiport")


def _arch(sharing, ports=1, **extra):
    return load_arch("lutna_1x1").with_overrides({
        "ideal_memory": True, "tile.lut_banks.sharing": sharing,
        "tile.lut_banks.table_read_ports": ports, **extra})


def test_time_multiplexing_stretches_compute():
    fast = archsim.simulate(_arch("replicated", 4), GEMM, dataflow="ws")
    slow = archsim.simulate(_arch("time_multiplexed", 4), GEMM, dataflow="ws")
    # 16 PEs per table set through 4 ports: every MAC step takes 4 cycles
    assert [l.compute_cycles for l in slow.layers] == [4 * l.compute_cycles
                                                       for l in fast.layers]
    assert slow.compute_bound_cycles == pytest.approx(4 * fast.compute_bound_cycles)
    assert slow.lut_organisation["stretch_cycles"] == 4
    assert slow.summary()["lut_organisation"]["sharing"] == "time_multiplexed"


def test_private_subarray_reloads_slices_every_weight_fold():
    res = archsim.simulate(_arch("private_subarray"), GEMM, dataflow="ws")
    progs = sum(v for k, v in res.actions.items() if k.action == "program")
    # 64 x 64 x 64 GEMM on 16 x 16 ws: ceil(64/16)^2 = 16 weight folds; each loads
    # 256 PEs x 4 tables x 16 slice entries; plus the master tables once (16 PEs per set:
    # 16 sets x 4 tables x 256 entries)
    assert progs == 16 * 256 * 4 * 16 + 16 * 4 * 256
    with pytest.raises(CostError, match="private_subarray"):
        archsim.simulate(_arch("private_subarray"), GEMM, dataflow="os")
    cm = load_cost_model(_arch("private_subarray"), dataflow="ws")
    assert cm.organisation_summary()["active_entries_per_read"] == 16


def test_config_rules():
    with pytest.raises(ConfigError, match="table_read_ports"):
        _arch("multiport", 2)
    with pytest.raises(ConfigError, match="private_subarray"):
        _arch("private_subarray", 1, **{"tile.lut_banks.organisation": "weight",
                                        "tile.lut_banks.pes_per_table": 1})
    # more ports than readers: only pes_per_table are built
    cm = load_cost_model(_arch("replicated", 64))
    assert cm.table_cost.spec.read_ports == 16 and cm.table_cost.spec.copies == 1
