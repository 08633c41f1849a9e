"""Structural LUT and arithmetic-unit costs: hand-worked values and directions of change."""

import pytest

from archsim.energy import (
    TableSpec,
    UnitAssumptions,
    load_cost_table,
    pe_unit_cost,
    shift_add_widths,
    table_cost,
)
from archsim.pe import pe_kind

T = load_cost_table("horowitz_45nm")
A_T = 0.1607  # um^2 per transistor (periphery) in horowitz_45nm
E_CELL = 0.0000990  # pJ per bit per active entry
PAPER = UnitAssumptions(cell="sram", weight_stationary=True, include_accumulator=False)


def test_latch_table_by_hand():
    c = table_cost(TableSpec(256, 8, "latch", static_index_bits=4), T)
    # read: 8 bits x (256 >> 4 = 16 active rows) x 0.099 fJ = 0.012672 pJ
    assert c.read_pj == pytest.approx(8 * 16 * E_CELL)
    # storage 256 x 8 x 1.607; 16 x 16 organisation: 16 row drivers x 8 T, column mux
    # 8 bits x (16 - 1) mux2 x 6 T, output 8 x 4 T; all x 0.1607 um^2
    storage = 2048 * 1.607
    periphery = (16 * 8 + 8 * 15 * 6 + 8 * 4) * A_T
    assert c.area_um2 == pytest.approx(storage + periphery)
    assert c.area_breakdown_um2["storage"] == pytest.approx(storage)
    # write = one random-access read (all 256 rows) x write_to_read (1.0)
    assert c.write_pj_per_entry == pytest.approx(8 * 256 * E_CELL)
    # leakage = area x 0.01 uW/um^2
    assert c.leakage_uw == pytest.approx((storage + periphery) * 0.01)


def test_rom_table_by_hand_and_sharing():
    c = table_cost(TableSpec(256, 8, "rom", static_index_bits=0, pes_per_table=4), T)
    storage = 2048 * 0.1607
    periphery = (16 * 8 + 8 * 15 * 6 + 8 * 4) * A_T
    assert c.area_um2 == pytest.approx(storage + periphery)
    assert c.area_per_pe_um2 == pytest.approx((storage + periphery) / 4)
    assert c.read_pj == pytest.approx(8 * 256 * E_CELL)
    assert c.write_pj_per_entry == 0.0  # ROM contents are fixed
    assert c.leakage_uw == pytest.approx(storage * 0.002 + periphery * 0.01)


def test_sram_table_uses_macro_curve_and_cap():
    # 256 x 8 SRAM: area from the SRAM curve at 256 B (extrapolated below 512 B in log-log)
    c = table_cost(TableSpec(256, 8, "sram", static_index_bits=4), T)
    assert c.area_um2 == pytest.approx(T.value("sram", "area_um2", 256))
    # a random access to the 2^17 x 17 monolithic table is capped by the macro read energy:
    # 17 x 131072 x 0.099 fJ = 220.6 pJ > E64(278,528 B) x (17/64)^0.38
    big = table_cost(TableSpec(1 << 17, 17, "sram"), T)
    macro = T.value("sram", "read_pj_per_64b", (1 << 17) * 17 / 8) * (17 / 64) ** 0.38
    assert big.read_pj == pytest.approx(macro) and macro < 17 * (1 << 17) * E_CELL
    assert "macro" in big.read_model
    # with the 9 weight bits static only 256 rows switch: 17 x 256 x 0.099 fJ
    ws = table_cost(TableSpec(1 << 17, 17, "sram", static_index_bits=9), T)
    assert ws.read_pj == pytest.approx(17 * 256 * E_CELL)


def test_extra_ports_cost_area_not_energy():
    one = table_cost(TableSpec(256, 8, "latch", read_ports=1), T)
    two = table_cost(TableSpec(256, 8, "latch", read_ports=2), T)
    storage = 2048 * 1.607
    periphery = (16 * 8 + 8 * 15 * 6 + 8 * 4) * A_T
    # storage x (1 + 0.5), periphery x 2
    assert two.area_um2 == pytest.approx(storage * 1.5 + 2 * periphery)
    assert two.read_pj == one.read_pj


def test_shift_add_widths_by_hand():
    # 8b x 8b magnitudes, 4-bit digits: LL (<<0), LH and HL (<<4), HH (<<8), each <= 225.
    # HH and LL do not overlap -> one 16-bit operand for free; LH + HL is an 8-bit add; the
    # sum (bits 4..12) joins the 16-bit operand over bits 4..15: a 12-bit add.
    terms = [(0, 225), (4, 225), (4, 225), (8, 225)]
    assert shift_add_widths(terms) == [8, 12]
    # chain: 3 adds at the 16-bit product width
    assert shift_add_widths(terms, "chain") == [16, 16, 16]
    # a single term needs no add; zero terms are dropped
    assert shift_add_widths([(8, 225)]) == []
    assert shift_add_widths([(0, 0), (8, 225)]) == []
    with pytest.raises(ValueError, match="adder_tree"):
        shift_add_widths(terms, "wallace")


