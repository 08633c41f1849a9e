"""Energy and area of the LUT organisations: a weight-programmed design point is priced with its
own per-PE W*x tables (worked out by hand from the cost-table numbers), the product
organisation's numbers are unchanged, and a simulated run's energy is actions x these costs."""

import math

import pytest

import archsim
from archsim.design.arch import ConfigError, arch_from_dict, load_arch
from archsim.energy import (
    CostError,
    TableSpec,
    UnitAssumptions,
    load_cost_model,
    load_cost_table,
    pe_table_spec,
    pe_unit_cost,
    table_cost,
)
from archsim.pe import pe_kind
from tests.energy.test_model import TINY
from tests.sim.helpers import gemm_csv, tiny_arch

T = load_cost_table("horowitz_45nm")
E_CELL = 0.0000990  # lut_bank.read_pj_per_cell: pJ per bit per active entry
A_T = 0.1607  # lut_bank.periphery_um2_per_transistor
SRAM_SLOPE = math.log(53680 / 4553) / math.log(16)  # sram.area_um2 log-log, 512 B .. 8 KB
ADD11_PJ = 0.03 + 3 / 8 * (0.05 - 0.03)  # adder.energy_pj, linear 8 -> 16 bits: 0.0375
ADD11_UM2 = 36 + 3 / 8 * (67 - 36)  # adder.area_um2: 47.625
REG_UM2 = 3.857  # pe_array.register_um2_per_bit
# lutna, 8-bit activations, 8-bit weights (7-bit magnitude), k = 4
NA88 = {"act_bits": 8, "weight_bits": 8, "digit_bits": 4}
# its weight-programmed table: 2^4 entries x (8 + 4) bits = 24 B
T16X12_SRAM_UM2 = 4553 * (24 / 512) ** SRAM_SLOPE  # 298.95 um^2 (extrapolated below 512 B)
READ_16X12 = 12 * 16 * E_CELL  # 0 static index bits: all 16 rows switch; 0.019008 pJ


# ---- the arithmetic unit ---------------------------------------------------------------
def test_weight_table_spec_and_read_by_hand():
    kind = pe_kind("lutna", **NA88)
    spec = pe_table_spec(kind, UnitAssumptions(), 1, "weight")
    assert spec == TableSpec(16, 12, "sram", static_index_bits=0, read_ports=1, pes_per_table=1)
    # the weight-stationary assumption does not matter: the activation digit is the whole index
    rand = pe_table_spec(kind, UnitAssumptions(weight_stationary=False), 1, "weight")
    assert rand == spec
    tc = table_cost(spec, T)
    assert tc.read_pj == pytest.approx(READ_16X12)
    # the SRAM macro cap (read_pj_per_64b at 24 B x (12/64)^0.38 = 0.207 pJ) does not bind
    assert "read_pj_per_cell" in tc.read_model
    assert tc.write_pj_per_entry == pytest.approx(READ_16X12)  # write_to_read 1.0
    assert tc.area_um2 == pytest.approx(T16X12_SRAM_UM2)
    # the product organisation reads a 256 x 8 digit-product table, 4 weight-digit bits static
    assert pe_table_spec(kind, UnitAssumptions(), 1) == TableSpec(256, 8, "sram", 4, 1, 1)


def test_weight_unit_cost_by_hand():
    u = pe_unit_cost(pe_kind("lutna", **NA88), T, 1, UnitAssumptions(), "weight")
    assert u.organisation == "weight"
    assert u.lookups_per_mac == 2 and u.tables_per_pe == 1  # one look-up per activation digit
    assert u.table.spec == TableSpec(16, 12, "sram")
    # partial products |W| x a_i: 127 x 15 = 1905 (11 bits) at shift 0 and 4; they overlap, so
    # one add from bit 4 to bit 15: 11 bits
    assert u.add_widths == (11,)
    assert u.breakdown["lookup_pj"] == pytest.approx(2 * READ_16X12)
    assert u.breakdown["adders_pj"] == pytest.approx(ADD11_PJ)
    assert u.energy_per_mac_pj == pytest.approx(2 * READ_16X12 + ADD11_PJ + 0.1)  # + 32-b acc
    # area per PE: one 16 x 12 table (not the four 256 x 8 product tables) + adders + acc.
    assert u.breakdown["tables_um2"] == pytest.approx(T16X12_SRAM_UM2)
    assert u.area_um2 == pytest.approx(T16X12_SRAM_UM2 + ADD11_UM2 + 137)
    assert u.leakage_uw == pytest.approx(T16X12_SRAM_UM2 * 0.01 + (ADD11_UM2 + 137) * 0.02)
    prod = pe_unit_cost(pe_kind("lutna", **NA88), T, 1, UnitAssumptions())
    assert prod.organisation == "product" and prod.tables_per_pe == 4
    assert prod.table.spec == TableSpec(256, 8, "sram", 4)


