"""One tile: its buffers, LUT banks and the controller processes that run its tasks.

In:  the shared :class:`~archsim.sim.components.SimEnv`, the fabric (mesh + edge memory), the
     tile's tasks in issue order and the per-task completion events of the whole chip.
Out: SimPy processes that run the tasks and record, per chunk, compute start/end, stalls by
     cause (attributed from the fetch timeline) into a :class:`TileRecord`.

The tile controller is three processes joined by buffer slots (a fetch -> compute -> write
pipeline): *fetch* waits for a task's producers (the global controller's completion events),
then per chunk gathers inputs (edge memory or producer tiles over the mesh), weights (DRAM)
and LUT contents into the tile buffers; *compute* holds the PE array for the chunk's analytic
cycles; *write* stores outputs (own output buffer, or edge memory through the mesh).  With
double-buffered input/output buffers fetch and write overlap compute by one chunk.

Buffer space (:func:`buffer_holds`): the input buffer has two slots (halves) when
double-buffered, else one; a chunk takes one from its fetch to its compute end, or -- its
layer planned ``input_buffer: single`` on a double-buffered buffer -- both, held until the
compute end of the last following chunk that re-uses its input (``keep_inputs``: those take
none).  The weight buffer likewise: a weight set (a chunk that fetches weights) takes one
half (``weight_buffer: double``) or the whole buffer (``single``, or a buffer that is not
double-buffered) until the chunk before the next weight fetch on the tile has computed; a
weight fetch waits for its space.  The output buffer has two slots when double-buffered, else
one; a chunk takes one before its compute starts and the write process returns it after the
chunk's write-back, or -- its layer planned ``output_buffer: single`` on a double-buffered
buffer -- both (its compute waits until the previous chunk's outputs are written back, the
next chunk's compute until its own are).  Outputs that stay in the tile (``out_home`` tile:
pipelined groups, split-K partial sums) are not written back: their chunk takes one slot,
returned as soon as it has computed, whatever the plan says -- the space they keep until read
is the mapper's residence rule (``schedule``), not a slot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import simpy

from archsim.design.arch import ArchConfig
from archsim.mapping.layer import outputs_at_end, stream_pieces
from archsim.mapping.schedule import Chunk, Task
from archsim.pe.organisation import effective_ops, effective_tables
from archsim.sim.actions import ActionKey, tile_part
from archsim.sim.components import SRAM, EdgeMemory, LUTBank, Mesh, Phase, SimEnv

__all__ = ["Chip", "Hold", "LayerRecord", "McGroup", "Tile", "TileRecord", "buffer_holds"]


@dataclass
class LayerRecord:
    """What one tile saw of one layer (merged over tiles by the engine)."""

    start: float = float("inf")
    end: float = 0.0
    compute_cycles: int = 0
    macs_executed: int = 0
    macs_dense: int = 0
    pe_slots: int = 0
    fill_hidden_cycles: int = 0  # fold pipelining: fill overlapped with the previous chunk
    stalls: defaultdict = field(default_factory=lambda: defaultdict(float))


@dataclass
class TileRecord:
    """A tile's own running record; only the tile writes it, the engine reads it after the run."""

    busy_cycles: int = 0
    macs_executed: int = 0
    macs_dense: int = 0
    tasks: int = 0
    last_end: float = 0.0
    stalls: defaultdict = field(default_factory=lambda: defaultdict(float))
    layers: dict[str, LayerRecord] = field(default_factory=dict)

    def layer(self, node: str) -> LayerRecord:
        rec = self.layers.get(node)
        if rec is None:
            rec = self.layers[node] = LayerRecord()
        return rec


@dataclass(frozen=True, kw_only=True)
class Chip:
    """What every tile shares: the environment, design point, fabric and completion events.

    ``tiles`` is filled as tiles are built (a tile reads a producer tile's output buffer
    through it); nothing else in it changes during a run.
    """

    env: SimEnv
    arch: ArchConfig
    mesh: Mesh
    mem: EdgeMemory
    pe: Any  # the PE kind (archsim.pe.PEKind)
    done: dict[int, simpy.Event]  # task id -> completion event
    program_run: bool  # some chunk reprograms tables: look-up ports are contended
    compute_fn: Callable[[Task, Chunk], None] | None  # functional mode's integer work
    tiles: dict[int, Tile] = field(default_factory=dict)
    groups: dict[int, McGroup] = field(default_factory=dict)  # multicast group id -> state


