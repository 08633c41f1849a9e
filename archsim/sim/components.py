"""SimPy hardware parts: SRAM buffers, LUT banks, the mesh, edge memory, action counters.

In:  one :class:`SimEnv` (SimPy environment + action counters + trace), the design point.
Out: components whose methods are SimPy generators (``yield from part.read(...)``); each
     transaction holds SimPy resources (ports, links, channels) for an analytic duration, so
     contention between transactions shows up as waiting.  Every component counts its actions
     as typed keys of the vocabulary in :mod:`archsim.sim.actions` (``ActionKey``; dotted
     ``tile3.ifmap_sram.read_bytes`` only when printed).

Durations (cycles): SRAM ``latency + ceil(bytes / bytes_per_cycle)``.  A transfer first
waits the pipelined latencies -- the edge memory's access latency and the head flit's
``hops * (hop + router latency)`` -- holding nothing (many requests can be in flight), then
holds every link of its XY path (wormhole) and, for edge-memory traffic, a global-buffer port
or a DRAM channel, for its serialisation time ``max(ceil(bytes / link_bytes),
ceil(port bytes / memory bandwidth))``, where a DRAM channel moves whole bursts (port bytes
= ``ceil(bytes / burst_bytes) * burst_bytes``, also the bytes counted; a gathered read -- a
strided conv's touched pixels -- rounds each of its contiguous runs).  Uncontended, a
transfer takes latency + hops + flits.  With ``ideal_memory`` all of these take zero time
(counted still).

Edge memory ports attach where :func:`archsim.design.edge.attach_points` puts them; a port's
edge link (and a global-buffer port behind it) carries ``lanes`` transfers at once, so a
64 B/cycle global-buffer port feeds four 16 B/cycle mesh transfers.  A *multicast*
(``interconnect.multicast``) holds the union of the XY routes to its destinations -- each
tree link once -- and the memory port once, for the same serialisation time as one transfer.
Every transaction acquires its links in one global order (:meth:`Mesh.rank`; dimension-
ordered routes are already in that order), so trees and routes cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import simpy

from archsim.design.arch import ArchConfig, SRAMConfig
from archsim.design.edge import AttachPoint
from archsim.mapping.regions import port_bytes as burst_port_bytes
from archsim.sim.actions import ActionKey, dram_channel, gbuf_port, link, mem_port

__all__ = ["SRAM", "EdgeMemory", "LUTBank", "Mesh", "Phase", "SimEnv"]

Phase = tuple[str, float, float]  # (cause, start, end)


def _ceil(a: float, b: float) -> int:
    return int(-(-a // b))


class SimEnv(simpy.Environment):
    """The one environment object carrying all simulation state: clock, counters, trace."""

    def __init__(self, trace: bool = False) -> None:
        super().__init__()
        self.events_processed = 0
        self.actions: defaultdict[ActionKey, int] = defaultdict(int)
        self.layer_actions: defaultdict[str, defaultdict[ActionKey, int]] = defaultdict(
            lambda: defaultdict(int))
        self.trace_on = trace
        self.trace: list[tuple[str, str, float]] = []

    def step(self) -> None:  # count every processed event
        self.events_processed += 1
        super().step()

    def count(self, key: ActionKey, n: int = 1, layer: str | None = None) -> None:
        """Add ``n`` to action ``key`` (and to the layer's own counts when given)."""
        if n:
            self.actions[key] += int(n)
            self.layer_actions[layer or "(setup)"][key] += int(n)

    def log(self, component: str, action: str) -> None:
        if self.trace_on:
            self.trace.append((component, action, self.now))


class SRAM:
    """A tile buffer: ``ports`` concurrent transactions of bytes_per_cycle each."""

    def __init__(self, env: SimEnv, name: str, kind: str, cfg: SRAMConfig, ideal: bool) -> None:
        self.env, self.name, self.cfg, self.ideal = env, name, cfg, ideal
        self.ports = simpy.Resource(env, capacity=cfg.ports)
        self.read_key = ActionKey(component=name, kind=kind, action="read_bytes")
        self.write_key = ActionKey(component=name, kind=kind, action="write_bytes")

    def cycles(self, nbytes: int) -> int:
        return self.cfg.latency_cycles + _ceil(nbytes, self.cfg.bytes_per_cycle)

    def access(self, nbytes: int, write: bool, phases: list[Phase] | None = None,
               layer: str | None = None) -> Iterator:
        self.env.count(self.write_key if write else self.read_key, nbytes, layer)
        if self.ideal or nbytes <= 0:
            return
        t0 = self.env.now
        with self.ports.request() as req:
            yield req
            self.env.log(self.name, "write" if write else "read")
            yield self.env.timeout(self.cycles(nbytes))
        if phases is not None:
            phases.append(("sram", t0, self.env.now))


class LUTBank:
    """A bank of look-up tables: ``read_ports`` ports; programming writes use a port too."""

    def __init__(self, env: SimEnv, name: str, read_ports: int, program_bytes_per_cycle: int,
                 ideal: bool) -> None:
        self.env, self.name = env, name
        self.ports = simpy.Resource(env, capacity=read_ports)
        self.lookup_key = ActionKey(component=name, kind="lut_bank", action="lookup")
        self.program_key = ActionKey(component=name, kind="lut_bank", action="program")
        self.program_bpc = program_bytes_per_cycle
        self.ideal = ideal

    def program(self, entries: int, word_bits: int, phases: list[Phase] | None = None,
                layer: str | None = None) -> Iterator:
        """Write ``entries`` table words through the programming port."""
        self.env.count(self.program_key, entries, layer)
        if entries <= 0:
            return
        t0 = self.env.now
        with self.ports.request() as req:
            yield req
            self.env.log(self.name, "program")
            yield self.env.timeout(_ceil(entries * _ceil(word_bits, 8), self.program_bpc))
        if phases is not None:
            phases.append(("lut_program", t0, self.env.now))


class Mesh:
    """rows x cols mesh, dimension-ordered routing (``interconnect.routing``), one link per
    direction between neighbours.

    Memory port i (``("mem", i)``) enters router (points[i].row, points[i].col) through its
    own edge link; tile index t = r * cols + c.
    """

    def __init__(self, env: SimEnv, arch: ArchConfig, points: tuple[AttachPoint, ...]) -> None:
        self.env = env
        self.rows, self.cols = arch.grid.rows, arch.grid.cols
        ic = arch.interconnect
        self.link_bytes = ic.link_bytes_per_cycle
        self.hop_cycles = ic.hop_latency_cycles + arch.tile.router.latency_cycles
        self.ideal = arch.ideal_memory
        self.points = points
        # dimension order: X then Y (``xy``), Y then X (``yx``), or along the grid's shorter
        # side first (``short_first``: a rows x cols grid routes as the mirror image of its
        # transpose, so the two perform alike)
        order = ic.routing
        if order == "short_first":
            order = "yx" if self.cols > self.rows else "xy"
        self.y_first = order == "yx"
        self.links: dict[str, simpy.Resource] = {}
        self._routes: dict[tuple, tuple[list[str], list[ActionKey]]] = {}
        self._trees: dict[tuple, tuple[list[str], list[ActionKey], int]] = {}
        self._port_names: list[tuple[str, str]] = []
        for p in points:
            name = mem_port if p.kind == "dram" else gbuf_port
            ends = (name(p.index, "in"), name(p.index, "out"))
            self._port_names.append(ends)
            for n in ends:
                self.links[n] = simpy.Resource(env, capacity=p.lanes)

    def _link(self, name: str) -> simpy.Resource:
        res = self.links.get(name)
        if res is None:
            res = self.links[name] = simpy.Resource(self.env, capacity=1)
        return res

    def _keys(self, names: list[str]) -> list[ActionKey]:
        return [ActionKey(component=n, kind="noc_link", action="flit_hop") for n in names]

    def _route(self, src, dst) -> tuple[list[str], list[ActionKey]]:
        """Cached (link names, action keys) of the XY route from src to dst."""
        hit = self._routes.get((src, dst))
        if hit is None:
            names = self.path(src, dst) if src != dst else []
            hit = self._routes[(src, dst)] = (names, self._keys(names))
        return hit

    def _at(self, node) -> tuple[int, int]:
        if isinstance(node, tuple):
            p = self.points[node[1]]
            return p.row, p.col
        return divmod(node, self.cols)

    def path(self, src, dst) -> list[str]:
        """Link names from src to dst (tile index or ("mem", i)), dimension-ordered: X first,
        then Y (Y first with ``yx`` routing)."""
        names: list[str] = []
        if isinstance(src, tuple):
            names.append(self._port_names[src[1]][0])
        r, c = self._at(src)
        dr, dc = self._at(dst)
        for dim in ("y", "x") if self.y_first else ("x", "y"):
            while dim == "x" and c != dc:
                step = 1 if dc > c else -1
                names.append(link(r, c, "E" if step > 0 else "W"))
                c += step
            while dim == "y" and r != dr:
                step = 1 if dr > r else -1
                names.append(link(r, c, "S" if step > 0 else "N"))
                r += step
        if isinstance(dst, tuple):
            names.append(self._port_names[dst[1]][1])
        return names

    def rank(self, name: str) -> tuple:
        """Global acquisition order of links: every XY route is increasing in it (memory
        in-links, then X links along their direction, then Y links, then memory out-links)."""
        if not name.startswith("noc.r"):
            return (0 if name.endswith(".in") else 3, 0, name)
        rc, d = name[5:].split(".")
        r, c = (int(v) for v in rc.split("c"))
        key = {"E": c, "W": self.cols - c, "S": r, "N": self.rows - r}[d]
        first = "NS" if self.y_first else "EW"
        return (1 if d in first else 2, key, name)

    def tree(self, src, dsts: tuple) -> tuple[list[str], list[ActionKey], int]:
        """Cached (links in rank order, their keys, deepest branch in hops) of the XY
        multicast tree from src to dsts: the union of the XY routes."""
        hit = self._trees.get((src, dsts))
        if hit is None:
            seen: set[str] = set()
            depth = 0
            for d in dsts:
                p = self.path(src, d) if src != d else []
                depth = max(depth, len(p))
                seen.update(p)
            names = sorted(seen, key=self.rank)
            hit = self._trees[(src, dsts)] = (names, self._keys(names), depth)
        return hit

    def transfer(self, src, dst, nbytes: int, phases: list[Phase] | None = None,
                 endpoint: tuple | None = None, layer: str | None = None,
                 marks: list | None = None) -> Iterator:
        """Move ``nbytes`` from src to dst holding every link of the path (wormhole).

        ``endpoint`` = (resource, latency_cycles, bytes_per_cycle, cause, port_bytes) is a
        memory port held for the same transaction, for ``port_bytes`` (DRAM: whole bursts);
        edge-memory reads and writes stream through the mesh.
        ``marks``: (fraction, event) pairs; each event fires when that fraction of the bytes
        has arrived (streaming: the first sub-block of a chunk's inputs).
        """
        if nbytes <= 0:
            return
        path, keys = self._route(src, dst)
        yield from self._hold(path, keys, len(path), nbytes, phases, endpoint, layer, marks)

    def multicast(self, src, dsts: tuple, nbytes: int, phases: list[Phase] | None = None,
                  endpoint: tuple | None = None, layer: str | None = None,
                  marks: list | None = None) -> Iterator:
        """Move ``nbytes`` from src to every tile of ``dsts`` at once along the XY tree."""
        if nbytes <= 0:
            return
        names, keys, depth = self.tree(src, dsts)
        yield from self._hold(names, keys, depth, nbytes, phases, endpoint, layer, marks)

    def _hold(self, path, keys, depth, nbytes, phases, endpoint, layer, marks) -> Iterator:
        flits = _ceil(nbytes, self.link_bytes)
        for key in keys:
            self.env.count(key, flits, layer)
        if self.ideal or (not path and endpoint is None):
            for _, ev in marks or ():
                ev.succeed()
            return
        hops = depth * self.hop_cycles
        t0 = self.env.now
        cause, lat, hold, res = "noc", 0, flits, None
        if endpoint is not None:
            res, lat, bpc, cause, port_bytes = endpoint
            hold = max(flits if path else 0, _ceil(port_bytes, bpc))
        if lat + hops:  # access latency and the head's hop latency are pipelined: they
            yield self.env.timeout(lat + hops)  # delay this transfer but hold nothing
        t_lat = self.env.now
        reqs = []
        try:
            if res is not None:
                req = res.request()
                reqs.append((res, req))
                yield req
            t_mem = self.env.now
            for name in path:
                link_ = self._link(name)
                req = link_.request()
                reqs.append((link_, req))
                yield req
            t1 = self.env.now
            done = 0
            for frac, ev in sorted(marks or (), key=lambda m: m[0]):
                at = min(hold, _ceil(hold * frac, 1))
                if at > done:
                    yield self.env.timeout(at - done)
                    done = at
                ev.succeed()
            yield self.env.timeout(hold - done)  # serialisation: the bandwidth all resources give
        finally:
            for r, req in reqs:
                r.release(req)
        if phases is not None:
            if t_lat > t0:
                phases.append((cause, t0, t_lat))
            if t_mem > t_lat:
                phases.append((f"{cause}_contention", t_lat, t_mem))
            if t1 > t_mem:
                phases.append(("noc_contention", t_mem, t1))
            phases.append((cause, t1, self.env.now))


class EdgeMemory:
    """The global buffer and DRAM channels at the mesh edge (attach points: design.edge).

    ``gbuf.attach: dram_channels``: global-buffer transfers use a DRAM channel's attach point
    (round-robin over channels, one counter for both kinds) and one of ``gbuf.ports`` ports;
    ``own_ports``: global-buffer port j is memory port ``channels + j`` of the mesh, carrying
    ``lanes`` transfers at ``bytes_per_cycle / lanes`` each (round-robin over ports).
    """

    def __init__(self, env: SimEnv, arch: ArchConfig, points: tuple[AttachPoint, ...]) -> None:
        self.env, self.arch = env, arch
        self.ideal = arch.ideal_memory
        nd = arch.dram.channels
        self.dram = [simpy.Resource(env, capacity=1) for _ in range(nd)]
        self.own = [p for p in points if p.kind == "gbuf"]
        if self.own:
            self.gbuf_ports = [simpy.Resource(env, capacity=p.lanes) for p in self.own]
        else:
            self.gbuf = simpy.Resource(env, capacity=arch.gbuf.ports)
        self._rr = 0
        self._rr_g = 0
        self._keys = {
            ("gbuf", w): ActionKey(component="gbuf", kind="gbuf",
                                   action="write_bytes" if w else "read_bytes")
            for w in (False, True)}
        for ch in range(nd):
            for w in (False, True):
                self._keys[(ch, w)] = ActionKey(component=dram_channel(ch), kind="dram",
                                                action="write_bytes" if w else "read_bytes")

    def channel(self) -> int:
        """Round-robin interleaving of requests over the DRAM channels (deterministic)."""
        ch = self._rr % len(self.dram)
        self._rr += 1
        return ch

    def access(self, where: str, nbytes: int, write: bool, layer: str | None = None,
               runs: tuple[tuple[int, int], ...] = ()) -> tuple[tuple, tuple]:
        """Count the access; return (mesh node of the port, endpoint to hold: (resource,
        latency, bytes per cycle of one transfer, cause, bytes the port moves)).  ``runs``:
        the contiguous runs of a gathered read ((bytes, count), ...; empty: one run of
        ``nbytes``), each moved by DRAM in whole bursts."""
        if where == "gbuf":
            self.env.count(self._keys[("gbuf", write)], nbytes, layer)
            g = self.arch.gbuf
            if self.own:
                j = self._rr_g % len(self.own)
                self._rr_g += 1
                p = self.own[j]
                node = ("mem", len(self.dram) + j)
                return node, (self.gbuf_ports[j], g.latency_cycles,
                              g.bytes_per_cycle / p.lanes, "gbuf", nbytes)
            return ("mem", self.channel()), (self.gbuf, g.latency_cycles, g.bytes_per_cycle,
                                             "gbuf", nbytes)
        ch = self.channel()
        d = self.arch.dram
        # DRAM moves whole bursts: a request of nbytes occupies the channel, and is priced,
        # for ceil(nbytes / burst_bytes) bursts (the extra bytes are read and dropped); a
        # gathered read, for the bursts of each of its contiguous runs (one latency)
        moved = burst_port_bytes(nbytes, runs, d.burst_bytes)
        self.env.count(self._keys[(ch, write)], moved, layer)
        return ("mem", ch), (self.dram[ch], d.latency_cycles, d.bytes_per_cycle_per_channel,
                             "dram", moved)
