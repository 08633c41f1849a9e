"""Fold pipelining (``tile.pe_array.fold_pipelining``): pipelined fold cycles by hand for every
dataflow and sparse path, the fill hidden between two back-to-back chunks of a run, the shadow
registers' energy and area; off by default (docs/model.md "Fold pipelining")."""

import numpy as np
import pytest

import archsim
from archsim.energy.model import load_cost_model
from archsim.mapping.fold import SparseRule, fold_cycles

from .helpers import gemm_csv, tiny_arch

R = C = 4  # array of the fold cases below


@pytest.mark.parametrize("df, mnk, off, on", [
    # os: sr = M = 8, sc = N = 4 -> 2 folds of T = K = 6; overhead R + C - 2 = 6
    #   off 2 * (6 + 6) - 1 = 23; on 2 * max(6, 4) + 6 - 1 = 17
    ("os", (8, 4, 6), 23, 17),
    # ws: sr = K = 8, sc = N = 4 -> 2 folds of T = M = 6; overhead 2R + C - 2 = 10
    #   off 2 * (6 + 10) - 1 = 31; on 2 * 6 + 10 - 1 = 21
    ("ws", (6, 4, 8), 31, 21),
    # is: sr = K = 8, sc = M = 4 -> 2 folds of T = N = 6: off 31, on 21 (as ws)
    ("is", (4, 6, 8), 31, 21),
    # T < R: ws M = 2 -> 2 folds of T = 2: off 2 * (2 + 10) - 1 = 23; on 2 * max(2, 4) + 9 = 17
    ("ws", (2, 4, 8), 23, 17),
])
def test_dense_fold_cycles_by_hand(df, mnk, off, on):
    m, n, k = mnk
    a = fold_cycles(df, R, C, m, n, k)
    b = fold_cycles(df, R, C, m, n, k, pipelined=True)
    assert (a.cycles, a.fill_cycles) == (off, 0)
    ovh = R + C - 2 if df == "os" else 2 * R + C - 2
    assert (b.cycles, b.fill_cycles) == (on, ovh - 1)
    assert b.folds == a.folds and b.macs_mapped == a.macs_mapped and b.pe_slots == a.pe_slots


def test_one_fold_with_t_at_least_r_is_scalesim():
    # a single fold with T >= R: max(T, R) = T, so the pipelined count equals SCALE-Sim's
    for df in ("os", "ws", "is"):
        assert (fold_cycles(df, R, C, 4, 4, 4, pipelined=True).cycles
                == fold_cycles(df, R, C, 4, 4, 4).cycles)


def test_sparse_paths_by_hand():
    # filter_block, os: K = 8, N = 4 filters, only K rows 0..2 non-zero -> K_c = 3 in the one
    # column fold; M = 8 -> 2 row folds of T = 3 < R
    #   off 2 * (3 + 6) - 1 = 17; on 2 * max(3, 4) + 6 - 1 = 13
    mask = np.zeros((8, 4), dtype=bool)
    mask[:3] = True
    rule = SparseRule(mode="filter_block")
    assert fold_cycles("os", R, C, 8, 4, 8, mask, rule).cycles == 17
    assert fold_cycles("os", R, C, 8, 4, 8, mask, rule, pipelined=True).cycles == 13
    # is blocks: K = 8 (2 row folds), N = 6; row fold 0 streams filters {0, 1, 2} (T = 3),
    # row fold 1 filter {0} (T = 1); M = 4 -> 1 column fold
    #   off (10 + 3) + (10 + 1) - 1 = 23; on max(3, 4) + max(1, 4) + 10 - 1 = 17
    mask = np.zeros((8, 6), dtype=bool)
    mask[0, :3] = True
    mask[5, 0] = True
    assert fold_cycles("is", R, C, 4, 6, 8, mask, rule).cycles == 23
    assert fold_cycles("is", R, C, 4, 6, 8, mask, rule, pipelined=True).cycles == 17
    # nm_structured 2:4 (through the dense model): K = 8 -> K_c = 4; ws M = 6, N = 8 ->
    # 2 folds of T = 6: off 2 * 16 - 1 = 31; on 2 * 6 + 10 - 1 = 21
    nm = SparseRule(mode="nm_structured", nm=(2, 4))
    assert fold_cycles("ws", R, C, 6, 8, 8, None, nm).cycles == 31
    assert fold_cycles("ws", R, C, 6, 8, 8, None, nm, pipelined=True).cycles == 21
    # gather over the whole K (per-column compaction), ws: K = 16, N = 4; filter 0 has 8
    # non-zeros (rows 0, 2, .., 14), the others 1 -> K_c = 8 -> 2 row folds of T = M = 6
    #   off 2 * (6 + 10) - 1 = 31; on 2 * 6 + 10 - 1 = 21
    mask = np.zeros((16, 4), dtype=bool)
    mask[::2, 0] = True
    mask[1, 1:] = True
    assert fold_cycles("ws", R, C, 6, 4, 16, mask, SparseRule()).cycles == 31
    assert fold_cycles("ws", R, C, 6, 4, 16, mask, SparseRule(), pipelined=True).cycles == 21


