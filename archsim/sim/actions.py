"""The action vocabulary: the component kinds of a chip, the actions each emits, their keys.

This module is the one owner of action names.  Components count typed :class:`ActionKey`\\ s
(``ActionKey(component="tile3.ifmap_sram", kind="ifmap_sram", action="read_bytes")``); the
energy model prices them by ``kind`` and ``action``, reports group them by the kind's
``cost_class``, the coverage check walks :data:`KINDS` -- nobody parses strings.  The dotted
form ``str(key)`` (``tile3.ifmap_sram.read_bytes``) is only for files and tables people read;
:func:`parse` is its inverse, for names read back from such files.

In:  nothing (definitions), or instance coordinates for the naming helpers.
Out: :data:`KINDS` (name -> :class:`ComponentKind`), :class:`ActionKey`, the instance-name
     helpers (:func:`tile_part`, :func:`link`, :func:`mem_port`, :func:`gbuf_port`,
     :func:`dram_channel`), and
     :func:`parse`.

Adding a component kind is one :class:`ComponentKind` here plus its cost entries in the cost
tables: a kind the energy model has no dedicated derivation for is priced generically, each
action from ``<cost_class>.<action>_pj`` and each on-chip instance's area and leakage from
``<cost_class>.area_um2`` and ``<cost_class>.leakage_uw_per_um2`` (docs/architecture.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "KINDS",
    "ActionCounts",
    "ActionKey",
    "ComponentKind",
    "dram_channel",
    "gbuf_port",
    "instance_class",
    "key",
    "link",
    "mem_port",
    "parse",
    "tile_part",
]


@dataclass(frozen=True)
class ComponentKind:
    """One kind of hardware component and the actions its instances count."""

    name: str  # e.g. "ifmap_sram"; the ``kind`` of its ActionKeys
    cost_class: str  # cost-table section and report group, e.g. "sram"
    actions: tuple[str, ...]  # what an instance counts, each in its unit
    units: tuple[str, ...]  # unit of one count of each action (same order)
    on_chip: bool  # has area and leakage
    description: str


KINDS: dict[str, ComponentKind] = {k.name: k for k in (
    ComponentKind(name="pe_array", cost_class="pe_array",
                  actions=("mac", "mult", "add", "shift", "sign", "shadow_load"),
                  units=("MAC", "multiply", "add", "shift", "XOR", "bit"), on_chip=True,
                  description="a tile's PE array: pipeline registers and arithmetic per MAC; "
                  "fold pipelining: bits loaded into the PEs' shadow registers"),
    ComponentKind(name="lut_bank", cost_class="lut_bank", actions=("lookup", "program"),
                  units=("look-up", "entry"), on_chip=True,
                  description="a bank of look-up tables: reads, and table words written"),
    ComponentKind(name="ifmap_sram", cost_class="sram", actions=("read_bytes", "write_bytes"),
                  units=("byte", "byte"), on_chip=True, description="a tile's input buffer"),
    ComponentKind(name="weight_sram", cost_class="sram", actions=("read_bytes", "write_bytes"),
                  units=("byte", "byte"), on_chip=True, description="a tile's weight buffer"),
    ComponentKind(name="ofmap_sram", cost_class="sram", actions=("read_bytes", "write_bytes"),
                  units=("byte", "byte"), on_chip=True,
                  description="a tile's output / partial-sum buffer"),
    ComponentKind(name="zero_gate", cost_class="zero_gate", actions=("check",),
                  units=("MAC",), on_chip=True,
                  description="per-PE zero-weight detection and datapath gating "
                              "(tile.sparsity.zero_gating)"),
    ComponentKind(name="gather_net", cost_class="gather_net", actions=("select",),
                  units=("operand",), on_chip=True,
                  description="per-PE operand selectors picking each MAC's activation from a "
                              "window (sparsity modes gather, nm_structured)"),
    ComponentKind(name="meta_decode", cost_class="meta_decode", actions=("decode",),
                  units=("index",), on_chip=True,
                  description="decoders turning weight metadata into selector indices "
                              "(sparsity modes gather, nm_structured)"),
    ComponentKind(name="vector", cost_class="vector", actions=("op",), units=("op",),
                  on_chip=True, description="a tile's vector unit (pooling, adds, requant)"),
    ComponentKind(name="noc_link", cost_class="noc_link", actions=("flit_hop",),
                  units=("flit-hop",), on_chip=True,
                  description="a mesh link (and, for area, its router)"),
    ComponentKind(name="gbuf", cost_class="gbuf", actions=("read_bytes", "write_bytes"),
                  units=("byte", "byte"), on_chip=True, description="the global buffer"),
    ComponentKind(name="dram", cost_class="dram", actions=("read_bytes", "write_bytes"),
                  units=("byte", "byte"), on_chip=False, description="a DRAM channel (off chip)"),
)}


class ActionKey(NamedTuple):
    """What was counted: ``action`` of component instance ``component`` of kind ``kind``."""

    component: str
    kind: str
    action: str

    def __str__(self) -> str:
        return f"{self.component}.{self.action}"

    @property
    def cost_class(self) -> str:
        return KINDS[self.kind].cost_class


class ActionCounts(dict):
    """Counts keyed by :class:`ActionKey`; for people and files a dotted name indexes it too
    (``counts["tile0.pe_array.mac"]`` is ``counts[parse("tile0.pe_array.mac")]``)."""

    def __missing__(self, k):
        if isinstance(k, str):
            try:
                pk = parse(k)
            except KeyError:
                raise KeyError(k) from None
            if pk in self:
                return dict.__getitem__(self, pk)
        raise KeyError(k)

    def __contains__(self, k) -> bool:
        if isinstance(k, str):
            try:
                k = parse(k)
            except KeyError:
                return False
        return dict.__contains__(self, k)

    def get(self, k, default=None):
        return self[k] if k in self else default


def key(component: str, kind: str, action: str) -> ActionKey:
    """A checked key: ``kind`` must be in :data:`KINDS` and emit ``action``."""
    k = KINDS.get(kind)
    if k is None:
        raise KeyError(f"{component}.{action}: unknown component kind {kind!r} "
                       f"(known: {', '.join(KINDS)})")
    if action not in k.actions:
        raise KeyError(f"{component}.{action!s} is not a simulator action name: component kind "
                       f"{kind!r} has no action {action!r} (its actions: {', '.join(k.actions)})")
    return ActionKey(component=component, kind=kind, action=action)


# ---- instance names (one owner) ------------------------------------------------------------
def tile_part(tile: int, part: str) -> str:
    """``tile3.ifmap_sram``, ``tile0.lut_bank1``, ``tile2.pe_array``."""
    return f"tile{tile}.{part}"


def link(row: int, col: int, direction: str) -> str:
    """The mesh link leaving router (row, col) towards ``direction`` (E, W, N, S)."""
    return f"noc.r{row}c{col}.{direction}"


def router(row: int, col: int) -> str:
    return f"noc.r{row}c{col}"


def mem_port(channel: int, direction: str) -> str:
    """The link between edge-memory port ``channel`` and its router (``in`` / ``out``)."""
    return f"noc.mem{channel}.{direction}"


def gbuf_port(port: int, direction: str) -> str:
    """The edge link between global-buffer port ``port`` and its router (``in`` / ``out``),
    when the buffer's ports attach on their own (``gbuf.attach: own_ports``)."""
    return f"noc.gbuf{port}.{direction}"


