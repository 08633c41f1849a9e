"""Single or double use of the input, weight and output buffers (LayerPlan.input_buffer /
weight_buffer / output_buffer): capacities, DRAM bytes, the tile's buffer slots (exact event
logs), plan errors, search, replay.

The design point is ``tests.sim.helpers.tiny_arch``: one tile, a 4 x 4 MAC array, one DRAM
channel (latency 10, 4 B/cycle, 4-byte bursts) one hop (1 cycle) from the tile over 4 B/cycle
links, SRAMs of 16 B/cycle and latency 0 (two ports here, so the array's own port does not
delay fetches).  An uncontended DRAM read of 64 B takes 10 + 1 + 64 / 4 = 27 cycles and its
buffer write 64 / 16 = 4; 16 output bytes go to DRAM in 10 + 1 + 4 = 15.  A 4-pixel x 4-filter
x K = 16 chunk in ws computes in SCALE-Sim's ceil(16/4) folds x (2 x 4 + 4 + 4 - 2) - 1 = 55
cycles.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from archsim.design.arch import load_arch
from archsim.mapping.analytic import LayerModel
from archsim.mapping.heuristic import heuristic_plan
from archsim.mapping.layer import buffer_caps, gemm_layers
from archsim.mapping.plan import PlanError, load_plan, plan_yaml
from archsim.mapping.schedule import MappingError, MappingSpec, build_schedule
from archsim.mapping.search import buffer_options, layer_candidates
from archsim.pipeline import resolve_workload, simulate
from archsim.sim.engine import run_schedule
from archsim.sim.tile import Hold, buffer_holds
from tests.sim.helpers import conv_csv, gemm_csv, tiny_arch

TWO_PORTS = {"tile.sram.ifmap.ports": 2, "tile.sram.weight.ports": 2}


def _plan(g, arch, keep_inputs=False, **lp):
    plan = heuristic_plan(g, arch, "ws", MappingSpec.parse("layer"))
    return dataclasses.replace(plan, keep_inputs=keep_inputs,
                               layers=(dataclasses.replace(plan.layers[0], **lp),))


def test_caps_are_half_or_whole_per_layer(tmp_path):
    arch = tiny_arch(**{"tile.sram.weight.capacity_bytes": 1024})
    g = resolve_workload(str(gemm_csv(tmp_path, [("a", 32, 16, 48)])))
    lp = _plan(g, arch).layers[0]
    assert (lp.input_buffer, lp.weight_buffer) == ("double", "double")
    assert buffer_caps(arch, lp) == {"ifmap": 2048, "weight": 512, "ofmap": 2048}
    single = dataclasses.replace(lp, input_buffer="single", weight_buffer="single")
    assert buffer_caps(arch, single) == {"ifmap": 4096, "weight": 1024, "ofmap": 2048}
    assert buffer_caps(arch, dataclasses.replace(lp, output_buffer="single")) == {
        "ifmap": 2048, "weight": 512, "ofmap": 4096}
    # ideal memory: whole buffers either way
    assert buffer_caps(tiny_arch(ideal_memory=True), lp)["weight"] == 4096


def test_weights_fitting_the_whole_buffer_are_fetched_once(tmp_path):
    # 32 x 16 x 48 GEMM: 768 weight bytes fit the 1024-byte weight buffer whole, not its 512-byte
    # half.  double: 8 filters a chunk, pixel-major over 2 pixel chunks of 16 -> each pixel chunk
    # fetches both filter chunks (4 x 384 = 1536 B) and its 16 x 48 = 768 input bytes twice
    # (4 x 768); single: all 16 filters in one chunk, fetched once (768 B), each pixel chunk's
    # inputs once (2 x 768).  Outputs: 32 x 16 = 512 B either way.
    arch = tiny_arch(**{"tile.sram.weight.capacity_bytes": 1024})
    g = resolve_workload(str(gemm_csv(tmp_path, [("a", 32, 16, 48)])))
    res = {}
    for wb, nc in (("double", 8), ("single", 16)):
        plan = _plan(g, arch, chunk_pixels=16, chunk_channels=nc, loop_order="pixel_major",
                     weight_buffer=wb)
        sched = build_schedule(g, arch, "ws", plan)
        w = [c.weight_bytes for t in sched.tasks for c in t.chunks]
        out = run_schedule(arch, g, sched)
        dram = {k.action: n for k, n in out.actions.items() if k.kind == "dram"}
        res[wb] = (w, dram["read_bytes"], dram["write_bytes"])
    assert res["double"] == ([384, 384, 384, 384], 1536 + 4 * 768, 512)
    assert res["single"] == ([768, 0], 768 + 2 * 768, 512)
    # the whole weights do not fit half the buffer: the error names the way out
    plan = _plan(g, arch, chunk_pixels=16, chunk_channels=16, loop_order="pixel_major")
    with pytest.raises(MappingError, match=r"16 filters needs 768 weight bytes > tile.sram.weight "
                                           r"usable capacity 512 bytes \(plan field "
                                           r"'chunk_channels'; or weight_buffer 'single'\)"):
        build_schedule(g, arch, "ws", plan)


def _trace(tmp_path, over=None, keep_inputs=False, m=8, n=4, **lp):
    arch = tiny_arch(**TWO_PORTS, **(over or {}))
    g = resolve_workload(str(gemm_csv(tmp_path, [("a", m, n, 16)])))
    plan = _plan(g, arch, keep_inputs, chunk_pixels=4, chunk_channels=4, **lp)
    sched = build_schedule(g, arch, "ws", plan)
    assert {c.compute_cycles for t in sched.tasks for c in t.chunks} == {55}
    out = run_schedule(arch, g, sched, trace=True)
    est = LayerModel(arch).estimate(next(iter(gemm_layers(g, arch).values())), plan.layers[0],
                                    in_home="dram", out_home="dram", keep_inputs=keep_inputs)
    assert est.latency_cycles == out.latency_cycles  # the analytic model prices it alike
    return out.latency_cycles, [(c, a, t) for c, a, t in out.trace], \
        buffer_holds(arch, list(sched.tasks))[0]


def test_single_input_buffer_serialises_the_next_fetch_with_compute(tmp_path):
    # 8 x 4 x 16 GEMM, two 4-pixel chunks (64 input bytes each), the weights (64 B) once.
    # Chunk 0: inputs 0 -> 27, buffer write 27 -> 31; weights 31 -> 58 -> 62; compute 62 -> 117.
    lat, log, holds = _trace(tmp_path)
    # double: chunk 1's inputs are fetched during chunk 0's compute: 62 -> 89 -> 93, compute
    # waits for the array: 117 -> 172, its outputs 172 -> 187
    assert lat == 187
    assert log == [("tile0.ifmap_sram", "write", 27), ("tile0.weight_sram", "write", 58),
                   ("tile0", "compute a", 62), ("tile0.ifmap_sram", "write", 89),
                   ("tile0", "compute a", 117), ("tile0", "done a", 187)]
    assert holds == [Hold(in_get=1, in_put=1, w_get=0, w_put=0)] * 2
    lat, log, holds = _trace(tmp_path, input_buffer="single")
    # single: chunk 0 holds the whole input buffer until its compute ends at 117; chunk 1's
    # fetch starts then: 117 -> 144 -> 148, compute 148 -> 203, outputs 203 -> 218
    assert lat == 218
    assert log == [("tile0.ifmap_sram", "write", 27), ("tile0.weight_sram", "write", 58),
                   ("tile0", "compute a", 62), ("tile0.ifmap_sram", "write", 144),
                   ("tile0", "compute a", 148), ("tile0", "done a", 218)]
    assert holds == [Hold(in_get=2, in_put=2, w_get=1, w_put=0),
                     Hold(in_get=2, in_put=2, w_get=0, w_put=1)]


def test_single_weight_buffer_waits_for_the_last_user_of_the_weights(tmp_path):
    # 4 x 8 x 16 GEMM, two 4-filter chunks (64 weight bytes each), inputs fetched per chunk.
    # double: chunk 1's inputs 62 -> 89 -> 93 and weights 93 -> 120 -> 124 during chunk 0's
    # compute (62 -> 117); compute 124 -> 179, outputs 179 -> 194
    lat, log, _ = _trace(tmp_path, m=4, n=8)
    assert lat == 194
    assert log[3:5] == [("tile0.ifmap_sram", "write", 89), ("tile0.weight_sram", "write", 120)]
    # single: chunk 0's weights hold the whole weight buffer until its compute ends (117);
    # chunk 1's inputs still come early (89), its weights 117 -> 144 -> 148, compute 148 -> 203
    lat, log, holds = _trace(tmp_path, m=4, n=8, weight_buffer="single")
    assert lat == 218
    assert log == [("tile0.ifmap_sram", "write", 27), ("tile0.weight_sram", "write", 58),
                   ("tile0", "compute a", 62), ("tile0.ifmap_sram", "write", 89),
                   ("tile0.weight_sram", "write", 144), ("tile0", "compute a", 148),
                   ("tile0", "done a", 218)]
    assert holds == [Hold(in_get=1, in_put=1, w_get=2, w_put=2)] * 2
    # a weight buffer that is not double-buffered has one slot: the same wait
    over = {"tile.sram.weight.double_buffered": False}
    lat, log2, holds = _trace(tmp_path, over, m=4, n=8, weight_buffer="single")
    assert (lat, log2) == (218, log)
    assert holds == [Hold(in_get=1, in_put=1, w_get=1, w_put=1)] * 2


def test_single_output_buffer_waits_for_the_previous_write_back(tmp_path):
    # 8 x 4 x 16 GEMM, two 4-pixel chunks of 16 output bytes (10 + 1 + 4 = 15 cycles to DRAM).
    # double: chunk 0's outputs 117 -> 132 while chunk 1 computes 117 -> 172, its outputs
    # 172 -> 187 (the first test's log)
    lat, log, holds = _trace(tmp_path)
    assert lat == 187
    assert holds == [Hold(in_get=1, in_put=1, w_get=0, w_put=0, out=1)] * 2
    # single: chunk 0 takes both output halves until its write-back ends at 132; chunk 1's
    # compute waits for it: 132 -> 187, its outputs 187 -> 202
    lat, log, holds = _trace(tmp_path, output_buffer="single")
    assert lat == 202
    assert log == [("tile0.ifmap_sram", "write", 27), ("tile0.weight_sram", "write", 58),
                   ("tile0", "compute a", 62), ("tile0.ifmap_sram", "write", 89),
                   ("tile0", "compute a", 132), ("tile0", "done a", 202)]
    assert holds == [Hold(in_get=1, in_put=1, w_get=0, w_put=0, out=2)] * 2
    # an output buffer that is not double-buffered has one slot: the same wait
    over = {"tile.sram.ofmap.double_buffered": False}
    lat, log2, holds = _trace(tmp_path, over, output_buffer="single")
    assert (lat, log2) == (202, log)
    assert holds == [Hold(in_get=1, in_put=1, w_get=0, w_put=0, out=1)] * 2


def test_outputs_staying_in_the_tile_hold_one_output_slot(tmp_path):
    # split-K partial sums stay in the tile (no write-back): one slot, returned at the
    # compute end, whatever output_buffer says; the reduction writes back with one slot
    arch = tiny_arch(**{"grid.cols": 2})
    g = resolve_workload(str(conv_csv(tmp_path, [("a", 2, 4, 1, 1, 16, 4, 1)])))
    plan = _plan(g, arch, tile_count=2, split_k=2, chunk_pixels=4, chunk_channels=4,
                 output_buffer="single")
    sched = build_schedule(g, arch, "ws", plan)
    parts = [t for t in sched.tasks if t.out_home == "tile"]
    assert len(parts) == 2 and {t.output_buffer for t in parts} == {"single"}
    for tile in (0, 1):
        tasks = [t for t in sched.tasks if t.tile == tile]
        holds = buffer_holds(arch, tasks)
        assert {h.out for t in tasks for h in holds[t.id]} == {1}
    run_schedule(arch, g, sched)  # and it runs to the end


def test_kept_inputs_take_no_new_space_in_a_single_input_buffer(tmp_path):
    # keep_inputs: chunk 1 (the other 4 filters of the same 4 pixels) re-uses chunk 0's inputs
    # and holds no input space, so its weights come during chunk 0's compute (62 -> 89 -> 93,
    # compute 117 -> 172, outputs -> 187); chunk 0's set is freed after chunk 1's compute
    lat, log, holds = _trace(tmp_path, keep_inputs=True, m=4, n=8, input_buffer="single")
    assert lat == 187
    assert log == [("tile0.ifmap_sram", "write", 27), ("tile0.weight_sram", "write", 58),
                   ("tile0", "compute a", 62), ("tile0.weight_sram", "write", 89),
                   ("tile0", "compute a", 117), ("tile0", "done a", 187)]
    assert holds == [Hold(in_get=2, in_put=0, w_get=1, w_put=1),
                     Hold(in_get=0, in_put=2, w_get=1, w_put=1)]


@pytest.mark.parametrize("fld,buf", [("input_buffer", "ifmap"), ("weight_buffer", "weight"),
                                     ("output_buffer", "ofmap")])
def test_double_on_a_buffer_that_is_not_double_buffered_is_a_plan_error(tmp_path, fld, buf):
    over = {f"tile.sram.{buf}.double_buffered": False}
    arch = tiny_arch(**over)
    g = resolve_workload(str(gemm_csv(tmp_path, [("a", 8, 4, 16)])))
    plan = heuristic_plan(g, arch, "ws", MappingSpec.parse("layer"))
    assert getattr(plan.layers[0], fld) == "single"  # the heuristic uses it as it is
    bad = dataclasses.replace(plan, layers=(dataclasses.replace(plan.layers[0],
                                                                **{fld: "double"}),))
    with pytest.raises(PlanError, match=rf"layer 'a': field '{fld}': 'double' needs a "
                                        rf"double-buffered buffer; .*tile.sram.{buf}."
                                        rf"double_buffered is false"):
        build_schedule(g, arch, "ws", bad)


def test_search_offers_single_only_where_it_admits_a_larger_chunk(tmp_path):
    arch = tiny_arch(**{"tile.sram.weight.capacity_bytes": 1024})
    g = resolve_workload(str(gemm_csv(tmp_path, [("a", 32, 16, 48)])))
    (L,) = gemm_layers(g, arch).values()
    d, s = "double", "single"
    assert buffer_options(L, arch) == [(d, d, d), (s, d, d), (d, s, d), (s, s, d),
                                       (d, d, s), (s, d, s), (d, s, s), (s, s, s)]
    assert buffer_options(L, tiny_arch(ideal_memory=True)) == [(d, d, d)]
    assert buffer_options(L, tiny_arch(**{"tile.sram.ifmap.double_buffered": False,
                                          "tile.sram.ofmap.double_buffered": False})) == [
        (s, d, s), (s, s, s)]
    base = _plan(g, arch).layers[0]
    ws = {(c.chunk_channels, c.weight_buffer) for c in layer_candidates(L, arch, base)
          if c.dataflow == "ws" and c.tile_count == 1 and c.split_channels == 1}
    # all 16 filters (768 B) only in the whole weight buffer; 8 (384 B) in half of it
    assert (16, "single") in ws and (8, "double") in ws
    assert (16, "double") not in ws and (8, "single") not in ws
    # 512 output bytes fit half the output buffer: the whole of it admits nothing more
    assert {c.output_buffer for c in layer_candidates(L, arch, base)} == {"double"}


def _section5(tmp_path):
    """docs/validation.md section 5's design point and its 64 -> 64 3x3 conv on 32 x 32."""
    arch = load_arch("mac_1x1").with_overrides({
        "gbuf.capacity_bytes": 0, "tile.pe_array.fold_pipelining": True,
        "tile.fetch.weight_streaming": True})
    csv = conv_csv(tmp_path, [("conv3x3_64_64_32x32", 34, 34, 3, 3, 64, 64, 1)])
    return arch, str(csv)


