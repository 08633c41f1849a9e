"""Mixed precision: choose exact LUT-NA or an A-LUT-NA variant per layer under a budget.

In:  a workload graph (integer weights, ``macs_nonzero`` per conv / linear node), integer
     inputs (and labels for accuracy), per-MAC unit costs of each variant
     (:class:`~archsim.energy.lutcost.UnitCost`), a budget.
Out: :class:`MixedResult` (the assignment node -> variant, accuracy or proxy error, energy and
     area per inference in the paper's counting: unit cost x non-zero MACs, summed over layers).

Two searches, both greedy (``greedy_assign``): start with every layer exact; at each step try
every (layer, more aggressive variant) move, keep the moves that stay within the budget, take
the one that saves the most energy per unit of budget spent (ties: the larger saving), repeat
until no move fits.
- ``accuracy_budget``: budget = accuracy points lost against the all-exact integer model,
  measured on real labelled data (the digits test split): every candidate is a full
  functional run (``run_mixed``), layers computed with the PE kind's own integer matmul.
- ``proxy_budget``: for models that cannot be trained here (the CIFAR-10 zoo) the cost of a
  move is a measured proxy: the relative L2 error of the layer's output, its input held exact
  (``layer_errors``, on the real images given, e.g. the 20 CIFAR-10 test images foolbox
  ships); errors of approximated layers add in quadrature and the budget is tau^2, tau
  calibrated on a trained net (``calibrate_tau``: the proxy of the accuracy-budget solution).
Variants: ``exact`` (lutna) and the ``alutna`` presets named ``<approx>`` or
``<approx>+bias`` (bias compensation). Activations with negative values use the kinds'
sign-magnitude mode (range +-127); such inputs are clipped to it, and the layer is noted.
No torch here: ``digits_data`` / ``zoo_data`` import ``workloads`` lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from archsim.graph.ir import topo_order
from archsim.graph.ops import exact_matmul, requant, run_node
from archsim.pe import pe_kind

__all__ = [
    "DEFAULT_VARIANTS",
    "MixedResult",
    "accuracy_budget",
    "calibrate_tau",
    "compute_layers",
    "digits_data",
    "greedy_assign",
    "layer_errors",
    "proxy_budget",
    "run_mixed",
    "variant_kind",
    "zoo_data",
]

DEFAULT_VARIANTS = ("drop_ll", "trunc_act_low", "keep_hh")


def variant_kind(variant: str, act_bits: int = 8, weight_bits: int = 9, act_signed: bool = False):
    """The PE kind of a variant name: ``exact`` or ``<alutna preset>[+bias]``."""
    if variant == "exact":
        return pe_kind("lutna", act_bits=act_bits, weight_bits=weight_bits, act_signed=act_signed)
    approx, _, bias = variant.partition("+")
    if bias not in ("", "bias"):
        raise ValueError(f"variant {variant!r}: expected '<preset>' or '<preset>+bias'")
    return pe_kind("alutna", approx=approx, bias_comp=bias == "bias", act_bits=act_bits,
                   weight_bits=weight_bits, act_signed=act_signed)


def compute_layers(g) -> list[str]:
    """Conv / linear nodes that execute MACs (pruned-away layers excluded), in graph order."""
    return [n for n in topo_order(g)
            if g.nodes[n]["op"] in ("conv", "linear") and g.nodes[n].get("macs_nonzero", 1) > 0]


def _signed_input(g, node: str) -> bool:
    src = g.nodes[node]["inputs"][0]
    return g.nodes[src]["out_lo"] < 0


def run_mixed(g, x_int: np.ndarray, assignment: dict[str, str], notes: set | None = None,
              base: dict[str, np.ndarray] | None = None,
              changed: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """Integer outputs of every node, conv / linear layers computed by their variant's kind
    (``exact`` where unassigned). With ``base`` (outputs of an assignment that differs only
    at the ``changed`` nodes) only those nodes and their descendants are recomputed."""
    ab, wb = int(g.graph.get("act_bits", 8)), int(g.graph.get("weight_bits", 9))
    redo = None
    if base is not None:
        redo = set(changed)
        for n in list(redo):
            redo |= nx.descendants(g, n)
    out: dict[str, np.ndarray] = {}
    feeds = {g.graph["inputs"][0]: np.asarray(x_int, dtype=np.int64)}
    for n in topo_order(g):
        a = g.nodes[n]
        if redo is not None and n not in redo:
            out[n] = base[n]
            continue
        if a["op"] == "input":
            out[n] = feeds[n]
            continue
        xs = [out[i] for i in a["inputs"]]
        if a["op"] in ("conv", "linear"):
            signed = _signed_input(g, n)
            variant = assignment.get(n, "exact")
            kind = variant_kind(variant, ab, wb, signed)
            lo, hi = kind.act_range
            if signed and int(xs[0].min()) < lo:
                xs = [np.clip(xs[0], lo, hi)] + xs[1:]
                if notes is not None:
                    notes.add(f"{n}: input clipped to the sign-magnitude range [{lo}, {hi}]")
            # exact LUT-NA is the exact integer product (tests/pe): use the plain one
            out[n] = run_node(a, xs, matmul_fn=None if variant == "exact" else kind.matmul)
        else:
            out[n] = run_node(a, xs)
    return out


def _top1(g, outs: dict, labels: np.ndarray) -> float:
    logits = outs[g.graph["outputs"][0]]
    return float(100.0 * np.mean(logits.reshape(len(labels), -1).argmax(axis=1) == labels))


def _patch_rows(x: np.ndarray, kernel, stride, padding, idx: np.ndarray, ho: int,
                wo: int) -> np.ndarray:
    """im2col rows (len(idx), C*kh*kw) of the output positions idx (ordered n, oh, ow)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if (ph or pw) else x
    n, r = np.divmod(idx, ho * wo)
    oh, ow = np.divmod(r, wo)
    ii = oh[:, None, None] * sh + np.arange(kh)[None, :, None]
    jj = ow[:, None, None] * sw + np.arange(kw)[None, None, :]
    p = xp[n[:, None, None, None], np.arange(x.shape[1])[None, :, None, None],
           ii[:, None, :, :], jj[:, None, :, :]]
    return p.reshape(len(idx), -1)


