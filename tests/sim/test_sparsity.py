"""Sparsity modes, partial sums and SRAM bandwidth, worked by hand on small GEMMs.

tiny_arch (tests/sim/helpers.py): one tile, a 4x4 MAC array, 4096-byte double-buffered SRAMs
(2048 usable per chunk) of 16 B/cycle x 1 port and no latency.
"""

from __future__ import annotations

import numpy as np
import pytest

import archsim
from archsim.energy import load_cost_model
from archsim.energy.tables import CostError, load_cost_table
from archsim.mapping.fold import SparseRule, fold_cycles
from archsim.mapping.schedule import MappingError, build_schedule
from archsim.pipeline import resolve_workload

from .helpers import gemm_csv, tiny_arch


def _nm_csv(tmp_path, rows):
    p = tmp_path / "nm.csv"
    p.write_text("Layer, M, N, K, Sparsity,\n"
                 + "".join(f"{n}, {m}, {nn}, {k}, {r},\n" for n, m, nn, k, r in rows))
    return p


# ---- partial sums and SRAM bandwidth -----------------------------------------------------
def test_psums_at_acc_bits_split_the_chunk_and_buffer_bandwidth_stalls(tmp_path):
    """GEMM 256 x 4 x 8, ws: K = 8 on 4 rows is split over 2 row folds, so outputs are held as
    32-bit psums: 16 B per pixel -> 2048 / 16 = 128 pixels per chunk (1 B outputs would fit all
    256).  Per chunk: 2 folds x (2*4 + 4 + 128 - 2) - 1 = 275 cycles; ofmap traffic = psums
    128*4*1 x 4 B written + read back (2048 + 2048) + final outputs 128*4 x 1 B (512) = 4608 B
    at 16 B/cycle = 288 cycles -> 13 cycles of sram_bandwidth stall per chunk."""
    arch = tiny_arch()
    g = resolve_workload(str(gemm_csv(tmp_path, [("g", 256, 4, 8)])))
    sched = build_schedule(g, arch, "ws")
    chunks = sched.tasks[0].chunks
    assert [(c.m0, c.m1) for c in chunks] == [(0, 128), (128, 256)]
    c = chunks[0]
    assert c.compute_cycles == 275
    assert dict(c.sram_reads) == {"ifmap": 128 * 8, "weight": 32, "ofmap": 2048}
    assert dict(c.sram_writes) == {"ofmap": 2048 + 512}
    assert c.sram_stall_cycles == 288 - 275
    res = archsim.simulate(arch, g, dataflow="ws")
    assert res.layers[0].compute_cycles == 550
    assert res.stall_cycles()["sram_bandwidth"] == 26
    # os accumulates inside the PEs: 1-byte outputs, one chunk, no psum traffic;
    # 64 folds x (8 + 4 + 4 - 2) - 1 = 895 cycles; the weight stream (4 x 8 x 64 row folds =
    # 2048 B) needs 128 cycles: no stall
    os = build_schedule(g, arch, "os").tasks[0].chunks
    assert len(os) == 1 and os[0].compute_cycles == 895 and os[0].sram_stall_cycles == 0
    assert dict(os[0].sram_reads) == {"ifmap": 2048, "weight": 2048, "ofmap": 0}
    assert dict(os[0].sram_writes) == {"ofmap": 256 * 4}
    # ideal memory: the buffers take no time
    ideal = archsim.simulate(tiny_arch(ideal_memory=True), g, dataflow="ws")
    assert "sram_bandwidth" not in ideal.stall_cycles()


def test_psum_traffic_follows_the_executed_folds():
    """K = 8, 8 filters on 4x4, M = 4: filters 0-3 dense (2 row folds), filters 4-7 non-zero
    in rows 0-3 only.  Skipping (filter_block / gather) runs 1 row fold for the second column
    fold: psums written back = 4 pixels x 4 filters x (2 - 1) = 16; dense: 4 x 8 x 1 = 32."""
    mask = np.ones((8, 8), dtype=bool)
    mask[4:, 4:] = False
    dense = fold_cycles("ws", 4, 4, 4, 8, 8, mask, SparseRule(mode="none"))
    assert dense.psum_writes == 32 and dense.folds == 4
    for rule in (SparseRule(mode="filter_block"), SparseRule(mode="gather", window=4)):
        fc = fold_cycles("ws", 4, 4, 4, 8, 8, mask, rule)
        assert (fc.folds, fc.psum_writes) == (3, 16)
        assert fc.cycles == 3 * (8 + 4 + 4 - 2) - 1