def test_weight_unit_cost_latch_cells_by_hand():
    u = pe_unit_cost(pe_kind("lutna", **NA88), T, 1, UnitAssumptions(cell="latch"), "weight")
    # 16 x 12 latch table: storage 192 bits x 1.607; 4 x 4 organisation: 4 row drivers x 8 T,
    # 12 bits x (4 - 1) mux2 x 6 T, 12 output drivers x 4 T
    area = 192 * 1.607 + (4 * 8 + 12 * 3 * 6 + 12 * 4) * A_T
    assert u.table.area_um2 == pytest.approx(area)
    assert u.breakdown["tables_um2"] == pytest.approx(area)
    assert u.table.read_pj == pytest.approx(READ_16X12)
    assert u.table.write_pj_per_entry == pytest.approx(READ_16X12)


def test_weight_shift_add_widths():
    # chain: one add of the full 15-bit sum (1905 + 1905 x 16 = 32385)
    u = pe_unit_cost(pe_kind("lutna", **NA88), T, 1, UnitAssumptions(adder_tree="chain"),
                     "weight")
    assert u.add_widths == (15,)
    # 9-bit weights (8-bit magnitude, 255 x 15 = 3825: 12 bits): 13-bit words, a 12-bit add
    u9 = pe_unit_cost(pe_kind("lutna"), T, 1, UnitAssumptions(), "weight")
    assert u9.table.spec == TableSpec(16, 13, "sram") and u9.add_widths == (12,)
    # k = 2: 4 activation digits, 4 x 10-bit entries, 4 look-ups; 3 pairwise adds
    k2 = pe_unit_cost(pe_kind("lutna", **{**NA88, "digit_bits": 2}), T, 1, UnitAssumptions(),
                      "weight")
    assert k2.table.spec == TableSpec(4, 10, "sram") and k2.lookups_per_mac == 4
    assert len(k2.add_widths) == 3
    # k = 8: one digit, one look-up of a 256 x 16 table, no shift-add
    k8 = pe_unit_cost(pe_kind("lutna", **{**NA88, "digit_bits": 8}), T, 1, UnitAssumptions(),
                      "weight")
    assert k8.table.spec == TableSpec(256, 16, "sram") and k8.lookups_per_mac == 1
    assert k8.add_widths == ()
    # signed activations: a 7-bit magnitude -> digits 15 and 7: 127 x 7 = 889 at shift 4
    s = pe_unit_cost(pe_kind("lutna", **NA88, act_signed=True), T, 1, UnitAssumptions(),
                     "weight")
    assert s.add_widths == ((889 << 4).bit_length() - 4,)


def test_weight_unit_cost_errors():
    with pytest.raises(CostError, match=r"^organisation 'weight' holds one table per PE \(its own "
                                        r"stationary weight\); pes_per_table must be 1, got 4$"):
        pe_unit_cost(pe_kind("lutna"), T, 4, UnitAssumptions(), "weight")
    with pytest.raises(CostError, match="organisation 'weight' needs the exact 'lutna' PE kind"):
        pe_unit_cost(pe_kind("alutna", approx="drop_ll"), T, 1, UnitAssumptions(), "weight")
    with pytest.raises(CostError, match="organisation 'weight' needs the exact 'lutna' PE kind"):
        pe_table_spec(pe_kind("mac"), UnitAssumptions(), 1, "weight")
    with pytest.raises(ValueError, match="organisation must be one of"):
        pe_unit_cost(pe_kind("lutna"), T, 1, UnitAssumptions(), "rom")


# ---- the cost model of a design point ----------------------------------------------------
# test_model's tiny 2-tile chip with 2x2 LUT-NA PEs and weight-organised banks
TINY_NA = {
    **TINY,
    "name": "tiny_lutna_weight",
    "tile": {
        **TINY["tile"],
        "pe_array": {"rows": 2, "cols": 2, "pe_kind": "lutna", "pe_params": dict(NA88)},
        "lut_banks": {"count": 2, "pes_per_table": 1, "organisation": "weight"},
    },
}


