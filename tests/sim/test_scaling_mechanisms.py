"""Multicast, streaming, weight prefetch, edge attach points and analytic bounds."""

from __future__ import annotations

import pytest

import archsim
from archsim.design.arch import ConfigError, load_arch
from archsim.design.edge import attach_points
from archsim.mapping.bounds import bounds
from archsim.mapping.schedule import build_schedule
from archsim.pipeline import resolve_workload
from archsim.sim.components import Mesh, SimEnv

from .helpers import gemm_csv, tiny_arch


def test_west_attach_points_keep_the_row_rule():
    arch = tiny_arch(**{"grid.rows": 8, "grid.cols": 2, "dram.channels": 4})
    pts = attach_points(arch)
    assert [(p.row, p.col, p.side) for p in pts] == [(1, 0, "west"), (3, 0, "west"),
                                                    (5, 0, "west"), (7, 0, "west")]


def test_attach_points_spread_over_four_edges_with_own_gbuf_ports():
    arch = tiny_arch(**{"grid.rows": 2, "grid.cols": 2, "dram.channels": 2,
                        "gbuf.capacity_bytes": 1024, "gbuf.ports": 2, "gbuf.bytes_per_cycle": 16,
                        "gbuf.attach": "own_ports",
                        "interconnect.memory_edges": ["west", "east", "north", "south"]})
    pts = attach_points(arch)
    # 8 sides N(0,0) N(0,1) E(0,1) E(1,1) S(1,0) S(1,1) W(0,0) W(1,0); ports in order
    # dram0, gbuf0, dram1, gbuf1 take sides 1, 3, 5, 7
    assert [(p.kind, p.index, p.row, p.col, p.side) for p in pts] == [
        ("dram", 0, 0, 1, "north"), ("dram", 1, 1, 1, "south"),
        ("gbuf", 0, 1, 1, "east"), ("gbuf", 1, 1, 0, "west")]
    assert [p.lanes for p in pts] == [1, 1, 4, 4]  # 16 B/cycle port over 4 B links


def test_transposed_grids_have_the_same_attach_routers_count():
    for r, c in ((4, 8), (8, 4)):
        arch = load_arch("lutna_8x8").with_overrides({"grid.rows": r, "grid.cols": c})
        pts = attach_points(arch)
        assert len({(p.row, p.col, p.side) for p in pts}) == 16  # no side shared


def test_multicast_tree_by_hand():
    # 2x2 mesh, one channel: memory port 0 at router (1, 0) west (row (2*0+1)*2 // 2);
    # 32 bytes over 4-byte links = 8 flits.  XY tree to all four tiles: mem0.in, r1c0.E,
    # r1c0.N, r1c1.N -- each link once;
    # deepest branch 3 links -> 3 hop cycles, then 8 cycles of serialisation: done at 11.
    arch = tiny_arch(**{"grid.rows": 2, "grid.cols": 2, "interconnect.multicast": True})
    env = SimEnv()
    mesh = Mesh(env, arch, attach_points(arch))
    env.process(mesh.multicast(("mem", 0), (0, 1, 2, 3), 32))
    env.run()
    assert env.now == 11
    hops = {str(k): v for k, v in env.actions.items()}
    assert hops == {"noc.mem0.in.flit_hop": 8, "noc.r1c0.E.flit_hop": 8,
                    "noc.r1c0.N.flit_hop": 8, "noc.r1c1.N.flit_hop": 8}
    # unicast copies would cross mem0.in four times and r1c0.E twice
    assert sum(hops.values()) == 32


