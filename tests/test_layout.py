"""The package layout's contracts, checked on the source: stage boundaries and no cycles.

- the SimPy core (``archsim.sim``) imports nothing from pricing, reporting, studies, sweeps,
  the pipeline or ``workloads``;
- ``archsim`` reaches ``workloads`` only through ``archsim.zoo``;
- the module import graph (top-level and function-local imports alike) has no cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "archsim"


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module named by an import statement anywhere in the file (incl. local imports)."""
    tree = ast.parse(path.read_text(), str(path))
    me = _module(path)
    pkg = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def _graph() -> nx.DiGraph:
    files = sorted(PKG.rglob("*.py")) + sorted((ROOT / "workloads").rglob("*.py"))
    mods = {_module(f): f for f in files}
    g = nx.DiGraph()
    for m, f in mods.items():
        g.add_node(m)
        for imp in _imports(f):
            if imp in mods and imp != m:
                g.add_edge(m, imp)
    return g


def test_sim_core_imports_no_later_stage():
    g = _graph()
    banned = ("archsim.energy", "archsim.report", "archsim.studies", "archsim.sweep",
              "archsim.pipeline", "archsim.cli", "archsim.zoo", "workloads")
    for m in g:
        if m.startswith("archsim.sim"):
            bad = [d for d in g.successors(m) if d.startswith(banned)]
            assert not bad, f"{m} imports {bad}"


def test_archsim_reaches_workloads_only_through_the_zoo_hook():
    for f in sorted(PKG.rglob("*.py")):
        if f.name == "zoo.py" and f.parent == PKG:
            continue
        bad = [i for i in _imports(f) if i == "workloads" or i.startswith("workloads.")]
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"


def test_no_import_cycles():
    g = _graph()
    # a package's __init__ re-exporting its own modules is not a cycle between stages
    h = nx.DiGraph((a, b) for a, b in g.edges if not b.startswith(a + ".")
                   and not a.startswith(b + "."))
    cycles = list(nx.simple_cycles(h))
    assert not cycles, f"import cycles: {cycles[:5]}"


def test_every_module_says_what_goes_in_and_out():
    for f in sorted(PKG.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(f.read_text()))
        assert doc and len(doc) > 20, f"{f.relative_to(ROOT)} has no module docstring"
