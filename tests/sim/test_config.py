"""Design points: every shipped YAML loads; bad input gives one precise error."""

import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from archsim.design.arch import ConfigError, arch_from_dict, builtin_arch_dir, load_arch

SHIPPED = sorted(builtin_arch_dir().glob("*.yaml"))


def test_required_design_points_exist():
    names = {p.stem for p in SHIPPED}
    for n in ("1x1", "2x2", "4x4", "8x8"):
        assert f"lutna_{n}" in names and f"mac_{n}" in names
    assert {"scalesim_16x16", "scalesim_32x32"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_configs_load(path):
    arch = load_arch(path)
    assert arch.name == path.stem
    assert arch.source == str(path)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_configs_describe_themselves(path):
    """`archsim list` prints this one line per design point."""
    assert load_arch(path).description.strip()


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "text,pattern",
    [
        ("name: x\nclock_mhz: 100\nfoo: 1\n", r"bad.yaml: field 'foo': unknown key"),
        ("name: x\ntile:\n  pe_array:\n    rowz: 4\n", r"field 'tile.pe_array.rowz': unknown key"),
        ("name: x\nname: y\n", r"bad.yaml: duplicate key 'name' at line 2"),
        ("name: x\ngrid:\n  rows: -2\n", r"field 'grid.rows': Input should be greater than 0"),
        ("name: x\ngrid:\n  rows: two\n", r"field 'grid.rows': Input should be a valid integer"),
        ("name: x\ntile:\n  sram:\n    ifmap:\n      capacity_bytes: 0\n",
         r"field 'tile.sram.ifmap.capacity_bytes': Input should be greater than 0"),
        ("name: x\ntile:\n  pe_array:\n    pe_kind: lutna\n    pe_params: {digit_bits: 3}\n",
         r"tile.pe_array.*digit_bits"),
        ("name: x\ntile:\n  pe_array:\n    pe_kind: nosuch\n", r"tile.pe_array.*nosuch"),
        ("- a\n- b\n", r"expected a mapping"),
        ("name: x\nbatch: 0\n", r"field 'batch': Input should be greater than 0"),
        ("name: x\ngbuf:\n  capacity_bytes: -1\n",
         r"field 'gbuf.capacity_bytes': Input should be greater than or equal to 0"),
        ("name: x\ngbuf:\n  portz: 2\n", r"field 'gbuf.portz': unknown key"),
    ],
)
def test_bad_config_errors(tmp_path, text, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_arch(_write(tmp_path, text))


def test_missing_file():
    with pytest.raises(ConfigError, match="no such file"):
        load_arch("/nonexistent/arch.yaml")


def test_overrides_validate():
    arch = load_arch("lutna_2x2")
    assert arch.with_overrides({"grid.rows": 4}).grid.rows == 4
    with pytest.raises(ConfigError, match="unknown field"):
        arch.with_overrides({"grid.depth": 4})
    with pytest.raises(ConfigError, match="grid.rows"):
        arch.with_overrides({"grid.rows": 0})


def test_pe_kind_override_keeps_the_params_the_new_kind_accepts():
    """with_overrides and `archsim sweep --set tile.pe_array.pe_kind=...` give the same chip."""
    from archsim.sweep.worker import build_point_arch

    base = load_arch("lutna_4x4")
    mac = base.with_overrides({"tile.pe_array.pe_kind": "mac"})
    assert mac.tile.pe_array.pe_kind == "mac"
    assert mac.tile.pe_array.pe_params == {"act_bits": 8, "weight_bits": 9}
    assert build_point_arch(base, (("tile.pe_array.pe_kind", "mac"),)) == mac
    # a single parameter applies on top; a whole pe_params replaces the kept ones
    assert base.with_overrides({"tile.pe_array.pe_kind": "mac",
                                "tile.pe_array.pe_params.act_bits": 4}
                               ).tile.pe_array.pe_params == {"act_bits": 4, "weight_bits": 9}
    assert base.with_overrides({"tile.pe_array.pe_kind": "mac",
                                "tile.pe_array.pe_params": {"act_bits": 6}}
                               ).tile.pe_array.pe_params == {"act_bits": 6}
    with pytest.raises(ConfigError, match="unknown PE kind 'foo'"):
        base.with_overrides({"tile.pe_array.pe_kind": "foo"})


def test_every_error_reported_at_once(tmp_path):
    text = "name: x\nfoo: 1\ngrid:\n  rows: 0\n  cols: two\ntile:\n  lut_banks:\n    count: -1\n"
    with pytest.raises(ConfigError) as ei:
        load_arch(_write(tmp_path, text))
    p = tmp_path / "bad.yaml"
    assert str(ei.value) == "; ".join([
        f"{p}: field 'grid.rows': Input should be greater than 0",
        f"{p}: field 'grid.cols': Input should be a valid integer",
        f"{p}: field 'tile.lut_banks.count': Input should be greater than or equal to 0",
        f"{p}: field 'foo': unknown key",
    ])


def test_cross_field_checks_keep_their_messages():
    arch = load_arch("lutna_2x2")
    with pytest.raises(ConfigError) as ei:
        arch.with_overrides({"tile.lut_banks.count": 0})
    assert str(ei.value) == (
        f"{arch.source} + overrides: field '<root>': Value error, tile.lut_banks.count: "
        "PE kind 'lutna' reads tables; count must be > 0")


def test_weight_organisation_needs_unshared_tables():
    arch = load_arch("lutna_2x2")  # pes_per_table: 16
    with pytest.raises(ConfigError) as ei:
        arch.with_overrides({"tile.lut_banks.organisation": "weight"})
    assert str(ei.value) == (
        f"{arch.source} + overrides: field '<root>': Value error, tile.lut_banks.pes_per_table: "
        "organisation 'weight' gives every PE its own table of W*x for its stationary weight W, "
        "so a table cannot be shared; set pes_per_table to 1, not 16")
    ok = arch.with_overrides({"tile.lut_banks.organisation": "weight",
                              "tile.lut_banks.pes_per_table": 1})
    assert ok.tile.lut_banks.organisation == "weight"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_resolved_round_trips(path):
    arch = load_arch(path)
    data = arch.resolved()
    assert data["source"] == str(path) and isinstance(data["clock_mhz"], float)
    assert arch_from_dict(data, source=arch.source) == arch
    assert pickle.loads(pickle.dumps(arch)) == arch  # sweeps send configs to worker processes


def test_configs_are_frozen_values():
    arch = load_arch("lutna_2x2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        arch.grid.rows = 3
    assert arch == load_arch("lutna_2x2") != arch.with_overrides({"grid.rows": 3})
    assert arch.with_overrides({"clock_mhz": 250}).clock_mhz == 250.0  # int -> float
    assert arch.with_overrides({"grid.rows": 3}).grid.rows == 3 and arch.grid.rows == 2


def test_config_and_tables_do_not_import_pydantic():
    code = ("import sys, archsim.design.arch, archsim.energy.tables; "
            "assert 'pydantic' not in sys.modules, 'pydantic imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
