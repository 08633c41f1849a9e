"""Analytic lower bounds on a mapped run's latency, and which one binds.

In:  a :class:`~archsim.mapping.schedule.Schedule` and its design point.
Out: a frozen :class:`Bounds`: ``cycles`` (bound name -> cycles, each a latency no run of
     this schedule on this design point can beat, up to the approximations named below) and
     ``binding`` (the largest).  ``as_dict()`` is what ``summary.json["bounds"]`` holds.

The bounds (docs/model.md, "Bounds"):

- ``compute``: the busiest tile's summed chunk compute cycles (the mapping's imbalance
  included; the chip-wide ``executed MACs x cycles/MAC / PEs`` is ``SimOutcome.
  compute_bound_cycles``).
- ``dram``: bytes read from and written to DRAM (a multicast read once) over all channels'
  bandwidth.  ``gbuf``: global-buffer bytes over ``ports x bytes_per_cycle``.
- ``edge_links``: edge-memory bytes over the edge links they use (DRAM channels' links;
  the global buffer's own links with ``gbuf.attach: own_ports``), each attach router capped
  at what its mesh links and tile port can forward; reads and writes (opposite link
  directions) each on their own.
- ``mesh_bisection``: bytes crossing the middle column cut (or row cut), per direction, over
  its links.  Tile-to-tile bytes are exact; an edge-memory transfer crosses with the share of
  that memory's attach points on the other side (requests are interleaved round-robin) -- an
  expected value, not a strict bound.
- ``tile_port``: the busiest tile's received bytes over one link (its fetch unit moves one
  input stream at a time, plus one weight stream with ``tile.fetch.weight_prefetch``).
- ``dependency_chain``: the longest path through the task graph with every transfer
  uncontended: a task's compute starts after its producers finished, its first chunk's
  inputs arrived (memory latency + hops + serialisation, only the first sub-block when
  streaming; weights too unless prefetched) and its tile finished its previous task's
  compute; it finishes after its compute and its last output write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archsim.design.arch import ArchConfig
from archsim.design.edge import attach_points
from archsim.mapping.schedule import Schedule

__all__ = ["Bounds", "bounds"]


def _ceil(a: float, b: float) -> int:
    return int(-(-a // b))


@dataclass(frozen=True, kw_only=True)
class Bounds:
    cycles: dict[str, float]
    binding: str

    @property
    def binding_cycles(self) -> float:
        return self.cycles[self.binding]

    def as_dict(self) -> dict[str, Any]:
        return {"cycles": dict(self.cycles), "binding": self.binding,
                "binding_cycles": self.binding_cycles}


def bounds(sched: Schedule, arch: ArchConfig) -> Bounds:
    """The analytic lower bounds of running ``sched`` on ``arch`` (module doc)."""
    rows, cols = arch.grid.rows, arch.grid.cols
    ic = arch.interconnect
    lb = ic.link_bytes_per_cycle
    hop = ic.hop_latency_cycles + arch.tile.router.latency_cycles
    f = arch.tile.fetch
    pts = attach_points(arch)
    own = any(p.kind == "gbuf" for p in pts)
    by_kind = {"dram": [p for p in pts if p.kind == "dram"],
               "gbuf": [p for p in pts if p.kind == "gbuf"] or [p for p in pts
                                                                if p.kind == "dram"]}
    lat = {"dram": arch.dram.latency_cycles, "gbuf": arch.gbuf.latency_cycles}
    ideal = arch.ideal_memory

    def dist(kind: str, tile: int) -> int:
        r, c = divmod(tile, cols)
        return 1 + min(abs(p.row - r) + abs(p.col - c) for p in by_kind[kind])

    def side(p_r, p_c):
        return (p_c >= cols / 2, p_r >= rows / 2)

    # memory side shares per cut: (fraction of kind's points east of the column cut, south)
    share = {k: (sum(p.col >= cols / 2 for p in v) / len(v), sum(p.row >= rows / 2 for p in v)
                 / len(v)) for k, v in by_kind.items()}
    mem = {"dram": 0, "gbuf": 0}
    written = {"dram": 0, "gbuf": 0}
    per_tile_in: dict[int, int] = {}
    per_tile_w: dict[int, int] = {}
    busy: dict[int, int] = {}
    cross = {"E": 0.0, "W": 0.0, "S": 0.0, "N": 0.0}
    seen_groups: set[int] = set()

    def cut(kind_or_src, dst_tile: int, nbytes: float, members=None) -> None:
        """Add bytes crossing the two cuts from a source (memory kind or tile) to tiles."""
        dsts = members or (dst_tile,)
        if isinstance(kind_or_src, str):
            fe, fs = share[kind_or_src]
            east = [d % cols >= cols / 2 for d in dsts]
            south = [d // cols >= rows / 2 for d in dsts]
            if cols > 1:
                cross["E"] += nbytes * (1 - fe) * any(east)
                cross["W"] += nbytes * fe * (not all(east))
            if rows > 1:
                cross["S"] += nbytes * (1 - fs) * any(south)
                cross["N"] += nbytes * fs * (not all(south))
        else:
            sr, sc = divmod(kind_or_src, cols)
            dr, dc = divmod(dst_tile, cols)
            if (sc >= cols / 2) != (dc >= cols / 2):
                cross["E" if dc > sc else "W"] += nbytes
            if (sr >= rows / 2) != (dr >= rows / 2):
                cross["S" if dr > sr else "N"] += nbytes

    for t in sched.tasks:
        for c in t.chunks:
            # fold pipelining: a chunk after the tile's first may hide its fill
            hide = c.fill_cycles if t.tile in busy else 0
            busy[t.tile] = busy.get(t.tile, 0) + c.compute_cycles - hide
            for s in c.sources:
                per_tile_in[t.tile] = per_tile_in.get(t.tile, 0) + s.nbytes
                if s.tile is not None:
                    cut(s.tile, t.tile, s.nbytes)
                    continue
                if s.group is not None:
                    if s.group in seen_groups:
                        continue
                    seen_groups.add(s.group)
                    cut(s.memory, t.tile, s.nbytes, sched.multicast[s.group])
                else:
                    cut(s.memory, t.tile, s.nbytes)
                mem[s.memory] += s.nbytes
            if c.weight_bytes:
                per_tile_w[t.tile] = per_tile_w.get(t.tile, 0) + c.weight_bytes
                if c.weight_group is None or c.weight_group not in seen_groups:
                    if c.weight_group is not None:
                        seen_groups.add(c.weight_group)
                        cut("dram", t.tile, c.weight_bytes, sched.multicast[c.weight_group])
                    else:
                        cut("dram", t.tile, c.weight_bytes)
                    mem["dram"] += c.weight_bytes
            if t.out_home in mem:
                mem[t.out_home] += c.ofmap_bytes
                written[t.out_home] += c.ofmap_bytes
                fe, fs = share[t.out_home]
                r, cc = divmod(t.tile, cols)
                if cols > 1:
                    cross["W" if cc >= cols / 2 else "E"] += c.ofmap_bytes * (
                        (1 - fe) if cc >= cols / 2 else fe)
                if rows > 1:
                    cross["N" if r >= rows / 2 else "S"] += c.ofmap_bytes * (
                        (1 - fs) if r >= rows / 2 else fs)

    out: dict[str, float] = {"compute": float(max(busy.values(), default=0))}
    if not ideal:
        d, g = arch.dram, arch.gbuf
        out["dram"] = mem["dram"] / (d.channels * d.bytes_per_cycle_per_channel)
        out["gbuf"] = mem["gbuf"] / (g.ports * g.bytes_per_cycle)
        # edge links: per attach router, what its edge links bring and its ports can forward
        routers: dict[tuple[int, int], float] = {}
        for p in pts:
            routers[(p.row, p.col)] = routers.get((p.row, p.col), 0) + p.link_bytes_per_cycle
        cap = 0.0
        for (r, c), bw in routers.items():
            degree = (r > 0) + (r < rows - 1) + (c > 0) + (c < cols - 1) + 1  # + tile port
            cap += min(bw, degree * lb)
        wr = written["dram"] + written["gbuf"]
        edge = max(mem["dram"] + mem["gbuf"] - wr, wr) / cap  # each direction on its own
        if own:  # DRAM bytes only on the channels' links
            dw = written["dram"]
            edge = max(edge, max(mem["dram"] - dw, dw)
                       / sum(p.link_bytes_per_cycle for p in by_kind["dram"]))
        out["edge_links"] = edge
        bis = 0.0
        if cols > 1:
            bis = max(bis, cross["E"] / (rows * lb), cross["W"] / (rows * lb))
        if rows > 1:
            bis = max(bis, cross["S"] / (cols * lb), cross["N"] / (cols * lb))
        out["mesh_bisection"] = bis
        streams = 2 if f.weight_prefetch else 1
        out["tile_port"] = max(
            ((per_tile_in.get(i, 0) + per_tile_w.get(i, 0)) / (lb * streams)
             if streams == 1 else max(per_tile_in.get(i, 0), per_tile_w.get(i, 0)) / lb)
            for i in range(arch.n_tiles))
    out["dependency_chain"] = _chain(sched, arch, dist, lat, lb, hop, ideal)
    binding = max(out, key=lambda k: (out[k], k == "compute"))
    return Bounds(cycles=out, binding=binding)


def _chain(sched: Schedule, arch: ArchConfig, dist, lat, lb, hop, ideal) -> float:
    """Longest uncontended path through the tasks (module doc)."""
    f = arch.tile.fetch
    finish: dict[int, float] = {}
    tile_free: dict[int, float] = {}
    hop_ofmap = arch.tile.sram.ofmap.latency_cycles

    def xfer(kind: str, tile: int, nbytes: int, part: int = 1) -> float:
        if ideal or nbytes <= 0:
            return 0.0
        return lat[kind] + dist(kind, tile) * hop + _ceil(_ceil(nbytes, part), lb)

    best = 0.0
    for t in sched.tasks:
        ready = max((finish[d] for d in t.deps), default=0.0)
        c0 = t.chunks[0]
        pieces = 1
        if f.streaming:
            pieces = max(1, min(f.sub_blocks, c0.folds)) if c0.folds else f.sub_blocks
        fetch = 0.0
        for i, s in enumerate(c0.sources):
            part = pieces if (f.streaming and i == 0) else 1
            if s.tile is None:
                fetch += xfer(s.memory, t.tile, s.nbytes, part)
            elif not ideal:
                fetch += hop_ofmap + _ceil(_ceil(s.nbytes, part), lb)
            if f.streaming:
                break
        if c0.weight_bytes and f.streaming and f.weight_streaming:
            # beside the inputs; compute starts on the first piece of each
            fetch = max(fetch, 0.0 if f.weight_prefetch
                        else xfer("dram", t.tile, c0.weight_bytes, pieces))
        elif c0.weight_bytes and not f.weight_prefetch:
            fetch += xfer("dram", t.tile, c0.weight_bytes)
        start = max(ready + fetch, tile_free.get(t.tile, 0.0))
        # fold pipelining: every chunk but the tile's very first may hide its fill
        end = start + sum(c.compute_cycles - (c.fill_cycles if (i or t.tile in tile_free)
                                              else 0) for i, c in enumerate(t.chunks))
        tile_free[t.tile] = end
        last = t.chunks[-1]
        done = end + (xfer(t.out_home, t.tile, last.ofmap_bytes) if t.out_home != "tile" else 0)
        finish[t.id] = done
        best = max(best, done)
    return best
