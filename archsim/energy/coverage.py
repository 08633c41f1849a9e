"""Coverage check: does a cost table price everything a design point can emit?

In:  an :class:`~archsim.design.arch.ArchConfig`, a :class:`~archsim.energy.tables.CostTable` and
     the :class:`~archsim.energy.lutcost.UnitAssumptions` the cost model will use.
Out: ``check_coverage(arch, table, assumptions)`` returns None or raises
     :class:`~archsim.energy.tables.CostError` for the first (component class, action) -- or
     component area / leakage -- the table cannot cost, naming the table file, the action,
     the class, an example component instance and the entries to add, e.g.
     ``x.yaml: no energy for action 'lookup' of component class 'lut_bank' (used by
     tile0.lut_bank0); add lut_bank.lookup_pj (or lut_bank.read_pj_per_cell for the
     structural model)``.

Which actions a design point can emit comes from the vocabulary (:data:`archsim.sim.actions.KINDS`):
every kind's actions, except LUT banks when the PE kind reads no tables, the global buffer
when it has no capacity, PE-array mult / add / shift when the PE kind performs none, and
PE-array sign unless a signed-activation layer would add sign logic (LUT-NA kinds), and
PE-array shadow_load unless ``tile.pe_array.fold_pipelining`` is on.
The sparsity hardware (zero gate, gather network, metadata decoder) is checked only when
``tile.sparsity`` has it.  A kind or action without a structural derivation here needs
``<class>.<action>_pj``.
"""

from __future__ import annotations

from archsim.design.arch import ArchConfig
from archsim.energy.lutcost import UnitAssumptions
from archsim.energy.tables import CostError, CostTable
from archsim.pe.organisation import effective_ops
from archsim.sim.actions import KINDS

__all__ = ["check_coverage"]


# Entries each (cost class, action) needs in the structural model: (override, required).
# A (class, action) missing here is priced generically from ``<class>.<action>_pj``.
_ENERGY: dict[tuple[str, str], tuple[str | None, list[str]]] = {
    ("pe_array", "mac"): (None, ["pe_array.register_pj_per_bit"]),
    ("pe_array", "mult"): (None, ["multiplier.energy_pj"]),
    ("pe_array", "add"): (None, ["adder.energy_pj"]),
    ("pe_array", "shift"): (None, ["pe_array.shift_pj"]),
    ("pe_array", "sign"): (None, ["adder.energy_pj"]),
    ("pe_array", "shadow_load"): (None, ["pe_array.register_pj_per_bit"]),
    ("sram", "read_bytes"): (None, ["sram.read_pj_per_64b"]),
    ("sram", "write_bytes"): (None, ["sram.read_pj_per_64b", "sram.write_to_read"]),
    ("gbuf", "read_bytes"): (None, ["sram.read_pj_per_64b"]),
    ("gbuf", "write_bytes"): (None, ["sram.read_pj_per_64b", "sram.write_to_read"]),
    ("vector", "op"): (None, ["vector.op_pj"]),
    ("zero_gate", "check"): (None, ["logic.nor_pj_per_input", "pe_array.register_pj_per_bit"]),
    ("gather_net", "select"): (None, ["logic.mux2_pj_per_bit", "pe_array.register_pj_per_bit"]),
    ("meta_decode", "decode"): (None, ["pe_array.register_pj_per_bit", "adder.energy_pj"]),
    ("noc_link", "flit_hop"): (None, ["noc_link.flit_hop_pj_per_byte"]),
    ("dram", "read_bytes"): (None, ["dram.read_pj_per_byte"]),
    ("dram", "write_bytes"): (None, ["dram.write_pj_per_byte"]),
}
# Entries for the area and leakage of each on-chip cost class.
_AREA: dict[str, list[str]] = {
    "pe_array": ["adder.area_um2", "adder.leakage_uw_per_um2", "pe_array.register_um2_per_bit",
                 "pe_array.leakage_uw_per_um2"],
    "sram": ["sram.area_um2", "sram.leakage_uw_per_um2"],
    "gbuf": ["sram.area_um2", "sram.leakage_uw_per_um2"],
    "vector": ["vector.area_um2_per_lane", "vector.leakage_uw_per_um2"],
    "zero_gate": ["logic.nor_um2_per_input", "logic.clock_gate_um2",
                  "pe_array.register_um2_per_bit", "logic.leakage_uw_per_um2"],
    "gather_net": ["logic.mux2_um2_per_bit", "pe_array.register_um2_per_bit",
                   "logic.leakage_uw_per_um2"],
    "meta_decode": ["pe_array.register_um2_per_bit", "adder.area_um2",
                    "logic.leakage_uw_per_um2"],
    "noc_link": ["noc_link.router_um2_per_link_byte", "noc_link.leakage_uw_per_um2"],
}
_EXAMPLE = {"pe_array": "tile0.pe_array", "lut_bank": "tile0.lut_bank0",
            "ifmap_sram": "tile0.ifmap_sram", "weight_sram": "tile0.weight_sram",
            "ofmap_sram": "tile0.ofmap_sram", "vector": "tile0.vector",
            "zero_gate": "tile0.zero_gate", "gather_net": "tile0.gather_net",
            "meta_decode": "tile0.meta_decode",
            "noc_link": "noc.mem0.in", "gbuf": "gbuf", "dram": "dram.ch0"}


