"""LUT schemes for low-bit transformers on one simulated chip: mac, lutna, tmac, luttc.

In:  --out folder (default reports/llm_lut), --tokens T (decoder prefill length and decode
     cache, default 512), --vit-depth (default 12), --functional (carry real data and check
     every node against the torch integer reference; default on).
Out: ``results.csv`` / ``results.json`` (one row per workload x PE kind x weight precision:
     latency, tokens per second at the design point's clock, energy by component class, table
     programming energy and stall share, area by class, utilisation, functional check),
     ``float_error.csv`` (each integer approximation against float), ``README.md`` (headline
     table and the assumptions each conclusion depends on) and PNG plots.
Run: ``python scripts/llm_lut_study.py`` (about a minute on one core).

Design points: the shipped 4 x 4-tile ``mac_4x4``, ``lutna_4x4``, ``tmac_4x4`` and
``luttc_4x4`` (same tiles, buffers, NoC, DRAM and clock; 256 PEs per tile: 16 x 16, or the
elongated 4 x 64 LUT Tensor Core tile), with signed 8-bit activations and the weight
precision of the row: W1.58 (ternary {-1, 0, +1}), W2, W4. Dataflow ``ws``; ``luttc`` runs
``os`` (its accumulators sit in the elongated M x N tile, K streams).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

KINDS = ("mac", "lutna", "tmac", "luttc")
PRECISIONS = {"W1.58": (2, "ternary"), "W2": (2, "int"), "W4": (4, "int")}
CLASSES = ("pe_array", "lut_bank", "vector", "sram", "noc_link", "gbuf", "dram")


def _arch(kind: str, bits: int, code: str):
    from archsim.design.arch import load_arch

    arch = load_arch(f"{kind}_4x4")
    params = {"act_bits": 8, "act_signed": True, "weight_bits": bits, "weights": code}
    params.update({"lutna": {"digit_bits": 4}, "tmac": {"group": 4},
                   "luttc": {"k_dim": 4}}.get(kind, {}))
    return arch.with_overrides({"tile.pe_array.pe_params": params})


def _workloads(tokens: int, depth: int, bits: int, functional: bool):
    from workloads.transformer import build_transformer

    return {
        f"decoder_prefill_T{tokens}": (build_transformer(
            "decoder_block", tokens=tokens, weight_bits=bits, sample=functional), tokens),
        f"decoder_decode_T{tokens}": (build_transformer(
            "decoder_block", tokens=tokens, phase="decode", weight_bits=bits,
            sample=functional), 1),
        "vit_tiny": (build_transformer("vit_tiny", depth=depth, weight_bits=bits,
                                       sample=functional), 1),
    }


def _row(res, workload: str, kind: str, prec: str, items: int) -> dict:
    e, a = res.energy, res.area
    secs = res.latency_cycles / (res.arch.clock_mhz * 1e6)
    prog_pj = sum(v for k, v in e.by_action_pj.items() if k.endswith(".program"))
    stalls = res.stall_cycles()
    busy = sum(t.busy_cycles for t in res.tiles) or 1
    row = {
        "workload": workload, "kind": kind, "precision": prec, "pe": res.arch.pe().label,
        "dataflow": res.dataflow, "latency_cycles": res.latency_cycles,
        "latency_us": secs * 1e6,
        "items_per_s": items / secs if secs else 0.0,
        "energy_uj": e.total_pj / 1e6, "leakage_uj": e.leakage_pj / 1e6,
        "table_program_energy_share": prog_pj / e.total_pj if e.total_pj else 0.0,
        "table_program_stall_share": stalls.get("lut_program", 0.0) / (busy + sum(
            stalls.values())),
        "utilization": res.utilization, "area_mm2": a.total_mm2,
        "macs": res.macs_executed,
        "exact_match": None if res.functional is None else res.functional["exact_match"],
        "wall_s": res.wall_seconds,
    }
    for c in CLASSES:
        row[f"energy_{c}_uj"] = e.by_class_pj.get(c, 0.0) / 1e6
        row[f"area_{c}_mm2"] = a.by_class_um2.get(c, 0.0) / 1e6
    return row


def run(out: Path, tokens: int, depth: int, functional: bool) -> list[dict]:
    from archsim.pipeline import simulate

    rows, errors = [], []
    for prec, (bits, code) in PRECISIONS.items():
        wls = _workloads(tokens, depth, bits, functional)
        if prec != "W2":  # the W2 graphs equal the W1.58 ones (symmetric quantiser)
            for wl, (g, _) in wls.items():
                for node, er in g.graph.get("float_error", {}).items():
                    errors.append({"precision": prec, "workload": wl, "node": node, **er})
        for wl, (g, items) in wls.items():
            for kind in KINDS:
                res = simulate(_arch(kind, bits, code), g,
                               dataflow="os" if kind == "luttc" else "ws", functional=functional)
                rows.append(_row(res, wl, kind, prec, items))
                print(f"{wl:24s} {prec:6s} {kind:6s} {res.latency_cycles:>10.0f} cycles "
                      f"{res.energy.total_pj / 1e6:9.2f} uJ  wall {res.wall_seconds:.2f} s")
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "results.csv", rows)
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    _write_csv(out / "float_error.csv", errors)
    _plots(rows, out)
    (out / "README.md").write_text(_readme(rows, errors, tokens, depth))
    return rows


def _write_csv(path: Path, rows: list[dict]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def _plots(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    wls = list(dict.fromkeys(r["workload"] for r in rows))
    precs = list(PRECISIONS)
    for metric, label, fname in (("latency_us", "latency (us)", "latency.png"),
                                 ("energy_uj", "energy (uJ)", "energy.png")):
        fig, axes = plt.subplots(1, len(wls), figsize=(4.2 * len(wls), 3.4))
        for ax, wl in zip(axes, wls):
            x = np.arange(len(precs))
            for i, kind in enumerate(KINDS):
                vals = [next(r[metric] for r in rows if r["workload"] == wl
                             and r["precision"] == p and r["kind"] == kind) for p in precs]
                ax.bar(x + (i - 1.5) * 0.2, vals, 0.2, label=kind)
            ax.set_xticks(x, precs)
            ax.set_title(wl, fontsize=9)
            ax.set_ylabel(label)
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / fname, dpi=110)
        plt.close(fig)
    # energy by component class, W2
    fig, axes = plt.subplots(1, len(wls), figsize=(4.2 * len(wls), 3.4))
    for ax, wl in zip(axes, wls):
        bottom = np.zeros(len(KINDS))
        for c in CLASSES:
            vals = np.array([next(r[f"energy_{c}_uj"] for r in rows if r["workload"] == wl
                                  and r["precision"] == "W2" and r["kind"] == k) for k in KINDS])
            ax.bar(KINDS, vals, bottom=bottom, label=c)
            bottom += vals
        ax.set_title(f"{wl}, W2", fontsize=9)
        ax.set_ylabel("energy (uJ)")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "energy_by_class.png", dpi=110)
    plt.close(fig)


def _fmt(v: float, nd: int = 3) -> str:
    return f"{v:.{nd}g}" if isinstance(v, float) else str(v)


def _readme(rows: list[dict], errors: list[dict], tokens: int, depth: int) -> str:
    head = ("| workload | precision | kind | latency (us) | items/s | energy (uJ) | "
            "table prog. energy | table prog. stall | util. | area (mm2) | exact |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['precision']} | {r['kind']} | {r['latency_us']:.1f} | "
            f"{r['items_per_s']:.4g} | {r['energy_uj']:.2f} | "
            f"{100 * r['table_program_energy_share']:.1f}% | "
            f"{100 * r['table_program_stall_share']:.1f}% | {r['utilization']:.3f} | "
            f"{r['area_mm2']:.2f} | {r['exact_match']} |")
    err_lines = ["| precision | workload | node | op | method | rms rel. error | max abs |",
                 "|---|---|---|---|---|---|---|"]
    for e in errors:
        if e["node"] == "__output__" or e["node"] in ("norm1", "softmax", "silu") or \
                e["node"].startswith("b0_"):
            err_lines.append(f"| {e['precision']} | {e['workload']} | {e['node']} | {e['op']} | "
                             f"{e.get('method', '')} | {e['rms_rel']:.4f} | "
                             f"{e['max_abs']:.4f} |")
    return f"""# LUT schemes for low-bit transformers: mac, lutna, tmac, luttc