def _two_chunk_arch(on: bool):
    # tiny_arch with fast memory and 2-port buffers: a 32-byte weight buffer (16 B usable,
    # double-buffered) splits the 8 filters of the GEMM into 2 chunks of 4, and the second
    # chunk's fetch can write the buffers while the array computes the first
    return tiny_arch(**{"dram.bytes_per_cycle_per_channel": 64, "dram.latency_cycles": 0,
                        "interconnect.link_bytes_per_cycle": 64,
                        "tile.sram.ifmap.ports": 2, "tile.sram.weight.ports": 2,
                        "tile.sram.weight.capacity_bytes": 32,
                        "tile.pe_array.fold_pipelining": on})


def test_two_chunks_hide_the_fill(tmp_path):
    # GEMM M = 32, N = 8, K = 4, ws on the 4x4 array: 2 chunks of 4 filters, each 1 fold of
    # T = M = 32 >= R: 2R + C + T - 2 - 1 = 41 cycles on or off (one fold).
    # Both runs fetch alike: chunk 1 computes 14..55; chunk 2's operands are in the buffers at
    # 28 (weight SRAM write 27..28).  Off: chunk 2 computes 55..96, its 128 output bytes go
    # to DRAM in 3 cycles -> 99.  On: chunk 2 was ready 27 cycles before chunk 1 ended, so it
    # hides min(fill 2R + C - 3 = 9, chunk 1's drain 9, 55 - 28) = 9 cycles: 55..87, -> 90.
    csv = str(gemm_csv(tmp_path, [("g1", 32, 8, 4)]))
    off = archsim.simulate(_two_chunk_arch(False), csv, dataflow="ws", trace=True)
    on = archsim.simulate(_two_chunk_arch(True), csv, dataflow="ws", trace=True)
    common = [("tile0.ifmap_sram", "write", 3), ("tile0.weight_sram", "write", 13),
              ("tile0", "compute g1", 14), ("tile0.ifmap_sram", "write", 17),
              ("tile0.weight_sram", "write", 27), ("tile0", "compute g1", 55)]
    assert list(off.trace) == [*common, ("tile0", "done g1", 99)]
    assert list(on.trace) == [*common, ("tile0", "done g1", 90)]
    assert (off.latency_cycles, on.latency_cycles) == (99, 90)
    # compute_cycles: what the array spent (41 + 41 - 9); the hidden fill is reported apart
    assert (off.layers[0].compute_cycles, off.layers[0].fill_hidden_cycles) == (82, 0)
    assert (on.layers[0].compute_cycles, on.layers[0].fill_hidden_cycles) == (73, 9)
    assert on.tiles[0].busy_cycles == 73
    # shadow loads: 2 chunks x 1 fold x 16 PEs x 8-bit stationary weights = 256 bits
    a_on = {str(k): v for k, v in on.actions.items()}
    a_off = {str(k): v for k, v in off.actions.items()}
    assert a_on.pop("tile0.pe_array.shadow_load") == 256
    assert "tile0.pe_array.shadow_load" not in a_off
    assert a_on == a_off
    assert on.summary()["mechanisms"]["fold_pipelining"] is True
    assert off.summary()["mechanisms"]["fold_pipelining"] is False
    assert on.summary()["layers"][0]["fill_hidden_cycles"] == 9