def test_multicast_reads_shared_weights_once(tmp_path):
    csv = gemm_csv(tmp_path, [("g", 64, 8, 32)])
    base = tiny_arch(**{"grid.rows": 1, "grid.cols": 2, "dram.burst_bytes": 4})
    runs = {}
    for mc in (False, True):
        arch = base.with_overrides({"interconnect.multicast": mc})
        sched = build_schedule(resolve_workload(str(csv)), arch, "ws", "layer:out_pixels")
        runs[mc] = (archsim.simulate(arch, str(csv), dataflow="ws", mapping="layer:out_pixels"),
                    sched)
    plain, mc = runs[False][0], runs[True][0]
    sched = runs[True][1]
    assert sched.multicast == {0: (0, 1)}  # the one filter block's weights, both tiles
    w = sum(c.weight_bytes for t in sched.tasks for c in t.chunks if c.weight_group == 0)
    assert w == 2 * 8 * 32  # each tile's copy: 8 filters x K=32 int8
    dram = lambda r: sum(v for k, v in r.actions.items() if k.kind == "dram"  # noqa: E731
                         and k.action == "read_bytes")
    assert dram(plain) - dram(mc) == w // 2  # one read instead of two
    assert mc.bounds["cycles"]["dram"] < plain.bounds["cycles"]["dram"]


def test_streaming_starts_compute_before_the_chunk_has_arrived(tmp_path):
    csv = gemm_csv(tmp_path, [("g", 8, 4, 64)])  # ws: K=64 over 4 PE rows: 16 folds
    arch = tiny_arch(**{"tile.sram.ifmap.ports": 2})
    plain = archsim.simulate(arch, str(csv), dataflow="ws", trace=True)
    st = archsim.simulate(arch.with_overrides({"tile.fetch.streaming": True}), str(csv),
                          dataflow="ws", trace=True)
    start = {c: t for c, a, t in st.trace if a.startswith("compute")}
    wrote = [t for c, a, t in st.trace if c == "tile0.ifmap_sram" and a == "write"]
    assert start["tile0"] < wrote[0]  # compute began while inputs were still arriving
    assert st.latency_cycles < plain.latency_cycles
    assert st.layers[0].compute_cycles == plain.layers[0].compute_cycles


def test_weight_prefetch_fetches_before_the_producers_finish(tmp_path):
    csv = gemm_csv(tmp_path, [("a", 16, 8, 64), ("b", 16, 8, 8)])
    arch = tiny_arch(**{"tile.fetch.weight_prefetch": True})
    res = archsim.simulate(arch, str(csv), dataflow="ws", trace=True)
    done_a = next(t for c, a, t in res.trace if a == "done a")
    w_writes = [t for c, a, t in res.trace if c == "tile0.weight_sram" and a == "write"]
    assert w_writes[1] < done_a  # layer b's weights were in before layer a finished
    plain = archsim.simulate(tiny_arch(), str(csv), dataflow="ws")
    assert res.latency_cycles < plain.latency_cycles


def test_streaming_needs_two_ifmap_ports():
    with pytest.raises(ConfigError, match=r"tile.fetch.streaming.*ifmap.ports >= 2, not 1"):
        tiny_arch(**{"tile.fetch.streaming": True})


def test_bounds_by_hand_and_below_the_simulation(tmp_path):
    # the toy of test_timing: input 10 + 1 hop + 4 flits = 15, weights 15, compute 13,
    # write 15 -> dependency chain 58 (the simulation adds 2 cycles of SRAM writes: 60)
    csv = gemm_csv(tmp_path, [("g1", 4, 4, 4)])
    arch = tiny_arch(**{"dram.burst_bytes": 4})
    sched = build_schedule(resolve_workload(str(csv)), arch, "ws", "layer")
    b = bounds(sched, arch)
    assert b.cycles["dependency_chain"] == 58 and b.binding == "dependency_chain"
    assert b.cycles["compute"] == 13
    assert b.cycles["dram"] == (16 + 16 + 16) / 4
    res = archsim.simulate(arch, str(csv), dataflow="ws")
    assert res.latency_cycles == 60
    assert all(res.latency_cycles >= v for v in res.bounds["cycles"].values())
    s = res.summary()
    assert s["bounds"]["binding"] == "dependency_chain"
    assert s["mechanisms"]["multicast"] is False


