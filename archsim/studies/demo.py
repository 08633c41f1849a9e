"""``archsim demo``: the embedded default, end to end.

In:  nothing (defaults: ResNet-18 for CIFAR-10, 90% one-shot magnitude pruning, seed 0, one real
     CIFAR-10 test image; design points ``lutna_4x4`` and its baseline ``mac_4x4``; dataflow ws;
     layer-by-layer mapping) -- each can be changed by an option.
Out: two run folders and ``comparison.md`` under ``reports/demo/`` (or ``--out``); the printed
     summary of both runs, the functional check (every node's integers against the PyTorch
     reference) and where to look next.  Exit code 3 if an exact PE kind mismatches PyTorch.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

__all__ = ["register_cli", "run_demo"]


def run_demo(out: Path, model: str = "resnet18", sparsity: float = 0.9, seed: int = 0,
             arch: str = "lutna_4x4", baseline: str = "mac_4x4", dataflow: str = "ws",
             mapping: str = "layer", functional: bool = True,
             sparsity_mode: str | None = None) -> dict:
    """Run the demo; returns {"runs": {label: SimResult}, "folders": {...}, "comparison": path}.

    Every input and output location is checked before the workload is built: the design
    points, the mapping, the model name, the sparsity, the run folders and comparison.md."""
    from archsim.design.arch import load_arch
    from archsim.errors import OutputError, WorkloadError, short
    from archsim.mapping.schedule import MappingSpec
    from archsim.pipeline import _zoo_names, check_sparsity, simulate
    from archsim.report.outputs import check_output_file, folder_lock, safe_name
    from archsim.report.run_folder import check_run_dir, format_summary, write_run

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; choose another --out")
    archs = {label: load_arch(name) for label, name in (("lutna", arch), ("baseline", baseline))}
    if sparsity_mode is not None:  # both design points get the same zero-weight hardware
        archs = {label: a.with_overrides({"tile.sparsity.mode": sparsity_mode})
                 for label, a in archs.items()}
    spec = MappingSpec.parse(mapping)
    sparsity = check_sparsity(sparsity)
    folders = {label: out / safe_name(f"{label}_{a.name}") for label, a in archs.items()}
    for folder in folders.values():
        check_run_dir(folder)
    comp = check_output_file(out / "comparison.md", "comparison")
    if model not in _zoo_names():  # imports torch: after the cheap checks
        raise WorkloadError(f"--model {short(model)}: not a zoo name (zoo: "
                            f"{', '.join(_zoo_names())})")
    with folder_lock(out, "demo folder"):
        from archsim import zoo

        t0 = time.perf_counter()
        g = zoo.build(model, sparsity=sparsity, seed=seed,
                            sample=1 if functional else None)
        build_s = time.perf_counter() - t0
        runs, texts = {}, []
        for label, a in archs.items():
            res = simulate(a, g, dataflow=dataflow, mapping=spec, functional=functional,
                           seed=seed)
            write_run(res, folders[label], workload_args={"workload": model,
                                                          "sparsity": sparsity, "seed": seed})
            runs[label] = res
            texts.append(format_summary(res))
        from archsim.report.outputs import atomic_write_text

        atomic_write_text(comp, _comparison_md(runs, model, sparsity, build_s))
    return {"runs": runs, "folders": folders, "comparison": comp, "texts": texts}


def _row(label: str, res) -> str:
    s = res.summary()
    e = s.get("energy") or {}
    a = s.get("area") or {}
    energy = f"{e['total_pj'] / 1e6:.3f}" if e else "n/a"
    area = f"{a['total_um2'] / 1e6:.3f}" if a else "n/a"
    func = s["functional"]
    check = "n/a" if func is None else ("exact" if func["exact_match"] else
                                        f"max diff {func['max_abs_diff']}")
    return (f"| {label} | {s['arch']} | {s['pe_kind']} | {s['sparsity_mode']} | "
            f"{s['latency_cycles']:,.0f} | "
            f"{s['utilization']:.3f} | {s['macs_executed']:,} | {energy} | {area} | {check} |")


def _comparison_md(runs: dict, model: str, sparsity: float, build_s: float) -> str:
    lines = [
        f"# archsim demo: {model}, {sparsity:.0%} weight sparsity",
        "",
        "Regenerate with `archsim demo`. Metrics are defined in docs/metrics.md.",
        "",
        ("| run | design point | PE kind | sparsity mode | latency (cycles) | utilization | "
         "MACs executed | energy (uJ) | area (mm^2) | functional vs PyTorch |"),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row(label, res) for label, res in runs.items()]
    la, lb = runs["lutna"], runs["baseline"]
    lines += ["", f"Latency ratio baseline / LUT-NA: {lb.latency_cycles / la.latency_cycles:.3f}."]
    ea, eb = (r.summary().get("energy") for r in (la, lb))
    if ea and eb:
        lines.append(f"Energy ratio baseline / LUT-NA: {eb['total_pj'] / ea['total_pj']:.3f} "
                     f"(cost source: {ea['source']}).")
    lines.append(f"Workload build (prune, quantise, export, torch reference): {build_s:.1f} s.")
    return "\n".join(lines) + "\n"


def _cmd(args: argparse.Namespace) -> int:
    out = Path(args.out)
    r = run_demo(out, model=args.model, sparsity=args.sparsity, seed=args.seed, arch=args.arch,
                 baseline=args.baseline, dataflow=args.dataflow, mapping=args.mapping,
                 functional=not args.no_functional, sparsity_mode=args.sparsity_mode)
    for text in r["texts"]:
        print(text)
        print()
    print(r["comparison"].read_text())
    for label, folder in r["folders"].items():
        print(f"{label} run folder: {folder}")
    print(f"start with: {r['comparison']}")
    bad = [res for res in r["runs"].values()
           if res.functional and res.functional["pe_exact"] and not res.functional["exact_match"]]
    from archsim.errors import EXIT_MISMATCH

    return EXIT_MISMATCH if bad else 0


def register_cli(sub, name: str) -> None:
    p = sub.add_parser(name, help="the embedded default end to end (LUT-NA vs MAC)")
    p.add_argument("--model", default="resnet18")
    p.add_argument("--sparsity", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--arch", default="lutna_4x4")
    p.add_argument("--baseline", default="mac_4x4")
    p.add_argument("--dataflow", default="ws", choices=("os", "ws", "is"))
    p.add_argument("--mapping", default="layer")
    p.add_argument("--no-functional", action="store_true", help="timing only (faster)")
    p.add_argument("--sparsity-mode", default=None,
                   choices=("none", "nm_structured", "filter_block", "gather"),
                   help="zero-weight hardware of both design points (default: as shipped, "
                        "none with zero gating; docs/model.md)")
    p.add_argument("--out", default="reports/demo")
    p.set_defaults(func=_cmd)