def test_search_offers_the_whole_output_buffer_for_a_chunk_the_halves_do_not_admit(tmp_path):
    # 64 KiB input / 64 KiB weight / 32 KiB output buffers.  The 36,864 weight bytes of all 64
    # filters fit only the whole weight buffer; 64 output channels x 256 pixels fill the
    # 16 KiB output half; 512 pixels (16 output rows) need 32 KiB of outputs and an 18-row x
    # 34 x 64 = 39,168-byte input region: all three buffers whole.  The whole output buffer
    # with the input half admits 13 rows (15 x 34 x 64 = 32,640 input bytes): 416 pixels.
    arch, csv = _section5(tmp_path)
    g = resolve_workload(csv)
    (L,) = gemm_layers(g, arch).values()
    base = heuristic_plan(g, arch, "os", MappingSpec.parse("layer")).layers[0]
    assert (base.input_buffer, base.weight_buffer, base.output_buffer) == ("double",) * 3
    cands = layer_candidates(L, arch, base)
    one = {(c.chunk_pixels, c.chunk_channels, c.input_buffer, c.weight_buffer, c.output_buffer)
           for c in cands if c.dataflow == "os" and c.tile_count == 1 and c.split_pixels == 1
           and c.split_channels == 1 and c.split_k == 1}
    s, d = "single", "double"
    assert {(512, 64, s, s, s), (416, 64, d, s, s), (256, 64, d, s, d)} <= one
    # an output-single candidate only where no output-double choice admits its chunk
    for c in cands:
        if c.output_buffer == "single":
            for i, w in ((d, d), (s, d), (d, s), (s, s)):
                m = dataclasses.replace(c, input_buffer=i, weight_buffer=w, output_buffer=d)
                assert _fits(g, arch, m) is False, c


