"""Where the edge memory meets the mesh: the attach points of DRAM channels and gbuf ports.

In:  a design point (grid, ``interconnect.memory_edges``, ``dram.channels``, ``gbuf.ports``
     and ``gbuf.attach``).
Out: :func:`attach_points` -- one :class:`AttachPoint` per memory port (DRAM channels first,
     then, with ``gbuf.attach: own_ports``, the global buffer's ports): the router it
     attaches to, the router side its edge link enters through, and the link's bandwidth.

Layout rule.  The *sides* of the configured edges are listed edge by edge (north: columns
left to right, east: rows top to bottom, south: columns left to right, west: rows top to
bottom; a corner router has one side on each of its two edges).  The ports are ordered by
their fractional position along their own kind (DRAM channel i at (i + 1/2) / channels,
gbuf port j at (j + 1/2) / ports; DRAM first on ties), so the two kinds interleave, and port
k of n takes side ``floor((2k + 1) * S / (2n))`` of the S sides: spread evenly, and with only
the west edge and no gbuf ports channel c lands on row ``(2c + 1) * rows / (2 * channels)``
(the layout before attach points were configurable).  Ports share a side only when they
outnumber the sides of the configured edges (e.g. 16 ports on a 1x1 grid's four sides): each
keeps its own edge link; they share the router's mesh links.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ArchConfig = Any  # archsim.design.arch.ArchConfig (which imports this module: no import here)

__all__ = ["AttachPoint", "attach_points", "edge_sides"]

_ORDER = ("north", "east", "south", "west")


@dataclass(frozen=True, kw_only=True)
class AttachPoint:
    """One memory port's attach point: kind ``dram`` (channel ``index``) or ``gbuf`` (port)."""

    kind: str  # "dram" | "gbuf"
    index: int  # DRAM channel or gbuf port number
    row: int
    col: int
    side: str  # "north" | "east" | "south" | "west"
    link_bytes_per_cycle: int  # the edge link's bandwidth
    lanes: int  # transfers the edge link (and the port behind it) carries at once


def edge_sides(rows: int, cols: int, edges: tuple[str, ...]) -> list[tuple[int, int, str]]:
    """(row, col, side) of every router side on ``edges``, in the module doc's order."""
    out: list[tuple[int, int, str]] = []
    for e in _ORDER:
        if e not in edges:
            continue
        if e == "north":
            out += [(0, c, e) for c in range(cols)]
        elif e == "south":
            out += [(rows - 1, c, e) for c in range(cols)]
        elif e == "east":
            out += [(r, cols - 1, e) for r in range(rows)]
        else:
            out += [(r, 0, e) for r in range(rows)]
    return out


def _ports(arch: ArchConfig) -> list[tuple[str, int]]:
    nd = arch.dram.channels
    kinds = [((i + 0.5) / nd, 0, "dram", i) for i in range(nd)]
    if arch.gbuf.attach == "own_ports" and arch.gbuf.capacity_bytes:
        ng = arch.gbuf.ports
        kinds += [((j + 0.5) / ng, 1, "gbuf", j) for j in range(ng)]
    return [(k, i) for _, _, k, i in sorted(kinds)]


def attach_points(arch: ArchConfig) -> tuple[AttachPoint, ...]:
    """Attach points, DRAM channels first (index = channel), then gbuf ports (module doc)."""
    ic = arch.interconnect
    sides = edge_sides(arch.grid.rows, arch.grid.cols, ic.memory_edges)
    ports = _ports(arch)
    n, S = len(ports), len(sides)
    placed: dict[tuple[str, int], AttachPoint] = {}
    lb = ic.link_bytes_per_cycle
    for k, (kind, idx) in enumerate(ports):
        r, c, side = sides[min(S - 1, (2 * k + 1) * S // (2 * n))]
        if kind == "dram":
            bw, lanes = lb, 1
        else:
            bw = arch.gbuf.bytes_per_cycle
            lanes = max(1, bw // lb)
        placed[(kind, idx)] = AttachPoint(kind=kind, index=idx, row=r, col=c, side=side,
                                          link_bytes_per_cycle=bw, lanes=lanes)
    order = sorted(placed, key=lambda ki: (ki[0] != "dram", ki[1]))
    return tuple(placed[k] for k in order)
