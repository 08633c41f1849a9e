#!/usr/bin/env python
"""Home-made infrastructure against the libraries that could replace it (issue 10, item 9).

``python benchmarks/bench_infra.py [--repeats 9]`` times, each in ``--repeats`` fresh Python
processes (median, min and max in ms), what a whole ``archsim run`` process would pay:

1. **Design point validation**: import the validator and the schema, then validate
   ``arch_configs/lutna_4x4.yaml`` (already parsed by PyYAML outside the timed part), with
   ``archsim.design.schema``, with msgspec (``msgspec.convert``, strict) and with pydantic 2
   (strict models).  The three schemas are generated from ``archsim.design.arch.ArchConfig``
   into standalone modules (same sections, fields, types, defaults and bounds; no cross-field
   check), so each process pays the same kind of work.
2. **Run plots**: import the plotting code and draw the three PNGs of a run folder (energy
   bars, per-layer stacked bars for 20 layers, a 4x4 heat map) with ``archsim.report.plots``
   (Pillow, via ``archsim.report.raster``) and with matplotlib (Agg backend).
3. **Workload graph**: import the graph code and read ``benchmarks/scalesim_layers/
   resnet18_cifar.csv`` into ``archsim.graph.dag.Dag`` (``read_topology``) and into a networkx
   ``DiGraph`` (``load_topology``).

Libraries that are not installed are reported as such.  Prints a Markdown table; the
decisions drawn from it are in ``docs/architecture.md``.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import dataclasses
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archsim.design.arch import ArchConfig  # noqa: E402
from archsim.design.schema import field_names, field_rules  # noqa: E402

ARCH_YAML = ROOT / "arch_configs" / "lutna_4x4.yaml"
CSV = ROOT / "benchmarks" / "scalesim_layers" / "resnet18_cifar.csv"


# ---- schema generation ----------------------------------------------------------------------

def _sections(cls: type, out: list[type]) -> list[type]:
    """Section classes reachable from ``cls``, dependencies first."""
    hints = typing.get_type_hints(cls)
    for name in field_names(cls):
        tp = hints[name]
        if dataclasses.is_dataclass(tp) and tp not in out:
            _sections(tp, out)
    if cls not in out:
        out.append(cls)
    return out


def _type_src(tp: typing.Any) -> str:
    if tp in (int, float, bool, str):
        return tp.__name__
    if tp is typing.Any:
        return "Any"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin is dict:
        return f"dict[{_type_src(args[0])}, {_type_src(args[1])}]"
    if origin in (typing.Union, __import__("types").UnionType):
        return " | ".join("None" if a is type(None) else _type_src(a) for a in args)
    if dataclasses.is_dataclass(tp):
        return tp.__name__
    raise TypeError(f"unsupported type {tp!r}")


def _fields(cls: type):
    """(name, type source, bounds dict, default source or None) per field of ``cls``."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        rules = field_rules(cls, f.name)
        bounds = {k: getattr(rules, k) for k in ("gt", "ge", "lt", "le")
                  if getattr(rules, k) is not None}
        default = None
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING and hints[f.name] is not typing.Any:
            if not dataclasses.is_dataclass(hints[f.name]):
                default = repr(f.default_factory())
        yield f.name, _type_src(hints[f.name]), bounds, default


def schema_module(kind: str) -> str:
    """Source of a standalone module defining ArchConfig for ``kind``."""
    head = {
        "schema": ("from dataclasses import dataclass\nfrom typing import Any, Literal\n"
                   "from archsim.design.schema import field_, parse\n"),
        "msgspec": ("from typing import Annotated, Any, Literal\nimport msgspec\n"
                    "from msgspec import Meta\n"),
        "pydantic": ("from typing import Annotated, Any, Literal\n"
                     "from pydantic import BaseModel, ConfigDict, Field\n"),
    }[kind]
    out = [head]
    for cls in _sections(ArchConfig, []):
        name = cls.__name__
        if kind == "schema":
            out.append(f"@dataclass(frozen=True, kw_only=True)\nclass {name}:")
        elif kind == "msgspec":
            out.append(f"class {name}(msgspec.Struct, frozen=True, kw_only=True, "
                       "forbid_unknown_fields=True):")
        else:
            out.append(f"class {name}(BaseModel):\n    model_config = ConfigDict("
                       "extra='forbid', frozen=True, strict=True)")
        for fname, tsrc, bounds, default in _fields(cls):
            b = ", ".join(f"{k}={v!r}" for k, v in bounds.items())
            if kind == "schema":
                if default == "{}":
                    default = "default_factory=dict"
                args = ", ".join(x for x in ((default or ""), b) if x)
                out.append(f"    {fname}: {tsrc} = field_({args})")
                continue
            meta = "Meta" if kind == "msgspec" else "Field"
            opt = tsrc.endswith(" | None")  # bounds apply to the value, not to None
            core = tsrc.removesuffix(" | None")
            t = f"Annotated[{core}, {meta}({b})]" if b else core
            t = f"{t} | None" if opt else t
            out.append(f"    {fname}: {t}" + (f" = {default}" if default is not None else ""))
        out.append("")
    return "\n".join(out)