def _fits(g, arch, lp) -> bool:
    plan = heuristic_plan(g, arch, lp.dataflow, MappingSpec.parse("layer"))
    try:
        build_schedule(g, arch, lp.dataflow, dataclasses.replace(plan, layers=(lp,)))
    except MappingError as e:
        assert "does not fit" in str(e)
        return False
    return True


def test_energy_search_fetches_the_weights_once_and_the_input_in_two_pieces(tmp_path):
    # ZigZag's energy-optimal mapping of the layer (docs/validation.md section 5): weights
    # once (36,864 B), the input in two 18-row pieces (2 x 39,168 B), outputs once (65,536 B)
    arch, csv = _section5(tmp_path)
    res = simulate(arch, csv, dataflow="os", mapping="search:energy")
    ch = res.search.layers[0].chosen
    assert (ch.chunk_pixels, ch.chunk_channels, ch.input_buffer, ch.weight_buffer,
            ch.output_buffer) == (512, 64, "single", "single", "single")
    dram = {k.action: n for k, n in res.actions.items() if k.kind == "dram"}
    assert (dram["read_bytes"], dram["write_bytes"]) == (36_864 + 2 * 39_168, 65_536)


def test_plan_with_single_buffers_round_trips_and_replays_exactly(tmp_path):
    arch = tiny_arch(**{"tile.sram.weight.capacity_bytes": 1024})
    g = resolve_workload(str(gemm_csv(tmp_path, [("a", 32, 16, 48)])))
    plan = _plan(g, arch, chunk_pixels=16, chunk_channels=16, input_buffer="single",
                 weight_buffer="single", output_buffer="single")
    text = plan_yaml(plan)
    assert "input_buffer: single, weight_buffer: single, output_buffer: single}" in text
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    assert load_plan(path) == plan
    a = simulate(arch, g, mapping=plan).summary()
    b = simulate(arch, g, mapping=str(path)).summary()
    assert json.dumps(a) == json.dumps(b)
    # a bad value names the layer and the field
    path.write_text(text.replace("input_buffer: single", "input_buffer: triple"))
    with pytest.raises(PlanError, match=r"layer 'a' \(layers\[0\]\): field 'input_buffer'"):
        load_plan(path)
    path.write_text(text.replace("output_buffer: single", "output_buffer: half"))
    with pytest.raises(PlanError, match=r"layer 'a' \(layers\[0\]\): field 'output_buffer'"):
        load_plan(path)
    # a plan written before the field existed reads as double
    path.write_text(text.replace(", output_buffer: single", ""))
    assert load_plan(path).layers[0].output_buffer == "double"
