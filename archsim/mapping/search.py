"""Mapping search: per-layer candidates ranked analytically, the best few simulated in SimPy.

In:  a (batched) workload graph, a design point, the run's dataflow and ``search`` /
     ``search:latency`` | ``search:energy`` | ``search:edp`` (the objective; default latency).
Out: :class:`SearchReport` -- the chosen :class:`~archsim.mapping.plan.MappingPlan`, per layer
     the heuristic's and the chosen mapping with their simulated latency and energy, the
     candidates evaluated and the search time; ``csv_text()`` (``mapping_search.csv``) and
     ``markdown()`` (a section of ``summary.md``).

Steps:
  1. the heuristic plans (``layer`` with the run's dataflow, and ``pipeline``) are built;
  2. per GEMM layer (a product of two activations -- matmul -- excepted: it keeps the
     heuristic's plan, and the report says so), candidates: every dataflow x tile counts
     (all tiles, and fewer) x spatial splits of pixels, filters and the reduction whose
     product fits the tiles x the largest chunk sizes that fit the buffers (and halves of
     them; the input / weight / output buffer used ``single`` -- whole -- where that admits
     a chunk the halves do not) x both loop orders, inputs kept in the buffer; each is ranked by
     :class:`~archsim.mapping.analytic.LayerModel`;
  3. the ``top`` best by the analytic objective, and the heuristic's own layer plan, are
     simulated in SimPy on the layer alone (its input in DRAM); the best simulated wins -- the
     heuristic's plan is always among them, so a layer is never chosen worse than it by the
     objective (``latency``: never slower; ``energy`` / ``edp``: never costlier -- an energy
     search may trade latency for energy).  Candidates using a buffer otherwise
     than the design point's default (``single``) are ranked apart (estimated only while
     their bound is below the best default estimate): the ``top`` best of them that the model
     ranks above the best default candidate and predicts no worse than the heuristic are
     simulated as well (so adding them never displaces a default candidate);
  4. across layer groups: the whole network is simulated with the per-layer choices (every
     layer its own group) and with the heuristic's plans (``layer``; ``pipeline``: all layers
     one group); the best whole-network plan by the objective is chosen -- the heuristic's
     ``layer`` plan is one of them, so the network is never worse than it either.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import time
import weakref
from dataclasses import dataclass

from archsim.design.arch import ArchConfig
from archsim.errors import MappingError
from archsim.graph.dag import Dag
from archsim.mapping.analytic import LayerModel
from archsim.mapping.heuristic import heuristic_plan
from archsim.mapping.layer import (
    GemmLayer,
    allowed_dataflows,
    buffer_caps,
    buffer_modes,
    dataflow_error,
    gemm_layers,
    graph_aliases,
    mapping_order,
)
from archsim.mapping.plan import LayerPlan, MappingPlan
from archsim.mapping.schedule import MappingSpec, build_schedule

__all__ = ["OBJECTIVES", "LayerChoice", "SearchReport", "buffer_options", "layer_candidates",
           "random_plans", "search_mapping", "single_layer_graph"]

OBJECTIVES = ("latency", "energy", "edp")
NOT_SEARCHED = "product of two activations (matmul) not searched"


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def objective_value(objective: str, latency: float, energy: float) -> float:
    if objective == "latency":
        return latency
    if objective == "energy":
        return energy
    return latency * energy


def single_layer_graph(g, node: str) -> Dag:
    """The layer ``node`` alone: its input becomes the network input (in DRAM)."""
    a = g.nodes[node]
    order = mapping_order(g)
    aliases = graph_aliases(g, order)
    src = a["inputs"][0]
    while src in aliases:
        src = aliases[src]
    s = g.nodes[src]
    d = Dag()
    d.graph.update({k: v for k, v in g.graph.items()
                    if k in ("act_bits", "weight_bits", "batch", "format_version")})
    d.graph["name"] = f"{g.graph.get('name', 'workload')}:{node}"
    d.graph["inputs"], d.graph["outputs"] = ["in"], [node]
    d.add_node("in", op="input", inputs=[], out_shape=tuple(s["out_shape"]),
               out_scale=s.get("out_scale", 1.0), out_lo=int(s["out_lo"]),
               out_hi=int(s["out_hi"]))
    attrs = dict(a)
    attrs["inputs"] = ["in"]
    d.add_node(node, **attrs)
    d.add_edge("in", node)
    return d


def _divisor_like(n: int, limit: int) -> list[int]:
    """Split counts worth trying for n items on at most ``limit`` parts."""
    out = {1, min(n, limit)}
    v = 2
    while v <= min(n, limit):
        out.add(v)
        v *= 2
    for v in range(2, min(n, limit) + 1):
        if n % v == 0 and v <= 16:
            out.add(v)
    return sorted(out)


def _k_parts(L: GemmLayer, tk: int):
    """(first, widest) reduction part of a ``tk``-way split (None, None: no split)."""
    from archsim.mapping.partition import split_range

    if tk == 1:
        return None, None
    parts = split_range(L.cin_per_group, tk)
    return parts[0], max(parts, key=lambda r: r[1] - r[0])


_FITS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # GemmLayer -> {key: bool}


def _fits(L: GemmLayer, caps: dict[str, int], df: str, mc: int, nc: int, tk: int) -> bool:
    """Whether chunks of ``mc`` pixels x ``nc`` filters fit ``caps`` (the first block's
    first chunks, the widest reduction part's weights); cached per layer."""
    memo = _FITS.setdefault(L, {})
    key = (caps["ifmap"], caps["weight"], caps["ofmap"], df, mc, nc, tk)
    hit = memo.get(key)
    if hit is None:
        kc, kc_b = _k_parts(L, tk)
        hit = memo[key] = L.weight_bytes(df, 0, nc, kc_b) <= caps["weight"] and all(
            L.misfit(caps, df, r0, min(L.M, r0 + mc), 0, nc, kc or kc_b) is None
            for r0 in range(0, min(L.M, max(mc * 4, mc + L.out_geom.w)), mc))
    return hit


def _most_pixels(L: GemmLayer, caps: dict[str, int], df: str, m_w: int, nc: int,
                 tk: int) -> int:
    """The largest pixel count (at most ``m_w``) whose worst chunk fits (binary search on the
    first block)."""
    lo, hi = 0, m_w
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if _fits(L, caps, df, mid, nc, tk) else (lo, mid - 1)
    return lo


def _binding(L: GemmLayer, caps: dict[str, int], df: str, mc: int, nc: int,
             tk: int) -> set[str]:
    """The buffers a chunk of ``mc`` pixels overflows (of the chunks :func:`_fits` checks)."""
    kc, kc_b = _k_parts(L, tk)
    return {L.misfit(caps, df, r0, min(L.M, r0 + mc), 0, nc, kc or kc_b)
            for r0 in range(0, min(L.M, max(mc * 4, mc + L.out_geom.w)), mc)} - {None}


def buffer_options(L: GemmLayer, arch: ArchConfig) -> list[tuple[str, str, str]]:
    """(input_buffer, weight_buffer, output_buffer) choices worth searching, the design
    point's default first: ``single`` is added for a double-buffered buffer (not on ideal
    memory, whose chunks use whole buffers already; a matmul's weight buffer stays
    ``double``).  The output buffer varies slowest, so the choices with it as the default
    come first (in the order they had before it was a choice)."""
    base_in, base_w, base_out = buffer_modes(arch)
    if arch.ideal_memory:
        return [(base_in, base_w, base_out)]
    ins = [base_in] + (["single"] if base_in == "double" else [])
    ws = [base_w] + (["single"] if base_w == "double" and not L.dynamic else [])
    outs = [base_out] + (["single"] if base_out == "double" else [])
    return [(i, w, o) for o in outs for w in ws for i in ins]


def _chunk_options(L: GemmLayer, arch: ArchConfig, df: str, tm: int, tn: int,
                   tk: int) -> list[tuple[int, int, str, str, str]]:
    """(chunk_pixels, chunk_channels, input_buffer, weight_buffer, output_buffer): per filter
    width, the most pixels that fit (and half of them) under every buffer choice
    (:func:`buffer_options` order, the default first), each with the first choice that admits
    it; a chunk the default choice admits comes only with it, so ``single`` comes only where
    it admits a chunk ``double`` does not (the whole weights of a block, a larger pixel
    chunk), and a choice using the output buffer ``single`` (where the default does not) only
    with chunks no choice using it as the default admits -- the candidates of the choices
    before it stay what they were.  A width whose weights fit the default choice gets a larger
    pixel count only from a larger input or output buffer, and only when that buffer is what
    stops it one pixel further: other widths are not searched again."""
    from archsim.mapping.partition import split_range

    opts = buffer_options(L, arch)
    m_w = max(b - a for a, b in split_range(L.M, tm))
    n_w = max(b - a for a, b in split_range(L.N, tn))
    if arch.ideal_memory:
        return [(m_w, n_w, *opts[0])]
    caps = [buffer_caps(arch, _Modes(*o)) for o in opts]
    # choices using the output buffer as the default does (they come first)
    n_out = sum(1 for o in opts if o[2] == opts[0][2])
    _, kc_b = _k_parts(L, tk)
    widths = sorted({n_w, _ceil(n_w, 2), _ceil(n_w, 4), min(n_w, arch.tile.pe_array.cols),
                     min(n_w, 2 * arch.tile.pe_array.cols)})
    base: dict[int, int] = {}  # width -> most pixels under the default choice
    out, seen = [], set()
    for j, cap in enumerate(caps):
        for nc in widths:
            if L.weight_bytes(df, 0, nc, kc_b) > cap["weight"]:
                continue
            if j and nc in base and (base[nc] >= m_w or not any(
                    cap[b] > caps[0][b]
                    for b in _binding(L, caps[0], df, base[nc] + 1, nc, tk))):
                continue  # the default's own chunks
            lo = _most_pixels(L, cap, df, m_w, nc, tk)
            if not j:
                base[nc] = lo
            for mc in ([lo] if lo >= 1 else []) + ([_ceil(lo, 2)] if lo >= 4 else []):
                if (mc, nc) in seen:
                    continue
                seen.add((mc, nc))
                first = next(k for k in range(j + 1)
                             if k == j or _fits(L, caps[k], df, mc, nc, tk))
                if j == 0 or (first > 0 and (j < n_out or first >= n_out)):
                    out.append((mc, nc, *opts[first]))
    return out


@dataclass(frozen=True)
class _Modes:
    input_buffer: str
    weight_buffer: str
    output_buffer: str


def _modes(p: LayerPlan) -> tuple[str, str, str]:
    return (p.input_buffer, p.weight_buffer, p.output_buffer)


def layer_candidates(L: GemmLayer, arch: ArchConfig, base: LayerPlan) -> list[LayerPlan]:
    """Candidate plans of one layer (module doc, step 2); the heuristic's not included."""
    T = arch.n_tiles
    dfs = allowed_dataflows(arch)
    out: list[LayerPlan] = []
    seen = set()
    counts = sorted({T, max(1, T // 2), max(1, T // 4)}) if T > 1 else [1]
    for count in counts:
        for tk in ([1] if L.groups > 1 else _divisor_like(L.cin_per_group, count)):
            if tk > 1 and L.cin_per_group < 2 * tk:
                continue
            for tn in _divisor_like(L.N, count // tk):
                for tm in _divisor_like(L.M, count // (tk * tn)):
                    if tm * tn * tk > count or (tm * tn * tk) * 2 <= count and count > 1 \
                            and tm < L.M and tn < L.N:
                        continue
                    if tk > 1 and not arch.ideal_memory:
                        from archsim.mapping.partition import split_range

                        mw = max(b - a for a, b in split_range(L.M, tm))
                        nw = max(b - a for a, b in split_range(L.N, tn))
                        if mw * nw * L.acc_bytes > arch.tile.sram.ofmap.capacity_bytes:
                            continue
                    for df in dfs:
                        for mc, nc, ib, wb, ob in _chunk_options(L, arch, df, tm, tn, tk):
                            for lo in ("channel_major", "pixel_major"):
                                key = (count, tm, tn, tk, mc, nc, df, lo, ib, wb, ob)
                                if key in seen:
                                    continue
                                seen.add(key)
                                out.append(dataclasses.replace(
                                    base, dataflow=df, tile_first=0, tile_count=count,
                                    split_pixels=tm, split_channels=tn, split_k=tk,
                                    chunk_pixels=mc, chunk_channels=nc, loop_order=lo,
                                    input_buffer=ib, weight_buffer=wb,
                                    output_buffer=ob))
    return out


@dataclass(frozen=True, kw_only=True)
class LayerChoice:
    layer: str
    heuristic: LayerPlan
    chosen: LayerPlan
    heuristic_cycles: float  # SimPy, the layer alone
    heuristic_pj: float
    chosen_cycles: float
    chosen_pj: float
    candidates: int  # generated and bounded by the pre-filter (+ the heuristic's plan)
    estimated: int  # ranked by the full analytic estimate
    simulated: int
    note: str = ""  # why the layer was not searched (its heuristic plan kept)


@dataclass(frozen=True, kw_only=True)
class SearchReport:
    objective: str
    plan: MappingPlan
    heuristic: MappingPlan
    layers: tuple[LayerChoice, ...]
    candidates: int
    estimated: int
    simulated_layers: int
    simulated_networks: int
    network: dict[str, tuple[float, float]]  # plan name -> (latency, energy) simulated
    chosen_network: str
    search_seconds: float

    def csv_text(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        fields = ("dataflow", "tile_count", "split_pixels", "split_channels", "split_k",
                  "chunk_pixels", "chunk_channels", "loop_order", "input_buffer",
                  "weight_buffer", "output_buffer")
        w.writerow(["layer", "candidates", "estimated", "simulated", "heuristic_cycles",
                    "chosen_cycles", "speedup", "heuristic_energy_pj", "chosen_energy_pj"]
                   + [f"heuristic_{f}" for f in fields] + [f"chosen_{f}" for f in fields]
                   + ["note"])
        for c in self.layers:
            speed = "" if c.note else f"{c.heuristic_cycles / max(c.chosen_cycles, 1):.4f}"
            nums = (["", "", "", ""] if c.note else
                    [c.heuristic_cycles, c.chosen_cycles, round(c.heuristic_pj, 3),
                     round(c.chosen_pj, 3)])
            w.writerow([c.layer, c.candidates, c.estimated, c.simulated, nums[0], nums[1],
                        speed, nums[2], nums[3]]
                       + [getattr(c.heuristic, f) for f in fields]
                       + [getattr(c.chosen, f) for f in fields] + [c.note])
        return buf.getvalue()

    def markdown(self) -> str:
        lines = ["## Mapping search", "",
                 (f"Objective **{self.objective}**; {self.candidates} candidates bounded by the "
                 f"pre-filter, {self.estimated} ranked by the analytic model, "
                 f"{self.simulated_layers} single-layer and "
                 f"{self.simulated_networks} whole-network SimPy runs, "
                 f"{self.search_seconds:.1f} s.  Chosen: `{self.chosen_network}`."), "",
                 "| plan | latency (cycles) | energy (uJ) |", "|---|---:|---:|"]
        for name, (lat, en) in self.network.items():
            lines.append(f"| {name} | {lat:,.0f} | {en / 1e6:,.3f} |")
        lines += ["", ("Per layer (the layer alone in SimPy; `mapping_search.csv` has the "
                  "mappings):"), "",
                  "| layer | heuristic cycles | chosen cycles | speed-up | chosen mapping |",
                  "|---|---:|---:|---:|---|"]
        for c in self.layers:
            p = c.chosen
            if c.note:
                lines.append(f"| {c.layer} | - | - | - | heuristic kept: {c.note} |")
                continue
            desc = (f"{p.dataflow}, {p.tile_count} tiles, {p.split_pixels}x{p.split_channels}"
                    f"x{p.split_k} (px x ch x k), chunks {p.chunk_pixels}x{p.chunk_channels}, "
                    f"{p.loop_order}")
            if "single" in (p.input_buffer, p.weight_buffer, p.output_buffer):
                desc += (f", buffers in/w/out {p.input_buffer}/{p.weight_buffer}/"
                         f"{p.output_buffer}")
            lines.append(f"| {c.layer} | {c.heuristic_cycles:,.0f} | {c.chosen_cycles:,.0f} | "
                         f"{c.heuristic_cycles / max(c.chosen_cycles, 1):.2f} | {desc} |")
        return "\n".join(lines) + "\n"


# the full estimate is below its bound by at most rounding (bursts are left out of the bound)
BOUND_SLACK = 0.95
MAX_ESTIMATES = 48  # per layer: full analytic estimates at most
SIM_MARGIN = 1.15  # simulate a candidate after the first only within this of the best estimate


def _rank(model: LayerModel, L: GemmLayer, cands: list[LayerPlan], objective: str,
          out_home: str, top: int,
          cutoff: float | None = None) -> list[tuple[float, int, LayerPlan]]:
    """Candidates by the full analytic objective, best first: every candidate is bounded
    (:meth:`LayerModel.bound`); in bound order, candidates are estimated until the next bound
    is above the ``2 x top``-th best estimate (/ ``BOUND_SLACK``) or above ``cutoff`` (/
    ``BOUND_SLACK``), or ``MAX_ESTIMATES`` were estimated (a declared cut: candidates past it
    are never estimated)."""
    import heapq

    bounded = sorted((objective_value(objective, *model.bound(
        L, lp, in_home="dram", out_home=out_home, keep_inputs=True)), i, lp)
        for i, lp in enumerate(cands))
    keep = 2 * top
    worst: list[float] = []  # max-heap (negated) of the ``keep`` best estimates
    scored = []
    for lb, i, lp in bounded:
        if len(scored) >= MAX_ESTIMATES or (
                len(worst) >= keep and lb * BOUND_SLACK > -worst[0]) or (
                cutoff is not None and lb * BOUND_SLACK > cutoff):
            break
        est = model.estimate(L, lp, in_home="dram", out_home=out_home, keep_inputs=True)
        val = objective_value(objective, est.latency_cycles, est.energy_pj)
        scored.append((val, i, lp))
        heapq.heappush(worst, -val)
        if len(worst) > keep:
            heapq.heappop(worst)
    scored.sort(key=lambda x: (x[0], x[1]))
    return scored


@dataclass(frozen=True)
class _Priced:
    latency_cycles: float
    energy_pj: float


def _simulate(arch, g, plan, costs) -> _Priced:
    """SimPy latency and energy of ``g`` under ``plan`` (priced like archsim.pipeline.price)."""
    from archsim.sim.engine import run_schedule

    out = run_schedule(arch, g, build_schedule(g, arch, plan.dataflow, plan))
    return _Priced(out.latency_cycles, costs.energy(dict(out.actions), out.latency_cycles).total_pj)


def _layer_plan_of(plan: MappingPlan, lp: LayerPlan) -> MappingPlan:
    return dataclasses.replace(plan, layers=(dataclasses.replace(lp, group=0),))


def search_mapping(g, arch: ArchConfig, dataflow: str, mapping: str = "search", *,
                   seed: int = 0, top: int = 3) -> SearchReport:
    """Search a mapping for ``g`` on ``arch`` (module doc)."""
    t0 = time.perf_counter()
    from archsim.energy import load_cost_model

    _, _, objective = str(mapping).partition(":")
    objective = objective or "latency"
    if objective not in OBJECTIVES:
        raise MappingError(f"mapping: search objective {objective!r} is not one of "
                           f"{', '.join(OBJECTIVES)}")
    bad = dataflow_error(arch, dataflow)
    if bad:
        raise MappingError(bad)
    order = mapping_order(g)
    layers = gemm_layers(g, arch, order, graph_aliases(g, order))
    costs = load_cost_model(arch, dataflow=dataflow)
    model = LayerModel(arch, costs)
    heur = heuristic_plan(g, arch, dataflow, MappingSpec.parse("layer"), layers)
    heur_lp = heur.by_layer()
    gcap = arch.gbuf.capacity_bytes
    choices: list[LayerChoice] = []
    total_cands = total_est = sim_layers = 0
    for node, L in layers.items():
        hp = heur_lp[node]
        if L.dynamic:
            # the analytic model does not price a dynamic second operand's source or its
            # activation tables, and a layer with two inputs has no single-layer graph
            choices.append(LayerChoice(
                layer=node, heuristic=hp, chosen=hp, heuristic_cycles=float("nan"),
                heuristic_pj=float("nan"), chosen_cycles=float("nan"), chosen_pj=float("nan"),
                candidates=0, estimated=0, simulated=0, note=NOT_SEARCHED))
            continue
        out_home = "gbuf" if L.M * L.N * L.act_bytes <= gcap else "dram"
        cands = layer_candidates(L, arch, hp)
        # buffers used as the design point's default, ranked as before; the other buffer
        # choices apart (step 3)
        modes = _modes(hp)
        other = [c for c in cands if _modes(c) != modes]
        cands_d = [c for c in cands if _modes(c) == modes]
        scored = _rank(model, L, cands_d, objective, out_home, top)
        # only a candidate the model ranks above the best default one is worth simulating
        best_d = scored[0][0] if scored else None
        scored_s = _rank(model, L, other, objective, out_home, top, best_d) if other else []
        total_cands += len(cands)
        total_est += len(scored) + len(scored_s)
        sg = single_layer_graph(g, node)
        results = []
        h_res = _simulate(arch, sg, _layer_plan_of(heur, hp), costs)
        sim_layers += 1
        h_val = objective_value(objective, h_res.latency_cycles, h_res.energy_pj)
        results.append((h_val, 0, hp, False, h_res))
        def simulated(lp: LayerPlan, rank: int, sg=sg, results=results) -> bool:
            """Simulate candidate ``lp`` on the layer alone and keep its result (False: the
            mapper cannot build it). The heuristic is among the results: never worse by
            the objective (latency: never slower; energy / edp: never costlier)."""
            kplan = dataclasses.replace(_layer_plan_of(heur, lp), keep_inputs=True)
            try:
                res = _simulate(arch, sg, kplan, costs)
            except MappingError:
                return False
            results.append((objective_value(objective, res.latency_cycles, res.energy_pj),
                            rank, lp, True, res))
            return True

        tried = 0
        for val_a, _, lp in scored:
            if tried >= top or (tried and val_a > SIM_MARGIN * scored[0][0]):
                break
            if simulated(lp, tried + 1):
                tried += 1
                sim_layers += 1
        # single-buffered candidates: the best few the model ranks above the best default
        # candidate and predicts no worse than the heuristic by the objective
        tried_s = 0
        for val_a, _, lp in scored_s:
            if tried_s >= top or (best_d is not None and val_a >= best_d):
                break
            est = model.estimate(L, lp, in_home="dram", out_home=out_home, keep_inputs=True)
            if objective_value(objective, est.latency_cycles, est.energy_pj) > h_val:
                continue
            if simulated(lp, tried + tried_s + 1):
                tried_s += 1
                sim_layers += 1
        tried += tried_s
        best = min(results, key=lambda r: (r[0], r[1]))
        choices.append(LayerChoice(
            layer=node, heuristic=hp, chosen=dataclasses.replace(best[2], group=hp.group),
            heuristic_cycles=h_res.latency_cycles, heuristic_pj=h_res.energy_pj,
            chosen_cycles=best[4].latency_cycles, chosen_pj=best[4].energy_pj,
            candidates=len(cands) + 1, estimated=len(scored) + len(scored_s),
            simulated=tried + 1))
    searched = dataclasses.replace(heur, label=f"search:{objective}", generator="search",
                                   keep_inputs=True,
                                   layers=tuple(c.chosen for c in choices))
    # across layer groups: whole-network runs, reverting layers slower than the heuristic's
    network: dict[str, tuple[float, float]] = {}
    plans: dict[str, MappingPlan] = {}
    h_net = _simulate(arch, g, heur, costs)
    network["heuristic layer"] = (h_net.latency_cycles, h_net.energy_pj)
    plans["heuristic layer"] = dataclasses.replace(heur, label=f"search:{objective}")
    sim_nets = 1
    try:
        pipe = heuristic_plan(g, arch, dataflow, MappingSpec.parse("pipeline"), layers)
        p_net = _simulate(arch, g, pipe, costs)
        sim_nets += 1
        network["heuristic pipeline"] = (p_net.latency_cycles, p_net.energy_pj)
        plans["heuristic pipeline"] = dataclasses.replace(pipe, label=f"search:{objective}")
    except MappingError:
        pass
    res = _simulate(arch, g, searched, costs)
    sim_nets += 1
    network["searched"] = (res.latency_cycles, res.energy_pj)
    plans["searched"] = searched
    chosen = min(network, key=lambda k: (objective_value(objective, *network[k]),
                                         not k.startswith("searched")))
    plan = plans[chosen]
    final = {c.layer: c for c in choices}
    chosen_layers = plan.by_layer()
    report_layers = tuple(
        c if chosen_layers[c.layer] == c.chosen else dataclasses.replace(
            c, chosen=chosen_layers[c.layer], chosen_cycles=c.heuristic_cycles,
            chosen_pj=c.heuristic_pj) for c in final.values())
    return SearchReport(objective=objective, plan=plan, heuristic=heur, layers=report_layers,
                        candidates=total_cands, estimated=total_est, simulated_layers=sim_layers,
                        simulated_networks=sim_nets, network=network, chosen_network=chosen,
                        search_seconds=time.perf_counter() - t0)


def random_plans(L: GemmLayer, arch: ArchConfig, base: LayerPlan, n: int,
                 seed: int = 0) -> list[LayerPlan]:
    """``n`` distinct random candidates of one layer (for validating the analytic model),
    chunk sizes also drawn below the largest that fit, buffers used as ``base`` uses them;
    deterministic for ``seed``."""
    import random

    rng = random.Random(seed)
    cands = [c for c in layer_candidates(L, arch, base) if _modes(c) == _modes(base)]
    rng.shuffle(cands)
    out = []
    for c in cands[:n]:
        mc = rng.randint(max(1, c.chunk_pixels // 4), c.chunk_pixels)
        nc = rng.randint(max(1, c.chunk_channels // 2), c.chunk_channels)
        out.append(dataclasses.replace(c, chunk_pixels=mc, chunk_channels=nc))
    return out
