"""Small hand-checkable design points and workloads for the simulator tests."""

from __future__ import annotations

from pathlib import Path

from archsim.design.arch import arch_from_dict


def tiny_arch(**over):
    """1 tile, 4x4 MAC array, 1 DRAM channel of 4 B/cycle with 4-byte bursts, no global
    buffer, fast SRAMs."""
    sram = {"capacity_bytes": 4096, "banks": 1, "ports": 1, "bytes_per_cycle": 16,
            "latency_cycles": 0, "double_buffered": True}
    d = {
        "name": "tiny",
        "clock_mhz": 100.0,
        "grid": {"rows": 1, "cols": 1},
        "tile": {
            "pe_array": {"rows": 4, "cols": 4, "pe_kind": "mac",
                         "pe_params": {"act_bits": 8, "weight_bits": 8}},
            "lut_banks": {"count": 0},
            "sram": {"ifmap": dict(sram), "weight": dict(sram), "ofmap": dict(sram)},
            "router": {"latency_cycles": 0},
            "vector_lanes": 4,
        },
        "interconnect": {"link_bytes_per_cycle": 4, "hop_latency_cycles": 1},
        "dram": {"channels": 1, "bytes_per_cycle_per_channel": 4, "latency_cycles": 10,
                 "burst_bytes": 4},
        "gbuf": {"capacity_bytes": 0},
    }
    for k, v in over.items():
        node = d
        parts = k.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return arch_from_dict(d, source="tests/sim/helpers.py:tiny_arch")


def gemm_csv(tmp: Path, rows: list[tuple[str, int, int, int]]) -> Path:
    path = tmp / "gemm.csv"
    path.write_text("Layer, M, N, K,\n"
                    + "".join(f"{n}, {m}, {nn}, {k},\n" for n, m, nn, k in rows))
    return path


def conv_csv(tmp: Path, rows) -> Path:
    path = tmp / "conv.csv"
    head = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
            "Num Filter, Strides,\n")
    path.write_text(head + "".join(", ".join(map(str, r)) + ",\n" for r in rows))
    return path
