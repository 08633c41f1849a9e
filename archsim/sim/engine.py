"""The SimPy run: ``run_schedule(arch, graph, schedule)`` -> :class:`SimOutcome` (plain data).

In:  an :class:`ArchConfig`, the (batched, validated) workload graph and a mapped
     :class:`~archsim.mapping.schedule.Schedule`.
Out: a frozen :class:`SimOutcome`: latency, per-layer and per-tile breakdowns, stall cycles by
     cause, action counts (chip and per layer), bounds, and the functional check.  No pricing,
     no workload building, no reports: :func:`archsim.pipeline.simulate` composes the stages.

The flow reads as its steps: build the chip (mesh, edge memory, tiles) -> start the tile
controllers -> run SimPy -> check every task finished -> collect.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archsim.design.arch import ArchConfig
from archsim.design.edge import attach_points
from archsim.mapping.bounds import bounds
from archsim.mapping.schedule import Schedule
from archsim.pe.organisation import read_stretch
from archsim.sim.actions import ActionCounts
from archsim.sim.components import EdgeMemory, Mesh, SimEnv
from archsim.sim.tile import Chip, LayerRecord, McGroup, Tile

if TYPE_CHECKING:  # networkx is slow to import; graphs may also be archsim.graph.dag.Dag
    import networkx as nx

__all__ = [
    "DeadlockError",
    "LayerResult",
    "SimOutcome",
    "TileResult",
    "run_schedule",
]


class DeadlockError(RuntimeError):
    """The event queue ran dry with tasks unfinished (names the stuck tasks)."""


@dataclass(frozen=True, kw_only=True)
class LayerResult:
    node: str
    op: str
    start_cycle: float
    end_cycle: float
    compute_cycles: int
    macs_dense: int
    macs_executed: int
    pe_slots: int
    tasks: int
    tiles: int
    partition: tuple[int, int] | None
    stall_cycles: dict[str, float]
    fill_hidden_cycles: int = 0  # fold pipelining: fill overlapped with the previous chunk

    @property
    def cycles(self) -> float:
        return max(0.0, self.end_cycle - self.start_cycle)


@dataclass(frozen=True, kw_only=True)
class TileResult:
    tile: int
    busy_cycles: int
    macs_executed: int
    tasks: int
    stall_cycles: dict[str, float]


WORKLOAD_INFO_KEYS = ("weights", "weights_source", "pruning", "sparsity", "sparsity_achieved",
                      "empty_layers", "calib_source", "sample_source")


@dataclass(frozen=True, kw_only=True)
class SimOutcome:
    arch: ArchConfig
    workload: str
    dataflow: str
    mapping: str
    seed: int
    latency_cycles: float
    events: int
    wall_seconds: float
    layers: tuple[LayerResult, ...]
    tiles: tuple[TileResult, ...]
    actions: ActionCounts  # ActionKey -> count
    layer_actions: dict[str, ActionCounts]  # node -> its own counts
    pe_kind: str
    cycles_per_mac: float
    compute_bound_cycles: float
    dram_bound_cycles: float
    bounds: dict[str, Any] = field(default_factory=dict)  # archsim.mapping.bounds as_dict()
    functional: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    trace: tuple = field(default=(), repr=False)
    plan: Any = field(default=None, repr=False)  # the MappingPlan the schedule was built from
    # what the workload says about itself (graph attributes in WORKLOAD_INFO_KEYS, if present)
    workload_info: dict[str, Any] = field(default_factory=dict)

    @property
    def macs_dense(self) -> int:
        return sum(l.macs_dense for l in self.layers)

    @property
    def macs_executed(self) -> int:
        return sum(l.macs_executed for l in self.layers)

    @property
    def utilization(self) -> float:
        """Executed MACs x cycles/MAC over (all PEs x latency): 1.0 = every PE busy always."""
        pes = self.arch.n_tiles * self.arch.pes_per_tile
        if not self.latency_cycles:
            return 0.0
        return self.macs_executed * self.cycles_per_mac / (pes * self.latency_cycles)

    def stall_cycles(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for t in self.tiles:
            for k, v in t.stall_cycles.items():
                out[k] += v
        return dict(sorted(out.items()))


def _merge(records: list[LayerRecord]) -> LayerRecord:
    """One layer's record over the tiles that ran it (stall causes in first-seen order)."""
    out = LayerRecord()
    for r in records:
        out.start = min(out.start, r.start)
        out.end = max(out.end, r.end)
        out.compute_cycles += r.compute_cycles
        out.macs_executed += r.macs_executed
        out.macs_dense += r.macs_dense
        out.pe_slots += r.pe_slots
        out.fill_hidden_cycles += r.fill_hidden_cycles
        for cause, cyc in r.stalls.items():
            out.stalls[cause] += cyc
    return out


