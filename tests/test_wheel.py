"""The built wheel installs and runs: design points and cost tables are package data.

Builds the wheel from a copy of the sources (so the checkout gets no ``build/``), installs it
with ``--no-deps`` into a new virtual environment that borrows this interpreter's installed
dependencies through a ``.pth`` line, and runs the installed ``archsim`` from a directory
that holds nothing but a SCALE-Sim CSV.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    assert r.returncode == 0, f"{cmd}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    # the checkout must not be importable in the new venv (it would shadow the wheel)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    src = tmp / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for d in ("archsim", "arch_configs", "workloads"):
        shutil.copytree(ROOT / d, src / d, ignore=skip)
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, src / f)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
          "-w", str(tmp / "dist"), str(src)])
    (wheel,) = (tmp / "dist").glob("archsim-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
                     ).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_archsim_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
          "--no-index", str(wheel)], env=env)
    work = tmp / "elsewhere"
    work.mkdir()
    (work / "gemm.csv").write_text("Layer, M, N, K,\ngemm_48x40x32, 48, 40, 32,\n")
    return venv, work, env


def test_wheel_runs_a_builtin_design_point_from_any_directory(installed):
    venv, work, env = installed
    r = _run([str(venv / "bin" / "archsim"), "run", "lutna_4x4", "--workload", "gemm.csv",
              "--out", "run", "--no-plots"], cwd=work, env=env)
    assert "run folder: run" in r.stdout
    summary = json.loads((work / "run" / "summary.json").read_text())
    assert summary["latency_cycles"] > 0 and summary["energy"]["total_pj"] > 0


def test_wheel_library_loads_package_data(installed):
    venv, work, env = installed
    code = ("import archsim, arch_configs, archsim.energy.tables as t; "
            "a = archsim.load_arch('lutna_4x4'); "
            "print(archsim.__file__); print(arch_configs.folder()); "
            "print(a.name, t.load_cost_table(a.energy_table).name)")
    out = _run([str(venv / "bin" / "python"), "-c", code], cwd=work, env=env).stdout.split("\n")
    assert out[0].startswith(str(venv)), out  # the installed copy, not the checkout
    assert out[1].startswith(str(venv)), out
    assert out[2] == "lutna_4x4 horowitz_45nm"


def test_wheel_lists_builtin_design_points(installed):
    venv, work, env = installed
    r = _run([str(venv / "bin" / "archsim"), "list", "--json"], cwd=work, env=env)
    rows = {row["name"]: row["description"] for row in json.loads(r.stdout)}
    assert {"lutna_4x4", "mac_4x4", "scalesim_32x32"} <= set(rows)
    assert all(rows.values())
