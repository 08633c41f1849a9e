"""Fast analytic cost of one layer under one :class:`~archsim.mapping.plan.LayerPlan`.

In:  a :class:`~archsim.mapping.layer.GemmLayer`, its plan, the design point, its cost model
     (``archsim.energy.CostModel``) and where the layer's input lives (``gbuf`` | ``dram``)
     and its output goes.
Out: :class:`Estimate` -- latency (cycles), energy (pJ) and the traffic behind them -- in
     a few milliseconds, to rank mapping candidates before SimPy runs the best few; and
     :meth:`LayerModel.bound`, lower bounds of both from per-block sums in tens of
     microseconds (the search's pre-filter, see its docstring).

How (the same tiles and chunk sequence the mapper builds, timed without SimPy):
  - per chunk: the layer's fold model under the design point's sparsity mode
    (:meth:`~archsim.mapping.layer.GemmLayer.fold`) and the mapper's own
    :class:`~archsim.mapping.layer.ChunkTiming`: compute cycles (x cycles/MAC, LUT-bank and
    gather-network bounds) plus the SRAM-bandwidth stall, exactly the Chunk's; its reads
    (inputs not kept in the buffer, weights not still loaded) as the mapper makes them;
  - multicast (``interconnect.multicast``): the reads are grouped by the mapper's own
    :func:`~archsim.mapping.schedule.multicast_assignment`; a group is one memory read sent
    along the XY tree (``Mesh.tree``: each tree link once), asked for when its last member
    arrives and delivered to all members at once;
  - a read: ``memory latency + hops x (hop + router latency)``, then the next memory port in
    round-robin (its earliest free lane) for ``max(flits, port bytes / memory bandwidth)``
    cycles (DRAM moves whole bursts: port bytes rounded up to ``dram.burst_bytes``), then the
    SRAM write ``latency + bytes / bytes_per_cycle``; routes and attach points are the
    simulator's (:func:`archsim.design.edge.attach_points`, ``interconnect.routing``);
  - per tile, the fetch -> compute -> write pipeline of :mod:`archsim.sim.tile` with
    ``double_buffered`` input and output slots: fetch i starts after fetch i-1 and compute
    i-slots; the reads of a chunk in the fetch unit's order (inputs then weights; with
    ``tile.fetch.weight_prefetch`` at once; with ``tile.fetch.streaming`` the weights first
    and compute starting on the first of ``sub_blocks`` of the inputs, its last share of
    cycles waiting for the rest); compute i after fetch i, compute i-1 and write i-slots;
    write i after compute i and write i-1; the array holds a port of the ifmap and weight
    buffers while it computes, so with one-port buffers the SRAM write of fetch i waits for
    compute i-1 to end; a layer planned ``output_buffer: single`` has one output slot (its
    compute i after write i-1).  The tiles advance together in the order their fetches start
    (a small event loop), so the memory ports see the reads about in SimPy's order;
  - split-K: each reduction waits for its partial blocks and pulls them tile to tile;
  - sharing: the layer cannot end before the busiest shared resource has moved its bytes
    (every mesh link, the DRAM channels, the global-buffer ports): latency = max(slowest
    tile, memory latency + busiest resource + a tile's last compute and write);
  - energy: counted actions x the cost model's per-action energies (issued MACs clock the PE
    registers; the datapath switches for non-zero weights only with zero gating; zero
    checks, selects and metadata decodes as the tiles count them; the layer's input sign sets
    the operations per MAC; a multicast read and its tree's flit hops once), plus leakage
    over the latency (the SimPy run counts the same actions; what differs is contention
    time).
A product of two activations (matmul) is estimated as a GEMM whose "weights" are its second
operand (fetched like weights, at the dynamic operand's cycles per MAC); its activation tables
(tmac / luttc) and the operand's real source are not modelled -- the search keeps the
heuristic plan for these layers.
Not modelled here (SimPy has them): waiting for a contended mesh link, writes queueing on a
memory port, and overlap with neighbouring layers.  docs/mapping.md states the measured
error.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from archsim.design.edge import attach_points
from archsim.mapping.layer import (
    ChunkTiming,
    GemmLayer,
    buffer_caps,
    outputs_at_end,
    shadow_bits,
    stream_pieces,
)
from archsim.mapping.partition import split_range
from archsim.mapping.plan import LayerPlan
from archsim.mapping.regions import port_bytes as burst_port_bytes
from archsim.mapping.schedule import multicast_assignment, spread_order
from archsim.pe.organisation import effective_ops, effective_tables, entries_per_fold, read_stretch
from archsim.sim.actions import ActionKey, dram_channel, link, tile_part

__all__ = ["Estimate", "LayerModel"]


def _ceil(a: float, b: float) -> int:
    return int(-(-a // b))


@dataclass(frozen=True, kw_only=True)
class Estimate:
    latency_cycles: float
    energy_pj: float
    compute_cycles: int  # summed over tiles
    dram_bytes: int
    gbuf_bytes: int
    flit_hops: int
    vector_ops: int
    multicast_groups: int = 0  # reads shared by several tiles (``interconnect.multicast``)


class _Src(NamedTuple):  # an edge-memory input read (the fields multicast_assignment keys on)
    tensor: str
    region: object
    nbytes: int
    tile: None
    memory: str


class _Chunk(NamedTuple):
    r0: int
    r1: int
    n0: int
    n1: int
    k_part: tuple[int, int] | None
    ib: int  # input bytes fetched (0: kept in the input buffer)
    runs: tuple  # the input read's contiguous runs (Region.runs; empty: one run)
    weight_bytes: int  # weight bytes fetched (0: still in the weight buffer)
    sources: tuple[_Src, ...]


class _Task(NamedTuple):  # one block of the layer on one tile
    id: int
    node: str
    tile: int
    m0: int
    m1: int
    kc: tuple[int, int] | None
    chunks: tuple[_Chunk, ...]


class LayerModel:
    """Per design point: per-action energies and mesh geometry, then ``estimate`` per plan."""

    def __init__(self, arch, costs=None) -> None:
        self.arch = arch
        t = arch.tile
        self.R, self.C = t.pe_array.rows, t.pe_array.cols
        self.pe = arch.pe()
        self.cpm = float(self.pe.cycles_per_mac * read_stretch(self.pe, t.lut_banks))
        org = t.lut_banks.organisation
        self.org = org
        ops = effective_ops(self.pe, org)
        self.ops = ops
        lb = t.lut_banks
        tabs = effective_tables(self.pe, org)
        self.banks = lb.count if tabs.n_tables else 0
        self.lut_bw = lb.count * lb.read_ports * lb.lookups_per_port_per_cycle
        self.word_bytes = _ceil(tabs.word_bits, 8) if self.banks else 0
        self.program_bpc = lb.program_bytes_per_cycle
        self.entries_fold = entries_per_fold(self.pe, org, self.R, self.C, lb.sharing)
        self.caps = buffer_caps(arch)
        self.ideal = arch.ideal_memory
        self.rows, self.cols = arch.grid.rows, arch.grid.cols
        ic = arch.interconnect
        self.link_bytes = ic.link_bytes_per_cycle
        self.hop = ic.hop_latency_cycles + t.router.latency_cycles
        d = arch.dram
        pts = attach_points(arch)  # memory port i = ("m", i): DRAM channels, then gbuf ports
        self.points = [(pt.row, pt.col) for pt in pts]
        self.lanes = {i: pt.lanes for i, pt in enumerate(pts)}
        self.n_dram = d.channels
        self.gbuf_own = [i for i, pt in enumerate(pts) if pt.kind == "gbuf"]
        order = ic.routing  # as archsim.sim.components.Mesh
        if order == "short_first":
            order = "yx" if self.cols > self.rows else "xy"
        self.y_first = order == "yx"
        self.spread = spread_order(self.rows, self.cols)
        self.multicast = ic.multicast
        f = t.fetch
        self.streaming, self.sub_blocks, self.prefetch = (f.streaming, f.sub_blocks,
                                                          f.weight_prefetch)
        # weight streaming: the weights beside the inputs, compute on the first piece of each
        self.w_stream = f.streaming and f.weight_streaming
        self.write_stream = f.streaming and f.write_streaming
        self.in_slots = 2 if t.sram.ifmap.double_buffered else 1
        self.out_slots = 2 if t.sram.ofmap.double_buffered else 1
        self.costs = costs
        sp = t.sparsity
        self.gating = sp.zero_gating
        self.ops_by_sign = {v: effective_ops(self.pe, org, v) for v in (False, True)}
        self.burst = arch.dram.burst_bytes
        # one global-buffer transfer's bandwidth (own ports: the port's share per lane)
        self.gbuf_bpc = arch.gbuf.bytes_per_cycle / (
            max(1, arch.gbuf.bytes_per_cycle // ic.link_bytes_per_cycle)
            if arch.gbuf.attach == "own_ports" and arch.gbuf.capacity_bytes else 1)
        self.one_port = {b: getattr(t.sram, b).ports == 1 for b in ("ifmap", "weight")}
        self._timing: dict[int, ChunkTiming] = {}
        self.e = self._energies(costs) if costs is not None else None
        self.leak_uw = costs.leakage_uw() if costs is not None else 0.0
        self._paths: dict[tuple, list] = {}
        self._trees: dict[tuple, tuple[list, int]] = {}
        self._inreg: dict[tuple, object] = {}
        self._dens: dict[GemmLayer, float] = {}
        self._cum: dict[tuple, np.ndarray] = {}
        self._regions: dict[tuple, tuple] = {}
        self._ccache: dict[tuple, tuple] = {}
        self._hop_cache: dict[tuple, tuple[int, int]] = {}
        self._scache: dict[tuple, tuple] = {}

    def _nnz(self, L: GemmLayer, n0: int, n1: int, kc) -> int:
        """Non-zero weights of filters [n0, n1) over reduction part ``kc``."""
        key = (L, kc)
        cum = self._cum.get(key)
        if cum is None:
            k0, k1 = L.k_rows(kc)
            cum = self._cum[key] = np.concatenate(
                [[0], np.cumsum(L.mask[k0:k1].sum(axis=0, dtype=np.int64))])
        return int(cum[n1] - cum[n0])

    def _density(self, L: GemmLayer) -> float:
        d = self._dens.get(L)
        if d is None:
            d = self._dens[L] = float(L.mask.mean())
        return d

    # ---- energies ----------------------------------------------------------------------
    def _energies(self, costs) -> dict[str, float]:
        def pj(comp, kind, action):
            return costs.action_energy_pj(ActionKey(component=comp, kind=kind, action=action))

        pe = tile_part(0, "pe_array")
        o = self.ops
        e = {"mac": pj(pe, "pe_array", "mac"), "lookup": 0.0, "program": 0.0}
        if self.banks:
            b = tile_part(0, "lut_bank0")
            e["lookup"] = pj(b, "lut_bank", "lookup")
            e["program"] = pj(b, "lut_bank", "program")
        # the datapath of one MAC (multiplier, adders, shifts, sign XOR, look-ups) per sign
        for signed, o in self.ops_by_sign.items():  # (an action a kind never emits: 0)
            e[f"dp{int(signed)}"] = (
                sum(n * pj(pe, "pe_array", act) for n, act in (
                    (o.mults, "mult"), (o.adds, "add"), (o.shifts, "shift"), (o.signs, "sign"))
                    if n)
                + (o.lookups * e["lookup"] if self.banks else 0.0))
        sp = self.arch.tile.sparsity
        e["gate"] = pj(tile_part(0, "zero_gate"), "zero_gate", "check") if sp.zero_gating \
            else 0.0
        if sp.mode in ("gather", "nm_structured"):
            e["select"] = pj(tile_part(0, "gather_net"), "gather_net", "select")
            e["decode"] = pj(tile_part(0, "meta_decode"), "meta_decode", "decode")
        else:
            e["select"] = e["decode"] = 0.0
        for buf in ("ifmap", "weight", "ofmap"):
            comp = tile_part(0, f"{buf}_sram")
            e[f"{buf}_r"] = pj(comp, f"{buf}_sram", "read_bytes")
            e[f"{buf}_w"] = pj(comp, f"{buf}_sram", "write_bytes")
        e["vector"] = pj(tile_part(0, "vector"), "vector", "op")
        e["shadow"] = (pj(pe, "pe_array", "shadow_load")
                       if self.arch.tile.pe_array.fold_pipelining else 0.0)
        e["flit"] = pj(link(0, 0, "E"), "noc_link", "flit_hop")
        e["dram"] = pj(dram_channel(0), "dram", "read_bytes")
        e["dram_w"] = pj(dram_channel(0), "dram", "write_bytes")
        if self.arch.gbuf.capacity_bytes:
            e["gbuf"] = pj("gbuf", "gbuf", "read_bytes")
            e["gbuf_w"] = pj("gbuf", "gbuf", "write_bytes")
        else:
            e["gbuf"] = e["gbuf_w"] = 0.0
        return e

    # ---- mesh --------------------------------------------------------------------------
    def _path(self, src, dst) -> list:
        """Links of the dimension-ordered route (``interconnect.routing``, as the SimPy mesh
        routes): ("in", i) / ("out", i) the edge links of memory port ("m", i), (r, c, d) the
        link leaving router (r, c) in direction d."""
        key = (src, dst)
        hit = self._paths.get(key)
        if hit is not None:
            return hit
        names: list = []
        if src == dst:
            self._paths[key] = names
            return names
        if isinstance(src, tuple):
            names.append(("in", src[1]))
            r, c = self.points[src[1]]
        else:
            r, c = divmod(src, self.cols)
        dr, dc = self.points[dst[1]] if isinstance(dst, tuple) else divmod(dst, self.cols)
        for dim in ("y", "x") if self.y_first else ("x", "y"):
            while dim == "x" and c != dc:
                s = 1 if dc > c else -1
                names.append((r, c, "E" if s > 0 else "W"))
                c += s
            while dim == "y" and r != dr:
                s = 1 if dr > r else -1
                names.append((r, c, "S" if s > 0 else "N"))
                r += s
        if isinstance(dst, tuple):
            names.append(("out", dst[1]))
        self._paths[key] = names
        return names

    def _tree(self, src, dsts: tuple) -> tuple[list, int]:
        """(links, deepest branch in hops) of the multicast tree from ``src`` to ``dsts``:
        the union of the routes, each link once (``Mesh.tree``)."""
        key = (src, dsts)
        hit = self._trees.get(key)
        if hit is None:
            seen: dict = {}
            depth = 0
            for d in dsts:
                path = self._path(src, d)
                depth = max(depth, len(path))
                seen.update(dict.fromkeys(path))
            hit = self._trees[key] = (list(seen), depth)
        return hit

    def _port(self, where: str, ctr: list[int]) -> tuple:
        """The memory port of the next ``where`` access: round-robin over the DRAM channels
        (the global buffer too, unless it has its own ports: round-robin over those)."""
        if where == "gbuf" and self.gbuf_own:
            ctr[1] += 1
            return ("m", self.gbuf_own[(ctr[1] - 1) % len(self.gbuf_own)])
        ctr[0] += 1
        return ("m", (ctr[0] - 1) % self.n_dram)

    def port_bytes(self, where: str, nbytes: int,
                   runs: tuple[tuple[int, int], ...] = ()) -> int:
        """Bytes the edge memory's port moves (and is priced for): DRAM whole bursts (of each
        contiguous run of a gathered read, :meth:`Region.runs`)."""
        if where == "dram" and nbytes > 0:
            return burst_port_bytes(nbytes, runs, self.burst)
        return nbytes

    def _mem_time(self, where: str, nbytes: int, hops: int,
                  runs: tuple[tuple[int, int], ...] = ()) -> int:
        """Uncontended edge-memory transfer: latency + hops + serialisation."""
        if self.ideal or nbytes <= 0:
            return 0
        a = self.arch
        if where == "dram":
            lat, bpc = a.dram.latency_cycles, a.dram.bytes_per_cycle_per_channel
        else:
            lat, bpc = a.gbuf.latency_cycles, self.gbuf_bpc
        return lat + hops + max(_ceil(nbytes, self.link_bytes),
                                _ceil(self.port_bytes(where, nbytes, runs), bpc))

    # ---- the pre-filter ------------------------------------------------------------------
    def bound(self, L: GemmLayer, p: LayerPlan, *, in_home: str = "dram",
              out_home: str = "gbuf", keep_inputs: bool = False) -> tuple[float, float]:
        """(latency, energy) lower bounds of :meth:`estimate` for ``p`` from per-block sums
        (cached across the candidates of a layer) instead of the chunk-by-chunk timeline: the
        search's pre-filter.

        Latency: per block the largest of its compute (the chunks' compute and SRAM-stall
        cycles, exactly the estimate's) plus the first fetch's and the last write's latency,
        its fetches in sequence (each a memory latency + hops + SRAM latency, the bytes at the
        slower of the link and the memory port, the SRAM write) and its writes in sequence
        (a tile with several blocks: the sum of their compute); and, after the memory
        latency, the busiest of the DRAM channels, the global-buffer ports, the memory ports'
        links and the tiles' own links.  Hops are the fewest of any tile of the range.
        Energy: the compute actions and buffer traffic the estimate counts, the edge-memory
        bytes (without burst rounding) and leakage over the latency bound.  Mesh flits and
        contention are left out, so both stay below the estimate up to rounding."""
        arch, ideal = self.arch, self.ideal
        d, g = arch.dram, arch.gbuf
        nch = d.channels
        T = p.tile_count
        m_parts = split_range(L.M, p.split_pixels)
        n_parts = split_range(L.N, p.split_channels)
        k_parts = [None] if p.split_k == 1 else split_range(L.cin_per_group, p.split_k)
        df, mc, nc = p.dataflow, p.chunk_pixels, p.chunk_channels
        channel_major = p.loop_order == "channel_major"
        shape_only = L.rule.mode == "none"
        grouped = L.groups > 1
        hin, hout = self._hops(p.tile_first, T)
        ab = L.act_bytes
        sc = self._scache
        one = p.blocks <= T
        tile_comp: dict[int, float] = defaultdict(float)
        lat_max = in_max = out_max = 0.0
        in_b = w_b = out_b = e_tot = 0.0
        i = 0
        # blocks differ by their pixel range, filter count (two values at most) and reduction
        # part; with dense timing, no groups and one block per tile, filter ranges of one
        # width are alike but for their non-zero weights (summed over the layer below)
        classes = [(n0, n1, 1) for n0, n1 in n_parts]
        fast = shape_only and not grouped and one
        if fast:
            widths: dict[int, list] = {}
            for n0, n1 in n_parts:
                widths.setdefault(n1 - n0, [n0, n1, 0])[2] += 1
            classes = [tuple(v) for v in widths.values()]
        split = k_parts[0] is not None
        for n0, n1, mult_n in classes:
            for m0, m1 in m_parts:
                rows = m1 - m0
                part_max = 0.0
                for kc in k_parts:
                    key = (L, df, mc, nc, channel_major, keep_inputs, in_home, out_home,
                           rows, n1 - n0 if shape_only else (n0, n1), kc)
                    s = sc.get(key)
                    if s is None:
                        s = sc[key] = self._shape_bound(L, p, rows, n0, n1, kc, keep_inputs,
                                                        in_home, out_home)
                    (comp, f_lat, f_byte, w_lat, w_ser, n_wf, wb, ob, en, n_c, w_fix,
                     dp_nz) = s
                    total, kept, first, n_tot, n_kept, n_first = self._in_elements(
                        L, m0, m1, mc, n0, n1, kc)
                    if grouped or not keep_inputs:
                        mult = 1 if grouped else n_c
                        ib, n_if = total * mult, n_tot * mult
                    elif channel_major:
                        ib = kept + (n_c - 1) * (kept - first)
                        n_if = n_kept + (n_c - 1) * (n_kept - n_first)
                    else:
                        ib, n_if = kept, n_kept
                    ib *= ab
                    if one:
                        n_f = n_if + n_wf
                        f_in = n_if * (f_lat + hin) + ib * f_byte
                        f_w = w_fix + n_wf * hin
                        # weight prefetch: the inputs and the weights arrive at once
                        fetches = max(f_in, f_w) if self.prefetch else f_in + f_w
                        blk = max(comp + (f_lat + hin if n_f else 0)
                                  + (w_lat + hout if w_ser else 0),
                                  fetches,
                                  w_ser + (n_c * ((rows + mc - 1) // mc) * hout
                                           if w_ser else 0))
                        part_max = max(part_max, blk)
                        in_max = max(in_max, ib + wb)
                        out_max = max(out_max, ob)
                    else:
                        tile_comp[i % T] += comp
                        i += 1
                    in_b += ib * mult_n
                    w_b += wb * mult_n
                    out_b += ob * mult_n
                    e_tot += en * mult_n
                    if dp_nz and not fast:
                        e_tot += rows * dp_nz * self._nnz(L, n0, n1, kc)
                if split and one:  # the reduction pulls the parts' partial sums in sequence
                    part_max += self._reduction_bound(L, rows, n1 - n0, len(k_parts))
                lat_max = max(lat_max, part_max)
        if fast and self.gating and self.e is not None:  # zero-gated datapath MACs
            dp = self.e[f"dp{int(L.act_signed)}"]
            e_tot += sum(L.M * self._nnz(L, 0, L.N, kc) * dp for kc in k_parts)
        latency = lat_max if one else max(tile_comp.values(), default=0.0)
        # multicast: a weight block is read once for the pixel ranges sharing it, an input
        # region once for the filter ranges sharing it (at most)
        in_e, w_e = in_b, w_b
        if self.multicast and T > 1:
            in_e = in_b / (1 if grouped else min(T, p.split_channels))
            w_e = w_b / min(T, p.split_pixels)
        mb = {"dram": w_e, "gbuf": 0.0}
        mb[in_home] += in_e
        mb[out_home] += out_b
        if not ideal:
            lb = self.link_bytes
            busiest = max(mb["dram"] / (nch * d.bytes_per_cycle_per_channel),
                          mb["gbuf"] / max(1, g.ports * g.bytes_per_cycle),
                          (w_e + (in_e if in_home == "dram" else 0.0)) / (nch * lb),
                          out_b / self._edge_bytes_per_cycle(out_home),
                          in_max / lb, out_max / lb)
            latency = max(latency, busiest + min(d.latency_cycles, g.latency_cycles
                                                 if g.capacity_bytes else d.latency_cycles))
        energy = 0.0
        if self.e is not None:
            e = self.e
            energy = (e_tot + in_b * e["ifmap_w"] + in_e * e[in_home]
                      + w_b * e["weight_w"] + w_e * e["dram"]
                      + out_b * (e["ofmap_r"] + e[out_home + "_w"])
                      + self.leak_uw * latency / arch.clock_mhz)
        return float(latency), float(energy)

    def _reduction_bound(self, L: GemmLayer, rows: int, n: int, tk: int) -> float:
        """Cycles the reduction of a split-K block needs at least after its parts: per
        reduction chunk, every part's partial sums pulled one after another (the ofmap
        buffer's latency each, the bytes at its bandwidth) and written to the input buffer."""
        if self.ideal:
            return 0.0
        sr = self.arch.tile.sram
        pb, ab = L.acc_bytes, L.act_bytes
        per = max(1, min(rows, self.caps["ifmap"] // max(1, tk * n * pb),
                         self.caps["ofmap"] // max(1, n * ab)))
        chunks = -(-rows // per)
        nb = rows * n * pb * tk
        return (chunks * tk * sr.ofmap.latency_cycles + nb / sr.ofmap.bytes_per_cycle
                + chunks * sr.ifmap.latency_cycles + nb / sr.ifmap.bytes_per_cycle)

    def _hops(self, first: int, count: int) -> tuple[int, int]:
        """Fewest hop cycles from a memory port to any tile of the range, and back."""
        hit = self._hop_cache.get((first, count))
        if hit is None:
            tiles = [self.spread[t] for t in range(first, first + count)]
            ports = range(len(self.points))
            hit = self._hop_cache[(first, count)] = (
                min(len(self._path(("m", c), t)) for t in tiles for c in ports) * self.hop,
                min(len(self._path(t, ("m", c))) for t in tiles for c in ports) * self.hop)
        return hit

    def _edge_bytes_per_cycle(self, where: str) -> float:
        """What the edge links of ``where``'s memory ports carry per cycle together."""
        if where == "gbuf" and self.gbuf_own:
            return sum(self.lanes[i] for i in self.gbuf_own) * self.link_bytes
        return self.n_dram * self.link_bytes

    def _shape_bound(self, L, p, rows, n0, n1, kc, keep_inputs, in_home, out_home):
        """What :meth:`bound` needs of one block that does not depend on its pixel range:
        compute cycles, fetch latency, fetch cycles per input byte, write latency, writes in
        sequence, weight fetches, weight and output bytes, the energy of its compute actions
        and buffer traffic (zero-gated datapath MACs: per non-zero weight x pixel, as the last
        item's energy), filter chunks, and the fixed fetch cycles of the weights."""
        arch, ideal = self.arch, self.ideal
        df, mc, nc = p.dataflow, p.chunk_pixels, p.chunk_channels
        channel_major = p.loop_order == "channel_major"
        ab, mode = L.act_bytes, L.rule.mode
        timing = self._timing.get(ab)
        if timing is None:
            timing = self._timing[ab] = ChunkTiming(arch, ab)
        shape_only = mode == "none"
        n_full, tail = divmod(rows, mc)
        n_r = n_full + (1 if tail else 0)
        full_c, tail_c = divmod(n1 - n0, nc)
        n_c = full_c + (1 if tail_c else 0)
        if shape_only:  # chunks of one width cost the same
            c_ranges = []
            groups_c = [(n0, n0 + w, k) for w, k in ((nc, full_c), (tail_c, 1)) if w and k]
        else:
            c_ranges = [(c0, min(n1, c0 + nc)) for c0 in range(n0, n1, nc)]
            groups_c = [(c0, c1, 1) for c0, c1 in c_ranges]
        e = self.e
        comp = en_tot = 0.0
        macs = nz = prog_tot = 0
        for c0, c1, mult_c in groups_c:
            for m, times in ((mc, n_full * mult_c), (tail, mult_c)):
                if not (m and times):
                    continue
                ck = (L, df, m, c1 - c0, kc) if shape_only else (L, df, m, c0, c1, kc)
                cc = self._ccache.get(ck)
                if cc is None:
                    fc = L.fold(df, m, c0, c1, kc, dense=shape_only)
                    cw = timing.chunk(m, c1 - c0, fc, mode, kc is not None)
                    en = 0.0
                    if e is not None:
                        en = (sum(n * e[f"{b}_r"] for b, n in cw.sram_reads)
                              + sum(n * e[f"{b}_w"] for b, n in cw.sram_writes)
                              + cw.selects * e["select"] + cw.decodes * e["decode"]
                              + fc.folds * self.entries_fold * e["program"]
                              + fc.folds * self.R * self.C * shadow_bits(self.arch, df)
                              * e["shadow"])
                    prog = 0
                    if self.banks and self.entries_fold and not ideal:
                        prog = _ceil(_ceil(fc.folds * self.entries_fold, self.banks)
                                     * self.word_bytes, self.program_bpc)
                    cc = self._ccache[ck] = (cw.compute_cycles + cw.sram_stall_cycles,
                                             fc.macs_mapped, fc.macs_nonzero, en, prog,
                                             cw.fill_cycles)
                cyc, mm, nzz, en, prog, fill = cc
                comp += (cyc - fill) * times  # fold pipelining: any chunk may hide its fill
                macs += mm * times
                nz += nzz * times
                en_tot += en * times
                prog_tot += prog * times
        refetch = not channel_major and n_c > 1  # pixel-major: weights per chunk
        n_wf = n_c * n_r if refetch else n_c
        wb = (L.weight_bytes_exact(df, n0, n1, kc) if shape_only else sum(
            L.weight_bytes_exact(df, c0, c1, kc) for c0, c1 in c_ranges)) * (
            n_r if refetch else 1)
        final = kc is None or kc[0] == 0  # the first part's tile writes the block out
        ob = rows * (n1 - n0) * ab if final else 0
        dp_nz = 0.0
        if e is not None:
            dp = e[f"dp{int(L.act_signed)}"]
            en_tot += macs * (e["mac"] + e["gate"])
            if not self.gating:
                en_tot += macs * dp
            elif shape_only:
                dp_nz = dp  # per non-zero weight x pixel, added by the caller
            else:
                en_tot += nz * dp
        if ideal:
            return (comp, 0.0, 0.0, 0.0, 0.0, 0, wb, ob, en_tot, n_c, 0.0, dp_nz)
        sr = arch.tile.sram
        lb = self.link_bytes
        lat = {"dram": arch.dram.latency_cycles, "gbuf": arch.gbuf.latency_cycles}
        bpc = {"dram": arch.dram.bytes_per_cycle_per_channel, "gbuf": arch.gbuf.bytes_per_cycle}
        f_lat = lat[in_home] + sr.ifmap.latency_cycles
        f_byte = 1 / min(lb, bpc[in_home]) + 1 / sr.ifmap.bytes_per_cycle
        w_fix = (n_wf * (lat["dram"] + sr.weight.latency_cycles)
                 + wb / min(lb, bpc["dram"]) + wb / sr.weight.bytes_per_cycle + prog_tot)
        n_w = n_r * n_c if kc is None else 0  # split-K parts hand over; the reduction writes
        w_lat = lat[out_home] if n_w else 0.0
        w_ser = n_w * lat[out_home] + (ob / min(lb, bpc[out_home]) if n_w else 0.0)
        return (comp, f_lat, f_byte, w_lat, w_ser, n_wf, wb, ob, en_tot, n_c, w_fix, dp_nz)

    def _in_elements(self, L: GemmLayer, m0: int, m1: int, mc: int, n0: int, n1: int,
                     kc) -> tuple[int, int, int, int, int, int]:
        """Input elements the pixel chunks of ``mc`` of block [m0, m1) read (a grouped
        layer: for the block's filters): all of them, those whose region differs from the
        previous chunk's, the first chunk's when the last chunk's region equals it (else 0);
        then the same three as chunk counts."""
        key = (L, m0, m1, mc, kc, (n0, n1) if L.groups > 1 else None)
        hit = self._regions.get(key)
        if hit is None:
            regs = [L.input_region(r0, min(m1, r0 + mc), n0, n1, kc)
                    for r0 in range(m0, m1, mc)]
            total = sum(r.elements for r in regs)
            new = [b for a, b in zip(regs, regs[1:]) if a != b]
            kept = regs[0].elements + sum(b.elements for b in new)
            same = regs[-1] == regs[0]
            hit = self._regions[key] = (total, kept, regs[0].elements if same else 0,
                                        len(regs), 1 + len(new), 1 if same else 0)
        return hit

    # ---- the estimate ------------------------------------------------------------------
    def _tasks(self, L: GemmLayer, p: LayerPlan, tiles: list[int], keep_inputs: bool,
               in_home: str) -> list[_Task]:
        """The mapper's GEMM tasks of ``p`` (``schedule._Mapper._gemm_chunks``: blocks in
        filter x pixel x reduction order over ``tiles``, chunks in the loop order; an input
        region still in the tile's input buffer (``keep_inputs``) and weights still in its
        weight buffer are not fetched again) as the records
        :func:`~archsim.mapping.schedule.multicast_assignment` groups."""
        df, mc, nc = p.dataflow, p.chunk_pixels, p.chunk_channels
        T = len(tiles)
        ab = L.act_bytes
        m_parts = split_range(L.M, p.split_pixels)
        n_parts = L.n_parts(p.split_channels)
        k_parts = [None] if p.split_k == 1 else split_range(L.cin_per_group, p.split_k)
        channel_major = p.loop_order == "channel_major"
        in_res: dict[int, object] = {}
        resident: dict[int, tuple] = {}
        tasks: list[_Task] = []
        inreg = self._inreg  # input regions, shared by the layer's candidates
        by_c = L.groups > 1 or L.dynamic  # the region depends on the filters
        i = 0
        for n0, n1 in n_parts:
            cr = [(c0, min(n1, c0 + nc)) for c0 in range(n0, n1, nc)]
            for m0, m1 in m_parts:
                rr_ = [(r0, min(m1, r0 + mc)) for r0 in range(m0, m1, mc)]
                order = ([(c, r) for c in cr for r in rr_] if channel_major
                         else [(c, r) for r in rr_ for c in cr])
                first_tile = None
                for kc in k_parts:
                    tile = tiles[i % T]
                    i += 1
                    first_tile = tile if first_tile is None else first_tile
                    chunks = []
                    for (c0, c1), (r0, r1) in order:
                        rkey = (L, r0, r1, (c0, c1) if by_c else None, kc)
                        reg = inreg.get(rkey)
                        if reg is None:
                            reg = inreg[rkey] = L.input_region(r0, r1, c0, c1, kc)
                        ib = reg.elements * ab
                        if keep_inputs and in_res.get(tile) == reg:
                            ib = 0
                        in_res[tile] = reg
                        key = (c0, c1, kc)
                        wb = 0 if resident.get(tile) == key else L.weight_bytes(df, c0, c1, kc)
                        resident[tile] = key
                        src = (_Src(tensor=L.in_tensor, region=reg, nbytes=ib, tile=None,
                                    memory=in_home),) if ib else ()
                        chunks.append(_Chunk(r0=r0, r1=r1, n0=c0, n1=c1, k_part=kc, ib=ib,
                                             runs=reg.runs(ab) if ib else (),
                                             weight_bytes=wb, sources=src))
                    tasks.append(_Task(id=len(tasks), node=L.node, tile=tile, m0=m0, m1=m1,
                                       kc=kc, chunks=tuple(chunks)))
                if k_parts[0] is not None:  # the reduction clears its tile's input buffer
                    in_res.pop(first_tile, None)
        return tasks

    def estimate(self, L: GemmLayer, p: LayerPlan, *, in_home: str = "dram",
                 out_home: str = "gbuf", keep_inputs: bool = False) -> Estimate:
        """Latency and energy of layer ``L`` mapped by ``p`` alone on the chip (module doc)."""
        arch, ideal = self.arch, self.ideal
        d, g = arch.dram, arch.gbuf
        nch = d.channels
        sr = arch.tile.sram
        ab = L.act_bytes
        pb = L.acc_bytes
        df = p.dataflow
        timing = self._timing.get(ab)
        if timing is None:
            timing = self._timing[ab] = ChunkTiming(arch, ab)
        mode = L.rule.mode
        # the layer alone: its tiles are positions tile_first.. of the spread order
        tiles = [self.spread[t] for t in range(p.tile_first, p.tile_first + p.tile_count)]
        T = len(tiles)
        link_flits: dict = defaultdict(int)
        mem_bytes = {"dram": 0, "gbuf": 0}
        cnt = defaultdict(float)  # energy-relevant counts
        ctr = [0, 0]  # round-robin: DRAM channels, own gbuf ports
        lb = self.link_bytes

        def move(links, nbytes, where, write=False, runs=()):
            """Count one edge-memory transfer of ``nbytes`` (as ``runs``) over ``links``."""
            flits = _ceil(nbytes, lb)
            for lk in links:
                link_flits[lk] += flits
            cnt["flit"] += flits * len(links)
            moved = self.port_bytes(where, nbytes, runs)
            mem_bytes[where] += moved
            cnt[where + ("_w" if write else "")] += moved

        def xfer(src, dst, nbytes, where=None, write=False):
            """(cycles) of one uncontended transfer; counts links, bytes and flits."""
            if nbytes <= 0:
                return 0
            if where in ("dram", "gbuf"):
                port = self._port(where, ctr)
                src = port if isinstance(src, tuple) else src
                dst = port if isinstance(dst, tuple) else dst
            path = self._path(src, dst)
            flits = _ceil(nbytes, lb)
            for lk in path:
                link_flits[lk] += flits
            cnt["flit"] += flits * len(path)
            if where in ("dram", "gbuf"):
                moved = self.port_bytes(where, nbytes)
                mem_bytes[where] += moved
                cnt[where + ("_w" if write else "")] += moved
            if ideal:
                return 0
            if where in ("dram", "gbuf"):
                lat = d.latency_cycles if where == "dram" else g.latency_cycles
                bpc = d.bytes_per_cycle_per_channel if where == "dram" else self.gbuf_bpc
            elif where == "tile":
                lat, bpc = sr.ofmap.latency_cycles, sr.ofmap.bytes_per_cycle
            else:
                lat, bpc = 0, 0
            hold = max(flits if path else 0,
                       _ceil(self.port_bytes(where, nbytes), bpc) if bpc else 0)
            return lat + len(path) * self.hop + hold

        def sram(cfg, nbytes):
            return 0 if (ideal or nbytes <= 0) else cfg.latency_cycles + _ceil(
                nbytes, cfg.bytes_per_cycle)

        # per-tile pipeline state: last fetch end, compute ends (list), write ends (list)
        state = {t: [0.0, [], []] for t in tiles}
        post: dict[int, float] = {}  # per tile: its last chunk's cycles after its fetch
        compute_total = 0
        vec_total = 0
        n_in, n_out = self.in_slots, self.out_slots
        streaming, prefetch, w_stream = self.streaming, self.prefetch, self.w_stream
        concurrent = prefetch or w_stream  # the weights' read beside the inputs'
        # memory ports: when each of their lanes is free again (DRAM channel: one lane)
        free = {i: [0.0] * self.lanes[i] for i in range(len(self.points))}
        rd = [0, 0]  # round-robin of the reads, in the order the tiles issue them
        g_end: dict[int, tuple[float, float]] = {}  # multicast group: (start, end)
        lat_of = {"dram": d.latency_cycles, "gbuf": g.latency_cycles}

        def read(where, nb, hold, t_req, src, dsts=None):
            """(start, end) of an edge-memory read asked for at ``t_req``: the memory latency
            and the head's hops (to ``src`` or, multicast, the deepest of ``dsts``), then the
            next port in round-robin (its earliest free lane) for ``hold`` cycles."""
            if ideal or not nb:
                return t_req, t_req
            port = self._port(where, rd)
            hops = len(self._path(port, src)) if dsts is None else self._tree(port, dsts)[1]
            lanes = free[port[1]]
            k = min(range(len(lanes)), key=lanes.__getitem__)
            start = max(t_req + lat_of[where] + hops * self.hop, lanes[k])
            lanes[k] = start + hold
            return start, start + hold

        def fetch_start(tile, ready=0.0, ser_in=False):
            """When the tile's fetch unit starts its next chunk: after its previous fetch, a
            free input slot (the compute ``in_slots`` chunks back) and ``ready``; ``ser_in``:
            its inputs go to a single-used input buffer (after the previous compute)."""
            st = state[tile]
            ce = st[1]
            fs = max(st[0], ce[-n_in] if len(ce) >= n_in else 0.0, ready)
            return max(fs, ce[-1]) if (ser_in and ce) else fs

        def run_chunk(tile, start, fe, c, stall, tail, w, f_sram=0, fill=0, ser_out=False):
            """The chunk's compute and write once fetched: compute may start at ``start``
            (streaming: the first sub-block in; its last ``tail`` cycles wait for the fetch
            end ``fe``); ``f_sram``: the input SRAM write a one-port buffer the array holds
            while it computes the previous chunk; fold pipelining: a chunk ready before the
            previous one ends hides up to ``fill`` of its ``c`` cycles (as ``sim.tile``,
            without its check of the previous chunk's drain); ``ser_out``: its outputs take
            the whole output buffer (compute after the previous chunk's write-back)."""
            st = state[tile]
            ce, we = st[1], st[2]
            if f_sram and ce and ce[-1] > fe - f_sram:
                fe = ce[-1] + f_sram
            k_out = 1 if ser_out else n_out
            ready_c = max(start if streaming else max(start, fe),
                          we[-k_out] if len(we) >= k_out else 0.0)
            cs = max(ready_c, ce[-1] if ce else 0.0)
            if fill and ce:
                c -= max(0.0, min(fill, ce[-1] - ready_c))
                tail = min(c, tail)
            if streaming:
                c_end = max(cs + c - tail, fe) + tail + stall
            else:
                c_end = max(cs, fe) + c + stall
            ws = max(c_end, we[-1] if we else 0.0)
            st[0] = fe
            ce.append(c_end)
            we.append(ws + w)
            post[tile] = (tail if streaming else c) + stall + w
            return ws + w

        # blocks of one shape share one timeline when no filter's zeros change their timing
        # (mode none, or a near-dense layer); with zero gating their datapath MACs are the
        # block's own non-zero weights x pixels
        dense = mode == "none" or self._density(L) >= 0.97
        gate_nz = dense and self.gating
        dp = self.e[f"dp{int(L.act_signed)}"] if self.e is not None else 0.0

        tasks = self._tasks(L, p, tiles, keep_inputs, in_home)
        assign, groups = ({}, {})
        if self.multicast and T > 1:
            assign, groups = multicast_assignment(tasks)
        end = 0.0
        # blocks with the same shape (and, when sparse, the same filters) have the same
        # chunks: worked out once
        memo: dict = {}
        hops_mem = min(len(self._path(("m", c), t)) for t in tiles for c in range(nch))
        in_bpc = d.bytes_per_cycle_per_channel if in_home == "dram" else self.gbuf_bpc

        def hold_of(where, nb, bpc, runs=()):
            return max(_ceil(nb, lb), _ceil(self.port_bytes(where, nb, runs), bpc)) if nb else 0

        # per-layer buffer use (plan ``input_buffer`` / ``weight_buffer``)
        one_in = p.input_buffer == "single" and sr.ifmap.double_buffered
        one_w = p.weight_buffer == "single" or not sr.weight.double_buffered
        # outputs written back (split-K partial sums stay in the tile) to a single output buffer
        one_out = p.output_buffer == "single"

        def block(task):
            """Per chunk of one block: its fetch, compute and write parts; and its counts."""
            partial = task.kc is not None
            times, bc = [], defaultdict(float)
            for ch in task.chunks:
                r0, r1, c0, c1, kc = ch.r0, ch.r1, ch.n0, ch.n1, ch.k_part
                fc = L.fold(df, r1 - r0, c0, c1, kc)
                sb = max(1, min(self.sub_blocks, fc.folds)) if fc.folds else self.sub_blocks
                ib, wb = ch.ib, ch.weight_bytes
                h_in = hold_of(in_home, ib, in_bpc, ch.runs)
                at = min(h_in, _ceil(h_in * _ceil(ib, sb) / ib, 1)) if ib and streaming else h_in
                s_in, s_w = sram(sr.ifmap, ib), sram(sr.weight, wb)
                sram_f = s_w if (wb and self.one_port["weight"]) else (
                    s_in if (ib and self.one_port["ifmap"]) else 0)
                bc["ifmap_w"] += ib
                bc["weight_w"] += wb
                prog = 0
                if self.banks and self.entries_fold:
                    entries = fc.folds * self.entries_fold
                    bc["program"] += entries
                    if not ideal:
                        prog = _ceil(_ceil(entries, self.banks) * self.word_bytes,
                                     self.program_bpc)
                if L.dynamic:  # matmul: no activation tables or build counted here
                    cw = timing.dynamic_chunk(L, r1 - r0, c1 - c0, fc)
                else:
                    cw = timing.chunk(r1 - r0, c1 - c0, fc, mode, partial)
                bc["compute"] += cw.compute_cycles
                bc["mac"] += fc.macs_mapped
                bc["shadow"] += fc.folds * self.R * self.C * shadow_bits(arch, df)
                bc["dp"] += fc.macs_nonzero if self.gating else fc.macs_mapped
                bc["select"] += cw.selects
                bc["decode"] += cw.decodes
                for buf, nb in cw.sram_reads:
                    bc[f"{buf}_r"] += nb
                for buf, nb in cw.sram_writes:
                    bc[f"{buf}_w"] += nb
                w = 0
                if not partial:
                    ob = (r1 - r0) * (c1 - c0) * ab
                    bc["ofmap_r"] += ob
                    wr = ob
                    if (self.write_stream and out_home != "tile"
                            and not outputs_at_end(cw.sram_reads)):
                        # write streaming (sim.tile._early_writes): the last piece after
                        wr = stream_pieces(arch, ob, sb)[-1]
                    w = self._mem_time(out_home, wr, hops_mem * self.hop)
                tail = cw.compute_cycles // sb if streaming else 0
                h_w = hold_of("dram", wb, d.bytes_per_cycle_per_channel)
                # weight streaming: compute may start on the weights' first sub-block (after
                # the tables' programming when the chunk programs tables)
                at_w = min(h_w, _ceil(h_w, sb)) if (self.w_stream and not prog) else None
                # weight streaming in pieces (sim.tile._stream_pieces): the first piece, the
                # inputs, then the rest; compute may start when the first piece is in
                wp = None
                if self.w_stream and not prog and not ideal:
                    sizes = stream_pieces(arch, wb, sb)
                    if len(sizes) > 1:
                        holds = [hold_of("dram", n, d.bytes_per_cycle_per_channel)
                                 for n in sizes]
                        wp = (sizes[0], holds[0], wb - sizes[0], sum(holds[1:]))
                times.append((ib, h_in, at, s_in, wb, h_w, s_w, prog,
                              cw.compute_cycles, cw.sram_stall_cycles, tail, w, sram_f,
                              at_w, cw.fill_cycles, one_in and ib > 0, one_w and wb > 0, wp,
                              one_out and not partial))
            return times, bc

        def fetch_begin(task, j, tm, fs):
            """Start the chunk's fetch at ``fs`` as the fetch unit runs it (tile.py
            ``_fetch``): reads in its order (weight prefetch or weight streaming: both at
            once; streaming: the weights' read first; else inputs, then weights), each
            unicast read issued when reached; a multicast read joins its group (issued by the
            last member) and holds back the reads after it.  The fetch record: [task, j, tm,
            reads, fs]; its reads are issued by ``issue_one`` as the tiles advance."""
            ib, h_in, _at, _s_in, wb, h_w, _s_w, _prog = tm[:8]
            ce = state[task.tile][1]
            # a single-used weight buffer: the weights go out once the previous chunk (the
            # last user of the weights there) has computed
            w_min = ce[-1] if (tm[16] and ce) else 0.0
            reads = []  # [kind, bytes, hold, group, asked at, (start, end) or None, not before]
            if ib:
                reads.append(["i", ib, h_in, assign.get((task.id, j, 0)), None, None, 0.0])
            wgid = assign.get((task.id, j, -1))
            if wb and tm[17] is not None and wgid is None:  # weight pieces around the inputs
                p1, h1, rest, h_rest = tm[17]
                reads.insert(0, ["w1", p1, h1, None, None, None, w_min])
                reads.append(["w", rest, h_rest, None, None, None, w_min])
                return [task, j, tm, reads, fs]
            if wb:
                reads.append(["w", wb, h_w, wgid, None, None, w_min])
            if streaming:  # the weights' read goes out first
                reads.reverse()
            return [task, j, tm, reads, fs]

        def issue_one(rec, r, t):
            """Issue read ``r`` of fetch record ``rec`` asked for at ``t``: a unicast read
            takes its port now; a multicast read joins its group.  When the fetch unit may
            ask for its next read (None: held back by the group)."""
            t = r[4] = max(t, r[6])
            if r[3] is not None:
                arrive[r[3]].append((t, rec))
                return None
            r[5] = read(in_home if r[0] == "i" else "dram", r[1], r[2], t, rec[0].tile)
            return r[5][1] + (rec[2][3] if r[0] == "i" else rec[2][6])

        def fetch_end(rec):
            """(compute may start, fetched) of a fetch record whose groups were all issued;
            the reads it held back are issued now."""
            task, j, tm, reads, fs = rec
            ib, h_in, at, s_in, wb, h_w, s_w, prog = tm[:8]
            at_w = tm[13]
            t = fs
            first = in_end = w_end = w_first = None
            for r in reads:
                if r[5] is None:
                    r[4] = max(t if r[4] is None else r[4], r[6])
                    r[5] = (g_end[r[3]] if r[3] is not None else
                            read(in_home if r[0] == "i" else "dram", r[1], r[2], r[4],
                                 task.tile))
                s_, e_ = r[5]
                if r[0] == "i":
                    first, in_end = s_ + at, e_ + s_in
                    t = in_end if not concurrent else t
                elif r[0] == "w1":  # the first weight piece: compute may start on it
                    w_first = e_
                else:
                    w_end = e_ + s_w + prog
                    if w_first is None:
                        w_first = s_ + at_w if at_w is not None else w_end
                    t = w_end if not concurrent else t
            if in_end is None:
                first = in_end = fs if (concurrent or streaming) else (w_end or fs)
            if w_end is None:
                w_end = w_first = (fs if concurrent or streaming else in_end) + prog
            if concurrent:
                fetched = max(in_end, w_end)
                return (max(first, w_first if w_stream else w_end) if streaming
                        else fetched), fetched
            if streaming:
                return first, in_end
            return w_end, w_end

        # every tile's sequence: its blocks' chunks, a split-K reduction after its parts
        seq: dict[int, list] = {t: [] for t in tiles}
        reds: list[dict] = []
        n_k = p.split_k
        for b in range(0, len(tasks), n_k):
            parts = tasks[b:b + n_k]
            for task in parts:
                n0 = min(c.n0 for c in task.chunks)
                n1 = max(c.n1 for c in task.chunks)
                kc = task.kc
                sig = (task.m1 - task.m0, n1 - n0, None if kc is None else kc[1] - kc[0],
                       None if dense else (n0, kc),
                       tuple((c.ib, c.weight_bytes) for c in task.chunks))
                hit = memo.get(sig)
                if hit is None:
                    hit = memo[sig] = block(task)
                times, bc = hit
                compute_total += int(bc["compute"])
                if gate_nz:
                    cnt["dp"] += (task.m1 - task.m0) * self._nnz(L, n0, n1, kc)
                for k, v in bc.items():
                    if k != "compute" and not (gate_nz and k == "dp"):
                        cnt[k] += v
                red = len(reds) if kc is not None else None
                last = len(times) - 1
                seq[task.tile] += [("c", task, j, tm, red if j == last else None)
                                   for j, tm in enumerate(times)]
            if parts[0].kc is None:
                continue
            # reduction on the first part's tile, after every part
            tile, tk = parts[0].tile, len(parts)
            m0, m1 = parts[0].m0, parts[0].m1
            n = max(c.n1 for c in parts[0].chunks) - min(c.n0 for c in parts[0].chunks)
            rows = m1 - m0
            if not ideal:
                rows = max(1, min(rows, self.caps["ifmap"] // max(1, tk * n * pb),
                                  self.caps["ofmap"] // max(1, n * ab)))
            reds.append({"left": tk, "end": 0.0})
            for r0 in range(m0, m1, rows):
                el = (min(m1, r0 + rows) - r0) * n
                nb = el * pb
                # the parts' partial sums pulled one after another; streaming: the sum
                # starts once the first sub-block's bytes are in
                f, first, need = 0, None, _ceil(nb * tk, self.sub_blocks)
                for q, pt in enumerate(parts):
                    x = xfer(pt.tile, tile, nb, "tile")
                    if first is None and (q + 1) * nb >= need and not ideal:
                        hold = max(_ceil(nb, lb) if pt.tile != tile else 0,
                                   _ceil(nb, sr.ofmap.bytes_per_cycle))
                        first = f + x - hold + min(hold, _ceil(hold * (need - q * nb) / nb, 1))
                    f += x
                    cnt["ofmap_r"] += nb
                f += sram(sr.ifmap, nb * tk)
                first = f if (first is None or not streaming) else first
                cnt["ifmap_w"] += nb * tk
                cnt["ifmap_r"] += nb * tk
                ops = el * (tk - 1)
                vec_total += ops
                comp = _ceil(ops, arch.tile.vector_lanes)
                compute_total += comp
                cnt["ofmap_w"] += el * ab
                cnt["ofmap_r"] += el * ab
                w = xfer(tile, ("m", 0), el * ab, out_home, write=True)
                seq[tile].append(("r", len(reds) - 1, f, first, comp, w))
        # the tiles advance together: the tile whose next fetch starts first goes next, so
        # the memory ports see the reads about in the order the tiles issue them; a tile
        # whose chunk joins a multicast group waits there until every member has arrived
        pos = dict.fromkeys(tiles, 0)
        heap = [(0.0, 0, t) for t in tiles if seq[t]]  # (time, inputs' turn, tile)
        heapq.heapify(heap)
        waiting: dict[int, list[int]] = defaultdict(list)  # reduction -> tiles blocked on it
        arrive: dict[int, list] = defaultdict(list)  # group -> (asked at, fetch record)
        blocked: dict[int, list] = {}  # tile -> its fetch record waiting for groups
        inflight: dict[int, tuple] = {}  # tile -> (fetch record, when its next read is asked)

        def advance(tile):
            pos[tile] += 1
            if pos[tile] < len(seq[tile]):
                nxt = seq[tile][pos[tile]]
                heapq.heappush(heap, (fetch_start(tile, ser_in=nxt[0] == "c" and nxt[3][15]),
                                      0, tile))

        def finish(tile, rec):
            nonlocal end
            task, j, tm, _reads, _fs = rec
            c, stall, tail, w, sram_f, _at_w, fill = tm[8:15]
            start, fe = fetch_end(rec)
            t_end = run_chunk(tile, start, fe, c, stall, tail, w, f_sram=sram_f, fill=fill,
                              ser_out=tm[18])
            end = max(end, t_end)
            red = seq[tile][pos[tile]][4]
            if red is not None:
                r = reds[red]
                r["left"] -= 1
                r["end"] = max(r["end"], t_end)
                if not r["left"]:
                    for wt in waiting.pop(red, []):
                        heapq.heappush(heap, (fetch_start(wt, r["end"]), 0, wt))
            advance(tile)

        def issue(gid):
            """The group's one read, asked for when its last member arrived."""
            who = arrive.pop(gid)
            r0 = next(r for r in who[0][1][3] if r[3] == gid)
            where = in_home if r0[0] == "i" else "dram"
            g_end[gid] = read(where, r0[1], r0[2], max(t for t, _ in who), None, groups[gid])
            for _, rec in who:
                tile = rec[0].tile
                if blocked.get(tile) is rec and all(r[3] is None or r[3] in g_end
                                                    for r in rec[3]):
                    del blocked[tile]
                    finish(tile, rec)

        while heap or blocked:
            if not heap:  # members that never meet (a cut the schedule would not make):
                gid = min(arrive, key=lambda k: min(t for t, _ in arrive[k]))
                issue(gid)  # the group goes with the members it has
                continue
            _, prio, tile = heapq.heappop(heap)
            item = seq[tile][pos[tile]]
            if item[0] == "r":
                r = reds[item[1]]
                if r["left"]:
                    waiting[item[1]].append(tile)
                    continue
                _, _, f, first, comp, w = item
                fs = fetch_start(tile, r["end"])
                tail = comp // self.sub_blocks if streaming else 0
                end = max(end, run_chunk(tile, fs + first, fs + f, comp, 0, tail, w))
                advance(tile)
                continue
            if prio == 0:
                _, task, j, tm, _red = item
                rec = fetch_begin(task, j, tm, fetch_start(tile, ser_in=tm[15]))
                reads, fs = rec[3], rec[4]
                if concurrent and streaming:  # the weights' read goes out now (its own
                    # process), the inputs' after the other tiles starting now asked for theirs
                    pieces = reads and reads[0][0] == "w1"
                    for r in reads:  # weight pieces: the first now, the rest after the inputs
                        if r[0] == ("w1" if pieces else "w"):
                            issue_one(rec, r, fs)
                    if any(r[0] == "i" for r in reads):
                        inflight[tile] = (rec, fs)
                        heapq.heappush(heap, (fs, 1, tile))
                        continue
                elif prefetch:  # the inputs' read, then the weights' at once
                    for r in reads:
                        issue_one(rec, r, fs)
                elif reads:  # one read after the other: the second when the first is in
                    t = issue_one(rec, reads[0], fs)
                    if t is not None and len(reads) > 1:
                        inflight[tile] = (rec, t)
                        heapq.heappush(heap, (t, 1, tile))
                        continue
            else:
                rec, t = inflight.pop(tile)
                for r in rec[3]:
                    if r[4] is None:
                        issue_one(rec, r, t)
            pending = [r[3] for r in rec[3] if r[3] is not None and r[3] not in g_end]
            if not pending:
                finish(tile, rec)
                continue
            blocked[tile] = rec
            for gid in dict.fromkeys(pending):
                if gid in arrive and len(arrive[gid]) == len(groups[gid]):
                    issue(gid)
        # edge-memory traffic, the tiles' fetches in time order (the j-th chunk of every
        # task in turn): a read shared by a multicast group moves once along its XY tree
        done: set[int] = set()
        for j in range(max(len(t.chunks) for t in tasks)):
            for t in tasks:
                if j >= len(t.chunks):
                    continue
                ch = t.chunks[j]
                for si, where, nb, runs in ((0, in_home, ch.ib, ch.runs),
                                            (-1, "dram", ch.weight_bytes, ())):
                    if not nb:
                        continue
                    gid = assign.get((t.id, j, si))
                    if gid is None:
                        move(self._path(self._port(where, ctr), t.tile), nb, where, runs=runs)
                    elif gid not in done:
                        done.add(gid)
                        move(self._tree(self._port(where, ctr), groups[gid])[0], nb, where,
                             runs=runs)
                if t.kc is None:
                    ob = (ch.r1 - ch.r0) * (ch.n1 - ch.n0) * ab
                    move(self._path(t.tile, self._port(out_home, ctr)), ob, out_home, True)
        # shared resources: every link (a global-buffer port's edge link carries ``lanes``
        # transfers), the DRAM channels, the gbuf ports
        busiest = max((v / (self.lanes[lk[1]] if lk[0] in ("in", "out") else 1)
                       for lk, v in link_flits.items()), default=0)
        if not ideal:
            busiest = max(busiest, mem_bytes["dram"] / (nch * d.bytes_per_cycle_per_channel),
                          mem_bytes["gbuf"] / max(1, g.ports * g.bytes_per_cycle))
            # ... and a tile still computes and writes its last chunk after its last bytes
            latency = max(end, busiest + min(d.latency_cycles, g.latency_cycles
                                             if g.capacity_bytes else d.latency_cycles)
                          + min(post.values(), default=0.0))
        else:
            latency = end
        energy = 0.0
        if self.e is not None:
            e = self.e
            energy = (cnt["mac"] * (e["mac"] + e["gate"]) + cnt["dp"] * dp
                      + cnt["select"] * e["select"] + cnt["decode"] * e["decode"]
                      + cnt["program"] * e["program"] + vec_total * e["vector"]
                      + cnt["shadow"] * e["shadow"]
                      + cnt["flit"] * e["flit"] + cnt["dram"] * e["dram"]
                      + cnt["dram_w"] * e["dram_w"] + cnt["gbuf"] * e["gbuf"]
                      + cnt["gbuf_w"] * e["gbuf_w"]
                      + sum(cnt[f"{b}_{a}"] * e[f"{b}_{a}"] for b in ("ifmap", "weight", "ofmap")
                            for a in ("r", "w"))
                      + self.leak_uw * latency / arch.clock_mhz)
        return Estimate(latency_cycles=float(latency), energy_pj=float(energy),
                        compute_cycles=compute_total, dram_bytes=mem_bytes["dram"],
                        gbuf_bytes=mem_bytes["gbuf"], flit_hops=int(cnt["flit"]),
                        vector_ops=vec_total, multicast_groups=len(groups))
