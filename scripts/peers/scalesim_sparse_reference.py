#!/usr/bin/env python3
"""Regenerate tests/data/scalesim_sparse_reference.json from real SCALE-Sim v3 (3.0.0) runs.

One command, from the repo root (any Python >= 3.9; SCALE-Sim itself runs in the venv made by
scripts/peers/install_peers.sh):

    python scripts/peers/scalesim_sparse_reference.py     # 45 s on 2 idle cores, more under load

What it runs (all SCALE-Sim configs mirror benchmarks/scalesim_layers/scalesim_16x16_*.cfg:
4 MiB SRAMs, InterfaceBandwidth CALC = stall-free, no custom layout, no Ramulator):

  * arrays 16x16 and 32x32  x  dataflows os, ws, is  x  LAYERS (conv 3x3, 1x1, strided 3x3,
    5x5, first-layer 3-channel conv, two GEMMs with M, N, K not multiples of the array size)
    x N:M ratios RATIOS, with SparsitySupport true, SparseRep ellpack_block,
    OptimizedMapping false;
  * the same with SparsitySupport false (dense) for comparison;
  * SparseRep csr and csc on the 16x16 array (only SPARSE_REPORT.csv changes);
  * OptimizedMapping true, dataflow ws, BlockSize 4 and 8 (os and is are attempted too: SCALE-Sim
    3.0.0 rejects them with an AssertionError, which is recorded).

Each SCALE-Sim invocation simulates one topology CSV holding every (layer, ratio) row; SCALE-Sim
simulates layers independently (each layer gets fresh operand matrices, compute and memory
objects), so this equals one run per row (``--check-independence`` re-runs the first and last row of
every sparse invocation alone and compares all report columns).  SCALE-Sim is driven
through its own library entry point (``scalesim.scale_sim.scalesim(...).run_scale``) with
``save_disk_space=True`` so no per-cycle traces are written (``python -m scalesim.scale`` ignores
its ``-s N`` flag and always writes them); the reports are the same.

Every record keeps the exact inputs (topology row; cfg text under ``configs`` by name; the
topology header and the layout row are the same for every record, at the top level) and every
column of COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv, DETAILED_ACCESS_REPORT.csv and (sparse runs)
SPARSE_REPORT.csv, plus ``closed_form``: this script's closed-form prediction of the
'Total Cycles' column (docs/scalesim_sparse.md), which the script checks against every run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "tests" / "data" / "scalesim_sparse_reference.json"
DEFAULT_VENV = (
    Path(os.environ.get("ARCHSIM_PEERS", Path.home() / ".cache" / "archsim-peers")) / "scalesim"
)

# name, kind, parameters.  conv: ifmap H, W, filter H, W, channels, filters, stride.
# gemm: M (rows of A = output rows), N (cols of B = outputs per row), K (reduction).
LAYERS = [
    (
        "conv3x3",
        "conv",
        {
            "ifmap_h": 10,
            "ifmap_w": 10,
            "filt_h": 3,
            "filt_w": 3,
            "channels": 21,
            "filters": 40,
            "stride": 1,
        },
    ),
    (
        "conv1x1",
        "conv",
        {
            "ifmap_h": 8,
            "ifmap_w": 8,
            "filt_h": 1,
            "filt_w": 1,
            "channels": 48,
            "filters": 36,
            "stride": 1,
        },
    ),
    (
        "conv3x3_s2",
        "conv",
        {
            "ifmap_h": 11,
            "ifmap_w": 11,
            "filt_h": 3,
            "filt_w": 3,
            "channels": 16,
            "filters": 24,
            "stride": 2,
        },
    ),
    (
        "conv5x5",
        "conv",
        {
            "ifmap_h": 9,
            "ifmap_w": 9,
            "filt_h": 5,
            "filt_w": 5,
            "channels": 5,
            "filters": 20,
            "stride": 1,
        },
    ),
    (
        "conv_rgb",
        "conv",
        {
            "ifmap_h": 12,
            "ifmap_w": 12,
            "filt_h": 3,
            "filt_w": 3,
            "channels": 3,
            "filters": 16,
            "stride": 1,
        },
    ),
    ("gemm_a", "gemm", {"M": 50, "N": 37, "K": 70}),
    ("gemm_b", "gemm", {"M": 23, "N": 70, "K": 45}),
]
RATIOS = ["1:1", "1:2", "1:4", "2:4", "3:4", "4:4", "1:8", "2:8", "4:8"]
ARRAYS = [16, 32]
DATAFLOWS = ["os", "ws", "is"]
OPT_RATIOS = ["1:1", "2:4", "2:8"]  # OptimizedMapping ignores N; M only sizes the metadata
OPT_BLOCKS = [4, 8]

CONV_HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
    "Num Filter, Strides, Sparsity,"
)
GEMM_HEADER = "Layer, M, N, K, Sparsity,"
LAYOUT_HEADER = (
    "Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, Filter Height "
    "Intraline Factor, Filter Width Intraline Factor, Channel Intraline Factor, Num Filter Intraline "
    "Factor, IFMAP Height Intraline Order, IFMAP Width Intraline Order, Channel Intraline Order, "
    "IFMAP Height Interline Order, IFMAP Width Interline Order, Channel Interline Order, Num Filter "
    "Intraline Order, Channel Intraline Order, Filter Height Intraline Order, Filter Width Intraline "
    "Order, Num Filter Interline Order, Channel Interline Order, Filter Height Interline Order, "
    "Filter Width Interline Order,"
)
LAYOUT_ROW_TAIL = "1, 1, 1, 1, 1, 1, 0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 0, 1, 2, 3,"

DRIVER = """
import sys
from scalesim.scale_sim import scalesim
cfg, topo, layout, gemm, out = sys.argv[1:6]
s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=layout,
             input_type_gemm=(gemm == 'gemm'))