Written by `scripts/llm_lut_study.py` (decoder block: dim 256, 4 heads, SwiGLU MLP 688,
prefill of {tokens} tokens and decode of one token with a KV cache of {tokens}; `vit_tiny`:
ViT-Ti dim 192, 3 heads, MLP 768, {depth} blocks, CIFAR-10 32 x 32, patch 4, batch 1). All
weights random-initialised (seeded); every run carries real integer data and is checked node
by node against the torch integer reference (`exact`). Items/s: tokens per second for the
decoder (prefill: T tokens per run; decode: one), images per second for ViT, at the design
point's 500 MHz clock. Table programming: the share of the energy spent writing activation
tables, and of the tiles' busy + stalled time the PE arrays waited for table programming.

{chr(10).join(lines)}

Files: `results.csv` / `results.json` (every column, energy and area by component class),
`float_error.csv`, `latency.png`, `energy.png`, `energy_by_class.png`.

## Integer approximations against float

Each row applies the float function to the same dequantised integer input and compares with
the dequantised integer output; `__output__` compares the graph output with the float model
(weights and activations quantised: at 2 bits the random weights dominate that error).

{chr(10).join(err_lines)}

The W2 graphs equal the W1.58 ones (not repeated). The softmax's relative error is large
while its absolute error stays below 0.012: its output is a 7-bit probability (0..127, so
that P fits a signed 8-bit PE operand in P V), and over hundreds of keys most probabilities are
below half a step (1/254) and round to 0. A wider probability (e.g. 16-bit P with a 16-bit
second PE operand, as I-BERT keeps) would remove most of it at the cost of P V passes.

