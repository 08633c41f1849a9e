"""The plain-data summary of a run: what ``summary.json`` holds and scripts read.

In:  a priced run (:class:`~archsim.pipeline.SimResult`).
Out: a JSON-serialisable dict (keys and units defined in docs/metrics.md).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_summary", "mechanisms"]


def mechanisms(arch) -> dict[str, Any]:
    """The modelling mechanisms a design point switches on (docs/model.md)."""
    ic, f = arch.interconnect, arch.tile.fetch
    return {"multicast": ic.multicast, "streaming": f.streaming,
            "stream_sub_blocks": f.sub_blocks, "weight_prefetch": f.weight_prefetch,
            "weight_streaming": f.weight_streaming,
            "write_streaming": f.write_streaming,
            "memory_edges": list(ic.memory_edges),
            "gbuf_attach": arch.gbuf.attach,
            "fold_pipelining": arch.tile.pe_array.fold_pipelining}


def build_summary(res) -> dict[str, Any]:
    """Plain-data summary of a priced run (JSON-serialisable); metrics: docs/metrics.md."""
    self = res
    clock_hz = self.arch.clock_mhz * 1e6
    return {
        "workload": self.workload,
        "arch": self.arch.name,
        "arch_source": self.arch.source,
        "dataflow": self.dataflow,
        "mapping": self.mapping,
        "sparsity_mode": self.arch.tile.sparsity.mode,
        "zero_gating": self.arch.tile.sparsity.zero_gating,
        "seed": self.seed,
        "pe_kind": self.pe_kind,
        "tiles": self.arch.n_tiles,
        "pes_per_tile": self.arch.pes_per_tile,
        "latency_cycles": self.latency_cycles,
        "latency_us": self.latency_cycles / clock_hz * 1e6,
        "macs_dense": self.macs_dense,
        "macs_executed": self.macs_executed,
        "utilization": self.utilization,
        "compute_bound_cycles": self.compute_bound_cycles,
        "dram_bound_cycles": self.dram_bound_cycles,
        "bounds": self.bounds,
        "mechanisms": mechanisms(self.arch),
        "events": self.events,
        "stall_cycles": self.stall_cycles(),
        "layers": [
            {
                "node": l.node, "op": l.op, "start_cycle": l.start_cycle,
                "end_cycle": l.end_cycle, "cycles": l.cycles,
                "compute_cycles": l.compute_cycles,
                "fill_hidden_cycles": l.fill_hidden_cycles, "macs_dense": l.macs_dense,
                "macs_executed": l.macs_executed,
                "mapping_efficiency": (l.macs_executed / l.pe_slots) if l.pe_slots else None,
                "tasks": l.tasks, "tiles": l.tiles,
                "partition": list(l.partition) if l.partition else None,
                "stall_cycles": dict(sorted(l.stall_cycles.items())),
                "energy_pj": (self.layer_energy[l.node].total_pj
                              if l.node in self.layer_energy else None),
                "energy_by_class_pj": (dict(sorted(
                    self.layer_energy[l.node].by_class_pj.items()))
                    if l.node in self.layer_energy else None),
            }
            for l in self.layers
        ],
        "per_tile": [
            {
                "tile": t.tile, "busy_cycles": t.busy_cycles,
                "busy_fraction": (t.busy_cycles / self.latency_cycles
                                  if self.latency_cycles else 0.0),
                # the headline utilisation of this tile alone: the mean over tiles is the
                # chip's ``utilization`` (docs/metrics.md)
                "utilization": (t.macs_executed * self.cycles_per_mac
                                / (self.arch.pes_per_tile * self.latency_cycles)
                                if self.latency_cycles else 0.0),
                "macs_executed": t.macs_executed, "tasks": t.tasks,
                "stall_cycles": dict(sorted(t.stall_cycles.items())),
            }
            for t in self.tiles
        ],
        "actions": dict(sorted((str(k), v) for k, v in self.actions.items())),
        "functional": self.functional,
        "workload_info": dict(getattr(self, "workload_info", {}) or {}),
        "lut_organisation": getattr(self, "lut_organisation", None),
        "energy": self.energy.as_dict() if self.energy is not None else None,
        "area": self.area.as_dict() if self.area is not None else None,
    }
