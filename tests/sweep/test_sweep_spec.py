"""Sweep specs: command-line and YAML parsing, strict validation, point expansion and ids."""

import pytest

from archsim.design.arch import ConfigError, load_arch
from archsim.sweep.run import expand_points, load_sweep_file, parse_grid, spec_from_args
from archsim.sweep.worker import build_point_arch


def test_grid_shorthand_and_ranges():
    assert parse_grid("4x2", "x") == [(4, 2)]
    assert parse_grid("1x1..16x16", "x") == [(1, 1), (2, 2), (4, 4), (8, 8), (16, 16)]
    assert parse_grid("1x2..4x8", "x") == [(1, 2), (2, 4), (4, 8)]
    with pytest.raises(ConfigError, match="ROWSxCOLS"):
        parse_grid("four", "x")
    with pytest.raises(ConfigError, match="does not reach"):
        parse_grid("3x3..16x16", "x")


def test_cli_spec_points_and_ids(tmp_path):
    csv_path = tmp_path / "w.csv"
    csv_path.write_text("Layer, M, N, K,\ng, 8, 8, 8,\n")
    sets = ["grid=1x1..2x2", "dataflow=os,ws", "tile.pe_array.pe_kind=mac,lutna",
            "tile.sram.ifmap.capacity_bytes=4096"]
    with pytest.raises(ConfigError, match="applies to zoo workloads only"):
        spec_from_args(None, "lutna_2x2", [str(csv_path)], "0.5", None, sets)
    spec = spec_from_args(None, "lutna_2x2", [str(csv_path)], None, None, sets)
    assert spec.axis_names() == ["grid", "tile.pe_array.pe_kind", "tile.sram.ifmap.capacity_bytes"]
    pts = expand_points(spec, load_arch("lutna_2x2"))
    assert len(pts) == 2 * 2 * 2  # grid x dataflow x pe_kind (sparsity n/a for a CSV)
    assert all(p.sparsity is None for p in pts)
    assert pts[0].overrides == (("grid.rows", 1), ("grid.cols", 1),
                                ("tile.pe_array.pe_kind", "mac"),
                                ("tile.sram.ifmap.capacity_bytes", 4096))
    assert len({p.point_id for p in pts}) == len(pts)
    again = expand_points(spec, load_arch("lutna_2x2"))
    assert [p.point_id for p in again] == [p.point_id for p in pts]  # ids are stable
    other = expand_points(spec, load_arch("lutna_4x4"))  # a different base design point
    assert not {p.point_id for p in other} & {p.point_id for p in pts}


def test_pe_kind_switch_keeps_valid_params():
    base = load_arch("lutna_2x2")
    arch = build_point_arch(base, (("tile.pe_array.pe_kind", "mac"),))
    assert arch.tile.pe_array.pe_kind == "mac"
    assert "digit_bits" not in arch.tile.pe_array.pe_params
    assert arch.tile.pe_array.pe_params["weight_bits"] == 9


def _write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_sweep_file_ok(tmp_path):
    p = _write(tmp_path, "arch: lutna_2x2\nworkloads: [resnet18]\nsparsity: [0.9]\n"
                         "set:\n  grid: [1x1, 2x2]\n  dataflow: [os, ws, is]\n"
                         "mapping: [layer, pipeline]\n")
    spec = load_sweep_file(p)
    assert spec.name == "s" and spec.sparsity == (0.9,)
    assert [a for a, _ in spec.axes] == ["grid", "dataflow", "mapping"]
    assert dict(spec.axes)["mapping"] == ("layer:auto", "pipeline:auto")
    assert len(expand_points(spec, load_arch("lutna_2x2"))) == 2 * 3 * 2


@pytest.mark.parametrize("text, needle", [
    ("arch: lutna_2x2\nworkloads: [a]\ncolour: red\n", "unknown key(s) 'colour'"),
    ("arch: lutna_2x2\nworkloads: [a]\nset:\n  grid: [1x1]\n  grid: [2x2]\n",
     "duplicate key 'grid'"),
    ("arch: lutna_2x2\nworkloads: [a]\nset:\n  tile.pe_aray.rows: [8]\n",
     "unknown field 'tile.pe_aray.rows'"),
    ("arch: lutna_2x2\nworkloads: [a]\ndataflow: [xs]\n", "field 'dataflow'"),
    ("arch: lutna_2x2\nworkloads: [a]\nmapping: [sideways]\n", "field 'mapping'"),
    ("workloads: [a]\n", "'arch'"),
    ("arch: lutna_2x2\nworkloads: [a]\nsparsity: [1.5]\n", "field 'sparsity'"),
])
def test_bad_sweep_files_name_file_and_field(tmp_path, text, needle):
    p = _write(tmp_path, text, "bad_sweep.yaml")
    with pytest.raises(ConfigError) as exc:
        spec = load_sweep_file(p)
        expand_points(spec, load_arch(spec.arch))
    assert str(p) in str(exc.value) and needle in str(exc.value)


def test_cli_unknown_field_is_an_error(capsys):
    from archsim.cli import main

    assert main(["sweep", "--arch", "lutna_2x2", "--workload", "x.csv",
                 "--set", "tile.nope=1"]) == 2
    assert "unknown field 'tile.nope'" in capsys.readouterr().err


def test_file_plus_command_line(tmp_path):
    p = _write(tmp_path, "arch: lutna_2x2\nworkloads: [resnet18]\nsparsity: [0.9]\n"
                         "set:\n  grid: [1x1, 2x2]\ndataflow: [os]\n")
    spec = spec_from_args(str(p), "lutna_4x4", [], None, "0,1",
                          ["grid=4x4", "dataflow=ws,is", "tile.vector_lanes=8,16"])
    axes = dict(spec.axes)
    assert spec.arch == "lutna_4x4" and spec.seeds == (0, 1) and spec.sparsity == (0.9,)
    assert axes["grid"] == ("4x4",) and axes["dataflow"] == ("ws", "is")
    assert axes["tile.vector_lanes"] == (8, 16)  # typed values from the command line
    assert str(p) in spec.source


def test_point_ids_change_with_the_simulator_code(monkeypatch):
    """A result produced by other simulator code is never reused on resume."""
    from archsim.design.arch import load_arch
    from archsim.sweep import spec as sweep_spec

    spec = sweep_spec.spec_from_args(None, "lutna_2x2", ["resnet18"], "0.9", None,
                                     ["dataflow=os,ws"])
    base = load_arch("lutna_2x2")
    before = [p.point_id for p in sweep_spec.expand_points(spec, base)]
    assert before == [p.point_id for p in sweep_spec.expand_points(spec, base)]
    monkeypatch.setattr(sweep_spec, "code_identity", lambda: "other-code")
    after = [p.point_id for p in sweep_spec.expand_points(spec, base)]
    assert set(before).isdisjoint(after)
