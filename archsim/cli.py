"""Command line: ``archsim <command>`` (also ``python -m archsim``).

In:  argv.  Out: an exit code; tables on stdout, run folders on disk.  Each command is one
small function registered in ``COMMANDS``; library code below never prints, this module does.

Commands: list, pe-table, run, demo, compare, sweep, paper (see ``archsim <command> --help``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
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


def _cmd_list(args: argparse.Namespace) -> int:
    from archsim.design.arch import builtin_arch_dir, load_arch

    rows = []
    def natural(path: Path) -> list:  # lutna_2x2 before lutna_16x16
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.stem)]

    for path in sorted(builtin_arch_dir().glob("*.yaml"), key=natural):
        arch = load_arch(path)
        rows.append({"name": arch.name, "description": " ".join(arch.description.split())})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['description']}")
    return 0


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataflow", default="ws", choices=("os", "ws", "is"))
    p.add_argument("--mapping", default="layer",
                   help="layer | layer:out_channels | layer:out_pixels | pipeline | search | "
                        "a mapping.yaml to replay (its dataflow is the run's)")
    p.add_argument("--objective", default=None, choices=("latency", "energy", "edp"),
                   help="what --mapping search minimises (default latency)")
    p.add_argument("--sparsity", type=float, default=None,
                   help="weight sparsity in [0, 1) for zoo workloads (one-shot magnitude, see "
                   "--prune); an error for CSV and saved workloads")
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
    from archsim.errors import EXIT_MISMATCH, MappingError
    from archsim.mapping.plan import load_plan
    from archsim.mapping.schedule import MappingSpec
    from archsim.pipeline import (
        check_sparsity,
        design_bits,
        resolve_workload,
        simulate,
        workload_kind,
    )
    from archsim.report.outputs import folder_lock, safe_name
    from archsim.report.run_folder import check_run_dir, format_summary, write_run

    # everything that can be checked is checked before any work starts
    arch = load_arch(args.arch)
    mapping = args.mapping
    if args.objective is not None:
        if mapping != "search":
            raise MappingError(f"--objective {args.objective} needs --mapping search")
        mapping = f"search:{args.objective}"
    if mapping.lower().endswith((".yaml", ".yml")):
        spec = load_plan(mapping)
        label = Path(mapping).stem
    elif mapping.split(":")[0] == "search":
        spec = mapping
        label = mapping
    else:
        spec = MappingSpec.parse(mapping)
        label = mapping
    kind = workload_kind(args.workload)
    if args.sparsity is not None:
        check_sparsity(args.sparsity)
    out = Path(args.out) if args.out else None
    if out is not None:
        check_run_dir(out)
    g = None
    if kind != "zoo":  # files are cheap to read (their errors name them); zoo builds take time
        g = resolve_workload(args.workload, seed=args.seed, sparsity=args.sparsity,
                             sample=1 if args.functional else None, weights=args.weights,
                             prune=args.prune)  # files keep their own bit widths
    if out is None:
        wl = g.graph.get("name", "workload") if g is not None else str(args.workload)
        out = Path("reports") / safe_name(
            f"{wl}_{arch.name}_{args.dataflow}_{label.replace(':', '-')}", limit=150)
        check_run_dir(out)
    with folder_lock(out):
        if g is None:
            g = resolve_workload(args.workload, seed=args.seed, sparsity=args.sparsity,
                                 sample=1 if args.functional else None, weights=args.weights,
                                 prune=args.prune, **design_bits(arch))
        res = simulate(arch, g, dataflow=args.dataflow, mapping=spec,
                       functional=args.functional, seed=args.seed)
        write_run(res, out, workload_args={
            "workload": str(args.workload),
            "sparsity": (args.sparsity or 0.0) if kind == "zoo" else None, "seed": args.seed,
            "prune": args.prune if kind == "zoo" else None, "weights": args.weights},
            plots=not args.no_plots)
    print(format_summary(res))
    print(f"\nrun folder: {out}")
    fn = res.functional
    if fn is not None and not fn["exact_match"] and fn["pe_exact"]:
        return EXIT_MISMATCH
    return 0


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="archsim", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="the built-in design points with one-line descriptions")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_list)
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
    "demo": ("archsim.studies.demo",
             "the embedded default end to end (pruned ResNet-18, LUT-NA vs MAC)"),
    "compare": ("archsim.report.run_folder", "side-by-side table of several run folders"),
    "sweep": ("archsim.sweep.run", "sweep config fields x workloads (local processes or Dask)"),
    "paper": ("archsim.studies.paper_report",
              "reproduce the LUT-NA paper's area/energy comparisons"),
}


def _chosen(argv: list[str] | None) -> str | None:
    args = sys.argv[1:] if argv is None else argv
    for a in args:
        if not a.startswith("-"):
            return a
    return None


def _install_sigterm() -> None:
    """SIGTERM (timeout, CI, job schedulers) unwinds like Ctrl-C: ``finally`` blocks run,
    partial output is removed and sweeps save their finished points."""
    import signal
    import threading

    from archsim.errors import Interrupted

    if threading.current_thread() is not threading.main_thread():
        return

    def _raise(signum, _frame):
        raise Interrupted(signum)

    signal.signal(signal.SIGTERM, _raise)


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code (see docs/cli.md and archsim.errors)."""
    # one BLAS/OpenMP thread unless the user says otherwise: on a busy 2-core machine a
    # multi-threaded BLAS ran the functional matmuls up to ~100x slower (measured)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    args = build_parser(argv).parse_args(argv)
    from archsim.errors import (
        EXIT_INTERRUPTED,
        EXIT_USAGE,
        ArchsimError,
        Interrupted,
        error_line,
        exit_code_of_signal,
    )

    _install_sigterm()
    try:
        return int(args.func(args) or 0)
    except ArchsimError as exc:  # bad input or options: one line, no traceback
        print(error_line(args.command, exc), file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a file or folder that cannot be read or written
        print(error_line(args.command, exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"\narchsim {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Interrupted as exc:
        print(f"\narchsim {args.command}: terminated (signal {exc.signum})", file=sys.stderr)
        return exit_code_of_signal(exc.signum)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
