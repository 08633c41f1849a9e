"""Mapping plans as data: heuristic plan, YAML round trip, exact replay, split-K, errors."""

import dataclasses
import json
import subprocess
import sys

import pytest

from archsim.mapping.heuristic import heuristic_plan
from archsim.mapping.plan import PlanError, load_plan, parse_plan, plan_yaml
from archsim.mapping.schedule import MappingError, MappingSpec, build_schedule
from archsim.pipeline import resolve_workload, simulate
from tests.sim.helpers import conv_csv, gemm_csv, tiny_arch


def _plan(g, arch, df="ws"):
    return heuristic_plan(g, arch, df, MappingSpec.parse("layer"))


def test_heuristic_plan_round_trips_and_replays_exactly(tmp_path):
    g = resolve_workload(str(gemm_csv(tmp_path, [("a", 40, 24, 36), ("b", 40, 8, 24)])))
    arch = tiny_arch(**{"grid.cols": 2})
    plan = _plan(g, arch)
    path = tmp_path / "mapping.yaml"
    path.write_text(plan_yaml(plan))
    assert load_plan(path) == plan
    a = simulate(arch, g, mapping="layer").summary()
    b = simulate(arch, g, mapping=str(path)).summary()
    assert json.dumps(a) == json.dumps(b)


def test_invalid_plan_names_layer_and_field(tmp_path):
    g = resolve_workload(str(gemm_csv(tmp_path, [("a", 40, 24, 36)])))
    arch = tiny_arch()
    data = json.loads(json.dumps(dataclasses.asdict(_plan(g, arch))))
    data["layers"][0]["loop_order"] = "diagonal"
    with pytest.raises(PlanError, match=r"x.yaml: layer 'a' \(layers\[0\]\): field "
                                        r"'loop_order': Input should be"):
        parse_plan(data, "x.yaml")
    plan = _plan(g, arch)
    too_wide = dataclasses.replace(plan, layers=(dataclasses.replace(
        plan.layers[0], split_channels=25),))
    with pytest.raises(MappingError, match=r"layer 'a': field 'split_channels': 25 parts > "
                                           r"the layer's 24 filters"):
        build_schedule(g, arch, "ws", too_wide)
    big = dataclasses.replace(plan, layers=(dataclasses.replace(
        plan.layers[0], chunk_channels=24),))  # 24 x 36 B > 2048 usable weight bytes
    with pytest.raises(MappingError, match=r"layer 'a' does not fit: 24 filters needs 864 "
                                           r"weight bytes"):
        build_schedule(g, tiny_arch(**{"tile.sram.weight.capacity_bytes": 1024}), "ws", big)
    stranger = dataclasses.replace(plan, layers=(dataclasses.replace(plan.layers[0],
                                                                     layer="zz"),))
    with pytest.raises(MappingError, match=r"layer 'zz': field 'layer': no conv"):
        build_schedule(g, arch, "ws", stranger)


def test_split_k_partial_sums_are_moved_and_added_on_the_first_tile(tmp_path):
    # one 4 x 4 x 8 GEMM, reduction split over 2 tiles: each computes 4 x 4 x 4 partial
    # sums (32-bit: 64 bytes); tile 0 pulls both (its own from its output buffer) and adds
    # 16 pairs on its 4 vector lanes: 4 cycles, 16 vector ops
    g = resolve_workload(str(conv_csv(tmp_path, [("a", 2, 2, 1, 1, 8, 4, 1)])))
    arch = tiny_arch(**{"grid.cols": 2})
    plan = _plan(g, arch)
    lp = dataclasses.replace(plan.layers[0], split_pixels=1, split_channels=1, split_k=2,
                             tile_count=2, chunk_pixels=4, chunk_channels=4)
    sched = build_schedule(g, arch, "ws", dataclasses.replace(plan, layers=(lp,)))
    p0, p1, red = sched.tasks
    assert (p0.tile, p1.tile, red.tile) == (0, 1, 0)
    assert p0.out_home == p1.out_home == "tile" and red.deps == (p0.id, p1.id)
    assert [c.macs_dense for c in (p0.chunks[0], p1.chunks[0])] == [64, 64]
    (c,) = red.chunks
    assert [(s.tile, s.nbytes) for s in c.sources] == [(0, 64), (1, 64)]
    assert (c.vector_ops, c.compute_cycles, c.ofmap_bytes) == (16, 4, 16)
    res = simulate(arch, g, mapping=dataclasses.replace(plan, layers=(lp,)))
    assert res.macs_executed == 128
    vec = sum(n for k, n in res.actions.items() if k.kind == "vector")
    assert vec == 16
    # partial sums are acc_bits wide: at 16 bits each part holds and sends 16 x 2 bytes
    narrow = tiny_arch(**{"grid.cols": 2, "tile.pe_array.acc_bits": 16})
    sched = build_schedule(g, narrow, "ws", dataclasses.replace(plan, layers=(lp,)))
    p0, p1, red = sched.tasks
    assert [(s.tile, s.nbytes) for s in red.chunks[0].sources] == [(0, 32), (1, 32)]
    assert p0.chunks[0].ofmap_bytes == 32
    # in compute a part writes its 16 partial sums once (K = 4 fits one row fold of 4)
    assert dict(p0.chunks[0].sram_writes) == {"ofmap": 32}


def test_sparsity_is_the_design_points_mode_not_the_plans(tmp_path):
    """The same plan on a design point that skips zeros (gather) runs fewer MACs; a plan
    file with the old skip_zeros field is rejected naming it."""
    g = resolve_workload(str(gemm_csv(tmp_path, [("a", 8, 4, 8)])))
    w = g.nodes["a"]["weight"]  # (N, 1, 1, K): a GEMM row is a 1 x K "conv"
    w[..., 4:] = 0  # half the reduction rows are zero in every filter
    arch = tiny_arch()
    plan = _plan(g, arch)
    dense = build_schedule(g, arch, "ws", plan)
    sparse = build_schedule(g, tiny_arch(**{"tile.sparsity.mode": "gather"}), "ws", plan)
    assert dense.tasks[0].chunks[0].macs_executed == 8 * 4 * 8
    assert sparse.tasks[0].chunks[0].macs_executed == 8 * 4 * 4
    assert sparse.tasks[0].chunks[0].selects == 8 * 4 * 4
    data = json.loads(json.dumps(dataclasses.asdict(plan)))
    data["skip_zeros"] = True
    with pytest.raises(PlanError, match="skip_zeros"):
        parse_plan(data, "old.yaml")


def test_cli_writes_mapping_and_replays_it(tmp_path):
    csv = gemm_csv(tmp_path, [("g1", 64, 32, 48)])

    def run(*a):
        return subprocess.run([sys.executable, "-m", "archsim", "run", "mac_2x2", "--workload",
                               str(csv), "--no-plots", *a], capture_output=True, text=True,
                              timeout=300, check=False)
    r = run("--out", str(tmp_path / "r1"))
    assert r.returncode == 0, r.stderr
    mp = tmp_path / "r1" / "mapping.yaml"
    r = run("--mapping", str(mp), "--out", str(tmp_path / "r2"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "r1" / "summary.json").read_text() == \
        (tmp_path / "r2" / "summary.json").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(mp.read_text().replace("split_k: 1", "split_k: 0"))
    r = run("--mapping", str(bad))
    assert r.returncode == 2
    assert "layer 'g1' (layers[0]): field 'split_k'" in r.stderr
    assert "Traceback" not in r.stderr
