"""Exact timing of a toy run worked out by hand, bounds, determinism and deadlock detection."""

import dataclasses

import pytest

import archsim
from archsim.graph.ir import load_workload  # noqa: F401  (import check: no torch needed)
from archsim.mapping.fold import fold_cycles
from archsim.mapping.schedule import build_schedule
from archsim.pipeline import resolve_workload
from archsim.sim.engine import DeadlockError, run_schedule

from .helpers import gemm_csv, tiny_arch


def test_toy_gemm_timing_by_hand(tmp_path):
    # GEMM M=N=K=4 (SCALE-Sim conversion: 4x4 input, 1x4 filters, 4 filters) on one tile.
    # mem->tile path is one edge link; a 16-byte transfer holds the DRAM channel for
    # latency 10 + max(ceil(16/4) flits + 1 hop, ceil(16/4) + 1) = 15 cycles.
    #   t=0..15 input read, 15..16 ifmap SRAM write (16 B at 16 B/cycle)
    #   16..31 weight read (16 B dense int8), 31..32 weight SRAM write
    #   32..45 compute: ws, 1 fold, 2*4 + 4 + 4 - 2 = 14 cycles, minus SCALE-Sim's 1 = 13
    #   45..60 output write to DRAM (no global buffer): 15 cycles
    arch = tiny_arch()
    res = archsim.simulate(arch, str(gemm_csv(tmp_path, [("g1", 4, 4, 4)])), dataflow="ws",
                           trace=True)
    assert res.latency_cycles == 60
    assert res.layers[0].compute_cycles == 13
    assert ("tile0.ifmap_sram", "write", 15) in res.trace
    assert ("tile0.weight_sram", "write", 31) in res.trace
    assert ("tile0", "compute g1", 32) in res.trace
    assert ("tile0", "done g1", 60) in res.trace
    a = {str(k): v for k, v in res.actions.items()}
    assert a["dram.ch0.read_bytes"] == 32 and a["dram.ch0.write_bytes"] == 16
    assert a["noc.mem0.in.flit_hop"] == 8 and a["noc.mem0.out.flit_hop"] == 4
    assert a["tile0.pe_array.mac"] == 64
    # stalls: the PE array waited 32 cycles for data (DRAM transfers + SRAM writes)
    st = res.stall_cycles()
    assert sum(st.values()) == 32
    assert st["dram"] == 30 and st["sram"] == 2


def test_dram_moves_whole_bursts(tmp_path):
    # the toy GEMM above with 32-byte DRAM bursts: each 16-byte DRAM transfer moves (and is
    # priced as) one 32-byte burst and holds the 4 B/cycle channel for ceil(32/4) = 8 cycles:
    # 10 + 1 hop + max(4 flits, 8) = 19 per transfer, 3 transfers -> 60 + 3 * 4 = 72 cycles
    res = archsim.simulate(tiny_arch(**{"dram.burst_bytes": 32}),
                           str(gemm_csv(tmp_path, [("g1", 4, 4, 4)])), dataflow="ws")
    assert res.latency_cycles == 72
    assert res.actions["dram.ch0.read_bytes"] == 64 and res.actions["dram.ch0.write_bytes"] == 32
    assert res.actions["noc.mem0.in.flit_hop"] == 8  # only the requested bytes cross the NoC
    # 3-byte bursts: 16 B -> 6 bursts = 18 B, 10 + 1 + max(4, ceil(18/4) = 5) = 16 per transfer
    res = archsim.simulate(tiny_arch(**{"dram.burst_bytes": 3}),
                           str(gemm_csv(tmp_path, [("g1", 4, 4, 4)])), dataflow="ws")
    assert res.actions["dram.ch0.read_bytes"] == 36 and res.latency_cycles == 60 + 3 * 1


def test_ideal_memory_is_pure_compute(tmp_path):
    arch = tiny_arch(ideal_memory=True)
    csv = gemm_csv(tmp_path, [("a", 9, 5, 7), ("b", 3, 11, 6)])
    for df in ("os", "ws", "is"):
        res = archsim.simulate(arch, str(csv), dataflow=df)
        expect = sum(fold_cycles(df, 4, 4, m, n, k).cycles for m, n, k in ((9, 5, 7), (3, 11, 6)))
        assert res.latency_cycles == expect


def test_bounds_hold_and_are_approached(tmp_path):
    csv = gemm_csv(tmp_path, [("big", 64, 32, 512)])
    for df in ("os", "ws", "is"):
        for grid in (1, 2):
            arch = tiny_arch(**{"grid.rows": grid, "grid.cols": grid})
            res = archsim.simulate(arch, str(csv), dataflow=df)
            assert res.latency_cycles >= res.compute_bound_cycles
            assert res.latency_cycles >= res.dram_bound_cycles
    # memory made ideal: os with a long K approaches the compute bound
    res = archsim.simulate(tiny_arch(ideal_memory=True), str(csv), dataflow="os")
    assert res.latency_cycles <= 1.05 * res.compute_bound_cycles
    # everything but DRAM made fast: latency approaches the DRAM bound
    fast = tiny_arch(**{"dram.bytes_per_cycle_per_channel": 1, "dram.latency_cycles": 0,
                        "interconnect.link_bytes_per_cycle": 64,
                        "tile.pe_array.rows": 32, "tile.pe_array.cols": 32})
    res = archsim.simulate(fast, str(csv), dataflow="os")
    assert res.dram_bound_cycles > 10 * res.compute_bound_cycles
    assert res.latency_cycles <= 1.10 * res.dram_bound_cycles


def test_deterministic(tmp_path):
    csv = gemm_csv(tmp_path, [("a", 30, 20, 50), ("b", 12, 40, 9)])
    arch = tiny_arch(**{"grid.rows": 2, "grid.cols": 2, "dram.channels": 2})
    s1 = archsim.simulate(arch, str(csv), dataflow="is", seed=3).summary()
    s2 = archsim.simulate(arch, str(csv), dataflow="is", seed=3).summary()
    assert s1 == s2


def test_deadlock_names_stuck_tasks(tmp_path):
    arch = tiny_arch(**{"grid.rows": 1, "grid.cols": 2})
    g = resolve_workload(str(gemm_csv(tmp_path, [("a", 4, 4, 4), ("b", 4, 4, 4)])))
    sched = build_schedule(g, arch, "ws", "layer:out_pixels")
    tasks = list(sched.tasks)
    # make the first task of 'a' wait on the last task of 'b' and vice versa: a cycle
    first_a = next(t for t in tasks if t.node == "a")
    first_b = next(t for t in tasks if t.node == "b")
    tasks[first_a.id] = dataclasses.replace(first_a, deps=(first_b.id,))
    tasks[first_b.id] = dataclasses.replace(first_b, deps=(first_a.id,))
    bad = dataclasses.replace(sched, tasks=tuple(tasks))
    with pytest.raises(DeadlockError, match=r"unfinished tasks: a\[0\]@tile0"):
        run_schedule(arch, g, bad)
