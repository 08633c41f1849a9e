"""Accuracy vs weight/activation bits on real data (sklearn digits), written as a CSV.

In:  --net (a digits net: smallvgg or lenet), --bits (e.g. 4-10), --out CSV path.
Out: one row per (weight_bits, act_bits): integer-model test accuracy beside the float
     baseline, so the curve the LUT-NA paper describes (8 bits reach baseline) can be checked.
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
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
