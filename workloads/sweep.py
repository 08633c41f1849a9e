"""Bit-width sweep: accuracy of the integer model vs weight and activation bits, on real data.

Inputs: a small net name (default ``smallvgg``) trained here on sklearn digits, the bit
widths to try (default 4..10 for weights and activations), a seed, and a CSV path.
Output: ``bit_sweep(csv_path, ...) -> list[dict]``, one row per (weight_bits, act_bits)
with columns ``net, dataset, weight_bits, act_bits, float_accuracy, int_accuracy,
n_test``; the same rows are written to ``csv_path``. Calibration uses the first 64 training
images; accuracy is measured on the held-out 25 % test split with the integer-exact
forward of ``workloads.quant``. ``baseline_bits(rows, tol)`` returns the smallest bit width
b with weight_bits = act_bits = b whose accuracy is within ``tol`` of float.
"""

from __future__ import annotations

import csv
from pathlib import Path

from workloads.data import digits_split
from workloads.lower import lower
from workloads.quant import quantize
from workloads.small import SMALL, accuracy, small_model, train
from workloads.zoo import TRAIN_CFG

COLUMNS = ["net", "dataset", "weight_bits", "act_bits", "float_accuracy", "int_accuracy", "n_test"]


def bit_sweep(
    csv_path,
    net: str = "smallvgg",
    bits=range(4, 11),
    act_bits=None,
    seed: int = 0,
    calib: int = 64,
) -> list:
    """Train ``net`` on digits, quantise at every (weight_bits, act_bits), write a CSV."""
    if SMALL.get(net, (None, None))[1] != "digits":
        digits = [k for k, v in SMALL.items() if v[1] == "digits"]
        raise ValueError(f"bit_sweep runs on the digits nets {digits}, not {net!r}")
    xtr, ytr, xte, yte = digits_split(seed=0)
    model = train(small_model(net, seed), xtr, ytr, seed=seed, **TRAIN_CFG[net])
    fl = accuracy(model, xte, yte)
    low = lower(model, xte[:1])
    rows = []
    for wb in bits:
        for ab in bits if act_bits is None else act_bits:
            qm = quantize(low, xtr[:calib], weight_bits=int(wb), act_bits=int(ab))
            rows.append(
                {
                    "net": net,
                    "dataset": "sklearn digits",
                    "weight_bits": int(wb),
                    "act_bits": int(ab),
                    "float_accuracy": round(fl, 6),
                    "int_accuracy": round(accuracy(qm, xte, yte), 6),
                    "n_test": len(xte),
                }
            )
    path = Path(csv_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return rows


def baseline_bits(rows: list, tol: float = 0.005) -> int | None:
    """Smallest b (weights = activations = b bits) within ``tol`` of float accuracy."""
    ok = [
        r["weight_bits"]
        for r in rows
        if r["weight_bits"] == r["act_bits"] and r["int_accuracy"] >= r["float_accuracy"] - tol
    ]
    return min(ok) if ok else None
