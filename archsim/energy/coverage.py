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

Which actions a design point can emit follows the simulator: every tile's PE array counts
mac / add (and mult / shift when the PE kind performs them, sign when a signed-activation
layer would add sign logic), LUT banks exist when the PE
kind reads tables, every tile has three SRAM buffers and a vector unit, the mesh counts
flit-hops, the global buffer (if any) and DRAM count bytes.
"""

from __future__ import annotations

from archsim.design.arch import ArchConfig
from archsim.energy.lutcost import UnitAssumptions
from archsim.energy.tables import CostError, CostTable
from archsim.pe.organisation import effective_ops

__all__ = ["check_coverage"]


def _needs(arch: ArchConfig, assumptions: UnitAssumptions) -> list[tuple]:
    """(class, action-or-'area', example component, override key, required entries)."""
    pe = arch.pe()
    ops = pe.ops_per_mac()
    tabs = pe.tables().n_tables > 0
    t0 = "tile0"
    out = [("pe_array", "mac", f"{t0}.pe_array", None, ["pe_array.register_pj_per_bit"])]
    if ops.mults:
        out.append(("pe_array", "mult", f"{t0}.pe_array", None, ["multiplier.energy_pj"]))
        out.append(("multiplier", "area", f"{t0}.pe_array", None,
                    ["multiplier.area_um2", "multiplier.leakage_uw_per_um2"]))
    if ops.adds or assumptions.include_accumulator:
        out.append(("pe_array", "add", f"{t0}.pe_array", None, ["adder.energy_pj"]))
    if effective_ops(pe, arch.tile.lut_banks.organisation, True).signs:
        out.append(("pe_array", "sign", f"{t0}.pe_array", None, ["adder.energy_pj"]))
    if ops.shifts:
        out.append(("pe_array", "shift", f"{t0}.pe_array", None, ["pe_array.shift_pj"]))
    out.append(("pe_array", "area", f"{t0}.pe_array", None,
                ["adder.area_um2", "adder.leakage_uw_per_um2", "pe_array.register_um2_per_bit",
                 "pe_array.leakage_uw_per_um2"]))
    if tabs:
        if arch.tile.lut_banks.count == 0:
            raise CostError(f"{arch.source}: field 'tile.lut_banks.count' is 0 but PE kind "
                            f"{pe.label} reads tables (its look-ups would not be counted); "
                            f"set tile.lut_banks.count >= 1")
        bank = f"{t0}.lut_bank0"
        read = ["lut_bank.read_pj_per_cell"]
        if assumptions.cell == "sram":
            read += ["sram.read_pj_per_64b", "sram.word_exponent"]
        out.append(("lut_bank", "lookup", bank, "lut_bank.lookup_pj", read))
        if assumptions.cell != "rom":
            out.append(("lut_bank", "program", bank, "lut_bank.program_pj",
                        read + ["lut_bank.write_to_read"]))
        area = ["lut_bank.extra_port_area_fraction", "lut_bank.leakage_uw_per_um2"]
        if assumptions.cell == "sram":
            area.append("sram.area_um2")
        else:
            area += [f"lut_bank.{assumptions.cell}_um2_per_bit",
                     "lut_bank.periphery_um2_per_transistor"]
            if assumptions.cell == "rom":
                area.append("lut_bank.rom_leakage_uw_per_um2")
        out.append(("lut_bank", "area", bank, None, area))
    for buf in ("ifmap", "weight", "ofmap"):
        out.append(("sram", "read_bytes", f"{t0}.{buf}_sram", None, ["sram.read_pj_per_64b"]))
        out.append(("sram", "write_bytes", f"{t0}.{buf}_sram", None,
                    ["sram.read_pj_per_64b", "sram.write_to_read"]))
    out.append(("sram", "area", f"{t0}.ifmap_sram", None,
                ["sram.area_um2", "sram.leakage_uw_per_um2"]))
    out.append(("vector", "op", f"{t0}.vector", None, ["vector.op_pj"]))
    out.append(("vector", "area", f"{t0}.vector", None,
                ["vector.area_um2_per_lane", "vector.leakage_uw_per_um2"]))
    out.append(("noc_link", "flit_hop", "noc.mem0.in", None, ["noc_link.flit_hop_pj_per_byte"]))
    out.append(("noc_link", "area", "noc.r0c0", None,
                ["noc_link.router_um2_per_link_byte", "noc_link.leakage_uw_per_um2"]))
    if arch.gbuf.capacity_bytes:
        out.append(("gbuf", "read_bytes", "gbuf", None, ["sram.read_pj_per_64b"]))
        out.append(("gbuf", "write_bytes", "gbuf", None,
                    ["sram.read_pj_per_64b", "sram.write_to_read"]))
        out.append(("gbuf", "area", "gbuf", None, ["sram.area_um2", "sram.leakage_uw_per_um2"]))
    out.append(("dram", "read_bytes", "dram.ch0", None, ["dram.read_pj_per_byte"]))
    out.append(("dram", "write_bytes", "dram.ch0", None, ["dram.write_pj_per_byte"]))
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