s.run_scale(top_path=out)
"""


def cfg_text(
    name: str,
    array: int,
    dataflow: str,
    sparse: bool,
    rep: str = "ellpack_block",
    optimized: bool = False,
    block: int = 8,
) -> str:
    return f"""# SCALE-Sim v3 (3.0.0) config mirroring benchmarks/scalesim_layers/scalesim_16x16_*.cfg
# ({array}x{array} array, stall-free CALC bandwidth, 4 MiB SRAMs), sparsity as named.
[general]
run_name = {name}

[architecture_presets]
ArrayHeight:    {array}
ArrayWidth:     {array}
IfmapSramSzkB:   4096
FilterSramSzkB:  4096
OfmapSramSzkB:   4096
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : {dataflow}
MemoryBanks:   1
ReadRequestBuffer: 512
WriteRequestBuffer: 512

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : {"true" if sparse else "false"}
SparseRep : {rep}
OptimizedMapping : {"true" if optimized else "false"}
BlockSize : {block}
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


def topo_row(rowname: str, kind: str, p: dict, ratio: str | None) -> str:
    cols = (
        [
            p["ifmap_h"],
            p["ifmap_w"],
            p["filt_h"],
            p["filt_w"],
            p["channels"],
            p["filters"],
            p["stride"],
        ]
        if kind == "conv"
        else [p["M"], p["N"], p["K"]]
    )
    cells = [rowname] + [str(c) for c in cols] + ([ratio] if ratio else [])
    return ", ".join(cells) + ","


def gemm_view(kind: str, p: dict) -> dict:
    """SCALE-Sim's GEMM view of a layer: M = ofmap pixels, N = filters, K = window."""
    if kind == "gemm":
        return {"M": p["M"], "N": p["N"], "K": p["K"]}
    s = p["stride"]
    oh = (p["ifmap_h"] - p["filt_h"] + s) // s  # topology_utils.topo_calc_hyperparams
    ow = (p["ifmap_w"] - p["filt_w"] + s) // s
    return {
        "M": oh * ow,
        "N": p["filters"],
        "K": p["filt_h"] * p["filt_w"] * p["channels"],
        "ofmap_h": oh,
        "ofmap_w": ow,
    }