def _validate_code(kind: str) -> str:
    return {
        "schema": "obj = gen.parse(gen.ArchConfig, data, 'lutna_4x4')",
        "msgspec": "import msgspec; obj = msgspec.convert(data, gen.ArchConfig, strict=True)",
        "pydantic": "obj = gen.ArchConfig.model_validate(data)",
    }[kind]


# ---- timing ---------------------------------------------------------------------------------

def _time_process(setup: str, timed: str, env: dict[str, str]) -> float:
    """Seconds ``timed`` takes in a fresh interpreter after ``setup`` (not timed)."""
    code = (f"{setup}\nimport time\nt0 = time.perf_counter()\n{timed}\n"
            "print(time.perf_counter() - t0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=env, check=False)
    if r.returncode:
        raise RuntimeError(f"benchmark process failed:\n{r.stderr}")
    return float(r.stdout.strip().splitlines()[-1])


def _stats_ms(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"{statistics.median(ms):.1f} | {ms[0]:.1f}-{ms[-1]:.1f}"


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


PLOT_DATA = (
    "by_class = {'dram': 5.1e8, 'sram': 2.2e8, 'noc_link': 1.3e8, 'pe_array': 9.8e7, "
    "'lut_bank': 4.4e7, 'vector': 3.1e6, 'gbuf': 2.7e7}\n"
    "layers = [{'node': f'layer{i}', 'cycles': 1000 + 97 * i, 'compute_cycles': 800 + 50 * i,"
    " 'tiles': 4} for i in range(20)]\n"
    "util = [0.1 * (i % 10) for i in range(16)]\n"
)
PLOTS_ARCHSIM = (
    "from archsim.report import plots\n"
    "plots.energy_breakdown(by_class, out / 'e.png')\n"
    "plots.layer_latency(layers, out / 'l.png')\n"
    "plots.tile_heatmap(util, 4, 4, out / 'h.png')\n"
)
PLOTS_MATPLOTLIB = (
    "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots(figsize=(6, 3))\n"
    "ax.barh(list(by_class), [v / 1e6 for v in by_class.values()])\n"
    "fig.savefig(out / 'e.png', dpi=100); plt.close(fig)\n"
    "fig, ax = plt.subplots(figsize=(8, 3))\n"
    "names = [l['node'] for l in layers]; comp = [l['compute_cycles'] / 4 for l in layers]\n"
    "ax.bar(names, comp); ax.bar(names, [l['cycles'] - c for l, c in zip(layers, comp)],"
    " bottom=comp)\n"
    "fig.savefig(out / 'l.png', dpi=100); plt.close(fig)\n"
    "fig, ax = plt.subplots(figsize=(4, 4))\n"
    "ax.imshow([util[r * 4:(r + 1) * 4] for r in range(4)], vmin=0, vmax=1)\n"
    "fig.savefig(out / 'h.png', dpi=100); plt.close(fig)\n"
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=9, help="fresh processes per variant")
    args = ap.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]), "MPLBACKEND": "Agg"}
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        env["PYTHONPATH"] = os.pathsep.join([str(tmpdir), env["PYTHONPATH"]])
        load = (f"import yaml\ndata = yaml.safe_load(open({str(ARCH_YAML)!r}))\n"
                "data['source'] = 'lutna_4x4'\n")
        for kind in ("schema", "msgspec", "pydantic"):
            label = {"schema": "archsim.design.schema", "msgspec": "msgspec",
                     "pydantic": "pydantic 2 (strict)"}[kind]
            if kind != "schema" and not _installed(kind):
                rows.append(("design point: import + validate lutna_4x4", label,
                             "not installed | -"))
                continue
            (tmpdir / f"gen_{kind}.py").write_text(schema_module(kind))
            t = [_time_process(load, f"import gen_{kind} as gen\n{_validate_code(kind)}", env)
                 for _ in range(args.repeats)]
            rows.append(("design point: import + validate lutna_4x4", label, _stats_ms(t)))
        setup = f"from pathlib import Path\nout = Path({str(tmpdir)!r})\n{PLOT_DATA}"
        for label, code, lib in (("archsim.report.raster (Pillow)", PLOTS_ARCHSIM, "PIL"),
                                 ("matplotlib (Agg)", PLOTS_MATPLOTLIB, "matplotlib")):
            if not _installed(lib):
                rows.append(("run plots: import + draw 3 PNGs", label, "not installed | -"))
                continue
            t = [_time_process(setup, code, env) for _ in range(args.repeats)]
            rows.append(("run plots: import + draw 3 PNGs", label, _stats_ms(t)))
        for label, code in (
                ("archsim.graph.dag", "from archsim.graph.scalesim_csv import read_topology\n"
                 f"g = read_topology({str(CSV)!r})"),
                ("networkx", "from archsim.graph.scalesim_csv import load_topology\n"
                 f"g = load_topology({str(CSV)!r})")):
            if label == "networkx" and not _installed("networkx"):
                rows.append(("graph: import + read ResNet-18 CSV", label, "not installed | -"))
                continue
            t = [_time_process("import numpy", code, env) for _ in range(args.repeats)]
            rows.append(("graph: import + read ResNet-18 CSV", label, _stats_ms(t)))
    print(f"fresh processes per variant: {args.repeats}; Python {sys.version.split()[0]}\n")
    print("| task | implementation | median ms | min-max ms |")
    print("|---|---|---|---|")
    for task, label, stats in rows:
        print(f"| {task} | {label} | {stats} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