def _layer_out(a: dict, acc: np.ndarray) -> np.ndarray:
    """A conv / linear node's output from its (rows, channels) accumulators."""
    if a["bias"] is not None:
        acc = acc + a["bias"][None, :]
    return requant(acc, a["requant_mult"], a["requant_shift"], a["out_lo"], a["out_hi"])


def layer_errors(g, x_int: np.ndarray, variants: Iterable[str] = DEFAULT_VARIANTS,
                 notes: set | None = None, max_rows: int = 1024,
                 seed: int = 0) -> dict[str, dict[str, float]]:
    """Relative L2 error of each compute layer's output under each variant, its input exact.

    The exact network runs in full; each variant is evaluated on up to ``max_rows`` output
    positions drawn (seeded) from all images, so the cost stays small for large layers."""
    ab, wb = int(g.graph.get("act_bits", 8)), int(g.graph.get("weight_bits", 9))
    exact = run_mixed(g, x_int, {}, notes)
    rng = np.random.default_rng(seed)
    errs: dict[str, dict[str, float]] = {}
    for n in compute_layers(g):
        a = g.nodes[n]
        x, w, y = exact[a["inputs"][0]], a["weight"], exact[n]
        if a["op"] == "linear":
            rows, wmat, ref = x.reshape(len(x), -1), w.T, y.reshape(len(y), -1)
        elif a["groups"] == 1:
            o, _, kh, kw = w.shape
            ho, wo = y.shape[2], y.shape[3]
            total = y.shape[0] * ho * wo
            idx = np.sort(rng.choice(total, min(max_rows, total), replace=False))
            rows = _patch_rows(x, (kh, kw), tuple(a["stride"]), tuple(a["padding"]), idx, ho, wo)
            wmat, ref = w.reshape(o, -1).T, y.transpose(0, 2, 3, 1).reshape(total, o)[idx]
        else:
            raise ValueError(f"layer_errors: grouped convolution {n!r} is not supported")

        if not np.array_equal(_layer_out(a, exact_matmul(rows, wmat)), ref):
            raise AssertionError(f"layer_errors: sampled rows of {n!r} do not reproduce the "
                                 f"exact layer")
        ref_f = ref.astype(np.float64)
        norm = float(np.linalg.norm(ref_f)) or 1.0
        errs[n] = {}
        for v in variants:
            kind = variant_kind(v, ab, wb, _signed_input(g, n))
            lo, hi = kind.act_range
            yv = _layer_out(a, kind.matmul(np.clip(rows, lo, hi), wmat))
            errs[n][v] = float(np.linalg.norm(yv.astype(np.float64) - ref_f)) / norm
    return errs