def ceil(a: int, b: int) -> int:
    return -(-a // b)


def compressed_k(k: int, n: int, m: int) -> int:
    """Rows of SCALE-Sim's compressed filter (= cols of its compressed IFMAP), non-optimized."""
    return (k // m) * n + min(n, k % m)


def closed_form(dataflow: str, rows: int, cols: int, M: int, N: int, K: int) -> int:
    """SCALE-Sim v3 stall-free 'Total Cycles' of a dense M x N x K GEMM (archsim/fold.py)."""
    if dataflow == "os":
        return ceil(M, rows) * ceil(N, cols) * (K + rows + cols - 2) - 1
    if dataflow == "ws":
        return ceil(K, rows) * ceil(N, cols) * (2 * rows + cols + M - 2) - 1
    return ceil(K, rows) * ceil(M, cols) * (2 * rows + cols + N - 2) - 1


def predict(rec: dict) -> dict:
    g, (n, m) = rec["gemm_view"], [int(x) for x in rec["ratio"].split(":")]
    R = C = rec["array"]
    if not rec["sparsity_support"]:
        k_eff = g["K"]
    elif rec["optimized_mapping"]:
        b = rec["block_size"]
        k_eff = ceil(g["K"], 2 * b) * b
    else:
        k_eff = compressed_k(g["K"], n, m)
    out = {
        "k_effective": k_eff,
        "total_cycles": closed_form(rec["dataflow"], R, C, g["M"], g["N"], k_eff),
    }
    if rec["sparsity_support"] and rec["sparse_rep"] == "ellpack_block":
        bits = (m - 1).bit_length()  # ceil(log2 M)
        out["metadata_storage_words"] = k_eff * g["N"] * bits / 32
    return out


def read_report(path: Path) -> list[dict]:
    with open(path) as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0] if h.strip()]
    out = []
    for r in rows[1:]:
        cells = [c.strip() for c in r]
        cells = cells[: len(header)]
        rec = {}
        for h, c in zip(header, cells):
            try:
                v = float(c)
                rec[h] = int(v) if v.is_integer() and "." not in c else v
            except ValueError:
                rec[h] = c
        out.append(rec)
    return out


