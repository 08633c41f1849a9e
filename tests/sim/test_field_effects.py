"""Every field of a design point changes a result: none is declared but inert.

``EFFECTS`` names, for every leaf field of :class:`ArchConfig`, a change, the setting that
shows its effect (workload, dataflow, mapping, other overrides) and the result that must
differ from the unchanged run. ``test_every_field_is_covered`` fails when a field is added
without an entry here, so a new field comes with the test of its effect.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest

import archsim
from archsim.design.arch import ArchConfig, load_arch
from archsim.design.schema import field_names
from tests.test_graph import toy_graph

from .helpers import gemm_csv


def leaf_fields(cls: type = ArchConfig, prefix: str = "") -> list[str]:
    hints = typing.get_type_hints(cls)
    out: list[str] = []
    for name in field_names(cls):
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            out += leaf_fields(tp, f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out


def _latency(s):
    return s["latency_cycles"]


def _energy(s):
    return s["energy"]["total_pj"]


def _area(s):
    return s["area"]["total_um2"]


@dataclasses.dataclass(frozen=True)
class Effect:
    value: typing.Any  # the changed value
    metric: typing.Callable  # the result that must change
    base: str = "lutna_2x2"
    setting: tuple = ()  # overrides applied to both runs
    dataflow: str = "ws"
    mapping: str = "layer"
    workload: str = "toy"  # "toy": tests.test_graph.toy_graph(batch=4); "gemm": a CSV;
    # "nm": a 64 x 32 x 40 GEMM with 1:4 structured sparsity (SCALE-Sim v3 Sparsity column)


SMALL_W = (("tile.sram.weight.capacity_bytes", 128),)
SLOW_LUT = (("tile.lut_banks.lookups_per_port_per_cycle", 1),)
# the fetch unit and mesh without streaming, prefetch, multicast or spread attach points
LEGACY_FETCH = (("tile.fetch.streaming", False), ("tile.fetch.weight_prefetch", False),
                ("interconnect.multicast", False), ("interconnect.memory_edges", ("west",)))
GATHER = (("tile.sparsity.mode", "gather"),)
NM = (("tile.sparsity.mode", "nm_structured"),)
NM_OPT = NM + (("tile.sparsity.optimized_mapping", True), ("tile.sparsity.block_size", 4))

EFFECTS: dict[str, Effect] = {
    "clock_mhz": Effect(250.0, lambda s: s["latency_us"]),
    "batch": Effect(2, _latency, workload="gemm"),
    "grid.rows": Effect(1, _latency),
    "grid.cols": Effect(1, _latency),
    "tile.pe_array.rows": Effect(8, _latency),
    "tile.pe_array.cols": Effect(8, _latency),
    "tile.pe_array.pe_kind": Effect("mac", _area),
    "tile.pe_array.pe_params": Effect({"act_bits": 8, "weight_bits": 9, "digit_bits": 4,
                                       "parallel_tables": False}, _latency),
    "tile.lut_banks.count": Effect(1, _latency),
    "tile.lut_banks.read_ports": Effect(1, _latency, setting=SLOW_LUT),
    "tile.lut_banks.lookups_per_port_per_cycle": Effect(1, _latency),
    "tile.lut_banks.program_bytes_per_cycle": Effect(1, _latency),
    "tile.lut_banks.pes_per_table": Effect(1, _area),
    "tile.lut_banks.organisation": Effect("weight", _latency,
                                          setting=(("tile.lut_banks.pes_per_table", 1),)),
    "tile.lut_banks.sharing": Effect("time_multiplexed", _latency),
    "tile.lut_banks.table_read_ports": Effect(2, _area),
    "tile.router.latency_cycles": Effect(5, _latency),
    "tile.vector_lanes": Effect(1, _latency),
    "interconnect.link_bytes_per_cycle": Effect(2, _latency),
    "interconnect.hop_latency_cycles": Effect(5, _latency),
    "dram.channels": Effect(1, _latency),
    "dram.bytes_per_cycle_per_channel": Effect(2, _latency),
    "dram.latency_cycles": Effect(300, _latency),
    "dram.burst_bytes": Effect(256, _latency),
    "gbuf.capacity_bytes": Effect(0, _latency),
    "gbuf.ports": Effect(1, _latency),
    "gbuf.bytes_per_cycle": Effect(1, _latency),
    "gbuf.latency_cycles": Effect(50, _latency),
    "ideal_memory": Effect(True, _latency),
    "energy_table": Effect("energy/cacti_65nm.yaml", _energy),
    "leakage": Effect(False, _energy),
    # SRAM buffers. capacity: chunking (timing) and per-access energy, area; banks: energy
    # and area only (docs/model.md); ports: the PE array holds one ifmap and one weight
    # port while it computes, consumer tiles read a producer's ofmap through its ports.
    "tile.sram.ifmap.capacity_bytes": Effect(256, _latency),
    "tile.sram.weight.capacity_bytes": Effect(128, _latency),
    "tile.sram.ofmap.capacity_bytes": Effect(512, _area),
    "tile.sram.ifmap.banks": Effect(8, _energy),
    "tile.sram.weight.banks": Effect(8, _area),
    "tile.sram.ofmap.banks": Effect(8, _area),
    "tile.sram.ifmap.ports": Effect(1, _latency, setting=(("tile.fetch.streaming", False),)),
    "tile.sram.weight.ports": Effect(1, _latency, setting=SMALL_W, dataflow="is"),
    "tile.sram.ofmap.ports": Effect(1, _latency, mapping="pipeline",
                                    setting=(("tile.sram.ofmap.bytes_per_cycle", 4),)),
    "tile.sram.ifmap.bytes_per_cycle": Effect(1, _latency),
    "tile.sram.weight.bytes_per_cycle": Effect(1, _latency),
    "tile.sram.ofmap.bytes_per_cycle": Effect(1, _latency, mapping="pipeline"),
    "tile.sram.ifmap.latency_cycles": Effect(20, _latency),
    "tile.sram.weight.latency_cycles": Effect(20, _latency),
    "tile.sram.ofmap.latency_cycles": Effect(30, _latency, mapping="pipeline"),
    "tile.sram.ifmap.double_buffered": Effect(False, _latency),
    "tile.sram.weight.double_buffered": Effect(False, _latency, setting=SMALL_W),
    "tile.sram.ofmap.double_buffered": Effect(False, _latency),
    # fetch and interconnect mechanisms (shipped lutna/mac design points switch them on)
    "tile.fetch.streaming": Effect(False, _latency),
    "tile.fetch.sub_blocks": Effect(1, _latency),
    "tile.fetch.weight_prefetch": Effect(False, _latency),
    # compute starts on the weights' first sub-block instead of all of them
    "tile.fetch.weight_streaming": Effect(True, _latency),
    # the outputs but the last piece leave during compute
    "tile.fetch.write_streaming": Effect(True, _latency, dataflow="os"),
    "interconnect.multicast": Effect(False, lambda s: s["actions"]),
    "interconnect.memory_edges": Effect(("west",), _latency),
    # Y-first routes use other links than X-first ones (the base is square: short_first = xy)
    "interconnect.routing": Effect("yx", lambda s: s["actions"]),
    "gbuf.attach": Effect("dram_channels", _latency),
    # psums: the accumulator registers (energy) and the psum bytes in the output buffer
    "tile.pe_array.acc_bits": Effect(16, _energy),
    # fold pipelining: folds issue every max(T, R) cycles, one fill / drain per block
    "tile.pe_array.fold_pipelining": Effect(True, _latency),
    # sparsity hardware (docs/model.md): dense timing vs the gather network's compaction;
    # gating prices zero weights; the selector window sets the selectors' area; the gather
    # pipeline and bandwidth time the fold; metadata formats move different bytes; the
    # optimised N:M mapping keeps K'' = ceil(K / 2B) * B rows (40 -> 20, or 24 with B = 8)
    "tile.sparsity.mode": Effect("gather", _latency, workload="nm"),
    "tile.sparsity.zero_gating": Effect(False, _energy, workload="nm"),
    "tile.sparsity.select_window": Effect(4, _area, setting=GATHER),
    "tile.sparsity.gather_latency_cycles": Effect(50, _latency, setting=GATHER, workload="nm"),
    "tile.sparsity.gather_operands_per_cycle": Effect(1, _latency, setting=GATHER,
                                                      workload="nm"),
    "tile.sparsity.metadata": Effect("csr", _energy, setting=NM, workload="nm"),
    "tile.sparsity.optimized_mapping": Effect(True, _latency, setting=NM, workload="nm"),
    "tile.sparsity.block_size": Effect(8, _energy, setting=NM_OPT, workload="nm"),
}
# labels, not hardware: shown by `archsim list`, written with every result, named in errors
LABELS = {"name", "description", "source"}


def test_every_field_is_covered():
    fields = set(leaf_fields())
    assert set(EFFECTS) | LABELS == fields, (
        f"fields without an effect test: {sorted(fields - set(EFFECTS) - LABELS)}; "
        f"entries for fields that do not exist: {sorted(set(EFFECTS) - fields)}")


_WORKLOADS: dict[str, object] = {}


def _workload(kind: str, tmp_path_factory):
    if kind not in _WORKLOADS:
        if kind == "toy":
            _WORKLOADS[kind] = toy_graph(batch=4)
        elif kind == "nm":
            p = tmp_path_factory.mktemp("nm") / "nm.csv"
            p.write_text("Layer, M, N, K, Sparsity,\ng1, 64, 32, 40, 1:4,\n")
            _WORKLOADS[kind] = str(p)
        else:
            folder = tmp_path_factory.mktemp("gemm")
            _WORKLOADS[kind] = str(gemm_csv(folder, [("g1", 64, 32, 48)]))
    return _WORKLOADS[kind]


@pytest.mark.parametrize("field", sorted(EFFECTS))
def test_field_changes_a_result(field, tmp_path_factory):
    e = EFFECTS[field]
    arch = load_arch(e.base).with_overrides(dict(e.setting))
    assert arch.resolved() != arch.with_overrides({field: e.value}).resolved()
    g = _workload(e.workload, tmp_path_factory)
    before, after = (
        archsim.simulate(a, g, dataflow=e.dataflow, mapping=e.mapping).summary()
        for a in (arch, arch.with_overrides({field: e.value})))
    assert e.metric(before) != e.metric(after), f"{field} -> {e.value!r} changed nothing"


def test_labels_are_carried_with_results():
    arch = load_arch("lutna_2x2").with_overrides({"name": "x", "description": "my chip"})
    res = archsim.simulate(arch, toy_graph(batch=4), dataflow="ws")
    assert res.summary()["arch"] == "x" and res.arch.resolved()["description"] == "my chip"
    assert res.summary()["arch_source"] == arch.source