def dram_channel(channel: int) -> str:
    return f"dram.ch{channel}"


_PARSE = [
    (re.compile(r"^(tile\d+\.pe_array)\.(\w+)$"), "pe_array"),
    (re.compile(r"^(tile\d+\.lut_bank\d+)\.(\w+)$"), "lut_bank"),
    (re.compile(r"^(tile\d+\.(ifmap|weight|ofmap)_sram)\.(\w+)$"), None),
    (re.compile(r"^(tile\d+\.vector)\.(\w+)$"), "vector"),
    (re.compile(r"^(tile\d+\.zero_gate)\.(\w+)$"), "zero_gate"),
    (re.compile(r"^(tile\d+\.gather_net)\.(\w+)$"), "gather_net"),
    (re.compile(r"^(tile\d+\.meta_decode)\.(\w+)$"), "meta_decode"),
    (re.compile(r"^(noc\.r\d+c\d+\.[EWNS])\.(\w+)$"), "noc_link"),
    (re.compile(r"^(noc\.mem\d+\.(?:in|out))\.(\w+)$"), "noc_link"),
    (re.compile(r"^(noc\.gbuf\d+\.(?:in|out))\.(\w+)$"), "noc_link"),
    (re.compile(r"^(gbuf)\.(\w+)$"), "gbuf"),
    (re.compile(r"^(dram\.ch\d+)\.(\w+)$"), "dram"),
]


def instance_class(component: str) -> str:
    """Cost class of a component instance name (``tile0.ifmap_sram`` -> ``sram``, ``noc.r0c1``
    (a router) -> ``noc_link``, ``tile3.lut_bank1`` -> ``lut_bank``, ``dram.ch0`` -> ``dram``)."""
    try:
        return parse(f"{component}.x", check=False).cost_class
    except KeyError:
        if re.fullmatch(r"noc\.r\d+c\d+", component):
            return "noc_link"
        raise


def parse(name: str, check: bool = True) -> ActionKey:
    """The key of a dotted action name (``str(key)``); KeyError if it names no known action."""
    for pat, kind in _PARSE:
        m = pat.match(name)
        if m:
            make = key if check else ActionKey
            if kind is None:  # a tile buffer: the kind is its role
                return make(m.group(1), f"{m.group(2)}_sram", m.group(3))
            return make(m.group(1), kind, m.group(2))
    raise KeyError(f"{name!r} is not a simulator action name "
                   f"(e.g. tile0.pe_array.mac, tile0.lut_bank0.lookup, dram.ch0.read_bytes)")
