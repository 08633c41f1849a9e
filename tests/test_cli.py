"""The ``archsim`` command as users run it: a real subprocess, real files."""

import json
import subprocess
import sys

from tests.sim.helpers import gemm_csv


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "archsim", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, check=False)


def test_pe_table_lists_every_kind():
    r = _run("pe-table")
    assert r.returncode == 0, r.stderr
    for kind in ("mac", "lut", "lutna", "alutna"):
        assert kind in r.stdout
    rows = json.loads(_run("pe-table", "--json").stdout)
    lutna = next(x for x in rows if x["kind"] == "lutna" and x.get("digit_bits", 4) == 4)
    assert lutna["lookups_per_mac"] == 4


def test_run_on_scalesim_csv_writes_run_folder(tmp_path):
    csv = gemm_csv(tmp_path, [("g1", 64, 64, 64)])
    out = tmp_path / "run"
    r = _run("run", "scalesim_16x16", "--workload", str(csv), "--dataflow", "os",
             "--out", str(out))
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["latency_cycles"] == 1503  # SCALE-Sim v3 prints 1503 for this GEMM
    assert (out / "layers.csv").read_text().splitlines()[1].startswith("g1,conv")
    assert "git_revision" in (out / "config.resolved.yaml").read_text()
    # a saved workload folder runs too
    from archsim.graph.ir import save_workload
    from archsim.graph.scalesim_csv import load_topology

    save_workload(load_topology(csv), tmp_path / "saved")
    r = _run("run", "scalesim_16x16", "--workload", str(tmp_path / "saved"), "--dataflow", "os",
             "--out", str(tmp_path / "run2"))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "run2" / "summary.json").read_text())["latency_cycles"] == 1503


def test_bad_config_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ngrid:\n  rows: 2\n  colls: 2\n")
    r = _run("run", str(bad), "--workload", str(gemm_csv(tmp_path, [("g", 4, 4, 4)])))
    assert r.returncode == 2
    assert "bad.yaml: field 'grid.colls': unknown key" in r.stderr
    assert "Traceback" not in r.stderr


def test_simulator_path_does_not_import_torch():
    code = ("import sys, archsim.sim.engine, archsim.graph.scalesim_csv, archsim.cli, "
            "archsim.report.run_folder; "
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.stdout.strip() == "False", r.stderr


def test_bad_mapping_option_is_one_clear_error(tmp_path):
    r = _run("run", "scalesim_16x16", "--workload", str(gemm_csv(tmp_path, [("g", 4, 4, 4)])),
             "--mapping", "stripes", "--out", str(tmp_path / "run"))
    assert r.returncode == 2
    assert "mapping: strategy 'stripes' is not one of" in r.stderr
    assert "Traceback" not in r.stderr


def test_run_weights_mismatch_is_one_line_naming_the_key(tmp_path):
    import torch

    from workloads.models import zoo_model

    sd = dict(zoo_model("vgg11").state_dict())
    sd["classifier.weight"] = torch.zeros(7, 512)
    torch.save(sd, tmp_path / "w.pt")
    r = _run("run", "lutna_1x1", "--workload", "vgg11", "--weights", str(tmp_path / "w.pt"),
             "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "key 'classifier.weight' has shape (7, 512), the model expects (10, 512)" in r.stderr
    csv = gemm_csv(tmp_path, [("g1", 8, 8, 8)])
    r = _run("run", "lutna_1x1", "--workload", str(csv), "--weights", str(tmp_path / "w.pt"))
    assert r.returncode == 2 and "only zoo workloads take a state dict" in r.stderr


def test_list_names_every_builtin_design_point(tmp_path):
    from archsim.design.arch import builtin_arch_dir

    r = _run("list", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(list(builtin_arch_dir().glob("*.yaml")))
    names = [line.split()[0] for line in lines]
    assert names.index("lutna_2x2") < names.index("lutna_16x16")  # natural order
    row = next(line for line in lines if line.startswith("lutna_4x4 "))
    assert "4x4 tiles of 16x16 LUT-NA" in row