# ---- the modes on one fold ----------------------------------------------------------------
def test_modes_worked_by_hand():
    """K = 4, N = 2 on 2x2, M = 2: filter 0 non-zero in rows 0 and 2, filter 1 in 1 and 3."""
    mask = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=bool)
    # none: dense timing, all 16 MACs issued, 8 of them non-zero
    fc = fold_cycles("os", 2, 2, 2, 2, 4, mask, SparseRule(mode="none"))
    assert (fc.cycles, fc.macs_mapped, fc.macs_nonzero) == (4 + 2 + 2 - 2 - 1, 16, 8)
    # filter_block: every K row is non-zero in some filter -> nothing to skip
    fc = fold_cycles("os", 2, 2, 2, 2, 4, mask, SparseRule(mode="filter_block"))
    assert (fc.cycles, fc.macs_mapped, fc.meta_bits) == (5, 16, 4)  # 1 bitmap bit per K row
    # gather, whole K: each column has 2 non-zeros -> K_c = 2: 2 + 2 + 2 - 2 - 1 = 3 cycles
    fc = fold_cycles("os", 2, 2, 2, 2, 4, mask, SparseRule(mode="gather"))
    assert (fc.cycles, fc.macs_mapped) == (3, 8)
    # gather, window 2: blocks {0,1} and {2,3} have 1 non-zero per column -> K_c = 1 + 1 = 2;
    # metadata: 4 non-zeros x 1 index bit + 2 columns x 2 windows x 2 count bits = 12 bits;
    # activations read: both windows are live -> 2 pixels x 4
    fc = fold_cycles("os", 2, 2, 2, 2, 4, mask, SparseRule(mode="gather", window=2))
    assert (fc.cycles, fc.meta_bits, fc.act_reads) == (3, 12, 8)
    # ws: K_c = 2 fits one row fold (2R + C + M - 2 = 6, -1) vs 2 folds for filter_block
    assert fold_cycles("ws", 2, 2, 2, 2, 4, mask, SparseRule(mode="gather")).cycles == 5
    assert fold_cycles("ws", 2, 2, 2, 2, 4, mask, SparseRule(mode="filter_block")).cycles == 11
    # N:M 2:4 (each filter keeps 2 of its 4): K' = 2 for every dataflow
    nm = SparseRule(mode="nm_structured", nm=(2, 4))
    assert fold_cycles("os", 2, 2, 2, 2, 4, mask, nm).cycles == 3
    assert fold_cycles("is", 2, 2, 2, 2, 4, mask, nm).cycles == 2 * 2 + 2 + 2 - 2 - 1


@pytest.mark.parametrize("mode,cycles,issued,selects,decodes", [
    # K' = K = 8: 2 row folds x (8 + 4 + 4 - 2) - 1
    ("none", 27, 256, 0, 0),
    # 2:4 -> K' = 4: 2 x (4 + 6) - 1 = 19; 128 MACs issued, each with an 8:1 select
    # (window 8) and each streamed weight (4 filters x 4 x 2 row folds) decoded
    ("nm_structured", 19, 128, 128, 32),
    # the pattern is the same in every filter: rows 0,1,4,5 live -> K_c = 4
    ("filter_block", 19, 128, 0, 0),
    # window 8: 4 non-zeros per column -> K_c = 4, + 1 gather pipeline cycle per fold
    ("gather", 19 + 2, 128, 128, 32),
])
def test_mode_timing_and_actions(tmp_path, mode, cycles, issued, selects, decodes):
    g = resolve_workload(str(_nm_csv(tmp_path, [("g", 8, 4, 8, "2:4")])))
    arch = tiny_arch(**{"tile.sparsity": {"mode": mode, "zero_gating": True}})
    res = archsim.simulate(arch, g, dataflow="os")
    assert res.layers[0].compute_cycles == cycles
    acts = {str(k): v for k, v in res.actions.items()}
    assert acts["tile0.pe_array.mac"] == issued
    assert acts["tile0.pe_array.mult"] == 128  # zero weights are gated
    assert acts["tile0.zero_gate.check"] == issued
    assert acts.get("tile0.gather_net.select", 0) == selects
    assert acts.get("tile0.meta_decode.decode", 0) == decodes
    assert res.summary()["sparsity_mode"] == mode


