"""Command line: ``archsim <command>`` (also ``python -m archsim``).

In:  argv.  Out: an exit code; tables on stdout, run folders on disk.  Each command is one
small function registered in ``COMMANDS``; library code below never prints, this module does.

Commands: pe-table, run, demo, compare, sweep, paper (see ``archsim <command> --help``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["main"]


def _cmd_pe_table(args: argparse.Namespace) -> int:
    from archsim.report.pe_table import format_pe_table, pe_table_rows

    rows = pe_table_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_pe_table(rows))
    return 0


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataflow", default="ws", choices=("os", "ws", "is"))
    p.add_argument("--mapping", default="layer",
                   help="layer | layer:out_channels | layer:out_pixels | pipeline")
    p.add_argument("--sparsity", type=float, default=0.0,
                   help="weight sparsity for zoo workloads (one-shot magnitude, see --prune)")
    p.add_argument("--prune", default="layer", choices=("layer", "global"),
                   help="zoo pruning scope: per layer (default; no layer emptied) or one "
                        "global threshold (warns when it empties a layer)")
    p.add_argument("--weights", default=None, metavar="FILE",
                   help="zoo workloads: a state dict to load (torch.load weights_only=True) "
                        "instead of random initialisation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--functional", action="store_true",
                   help="carry real integer data and check every node against the reference")
    p.add_argument("--out", default=None, help="run folder (default reports/<run name>)")
    p.add_argument("--no-plots", action="store_true",
                   help="skip the three PNG plots of the run folder")


def _cmd_run(args: argparse.Namespace) -> int:
    from archsim.design.arch import load_arch
    from archsim.report.run_folder import format_summary, write_run
    from archsim.pipeline import resolve_workload, simulate

    arch = load_arch(args.arch)
    g = resolve_workload(args.workload, seed=args.seed, sparsity=args.sparsity,
                         sample=1 if args.functional else None, weights=args.weights,
                         prune=args.prune)
    res = simulate(arch, g, dataflow=args.dataflow, mapping=args.mapping,
                   functional=args.functional, seed=args.seed)
    out = Path(args.out) if args.out else Path("reports") / (
        f"{res.workload}_{arch.name}_{args.dataflow}_{args.mapping.replace(':', '-')}")
    write_run(res, out, workload_args={"workload": str(args.workload),
                                       "sparsity": args.sparsity, "seed": args.seed,
                                       "prune": args.prune, "weights": args.weights},
              plots=not args.no_plots)
    print(format_summary(res))
    print(f"\nrun folder: {out}")
    if res.functional is not None and not res.functional["exact_match"] and res.functional["pe_exact"]:
        return 1
    return 0


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="archsim", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pe-table", help="per-MAC operation counts and tables of every PE kind")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_pe_table)
    p = sub.add_parser("run", help="simulate one workload on one design point")
    p.add_argument("arch", help="YAML design point or a built-in name (e.g. lutna_2x2)")
    p.add_argument("--workload", required=True,
                   help="zoo name, saved workload folder, or SCALE-Sim topology CSV")
    _add_run_args(p)
    p.set_defaults(func=_cmd_run)
    chosen = _chosen(argv)
    for name, (mod, help_text) in LAZY_COMMANDS.items():
        if name == chosen:
            import importlib

            importlib.import_module(mod).register_cli(sub, name)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return ap


# commands in their own modules, imported only when chosen (keeps start-up lean)
LAZY_COMMANDS = {
    "demo": ("archsim.studies.demo", "the embedded default end to end (pruned ResNet-18, LUT-NA vs MAC)"),
    "compare": ("archsim.report.run_folder", "side-by-side table of several run folders"),
    "sweep": ("archsim.sweep.run", "sweep config fields x workloads (local processes or Dask)"),
    "paper": ("archsim.studies.paper", "reproduce the LUT-NA paper's area/energy comparisons"),
}


def _chosen(argv: list[str] | None) -> str | None:
    args = sys.argv[1:] if argv is None else argv
    for a in args:
        if not a.startswith("-"):
            return a
    return None


def main(argv: list[str] | None = None) -> int:
    # one BLAS/OpenMP thread unless the user says otherwise: on a busy 2-core machine a
    # multi-threaded BLAS ran the functional matmuls up to ~100x slower (measured)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    args = build_parser(argv).parse_args(argv)
    from archsim.design.arch import ConfigError

    try:
        return int(args.func(args) or 0)
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        print(f"archsim {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
