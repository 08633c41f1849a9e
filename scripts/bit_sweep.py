"""Accuracy vs weight/activation bits on real data (sklearn digits), written as a CSV.

In:  --net (a digits net: smallvgg or lenet), --bits (e.g. 4-10), --out CSV path.
Out: one row per (weight_bits, act_bits): integer-model test accuracy beside the float
     baseline, so the curve the LUT-NA paper describes (8 bits reach baseline) can be checked;
     and a PNG of it next to the CSV.
Run: ``python scripts/bit_sweep.py --out reports/bit_sweep.csv`` (about a minute on one core).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def main(argv=None) -> int:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", default="smallvgg")
    ap.add_argument("--bits", default="4-10", help="range lo-hi or a comma list")
    ap.add_argument("--out", default="reports/bit_sweep.csv")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if "-" in args.bits:
        lo, hi = (int(v) for v in args.bits.split("-"))
        bits = list(range(lo, hi + 1))
    else:
        bits = [int(v) for v in args.bits.split(",")]
    import torch

    torch.set_num_threads(1)
    from workloads.quant import bit_sweep

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = bit_sweep(out, net=args.net, bits=bits, seed=args.seed)
    for r in rows:
        if r["weight_bits"] == r["act_bits"]:
            print(r)
    png = out.with_suffix(".png")
    _plot(rows, png)
    print(f"written: {out}, {png}")
    return 0


def _plot(rows: list[dict], png: Path) -> None:
    """Accuracy vs bits: equal weight/activation bits, and weights swept at 8-bit activations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    diag = sorted((r["weight_bits"], r["int_accuracy"]) for r in rows
                  if r["weight_bits"] == r["act_bits"])
    w8 = sorted((r["weight_bits"], r["int_accuracy"]) for r in rows if r["act_bits"] == 8)
    ax.plot(*zip(*diag), "o-", label="weights = activations bits")
    if len(w8) > 1:
        ax.plot(*zip(*w8), "s--", label="weight bits, 8-bit activations")
    ax.axhline(rows[0]["float_accuracy"], color="gray", ls=":", label="float baseline")
    ax.set_xlabel("bits")
    ax.set_ylabel(f"test accuracy ({rows[0]['n_test']} images)")
    ax.set_title(f"{rows[0]['net']} on {rows[0]['dataset']}: integer model vs bits")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