@dataclass(kw_only=True)
class McGroup:
    """A multicast group's meeting state: who it delivers to, who has arrived, the transfer."""

    members: tuple[int, ...]
    event: simpy.Event
    arrived: int = 0
    start: float = 0.0
    marks: list = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Hold:
    """Buffer slots one chunk takes at its fetch and gives back at its compute end; ``out``:
    output slots it takes before its compute and gives back after its write-back."""

    in_get: int
    in_put: int
    w_get: int
    w_put: int
    out: int = 1


def buffer_holds(arch: ArchConfig, tasks: list[Task]) -> dict[int, list[Hold]]:
    """``{task id: [Hold per chunk]}`` for one tile's tasks in issue order (module doc).  No
    hold exceeds the slots the buffer has: two halves when double-buffered, else one.

    Weight holds are left out (0) when they cannot bind: a double-buffered weight buffer used
    ``double`` by every task while every chunk holds an input slot until its compute end
    (no ``single`` input buffer) -- a chunk's fetch then starts after every chunk but the
    previous one has computed, so the weight set before the previous one is gone already."""
    sr = arch.tile.sram
    in_n = 2 if sr.ifmap.double_buffered else 1
    w_n = 2 if sr.weight.double_buffered else 1
    out_n = 2 if sr.ofmap.double_buffered else 1
    w_bind = w_n == 1 or any(t.weight_buffer == "single"
                             or (in_n == 2 and t.input_buffer == "single") for t in tasks)
    keys = [(task, ci) for task in tasks for ci in range(len(task.chunks))]
    in_get: dict[tuple, int] = {}
    w_get: dict[tuple, int] = {}
    in_put: dict[tuple, int] = defaultdict(int)
    w_put: dict[tuple, int] = defaultdict(int)
    in_open = w_open = 0  # slots held by the open single input set / the open weight set
    prev = None
    for task, ci in keys:
        k = (task.id, ci)
        chunk = task.chunks[ci]
        single_in = in_n == 2 and task.input_buffer == "single"
        if single_in and in_open and not chunk.sources:
            in_get[k] = 0  # re-uses the open set's input: no new space
        else:
            if in_open:
                in_put[prev] += in_open
                in_open = 0
            if single_in:
                in_get[k] = in_open = in_n
            else:
                in_get[k] = 1
                in_put[k] += 1
        w_get[k] = 0
        if chunk.weight_bytes and w_bind:
            if w_open:
                w_put[prev] += w_open
            w_get[k] = w_open = w_n if task.weight_buffer == "single" else 1
        prev = k
    if prev is not None:
        in_put[prev] += in_open
        w_put[prev] += w_open
    out = {task.id: out_n if (task.output_buffer == "single" and task.out_home != "tile")
           else 1 for task in tasks}
    return {task.id: [Hold(in_get=in_get[(task.id, ci)], in_put=in_put[(task.id, ci)],
                           w_get=w_get[(task.id, ci)], w_put=w_put[(task.id, ci)],
                           out=out[task.id])
                      for ci in range(len(task.chunks))] for task in tasks}


def _attribute(idle0: float, idle1: float, phases: list[Phase]) -> dict[str, float]:
    """Split an idle interval of the PE array over the fetch phases that overlap it."""
    out: dict[str, float] = defaultdict(float)
    covered = 0.0
    for cause, s, e in phases:
        ov = min(e, idle1) - max(s, idle0)
        if ov > 0:
            out[cause] += ov
            covered += ov
    rest = (idle1 - idle0) - covered
    if rest > 1e-9:
        out["other"] += rest
    return out


