"""Cost tables: shipped tables load, every entry has a source, bad tables fail clearly."""

import pickle
from pathlib import Path

import pytest
import yaml

from archsim.design.schema import dump, field_names, parse
from archsim.energy import CostError, CostTable, load_cost_table
from archsim.energy.tables import Curve, Scalar, builtin_energy_dir

TABLES = sorted(p.stem for p in builtin_energy_dir().glob("*.yaml"))


def test_shipped_tables_present():
    assert {"horowitz_45nm", "cacti_65nm"} <= set(TABLES)


@pytest.mark.parametrize("name", TABLES)
def test_every_entry_has_a_source_and_header(name):
    t = load_cost_table(name)
    assert t.technology_node_nm > 0 and t.voltage_v > 0 and len(t.source) > 10
    n = 0
    for cls_name in field_names(type(t.classes)):
        group = getattr(t.classes, cls_name)
        for key in field_names(type(group)):
            e = getattr(group, key)
            if e is None:
                continue
            n += 1
            assert isinstance(e, (Scalar, Curve))
            assert len(e.source.strip()) >= 3, f"{name}: {cls_name}.{key} has no source"
    assert n >= 30
    assert f"{t.technology_node_nm:g} nm" in t.provenance()


def test_curve_interpolation_by_hand():
    t = load_cost_table("horowitz_45nm")
    # adder, linear in width: 12 bits is half way from 8 (0.03 pJ) to 16 (0.05 pJ)
    assert t.value("adder", "energy_pj", 12) == pytest.approx(0.04)
    # below the first point the first segment extends: 4 bits -> 0.03 - 4 * 0.0025 = 0.02
    assert t.value("adder", "energy_pj", 4) == pytest.approx(0.02)
    # SRAM in log-capacity: 16 KB is the geometric middle of 8 KB (10) and 32 KB (20) -> 10*sqrt2
    assert t.value("sram", "read_pj_per_64b", 16384) == pytest.approx(10 * 2**0.5)
    # multiplier, power law in n_a*n_b: 8x8=64 -> 0.2, 32x32=1024 -> 3.1; 256 = 64 * 4 ->
    # 0.2 * 4^(ln 15.5 / ln 16) = 0.2 * 15.5^0.5
    assert t.value("multiplier", "energy_pj", 256) == pytest.approx(0.2 * 15.5**0.5)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    return p


def _table_text() -> str:
    return (builtin_energy_dir() / "horowitz_45nm.yaml").read_text()


def test_unknown_key_names_field_and_file(tmp_path):
    data = yaml.safe_load(_table_text())
    data["classes"]["adder"]["energy_per_op_pj"] = {"value": 1.0, "source": "typo test"}
    p = _write(tmp_path, yaml.safe_dump(data))
    with pytest.raises(CostError) as ei:
        load_cost_table(p)
    msg = str(ei.value)
    assert str(p) in msg and "classes.adder.energy_per_op_pj" in msg and "unknown key" in msg


def test_unknown_class_names_field_and_file(tmp_path):
    data = yaml.safe_load(_table_text())
    data["classes"]["multipler"] = {}
    p = _write(tmp_path, yaml.safe_dump(data))
    with pytest.raises(CostError, match=r"bad\.yaml: field 'classes\.multipler': unknown key"):
        load_cost_table(p)


def test_duplicate_key_names_file_and_line(tmp_path):
    text = _table_text().replace(
        "  dram:\n", "  dram:\n    read_pj_per_byte: {value: 1.0, source: first copy}\n", 1)
    p = _write(tmp_path, text)
    with pytest.raises(CostError) as ei:
        load_cost_table(p)
    msg = str(ei.value)
    assert str(p) in msg and "duplicate key 'read_pj_per_byte'" in msg and "line" in msg


def test_negative_energy_names_field_and_file(tmp_path):
    data = yaml.safe_load(_table_text())
    data["classes"]["vector"]["op_pj"]["value"] = -0.05
    p = _write(tmp_path, yaml.safe_dump(data))
    with pytest.raises(CostError) as ei:
        load_cost_table(p)
    msg = str(ei.value)
    assert str(p) in msg and "classes.vector.op_pj.value" in msg
    assert "greater than or equal to 0" in msg


def test_negative_curve_point_and_unsorted_curve(tmp_path):
    data = yaml.safe_load(_table_text())
    data["classes"]["adder"]["energy_pj"]["points"][1][1] = -1
    with pytest.raises(CostError, match=r"classes\.adder\.energy_pj\.points\.1\.1"):
        load_cost_table(_write(tmp_path, yaml.safe_dump(data)))
    data = yaml.safe_load(_table_text())
    data["classes"]["adder"]["energy_pj"]["points"] = [[16, 0.05], [8, 0.03]]
    with pytest.raises(CostError, match="strictly increasing"):
        load_cost_table(_write(tmp_path, yaml.safe_dump(data)))


def test_missing_source_and_non_numbers(tmp_path):
    data = yaml.safe_load(_table_text())
    del data["classes"]["vector"]["op_pj"]["source"]
    with pytest.raises(CostError, match=r"classes\.vector\.op_pj\.source"):
        load_cost_table(_write(tmp_path, yaml.safe_dump(data)))
    data = yaml.safe_load(_table_text())
    data["classes"]["vector"]["op_pj"]["value"] = "0.05"
    with pytest.raises(CostError, match=r"classes\.vector\.op_pj\.value"):
        load_cost_table(_write(tmp_path, yaml.safe_dump(data)))


def test_unknown_table_name_lists_available():
    with pytest.raises(CostError, match="horowitz_45nm"):
        load_cost_table("no_such_table")


def test_non_number_message_names_the_field(tmp_path):
    data = yaml.safe_load(_table_text())
    data["classes"]["vector"]["op_pj"]["value"] = "0.05"
    data["voltage_v"] = True  # bool is not a number
    p = _write(tmp_path, yaml.safe_dump(data))
    with pytest.raises(CostError) as ei:
        load_cost_table(p)
    assert str(ei.value) == (
        f"{p}: field 'voltage_v': Input should be a valid number; "
        f"{p}: field 'classes.vector.op_pj.value': Input should be a valid number")


def test_loglog_curve_needs_positive_points(tmp_path):
    data = yaml.safe_load(_table_text())
    data["classes"]["multiplier"]["energy_pj"]["points"] = [[0, 0.2], [1024, 3.1]]
    p = _write(tmp_path, yaml.safe_dump(data))
    with pytest.raises(CostError) as ei:
        load_cost_table(p)
    assert str(ei.value) == (f"{p}: field 'classes.multiplier.energy_pj': Value error, loglog "
                             "curves need x > 0 and y > 0 at every point")


@pytest.mark.parametrize("name", TABLES)
def test_dump_round_trips(name):
    t = load_cost_table(name)
    data = dump(t)
    assert isinstance(data["classes"]["adder"]["energy_pj"]["points"][0], tuple)
    assert isinstance(dump(t, json=True)["classes"]["adder"]["energy_pj"]["points"][0], list)
    assert parse(CostTable, data, t.path) == t
    assert parse(CostTable, dump(t, json=True), t.path) == t
    assert pickle.loads(pickle.dumps(t)) == t