def test_shadow_energy_and_area_by_hand():
    off, on = (load_cost_model(_two_chunk_arch(v)) for v in (False, True))
    reg_pj = on.table.value("pe_array", "register_pj_per_bit")
    reg_um2 = on.table.value("pe_array", "register_um2_per_bit")
    assert on.action_energy_pj("tile0.pe_array.shadow_load") == pytest.approx(reg_pj)
    with pytest.raises(Exception, match="shadow_load"):
        off.action_energy_pj("tile0.pe_array.shadow_load")
    # every dataflow allowed on this MAC array: the widest shadow is the os accumulator
    # (acc_bits 32): 4 x 4 PEs x 32 bits of register area, its leakage with it
    d_area = on.area().total_um2 - off.area().total_um2
    assert d_area == pytest.approx(16 * 32 * reg_um2)
    leak = on.table.value("pe_array", "leakage_uw_per_um2")
    assert on.leakage_uw() - off.leakage_uw() == pytest.approx(16 * 32 * reg_um2 * leak)


def test_analytic_model_hides_the_fill_like_the_simulator(tmp_path):
    # the analytic model times the same two chunks: 99 cycles off, 90 on (as SimPy above);
    # its pre-filter bound stays below the estimate
    from archsim.mapping.analytic import LayerModel
    from archsim.mapping.heuristic import heuristic_plan
    from archsim.mapping.layer import gemm_layers
    from archsim.mapping.schedule import MappingSpec
    from archsim.pipeline import resolve_workload

    g = resolve_workload(str(gemm_csv(tmp_path, [("g1", 32, 8, 4)])))
    lat = []
    for on in (False, True):
        arch = _two_chunk_arch(on)
        model = LayerModel(arch, load_cost_model(arch, dataflow="ws"))
        L = gemm_layers(g, arch)["g1"]
        assert L.pipelined is on
        lp = heuristic_plan(g, arch, "ws", MappingSpec.parse("layer")).layers[0]
        est = model.estimate(L, lp, in_home="dram", out_home="dram", keep_inputs=True)
        bound, _ = model.bound(L, lp, in_home="dram", out_home="dram", keep_inputs=True)
        assert bound <= est.latency_cycles
        lat.append(est.latency_cycles)
    assert lat == [99, 90]


def test_grouped_conv_groups_stream_back_to_back():
    # toy graph's c2: 2 groups of 2 filters, K = 2 x 3 x 3 = 18 per group, M = 2 x 3 x 3 = 18
    # output pixels; ws on 4x4: per group sr = K = 18, sc = 2 -> 5 folds of T = M = 18
    #   off: 2 groups x (5 x (18 + 10) - 1) = 278
    #   on: the groups chain -> 10 x max(18, 4) + 10 - 1 = 189, one fill of 9
    from archsim.mapping.layer import gemm_layers
    from tests.test_graph import toy_graph

    g = toy_graph()
    off = gemm_layers(g, tiny_arch())["c2"].fold("ws", 18, 0, 4)
    on = gemm_layers(g, tiny_arch(**{"tile.pe_array.fold_pipelining": True}))["c2"].fold(
        "ws", 18, 0, 4)
    assert (off.folds, off.cycles, off.fill_cycles) == (10, 278, 0)
    assert (on.folds, on.cycles, on.fill_cycles) == (10, 189, 9)
