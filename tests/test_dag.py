"""archsim.graph.dag: the networkx-free graph of the run path behaves like the DiGraph it stands
for."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import archsim
from archsim.graph.dag import Dag, insertion_topo_order, is_digraph, lexicographic_topo_order
from archsim.graph.ir import load_workload, read_workload, save_workload, topo_order
from archsim.graph.scalesim_csv import load_topology, read_topology
from tests.sim.helpers import conv_csv, gemm_csv, tiny_arch

ROOT = Path(__file__).resolve().parent.parent


def _random_dag(seed: int, n: int = 30, p: float = 0.15) -> nx.DiGraph:
    """Random DAG with shuffled string names (so name order and insertion order differ)."""
    rng = random.Random(seed)
    names = [f"n{rng.randrange(10**6):06d}_{i}" for i in range(n)]
    rng.shuffle(names)
    g = nx.DiGraph(name=f"random{seed}")
    for i, name in enumerate(names):
        g.add_node(name, rank=i)
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < p:
                g.add_edge(names[i], names[j], w=i * n + j)
    return g


def _eq(x, y) -> bool:
    """Equality that compares numpy arrays by dtype, shape and values."""
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.dtype == y.dtype
                and np.array_equal(x, y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_eq(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return type(x) is type(y) and len(x) == len(y) and all(map(_eq, x, y))
    return type(x) is type(y) and x == y


def _same(a, b) -> None:
    assert list(a.nodes) == list(b.nodes)
    assert all(_eq(a.nodes[n], b.nodes[n]) for n in a.nodes)
    assert list(a.edges) == list(b.edges)
    assert all(_eq(a.edges[e], b.edges[e]) for e in a.edges)
    assert _eq(dict(a.graph), dict(b.graph))
    for n in a.nodes:
        assert list(a.predecessors(n)) == list(b.predecessors(n))
        assert list(a.successors(n)) == list(b.successors(n))
        assert a.in_degree(n) == b.in_degree(n)


@pytest.mark.parametrize("seed", range(6))
def test_orders_equal_networkx(seed):
    g = _random_dag(seed)
    d = Dag.from_networkx(g)
    want = list(nx.lexicographical_topological_sort(g))
    assert lexicographic_topo_order(g) == want
    assert lexicographic_topo_order(d) == want
    assert topo_order(d) == topo_order(g)


def test_hand_worked_order():
    d = Dag()
    for n in ("c", "b", "a", "d"):
        d.add_node(n)
    d.add_edge("c", "a")
    d.add_edge("b", "d")
    # ready at start: c, b -> b (smallest name) frees d; of c, d take c, which frees a; a < d
    assert lexicographic_topo_order(d) == ["b", "c", "a", "d"]
    assert topo_order(d) == insertion_topo_order(d) == ["c", "b", "a", "d"]  # earliest first


def test_round_trip_and_views():
    g = _random_dag(7)
    d = Dag.from_networkx(g)
    _same(d, g)
    _same(d.to_networkx(), g)
    u, v = next(iter(g.edges))
    assert d.edges[u, v] == g.edges[u, v] and (u, v) in d.edges and (v, u) not in d.edges
    assert len(d.edges) == g.number_of_edges() and len(d) == len(g) == d.number_of_nodes()
    assert d.out_degree(u) == g.out_degree(u)


def test_copy_is_independent_like_networkx():
    d = Dag()
    d.add_node("a", x=1)
    d.add_node("b")
    d.add_edge("a", "b", bytes=4)
    h = d.copy()
    h.nodes["a"]["x"] = 2
    h.edges["a", "b"]["bytes"] = 8
    h.graph["name"] = "h"
    assert d.nodes["a"]["x"] == 1 and d.edges["a", "b"]["bytes"] == 4 and "name" not in d.graph
    # edge attributes are one dict seen from both ends, as in networkx
    assert h.edges["a", "b"] is h._pred["b"]["a"]


def test_add_again_updates_attributes():
    d = Dag()
    d.add_edge("a", "b", w=1)
    d.add_node("a", op="input")
    d.add_edge("a", "b", w=2, k=3)
    assert list(d.nodes) == ["a", "b"] and d.nodes["a"] == {"op": "input"}
    assert d.edges["a", "b"] == {"w": 2, "k": 3} and d.in_degree("b") == 1


def test_cycle_is_an_error_naming_nodes():
    d = Dag()
    d.add_edge("x", "y")
    d.add_edge("y", "x")
    d.add_edge("s", "x")
    with pytest.raises(ValueError, match=r"cycle through \['x', 'y'\]"):
        lexicographic_topo_order(d)
    from archsim.graph.ir import WorkloadError

    with pytest.raises(WorkloadError, match=r"cycle through \['x', 'y'\]"):
        topo_order(d)


def test_is_digraph():
    assert is_digraph(Dag()) and is_digraph(nx.DiGraph())
    assert not is_digraph(nx.MultiDiGraph()) and not is_digraph([]) and not is_digraph("g")


def test_topology_readers_agree(tmp_path):
    for csv in (gemm_csv(tmp_path, [("a", 30, 20, 50), ("b", 12, 40, 9)]),
                conv_csv(tmp_path, [("c1", 10, 10, 3, 3, 4, 8, 1), ("c2", 9, 9, 3, 3, 8, 6, 2)])):
        d, g = read_topology(csv), load_topology(csv)
        assert isinstance(d, Dag) and isinstance(g, nx.DiGraph)
        assert list(d.nodes) == list(g.nodes) and d.graph == g.graph


def test_simulate_same_on_dag_and_digraph(tmp_path):
    csv = conv_csv(tmp_path, [("c1", 10, 10, 3, 3, 4, 8, 1), ("c2", 9, 9, 3, 3, 8, 6, 2)])
    arch = tiny_arch(**{"grid.rows": 2, "grid.cols": 2})
    for df in ("os", "ws", "is"):
        a = archsim.simulate(arch, read_topology(csv), dataflow=df).summary()
        b = archsim.simulate(arch, load_topology(csv), dataflow=df).summary()
        c = archsim.simulate(arch, str(csv), dataflow=df).summary()
        assert a == b == c


def test_saved_workload_readers_agree(tmp_path):
    g = load_topology(gemm_csv(tmp_path, [("a", 8, 4, 6)]))
    g.graph["note"] = ("tuple", 1)
    save_workload(g, tmp_path / "wl")
    d = read_workload(tmp_path / "wl")
    _same(d, load_workload(tmp_path / "wl"))
    _same(d, g)


def test_saved_workload_must_be_directed(tmp_path):
    import json

    from archsim.graph.ir import WorkloadError

    save_workload(load_topology(gemm_csv(tmp_path, [("a", 8, 4, 6)])), tmp_path / "wl")
    p = tmp_path / "wl" / "graph.json"
    data = json.loads(p.read_text())
    data["directed"] = False
    p.write_text(json.dumps(data))
    with pytest.raises(WorkloadError, match="is not a directed simple graph"):
        read_workload(tmp_path / "wl")


@pytest.mark.parametrize("part, drop, message", [
    ("nodes", "id", r"node #0 has no 'id'"),
    ("edges", "target", r"edge #0 needs 'source' and 'target'"),
])
def test_saved_workload_entries_need_their_keys(tmp_path, part, drop, message):
    import json

    from archsim.graph.ir import WorkloadError

    save_workload(load_topology(gemm_csv(tmp_path, [("a", 8, 4, 6)])), tmp_path / "wl")
    p = tmp_path / "wl" / "graph.json"
    data = json.loads(p.read_text())
    del data[part][0][drop]
    p.write_text(json.dumps(data))
    with pytest.raises(WorkloadError, match=message):
        read_workload(tmp_path / "wl")


def test_run_path_imports_no_heavy_modules(tmp_path):
    """``archsim run`` on a SCALE-Sim CSV must not import torch, networkx or matplotlib."""
    csv = ROOT / "benchmarks" / "scalesim_layers" / "resnet18_cifar.csv"
    arch = ROOT / "arch_configs" / "scalesim_16x16.yaml"
    code = (
        "import sys\n"
        "from archsim.cli import main\n"
        f"rc = main(['run', {str(arch)!r}, '--workload', {str(csv)!r}, '--dataflow', 'os', "
        f"'--out', {str(tmp_path / 'run')!r}])\n"
        "heavy = [m for m in ('torch', 'networkx', 'matplotlib', 'workloads')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', rc, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "HEAVY 0 []" in out.stdout, out.stdout[-2000:]
    assert (tmp_path / "run" / "summary.json").is_file()
