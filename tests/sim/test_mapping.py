"""Mapping: partitions, chunking to fit buffers, LUT organisation, batch, and their errors."""

import numpy as np
import pytest

import archsim
from archsim.design.arch import ConfigError
from archsim.graph.batching import BatchError, apply_batch
from archsim.mapping.partition import split_range
from archsim.mapping.schedule import MappingError, build_schedule
from archsim.pipeline import resolve_workload
from archsim.sim.actions import parse

from .helpers import gemm_csv, tiny_arch


def test_split_range_balanced():
    assert split_range(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert split_range(2, 5) == [(0, 1), (1, 2)]


def test_forced_partitions(tmp_path):
    g = resolve_workload(str(gemm_csv(tmp_path, [("g", 64, 32, 16)])))
    arch = tiny_arch(**{"grid.rows": 2, "grid.cols": 2})
    s = build_schedule(g, arch, "ws", "layer:out_channels")
    assert s.partitions["g"] == (1, 4)
    assert sorted((t.chunks[0].n0, t.chunks[-1].n1) for t in s.tasks) == [
        (0, 8), (8, 16), (16, 24), (24, 32)]
    s = build_schedule(g, arch, "ws", "layer:out_pixels")
    assert s.partitions["g"] == (4, 1)
    # every output element is produced exactly once
    for strategy in ("layer:out_channels", "layer:out_pixels", "layer", "pipeline"):
        s = build_schedule(g, arch, "os", strategy)
        assert sum(c.macs_dense for t in s.tasks for c in t.chunks) == 64 * 32 * 16


def test_chunks_fit_the_buffers(tmp_path):
    # K = 256: one output row needs 256 input bytes; usable ifmap = 512 B (double-buffered)
    g = resolve_workload(str(gemm_csv(tmp_path, [("g", 64, 8, 256)])))
    arch = tiny_arch(**{"tile.sram.ifmap.capacity_bytes": 1024})
    s = build_schedule(g, arch, "ws", "layer")
    rows = [c.m1 - c.m0 for t in s.tasks for c in t.chunks]
    assert max(rows) == 2 and sum(rows) == 64


def test_layer_that_does_not_fit_names_layer_and_buffer(tmp_path):
    g = resolve_workload(str(gemm_csv(tmp_path, [("huge", 4, 4, 4096)])))
    arch = tiny_arch(**{"tile.sram.ifmap.capacity_bytes": 1024})
    with pytest.raises(MappingError, match=r"layer 'huge' does not fit: one filter needs 4096 "
                                           r"weight bytes > tile.sram.weight usable capacity"):
        build_schedule(g, arch, "ws", "layer")
    arch = tiny_arch(**{"tile.sram.ifmap.capacity_bytes": 1024,
                        "tile.sram.weight.capacity_bytes": 65536})
    with pytest.raises(MappingError, match=r"tiny_arch: layer 'huge' does not fit: one output "
                                           r"pixel needs 4096 input bytes \(tile.sram.ifmap"):
        build_schedule(g, arch, "ws", "layer")


def test_weight_programmed_tables_need_ws(tmp_path):
    g = resolve_workload(str(gemm_csv(tmp_path, [("g", 8, 8, 8)])))
    arch = tiny_arch(**{"tile.pe_array.pe_kind": "lutna",
                        "tile.pe_array.pe_params": {"act_bits": 8, "weight_bits": 9},
                        "tile.lut_banks.count": 2,
                        "tile.lut_banks.organisation": "weight"})
    with pytest.raises(MappingError, match="organisation 'weight'.*needs dataflow 'ws'"):
        build_schedule(g, arch, "os", "layer")
    s = build_schedule(g, arch, "ws", "layer")
    # 8 x 8 x 8 on a 4x4 array: ws folds = ceil(8/4) * ceil(8/4) = 4; each loads 16 PEs x 16
    assert sum(c.program_entries for t in s.tasks for c in t.chunks) == 4 * 16 * 16
    res = archsim.simulate(arch, g, dataflow="ws")
    progs = [res.actions[parse(f"tile0.lut_bank{b}.program")] for b in (0, 1)]
    assert sum(progs) == 1024
    # weight-programmed look-ups: one per activation digit (8 / 4 = 2) per MAC
    looks = sum(v for k, v in res.actions.items() if k.action == "lookup")
    assert looks == 2 * 8 * 8 * 8


def test_lut_config_errors():
    with pytest.raises(ConfigError, match=r"tile.lut_banks.count: PE kind 'lutna'"):
        tiny_arch(**{"tile.pe_array.pe_kind": "lutna", "tile.pe_array.pe_params": {}})
    with pytest.raises(ConfigError, match=r"organisation: 'weight' needs the exact 'lutna'"):
        tiny_arch(**{"tile.lut_banks.organisation": "weight"})
    with pytest.raises(ConfigError, match=r"organisation"):
        tiny_arch(**{"tile.lut_banks.organisation": "rom"})


def test_lookup_bandwidth_bounds_compute(tmp_path):
    g = resolve_workload(str(gemm_csv(tmp_path, [("g", 64, 64, 64)])))
    base = {"tile.pe_array.pe_kind": "lutna",
            "tile.pe_array.pe_params": {"act_bits": 8, "weight_bits": 9}, "ideal_memory": True}
    fast = tiny_arch(**base, **{"tile.lut_banks.count": 4})
    slow = tiny_arch(**base, **{"tile.lut_banks.count": 1, "tile.lut_banks.read_ports": 1,
                                "tile.lut_banks.lookups_per_port_per_cycle": 1})
    t_fast = archsim.simulate(fast, g, dataflow="os").latency_cycles
    t_slow = archsim.simulate(slow, g, dataflow="os").latency_cycles
    # 64^3 MACs x 4 look-ups at 1 look-up per cycle, after loading the product tables once:
    # 4 tables x 256 entries x 16 PEs (no sharing) x 1 byte at 8 bytes/cycle = 2048 cycles
    assert t_slow == 4 * 64 ** 3 + 2048
    assert t_fast < t_slow


def test_batch(tmp_path):
    g = resolve_workload(str(gemm_csv(tmp_path, [("g", 8, 8, 8)])))
    h = apply_batch(g, 3)
    assert h.nodes["g"]["out_shape"][0] == 3 and h.nodes["g"]["macs_dense"] == 3 * 512
    assert apply_batch(g, None) is g
    res = archsim.simulate(tiny_arch(batch=3), g, dataflow="ws")
    assert res.macs_dense == 3 * 512
    with pytest.raises(BatchError, match="field 'batch' is 2 but workload 'gemm' was built for "
                                         "batch 3"):
        apply_batch(h, 2, "x.yaml")


@pytest.mark.parametrize("text,pattern", [
    ("stripes", r"mapping: strategy 'stripes' is not one of"),
    ("layer:diagonal", r"mapping: partition 'diagonal' is not one of"),
])
def test_bad_mapping_names_the_field(text, pattern):
    from archsim.mapping.schedule import MappingSpec

    with pytest.raises(ValueError, match=pattern):
        MappingSpec.parse(text)


def test_bad_dataflow(tmp_path):
    g = resolve_workload(str(gemm_csv(tmp_path, [("g", 4, 4, 4)])))
    with pytest.raises(ValueError, match=r"dataflow: 'xs' is not one of os, ws, is"):
        build_schedule(g, tiny_arch(), "xs", "layer")


# ---- auto partition: sparse compute and the busiest tile's link (worked by hand) ---------
def _traffic_only_arch():
    """2x2 tiles, 4 DRAM channels of 4 B/cycle, 4 B links, no global buffer, no latencies."""
    return tiny_arch(**{"grid.rows": 2, "grid.cols": 2, "dram.channels": 4,
                        "dram.latency_cycles": 0, "interconnect.hop_latency_cycles": 0})


def test_auto_partition_splits_weights_over_tile_links():
    from archsim.mapping.partition import LayerBytes, choose_partition

    # M=1, N=4, K=1000, no compute left (all weights pruned: ratio 0), 4000 B of weight
    # metadata, 1000 B input, 4 B output.  Per tn (tm = 1):
    #   tn=1: edge (1000+4000+4)/16 = 312.75, dram 5000/16 = 312.5, own link 5004/4 = 1251
    #   tn=2: edge 6004/16 = 375.25, own link (1000+2000+2)/4 = 750.5
    #   tn=4: edge 8004/16 = 500.25, own link (1000+1000+1)/4 = 500.25  -> the fastest
    nbytes = LayerBytes(inputs=1000, weights=4000, outputs=4)
    arch = _traffic_only_arch()
    assert choose_partition(1, 4, 1000, 4, "auto", arch, "ws", 1.0, nbytes,
                            lambda tn: 0.0) == (1, 4)


def test_auto_partition_of_an_empty_layer_splits_pixels_not_filters():
    from archsim.mapping.partition import LayerBytes, _estimate, choose_partition

    # an all-zero layer (no compute) with a 4000 B input: splitting filters replicates the
    # input, splitting pixels divides it over the tiles' links.  M=64, N=16, K=100.
    nbytes = LayerBytes(inputs=4000, weights=8, outputs=64)
    arch = _traffic_only_arch()
    est = {(tm, tn): _estimate(64, 16, 100, tm, tn, arch, "ws", 1.0, nbytes, 0.0)
           for tm, tn in ((1, 1), (4, 1), (1, 4))}
    # (1,1): own link (4000 + 8 + 64)/4 = 1018
    # (4,1): own link (1000 + 8 + 16)/4 = 256; edge (4000 + 32 + 64)/16 = 256
    # (1,4): own link (4000 + 2 + 16)/4 = 1004.5
    assert est == {(1, 1): 1018.0, (4, 1): 256.0, (1, 4): 1004.5}
    assert choose_partition(64, 16, 100, 4, "auto", arch, "ws", 1.0, nbytes,
                            lambda tn: 0.0) == (4, 1)


def test_sparse_ratio_of_a_pruned_layer(tmp_path):
    """Half the filters all-zero: the densest of 2 filter blocks is dense, of 1 block half."""
    import dataclasses

    from archsim.mapping.fold import SparseRule
    from archsim.mapping.heuristic import sparse_fold_ratio
    from archsim.mapping.layer import gemm_layers

    arch = tiny_arch(**{"grid.rows": 1, "grid.cols": 2})
    g = resolve_workload(str(gemm_csv(tmp_path, [("a", 8, 8, 4)])))
    mask = np.ones((4, 8), dtype=bool)
    mask[:, 4:] = False  # filters 4..7 pruned away
    layer = dataclasses.replace(gemm_layers(g, arch)["a"], mask=mask,
                                rule=SparseRule(mode="filter_block"))
    ratio = sparse_fold_ratio(layer, "ws")
    # ws on 4x4 (folds x (2R + C + M - 2) - 1): dense 8 filters = 2 column folds = 2*18-1 =
    # 35 cycles; sparse keeps the first fold only: 17.  Two blocks: [0, 4) is dense (17/17),
    # [4, 8) has no work (0/17).
    assert ratio(1) == 17 / 35
    assert ratio(2) == 1.0
