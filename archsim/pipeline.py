"""``simulate()``: the pipeline's stages composed, each of which can also be called alone.

    design point ──► workload graph ──► mapping ──► SimPy core ──► energy ──► report
    design.arch      graph (+ zoo hook)  mapping     sim.engine     energy     report

In:  a design point (:class:`~archsim.design.arch.ArchConfig`, a YAML path or a shipped name),
     a workload (a graph, a saved workload folder, a SCALE-Sim topology CSV or a zoo name), a
     dataflow and a mapping: a spec (``layer``, ``pipeline:...``: the heuristic's plan), a
     :class:`~archsim.mapping.plan.MappingPlan` or a ``mapping.yaml`` path (replayed exactly;
     its ``dataflow`` is the run's), or ``search`` / ``search:energy`` / ``search:edp``
     (:mod:`archsim.mapping.search`).
Out: a frozen :class:`SimResult`: the SimPy core's :class:`~archsim.sim.engine.SimOutcome`
     plus its price (``energy``, ``area``, ``layer_energy``); ``summary()`` is the plain-data
     summary built by :mod:`archsim.report.summary` (metrics defined in docs/metrics.md).

Zoo names reach the ``workloads`` package (torch) only through :mod:`archsim.zoo`, imported
only when a zoo name is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsim.design.arch import ArchConfig, load_arch
from archsim.errors import UsageError, WorkloadError, short
from archsim.graph.dag import Dag, is_digraph
from archsim.mapping.plan import MappingPlan, load_plan
from archsim.mapping.schedule import MappingSpec, build_schedule
from archsim.sim.engine import SimOutcome, run_schedule

if TYPE_CHECKING:  # networkx is slow to import
    import networkx as nx

__all__ = ["SimResult", "check_sparsity", "design_bits", "price", "resolve_workload", "simulate",
           "workload_kind"]


@dataclass(frozen=True, kw_only=True)
class SimResult(SimOutcome):
    """A simulated run with its price: the SimPy outcome plus energy and area."""

    energy: Any = None  # archsim.energy.EnergyReport of the whole run
    area: Any = None  # archsim.energy.AreaReport of the chip
    layer_energy: dict[str, Any] = field(default_factory=dict)  # node -> EnergyReport
    lut_organisation: dict[str, Any] | None = None  # CostModel.organisation_summary()
    search: Any = None  # archsim.mapping.search.SearchReport when the mapping was searched

    def summary(self) -> dict[str, Any]:
        """Plain-data summary (JSON-serialisable); metrics are defined in docs/metrics.md."""
        from archsim.report.summary import build_summary

        return build_summary(self)


def workload_kind(workload: Any) -> str:
    """``"graph"``, ``"folder"`` (a saved workload), ``"csv"`` (a SCALE-Sim topology) or
    ``"zoo"`` (anything else: a name for the ``workloads`` package, checked when built)."""
    if is_digraph(workload):
        return "graph"
    p = Path(str(workload))
    if p.is_dir():
        return "folder"
    if p.suffix.lower() == ".csv":
        return "csv"
    return "zoo"


def check_sparsity(sparsity: Any, where: str = "--sparsity") -> float:
    """``sparsity`` as a float in [0, 1); anything else raises UsageError naming it."""
    try:
        s = float(sparsity)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: {short(sparsity)} is not a number") from None
    if not 0.0 <= s < 1.0:
        raise UsageError(f"{where}: {short(sparsity)} is outside [0, 1) (the fraction of weights "
                         "pruned)")
    return s


def _zoo_names() -> list[str]:
    from archsim import zoo  # the one hook to the workloads package (torch)

    return zoo.names()


def design_bits(arch: ArchConfig) -> dict[str, int]:
    """``act_bits`` / ``weight_bits`` of the design point's PE kind: the widths a zoo model is
    quantised to when it runs there (so a W2 ``tmac`` design point gets a 2-bit graph)."""
    pe = arch.pe()
    return {k: int(getattr(pe, k)) for k in ("act_bits", "weight_bits")
            if isinstance(getattr(pe, k, None), int)}


def resolve_workload(workload: Any, seed: int = 0, sparsity: float | None = 0.0,
                     sample: int | None = None, weights: str | Path | None = None,
                     prune: str = "layer", act_bits: int | None = None,
                     weight_bits: int | None = None) -> nx.DiGraph | Dag:
    """A graph from a graph, a saved workload folder, a SCALE-Sim CSV or a zoo name.

    Graphs (networkx ``DiGraph`` or ``archsim.graph.dag.Dag``) are returned as they are; folders
    and CSVs are read as a ``Dag`` (no networkx import); zoo names are built with torch by the
    ``workloads`` package through :mod:`archsim.zoo`, the one hook from archsim to it.
    ``sparsity`` applies to zoo names only: a non-zero value for any other workload raises
    :class:`~archsim.errors.UsageError` (it would be ignored); so do ``weights`` (a state-dict
    file) and ``prune`` (``layer`` | ``global``). ``act_bits`` / ``weight_bits`` (None: the
    zoo's defaults, 8 / 9) are the widths a zoo model is quantised to (``design_bits(arch)``);
    other workloads keep the widths they were exported with.
    """
    kind = workload_kind(workload)
    if kind != "zoo" and weights is not None:
        raise UsageError(f"--weights {short(str(weights))}: only zoo workloads take a state "
                         f"dict; {short(str(workload))} is not a zoo name")
    if kind != "zoo" and sparsity:
        raise UsageError(
            f"--sparsity {short(sparsity)} applies to zoo workloads only; {short(str(workload))} "
            f"is a {'saved workload folder' if kind == 'folder' else kind} whose weights are "
            "already given (prune before exporting instead)")
    if kind == "graph":
        return workload
    if kind == "folder":
        from archsim.graph.ir import read_workload, validate_workload

        g = read_workload(Path(str(workload)))
        try:
            validate_workload(g)
        except WorkloadError as exc:
            raise WorkloadError(f"{workload}: {exc}") from None
        return g
    if kind == "csv":
        from archsim.graph.scalesim_csv import read_topology

        return read_topology(Path(str(workload)))
    name = str(workload)
    zoo = _zoo_names()
    if name not in zoo:
        raise WorkloadError(
            f"workload {short(name, 200)}: no such folder or .csv file, and not a zoo name (zoo: "
            f"{', '.join(zoo)})")
    from archsim import zoo as zoo_hook  # the one hook to the workloads package (torch)

    bits = {k: int(v) for k, v in (("act_bits", act_bits), ("weight_bits", weight_bits))
            if v is not None}
    return zoo_hook.build(name, sparsity=check_sparsity(sparsity or 0.0), seed=seed,
                          sample=sample, checkpoint=weights, prune=prune, **bits)


def resolve_mapping(mapping: Any) -> Any:
    """A ``mapping.yaml`` path becomes its :class:`MappingPlan`; anything else is returned."""
    if isinstance(mapping, Path) or (isinstance(mapping, str)
                                     and mapping.lower().endswith((".yaml", ".yml"))):
        return load_plan(mapping)
    return mapping


def is_search(mapping: Any) -> bool:
    return isinstance(mapping, str) and mapping.split(":")[0] == "search"


def price(outcome: SimOutcome, costs: Any) -> SimResult:
    """Attach energy and area from ``costs`` (an ``archsim.energy.CostModel``) to an outcome.

    ``costs=None`` gives a :class:`SimResult` without energy and area.
    """
    energy = area = org = None
    layer_energy: dict[str, Any] = {}
    if costs is not None:
        org = costs.organisation_summary()
        energy = costs.energy(dict(outcome.actions), float(outcome.latency_cycles))
        area = costs.area()
        for l in outcome.layers:
            if l.node in outcome.layer_actions:
                layer_energy[l.node] = costs.energy(dict(outcome.layer_actions[l.node]),
                                                    l.cycles)
    base = {f.name: getattr(outcome, f.name) for f in fields(SimOutcome)}
    return SimResult(**base, energy=energy, area=area, layer_energy=layer_energy,
                     lut_organisation=org)


def simulate(arch: ArchConfig | str | Path, workload: Any, dataflow: str = "ws",
             mapping: MappingSpec | MappingPlan | str | Path | None = None,
             functional: bool = False, seed: int = 0, trace: bool = False) -> SimResult:
    """Simulate ``workload`` on ``arch``. Deterministic for a config + seed.

    The stages, in order: design point -> workload graph (validated, batched) -> cost model
    (a missing cost entry fails before any work) -> schedule -> SimPy run -> price.
    """
    t_wall = time.perf_counter()
    if not isinstance(arch, ArchConfig):
        arch = load_arch(arch)
    g = resolve_workload(workload, seed=seed, sample=1 if functional else None,
                         **design_bits(arch))
    from archsim.energy import load_cost_model
    from archsim.graph.batching import apply_batch
    from archsim.graph.ir import validate_workload

    validate_workload(g)
    g = apply_batch(g, arch.batch, arch.source)
    mapping = resolve_mapping(mapping)
    report = None
    if is_search(mapping):
        from archsim.mapping.search import search_mapping

        report = search_mapping(g, arch, dataflow, mapping, seed=seed)
        mapping = report.plan
    if isinstance(mapping, MappingPlan):
        dataflow = mapping.dataflow
    else:
        mapping = MappingSpec.parse(mapping)
    costs = load_cost_model(arch, dataflow=dataflow)
    sched = build_schedule(g, arch, dataflow, mapping)
    outcome = run_schedule(arch, g, sched, functional=functional, seed=seed, trace=trace,
                           t_wall=t_wall)
    res = price(outcome, costs)
    if report is not None:
        import dataclasses

        res = dataclasses.replace(res, search=report)
    return res
