"""Every entry of the shipped cost tables moves a price: none is declared but unread.

Each entry is scaled (a zero becomes 1) in a copy of its table; the energy of a small run, the
chip area or the arithmetic-unit cost of ``archsim paper`` must change for at least one of
the shipped PE organisations (LUT-NA, monolithic LUT, MAC, MAC with a gather network) and
LUT cell kinds (SRAM, latch,
ROM: the cells the paper comparison varies).
"""

from __future__ import annotations

import copy
import functools

import pytest
import yaml

import archsim
from archsim.design.arch import builtin_arch_dir, load_arch
from archsim.energy.lutcost import UnitAssumptions
from archsim.energy.model import load_cost_model
from tests.test_graph import toy_graph

TABLES = sorted(p.stem for p in (builtin_arch_dir() / "energy").glob("*.yaml"))
CELLS = ("sram", "latch", "rom")


def _entries(name: str) -> list[str]:
    data = yaml.safe_load((builtin_arch_dir() / "energy" / f"{name}.yaml").read_text())
    return [f"{cls}.{key}" for cls, entries in data["classes"].items() for key in entries]


def _archs():
    lutna = load_arch("lutna_2x2")
    lut = lutna.with_overrides({"tile.pe_array.pe_kind": "lut", "tile.lut_banks.count": 1})
    # the MAC chip without a global buffer, so outputs are written to DRAM
    mac = load_arch("mac_2x2").with_overrides({"gbuf.capacity_bytes": 0})
    # the MAC chip with the gather network and metadata decoders (logic.mux2_*)
    gather = load_arch("mac_2x2").with_overrides({"tile.sparsity.mode": "gather"})
    return {"lutna": lutna, "lut": lut, "mac": mac, "gather": gather}


@functools.cache
def _runs():
    """(arch, actions, latency) of one small run per PE organisation."""
    g = toy_graph(batch=2)
    out = []
    for arch in _archs().values():
        res = archsim.simulate(arch, g, dataflow="ws")
        out.append((arch, dict(res.actions), res.latency_cycles))
    return tuple(out)


def _prices(table_path) -> tuple[float, ...]:
    out = []
    for arch, actions, latency in _runs():
        for cell in CELLS if arch.pe().tables().n_tables else CELLS[:1]:
            cm = load_cost_model(arch, table=str(table_path),
                                 assumptions=UnitAssumptions(cell=cell))
            out += [cm.energy(actions, latency).total_pj, cm.area().total_um2,
                    cm.unit.energy_per_mac_pj, cm.unit.area_um2]
    return tuple(out)


@functools.cache
def _base_prices(table: str) -> tuple[float, ...]:
    return _prices(builtin_arch_dir() / "energy" / f"{table}.yaml")


@pytest.mark.parametrize(("table", "entry"), [(t, e) for t in TABLES for e in _entries(t)],
                         ids=lambda x: x)
def test_cost_entry_moves_a_price(table, entry, tmp_path):
    path = builtin_arch_dir() / "energy" / f"{table}.yaml"
    data = yaml.safe_load(path.read_text())
    changed = copy.deepcopy(data)
    cls, key = entry.split(".")
    e = changed["classes"][cls][key]
    if "value" in e:
        e["value"] = e["value"] * 2 if e["value"] else 1.0
    else:
        e["points"] = [[x, y * 2] for x, y in e["points"]]
    other = tmp_path / "changed.yaml"
    other.write_text(yaml.safe_dump(changed))
    assert _base_prices(table) != _prices(other), f"{table}: {entry} changes no price"