def test_weight_design_point_by_hand():
    cm = load_cost_model(arch_from_dict(TINY_NA, source="tiny_na"), dataflow="ws")
    e = cm.action_energy_pj
    assert e("tile0.lut_bank1.lookup") == pytest.approx(READ_16X12)
    assert e("tile1.lut_bank0.program") == pytest.approx(READ_16X12)  # per entry written
    # adds per MAC the simulator counts: 1 shift-add (11 bits) + the 32-bit accumulate
    assert cm.ops.lookups == 2 and cm.ops.adds == 2 and cm.ops.shifts == 1
    assert e("tile0.pe_array.add") == pytest.approx((ADD11_PJ + 0.1) / 2)
    assert e("tile0.pe_array.shift") == 0.0
    assert e("tile0.pe_array.mac") == pytest.approx((8 + 32) * 0.00321)
    a = cm.area()
    # 4 PEs x one 16 x 12 table each, split over 2 banks
    assert a.by_component_um2["tile0.lut_bank0"] == pytest.approx(2 * T16X12_SRAM_UM2)
    assert a.by_class_um2["lut_bank"] == pytest.approx(2 * 4 * T16X12_SRAM_UM2)
    # PE array: 4 x (11-bit adder + accumulator + (8 + 8 + 32) register bits)
    pe = 4 * (ADD11_UM2 + 137 + 48 * REG_UM2)
    assert a.by_component_um2["tile1.pe_array"] == pytest.approx(pe)
    r = cm.energy({}, latency_cycles=500)  # 1 us
    assert r.leakage_by_class_pj["lut_bank"] == pytest.approx(2 * 4 * T16X12_SRAM_UM2 * 0.01)
    assert r.leakage_by_class_pj["pe_array"] == pytest.approx(2 * pe * 0.02)
    # every derivation states the organisation and the table size it priced
    basis = {c.action: c.basis for c in cm.action_costs() if c.component in ("lut_bank",
                                                                             "pe_array")}
    for act in ("lookup", "program", "add"):
        assert "weight organisation" in basis[act] and "16 x 12" in basis[act], act
    assert "0 static index bits" in basis["lookup"]
    assert "11, 32" in basis["add"]
    assert "weight organisation, one 16 x 12-bit sram table of W*x per PE" in cm.source


def test_weight_design_point_rejects_shared_tables():
    with pytest.raises(ConfigError, match="pes_per_table: organisation 'weight'"):
        arch_from_dict({**TINY_NA, "tile": {**TINY_NA["tile"], "lut_banks": {
            "count": 2, "pes_per_table": 2, "organisation": "weight"}}}, source="tiny_na")


# The product organisation's numbers, recorded before the weight organisation was costed
# (lutna_4x4, horowitz_45nm, ws): the per-action energies, the area and the leakage power.
LUTNA_4X4_PRODUCT = {
    ("pe_array", "mac"): 0.12840000000000001,
    ("pe_array", "shift"): 0.0,
    ("pe_array", "add"): 0.0425,
    # shipped sharing 'replicated', 4 read ports per copy: a read switches the whole 256 x 8
    # array (decoder, one word line, all bit lines) of a 4-port cell whose lines are
    # sqrt(1 + 0.5 x 3) longer; the 16-row read (0.012672 pJ) needs private slices
    ("lut_bank", "lookup"): 8 * 256 * 0.099e-3 * 2.5 ** 0.5,
    ("lut_bank", "program"): 4 * 8 * 256 * 0.099e-3 * 2.5 ** 0.5,  # broadcast to 4 copies
    ("ifmap_sram", "read_bytes"): 1.7677669529663689,
    ("gbuf", "read_bytes"): 12.5,
}
LUTNA_4X4_AREA_UM2 = 26820905.800334316
LUTNA_4X4_LEAK_UW = 287448.9632833431
LUTNA_4X4_LUT_BANK_UM2 = 2516047.829750667


def test_product_organisation_unchanged():
    # the model without the shipped zero-gating hardware (priced separately below)
    cm = load_cost_model(load_arch("lutna_4x4").with_overrides(
        {"tile.sparsity.zero_gating": False}), dataflow="ws")
    got = {(c.component, c.action): c.energy_pj for c in cm.action_costs()}
    for key, pj in LUTNA_4X4_PRODUCT.items():
        assert got[key] == pytest.approx(pj, rel=1e-12), key
    # the recorded tables were one single-port copy per 16 PEs; now 4 copies of 4 ports
    # (storage x (1 + 0.5 x 3)): 10x the table area, and its leakage at 0.01 uW/um^2
    extra = 9 * LUTNA_4X4_LUT_BANK_UM2
    assert cm.area().total_um2 == pytest.approx(LUTNA_4X4_AREA_UM2 + extra, rel=1e-12)
    assert cm.area().by_class_um2["lut_bank"] == pytest.approx(10 * LUTNA_4X4_LUT_BANK_UM2,
                                                               rel=1e-12)
    assert cm.leakage_uw() == pytest.approx(LUTNA_4X4_LEAK_UW + 0.01 * extra, rel=1e-12)
    assert cm.unit.organisation == "product" and cm.unit.tables_per_pe == 4
    # zero gating per PE: 9 weight bits x 0.643 um^2 (NOR inputs) + a 3.857 um^2 flag bit +
    # a 1.607 um^2 clock gate = 11.251 um^2, on 16 tiles x 256 PEs
    gated = load_cost_model(load_arch("lutna_4x4"), dataflow="ws")
    assert gated.area().by_class_um2["zero_gate"] == pytest.approx(
        4096 * (9 * 0.643 + 3.857 + 1.607), rel=1e-12)
    assert gated.area().total_um2 == pytest.approx(
        LUTNA_4X4_AREA_UM2 + extra + 4096 * (9 * 0.643 + 3.857 + 1.607), rel=1e-12)
    basis = {c.action: c.basis for c in cm.action_costs() if c.component == "lut_bank"}
    assert basis["lookup"].startswith("product organisation: 4 sram table(s) of 256 x 8 bits "
                                      "per 16 PEs")
    assert "product organisation (256 x 8-bit tables)" in cm.source


