"""A small directed graph for the simulator's start-up path, without importing networkx.

Workloads are networkx ``DiGraph``s (docs/workload_graph.md), and the simulator accepts them
as they are.  Importing networkx costs ~0.3 s, more than simulating a SCALE-Sim layer list, so
the readers on ``archsim run``'s path (SCALE-Sim topology CSVs, saved workload folders) build a
:class:`Dag` instead: the same data (graph, node and edge attribute dicts, insertion order)
behind the subset of the ``DiGraph`` interface the simulator core uses.

In:  nodes and edges added one by one (``add_node``, ``add_edge``), or ``Dag.from_networkx(g)``.
Out: ``g.graph``, ``g.nodes`` (``g.nodes[n]`` -> attribute dict; ``g.nodes(data=True)``),
     ``g.edges`` (``g.edges[u, v]``; ``g.edges(data=True)``), ``predecessors``, ``successors``,
     ``in_degree``, ``number_of_nodes``, ``copy``; ``to_networkx()`` for everything else.
Also, for a ``Dag`` or a ``DiGraph``: ``lexicographic_topo_order(g)``, the order of
``networkx.lexicographical_topological_sort`` (smallest name first, ties by insertion order),
and ``insertion_topo_order(g)`` (earliest inserted first).
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterator
from typing import Any

__all__ = ["Dag", "insertion_topo_order", "is_digraph", "lexicographic_topo_order"]


class _NodeView:
    """``g.nodes``: iterate names in insertion order, ``[n]`` gives the attribute dict."""

    __slots__ = ("_attrs",)

    def __init__(self, attrs: dict) -> None:
        self._attrs = attrs

    def __iter__(self) -> Iterator:
        return iter(self._attrs)

    def __len__(self) -> int:
        return len(self._attrs)

    def __contains__(self, n: object) -> bool:
        return n in self._attrs

    def __getitem__(self, n: Hashable) -> dict:
        return self._attrs[n]

    def __call__(self, data: bool = False):
        return iter(self._attrs.items()) if data else iter(self._attrs)


class _EdgeView:
    """``g.edges``: ``[u, v]`` gives the attribute dict; iterate ``(u, v)`` in insertion order."""

    __slots__ = ("_succ",)

    def __init__(self, succ: dict) -> None:
        self._succ = succ

    def __getitem__(self, uv: tuple) -> dict:
        u, v = uv
        return self._succ[u][v]

    def __contains__(self, uv: object) -> bool:
        try:
            u, v = uv  # type: ignore[misc]
        except (TypeError, ValueError):
            return False
        return u in self._succ and v in self._succ[u]

    def __len__(self) -> int:
        return sum(len(s) for s in self._succ.values())

    def __iter__(self) -> Iterator[tuple]:
        return ((u, v) for u, s in self._succ.items() for v in s)

    def __call__(self, data: bool = False):
        if data:
            return ((u, v, a) for u, s in self._succ.items() for v, a in s.items())
        return iter(self)


class Dag:
    """Directed graph with attribute dicts, node and edge insertion order kept (see module doc)."""

    def __init__(self) -> None:
        self.graph: dict[str, Any] = {}
        self._attrs: dict[Hashable, dict] = {}
        self._succ: dict[Hashable, dict[Hashable, dict]] = {}
        self._pred: dict[Hashable, dict[Hashable, dict]] = {}

    # ---------------------------------------------------------------- building
    def add_node(self, n: Hashable, **attrs: Any) -> None:
        if n in self._attrs:
            self._attrs[n].update(attrs)
            return
        self._attrs[n] = dict(attrs)
        self._succ[n] = {}
        self._pred[n] = {}

    def add_edge(self, u: Hashable, v: Hashable, **attrs: Any) -> None:
        for n in (u, v):
            if n not in self._attrs:
                self.add_node(n)
        if v in self._succ[u]:
            self._succ[u][v].update(attrs)
            return
        a = dict(attrs)
        self._succ[u][v] = a
        self._pred[v][u] = a

    # ---------------------------------------------------------------- reading
    @property
    def nodes(self) -> _NodeView:
        return _NodeView(self._attrs)

    @property
    def edges(self) -> _EdgeView:
        return _EdgeView(self._succ)

    def __iter__(self) -> Iterator:
        return iter(self._attrs)

    def __len__(self) -> int:
        return len(self._attrs)

    def __contains__(self, n: object) -> bool:
        return n in self._attrs

    def number_of_nodes(self) -> int:
        return len(self._attrs)

    def predecessors(self, n: Hashable) -> Iterator:
        return iter(self._pred[n])

    def successors(self, n: Hashable) -> Iterator:
        return iter(self._succ[n])

    def in_degree(self, n: Hashable) -> int:
        return len(self._pred[n])

    def out_degree(self, n: Hashable) -> int:
        return len(self._succ[n])

    def is_directed(self) -> bool:
        return True

    def is_multigraph(self) -> bool:
        return False

    def copy(self) -> Dag:
        """New graph, new attribute dicts (values shared), as ``DiGraph.copy()``."""
        h = Dag()
        h.graph = dict(self.graph)
        for n, a in self._attrs.items():
            h.add_node(n, **a)
        for u, s in self._succ.items():
            for v, a in s.items():
                h.add_edge(u, v, **a)
        return h

    # ---------------------------------------------------------------- networkx
    @classmethod
    def from_networkx(cls, g: Any) -> Dag:
        """A Dag with the nodes, edges and attributes of a networkx ``DiGraph``."""
        h = cls()
        h.graph = dict(g.graph)
        for n, a in g.nodes(data=True):
            h.add_node(n, **a)
        for u, v, a in g.edges(data=True):
            h.add_edge(u, v, **a)
        return h

    def to_networkx(self):
        """The same graph as a ``networkx.DiGraph`` (imports networkx)."""
        import networkx as nx

        g = nx.DiGraph()
        g.graph.update(self.graph)
        for n, a in self._attrs.items():
            g.add_node(n, **a)
        for u, s in self._succ.items():
            for v, a in s.items():
                g.add_edge(u, v, **a)
        return g


def is_digraph(g: Any) -> bool:
    """True for a :class:`Dag` or a networkx ``DiGraph`` (not a multigraph)."""
    if isinstance(g, Dag):
        return True
    import sys

    nx = sys.modules.get("networkx")  # a networkx graph implies networkx is imported
    return nx is not None and isinstance(g, nx.DiGraph) and not g.is_multigraph()


def lexicographic_topo_order(g: Any) -> list:
    """Topological order, smallest node first among the ready ones, ties by insertion order.

    Equal to ``list(networkx.lexicographical_topological_sort(g))``; raises ``ValueError``
    naming the nodes left over if ``g`` has a cycle.
    """
    return _kahn(g, by_name=True)


def insertion_topo_order(g: Any) -> list:
    """Topological order, the earliest inserted node first among the ready ones."""
    return _kahn(g, by_name=False)


def _kahn(g: Any, by_name: bool) -> list:
    index = {n: i for i, n in enumerate(g.nodes)}
    indeg = {n: g.in_degree(n) for n in g.nodes}

    def item(n):
        return (n, index[n]) if by_name else (index[n], n)

    heap = [item(n) for n, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        n = heapq.heappop(heap)[0 if by_name else 1]
        order.append(n)
        for s in g.successors(n):
            indeg[s] -= 1
            if indeg[s] == 0:
                heapq.heappush(heap, item(s))
    if len(order) != len(index):
        left = sorted(str(n) for n in index if n not in set(order))
        raise ValueError(f"workload graph has a cycle through {left[:8]}")
    return order
