"""Fast analytic cost of one layer under one :class:`~archsim.mapping.plan.LayerPlan`.

In:  a :class:`~archsim.mapping.layer.GemmLayer`, its plan, the design point, its cost model
     (``archsim.energy.CostModel``) and where the layer's input lives (``gbuf`` | ``dram``)
     and its output goes.
Out: :class:`Estimate` -- latency (cycles), energy (pJ) and the traffic behind them -- in
     about a millisecond, to rank mapping candidates before SimPy runs the best few; and
     :meth:`LayerModel.bound`, lower bounds of both from per-block sums in tens of
     microseconds (the search's pre-filter, see its docstring).

How (the same chunk sequence the mapper builds, timed without SimPy):
  - per chunk: the layer's fold model under the design point's sparsity mode
    (:meth:`~archsim.mapping.layer.GemmLayer.fold`) and the mapper's own
    :class:`~archsim.mapping.layer.ChunkTiming`: compute cycles (x cycles/MAC, LUT-bank and
    gather-network bounds) plus the SRAM-bandwidth stall, exactly the Chunk's; fetch = for the
    input and the weights each ``memory latency + hops x (hop + router latency) + max(flits,
    port bytes / memory bandwidth)`` (DRAM moves whole bursts: port bytes rounded up to
    ``dram.burst_bytes``) plus the SRAM write ``latency + bytes / bytes_per_cycle`` (inputs
    kept in the buffer cost nothing), plus LUT programming; write = the same transfer to the
    edge memory;
  - per tile, the fetch -> compute -> write pipeline of :mod:`archsim.sim.tile` with two input
    and two output slots: fetch i starts after fetch i-1 and compute i-2; compute i after
    fetch i, compute i-1 and write i-2; write i after compute i and write i-1; the array holds
    a port of the ifmap and weight buffers while it computes, so with one-port buffers the
    SRAM write of fetch i waits for compute i-1 to end; a layer planned ``input_buffer:
    single`` (on a double-buffered buffer) starts an input fetch after compute i-1, and
    weights going to a single weight buffer (``weight_buffer: single``, or one not
    double-buffered) arrive no earlier than compute i-1's end plus their own fetch; a layer
    whose outputs go to a single output buffer (``output_buffer: single``, or one not
    double-buffered) starts compute i after write i-1;
  - fold pipelining (``tile.pe_array.fold_pipelining``): the fold model's pipelined cycles,
    and a chunk whose fetch and output slot are ready before the previous chunk's compute
    ends hides min(fill, that slack) of its compute (the simulator also caps it by the
    previous chunk's drain); the lower bound subtracts every chunk's fill;
  - split-K: each reduction waits for its partial blocks and pulls them tile to tile;
  - sharing: the layer cannot end before the busiest shared resource has moved its bytes
    (every mesh link by XY routing, the DRAM channels, the global-buffer ports): latency =
    max(slowest tile, memory latency + busiest resource);
  - energy: counted actions x the cost model's per-action energies (issued MACs clock the PE
    registers; the datapath switches for non-zero weights only with zero gating; zero
    checks, selects and metadata decodes as the tiles count them; the layer's input sign sets
    the operations per MAC), plus leakage over the latency (the SimPy run counts the same
    actions; what differs is contention time).
A product of two activations (matmul) is estimated as a GEMM whose "weights" are its second
operand (fetched like weights, at the dynamic operand's cycles per MAC); its activation tables
(tmac / luttc) and the operand's real source are not modelled -- the search keeps the
heuristic plan for these layers.
Not modelled here (SimPy has them): waiting for a contended link or port, and overlap with
neighbouring layers.  docs/mapping.md states the measured error.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from archsim.mapping.layer import ChunkTiming, GemmLayer, buffer_caps, shadow_bits
from archsim.mapping.partition import split_range
from archsim.mapping.plan import LayerPlan
from archsim.mapping.regions import port_bytes as burst_port_bytes
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
        self.attach = [min(self.rows - 1, (2 * c + 1) * self.rows // (2 * d.channels))
                       for c in range(d.channels)]
        self.costs = costs
        sp = t.sparsity
        self.gating = sp.zero_gating
        self.ops_by_sign = {v: effective_ops(self.pe, org, v) for v in (False, True)}
        self.burst = arch.dram.burst_bytes
        self.one_port = {b: getattr(t.sram, b).ports == 1 for b in ("ifmap", "weight")}
        self._timing: dict[int, ChunkTiming] = {}
        self.e = self._energies(costs) if costs is not None else None
        self.leak_uw = costs.leakage_uw() if costs is not None else 0.0
        self._paths: dict[tuple, list] = {}
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
        """Links of the XY route (same naming as the SimPy mesh): ("m", ch) memory ports."""
        key = (src, dst)
        hit = self._paths.get(key)
        if hit is not None:
            return hit
        names: list = []
        if isinstance(src, tuple):
            names.append(("in", src[1]))
            sr, sc = self.attach[src[1]], 0
        else:
            sr, sc = divmod(src, self.cols)
        if isinstance(dst, tuple):
            dr, dc = self.attach[dst[1]], 0
        else:
            dr, dc = divmod(dst, self.cols)
        r, c = sr, sc
        while c != dc:
            s = 1 if dc > c else -1
            names.append((r, c, "E" if s > 0 else "W"))
            c += s
        while r != dr:
            s = 1 if dr > r else -1
            names.append((r, c, "S" if s > 0 else "N"))
            r += s
        if isinstance(dst, tuple):
            names.append(("out", dst[1]))
        self._paths[key] = names
        return names

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
            lat, bpc = a.gbuf.latency_cycles, a.gbuf.bytes_per_cycle
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
                        blk = max(comp + (f_lat + hin if n_f else 0)
                                  + (w_lat + hout if w_ser else 0),
                                  n_if * f_lat + ib * f_byte + w_fix + n_f * hin,
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
        mb = {"dram": w_b, "gbuf": 0.0}
        mb[in_home] += in_b
        reads = mb["dram"] + mb["gbuf"]
        mb[out_home] += out_b
        if not ideal:
            lb = self.link_bytes
            busiest = max(mb["dram"] / (nch * d.bytes_per_cycle_per_channel),
                          mb["gbuf"] / max(1, g.ports * g.bytes_per_cycle),
                          reads / (nch * lb), out_b / (nch * lb), in_max / lb, out_max / lb)
            latency = max(latency, busiest + min(d.latency_cycles, g.latency_cycles
                                                 if g.capacity_bytes else d.latency_cycles))
        energy = 0.0
        if self.e is not None:
            e = self.e
            energy = (e_tot + in_b * (e["ifmap_w"] + e[in_home])
                      + w_b * (e["weight_w"] + e["dram"])
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
            tiles = range(first, first + count)
            hit = self._hop_cache[(first, count)] = (
                min(len(self._path(("m", c), t)) for t in tiles
                    for c in range(self.arch.dram.channels)) * self.hop,
                min(len(self._path(t, ("m", c))) for t in tiles
                    for c in range(self.arch.dram.channels)) * self.hop)
        return hit

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
    def estimate(self, L: GemmLayer, p: LayerPlan, *, in_home: str = "dram",
                 out_home: str = "gbuf", keep_inputs: bool = False) -> Estimate:
        """Latency and energy of layer ``L`` mapped by ``p`` alone on the chip (module doc)."""
        arch, ideal = self.arch, self.ideal
        d, g = arch.dram, arch.gbuf
        nch = d.channels
        mem_lat = {"dram": d.latency_cycles, "gbuf": g.latency_cycles}
        mem_bpc = {"dram": d.bytes_per_cycle_per_channel, "gbuf": g.bytes_per_cycle}
        sr = arch.tile.sram
        ab = L.act_bytes
        pb = L.acc_bytes
        df = p.dataflow
        timing = self._timing.get(ab)
        if timing is None:
            timing = self._timing[ab] = ChunkTiming(arch, ab)
        mode = L.rule.mode
        tiles = list(range(p.tile_first, p.tile_first + p.tile_count))
        T = len(tiles)
        m_parts = split_range(L.M, p.split_pixels)
        n_parts = L.n_parts(p.split_channels)
        k_parts = [None] if p.split_k == 1 else split_range(L.cin_per_group, p.split_k)
        link_flits: dict = defaultdict(int)
        mem_bytes = {"dram": 0, "gbuf": 0}
        cnt = defaultdict(float)  # energy-relevant counts
        rr = [0]

        def xfer(src, dst, nbytes, where=None, write=False):
            """(cycles) of one uncontended transfer; counts links, bytes and flits."""
            if nbytes <= 0:
                return 0
            if where is not None:
                ch = rr[0] % nch
                rr[0] += 1
                if isinstance(src, tuple):
                    src = ("m", ch)
                if isinstance(dst, tuple):
                    dst = ("m", ch)
            path = self._path(src, dst) if src != dst else []
            flits = _ceil(nbytes, self.link_bytes)
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
                lat, bpc = mem_lat[where], mem_bpc[where]
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
        resident: dict[int, tuple] = {}
        in_res: dict[int, tuple] = {}
        compute_total = 0
        vec_total = 0

        def run_chunk(tile, f, c, w, ready=0.0, f_sram=0, fill=0, ser_in=False, f_w=0,
                      ser_out=False):
            """``f`` fetch cycles, of which the last ``f_sram`` write a one-port buffer the
            array holds while it computes the previous chunk; fold pipelining: a chunk ready
            before the previous one ends hides up to ``fill`` of its ``c`` cycles (as
            ``sim.tile``, without its check of the previous chunk's drain); ``ser_in``: the
            inputs go to a single-buffered input buffer (the fetch starts when the previous
            chunk's compute ends); ``f_w``: the cycles of weights going to a single weight
            buffer (they start when the previous chunk -- the last user of the weights
            there -- has computed); ``ser_out``: the outputs take the whole output buffer
            (the compute starts when the previous chunk's outputs are written back)."""
            st = state[tile]
            ce, we = st[1], st[2]
            fs = max(st[0], ce[-2] if len(ce) >= 2 else 0.0, ready)
            if ser_in and ce:
                fs = max(fs, ce[-1])
            fe = fs + f
            if f_w and ce:
                fe = max(fe, ce[-1] + f_w)
            if f_sram and ce and ce[-1] > fe - f_sram:
                fe = ce[-1] + f_sram
            ready_c = max(fe, we[-2] if len(we) >= 2 else 0.0)
            if ser_out and we:
                ready_c = max(ready_c, we[-1])
            cs = max(ready_c, ce[-1] if ce else 0.0)
            c_end = cs + c - (max(0.0, min(fill, ce[-1] - ready_c)) if (fill and ce) else 0)
            ws = max(c_end, we[-1] if we else 0.0)
            st[0] = fe
            ce.append(c_end)
            we.append(ws + w)
            return ws + w

        # blocks of one shape share one timeline when no filter's zeros change their timing
        # (mode none, or a near-dense layer); with zero gating their datapath MACs are the
        # block's own non-zero weights x pixels
        dense = mode == "none" or self._density(L) >= 0.97
        gate_nz = dense and self.gating
        dp = self.e[f"dp{int(L.act_signed)}"] if self.e is not None else 0.0

        i = 0
        mem = ("m", 0)
        end = 0.0
        # blocks on their own tiles with the same shape (and, when sparse, the same filters)
        # take the same time: one is worked out, the others reuse it (their own mesh paths)
        memo_ok = p.blocks <= T  # one block per tile
        memo: dict = {}

        def block(tile, m0, m1, n0, n1, kc):
            """Chunk times (fetch, compute, write) of one block, its counts and bytes moved."""
            partial = kc is not None
            nc, mc = p.chunk_channels, p.chunk_pixels
            cr = [(c0, min(n1, c0 + nc)) for c0 in range(n0, n1, nc)]
            rr_ = [(r0, min(m1, r0 + mc)) for r0 in range(m0, m1, mc)]
            order = ([(c, r) for c in cr for r in rr_] if p.loop_order == "channel_major"
                     else [(c, r) for r in rr_ for c in cr])
            times, bc = [], defaultdict(float)
            sram_f = 0
            one_in = p.input_buffer == "single" and sr.ifmap.double_buffered
            one_w = p.weight_buffer == "single" or not sr.weight.double_buffered
            # outputs written back (not split-K partial sums, which stay in the tile) to a
            # single output buffer
            one_out = not partial and (p.output_buffer == "single"
                                       or not sr.ofmap.double_buffered)
            hops_in = len(self._path(mem, tile)) * self.hop
            hops_out = len(self._path(tile, mem)) * self.hop
            for (c0, c1), (r0, r1) in order:
                reg = L.input_region(r0, r1, c0, c1, kc)
                ib = reg.elements * ab  # a strided conv: its touched pixels only
                if keep_inputs and in_res.get(tile) == reg:
                    ib = 0
                in_res[tile] = reg
                f = sram_f = f_w = 0
                if ib:
                    runs = reg.runs(ab)
                    s_in = sram(sr.ifmap, ib)
                    f += self._mem_time(in_home, ib, hops_in, runs) + s_in
                    if self.one_port["ifmap"]:
                        sram_f = s_in
                    bc["in_" + in_home] += self.port_bytes(in_home, ib, runs)
                    bc["ifmap_w"] += ib
                    bc["in_flits"] += _ceil(ib, self.link_bytes)
                key = (c0, c1, kc)
                wb = 0 if resident.get(tile) == key else L.weight_bytes(df, c0, c1, kc)
                resident[tile] = key
                if wb:
                    s_w = sram(sr.weight, wb)
                    f_w = self._mem_time("dram", wb, hops_in) + s_w
                    f += f_w
                    sram_f = s_w if self.one_port["weight"] else 0
                    bc["in_dram"] += self.port_bytes("dram", wb)
                    bc["weight_w"] += wb
                    bc["in_flits"] += _ceil(wb, self.link_bytes)
                fc = L.fold(df, r1 - r0, c0, c1, kc)
                if self.banks and self.entries_fold:
                    entries = fc.folds * self.entries_fold
                    bc["program"] += entries
                    if not ideal:
                        prog = _ceil(_ceil(entries, self.banks) * self.word_bytes,
                                     self.program_bpc)
                        f += prog
                        f_w += prog if wb else 0
                if L.dynamic:  # matmul: no activation tables or build counted here
                    cw = timing.dynamic_chunk(L, r1 - r0, c1 - c0, fc)
                else:
                    cw = timing.chunk(r1 - r0, c1 - c0, fc, mode, partial)
                comp = cw.compute_cycles + cw.sram_stall_cycles
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
                    bc["out_" + out_home] += self.port_bytes(out_home, ob)
                    bc["out_flits"] += _ceil(ob, self.link_bytes)
                    w = self._mem_time(out_home, ob, hops_out)
                times.append((f, comp, w, sram_f, cw.fill_cycles, one_in and ib > 0,
                              f_w if one_w else 0, one_out))
            return times, bc

        for n0, n1 in n_parts:
            for m0, m1 in m_parts:
                part_tiles, part_end = [], 0.0
                for kc in k_parts:
                    tile = tiles[i % T]
                    i += 1
                    sig = (m1 - m0, n1 - n0, None if kc is None else kc[1] - kc[0],
                           None if dense else (n0, kc))
                    hit = memo.get(sig) if memo_ok else None
                    if hit is None:
                        hit = block(tile, m0, m1, n0, n1, kc)
                        if memo_ok:
                            memo[sig] = hit
                    times, bc = hit
                    t_end = 0.0
                    for f, c, w, fs_, fill, ser_in, f_w, ser_out in times:
                        t_end = run_chunk(tile, f, c, w, f_sram=fs_, fill=fill, ser_in=ser_in,
                                          f_w=f_w, ser_out=ser_out)
                    compute_total += int(bc["compute"])
                    if gate_nz:
                        cnt["dp"] += (m1 - m0) * self._nnz(L, n0, n1, kc)
                    for k, v in bc.items():
                        if k in ("in_flits", "out_flits", "compute") or (gate_nz and k == "dp"):
                            continue
                        if k.startswith(("in_", "out_")):
                            where = k.split("_", 1)[1]
                            mem_bytes[where] += v
                            cnt[where + ("_w" if k.startswith("out_") else "")] += v
                        else:
                            cnt[k] += v
                    pin, pout = self._path(("m", rr[0] % nch), tile), self._path(
                        tile, ("m", rr[0] % nch))
                    rr[0] += 1
                    for lk in pin:
                        link_flits[lk] += bc["in_flits"]
                    for lk in pout:
                        link_flits[lk] += bc["out_flits"]
                    cnt["flit"] += bc["in_flits"] * len(pin) + bc["out_flits"] * len(pout)
                    part_tiles.append(tile)
                    part_end = max(part_end, t_end)
                    end = max(end, t_end)
                if kc is None:
                    continue
                # reduction on the first part's tile, after every part
                tile, tk, n = part_tiles[0], len(part_tiles), n1 - n0
                rows = m1 - m0
                if not ideal:
                    rows = max(1, min(rows, self.caps["ifmap"] // max(1, tk * n * pb),
                                      self.caps["ofmap"] // max(1, n * ab)))
                in_res.pop(tile, None)
                for r0 in range(m0, m1, rows):
                    el = (min(m1, r0 + rows) - r0) * n
                    nb = el * pb
                    f = 0
                    for pt in part_tiles:
                        f += xfer(pt, tile, nb, "tile")
                        cnt["ofmap_r"] += nb
                    f += sram(sr.ifmap, nb * tk)
                    cnt["ifmap_w"] += nb * tk
                    cnt["ifmap_r"] += nb * tk
                    ops = el * (tk - 1)
                    vec_total += ops
                    comp = _ceil(ops, arch.tile.vector_lanes)
                    compute_total += comp
                    cnt["ofmap_w"] += el * ab
                    cnt["ofmap_r"] += el * ab
                    w = xfer(tile, mem, el * ab, out_home, write=True)
                    end = max(end, run_chunk(tile, f, comp, w, ready=part_end))
        # shared resources: every link, the DRAM channels, the gbuf ports
        busiest = max(link_flits.values(), default=0)
        if not ideal:
            busiest = max(busiest, mem_bytes["dram"] / (nch * d.bytes_per_cycle_per_channel),
                          mem_bytes["gbuf"] / max(1, g.ports * g.bytes_per_cycle))
            latency = max(end, busiest + min(d.latency_cycles, g.latency_cycles
                                             if g.capacity_bytes else d.latency_cycles))
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
                        vector_ops=vec_total)