def test_unit_costs_by_hand():
    mac = pe_unit_cost(pe_kind("mac"), T, assumptions=PAPER)
    # 8 x 9 = 72 product bits: energy 0.2 * (72/64)^(ln 15.5 / ln 16),
    # area 282 * (72/64)^(ln(3495/282) / ln 16)
    import math

    e = 0.2 * (72 / 64) ** (math.log(15.5) / math.log(16))
    a = 282 * (72 / 64) ** (math.log(3495 / 282) / math.log(16))
    assert mac.energy_per_mac_pj == pytest.approx(e)
    assert mac.area_um2 == pytest.approx(a)
    with_acc = pe_unit_cost(pe_kind("mac"), T)  # + 32-bit accumulator: 0.1 pJ, 137 um^2
    assert with_acc.energy_per_mac_pj == pytest.approx(e + 0.1)
    assert with_acc.area_um2 == pytest.approx(a + 137)

    na = pe_unit_cost(pe_kind("lutna"), T, pes_per_table=64, assumptions=PAPER)
    # 4 look-ups x 8 bits x 16 active rows x 0.099 fJ + adds of 8 (0.03) and 12 (0.04) bits
    assert na.energy_per_mac_pj == pytest.approx(4 * 8 * 16 * E_CELL + 0.03 + 0.04)
    # 4 SRAM tables / 64 PEs + adders 36 + 51.5 um^2
    sram256 = T.value("sram", "area_um2", 256)
    assert na.area_um2 == pytest.approx(4 * sram256 / 64 + 36 + 51.5)
    assert na.add_widths == (8, 12) and na.lookups_per_mac == 4 and na.tables_per_pe == 4

    lut = pe_unit_cost(pe_kind("lut"), T, pes_per_table=256, assumptions=PAPER)
    assert lut.energy_per_mac_pj == pytest.approx(17 * 256 * E_CELL)
    assert lut.area_um2 == pytest.approx(T.value("sram", "area_um2", (1 << 17) * 17 / 8) / 256)


def _na(**kw):
    share = kw.pop("pes_per_table", 1)
    return pe_unit_cost(pe_kind("lutna", **kw), T, share, PAPER)


def test_digit_width_changes_lut_cost_in_expected_direction():
    k2, k4, k8 = _na(digit_bits=2), _na(digit_bits=4), _na(digit_bits=8)
    # wider digits: bigger tables (2^(2k) entries), fewer look-ups, more table area per PE
    assert k2.table.spec.entries < k4.table.spec.entries < k8.table.spec.entries
    assert k2.lookups_per_mac > k4.lookups_per_mac > k8.lookups_per_mac
    assert k2.breakdown["tables_um2"] < k4.breakdown["tables_um2"] < k8.breakdown["tables_um2"]
    assert k2.table.read_pj < k4.table.read_pj < k8.table.read_pj
    assert k2.area_um2 < k4.area_um2 < k8.area_um2
    # fewer but costlier look-ups: total look-up energy grows with k (2^k active rows x 2k bits)
    assert k2.breakdown["lookup_pj"] < k4.breakdown["lookup_pj"] < k8.breakdown["lookup_pj"]


def test_weight_width_changes_lut_cost_in_expected_direction():
    w5, w9, w13 = _na(weight_bits=5), _na(weight_bits=9), _na(weight_bits=13)
    # 4-, 8-, 12-bit magnitudes -> 1, 2, 3 weight digits -> 2, 4, 6 look-ups and tables
    assert (w5.lookups_per_mac, w9.lookups_per_mac, w13.lookups_per_mac) == (2, 4, 6)
    assert w5.energy_per_mac_pj < w9.energy_per_mac_pj < w13.energy_per_mac_pj
    assert w5.area_um2 < w9.area_um2 < w13.area_um2
    # monolithic table: each weight bit doubles the entries
    lut = [pe_unit_cost(pe_kind("lut", weight_bits=b), T, 1, PAPER) for b in (7, 8, 9)]
    assert lut[0].area_um2 < lut[1].area_um2 < lut[2].area_um2
    assert lut[0].table.spec.entries * 2 == lut[1].table.spec.entries


def test_sharing_factor_changes_area_not_energy():
    s = [_na(pes_per_table=n) for n in (1, 16, 64, 256)]
    areas = [u.breakdown["tables_um2"] for u in s]
    assert areas == sorted(areas, reverse=True)
    assert areas[0] == pytest.approx(16 * areas[1])
    assert len({round(u.energy_per_mac_pj, 12) for u in s}) == 1


def test_weight_stationary_reads_are_cheaper():
    rand = pe_unit_cost(pe_kind("lutna"), T, 64, UnitAssumptions(weight_stationary=False))
    ws = pe_unit_cost(pe_kind("lutna"), T, 64, UnitAssumptions(weight_stationary=True))
    # 256 vs 16 active rows per read
    assert rand.breakdown["lookup_pj"] == pytest.approx(16 * ws.breakdown["lookup_pj"])


def test_alutna_saves_lookups_and_adders():
    na = _na(pes_per_table=64)
    for approx, n in (("drop_ll", 3), ("trunc_act_low", 2), ("keep_hh", 1)):
        u = pe_unit_cost(pe_kind("alutna", approx=approx), T, 64, PAPER)
        assert u.lookups_per_mac == n
        assert u.energy_per_mac_pj < na.energy_per_mac_pj and u.area_um2 < na.area_um2
    # bias compensation costs one more add
    b = pe_unit_cost(pe_kind("alutna", approx="drop_ll", bias_comp=True), T, 64, PAPER)
    nb = pe_unit_cost(pe_kind("alutna", approx="drop_ll"), T, 64, PAPER)
    assert len(b.add_widths) == len(nb.add_widths) + 1
    assert b.energy_per_mac_pj > nb.energy_per_mac_pj


def test_bad_specs_raise():
    with pytest.raises(ValueError, match="power of two"):
        TableSpec(100, 8)
    with pytest.raises(ValueError, match="cell"):
        TableSpec(256, 8, "dram")
    with pytest.raises(ValueError, match="static_index_bits"):
        TableSpec(256, 8, static_index_bits=9)
    with pytest.raises(ValueError, match="pes_per_table"):
        pe_unit_cost(pe_kind("lutna"), T, 0)