def run_group(py: Path, work: Path, group: dict) -> dict:
    """One SCALE-Sim invocation: a cfg + a topology of many rows."""
    gdir = work / group["name"]
    gdir.mkdir(parents=True)
    (gdir / "c.cfg").write_text(group["cfg"])
    header = GEMM_HEADER if group["input_type"] == "gemm" else CONV_HEADER
    (gdir / "topo.csv").write_text(
        "\n".join([header] + [r["topology_row"] for r in group["rows"]]) + "\n"
    )
    (gdir / "layout.csv").write_text(
        "\n".join([LAYOUT_HEADER] + [f"{r['row_name']}, {LAYOUT_ROW_TAIL}" for r in group["rows"]])
        + "\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.perf_counter()
    cmd = [str(py), "-c", DRIVER, "c.cfg", "topo.csv", "layout.csv", group["input_type"], "out"]
    p = subprocess.run(cmd, cwd=gdir, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    res = {"wall_s": wall, "returncode": p.returncode}
    if p.returncode != 0:
        lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
        res["error"] = "\n".join(lines[-3:])
        return res
    outdir = gdir / "out" / group["cfg_name"]
    for rep in ("COMPUTE_REPORT", "BANDWIDTH_REPORT", "DETAILED_ACCESS_REPORT", "SPARSE_REPORT"):
        f = outdir / f"{rep}.csv"
        if f.exists():
            res[rep] = read_report(f)
    return res


def build_groups() -> list[dict]:
    groups = []

    def add(name, array, df, sparse, rep, opt, block, ratios):
        cfg = cfg_text(name, array, df, sparse, rep, opt, block)
        for it in ("conv", "gemm"):
            rows = []
            for lname, kind, p in LAYERS:
                if kind != it:
                    continue
                for ratio in ratios:
                    rowname = f"{lname}__{ratio.replace(':', 'of')}" if ratio else lname
                    rows.append(
                        {
                            "layer": lname,
                            "kind": kind,
                            "params": p,
                            "ratio": ratio or "1:1",
                            "row_name": rowname,
                            "topology_row": topo_row(rowname, kind, p, ratio),
                        }
                    )
            groups.append(
                {
                    "name": f"{name}_{it}",
                    "cfg_name": name,
                    "cfg": cfg,
                    "array": array,
                    "dataflow": df,
                    "sparse": sparse,
                    "rep": rep,
                    "opt": opt,
                    "block": block,
                    "input_type": it,
                    "rows": rows,
                }
            )

    for a in ARRAYS:
        for df in DATAFLOWS:
            add(f"dense_{a}x{a}_{df}", a, df, False, "ellpack_block", False, 8, [None])
            add(
                f"sparse_{a}x{a}_{df}_ellpack_block", a, df, True, "ellpack_block", False, 8, RATIOS
            )
    for df in DATAFLOWS:
        for rep in ("csr", "csc"):
            add(f"sparse_16x16_{df}_{rep}", 16, df, True, rep, False, 8, RATIOS)
    for a in ARRAYS:
        for df in DATAFLOWS:
            for b in OPT_BLOCKS:
                add(
                    f"sparse_{a}x{a}_{df}_ellpack_block_opt_b{b}",
                    a,
                    df,
                    True,
                    "ellpack_block",
                    True,
                    b,
                    OPT_RATIOS,
                )
    return groups


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--venv", type=Path, default=DEFAULT_VENV, help="SCALE-Sim venv (install_peers.sh)"
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="keep SCALE-Sim's run folders here")
    ap.add_argument(
        "--check-independence",
        action="store_true",
        help="also re-run the first and last row of each sparse invocation alone and compare",
    )
    args = ap.parse_args()
    py = args.venv / "bin" / "python"
    if not py.exists():
        sys.exit(f"{py} missing: run bash scripts/peers/install_peers.sh scalesim")
    probe = (
        "import importlib.metadata as m, sys; "
        "print(m.version('scalesim'), m.version('numpy'), sys.version.split()[0])"
    )
    ver = subprocess.run(
        [str(py), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    groups = build_groups()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ss_sparse_") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=args.jobs) as ex:
            results = list(ex.map(lambda g: run_group(py, work, g), groups))
            if args.check_independence:
                singles = [
                    (g, res, i, dict(g, name=f"{g['name']}__row{i}", rows=[g["rows"][i]]))
                    for g, res in zip(groups, results)
                    if g["sparse"] and "error" not in res
                    for i in sorted({0, len(g["rows"]) - 1})
                ]
                alone = list(ex.map(lambda s: run_group(py, work, s[3]), singles))
                bad = 0
                for (g, res, i, _), a in zip(singles, alone):
                    for rep in (
                        "COMPUTE_REPORT",
                        "BANDWIDTH_REPORT",
                        "DETAILED_ACCESS_REPORT",
                        "SPARSE_REPORT",
                    ):
                        x, y = dict(res[rep][i]), dict(a[rep][0])
                        x.pop("LayerID"), y.pop("LayerID")
                        if x != y:
                            bad += 1
                            print(f"  NOT INDEPENDENT: {g['name']} row {i} {rep}: {x} vs alone {y}")
                print(f"independence: {len(singles)} rows re-run alone, {bad} report differences")
    wall = time.perf_counter() - t0

    configs, records, unsupported, mismatches = {}, [], [], []
    for g, res in zip(groups, results):
        configs[g["cfg_name"]] = g["cfg"]
        if "error" in res:
            unsupported.append(
                {
                    "config": g["cfg_name"],
                    "input_type": g["input_type"],
                    "dataflow": g["dataflow"],
                    "optimized_mapping": g["opt"],
                    "error": res["error"],
                }
            )
            continue
        for i, row in enumerate(g["rows"]):
            rec = {
                "config": g["cfg_name"],
                "array": g["array"],
                "dataflow": g["dataflow"],
                "sparsity_support": g["sparse"],
                "sparse_rep": g["rep"] if g["sparse"] else None,
                "optimized_mapping": g["opt"] if g["sparse"] else False,
                "block_size": g["block"] if g["sparse"] and g["opt"] else None,
                "input_type": g["input_type"],
                "layer": row["layer"],
                "ratio": row["ratio"],
                "topology_row": row["topology_row"],
                "gemm_view": gemm_view(row["kind"], row["params"]),
            }
            for rep in (
                "COMPUTE_REPORT",
                "BANDWIDTH_REPORT",
                "DETAILED_ACCESS_REPORT",
                "SPARSE_REPORT",
            ):
                if rep in res:
                    r = dict(res[rep][i])
                    assert r.pop("LayerID") == i
                    rec[rep.lower()] = r
            rec["closed_form"] = cf = predict(rec)
            ok = cf["total_cycles"] == rec["compute_report"]["Total Cycles"]
            if "metadata_storage_words" in cf:
                ok = (
                    ok
                    and cf["metadata_storage_words"]
                    == rec["sparse_report"]["Filter Metadata Storage"]
                )
            rec["closed_form"]["matches"] = ok
            if not ok:
                mismatches.append(rec)
            records.append(rec)

    doc = {
        "generator": "scripts/peers/scalesim_sparse_reference.py",
        "scalesim_version": ver[0],
        "numpy_version": ver[1],
        "python_version": ver[2],
        "description": (
            "Real SCALE-Sim v3 outputs for sparse (N:M, ellpack_block/csr/csc, OptimizedMapping) "
            "and dense runs; see docs/scalesim_sparse.md. 'gemm_view' is SCALE-Sim's GEMM view "
            "(M = ofmap pixels, N = filters, K = window); 'closed_form' is the generator's "
            "prediction, checked against every run."
        ),
        "layers": [
            {"name": n, "kind": k, "params": p, "gemm_view": gemm_view(k, p)} for n, k, p in LAYERS
        ],
        "ratios": RATIOS,
        "topology_headers": {"conv": CONV_HEADER, "gemm": GEMM_HEADER},
        "layout": {
            "header": LAYOUT_HEADER,
            "row": "<first cell of topology_row>, " + LAYOUT_ROW_TAIL,
        },
        "run_command": (
            "<scalesim venv python> -c DRIVER c.cfg topo.csv layout.csv <input_type> out, "
            "DRIVER = " + DRIVER.strip()
        ),
        "configs": configs,
        "unsupported": unsupported,
        "records": records,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # one record per line: small diffs when regenerated
    body = json.dumps({k: v for k, v in doc.items() if k != "records"}, indent=1)[:-2]
    recs = ",\n".join("  " + json.dumps(r, separators=(",", ":")) for r in records)
    args.out.write_text(body + ',\n "records": [\n' + recs + "\n ]\n}\n")
    print(
        f"scalesim {ver[0]}: {len(groups)} invocations, {len(records)} layer records, "
        f"{len(unsupported)} unsupported combinations, wall {wall:.1f} s -> {args.out}"
    )
    for u in unsupported:
        print(f"  unsupported: {u['config']} ({u['input_type']}): {u['error'].splitlines()[-1]}")
    print(
        f"closed form: {len(records) - len(mismatches)}/{len(records)} records match "
        "(Total Cycles and ellpack metadata storage)"
    )
    for r in mismatches[:20]:
        print(
            f"  MISMATCH {r['config']} {r['layer']} {r['ratio']}: scalesim "
            f"{r['compute_report']['Total Cycles']} vs closed form {r['closed_form']}"
        )
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
