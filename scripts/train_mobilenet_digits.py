"""Train small MobileNetV2- / EfficientNet-style nets on sklearn digits; integer vs float accuracy.

In:  --out (Markdown report path), --epochs, --seed.
Out: ``reports/mobilenet_digits.md``: for each net (inverted residuals with ReLU6; MBConv with
     SiLU / sigmoid tables and squeeze-excite), the float test accuracy beside the accuracy of
     the exported 9-bit-weight / 8-bit-activation integer model on the same 450 test images,
     the count of layers with signed inputs, and a functional LUT-NA and MAC run of the first
     test image checked bit for bit against the torch integer reference.
Run: ``python scripts/train_mobilenet_digits.py`` (about a minute on one core).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def main(argv=None) -> int:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="reports/mobilenet_digits.md")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import torch

    import archsim
    import workloads
    from workloads.data import digits_split
    from workloads.mobile import EfficientNetB0, MobileNetV2
    from workloads.small import accuracy, train

    torch.set_num_threads(1)
    xtr, ytr, xte, yte = digits_split(seed=0)
    nets = {
        "mobilenetv2-style": lambda: MobileNetV2(
            in_ch=1, cfg=[(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 2, 2)], last=128),
        "efficientnet-style (SiLU, SE)": lambda: EfficientNetB0(
            in_ch=1, cfg=[(1, 16, 1, 1, 3), (6, 24, 2, 1, 3), (6, 32, 1, 2, 5)], last=128),
    }
    rows = []
    for name, make in nets.items():
        t0 = time.perf_counter()
        torch.manual_seed(args.seed)
        model = train(make(), xtr, ytr, epochs=args.epochs, lr=3e-3, batch=64, seed=args.seed)
        secs = time.perf_counter() - t0
        fl = accuracy(model, xte, yte)
        g, qm = workloads.to_workload(model, xtr[:256], name, example=xte[:1])
        it = accuracy(qm, xte, yte)
        workloads.attach_reference(g, qm.quantize_input(xte[:1]).numpy(),
                                   "sklearn digits test split image 0")
        comp = [a for _, a in g.nodes(data=True) if a["op"] in ("conv", "linear")]
        signed = sum(1 for a in comp if a["in_signed"])
        exact = {arch: archsim.simulate(arch, g, dataflow="os", functional=True)
                 .functional["exact_match"] for arch in ("lutna_2x2", "mac_2x2")}
        ops = sorted({a["op"] for _, a in g.nodes(data=True)})
        rows.append((name, fl, it, len(comp), signed, g.graph["macs_dense"], exact, secs, ops))

    lines = [
        "# MobileNet-style nets trained on sklearn digits: integer vs float accuracy",
        "",
        "Written by `scripts/train_mobilenet_digits.py` "
        f"(`--epochs {args.epochs} --seed {args.seed}`).",
        "",
        "Data: sklearn digits (8x8, 1,797 images; `workloads.data.digits_split(seed=0)`: 1,347 "
        "train / 450 test). Training: Adam, lr 3e-3, batch 64, seeded (`workloads.small.train`),"
        " one CPU thread. Export: `workloads.to_workload` (BatchNorm folded; 9-bit weights, "
        "8-bit activations, calibrated on the first 256 training images); integer accuracy is "
        "the exported integer model (fake-quant forward, bit-identical to the workload graph's "
        "reference) on the 450 test images. Functional: `archsim.simulate(arch, graph, "
        "dataflow='os', functional=True)` on test image 0, every node compared with the torch "
        "integer reference.",
        "",
        "| net | float acc | int acc (w9/a8) | conv+linear layers | with signed inputs | "
        "dense MACs | functional exact (lutna_2x2, mac_2x2) | train wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, fl, it, n, s, macs, ex, secs, _ in rows:
        lines.append(f"| {name} | {fl:.4f} | {it:.4f} | {n} | {s} | {macs:,} | "
                     f"{ex['lutna_2x2']}, {ex['mac_2x2']} | {secs:.1f} |")
    lines += ["", "Train wall seconds are of a shared 2-core machine (other jobs running).", "",
              "Graph ops per net:", ""]
    lines += [f"- {r[0]}: {', '.join(r[8])}" for r in rows]
    lines += ["", "SiLU and sigmoid export as `table` nodes (the function tabulated over the "
              "256 input integers); the projections of the inverted residuals have no "
              "activation, so the layers after them take signed inputs, which LUT-NA runs "
              "with sign-magnitude activation digits and one sign XOR per MAC.", ""]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
