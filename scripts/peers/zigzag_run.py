#!/usr/bin/env python3
"""Run ZigZag (zigzag-dse 3.9) on one layer of a single-core accelerator and print JSON.

Run with the zigzag venv made by scripts/peers/install_peers.sh:

    PY=${ARCHSIM_PEERS:-$HOME/.cache/archsim-peers}/zigzag/bin/python
    $PY scripts/peers/zigzag_run.py spec.json            # or '-' for stdin
    $PY scripts/peers/zigzag_run.py --example conv3x3 --dataflow ws
    $PY scripts/peers/zigzag_run.py --example conv3x3 --print-spec   # the spec format, filled in

In: a JSON spec (``--print-spec`` shows a complete one; docs/zigzag_peer.md describes every field):
  array      R x C PEs, one MAC per PE per cycle, MAC energy (pJ), optional systolic drain
  registers  per-PE registers for W, I, O: bits, read/write energy per access (pJ)
  sram       local buffers for W, I, O: size_bytes, read/write bandwidth (bits/cycle), read/write
             energy (pJ) per access of word_bits
  dram       bandwidth (bits/cycle, one shared read/write port), energy per word_bits access
  layer      conv (K, C, OY, OX, FY, FX, stride, padding, B) or gemm (M, N, K), precisions (bits)
  dataflow   null: ZigZag generates spatial mappings; "os" | "ws" | "is": a fixed spatial mapping
             (os: OX on rows x K on cols; ws: C on rows x K on cols; is: C on rows x OX on cols)
  opt        "latency" | "energy" | "EDP": what ZigZag's LOMA temporal-mapping search minimises
Out (stdout): JSON with latency (total, ideal, stall/slack, on-/offloading, systolic drain), energy
(total, MAC, per memory level per operand and direction), word accesses per level per operand and
direction, the chosen spatial and temporal mapping, ZigZag's generated YAML inputs, wall time.

The spec is turned into ZigZag's own inputs (accelerator YAML, mapping YAML, workload as a list of
layer dicts) and run through ``zigzag.api.get_hardware_performance_zigzag`` (the LOMA engine).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import logging
import os
import sys
import tempfile
import time
from contextlib import redirect_stdout

import yaml

EXAMPLE = {
    "name": "archsim_like_16x16",
    "array": {"rows": 16, "cols": 16, "mac_energy_pj": 0.2, "systolic": False},
    "registers": {
        "W": {"bits": 8, "r_pj": 0.02, "w_pj": 0.02},
        "I": {"bits": 8, "r_pj": 0.02, "w_pj": 0.02},
        "O": {"bits": 24, "r_pj": 0.03, "w_pj": 0.03},
    },
    "sram": {
        "W": {
            "size_bytes": 65536,
            "r_bw_bits": 128,
            "w_bw_bits": 128,
            "word_bits": 64,
            "r_pj": 5.0,
            "w_pj": 6.0,
        },
        "I": {
            "size_bytes": 65536,
            "r_bw_bits": 128,
            "w_bw_bits": 128,
            "word_bits": 64,
            "r_pj": 5.0,
            "w_pj": 6.0,
        },
        "O": {
            "size_bytes": 32768,
            "r_bw_bits": 384,
            "w_bw_bits": 384,
            "word_bits": 64,
            "r_pj": 5.0,
            "w_pj": 6.0,
        },
    },
    "dram": {"bw_bits": 128, "word_bits": 64, "r_pj": 640.0, "w_pj": 640.0},
    "layer": {
        "type": "conv",
        "B": 1,
        "K": 64,
        "C": 64,
        "OY": 32,
        "OX": 32,
        "FY": 3,
        "FX": 3,
        "stride": 1,
        "padding": 1,
        "precision": {"I": 8, "W": 8, "O": 24, "O_final": 8},
    },
    "dataflow": None,
    "opt": "latency",
    "lpf_limit": 6,
    "nb_spatial_mappings": 3,
}
EXAMPLES = {
    "conv3x3": {},  # ResNet-18 CIFAR layer1 conv: 64 -> 64, 3x3, 32x32, pad 1
    "conv1x1": {
        "layer": {
            "type": "conv",
            "B": 1,
            "K": 128,
            "C": 64,
            "OY": 16,
            "OX": 16,
            "FY": 1,
            "FX": 1,
            "stride": 2,
            "padding": 0,
            "precision": {"I": 8, "W": 8, "O": 24, "O_final": 8},
        }
    },
    "gemm": {
        "layer": {
            "type": "gemm",
            "M": 100,
            "N": 70,
            "K": 90,
            "precision": {"I": 8, "W": 8, "O": 24, "O_final": 8},
        }
    },
}
MEM_OP = {"I": "I1", "W": "I2", "O": "O"}


def example(name: str) -> dict:
    spec = copy.deepcopy(EXAMPLE)
    spec.update(copy.deepcopy(EXAMPLES[name]))
    return spec


def _costs(m: dict, bw_key: str, pj_key: str) -> float:
    """ZigZag charges r_cost/w_cost per access of the port's bandwidth_max bits; the spec gives the
    energy per word_bits access, so scale by bandwidth / word_bits (energy = words moved x cost)."""
    bw = m[bw_key]
    word = m.get("word_bits", bw)
    return m[pj_key] * bw / word


def accelerator_yaml(spec: dict) -> dict:
    arr, regs, srams, dram = spec["array"], spec["registers"], spec["sram"], spec["dram"]
    mems: dict = {}
    for op in ("W", "I", "O"):
        r, mop = regs[op], MEM_OP[op]
        bits = r["bits"]
        if op == "O":
            ports = [
                {
                    "name": "r_port_1",
                    "type": "read",
                    "bandwidth_min": bits,
                    "bandwidth_max": bits,
                    "allocation": ["O, tl"],
                },
                {
                    "name": "r_port_2",
                    "type": "read",
                    "bandwidth_min": bits,
                    "bandwidth_max": bits,
                    "allocation": ["O, th"],
                },
                {
                    "name": "w_port_1",
                    "type": "write",
                    "bandwidth_min": bits,
                    "bandwidth_max": bits,
                    "allocation": ["O, fh"],
                },
                {
                    "name": "w_port_2",
                    "type": "write",
                    "bandwidth_min": bits,
                    "bandwidth_max": bits,
                    "allocation": ["O, fl"],
                },
            ]
        else:
            ports = [
                {
                    "name": "r_port_1",
                    "type": "read",
                    "bandwidth_min": bits,
                    "bandwidth_max": bits,
                    "allocation": [f"{mop}, tl"],
                },
                {
                    "name": "w_port_1",
                    "type": "write",
                    "bandwidth_min": bits,
                    "bandwidth_max": bits,
                    "allocation": [f"{mop}, fh"],
                },
            ]
        mems[f"reg_{op}"] = {
            "size": bits,
            "r_cost": r["r_pj"],
            "w_cost": r["w_pj"],
            "area": 0,
            "latency": 1,
            "operands": [mop],
            "ports": ports,
            "served_dimensions": [],
        }
    for op in ("W", "I", "O"):
        s, mop = srams[op], MEM_OP[op]
        rmin, wmin = s.get("word_bits", s["r_bw_bits"]), s.get("word_bits", s["w_bw_bits"])
        ralloc = ["O, tl", "O, th"] if op == "O" else [f"{mop}, tl"]
        walloc = ["O, fh", "O, fl"] if op == "O" else [f"{mop}, fh"]
        ports = [
            {
                "name": "r_port_1",
                "type": "read",
                "bandwidth_min": min(rmin, s["r_bw_bits"]),
                "bandwidth_max": s["r_bw_bits"],
                "allocation": ralloc,
            },
            {
                "name": "w_port_1",
                "type": "write",
                "bandwidth_min": min(wmin, s["w_bw_bits"]),
                "bandwidth_max": s["w_bw_bits"],
                "allocation": walloc,
            },
        ]
        mems[f"sram_{op}"] = {
            "size": int(s["size_bytes"] * 8),
            "r_cost": _costs(s, "r_bw_bits", "r_pj"),
            "w_cost": _costs(s, "w_bw_bits", "w_pj"),
            "area": 0,
            "latency": 1,
            "operands": [mop],
            "ports": ports,
            "served_dimensions": ["D1", "D2"],
        }
    dword = dram.get("word_bits", dram["bw_bits"])
    mems["dram"] = {
        "size": 10**12,
        "r_cost": _costs(dram, "bw_bits", "r_pj"),
        "w_cost": _costs(dram, "bw_bits", "w_pj"),
        "area": 0,
        "latency": 1,
        "operands": ["I1", "I2", "O"],
        "ports": [
            {
                "name": "rw_port_1",
                "type": "read_write",
                "bandwidth_min": min(dword, dram["bw_bits"]),
                "bandwidth_max": dram["bw_bits"],
                "allocation": [
                    "I1, fh",
                    "I1, tl",
                    "I2, fh",
                    "I2, tl",
                    "O, fh",
                    "O, tl",
                    "O, fl",
                    "O, th",
                ],
            }
        ],
        "served_dimensions": ["D1", "D2"],
    }
    prec = spec["layer"]["precision"]
    oa = {
        "input_precision": [prec["I"], prec["W"]],
        "unit_energy": arr["mac_energy_pj"],
        "unit_area": 1,
        "dimensions": ["D1", "D2"],
        "sizes": [arr["rows"], arr["cols"]],
    }
    if arr.get("systolic"):
        oa["systolic_dimensions"] = ["D1", "D2"]
    return {"name": spec.get("name", "accelerator"), "memories": mems, "operational_array": oa}


def layer_dims(layer: dict) -> dict:
    """ZigZag loop sizes; a GEMM M x N x K is a 1x1 conv: OX = M, K(out) = N, C = K."""
    if layer["type"] == "gemm":
        return (
            {"B": 1, "K": layer["N"], "C": layer["K"], "OY": 1, "OX": layer["M"], "FY": 1, "FX": 1},
            1,
            0,
        )
    d = {k: layer[k] for k in ("K", "C", "OY", "OX", "FY", "FX")}
    d["B"] = layer.get("B", 1)
    return d, layer.get("stride", 1), layer.get("padding", 0)


def workload(spec: dict) -> list[dict]:
    layer = spec["layer"]
    dims, s, p = layer_dims(layer)
    order = ["B", "K", "C", "OY", "OX", "FY", "FX"]
    node = {
        "id": 0,
        "name": layer.get("name", "layer0"),
        "operator_type": "Conv",
        "equation": "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]",
        "dimension_relations": [f"ix={s}*ox+1*fx", f"iy={s}*oy+1*fy"],
        "loop_dims": order,
        "loop_sizes": [dims[d] for d in order],
        "operand_precision": dict(layer["precision"]),
        "operand_source": {"W": 0, "I": 0},
    }
    if p:
        node.update(pr_loop_dims=["IY", "IX"], padding=[[p, p], [p, p]])
    return [node]


def spatial_for(dataflow: str, spec: dict) -> dict:
    R, C = spec["array"]["rows"], spec["array"]["cols"]
    dims, _, _ = layer_dims(spec["layer"])
    rows_dim, cols_dim = {"os": ("OX", "K"), "ws": ("C", "K"), "is": ("C", "OX")}[dataflow]
    return {
        "D1": [f"{rows_dim}, {min(R, dims[rows_dim])}"],
        "D2": [f"{cols_dim}, {min(C, dims[cols_dim])}"],
    }


def mapping_yaml(spec: dict) -> list[dict]:
    entry: dict = {"name": "default", "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}}
    if spec.get("dataflow"):
        entry["spatial_mapping"] = spatial_for(spec["dataflow"], spec)
    if spec.get("temporal_ordering"):
        entry["temporal_ordering"] = spec["temporal_ordering"]
    return [entry]


def _dirs(x) -> dict:
    return {str(k): v for k, v in x.data.items()}


def run(spec: dict) -> dict:
    from zigzag.api import get_hardware_performance_zigzag

    acc, mp, wl = accelerator_yaml(spec), mapping_yaml(spec), workload(spec)
    with tempfile.TemporaryDirectory(prefix="zigzag_run_") as tmp:
        acc_path, map_path = (
            os.path.join(tmp, "accelerator.yaml"),
            os.path.join(tmp, "mapping.yaml"),
        )
        with open(acc_path, "w") as f:
            yaml.safe_dump(acc, f, sort_keys=False)
        with open(map_path, "w") as f:
            yaml.safe_dump(mp, f, sort_keys=False)
        t0 = time.perf_counter()
        log = io.StringIO()
        with redirect_stdout(log):
            energy, latency, cmes = get_hardware_performance_zigzag(
                workload=wl,
                accelerator=acc_path,
                mapping=map_path,
                opt=spec.get("opt", "latency"),
                dump_folder=os.path.join(tmp, "out"),
                lpf_limit=spec.get("lpf_limit", 6),
                nb_spatial_mappings_generated=spec.get("nb_spatial_mappings", 3),
                loma_show_progress_bar=False,
            )
        wall = time.perf_counter() - t0
    cme = cmes[0][1][0][0]  # the single layer's best CostModelEvaluation
    accel = cme.accelerator
    levels = {}
    accesses, e_level, e_dir = {}, {}, {}
    for layer_op in cme.layer.layer_operands:
        mem_op = cme.memory_operand_links.layer_to_mem_op(layer_op)
        names = [lv.name for lv in accel.memory_hierarchy.get_memory_levels(mem_op)]
        op = str(layer_op)
        levels[op] = names
        accesses[op] = {n: _dirs(a) for n, a in zip(names, cme.memory_word_access[layer_op])}
        e_level[op] = dict(zip(names, cme.mem_energy_breakdown[layer_op]))
        e_dir[op] = {n: _dirs(a) for n, a in zip(names, cme.mem_energy_breakdown_further[layer_op])}
    return {
        "zigzag_version": _version(),
        "spec": spec,
        "latency_cycles": {
            "total": cme.latency_total2,
            "ideal": cme.ideal_cycle,
            "ideal_temporal": cme.ideal_temporal_cycle,
            "stall_slack": cme.latency_total0 - cme.ideal_temporal_cycle,
            "computation": cme.latency_total0,
            "onloading": cme.data_onloading_cycle,
            "offloading": cme.data_offloading_cycle,
            "systolic_drain": cme.systolic_drain_cycle,
            "stall_slack_per_port": {
                lv.name: {port: v for port, v in ports.items() if v}
                for lv, ports in zip(cme.mem_level_list, cme.stall_slack_comb_collect)
            },
            "mac_utilization": {
                "spatial": cme.mac_spatial_utilization,
                "with_stalls": cme.mac_utilization0,
                "with_onloading": cme.mac_utilization1,
                "total": cme.mac_utilization2,
            },
        },
        "energy_pj": {
            "total": cme.energy_total,
            "mac": cme.mac_energy,
            "memory": cme.mem_energy,
            "per_level": e_level,
            "per_level_per_direction": e_dir,
        },
        "memory_levels": levels,
        "word_accesses": accesses,
        "macs": cme.layer.total_mac_count,
        "spatial_mapping": str(cme.spatial_mapping_int.mapping_dict_origin),
        "temporal_mapping": {
            str(op): [[str(loop) for loop in lv] for lv in levs]
            for op, levs in cme.temporal_mapping.mapping_dic_stationary.items()
        },
        "api_energy": energy,
        "api_latency": latency,
        "zigzag_inputs": {"accelerator": acc, "mapping": mp, "workload": wl},
        "wall_s": wall,
    }


def _version() -> str:
    from importlib.metadata import version

    return version("zigzag-dse")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("spec", nargs="?", help="JSON spec file, or '-' for stdin")
    ap.add_argument("--example", choices=sorted(EXAMPLES), help="use a built-in spec")
    ap.add_argument(
        "--dataflow", choices=["os", "ws", "is", "auto"], help="override the spec's dataflow"
    )
    ap.add_argument("--opt", choices=["latency", "energy", "EDP"], help="override the spec's opt")
    ap.add_argument("--print-spec", action="store_true", help="print the (example) spec and exit")
    ap.add_argument(
        "--no-inputs", action="store_true", help="leave the generated ZigZag inputs out"
    )
    args = ap.parse_args()
    if args.example:
        spec = example(args.example)
    elif args.spec == "-":
        spec = json.load(sys.stdin)
    elif args.spec:
        with open(args.spec) as f:
            spec = json.load(f)
    else:
        ap.error("give a spec file, '-' or --example")
    if args.dataflow:
        spec["dataflow"] = None if args.dataflow == "auto" else args.dataflow
    if args.opt:
        spec["opt"] = args.opt
    if args.print_spec:
        print(json.dumps(spec, indent=1))
        return 0
    logging.disable(logging.CRITICAL)
    out = run(spec)
    if args.no_inputs:
        out.pop("zigzag_inputs")
    print(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
