"""The cost model of one design point: energy = actions x per-action pJ + leakage x time.

In:  an :class:`~archsim.design.arch.ArchConfig` (its ``energy_table``, ``leakage``, ``clock_mhz``,
     components), optionally the dataflow (weight-stationary reads keep the weight half of a
     table index fixed) or explicit :class:`~archsim.energy.lutcost.UnitAssumptions`.
     The LUT tables priced are those of ``tile.lut_banks.organisation``
     (``archsim.pe.organisation``): the PE kind's product tables, or one weight-programmed W*x
     table per PE.
Out: ``load_cost_model(arch)`` -> :class:`CostModel`, after checking that every action the
     design point's components can emit, and every component's area and leakage, has a cost
     entry (else :class:`~archsim.energy.tables.CostError` naming component, action, file);
     ``CostModel.energy(actions, latency_cycles)`` -> :class:`EnergyReport`;
     ``CostModel.area()`` -> :class:`AreaReport`; ``CostModel.action_costs()`` -> the
     per-action energies with how each was derived.

Actions are the simulator's typed keys (:class:`~archsim.sim.actions.ActionKey`; their kinds
and cost classes come from :data:`archsim.sim.actions.KINDS`); dotted names read from files
are converted with :func:`archsim.sim.actions.parse`.  An action the design point cannot emit
is an error, never silently ignored.  A kind without a dedicated derivation below is priced
generically from ``<cost_class>.<action>_pj``. Component
classes: ``pe_array`` (mac: PE pipeline registers; mult; add: adder tree + accumulator,
averaged over the adds per MAC the organisation counts; shift; sign: the sign XOR of a
signed-activation LUT-NA MAC; shadow_load: fold pipelining's shadow-register bits, whose
registers -- R x C x the widest shadow width -- add to the PE array's area and leakage),
``lut_bank`` (lookup,
program), ``sram`` (tile buffers; read_bytes / write_bytes), ``vector`` (op), ``noc_link``
(flit_hop: link width x pJ per byte; routers carry the class's area), ``gbuf`` (costed with
the ``sram`` entries at its capacity), ``dram`` (per byte; off chip: no area, no leakage).
Leakage = sum over components of area x leakage density x simulated time
(latency / clock_mhz).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass

from archsim.design.arch import ArchConfig, load_arch
from archsim.energy.coverage import check_coverage
from archsim.energy.lutcost import (
    SIGN_LOGIC_BASIS,
    TableCost,
    UnitAssumptions,
    UnitCost,
    activation_build_pj,
    pe_table_spec,
    pe_unit_cost,
    sign_logic_cost,
    table_cost,
)
from archsim.energy.tables import CostError, CostTable, load_cost_table
from archsim.mapping.layer import shadow_bits
from archsim.pe.organisation import effective_ops, effective_tables
from archsim.sim.actions import KINDS, ActionKey, parse

__all__ = ["ActionCost", "AreaReport", "CostModel", "EnergyReport", "check_coverage",
           "load_cost_model"]

@dataclass(frozen=True)
class ActionCost:
    """Energy of one action of one component type, and how it was derived."""

    component: str  # component type: pe_array, lut_bank, ifmap_sram, ..., noc_link, gbuf, dram
    cls: str
    action: str
    energy_pj: float
    per: str
    basis: str


@dataclass(frozen=True)
class EnergyReport:
    """Energy of a run (pJ). ``by_component_pj`` / ``by_class_pj`` include leakage."""

    total_pj: float
    dynamic_pj: float
    leakage_pj: float
    by_component_pj: dict[str, float]
    by_action_pj: dict[str, float]
    by_class_pj: dict[str, float]
    leakage_by_class_pj: dict[str, float]
    source: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AreaReport:
    """Chip area (um^2) by component and class; DRAM is off chip and not counted."""

    total_um2: float
    by_component_um2: dict[str, float]
    by_class_um2: dict[str, float]
    source: str

    @property
    def total_mm2(self) -> float:
        return self.total_um2 / 1e6

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Component:
    name: str
    cls: str
    area_um2: float
    leakage_uw: float


def _sram_pj_per_byte(table: CostTable, capacity_bytes: float) -> float:
    return table.value("sram", "read_pj_per_64b", capacity_bytes) / 8


class CostModel:
    """Per-action energies, component areas and leakage of one design point."""

    def __init__(self, arch: ArchConfig, table: CostTable, assumptions: UnitAssumptions):
        self.arch, self.table, self.assumptions = arch, table, assumptions
        self.pe = arch.pe()
        lb = arch.tile.lut_banks
        self.organisation = org = lb.organisation
        # what the simulator counts per MAC and the tables it programs (archsim.pe.organisation)
        self.ops = effective_ops(self.pe, org)
        self.tables = effective_tables(self.pe, org)
        self.has_tables = self.tables.n_tables > 0
        self.sharing = lb.sharing
        self.unit: UnitCost = pe_unit_cost(self.pe, table, lb.pes_per_table, assumptions, org,
                                           lb.sharing, lb.table_read_ports)
        spec = pe_table_spec(self.pe, assumptions, lb.pes_per_table, org, lb.sharing,
                             lb.table_read_ports)
        self.table_cost: TableCost | None = table_cost(spec, table) if spec else None
        self._costs = self._action_costs()
        self._energy = {(c.component, c.action): c.energy_pj for c in self._costs}
        self._components = self._inventory()
        self._names = {c.name for c in self._components}

    def tables_desc(self) -> str:
        """The LUT organisation and the tables it prices, as cost derivations state them."""
        tc = self.table_cost
        if tc is None:
            return f"{self.organisation} organisation: no tables"
        s = tc.spec
        if self.organisation == "weight":
            return (f"weight organisation: 1 {s.cell} table of {s.entries} x {s.word_bits} bits "
                    f"(W*x for each {self.pe.digit_bits}-bit activation digit) per PE, "
                    f"rewritten every weight fold")
        share = f"per {s.pes_per_table} PEs" if s.pes_per_table > 1 else "per PE"
        if self.organisation == "activation":
            return (f"activation organisation: {self.tables.n_tables} {s.cell} table(s) of "
                    f"{s.entries} x {s.word_bits} bits (sums of {self.pe.g} activations) "
                    f"{share}, programmed per activation group of every token "
                    f"(built {'on the tile' if self.pe.table_build == 'tile' else 'ahead'}); "
                    f"{self.sharing_desc()}")
        return (f"product organisation: {self.tables.n_tables} {s.cell} table(s) of "
                f"{s.entries} x {s.word_bits} bits {share}, loaded once per run; "
                f"{self.sharing_desc()}")

    def sharing_desc(self) -> str:
        """How a table set serves its PEs (ports, copies, stretch, private slices)."""
        tc = self.table_cost
        if tc is None:
            return "no tables"
        s = tc.spec
        if s.sharing == "multiport":
            return f"multiport: {s.read_ports} read port(s) per table"
        if s.sharing == "replicated":
            return (f"replicated: {s.copies} copies of {s.read_ports} read port(s) per "
                    f"{s.pes_per_table} PEs")
        if s.sharing == "time_multiplexed":
            return (f"time_multiplexed: {s.read_ports} read port(s) for {s.pes_per_table} PEs, "
                    f"{s.stretch_cycles} cycle(s) per MAC step")
        if s.sharing == "private_subarray":
            return (f"private_subarray: a {s.active_entries} x {s.word_bits}-bit slice per PE "
                    f"per table, from a single-port master, rewritten every weight fold")
        return s.sharing

    def organisation_summary(self) -> dict:
        """The LUT organisation as plain data (``summary.json`` ``lut_organisation``)."""
        tc = self.table_cost
        lb = self.arch.tile.lut_banks
        out = {"organisation": self.organisation, "sharing": lb.sharing,
               "pes_per_table": lb.pes_per_table}
        if tc is None:
            return {**out, "tables": 0}
        s = tc.spec
        return {**out, "tables": self.tables.n_tables, "entries": s.entries,
                "word_bits": s.word_bits, "cell": s.cell, "read_ports_per_copy": s.read_ports,
                "copies_per_set": s.copies, "stretch_cycles": s.stretch_cycles,
                "active_entries_per_read": s.active_entries,
                "read_pj": tc.read_pj, "program_pj_per_entry": tc.write_pj_per_entry,
                "area_per_pe_um2": tc.area_per_pe_um2 * self.unit.tables_per_pe,
                "description": self.tables_desc()}

    # ---- per-action energies -----------------------------------------------------------
    def _action_costs(self) -> list[ActionCost]:
        t, arch, pe, ops, a = self.table, self.arch, self.pe, self.ops, self.assumptions
        bd = self.unit.breakdown
        reg_bits = pe.act_bits + a.acc_bits
        reg_how = (f"pipeline registers: ({pe.act_bits} activation + {a.acc_bits} partial-sum"
                   f" bits) x pe_array.register_pj_per_bit")
        if self.organisation == "activation":  # bit-plane PEs clock once per plane of g MACs
            reg_bits = (pe.word_bits + a.acc_bits) * pe.cycles_per_mac
            reg_how = (f"pipeline registers clocked once per bit plane of {pe.g} MACs: "
                       f"({pe.word_bits} table-word + {a.acc_bits} partial-sum bits) x "
                       f"{pe.cycles_per_mac:g} cycles/MAC x pe_array.register_pj_per_bit")
        out = [
            ActionCost("pe_array", "pe_array", "mac",
                       reg_bits * t.value("pe_array", "register_pj_per_bit"), "MAC", reg_how),
            ActionCost("pe_array", "pe_array", "shift", t.value("pe_array", "shift_pj"), "shift",
                       "pe_array.shift_pj"),
        ]
        if arch.tile.pe_array.fold_pipelining:
            out.append(ActionCost("pe_array", "pe_array", "shadow_load",
                                  t.value("pe_array", "register_pj_per_bit"), "bit",
                                  "fold pipelining: one shadow-register bit loaded (os: "
                                  "acc_bits sums, ws: weight_bits, is: act_bits, per PE per "
                                  "fold) x pe_array.register_pj_per_bit"))
        if effective_ops(pe, self.organisation, True).signs:
            out.append(ActionCost("pe_array", "pe_array", "sign", sign_logic_cost(t), "XOR",
                                  f"sign logic of a signed-activation layer: {SIGN_LOGIC_BASIS}"))
        if ops.mults:
            bits = pe.act_bits * pe.weight_bits
            out.append(ActionCost("pe_array", "pe_array", "mult", bd["mult_pj"] / ops.mults,
                                  "multiply", f"multiplier.energy_pj at {pe.act_bits} x "
                                  f"{pe.weight_bits} = {bits} product bits"))
        adds_pj = bd.get("adders_pj", 0.0) + bd.get("accumulator_pj", 0.0)
        if ops.adds:
            widths = list(self.unit.add_widths) + ([a.acc_bits] if a.include_accumulator else [])
            how = ""
            if self.organisation == "weight":
                mag = pe.weight_mag_bits + pe.digit_bits
                how = (f"; weight organisation: {pe.n_act_digits} partial products |W| x "
                       f"activation digit ({mag}-bit magnitudes of the "
                       f"{self.table_cost.spec.entries} x {self.table_cost.spec.word_bits}-bit "
                       f"W*x table) shifted by {pe.digit_bits} x i, plus the accumulate")
            elif self.has_tables:
                how = f"; {self.tables_desc()}"
            out.append(ActionCost("pe_array", "pe_array", "add", adds_pj / ops.adds, "add",
                                  f"adder.energy_pj over adds of {widths} bits, averaged over "
                                  f"the {ops.adds:g} adds per MAC the design point counts{how}"))
        if self.table_cost is not None:
            tc = self.table_cost
            desc = self.tables_desc()
            out.append(ActionCost("lut_bank", "lut_bank", "lookup", tc.read_pj, "look-up",
                                  f"{desc}; {tc.spec.static_index_bits} static index bits: "
                                  f"{tc.read_model}"))
            if tc.spec.cell == "rom":
                prog = "ROM: fixed contents"
            elif t.has("lut_bank", "program_pj"):
                prog = "explicit lut_bank.program_pj"
            else:
                prog = (f"lut_bank.write_to_read x one random-access read of the "
                        f"{tc.spec.entries} x {tc.spec.word_bits}-bit table")
            build = activation_build_pj(pe, t)
            if build:
                prog += (f" + {pe.build_adds_per_table}/{pe.entries_stored} build adds of "
                         f"{pe.word_bits} bits (adder.energy_pj)")
            out.append(ActionCost("lut_bank", "lut_bank", "program", tc.write_pj_per_entry + build,
                                  "entry", f"{desc}; {prog}"))
        for buf in ("ifmap", "weight", "ofmap"):
            cfg = getattr(arch.tile.sram, buf)
            per_bank = cfg.capacity_bytes / cfg.banks
            rd = _sram_pj_per_byte(t, per_bank)
            basis = f"sram.read_pj_per_64b at {per_bank:,.0f} B per bank / 8"
            out.append(ActionCost(f"{buf}_sram", "sram", "read_bytes", rd, "byte", basis))
            out.append(ActionCost(f"{buf}_sram", "sram", "write_bytes",
                                  rd * t.value("sram", "write_to_read"), "byte",
                                  basis + " x sram.write_to_read"))
        out += self._sparsity_costs()
        out.append(ActionCost("vector", "vector", "op", t.value("vector", "op_pj"), "op",
                              "vector.op_pj"))
        lb = arch.interconnect.link_bytes_per_cycle
        out.append(ActionCost("noc_link", "noc_link", "flit_hop",
                              lb * t.value("noc_link", "flit_hop_pj_per_byte"), "flit-hop",
                              f"{lb} B flit x noc_link.flit_hop_pj_per_byte"))
        if arch.gbuf.capacity_bytes:
            g = _sram_pj_per_byte(t, arch.gbuf.capacity_bytes)
            basis = f"sram.read_pj_per_64b at {arch.gbuf.capacity_bytes:,} B / 8"
            out.append(ActionCost("gbuf", "gbuf", "read_bytes", g, "byte", basis))
            out.append(ActionCost("gbuf", "gbuf", "write_bytes",
                                  g * t.value("sram", "write_to_read"), "byte",
                                  basis + " x sram.write_to_read"))
        out.append(ActionCost("dram", "dram", "read_bytes", t.value("dram", "read_pj_per_byte"),
                              "byte", "dram.read_pj_per_byte"))
        out.append(ActionCost("dram", "dram", "write_bytes", t.value("dram", "write_pj_per_byte"),
                              "byte", "dram.write_pj_per_byte"))
        return out

    # ---- sparsity hardware (docs/energy.md, "Sparsity hardware") -----------------------
    def _select_window(self) -> tuple[int, int]:
        """(window W of the operand selectors, index bits ceil(log2 W))."""
        w = self.arch.tile.sparsity.select_window
        return w, (w - 1).bit_length() if w > 1 else 0

    def _sparsity_costs(self) -> list[ActionCost]:
        t, pe, sp = self.table, self.pe, self.arch.tile.sparsity
        reg = t.value("pe_array", "register_pj_per_bit")
        out = []
        if sp.zero_gating:
            nor = t.value("logic", "nor_pj_per_input")
            out.append(ActionCost(
                "zero_gate", "zero_gate", "check", pe.weight_bits * nor + reg, "MAC",
                f"zero detect over {pe.weight_bits} weight bits x logic.nor_pj_per_input + one "
                f"gate-flag bit x pe_array.register_pj_per_bit"))
        if sp.mode in ("gather", "nm_structured"):
            w, b = self._select_window()
            mux = t.value("logic", "mux2_pj_per_bit")
            out.append(ActionCost(
                "gather_net", "gather_net", "select", pe.act_bits * (b * mux + reg), "operand",
                f"{w}:1 selector: {pe.act_bits} bits x ({b} mux levels x logic.mux2_pj_per_bit "
                f"+ operand register pe_array.register_pj_per_bit)"))
            fa = t.value("adder", "energy_pj", 8) / 8
            out.append(ActionCost(
                "meta_decode", "meta_decode", "decode", b * (reg + fa), "index",
                f"{b}-bit index: register (pe_array.register_pj_per_bit) + incrementer "
                f"(adder.energy_pj at 8 bits / 8) per bit"))
        return out

    def _sparsity_inventory(self) -> list[tuple[str, str, float, float]]:
        """(part, class, area um^2, leakage uW) of one tile's sparsity hardware."""
        t, pe, arch, sp = self.table, self.pe, self.arch, self.arch.tile.sparsity
        R, C = arch.tile.pe_array.rows, arch.tile.pe_array.cols
        reg = t.value("pe_array", "register_um2_per_bit")
        leak = t.value("logic", "leakage_uw_per_um2")
        out = []
        if sp.zero_gating:
            a = R * C * (pe.weight_bits * t.value("logic", "nor_um2_per_input") + reg
                         + t.value("logic", "clock_gate_um2"))
            out.append(("zero_gate", "zero_gate", a, a * leak))
        if sp.mode in ("gather", "nm_structured"):
            w, b = self._select_window()
            a = (R * C * pe.act_bits * ((w - 1) * t.value("logic", "mux2_um2_per_bit") + reg)
                 + R * w * pe.act_bits * reg)  # per PE a W:1 mux + operand reg; per row window
            out.append(("gather_net", "gather_net", a, a * leak))
            a = R * C * b * reg + C * b * t.value("adder", "area_um2", 8) / 8
            out.append(("meta_decode", "meta_decode", a, a * leak))
        return out

    def action_costs(self) -> list[ActionCost]:
        """Energy of every action this design point can emit, with its derivation."""
        return list(self._costs)

    def _key(self, action: ActionKey | str) -> ActionKey:
        """The typed key of an action (dotted names from files are parsed once)."""
        if isinstance(action, ActionKey):
            return action
        cache = self.__dict__.setdefault("_parsed", {})
        hit = cache.get(action)
        if hit is None:
            try:
                hit = cache[action] = parse(action)
            except KeyError as exc:
                raise CostError(str(exc.args[0])) from None
        return hit

    def action_energy_pj(self, action: ActionKey | str) -> float:
        """Energy of one occurrence of ``action``."""
        k = self._key(action)
        if k.component not in self._names and k.kind not in ("noc_link", "dram"):
            raise CostError(f"action {str(k)!r}: design point {self.arch.name!r} "
                            f"({self.arch.source}) has no component {k.component!r}")
        pj = self._energy.get((k.kind, k.action))
        if pj is None:
            pj = self._generic(k)
        return pj

    def _generic(self, k: ActionKey) -> float:
        """A kind without a dedicated derivation: ``<cost_class>.<action>_pj`` of the table."""
        kind = KINDS.get(k.kind)
        try:
            if kind is None or k.action not in kind.actions:
                raise CostError("not in the vocabulary")
            pj = self.table.value(kind.cost_class, f"{k.action}_pj")
        except CostError:
            raise CostError(f"action {str(k)!r}: component {k.component!r} of design point "
                            f"{self.arch.name!r} does not emit {k.action!r}") from None
        self._energy[(k.kind, k.action)] = pj
        return pj

    # ---- inventory (area, leakage) -----------------------------------------------------
    def _inventory(self) -> list[_Component]:
        t, arch, pe, a = self.table, self.arch, self.pe, self.assumptions
        pes = arch.pes_per_tile
        comps: list[_Component] = []
        unit_logic = self.unit.area_um2 - self.unit.breakdown.get("tables_um2", 0.0)
        unit_leak = self.unit.leakage_uw
        if self.table_cost is not None:
            unit_leak -= self.unit.tables_per_pe * self.table_cost.leakage_per_pe_uw
        # fold pipelining adds one shadow register per PE (the widest the dataflows need)
        reg_bits = pe.act_bits + pe.weight_bits + a.acc_bits + shadow_bits(arch)
        reg_area = reg_bits * t.value("pe_array", "register_um2_per_bit")
        pe_area = pes * (unit_logic + reg_area)
        pe_leak = pes * (unit_leak + reg_area * t.value("pe_array", "leakage_uw_per_um2"))
        lb = arch.tile.lut_banks
        banks = lb.count if self.has_tables else 0
        if banks:
            copies = -(-pes // lb.pes_per_table) * self.tables.n_tables
            bank_area = copies * self.table_cost.area_um2 / banks
            bank_leak = copies * self.table_cost.leakage_uw / banks
        sram_leak = t.value("sram", "leakage_uw_per_um2")
        sparse_parts = self._sparsity_inventory()
        for i in range(arch.n_tiles):
            tile = f"tile{i}"
            comps.append(_Component(f"{tile}.pe_array", "pe_array", pe_area, pe_leak))
            for b in range(banks):
                comps.append(_Component(f"{tile}.lut_bank{b}", "lut_bank", bank_area, bank_leak))
            for buf in ("ifmap", "weight", "ofmap"):
                cfg = getattr(arch.tile.sram, buf)
                area = cfg.banks * t.value("sram", "area_um2", cfg.capacity_bytes / cfg.banks)
                comps.append(_Component(f"{tile}.{buf}_sram", "sram", area, area * sram_leak))
            for part, cls, area, leak in sparse_parts:
                comps.append(_Component(f"{tile}.{part}", cls, area, leak))
            v_area = arch.tile.vector_lanes * t.value("vector", "area_um2_per_lane")
            comps.append(_Component(f"{tile}.vector", "vector", v_area,
                                    v_area * t.value("vector", "leakage_uw_per_um2")))
            r, c = divmod(i, arch.grid.cols)
            r_area = (arch.interconnect.link_bytes_per_cycle
                      * t.value("noc_link", "router_um2_per_link_byte"))
            comps.append(_Component(f"noc.r{r}c{c}", "noc_link", r_area,
                                    r_area * t.value("noc_link", "leakage_uw_per_um2")))
        if arch.gbuf.capacity_bytes:
            g_area = t.value("sram", "area_um2", arch.gbuf.capacity_bytes)
            comps.append(_Component("gbuf", "gbuf", g_area, g_area * sram_leak))
        return comps

    # ---- reports -----------------------------------------------------------------------
    @property
    def source(self) -> str:
        a = self.assumptions
        if self.organisation == "weight":
            s = self.table_cost.spec
            luts = (f"weight organisation, one {s.entries} x {s.word_bits}-bit {a.cell} table "
                    f"of W*x per PE, activation-digit reads")
        else:
            luts = (f"{a.cell} cells, "
                    f"{'weight-stationary' if a.weight_stationary else 'random-access'} reads, "
                    f"{self.arch.tile.lut_banks.pes_per_table} PE(s) per table, "
                    f"{self.sharing_desc()}")
            if self.has_tables:
                s = self.table_cost.spec
                luts += (f", {self.organisation} organisation ({s.entries} x {s.word_bits}-bit "
                         f"tables)")
        sp = self.arch.tile.sparsity
        return (f"{self.table.provenance()} | LUT tables: {luts}; "
                f"{a.acc_bits}-bit accumulator, {a.adder_tree} shift-add tree | sparsity: "
                f"{sp.mode}, zero gating {'on' if sp.zero_gating else 'off'}")

    def energy(self, actions: dict[ActionKey, int] | dict[str, int],
               latency_cycles: float) -> EnergyReport:
        """Dynamic energy of ``actions`` plus leakage over ``latency_cycles`` (pJ).

        ``by_action_pj`` and ``by_component_pj`` are keyed by printed names (report data)."""
        if latency_cycles < 0:
            raise CostError(f"latency_cycles must be >= 0, got {latency_cycles}")
        by_action: dict[str, float] = {}
        by_comp: dict[str, float] = defaultdict(float)
        by_class: dict[str, float] = defaultdict(float)
        for action, count in actions.items():
            k = self._key(action)
            if count < 0:
                raise CostError(f"action {str(k)!r} has a negative count {count}")
            pj = count * self.action_energy_pj(k)
            by_action[str(k)] = pj
            by_comp[k.component] += pj
            by_class[KINDS[k.kind].cost_class] += pj
        dynamic = sum(by_action.values())
        leak_by_class: dict[str, float] = defaultdict(float)
        if self.arch.leakage:
            us = latency_cycles / self.arch.clock_mhz  # uW x us = pJ
            for c in self._components:
                pj = c.leakage_uw * us
                by_comp[c.name] += pj
                by_class[c.cls] += pj
                leak_by_class[c.cls] += pj
        leakage = sum(leak_by_class.values())
        return EnergyReport(dynamic + leakage, dynamic, leakage, dict(sorted(by_comp.items())),
                            dict(sorted(by_action.items())), dict(sorted(by_class.items())),
                            dict(sorted(leak_by_class.items())), self.source)

    def area(self) -> AreaReport:
        """Area of every on-chip component (um^2)."""
        by_comp = {c.name: c.area_um2 for c in self._components}
        by_class: dict[str, float] = defaultdict(float)
        for c in self._components:
            by_class[c.cls] += c.area_um2
        return AreaReport(sum(by_comp.values()), by_comp, dict(sorted(by_class.items())),
                          self.source)

    def leakage_uw(self) -> float:
        """Total leakage power of the chip (uW); 0 if the design point disables leakage."""
        return sum(c.leakage_uw for c in self._components) if self.arch.leakage else 0.0


def load_cost_model(arch: ArchConfig | str, *, dataflow: str | None = None,
                    assumptions: UnitAssumptions | None = None,
                    table: CostTable | str | None = None) -> CostModel:
    """The cost model of ``arch`` (see module doc); fails before any simulation if the table
    lacks an entry the design point needs.

    ``assumptions`` default: SRAM table cells (``arch.tile.lut_banks.cell`` if the config has
    that field), weight-stationary reads unless ``dataflow`` is ``"os"`` or ``"is"``, a 32-bit
    accumulator, the merged shift-add tree. ``table`` overrides ``arch.energy_table``.
    """
    if not isinstance(arch, ArchConfig):
        arch = load_arch(arch)
    if assumptions is None:
        cell = getattr(arch.tile.lut_banks, "cell", None) or "sram"
        assumptions = UnitAssumptions(cell=cell, weight_stationary=dataflow in (None, "ws"),
                                      acc_bits=arch.tile.pe_array.acc_bits)
    if not isinstance(table, CostTable):
        table = load_cost_table(table if table is not None else arch.energy_table)
    check_coverage(arch, table, assumptions)
    return CostModel(arch, table, assumptions)
