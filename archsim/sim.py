"""Run a workload on a design point: ``simulate(arch, workload, dataflow, mapping, ...)``.

In:  an :class:`ArchConfig` (or a YAML path / built-in name), a workload graph (or a saved
     workload folder, a SCALE-Sim topology CSV, or a zoo name), a dataflow, a mapping spec.
Out: a frozen :class:`SimResult`: latency, per-layer and per-tile breakdowns, stall cycles by
     cause, action counts by dotted component name, bounds, and the functional check.

The flow reads as its steps: map (Schedule) -> build the chip (mesh, edge memory, tiles) ->
start the tile controllers -> run SimPy -> check every task finished -> collect.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsim.components import EdgeMemory, Mesh, SimEnv
from archsim.config import ArchConfig, load_arch
from archsim.dag import Dag, is_digraph
from archsim.mapping import MappingSpec, Schedule, build_schedule
from archsim.tile import Tile

if TYPE_CHECKING:  # networkx is slow to import; graphs may also be archsim.dag.Dag
    import networkx as nx

__all__ = [
    "DeadlockError",
    "LayerResult",
    "SimResult",
    "TileResult",
    "resolve_workload",
    "run_schedule",
    "simulate",
]


class DeadlockError(RuntimeError):
    """The event queue ran dry with tasks unfinished (names the stuck tasks)."""


@dataclass(frozen=True)
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

    @property
    def cycles(self) -> float:
        return max(0.0, self.end_cycle - self.start_cycle)


@dataclass(frozen=True)
class TileResult:
    tile: int
    busy_cycles: int
    macs_executed: int
    tasks: int
    stall_cycles: dict[str, float]


@dataclass(frozen=True)
class SimResult:
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
    actions: dict[str, int]
    layer_actions: dict[str, dict[str, int]]
    pe_kind: str
    cycles_per_mac: float
    compute_bound_cycles: float
    dram_bound_cycles: float
    functional: dict[str, Any] | None = None
    energy: Any = None  # archsim.energy.EnergyReport of the whole run
    area: Any = None  # archsim.energy.AreaReport of the chip
    layer_energy: dict[str, Any] = field(default_factory=dict)  # node -> EnergyReport
    outputs: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    trace: tuple = field(default=(), repr=False)

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

    def summary(self) -> dict[str, Any]:
        """Plain-data summary (JSON-serialisable); metrics are defined in docs/metrics.md."""
        clock_hz = self.arch.clock_mhz * 1e6
        return {
            "workload": self.workload,
            "arch": self.arch.name,
            "arch_source": self.arch.source,
            "dataflow": self.dataflow,
            "mapping": self.mapping,
            "seed": self.seed,
            "pe_kind": self.pe_kind,
            "tiles": self.arch.n_tiles,
            "pes_per_tile": self.arch.pes_per_tile,
            "latency_cycles": self.latency_cycles,
            "latency_us": self.latency_cycles / clock_hz * 1e6,
            "macs_dense": self.macs_dense,
            "macs_executed": self.macs_executed,
            "utilization": self.utilization,
            "compute_bound_cycles": self.compute_bound_cycles,
            "dram_bound_cycles": self.dram_bound_cycles,
            "events": self.events,
            "stall_cycles": self.stall_cycles(),
            "layers": [
                {
                    "node": l.node, "op": l.op, "start_cycle": l.start_cycle,
                    "end_cycle": l.end_cycle, "cycles": l.cycles,
                    "compute_cycles": l.compute_cycles, "macs_dense": l.macs_dense,
                    "macs_executed": l.macs_executed,
                    "mapping_efficiency": (l.macs_executed / l.pe_slots) if l.pe_slots else None,
                    "tasks": l.tasks, "tiles": l.tiles,
                    "partition": list(l.partition) if l.partition else None,
                    "stall_cycles": dict(sorted(l.stall_cycles.items())),
                    "energy_pj": (self.layer_energy[l.node].total_pj
                                  if l.node in self.layer_energy else None),
                    "energy_by_class_pj": (dict(sorted(
                        self.layer_energy[l.node].by_class_pj.items()))
                        if l.node in self.layer_energy else None),
                }
                for l in self.layers
            ],
            "per_tile": [
                {
                    "tile": t.tile, "busy_cycles": t.busy_cycles,
                    "utilization": (t.busy_cycles / self.latency_cycles
                                    if self.latency_cycles else 0.0),
                    "macs_executed": t.macs_executed, "tasks": t.tasks,
                    "stall_cycles": dict(sorted(t.stall_cycles.items())),
                }
                for t in self.tiles
            ],
            "actions": dict(sorted(self.actions.items())),
            "functional": self.functional,
            "energy": self.energy.as_dict() if self.energy is not None else None,
            "area": self.area.as_dict() if self.area is not None else None,
        }


def resolve_workload(workload: Any, seed: int = 0, sparsity: float = 0.0,
                     sample: int | None = None) -> nx.DiGraph | Dag:
    """A graph from a graph, a saved workload folder, a SCALE-Sim CSV or a zoo name.

    Graphs (networkx ``DiGraph`` or ``archsim.dag.Dag``) are returned as they are; folders and
    CSVs are read as a ``Dag`` (no networkx import); zoo names are built with torch.
    """
    if is_digraph(workload):
        return workload
    p = Path(str(workload))
    if p.is_dir():
        from archsim.graph import read_workload

        return read_workload(p)
    if p.suffix.lower() == ".csv":
        from archsim.topology import read_topology

        return read_topology(p)
    try:
        import workloads  # torch lives there; only imported for zoo names
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ValueError(
            f"workload {workload!r}: not a folder or .csv, and the zoo needs the 'workloads' "
            f"package with torch ({exc})"
        ) from None
    return workloads.build(str(workload), sparsity=sparsity, seed=seed, sample=sample)


def _dram_bound(sched: Schedule, arch: ArchConfig) -> float:
    total = 0
    for t in sched.tasks:
        for c in t.chunks:
            total += c.weight_bytes
            total += sum(s.nbytes for s in c.sources if s.memory == "dram")
            if t.out_home == "dram":
                total += c.ofmap_bytes
    bw = arch.dram.channels * arch.dram.bytes_per_cycle_per_channel
    return 0.0 if arch.ideal_memory else total / bw


def simulate(arch: ArchConfig | str | Path, workload: Any, dataflow: str = "ws",
             mapping: MappingSpec | str | None = None, functional: bool = False, seed: int = 0,
             trace: bool = False) -> SimResult:
    """Simulate ``workload`` on ``arch`` (see module doc). Deterministic for a config + seed."""
    t_wall = time.perf_counter()
    if not isinstance(arch, ArchConfig):
        arch = load_arch(arch)
    g = resolve_workload(workload, seed=seed, sample=1 if functional else None)
    from archsim.batching import apply_batch
    from archsim.graph import validate_workload

    validate_workload(g)
    g = apply_batch(g, arch.batch, arch.source)
    spec = MappingSpec.parse(mapping)
    from archsim.energy import load_cost_model

    costs = load_cost_model(arch, dataflow=dataflow)  # a missing cost entry fails here
    sched = build_schedule(g, arch, dataflow, spec)
    return run_schedule(arch, g, sched, functional=functional, seed=seed, trace=trace,
                        t_wall=t_wall, costs=costs)


def run_schedule(arch: ArchConfig, g: nx.DiGraph, sched: Schedule, functional: bool = False,
                 seed: int = 0, trace: bool = False, t_wall: float | None = None,
                 costs: Any = None) -> SimResult:
    """Run an already mapped Schedule (the SimPy part of ``simulate``).

    ``costs`` (an ``archsim.energy.CostModel``) prices the run; None skips energy and area.
    """
    t_wall = time.perf_counter() if t_wall is None else t_wall
    dataflow, spec = sched.dataflow, sched.mapping
    pe = arch.pe()

    env = SimEnv(trace=trace)
    rows = arch.grid.rows
    attach = [min(rows - 1, (2 * c + 1) * rows // (2 * arch.dram.channels))
              for c in range(arch.dram.channels)]
    mesh = Mesh(env, arch, attach)
    mem = EdgeMemory(env, arch)
    done = {t.id: env.event() for t in sched.tasks}
    per_tile: dict[int, list] = defaultdict(list)
    for t in sched.tasks:
        per_tile[t.tile].append(t)
    state = None
    if functional:
        from archsim.functional import FunctionalState

        state = FunctionalState(g, sched, pe)
    layer_stalls: dict[str, defaultdict] = defaultdict(lambda: defaultdict(float))
    layer_stats: dict[str, dict] = defaultdict(lambda: {
        "start": float("inf"), "end": 0.0, "compute_cycles": 0, "macs_executed": 0,
        "macs_dense": 0, "pe_slots": 0})
    program_run = any(c.program_entries for t in sched.tasks for c in t.chunks)
    tiles = {
        i: Tile(env, arch, i, per_tile.get(i, []), done, mesh, mem, pe, program_run,
                state.compute if state else None, layer_stalls, layer_stats)
        for i in range(arch.n_tiles)
    }
    for tile in tiles.values():
        tile.peers = tiles
    env.run()

    stuck = [t for t in sched.tasks if not done[t.id].triggered]
    if stuck:
        names = ", ".join(
            f"{t.name} waiting on {[sched.tasks[d].name for d in t.deps if not done[d].triggered][:3]}"
            for t in stuck[:5])
        raise DeadlockError(
            f"simulation stopped at cycle {env.now} with {len(stuck)} unfinished tasks: {names}"
        )

    tasks_by_node: dict[str, list] = defaultdict(list)
    for t in sched.tasks:
        tasks_by_node[t.node].append(t)
    layers = []
    for node in sched.layers:
        st = layer_stats[node]
        ts = tasks_by_node[node]
        layers.append(LayerResult(
            node, g.nodes[node]["op"], st["start"] if ts else 0.0, st["end"],
            st["compute_cycles"], st["macs_dense"], st["macs_executed"], st["pe_slots"],
            len(ts), len({t.tile for t in ts}), sched.partitions.get(node),
            dict(layer_stalls.get(node, {})),
        ))
    tile_results = tuple(
        TileResult(i, tl.rec.busy_cycles, tl.rec.macs_executed, tl.rec.tasks,
                   dict(tl.rec.stalls))
        for i, tl in tiles.items()
    )
    macs_exec = sum(l.macs_executed for l in layers)
    compute_bound = macs_exec * pe.cycles_per_mac / (arch.n_tiles * arch.pes_per_tile)
    func = state.compare() if state else None
    energy = area = None
    layer_energy: dict[str, Any] = {}
    if costs is not None:
        energy = costs.energy(dict(env.actions), float(env.now))
        area = costs.area()
        for l in layers:
            if l.node in env.layer_actions:
                layer_energy[l.node] = costs.energy(dict(env.layer_actions[l.node]), l.cycles)
    return SimResult(
        arch=arch, workload=str(g.graph.get("name", "workload")), dataflow=dataflow,
        mapping=spec.label(), seed=seed, latency_cycles=float(env.now),
        events=env.events_processed, wall_seconds=time.perf_counter() - t_wall,
        layers=tuple(layers), tiles=tile_results, actions=dict(env.actions),
        layer_actions={k: dict(v) for k, v in env.layer_actions.items()},
        pe_kind=pe.name, cycles_per_mac=float(pe.cycles_per_mac),
        compute_bound_cycles=compute_bound, dram_bound_cycles=_dram_bound(sched, arch),
        functional=func, energy=energy, area=area, layer_energy=layer_energy,
        outputs=state.outputs() if state else None,
        trace=tuple(env.trace),
    )
