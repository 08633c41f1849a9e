"""archsim: a discrete-event (SimPy) simulator for look-up-table based NN accelerators.

Scripting API (stable names):
  - ``pe_kind(name, **params)``, ``pe_kinds()``: PE kinds and their exact integer arithmetic.
  - ``load_arch(path_or_name)``: a validated, frozen design point.
  - ``simulate(arch, workload, dataflow="ws", mapping=None, functional=False, seed=0)``.
Names are imported lazily so that ``import archsim`` stays fast (no torch, no SimPy until used).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "pe_kind": "archsim.pe",
    "pe_kinds": "archsim.pe",
    "load_arch": "archsim.design.arch",
    "arch_from_dict": "archsim.design.arch",
    "ArchConfig": "archsim.design.arch",
    "ConfigError": "archsim.design.arch",
    "simulate": "archsim.pipeline",
    "SimResult": "archsim.pipeline",
    "MappingSpec": "archsim.mapping.schedule",
    "load_workload": "archsim.graph.ir",
    "save_workload": "archsim.graph.ir",
}

__all__ = [*sorted(_LAZY), "__version__"]


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'archsim' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)