def test_without_gating_zeros_cost_a_full_mac(tmp_path):
    g = resolve_workload(str(_nm_csv(tmp_path, [("g", 8, 4, 8, "2:4")])))
    res = archsim.simulate(tiny_arch(), g, dataflow="os")
    acts = {str(k): v for k, v in res.actions.items()}
    assert acts["tile0.pe_array.mult"] == 256 and "tile0.zero_gate.check" not in acts
    assert res.summary()["sparsity_mode"] == "none" and not res.summary()["zero_gating"]


def test_nm_errors_name_the_layer(tmp_path):
    g = resolve_workload(str(_nm_csv(tmp_path, [("g", 8, 4, 32, "1:16")])))
    arch = tiny_arch(**{"tile.sparsity": {"mode": "nm_structured"}})
    with pytest.raises(MappingError, match=r"layer 'g': N:M 1:16 needs 16:1 operand selectors"):
        build_schedule(g, arch, "os")


def test_nm_from_the_weights(tmp_path):
    """Without a declared N:M the selectors' block (select_window) sets M and the densest
    block sets N: the 2:4 weights in blocks of 8 are 4:8 -> K' = 4."""
    g = resolve_workload(str(_nm_csv(tmp_path, [("g", 8, 4, 8, "2:4")])))
    del g.nodes["g"]["nm_sparsity"]
    arch = tiny_arch(**{"tile.sparsity": {"mode": "nm_structured"}})
    assert archsim.simulate(arch, g, dataflow="os").layers[0].compute_cycles == 19


# ---- pricing -------------------------------------------------------------------------------
def test_sparsity_hardware_prices():
    """Horowitz 45 nm entries (docs/energy.md): 8-bit operands, 9-bit weights, window 8."""
    arch = tiny_arch(**{"tile.sparsity": {"mode": "gather", "zero_gating": True},
                        "tile.pe_array.pe_params": {"act_bits": 8, "weight_bits": 9}})
    cm = load_cost_model(arch)
    got = {(c.component, c.action): c.energy_pj for c in cm.action_costs()}
    # 8 bits x (3 mux levels x 1.61 fJ + 3.21 fJ operand register)
    assert got[("gather_net", "select")] == pytest.approx(8 * (3 * 0.00161 + 0.00321))
    # 3 index bits x (3.21 fJ register + 0.03 pJ / 8 full adder)
    assert got[("meta_decode", "decode")] == pytest.approx(3 * (0.00321 + 0.03 / 8))
    # 9 NOR inputs x 0.536 fJ + a 3.21 fJ flag bit
    assert got[("zero_gate", "check")] == pytest.approx(9 * 0.000536 + 0.00321)
    area = cm.area().by_class_um2
    # 16 PEs x 8 bits x (7 mux2 x 1.928 + 3.857) + 4 rows x 8-entry x 8-bit window registers
    assert area["gather_net"] == pytest.approx(16 * 8 * (7 * 1.928 + 3.857) + 4 * 8 * 8 * 3.857)
    # 16 PEs x 3 index bits x 3.857 + 4 columns x 3 bits x 36 / 8 um^2
    assert area["meta_decode"] == pytest.approx(16 * 3 * 3.857 + 4 * 3 * 36 / 8)


def test_a_table_without_logic_entries_fails_for_gather():
    arch = tiny_arch(**{"tile.sparsity": {"mode": "gather"}})
    table = load_cost_table(arch.energy_table)
    import dataclasses

    bare = dataclasses.replace(table, classes=dataclasses.replace(
        table.classes, logic=type(table.classes.logic)()))
    with pytest.raises(CostError, match=r"action 'select' of component class 'gather_net' "
                                        r"\(used by tile0.gather_net\); add logic.mux2_pj_per_bit"):
        load_cost_model(arch, table=bare)


def test_config_rules():
    with pytest.raises(ValueError, match="optimized_mapping needs mode 'nm_structured'"):
        tiny_arch(**{"tile.sparsity": {"mode": "gather", "optimized_mapping": True}})
    with pytest.raises(ValueError, match="block_size: 8 exceeds the PE rows 4"):
        tiny_arch(**{"tile.sparsity": {"mode": "nm_structured", "optimized_mapping": True,
                                       "block_size": 8}})