# ---- a simulated run ---------------------------------------------------------------------
def _weight_arch(**over):
    return tiny_arch(**{"tile.pe_array.pe_kind": "lutna", "tile.pe_array.pe_params": dict(NA88),
                        "tile.lut_banks.count": 2, "tile.lut_banks.organisation": "weight",
                        **over})


def test_weight_run_energy_is_actions_times_costs(tmp_path):
    arch = _weight_arch()
    res = archsim.simulate(arch, str(gemm_csv(tmp_path, [("g", 8, 8, 8)])), dataflow="ws")
    cm = load_cost_model(arch, dataflow="ws")
    r = res.energy
    looks = {k: v for k, v in res.actions.items() if k.action == "lookup"}
    progs = {k: v for k, v in res.actions.items() if k.action == "program"}
    n_look, n_prog = sum(looks.values()), sum(progs.values())
    # 8 x 8 x 8 MACs x 2 activation digits; 4 ws folds x 16 PEs x 16 entries
    assert n_look == 2 * 512 and n_prog == 4 * 16 * 16
    per_look = cm.action_energy_pj("tile0.lut_bank0.lookup")
    per_entry = cm.action_energy_pj("tile0.lut_bank0.program")
    assert per_look == pytest.approx(READ_16X12) and per_entry == pytest.approx(READ_16X12)
    assert sum(r.by_action_pj[str(k)] for k in looks) == pytest.approx(n_look * per_look)
    assert sum(r.by_action_pj[str(k)] for k in progs) == pytest.approx(n_prog * per_entry)
    # the lut_bank class: look-ups + programming + the 16 tables' leakage over the run
    leak = 16 * T16X12_SRAM_UM2 * 0.01 * res.latency_cycles / arch.clock_mhz
    assert r.leakage_by_class_pj["lut_bank"] == pytest.approx(leak)
    assert r.by_class_pj["lut_bank"] == pytest.approx(n_look * per_look + n_prog * per_entry
                                                      + leak)
    assert res.area.by_class_um2["lut_bank"] == pytest.approx(16 * T16X12_SRAM_UM2)
    assert "weight organisation" in r.source


def test_weight_run_on_a_shipped_design_point():
    arch = load_arch("lutna_4x4").with_overrides({"tile.lut_banks.organisation": "weight",
                                                  "tile.lut_banks.pes_per_table": 1})
    res = archsim.simulate(arch, "benchmarks/scalesim_layers/resnet18_cifar.csv", dataflow="ws")
    cm = load_cost_model(arch, dataflow="ws")
    # 9-bit weights: one 16 x 13-bit table per PE, 2 look-ups per MAC (its one reader: the
    # shipped 'replicated' sharing builds 1 copy of 1 port)
    assert cm.table_cost.spec == TableSpec(16, 13, "sram", sharing="replicated")
    per_look = 13 * 16 * E_CELL
    looks = {k: v for k, v in res.actions.items() if k.action == "lookup"}
    progs = {k: v for k, v in res.actions.items() if k.action == "program"}
    assert sum(looks.values()) == 2 * res.macs_executed
    assert sum(res.energy.by_action_pj[str(k)] for k in looks) == pytest.approx(
        sum(looks.values()) * per_look)
    assert sum(res.energy.by_action_pj[str(k)] for k in progs) == pytest.approx(
        sum(progs.values()) * per_look)
    # 16 tiles x 256 PEs x one 26-B table
    t26 = 4553 * (26 / 512) ** SRAM_SLOPE
    assert res.area.by_class_um2["lut_bank"] == pytest.approx(16 * 256 * t26)


def test_weight_tables_cannot_be_rom():
    with pytest.raises(CostError, match=r"rewrites its tables for every weight fold; ROM cells "
                                        r"cannot be written"):
        pe_unit_cost(pe_kind("lutna"), T, 1, UnitAssumptions(cell="rom"), "weight")
