"""``archsim paper``: the four headline ratios, the sensitivity table, the CLI and the report."""

import csv
import json
from dataclasses import replace

import pytest

from archsim.studies.paper import (
    PAPER_CLAIMS,
    PaperAssumptions,
    deviation,
    headline_ratios,
    sensitivity,
    unit_costs,
)


def test_headline_ratios_within_10_percent_of_the_paper():
    r = headline_ratios(PaperAssumptions())
    assert set(r) == set(PAPER_CLAIMS)
    for k, paper in PAPER_CLAIMS.items():
        assert r[k] == pytest.approx(paper, rel=0.10), k
    assert deviation(r) <= 0.10


def test_ratios_hold_on_the_65nm_table_too():
    assert deviation(headline_ratios(PaperAssumptions(table="cacti_65nm"))) <= 0.10


def test_ratios_are_unit_cost_ratios():
    u = unit_costs(PaperAssumptions())
    r = headline_ratios()
    assert r["lutna_vs_mac_energy"] == pytest.approx(
        u["mac"].energy_per_mac_pj / u["lutna"].energy_per_mac_pj)
    assert r["lutna_vs_lut_area"] == pytest.approx(u["lut"].area_um2 / u["lutna"].area_um2)
    # the stated counting excludes the accumulator
    assert "accumulator_pj" not in u["lutna"].breakdown


def test_sensitivity_rows_move_in_the_expected_directions():
    rows = sensitivity()
    base = rows[0]
    assert base.label == "as stated" and base.ratios == headline_ratios()
    by = {r.change: r.ratios for r in rows}
    # all 256 rows switching: LUT-NA loses its energy advantage over a MAC
    assert by["random access (no static index bits)"]["lutna_vs_mac_energy"] < 1
    # sharing the LUT-NA tables more widely shrinks LUT-NA's area
    assert (by["16 PEs per table set"]["lutna_vs_mac_area"] < base.ratios["lutna_vs_mac_area"]
            < by["256 PEs per table set"]["lutna_vs_mac_area"])
    # sharing the monolithic table more widely shrinks the LUT's area
    assert (by["1024 PEs per monolithic table"]["lutna_vs_lut_area"]
            < base.ratios["lutna_vs_lut_area"]
            < by["128 PEs per monolithic table"]["lutna_vs_lut_area"])
    # a common accumulator dilutes every ratio towards 1
    acc = by["accumulator included in every unit"]
    assert all(1 <= acc[k] < base.ratios[k] for k in PAPER_CLAIMS)
    # sharing changes area only
    assert by["16 PEs per table set"]["lutna_vs_mac_energy"] == pytest.approx(
        base.ratios["lutna_vs_mac_energy"])
    assert len({r.change for r in rows}) == len(rows)


def test_digit_width_sensitivity_is_traceable():
    k2 = unit_costs(replace(PaperAssumptions(), digit_bits=2))["lutna"]
    k4 = unit_costs(PaperAssumptions())["lutna"]
    assert k2.lookups_per_mac == 16 and k4.lookups_per_mac == 4
    assert k2.table.spec.entries == 16 and k4.table.spec.entries == 256


def test_json_cli_prints_the_four_ratios(capsys):
    from archsim.cli import main

    assert main(["paper", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"lutna_vs_lut_area", "lutna_vs_lut_energy", "lutna_vs_mac_area",
                        "lutna_vs_mac_energy"}
    for k, v in out.items():
        assert v == pytest.approx(PAPER_CLAIMS[k], rel=0.10)


def test_quick_report_writes_md_and_csv(tmp_path, capsys):
    pytest.importorskip("torch")
    from archsim.cli import main

    rc = main(["paper", "--models", "vgg11", "--no-mixed", "--no-system",
               "--out-dir", str(tmp_path)])
    assert rc == 0
    md = (tmp_path / "paper_comparison.md").read_text()
    assert "`archsim paper --models vgg11 --out-dir" in md and "--no-mixed --no-system`" in md
    assert "horowitz_45nm" in md and "45 nm" in md and "0.9 V" in md
    for v in ("29.54x", "3.34x", "1.23x", "1.80x"):
        assert v in md
    with (tmp_path / "paper_comparison.csv").open() as f:
        rows = list(csv.DictReader(f))
    units = {r["metric"]: float(r["value"]) for r in rows if r["section"] == "units"
             and r["metric"] in PAPER_CLAIMS}
    assert units == pytest.approx(headline_ratios(), rel=1e-4)
    models = [r for r in rows if r["section"] == "models" and r["model"] == "vgg11"]
    assert any(r["metric"] == "macs_nonzero" and int(float(r["value"])) > 0 for r in models)


@pytest.mark.slow
def test_full_report_with_mixed_precision_and_system(tmp_path):
    pytest.importorskip("torch")
    from archsim.studies.paper_report import build_report, write_report

    rep = build_report(PaperAssumptions(), models=("vgg11",), images=4,
                       argv="archsim paper --models vgg11 --images 4")
    md, _ = write_report(rep, tmp_path)
    text = md.read_text()
    assert rep.digits.spent <= 1.0 and rep.digits.energy_pj < rep.digits.exact_energy_pj
    assert "vgg11" in rep.zoo_mixed and rep.system
    assert "## 5. Whole system" in text and "TOPS/W" in text