def test_multicast_never_joins_the_weights_of_two_reduction_parts(tmp_path):
    """Split-K parts of one filter range read different weights of the same size: each part's
    tile reads its own (no multicast group), so DRAM moves every weight byte."""
    from archsim.mapping.plan import LayerPlan, MappingPlan

    from .helpers import conv_csv

    csv = conv_csv(tmp_path, [("g", 2, 2, 1, 1, 32, 8, 1)])  # 1x1 conv: M=4, N=8, K=32
    arch = tiny_arch(**{"grid.rows": 1, "grid.cols": 2, "interconnect.multicast": True})
    lp = LayerPlan(layer="g", tile_count=2, split_k=2, chunk_pixels=4, chunk_channels=8,
                   group=0)
    g = resolve_workload(str(csv))
    sched = build_schedule(g, arch, "ws", MappingPlan(layers=(lp,)))
    parts = [t for t in sched.tasks if any(c.weight_bytes for c in t.chunks)]
    assert [c.k_part for t in parts for c in t.chunks] == [(0, 16), (16, 32)]
    assert sched.multicast == {}  # before: one group {0: (0, 1)}, half the weights never read
    assert sum(c.weight_bytes for t in parts for c in t.chunks) == 8 * 32


def test_weight_streaming_starts_compute_on_the_first_pieces(tmp_path):
    """ws, K=64 over 4 PE rows: 16 folds, 4 sub-blocks. 256 B of weights and 256 B of inputs
    over one 4 B/cycle DRAM channel (latency 10) and one mesh hop (1). Without weight
    streaming the weights come first, whole: 10 + 1 + 256 / 4 = 75, their SRAM write
    (256 / 16) -> 91, then the inputs' first quarter: 10 + 1 + 64 / 4 = 27 -> compute at 118.
    With it the weights move as four 64-byte pieces, piece i+1 requested when piece i starts
    to move: piece 1 holds the channel 11-27, the inputs (requested beside it at 0) 27-91 --
    their first quarter is in at 43, where compute starts --, piece 2 (requested at 11) 91-107,
    piece 3 (requested at 91) 107-123, piece 4 (requested at 107) 123-139, then the weights'
    SRAM write; compute (223 cycles, its last quarter after every operand is in) ends at 266,
    the write-back adds 10 + 1 + 4 = 15: 281."""
    csv = gemm_csv(tmp_path, [("g", 4, 4, 64)])
    base = {"tile.sram.ifmap.ports": 2, "tile.sram.weight.ports": 2,
            "tile.fetch.streaming": True}
    logs = {}
    for ws in (False, True):
        arch = tiny_arch(**base, **{"tile.fetch.weight_streaming": ws})
        res = archsim.simulate(arch, str(csv), dataflow="ws", trace=True)
        logs[ws] = (res.latency_cycles, list(res.trace), res.actions)
    assert logs[False][:2] == (356, [
        ("tile0.weight_sram", "write", 75), ("tile0", "compute g", 118),
        ("tile0.ifmap_sram", "write", 166), ("tile0", "done g", 356)])
    assert logs[True][:2] == (281, [
        ("tile0", "compute g", 43), ("tile0.ifmap_sram", "write", 91),
        ("tile0.weight_sram", "write", 139), ("tile0", "done g", 281)])
    assert logs[True][2] == logs[False][2]  # the same bytes, bursts and flits


def test_weight_streaming_needs_streaming_and_two_weight_ports():
    with pytest.raises(ConfigError, match=r"weight_streaming.*tile.fetch.streaming"):
        tiny_arch(**{"tile.fetch.weight_streaming": True})
    with pytest.raises(ConfigError, match=r"weight_streaming.*weight.ports >= 2, not 1"):
        tiny_arch(**{"tile.sram.ifmap.ports": 2, "tile.fetch.streaming": True,
                     "tile.fetch.weight_streaming": True})
