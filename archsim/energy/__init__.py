"""Stage 4 -- energy and area: cost tables with provenance, a structural LUT model, the cost model.

In:  a design point (``ArchConfig``) and its cost table (``arch_configs/energy/*.yaml``);
     simulator action counts and latency.
Out: ``load_cost_model(arch)`` -> ``CostModel`` (``energy(actions, latency_cycles)`` ->
     ``EnergyReport``, ``area()`` -> ``AreaReport``); ``pe_unit_cost(kind, table,
     pes_per_table)`` -> ``UnitCost`` (the arithmetic-unit comparison of ``archsim paper``);
     ``table_cost(TableSpec, table)`` -> ``TableCost``; ``load_cost_table(name)``.

Submodules: ``tables`` (YAML loading and validation), ``lutcost`` (structural LUT and PE
arithmetic-unit costs), ``coverage`` (the check that a table prices everything a design point
emits), ``model`` (the per-design-point cost model). docs/energy.md explains every derivation.
"""

from archsim.energy.lutcost import (
                                    ADDER_TREES,
                                    CELLS,
                                    TableCost,
                                    TableSpec,
                                    UnitAssumptions,
                                    UnitCost,
                                    pe_table_spec,
                                    pe_unit_cost,
                                    shift_add_widths,
                                    table_cost,
)
from archsim.energy.model import (
                                    ActionCost,
                                    AreaReport,
                                    CostModel,
                                    EnergyReport,
                                    check_coverage,
                                    load_cost_model,
)
from archsim.energy.tables import CostError, CostTable, load_cost_table, resolve_table_path

__all__ = [
    "ADDER_TREES",
    "CELLS",
    "ActionCost",
    "AreaReport",
    "CostError",
    "CostModel",
    "CostTable",
    "EnergyReport",
    "TableCost",
    "TableSpec",
    "UnitAssumptions",
    "UnitCost",
    "check_coverage",
    "load_cost_model",
    "load_cost_table",
    "pe_table_spec",
    "pe_unit_cost",
    "resolve_table_path",
    "shift_add_widths",
    "table_cost",
]