@dataclass(frozen=True)
class MixedResult:
    """A per-layer assignment and what it costs and keeps."""

    assignment: dict[str, str]
    spent: float  # accuracy points lost, or the proxy's sum of squared errors
    budget: float
    energy_pj: float  # per inference: sum over layers of MACs x unit energy
    area_um2_macs: float  # the paper's counting: sum over layers of MACs x unit area
    exact_energy_pj: float
    exact_area_um2_macs: float
    macs: int
    approximated_macs: int
    steps: tuple[tuple[str, str, float], ...] = ()
    metric: str = ""
    baseline: float | None = None
    notes: tuple[str, ...] = field(default=())
    layer_macs: dict[str, int] = field(default_factory=dict)

    @property
    def approximated_fraction(self) -> float:
        return self.approximated_macs / self.macs if self.macs else 0.0


def _totals(g, assignment, costs) -> tuple[float, float, int, int]:
    e = a = 0.0
    macs = approx = 0
    for n in compute_layers(g):
        m = int(g.nodes[n]["macs_nonzero"])
        v = assignment.get(n, "exact")
        e += m * costs[v].energy_per_mac_pj
        a += m * costs[v].area_um2
        macs += m
        approx += m if v != "exact" else 0
    return e, a, macs, approx


def greedy_assign(layers: dict[str, int], costs: dict, spend: Callable[[dict], float],
                  budget: float, variants: Iterable[str] = DEFAULT_VARIANTS,
                  eps: float = 1e-9,
                  on_accept: Callable[[dict], None] | None = None) -> tuple[dict, float, list]:
    """Greedy search (see module doc). ``layers``: node -> MACs; ``costs``: variant -> unit
    cost (``energy_per_mac_pj``); ``spend(assignment)`` -> budget used (monotone-ish);
    ``on_accept(assignment)`` is called after each accepted move."""
    variants = list(variants)
    assign = {n: "exact" for n in layers}
    used = spend(assign)
    steps = []
    while True:
        best = None
        for n, macs in layers.items():
            cur = costs[assign[n]].energy_per_mac_pj
            for v in variants:
                gain = macs * (cur - costs[v].energy_per_mac_pj)
                if gain <= 0:
                    continue
                cand = {**assign, n: v}
                s = spend(cand)
                if s > budget + eps:
                    continue
                score = gain / max(s - used, eps)
                key = (score, gain)
                if best is None or key > best[0]:
                    best = (key, n, v, s)
        if best is None:
            return assign, used, steps
        _, n, v, used = best
        assign[n] = v
        steps.append((n, v, used))
        if on_accept is not None:
            on_accept(dict(assign))