def _emitted(arch: ArchConfig, assumptions: UnitAssumptions) -> list[tuple[str, str]]:
    """(kind, action) pairs of the vocabulary the design point's chip can emit."""
    pe = arch.pe()
    ops = pe.ops_per_mac()
    tabs = pe.tables().n_tables > 0
    if tabs and arch.tile.lut_banks.count == 0:
        raise CostError(f"{arch.source}: field 'tile.lut_banks.count' is 0 but PE kind "
                        f"{pe.label} reads tables (its look-ups would not be counted); "
                        f"set tile.lut_banks.count >= 1")
    skip = {("pe_array", "mult"): not ops.mults,
            ("pe_array", "add"): not (ops.adds or assumptions.include_accumulator),
            ("pe_array", "shift"): not ops.shifts,
            ("pe_array", "sign"):
                not effective_ops(pe, arch.tile.lut_banks.organisation, True).signs,
            ("pe_array", "shadow_load"): not arch.tile.pe_array.fold_pipelining,
            ("lut_bank", "program"): assumptions.cell == "rom"}
    sp = arch.tile.sparsity
    selectors = sp.mode in ("gather", "nm_structured")
    present = {"lut_bank": tabs, "gbuf": bool(arch.gbuf.capacity_bytes),
               "zero_gate": sp.zero_gating, "gather_net": selectors, "meta_decode": selectors}
    return [(kind.name, action) for kind in KINDS.values() if present.get(kind.name, True)
            for action in kind.actions if not skip.get((kind.name, action), False)]


def _needs(arch: ArchConfig, assumptions: UnitAssumptions) -> list[tuple]:
    """(class, action-or-'area', example component, override key, required entries)."""
    pe = arch.pe()
    out = []
    classes = []
    for kind_name, action in _emitted(arch, assumptions):
        kind = KINDS[kind_name]
        cls = kind.cost_class
        comp = _EXAMPLE.get(kind_name, kind_name)
        if kind.on_chip and cls not in classes:
            classes.append(cls)
        if cls == "lut_bank":
            read = ["lut_bank.read_pj_per_cell"]
            if assumptions.cell == "sram":
                read += ["sram.read_pj_per_64b", "sram.word_exponent"]
            if action == "program":
                read = read + ["lut_bank.write_to_read"]
            out.append((cls, action, comp, f"lut_bank.{action}_pj", read))
            continue
        override, required = _ENERGY.get((cls, action), (None, [f"{cls}.{action}_pj"]))
        out.append((cls, action, comp, override, required))
    for cls in classes:
        comp = next(c for k, c in _EXAMPLE.items() if KINDS[k].cost_class == cls)
        if cls == "pe_array" and pe.ops_per_mac().mults:
            out.append(("multiplier", "area", comp, None,
                        ["multiplier.area_um2", "multiplier.leakage_uw_per_um2"]))
        if cls == "lut_bank":
            area = ["lut_bank.extra_port_area_fraction", "lut_bank.leakage_uw_per_um2"]
            if assumptions.cell == "sram":
                area.append("sram.area_um2")
            else:
                area += [f"lut_bank.{assumptions.cell}_um2_per_bit",
                         "lut_bank.periphery_um2_per_transistor"]
                if assumptions.cell == "rom":
                    area.append("lut_bank.rom_leakage_uw_per_um2")
            out.append((cls, "area", comp, None, area))
            continue
        out.append((cls, "area", comp if cls != "noc_link" else "noc.r0c0", None,
                    _AREA.get(cls, [f"{cls}.area_um2", f"{cls}.leakage_uw_per_um2"])))
    return out


def check_coverage(arch: ArchConfig, table: CostTable, assumptions: UnitAssumptions) -> None:
    """Raise CostError for the first action / component of ``arch`` ``table`` cannot cost."""
    for cls, action, comp, override, required in _needs(arch, assumptions):
        if override and table.has(*override.split(".")):
            continue
        missing = [k for k in required if not table.has(*k.split("."))]
        if not missing:
            continue
        if action == "area":
            raise CostError(f"{table.path}: no area / leakage for component class {cls!r} "
                            f"(used by {comp}); add {', '.join(missing)}")
        hint = f"add {override} (or {', '.join(missing)} for the structural model)" if override \
            else f"add {', '.join(missing)}"
        raise CostError(f"{table.path}: no energy for action {action!r} of component class "
                        f"{cls!r} (used by {comp}); {hint}")
