"""Every bad input or usage of ``archsim`` is one line on stderr with exit code 2, as a user
sees it: real subprocesses, real files (exit codes: docs/cli.md, archsim/errors.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archsim.errors import EXIT_CODES, EXIT_USAGE
from tests.sim.helpers import gemm_csv

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "archsim", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, check=False)


def _one_line_error(r, command: str, *needles: str) -> None:
    assert r.returncode == EXIT_USAGE, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"archsim {command}: error: "), lines[0]
    assert len(lines[0]) < 1200
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture(scope="module")
def wl(tmp_path_factory):
    return gemm_csv(tmp_path_factory.mktemp("wl"), [("g", 16, 16, 16)])


@pytest.fixture(scope="module")
def saved(tmp_path_factory, wl):
    """A saved workload folder and a complete run folder (written once)."""
    from archsim.graph.ir import save_workload
    from archsim.graph.scalesim_csv import load_topology

    d = tmp_path_factory.mktemp("saved")
    save_workload(load_topology(wl), d / "wl")
    r = _run("run", "scalesim_16x16", "--workload", wl, "--out", d / "run", "--no-plots")
    assert r.returncode == 0, r.stderr
    return d


def test_exit_codes_are_documented():
    doc = (ROOT / "docs" / "cli.md").read_text()
    for code in EXIT_CODES:
        assert re.search(rf"^\| {code} \|", doc, re.MULTILINE), code
    assert "docs/cli.md" in (ROOT / "README.md").read_text()


class _Result:
    def __init__(self, returncode, stderr):
        self.returncode, self.stderr = returncode, stderr


def _main(capsys, *args):
    """``archsim.cli.main`` in this process (which has torch loaded already: the zoo cases
    would cost a torch import per subprocess); same code path as the command line."""
    import signal

    from archsim.cli import main

    capsys.readouterr()
    old = signal.getsignal(signal.SIGTERM)
    try:
        code = main([str(a) for a in args])
    finally:
        signal.signal(signal.SIGTERM, old)
    return _Result(code, capsys.readouterr().err)


def test_unknown_zoo_name_and_mistyped_folder(tmp_path, capsys):
    r = _main(capsys, "run", "scalesim_16x16", "--workload", "resnet81", "--out", tmp_path / "o")
    _one_line_error(r, "run", "'resnet81'", "not a zoo name", "resnet18")
    r = _main(capsys, "run", "scalesim_16x16", "--workload", tmp_path / "my_saved_wl")
    _one_line_error(r, "run", "my_saved_wl", "no such folder or .csv file")
    r = _main(capsys, "demo", "--model", "resnet81", "--out", tmp_path / "d")
    _one_line_error(r, "demo", "'resnet81'", "not a zoo name")


@pytest.mark.parametrize("case", ["file", "under_a_file", "too_long", "foreign_folder"])
def test_bad_out_fails_before_any_work(tmp_path, wl, case):
    f = tmp_path / "a_file"
    f.write_text("x")
    out = {"file": f, "under_a_file": f / "run", "too_long": tmp_path / ("r" * 300),
           "foreign_folder": tmp_path}[case]
    t0 = time.perf_counter()
    r = _run("run", "scalesim_16x16", "--workload", wl, "--out", out)
    _one_line_error(r, "run", {"file": "exists and is not a folder",
                               "under_a_file": "is a file, not a folder",
                               "too_long": "at most 200",
                               "foreign_folder": "not a run folder's"}[case])
    assert f.read_text() == "x"
    assert time.perf_counter() - t0 < 30


def test_unwritable_out_for_every_command(tmp_path, wl, saved):
    bad = Path("/proc/archsim-no-such-dir/out")  # a read-only file system, even for root
    _one_line_error(_run("run", "scalesim_16x16", "--workload", wl, "--out", bad), "run",
                    str(bad))
    _one_line_error(_run("demo", "--out", bad), "demo", str(bad))
    _one_line_error(_run("paper", "--no-system", "--no-mixed", "--out-dir", bad), "paper",
                    str(bad))
    _one_line_error(_run("sweep", "--arch", "scalesim_16x16", "--workload", wl, "--out", bad,
                         "--no-progress"), "sweep", str(bad))
    _one_line_error(_run("compare", saved / "run", "--out", bad), "compare", str(bad))


def test_corrupt_saved_workloads(tmp_path, saved, capsys):
    import shutil

    good = saved / "wl"
    data = (good / "arrays.npz").read_bytes()
    cases = {
        "truncated": lambda d: (d / "arrays.npz").write_bytes(data[: len(data) // 2]),
        "bitflip": lambda d: (d / "arrays.npz").write_bytes(
            data[:200] + bytes([data[200] ^ 0xFF]) + data[201:]),
        "empty": lambda d: (d / "arrays.npz").write_bytes(b""),
        "json": lambda d: (d / "graph.json").write_text("{\"directed\": tru"),
        "json_list": lambda d: (d / "graph.json").write_text("[]"),
        "not_utf8": lambda d: (d / "graph.json").write_bytes(b"{\"a\": \"\xff\xfe\"}"),
    }
    for name, spoil in cases.items():
        d = tmp_path / name
        shutil.copytree(good, d)
        spoil(d)
        r = _main(capsys, "run", "scalesim_16x16", "--workload", d, "--out",
                  tmp_path / f"o_{name}")
        _one_line_error(r, "run", str(d))


def test_bad_csv_and_yaml_inputs(tmp_path, capsys):
    big = tmp_path / "big.csv"
    big.write_text("Layer, M, N, K,\ng, 100000, 100000, 100000,\n")
    _one_line_error(_main(capsys, "run", "scalesim_16x16", "--workload", big), "run",
                    "big.csv:2", "above the limit")
    empty_cell = tmp_path / "cell.csv"
    empty_cell.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                          "Channels, Num Filter, Strides,\nconv1, 34, , 3, 3, 3, 64, 1,\n")
    _one_line_error(_main(capsys, "run", "scalesim_16x16", "--workload", empty_cell), "run",
                    "cell.csv:2", "'IFMAP Width' is empty")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Layer, M, N, K,\nschicht_ä, 4, 4, 4,\n".encode("latin-1"))
    _one_line_error(_main(capsys, "run", "scalesim_16x16", "--workload", latin), "run",
                    "latin.csv", "not UTF-8")
    arch = tmp_path / "arch.yaml"
    arch.write_bytes(b"name: caf\xe9\n")
    r = _main(capsys, "run", arch, "--workload", latin)
    _one_line_error(r, "run", "arch.yaml", "not UTF-8")


def test_alias_bomb_fails_fast_with_a_short_message(tmp_path, wl):
    lines = ["name: bomb", "tile:", "  pe_array:", "    pe_params:",
             '      l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"      l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    t0 = time.perf_counter()
    r = _run("run", bomb, "--workload", wl)
    assert time.perf_counter() - t0 < 10  # the process; the YAML check itself takes ~1 ms
    _one_line_error(r, "run", "bomb.yaml", "aliases are expanded")


@pytest.mark.parametrize("clock", [".inf", "1.0e-300", "-5", ".nan"])
def test_clock_must_be_finite_and_positive(tmp_path, wl, clock, capsys):
    arch = tmp_path / "clk.yaml"
    arch.write_text(f"name: clk\nclock_mhz: {clock}\n")
    _one_line_error(_main(capsys, "run", arch, "--workload", wl), "run", "clk.yaml", "clock_mhz")


def test_sizes_have_upper_bounds(tmp_path, wl, capsys):
    arch = tmp_path / "huge.yaml"
    arch.write_text("name: huge\ngrid: {rows: 1000, cols: 1000}\ntile:\n  pe_array: "
                    "{rows: 1000000, cols: 1000000}\n  sram:\n    ifmap: "
                    "{capacity_bytes: 1000000000000000000000000000000}\nbatch: 10000000\n")
    r = _main(capsys, "run", arch, "--workload", wl)
    _one_line_error(r, "run", "grid.rows", "tile.pe_array.rows", "capacity_bytes", "batch")


def test_options_that_do_not_apply_are_errors(tmp_path, wl, saved, capsys):
    r = _main(capsys, "run", "scalesim_16x16", "--workload", wl, "--sparsity", "0.5")
    _one_line_error(r, "run", "--sparsity", "zoo workloads only")
    r = _main(capsys, "run", "scalesim_16x16", "--workload", saved / "wl", "--sparsity", "0.5")
    _one_line_error(r, "run", "saved workload folder")
    for bad in ("1.5", "-0.1"):
        _one_line_error(_main(capsys, "run", "lutna_2x2", "--workload", "lenet", "--sparsity", bad,
                             "--out", tmp_path / "o"), "run", "outside [0, 1)")
    _one_line_error(_main(capsys, "demo", "--sparsity", "1.5", "--out", tmp_path / "d"), "demo",
                    "outside [0, 1)")


def test_compare_refuses_what_is_not_a_complete_run(tmp_path, saved):
    import shutil

    for name, content in (("list", "[]"), ("dict", "{}")):
        d = tmp_path / name
        shutil.copytree(saved / "run", d)
        (d / "summary.json").write_text(content)
        _one_line_error(_run("compare", d, "--out", tmp_path / "c"), "compare",
                        str(d / "summary.json"))
    inc = tmp_path / "incomplete"
    shutil.copytree(saved / "run", inc)
    (inc / "RUN_COMPLETE").unlink()
    _one_line_error(_run("compare", inc, "--out", tmp_path / "c"), "compare", "incomplete")
    r = _run("compare", saved / "run", saved / "run", "--out", tmp_path / "c")
    assert r.returncode == 0, r.stderr
    table = r.stdout.split("\nwritten:")[0].splitlines()
    assert max(len(line) for line in table) <= 120


def test_second_run_into_a_folder_in_use_fails(tmp_path, wl):
    from archsim.report.outputs import folder_lock

    out = tmp_path / "busy"
    with folder_lock(out):  # this process holds it, as a running `archsim run` would
        r = _run("run", "scalesim_16x16", "--workload", wl, "--out", out)
    _one_line_error(r, "run", "busy", "in use by another archsim process")
    r = _run("run", "scalesim_16x16", "--workload", wl, "--out", out, "--no-plots")
    assert r.returncode == 0, r.stderr


def test_rerun_leaves_nothing_stale(tmp_path, wl):
    out = tmp_path / "r"
    assert _run("run", "scalesim_16x16", "--workload", wl, "--out", out).returncode == 0
    assert (out / "tile_utilization.png").exists() and (out / "RUN_COMPLETE").exists()
    r = _run("run", "scalesim_16x16", "--workload", wl, "--out", out, "--no-plots")
    assert r.returncode == 0, r.stderr
    assert not list(out.glob("*.png"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".r.")]  # no temp, no lock
    summary = json.loads((out / "summary.json").read_text())
    assert summary["per_tile"][0]["utilization"] == pytest.approx(summary["utilization"])


def test_default_out_name_stays_in_reports(tmp_path, wl):
    arch = tmp_path / "evil.yaml"
    arch.write_text("name: ../../../escaped\n")
    r = _run("run", arch, "--workload", wl, "--no-plots", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    made = [p for p in (tmp_path / "reports").iterdir()]
    assert [p.name for p in made] == ["gemm_.._.._.._escaped_ws_layer"]
    assert not list(tmp_path.parent.parent.glob("escaped*"))


def test_limits_are_documented():
    """Every upper bound declared on a design-point field, a topology CSV or a file read is
    in docs/cli.md's "Limits" table."""
    import dataclasses

    from archsim.design import arch as A
    from archsim.design.schema import field_rules
    from archsim.graph import scalesim_csv as T
    from archsim.safeio import MAX_TEXT_BYTES, MAX_YAML_NODES

    doc = (ROOT / "docs" / "cli.md").read_text().split("## Limits")[1]

    def shown(v) -> bool:
        v = int(v)
        return f"{v:,}" in doc or f"| {v} " in doc or f"<= {v} " in doc or f"<= {v}\n" in doc

    seen = set()
    for cls in (A.ArchConfig, A.TileConfig, A.PEArrayConfig, A.LUTBankConfig, A.SRAMConfig,
                A.RouterConfig, A.GridConfig, A.InterconnectConfig, A.DRAMConfig,
                A.GlobalBufferConfig):
        for f in dataclasses.fields(cls):
            r = field_rules(cls, f.name)
            for bound in (r.le, r.max_len):
                if bound is not None:
                    seen.add(bound)
                    assert shown(bound), f"{cls.__name__}.{f.name} <= {bound} not in docs/cli.md"
    assert len(seen) >= 6
    for v in (A.MAX_PES_PER_TILE, A.MAX_TILES, T.MAX_LAYERS, T.MAX_DIM, T.MAX_WEIGHTS,
              T.MAX_TENSOR, T.MAX_NAME, MAX_YAML_NODES):
        assert shown(v), v
    assert f"{MAX_TEXT_BYTES >> 20} MiB" in doc