def accuracy_budget(g, x_int, labels, costs: dict, budget_points: float = 1.0,
                    variants: Iterable[str] = DEFAULT_VARIANTS) -> MixedResult:
    """Greedy assignment losing at most ``budget_points`` of accuracy (measured, real data).
    Candidates differ from the current assignment in one layer, so only that layer and its
    descendants are recomputed."""
    labels = np.asarray(labels)
    notes: set = set()
    state = {"assign": {}, "outs": run_mixed(g, x_int, {}, notes)}
    base = _top1(g, state["outs"], labels)
    cache: dict[tuple, float] = {}

    def spend(assign: dict) -> float:
        key = tuple(sorted((n, v) for n, v in assign.items() if v != "exact"))
        if key not in cache:
            cur = state["assign"]
            diff = [n for n in set(assign) | set(cur)
                    if assign.get(n, "exact") != cur.get(n, "exact")]
            outs = run_mixed(g, x_int, assign, notes, base=state["outs"], changed=diff)
            cache[key] = base - _top1(g, outs, labels)
        return cache[key]

    def accept(assign: dict) -> None:
        diff = [n for n in assign if assign[n] != state["assign"].get(n, "exact")]
        state["outs"] = run_mixed(g, x_int, assign, notes, base=state["outs"], changed=diff)
        state["assign"] = assign

    layers = {n: int(g.nodes[n]["macs_nonzero"]) for n in compute_layers(g)}
    assign, used, steps = greedy_assign(layers, costs, spend, budget_points, variants,
                                        on_accept=accept)
    e, a, m, ap = _totals(g, assign, costs)
    e0, a0, _, _ = _totals(g, {}, costs)
    return MixedResult(assign, used, budget_points, e, a, e0, a0, m, ap, tuple(steps),
                       "accuracy points lost (measured)", base, tuple(sorted(notes)), layers)


def proxy_budget(g, errors: dict[str, dict[str, float]], costs: dict, tau: float,
                 variants: Iterable[str] = DEFAULT_VARIANTS) -> MixedResult:
    """Greedy assignment with sum of squared per-layer output errors <= tau^2 (proxy)."""
    layers = {n: int(g.nodes[n]["macs_nonzero"]) for n in errors}

    def spend(assign: dict) -> float:
        return sum(errors[n][v] ** 2 for n, v in assign.items() if v != "exact")

    assign, used, steps = greedy_assign(layers, costs, spend, tau**2, variants)
    e, a, m, ap = _totals(g, assign, costs)
    e0, a0, _, _ = _totals(g, {}, costs)
    return MixedResult(assign, used, tau**2, e, a, e0, a0, m, ap, tuple(steps),
                       "sum of squared per-layer relative output errors (proxy)",
                       layer_macs=layers)


def calibrate_tau(errors: dict[str, dict[str, float]], assignment: dict[str, str]) -> float:
    """tau = sqrt(sum of squared proxy errors) of an accuracy-budget assignment."""
    return float(np.sqrt(sum(errors[n][v] ** 2 for n, v in assignment.items() if v != "exact")))


def digits_data(net: str = "smallvgg", sparsity: float = 0.0, seed: int = 0):
    """(graph, test inputs as int64, test labels) of a small net trained here on sklearn digits
    (lottery-ticket pruned to ``sparsity`` if > 0). Needs ``workloads`` (torch)."""
    from archsim import zoo

    g, qm = zoo.build_quantized(net, sparsity=sparsity, seed=seed)
    xte, yte = zoo.images("digits_test")
    return g, qm.quantize_input(xte).numpy().astype(np.int64), yte.numpy()


def zoo_data(name: str, sparsity: float = 0.9, seed: int = 0, images: int = 20):
    """(graph, int64 inputs) of a CIFAR-10 zoo model (random init, one-shot pruned) and the
    first ``images`` real CIFAR-10 test images foolbox ships. Needs ``workloads`` (torch)."""
    from archsim import zoo

    g, qm = zoo.build_quantized(name, sparsity=sparsity, seed=seed)
    x, _ = zoo.images("cifar10", images)
    return g, qm.quantize_input(x).numpy().astype(np.int64)