## What the conclusions depend on

- **Table programming** (`tmac`, `luttc`): tables are rebuilt for every token and every pass
  over `pes_per_table` output columns (docs/model.md). Their cost grows with
  `lut_banks.program_bytes_per_cycle` (8 B/cycle per bank here) and the write energy of a
  small SRAM table (`lut_bank.write_to_read`); with more sharing (`pes_per_table`) or table
  buffers that keep a token's tables across output passes the bit-plane kinds would gain.
- **Bit-serial planes**: `tmac` / `luttc` spend b / 4 cycles per MAC, so W1.58 and W2 (2 planes)
  halve the MAC cycles of W4; `mac` and `lutna` take 1 cycle whatever the weight width. The
  symmetric quantiser gives W2 the values {{-1, 0, +1}}, so W2 and W1.58 graphs are identical;
  the rows differ only in the PE (a 2-bit multiplier vs the ternary adder for `mac`; nothing
  for the others).
- **Attention** (products of two activations): the second operand is 8-bit, so every kind
  pays extra passes there (ternary `mac`: 8 shift-add passes; `lutna` W2: 2 weight digits;
  `tmac` / `luttc`: 8 bit planes with tables built from Q or P) -- these layers favour the
  8-bit kinds; decode is dominated by weight and KV-cache traffic from DRAM.
- **Energy table**: horowitz_45nm (45 nm); small tables are priced with the SRAM-cell model
  (`lut_bank.read_pj_per_cell`) -- Geens et al. (arXiv 2604.25183) find LUT reuse gives
  diminishing returns for small integer activations, which these numbers (8-bit activations)
  reproduce rather than test.
- **Dataflow**: `luttc` runs output-stationary on its elongated 4 x 64 tile, the others
  weight-stationary on 16 x 16.
- Not modelled: rotary embeddings, the per-output T-MAC correction add (1/K per MAC), table
  requantisation to int8 (T-MAC) or fp16 tables (LUT Tensor Core): tables here are exact
  integers.
"""


def main(argv=None) -> int:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="reports/llm_lut")
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--vit-depth", type=int, default=12)
    ap.add_argument("--no-functional", action="store_true")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite README.md from results.json and float_error.csv")
    args = ap.parse_args(argv)
    if args.report_only:
        out = Path(args.out)
        rows = json.loads((out / "results.json").read_text())
        with (out / "float_error.csv").open() as f:
            errors = [{k: (float(v) if k in ("rms", "rms_rel", "max_abs") else v)
                       for k, v in r.items()} for r in csv.DictReader(f)]
        (out / "README.md").write_text(_readme(rows, errors, args.tokens, args.vit_depth))
        return 0
    import torch

    torch.set_num_threads(1)
    run(Path(args.out), args.tokens, args.vit_depth, not args.no_functional)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
