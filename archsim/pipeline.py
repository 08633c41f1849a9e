"""``simulate()``: the pipeline's stages composed, each of which can also be called alone.

    design point ──► workload graph ──► mapping ──► SimPy core ──► energy ──► report
    design.arch      graph (+ zoo hook)  mapping     sim.engine     energy     report

In:  a design point (:class:`~archsim.design.arch.ArchConfig`, a YAML path or a shipped name),
     a workload (a graph, a saved workload folder, a SCALE-Sim topology CSV or a zoo name), a
     dataflow and a mapping spec.
Out: a frozen :class:`SimResult`: the SimPy core's :class:`~archsim.sim.engine.SimOutcome`
     plus its price (``energy``, ``area``, ``layer_energy``); ``summary()`` is the plain-data
     summary built by :mod:`archsim.report.summary` (metrics defined in docs/metrics.md).

Zoo names are the one place where ``archsim`` reaches the ``workloads`` package (torch): the
documented hook :func:`resolve_workload`, imported only when a zoo name is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsim.design.arch import ArchConfig, load_arch
from archsim.graph.dag import Dag, is_digraph
from archsim.mapping.schedule import MappingSpec, build_schedule
from archsim.sim.engine import SimOutcome, run_schedule

if TYPE_CHECKING:  # networkx is slow to import
    import networkx as nx

__all__ = ["SimResult", "price", "resolve_workload", "simulate"]


@dataclass(frozen=True)
class SimResult(SimOutcome):
    """A simulated run with its price: the SimPy outcome plus energy and area."""

    energy: Any = None  # archsim.energy.EnergyReport of the whole run
    area: Any = None  # archsim.energy.AreaReport of the chip
    layer_energy: dict[str, Any] = field(default_factory=dict)  # node -> EnergyReport

    def summary(self) -> dict[str, Any]:
        """Plain-data summary (JSON-serialisable); metrics are defined in docs/metrics.md."""
        from archsim.report.summary import build_summary

        return build_summary(self)


def resolve_workload(workload: Any, seed: int = 0, sparsity: float = 0.0,
                     sample: int | None = None, weights: str | Path | None = None,
                     prune: str = "layer") -> nx.DiGraph | Dag:
    """A graph from a graph, a saved workload folder, a SCALE-Sim CSV or a zoo name.

    Graphs (networkx ``DiGraph`` or ``archsim.graph.dag.Dag``) are returned as they are; folders
    and CSVs are read as a ``Dag`` (no networkx import); zoo names are built with torch by the
    ``workloads`` package -- the one documented hook from ``archsim`` to ``workloads``;
    ``weights`` (a state-dict file) and ``prune`` (``layer`` | ``global``) apply to zoo names only.
    """
    if weights is not None and (is_digraph(workload) or Path(str(workload)).is_dir()
                                or Path(str(workload)).suffix.lower() == ".csv"):
        raise ValueError(f"--weights {weights}: only zoo workloads take a state dict; "
                         f"{workload!r} is not a zoo name")
    if is_digraph(workload):
        return workload
    p = Path(str(workload))
    if p.is_dir():
        from archsim.graph.ir import read_workload

        return read_workload(p)
    if p.suffix.lower() == ".csv":
        from archsim.graph.scalesim_csv import read_topology

        return read_topology(p)
    try:
        import workloads  # torch lives there; only imported for zoo names
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ValueError(
            f"workload {workload!r}: not a folder or .csv, and the zoo needs the 'workloads' "
            f"package with torch ({exc})"
        ) from None
    return workloads.build(str(workload), sparsity=sparsity, seed=seed, sample=sample,
                           checkpoint=weights, prune=prune)


def price(outcome: SimOutcome, costs: Any) -> SimResult:
    """Attach energy and area from ``costs`` (an ``archsim.energy.CostModel``) to an outcome.

    ``costs=None`` gives a :class:`SimResult` without energy and area.
    """
    energy = area = None
    layer_energy: dict[str, Any] = {}
    if costs is not None:
        energy = costs.energy(dict(outcome.actions), float(outcome.latency_cycles))
        area = costs.area()
        for l in outcome.layers:
            if l.node in outcome.layer_actions:
                layer_energy[l.node] = costs.energy(dict(outcome.layer_actions[l.node]),
                                                    l.cycles)
    base = {f.name: getattr(outcome, f.name) for f in fields(SimOutcome)}
    return SimResult(**base, energy=energy, area=area, layer_energy=layer_energy)


def simulate(arch: ArchConfig | str | Path, workload: Any, dataflow: str = "ws",
             mapping: MappingSpec | str | None = None, functional: bool = False, seed: int = 0,
             trace: bool = False) -> SimResult:
    """Simulate ``workload`` on ``arch``. Deterministic for a config + seed.

    The stages, in order: design point -> workload graph (validated, batched) -> cost model
    (a missing cost entry fails before any work) -> schedule -> SimPy run -> price.
    """
    t_wall = time.perf_counter()
    if not isinstance(arch, ArchConfig):
        arch = load_arch(arch)
    g = resolve_workload(workload, seed=seed, sample=1 if functional else None)
    from archsim.energy import load_cost_model
    from archsim.graph.batching import apply_batch
    from archsim.graph.ir import validate_workload

    validate_workload(g)
    g = apply_batch(g, arch.batch, arch.source)
    spec = MappingSpec.parse(mapping)
    costs = load_cost_model(arch, dataflow=dataflow)
    sched = build_schedule(g, arch, dataflow, spec)
    outcome = run_schedule(arch, g, sched, functional=functional, seed=seed, trace=trace,
                           t_wall=t_wall)
    return price(outcome, costs)