def _dram_bound(sched: Schedule, arch: ArchConfig) -> float:
    total = 0
    groups: set[int] = set()  # a multicast group reads its bytes once
    for t in sched.tasks:
        for c in t.chunks:
            if c.weight_group is None or c.weight_group not in groups:
                total += c.weight_bytes
                groups.add(c.weight_group)
            for s in c.sources:
                if s.memory == "dram" and (s.group is None or s.group not in groups):
                    total += s.nbytes
                    groups.add(s.group)
            if t.out_home == "dram":
                total += c.ofmap_bytes
    bw = arch.dram.channels * arch.dram.bytes_per_cycle_per_channel
    return 0.0 if arch.ideal_memory else total / bw


def run_schedule(arch: ArchConfig, g: nx.DiGraph, sched: Schedule, functional: bool = False,
                 seed: int = 0, trace: bool = False, t_wall: float | None = None) -> SimOutcome:
    """Run an already mapped Schedule on ``arch`` and return what happened (plain data)."""
    t_wall = time.perf_counter() if t_wall is None else t_wall
    dataflow = sched.dataflow
    pe = arch.pe()

    env = SimEnv(trace=trace)
    points = attach_points(arch)
    mesh = Mesh(env, arch, points)
    mem = EdgeMemory(env, arch, points)
    done = {t.id: env.event() for t in sched.tasks}
    per_tile: dict[int, list] = defaultdict(list)
    for t in sched.tasks:
        per_tile[t.tile].append(t)
    state = None
    if functional:
        from archsim.sim.functional import FunctionalState

        state = FunctionalState(g, sched, pe)
    chip = Chip(env=env, arch=arch, mesh=mesh, mem=mem, pe=pe, done=done,
                program_run=any(c.program_entries for t in sched.tasks for c in t.chunks),
                compute_fn=state.compute if state else None,
                groups={gid: McGroup(members=m, event=env.event())
                        for gid, m in sched.multicast.items()})
    tiles = {i: Tile(chip, i, per_tile.get(i, [])) for i in range(arch.n_tiles)}
    env.run()

    stuck = [t for t in sched.tasks if not done[t.id].triggered]
    if stuck:
        names = ", ".join(
            f"{t.name} waiting on "
            f"{[sched.tasks[d].name for d in t.deps if not done[d].triggered][:3]}"
            for t in stuck[:5])
        raise DeadlockError(
            f"simulation stopped at cycle {env.now} with {len(stuck)} unfinished tasks: {names}"
        )

    tasks_by_node: dict[str, list] = defaultdict(list)
    for t in sched.tasks:
        tasks_by_node[t.node].append(t)
    layers = []
    for node in sched.layers:
        st = _merge([tl.rec.layers[node] for tl in tiles.values() if node in tl.rec.layers])
        ts = tasks_by_node[node]
        layers.append(LayerResult(
            node=node, op=g.nodes[node]["op"], start_cycle=st.start if ts else 0.0,
            end_cycle=st.end, compute_cycles=st.compute_cycles, macs_dense=st.macs_dense,
            macs_executed=st.macs_executed, pe_slots=st.pe_slots, tasks=len(ts),
            tiles=len({t.tile for t in ts}), partition=sched.partitions.get(node),
            stall_cycles=dict(st.stalls), fill_hidden_cycles=st.fill_hidden_cycles,
        ))
    tile_results = tuple(
        TileResult(tile=i, busy_cycles=tl.rec.busy_cycles, macs_executed=tl.rec.macs_executed,
                   tasks=tl.rec.tasks, stall_cycles=dict(tl.rec.stalls))
        for i, tl in tiles.items()
    )
    macs_exec = sum(l.macs_executed for l in layers)
    compute_bound = (macs_exec * pe.cycles_per_mac * read_stretch(pe, arch.tile.lut_banks)
                     / (arch.n_tiles * arch.pes_per_tile))
    func = state.compare() if state else None
    return SimOutcome(
        arch=arch, workload=str(g.graph.get("name", "workload")), dataflow=dataflow,
        mapping=sched.plan.label, seed=seed, latency_cycles=float(env.now),
        events=env.events_processed, wall_seconds=time.perf_counter() - t_wall,
        layers=tuple(layers), tiles=tile_results, actions=ActionCounts(env.actions),
        layer_actions={k: ActionCounts(v) for k, v in env.layer_actions.items()},
        pe_kind=pe.name, cycles_per_mac=float(pe.cycles_per_mac),
        compute_bound_cycles=compute_bound, dram_bound_cycles=_dram_bound(sched, arch),
        bounds=bounds(sched, arch).as_dict(),
        functional=func,
        outputs=state.outputs() if state else None,
        trace=tuple(env.trace), plan=sched.plan,
        workload_info={k: g.graph[k] for k in WORKLOAD_INFO_KEYS if k in g.graph},
    )
