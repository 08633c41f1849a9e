#!/usr/bin/env python3
"""Run Stream (stream-dse 2.1.1) on a few ResNet-18 CIFAR layers on a 4-core accelerator; print JSON.

Run with the stream venv made by scripts/peers/install_peers.sh (python3.12, stream-dse, onnx):

    PY=${ARCHSIM_PEERS:-$HOME/.cache/archsim-peers}/stream/bin/python
    $PY scripts/peers/stream_run.py                       # 2 fused convs, Stream's 4-core TPU-like example
    $PY scripts/peers/stream_run.py --channels 16 --size 16 --keep /tmp/stream_out

In:  the workload is built here as ONNX (ResNet-18 CIFAR basic-block convs: 3x3, pad 1, C -> C,
     H x W), the hardware is Stream's bundled ``inputs/examples/hardware/tpu_like_quad_core.yaml``
     (4 TPU-like compute cores on a 2x2 mesh + pooling, SIMD and an off-chip DRAM core) unless
     ``--hardware`` names another YAML, and the mapping YAML is written here: every conv on cores
     0-3 with its output channels split 4 ways, all convs in one fused group (layer fusion),
     tiled by output rows.
Out: JSON with Stream's cycle estimate per fused group, dispatch cycles, total, what the solve's
     context holds about energy, and wall time.  See docs/stream_peer.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def make_onnx(path: str, n_convs: int, channels: int, size: int) -> None:
    import onnx
    from onnx import TensorProto, helper, shape_inference

    nodes, inits = [], []
    prev = "input"
    for i in range(n_convs):
        wname = f"w{i}"
        # zero weights, then the data dropped: Stream needs only the shape and type
        t = helper.make_tensor(
            wname, TensorProto.INT8, [channels, channels, 3, 3], [0] * (channels * channels * 9)
        )
        t.ClearField("int32_data")
        inits.append(t)
        out = "output" if i == n_convs - 1 else f"act{i}"
        nodes.append(
            helper.make_node(
                "Conv",
                [prev, wname],
                [out],
                name=f"Conv{i}",
                kernel_shape=[3, 3],
                pads=[1, 1, 1, 1],
                strides=[1, 1],
            )
        )
        prev = out
    graph = helper.make_graph(
        nodes,
        "resnet18_cifar_convs",
        [helper.make_tensor_value_info("input", TensorProto.INT8, [1, channels, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.INT8, [1, channels, size, size])],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="archsim"
    )
    onnx.save(shape_inference.infer_shapes(model), path)


def make_mapping(
    path: str, n_convs: int, cores: list[int], split_dim: str, tile_dim: str, tile: int
) -> None:
    import yaml

    layers = [
        {
            "name": f"Conv{i}",
            "core_allocation": [list(cores)],
            "inter_core_tiling": [[{"dim": split_dim, "split": len(cores)}]],
        }
        for i in range(n_convs)
    ]
    mapping = {
        "layers": layers,
        "fused_groups": [
            {
                "name": "group0",
                "layers": [f"Conv{i}" for i in range(n_convs)],
                "intra_core_tiling": [{"dim": f"Conv0.{tile_dim}", "tile": tile}],
            }
        ],
        "runtime_args": {"input": {}, **{f"w{i}": {} for i in range(n_convs)}, "output": {}},
    }
    with open(path, "w") as f:
        yaml.safe_dump(mapping, f, sort_keys=False)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--convs", type=int, default=2)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument(
        "--hardware", default=None, help="Stream hardware YAML (default: its tpu_like_quad_core)"
    )
    ap.add_argument(
        "--split-dim", default="D6", help="Stream's dim split across cores (default D6)"
    )
    ap.add_argument("--tile-dim", default="D0", help="fused-group tiling dim of Conv0 (default D0)")
    ap.add_argument("--tile", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()

    import stream
    import yaml
    from stream.api import SolveOptions, evaluate_mapping

    hw = args.hardware or os.path.join(
        os.path.dirname(stream.__file__), "inputs/examples/hardware/tpu_like_quad_core.yaml"
    )
    with tempfile.TemporaryDirectory(prefix="stream_run_") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        onnx_path, map_path = str(work / "workload.onnx"), str(work / "mapping.yaml")
        make_onnx(onnx_path, args.convs, args.channels, args.size)
        make_mapping(map_path, args.convs, [0, 1, 2, 3], args.split_dim, args.tile_dim, args.tile)
        t0 = time.perf_counter()
        est = evaluate_mapping(
            hw,
            onnx_path,
            str(work / "out"),
            map_path,
            SolveOptions(time_limit_s=args.time_limit, artifacts=True),
        )
        wall = time.perf_counter() - t0
        groups = []
        for gdir in sorted((work / "out").glob("group_*")):
            lut = yaml.safe_load((gdir / "core_cost_lut.yaml").read_text())
            rep = gdir / "allocation" / "reports" / "slot_latency_breakdown.yaml"
            entries = [
                {
                    "node": n["node"],
                    "core": c["core_id"],
                    "latency_cycles": c["latency_cycles"],
                    "ideal_cycles": c["ideal_cycles"],
                    "energy_pj": c["energy_pj"],
                }
                for n in lut["nodes"]
                for c in n["cores"]
            ]
            groups.append(
                {
                    "group": gdir.name,
                    "totals": yaml.safe_load(rep.read_text())["totals"] if rep.exists() else None,
                    "core_cost_lut": entries,
                    # every conv is split over cores 0-3 (one quarter each), so its compute energy is
                    # the sum of its entries on those cores
                    "compute_energy_pj": sum(
                        e["energy_pj"] for e in entries if e["core"] in (0, 1, 2, 3)
                    ),
                }
            )
        out = {
            "stream_version": _version(),
            "hardware": hw,
            "workload": {"convs": args.convs, "channels": args.channels, "size": args.size},
            "cycles_total": est.cycles,
            "group_cycles": list(est.group_cycles),
            "dispatch_cycles": est.dispatch_cycles,
            "compute_energy_pj": sum(g["compute_energy_pj"] for g in groups),
            "groups": groups,
            "wall_s": wall,
        }
    print(json.dumps(out, indent=1, default=str))
    return 0


def _version() -> str:
    from importlib.metadata import version

    return version("stream-dse")


if __name__ == "__main__":
    sys.exit(main())