class Tile:
    """Tile ``index`` of ``chip``, running ``tasks`` in issue order (registers itself in chip)."""

    def __init__(self, chip: Chip, index: int, tasks: list[Task]) -> None:
        env, arch, pe = chip.env, chip.arch, chip.pe
        self.chip = chip
        self.env, self.arch, self.index, self.tasks = env, arch, index, tasks
        self.done, self.mesh, self.mem, self.pe = chip.done, chip.mesh, chip.mem, pe
        self.compute_fn = chip.compute_fn
        program_run = chip.program_run
        t = arch.tile
        ideal = arch.ideal_memory
        self.name = f"tile{index}"
        self.ifmap = SRAM(env, tile_part(index, "ifmap_sram"), "ifmap_sram", t.sram.ifmap, ideal)
        self.weight = SRAM(env, tile_part(index, "weight_sram"), "weight_sram", t.sram.weight,
                           ideal)
        self.ofmap = SRAM(env, tile_part(index, "ofmap_sram"), "ofmap_sram", t.sram.ofmap, ideal)
        self.sram = {"ifmap": self.ifmap, "weight": self.weight, "ofmap": self.ofmap}
        org = t.lut_banks.organisation
        tabs = effective_tables(pe, org)
        self.lut_word_bits = tabs.word_bits
        self.banks = [
            LUTBank(env, tile_part(index, f"lut_bank{b}"), t.lut_banks.read_ports,
                    t.lut_banks.program_bytes_per_cycle, ideal)
            for b in range(t.lut_banks.count if tabs.n_tables else 0)
        ]
        lb = t.lut_banks
        pes = t.pe_array.rows * t.pe_array.cols
        self.initial_entries = (
            tabs.n_tables * tabs.entries * -(-pes // lb.pes_per_table)
            if (self.banks and org == "product") else 0
        )
        self.program_run = program_run  # some chunk reprograms tables: ports are contended
        self.ops = effective_ops(pe, org)
        # per-layer input sign -> operations per MAC (signed LUT-NA layers add a sign XOR)
        self.ops_by_sign = {s: effective_ops(pe, org, s) for s in (False, True)}
        pe_name = tile_part(index, "pe_array")
        self.pe_keys = {a: ActionKey(component=pe_name, kind="pe_array", action=a)
                        for a in ("mac", "mult", "add", "shift", "sign", "shadow_load")}
        self.vector_key = ActionKey(component=tile_part(index, "vector"), kind="vector",
                                    action="op")
        self.gating = t.sparsity.zero_gating
        self.gate_key = ActionKey(component=tile_part(index, "zero_gate"), kind="zero_gate",
                                  action="check")
        self.select_key = ActionKey(component=tile_part(index, "gather_net"),
                                    kind="gather_net", action="select")
        self.decode_key = ActionKey(component=tile_part(index, "meta_decode"),
                                    kind="meta_decode", action="decode")
        self.rec = TileRecord()
        self.in_slots = simpy.Container(env, capacity=2,
                                        init=2 if t.sram.ifmap.double_buffered else 1)
        self.out_slots = simpy.Container(env, capacity=2,
                                         init=2 if t.sram.ofmap.double_buffered else 1)
        w_n = 2 if t.sram.weight.double_buffered else 1
        self.w_slots = simpy.Container(env, capacity=w_n, init=w_n)
        self.holds = buffer_holds(arch, tasks)
        self.ready = simpy.Store(env)
        self.to_write = simpy.Store(env)
        # fold pipelining: when the array's previous chunk ended, its hideable drain, and
        # when the write process last freed an output slot (docs/model.md "Fold pipelining")
        self.array_end: float | None = None
        self.array_fill = 0
        self.out_freed_at = 0.0
        chip.tiles[index] = self
        env.process(self._fetch())
        env.process(self._compute())
        env.process(self._write())

    # ---- fetch ------------------------------------------------------------------------------
    def _fetch(self):
        env = self.env
        setup: list[Phase] = []
        if self.banks and self.initial_entries:
            # product tables are loaded once, before the first task
            yield from self._program_banks(self.initial_entries, setup, None)
        f = self.arch.tile.fetch
        for ti, task in enumerate(self.tasks):
            L = task.node
            dep_phase = None
            if not f.weight_prefetch:
                dep_phase = yield from self._wait_deps(task)
            holds = self.holds[task.id]
            for ci, chunk in enumerate(task.chunks):
                hold = holds[ci]
                if hold.in_get:
                    yield self.in_slots.get(hold.in_get)
                phases: list[Phase] = [dep_phase] if (dep_phase and ci == 0) else []
                if ti == 0 and ci == 0:
                    phases += setup
                wproc = None
                # weight streaming: compute starts on the weights' first sub-block
                wfirst = env.event() if (f.streaming and f.weight_streaming) else None
                if f.weight_prefetch:  # weights into the free half, before the producers finish
                    wproc = env.process(self._weights(chunk, phases, L, wfirst, hold.w_get))
                    if ci == 0:
                        dep = yield from self._wait_deps(task)
                        if dep:
                            phases.append(dep)
                last = ci == len(task.chunks) - 1
                if not f.streaming:
                    yield from self._inputs(chunk, phases, L, None)
                    if wproc is not None:
                        yield wproc
                    else:
                        yield from self._weights(chunk, phases, L, space=hold.w_get)
                    # every operand of the chunk is in its buffers now
                    yield self.ready.put((task, chunk, phases, last, None, None, [env.now],
                                          hold))
                    continue
                if wproc is None and wfirst is not None:  # beside the inputs
                    wproc = env.process(self._weights(chunk, phases, L, wfirst, hold.w_get))
                elif wproc is None:  # all of the chunk's weights before compute can start
                    yield from self._weights(chunk, phases, L, space=hold.w_get)
                first, fetched = env.event(), env.event()
                start = (first if wproc is None
                         else env.all_of([wfirst if wfirst is not None else wproc, first]))
                ready_at: list[float] = []  # when the chunk can start (its first sub-block)
                start.callbacks.append(lambda _ev, at=ready_at: at.append(env.now))
                yield self.ready.put((task, chunk, phases, last, start, fetched, ready_at,
                                      hold))
                yield from self._inputs(chunk, phases, L, first)
                if wproc is not None:
                    yield wproc
                fetched.succeed()

    def _wait_deps(self, task: Task):
        """Wait for the task's producers; the dependency phase, or None."""
        t0 = self.env.now
        deps = [self.done[d] for d in task.deps if not self.done[d].triggered]
        if deps:
            yield self.env.all_of(deps)
        return ("dependency", t0, self.env.now) if self.env.now > t0 else None

    def _sub_blocks(self, chunk: Chunk) -> int:
        """Streamed pieces of a chunk: at most its folds (a fold needs all of its operands)."""
        s = self.arch.tile.fetch.sub_blocks
        return max(1, min(s, chunk.folds)) if chunk.folds else s

    def _inputs(self, chunk: Chunk, phases: list[Phase], L: str, first):
        """Input sources over the mesh into the ifmap buffer; ``first`` (streaming) fires
        when the first of the chunk's sub-blocks has arrived."""
        in_bytes = 0
        total = sum(src.nbytes for src in chunk.sources)
        need = -(-total // self._sub_blocks(chunk)) if first is not None else 0
        for src in chunk.sources:
            marks = None
            if first is not None and in_bytes < need <= in_bytes + src.nbytes:
                marks = [((need - in_bytes) / src.nbytes, first)]
            in_bytes += src.nbytes
            if src.tile is None:
                if src.group is not None:
                    yield from self._multicast(src.group, src.memory, src.nbytes, phases, L,
                                               marks, src.runs)
                else:
                    node, ep = self.mem.access(src.memory, src.nbytes, False, L, src.runs)
                    yield from self.mesh.transfer(node, self.index, src.nbytes, phases,
                                                  endpoint=ep, layer=L, marks=marks)
            else:
                peer = self.chip.tiles[src.tile]
                self.env.count(peer.ofmap.read_key, src.nbytes, L)
                ep = None
                if not self.arch.ideal_memory:
                    cfg = peer.ofmap.cfg
                    ep = (peer.ofmap.ports, cfg.latency_cycles, cfg.bytes_per_cycle, "noc",
                          src.nbytes)
                yield from self.mesh.transfer(src.tile, self.index, src.nbytes, phases,
                                              endpoint=ep, layer=L, marks=marks)
        if first is not None and not first.triggered:
            first.succeed()  # no input bytes: compute waits for the weights only
        yield from self.ifmap.access(in_bytes, True, phases, L)

    def _weights(self, chunk: Chunk, phases: list[Phase], L: str, first=None,
                 space: int = 0):
        """The chunk's weights from DRAM into the weight buffer (once ``space`` weight slots
        are free), then table programming; ``first`` (weight streaming) fires when the first
        of the chunk's sub-blocks has arrived (after the table programming when the chunk
        programs tables)."""
        if space:
            ev = self.w_slots.get(space)
            if not ev.triggered:  # a free slot is taken at once, without a scheduling step
                yield ev
        marks = None
        if first is not None and chunk.weight_bytes and not (chunk.program_entries
                                                             and self.banks):
            marks = [(1.0 / self._sub_blocks(chunk), first)]
        if chunk.weight_bytes:
            if chunk.weight_group is not None:
                yield from self._multicast(chunk.weight_group, "dram", chunk.weight_bytes,
                                           phases, L, marks)
            elif marks is not None and len(pieces := stream_pieces(
                    self.arch, chunk.weight_bytes, self._sub_blocks(chunk))) > 1:
                yield from self._stream_pieces(pieces, phases, L, first)
            else:
                node, ep = self.mem.access("dram", chunk.weight_bytes, False, L)
                yield from self.mesh.transfer(node, self.index, chunk.weight_bytes, phases,
                                              endpoint=ep, layer=L, marks=marks)
            yield from self.weight.access(chunk.weight_bytes, True, phases, L)
        if chunk.program_entries and self.banks:
            yield from self._program_banks(chunk.program_entries, phases, L)
        if first is not None and not first.triggered:
            first.succeed()  # weights resident, or tables programmed: nothing more to wait for

    def _stream_pieces(self, pieces: list[int], phases: list[Phase], L: str, first):
        """Weight streaming from DRAM: the chunk's weights as ``pieces`` (sub-blocks in whole
        bursts and link flits, :func:`~archsim.mapping.layer.stream_pieces`), each its own
        request; piece i+1 is requested when piece i starts to move, so a concurrent input
        request is served between them (consumption order) instead of after all the
        weights. ``first`` fires when the first piece is in."""
        env = self.env
        procs, started = [], None
        for i, nb in enumerate(pieces):
            if started is not None and not started.triggered:
                yield started
            started = env.event()
            marks = [(0.0, started)] + ([(1.0, first)] if i == 0 else [])
            node, ep = self.mem.access("dram", nb, False, L)
            procs.append(env.process(self.mesh.transfer(node, self.index, nb, phases,
                                                        endpoint=ep, layer=L, marks=marks)))
        yield env.all_of(procs)

    def _multicast(self, gid: int, where: str, nbytes: int, phases: list[Phase], L: str,
                   marks: list | None, runs: tuple[tuple[int, int], ...] = ()):
        """Join multicast group ``gid``: the last member to arrive reads the memory once (as
        ``runs``, see :meth:`EdgeMemory.access`) and sends the bytes along the XY tree to all
        members; the others wait for it."""
        g = self.chip.groups[gid]
        g.marks += marks or []
        g.arrived += 1
        t0 = self.env.now
        if g.arrived < len(g.members):
            yield g.event
            if g.start > t0:
                phases.append(("multicast_sync", t0, g.start))
            phases.extend(g.phases)
            return
        g.start = t0
        node, ep = self.mem.access(where, nbytes, False, L, runs)
        yield from self.mesh.multicast(node, g.members, nbytes, g.phases, endpoint=ep,
                                       layer=L, marks=g.marks)
        phases.extend(g.phases)
        g.event.succeed()

    def _program_banks(self, entries: int, phases: list[Phase], layer: str | None):
        """Write ``entries`` table words spread over all banks, the banks in parallel."""
        per = -(-entries // len(self.banks))
        if len(self.banks) == 1:
            yield from self.banks[0].program(per, self.lut_word_bits, phases, layer)
            return
        local: list[Phase] = []
        procs = [self.env.process(b.program(per, self.lut_word_bits, local, layer))
                 for b in self.banks]
        yield self.env.all_of(procs)
        if local:  # one phase for the parallel writes, so stalls are not counted per bank
            phases.append(("lut_program", min(p[1] for p in local), max(p[2] for p in local)))

    # ---- compute ----------------------------------------------------------------------------
    def _compute(self):
        env = self.env
        rec = self.rec
        while True:
            idle0 = env.now
            task, chunk, phases, last, start, fetched, ready_at, hold = yield self.ready.get()
            if start is not None and not start.triggered:
                yield start
            idle1 = env.now
            if fetched is None:
                self._stall(task, _attribute(idle0, idle1, phases))
            w0 = env.now
            yield self.out_slots.get(hold.out)
            if env.now > w0:
                self._stall(task, {"write_back": env.now - w0})
            reqs = []
            if self.program_run and chunk.macs_executed:
                b0 = env.now
                for bank in self.banks:
                    req = bank.ports.request()
                    reqs.append((bank, req))
                    yield req
                if env.now > b0:  # look-up ports busy with table programming
                    self._stall(task, {"lut_program": env.now - b0})
            if chunk.compute_cycles and not self.arch.ideal_memory:
                # the array streams its operands from the ifmap and weight buffers for the
                # whole chunk, holding one port of each (a 1-port buffer cannot take the
                # next chunk's fetch meanwhile)
                s0 = env.now
                for buf in (self.ifmap, self.weight):
                    req = buf.ports.request()
                    reqs.append((buf, req))
                    yield req
                if env.now > s0:
                    self._stall(task, {"sram": env.now - s0})
            hidden = self._hidden_fill(chunk, ready_at)
            cycles = chunk.compute_cycles - hidden  # what the array spends on this chunk
            env.log(self.name, f"compute {task.node}")
            early = self._early_writes(task, chunk, cycles)
            ls = self.rec.layer(task.node)
            ls.start = min(ls.start, env.now)
            ls.compute_cycles += cycles
            ls.fill_hidden_cycles += hidden
            ls.macs_executed += chunk.macs_executed
            ls.macs_dense += chunk.macs_dense
            ls.pe_slots += chunk.pe_slots
            if fetched is None:
                if cycles:
                    yield env.timeout(cycles)
            else:  # streaming: the last sub-block's compute waits for its arrival
                tail = min(cycles, chunk.compute_cycles // self._sub_blocks(chunk))
                if cycles - tail:
                    yield env.timeout(cycles - tail)
                s0 = env.now
                if not fetched.triggered:
                    yield fetched
                # phases are complete now: attribute the wait for the first and last pieces
                self._stall(task, _attribute(idle0, idle1, phases))
                if env.now > s0:
                    self._stall(task, _attribute(s0, env.now, phases))
                if tail:
                    yield env.timeout(tail)
            if chunk.sram_stall_cycles:  # operand buffers slower than the array
                yield env.timeout(chunk.sram_stall_cycles)
                self._stall(task, {"sram_bandwidth": chunk.sram_stall_cycles})
            for part, req in reqs:
                part.ports.release(req)
            self._count_compute(chunk, task.node, self.ops_by_sign[task.act_signed])
            if self.compute_fn is not None:
                self.compute_fn(task, chunk)
            rec.busy_cycles += cycles
            rec.macs_executed += chunk.macs_executed
            rec.macs_dense += chunk.macs_dense
            rec.last_end = env.now
            self.array_end, self.array_fill = env.now, chunk.fill_cycles
            if hold.w_put:  # the weight set's last user: its space is free
                self.w_slots.put(hold.w_put)
            if hold.in_put:
                yield self.in_slots.put(hold.in_put)
            yield self.to_write.put((task, chunk, last, early, hold.out))

    def _early_writes(self, task: Task, chunk: Chunk, cycles: int):
        """Write streaming (``tile.fetch.write_streaming``): a process writing the chunk's
        output pieces but the last (:func:`~archsim.mapping.layer.stream_pieces` sizes: whole
        bursts and flits) to the edge memory as the compute completes them -- piece i at
        i / S of the chunk's cycles from now -- and the bytes it writes; None when the
        outputs stay in the tile or are only complete at the end (partial sums re-read over
        the chunk's folds)."""
        f = self.arch.tile.fetch
        if not (f.streaming and f.write_streaming) or task.out_home == "tile":
            return None
        if not chunk.ofmap_bytes or outputs_at_end(chunk.sram_reads):
            return None
        S = self._sub_blocks(chunk)
        pieces = stream_pieces(self.arch, chunk.ofmap_bytes, S)
        if len(pieces) < 2:
            return None
        t0, env, L = self.env.now, self.env, task.node

        def run():
            for i, nb in enumerate(pieces[:-1]):
                at = t0 + -(-(i + 1) * cycles // len(pieces))
                if at > env.now:
                    yield env.timeout(at - env.now)
                env.count(self.ofmap.read_key, nb, L)
                node, ep = self.mem.access(task.out_home, nb, True, L)
                yield from self.mesh.transfer(self.index, node, nb, endpoint=ep, layer=L)

        return env.process(run()), sum(pieces[:-1])

    def _hidden_fill(self, chunk: Chunk, ready_at: list[float]) -> int:
        """Fold pipelining across chunks: cycles of ``chunk``'s fill the array overlaps with
        the previous chunk's drain.  Only when the array went straight from that chunk to
        this one (no wait since it ended) and this chunk was ready -- its operands in the
        buffers (or its first streamed sub-block), an output slot free -- at ``ready`` no
        later than that end: min(fill, previous drain, previous end - ready)."""
        if not chunk.fill_cycles or not self.array_fill or self.array_end is None:
            return 0
        now = self.env.now
        if now != self.array_end or not ready_at:
            return 0
        ready = max(ready_at[0], self.out_freed_at)
        return int(max(0, min(chunk.fill_cycles, self.array_fill, now - ready)))

    def _stall(self, task: Task, causes: dict[str, float]) -> None:
        for cause, cyc in causes.items():
            if cyc > 0:
                self.rec.stalls[cause] += cyc
                self.rec.layer(task.node).stalls[cause] += cyc

    def _count_compute(self, chunk: Chunk, L: str, ops) -> None:
        """Issued MACs clock the PE pipeline registers; the datapath (multiplier, adders,
        look-ups) switches for all of them, or only for non-zero weights with zero gating."""
        env = self.env
        issued = chunk.macs_executed
        n = chunk.macs_nonzero if self.gating else issued
        if issued and chunk.op_scale != 1.0:  # a dynamic second operand: more PE work per MAC
            ops = ops.scaled(chunk.op_scale)
        if issued:
            env.count(self.pe_keys["mac"], issued, L)
            if self.gating:
                env.count(self.gate_key, issued, L)
        if chunk.selects:
            env.count(self.select_key, chunk.selects, L)
        if chunk.decodes:
            env.count(self.decode_key, chunk.decodes, L)
        if n:
            k = self.pe_keys
            env.count(k["mult"], round(n * ops.mults), L)
            env.count(k["add"], round(n * ops.adds), L)
            env.count(k["shift"], round(n * ops.shifts), L)
            if ops.signs:
                env.count(k["sign"], round(n * ops.signs), L)
            if self.banks and ops.lookups:
                total = round(n * ops.lookups)
                base, extra = divmod(total, len(self.banks))
                for b, bank in enumerate(self.banks):
                    env.count(bank.lookup_key, base + (1 if b < extra else 0), L)
        if chunk.shadow_bits:
            env.count(self.pe_keys["shadow_load"], chunk.shadow_bits, L)
        if chunk.vector_ops:
            env.count(self.vector_key, chunk.vector_ops, L)
        for buf, nbytes in chunk.sram_reads:
            env.count(self.sram[buf].read_key, nbytes, L)
        for buf, nbytes in chunk.sram_writes:
            env.count(self.sram[buf].write_key, nbytes, L)

    # ---- write ------------------------------------------------------------------------------
    def _write(self):
        env = self.env
        while True:
            task, chunk, last, early, out = yield self.to_write.get()
            if task.out_home != "tile":
                L = task.node
                rest = chunk.ofmap_bytes
                if early is not None:  # write streaming: the pieces before the last are out
                    rest -= early[1]
                    if not early[0].triggered:
                        yield early[0]
                env.count(self.ofmap.read_key, rest, L)
                node, ep = self.mem.access(task.out_home, rest, True, L)
                yield from self.mesh.transfer(self.index, node, rest, endpoint=ep, layer=L)
            yield self.out_slots.put(out)
            self.out_freed_at = env.now
            ls = self.rec.layer(task.node)
            ls.end = max(ls.end, env.now)
            if last:
                self.rec.tasks += 1
                env.log(self.name, f"done {task.node}")
                self.done[task.id].succeed()
