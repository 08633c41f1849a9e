"""Property-based: mutated design points, cost tables and SCALE-Sim CSV rows either load or
raise the project's own error type (``ArchsimError``) naming the file -- never another
exception.  Bounded: small inputs, at most a few hundred examples, derandomised."""

from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim.design.arch import builtin_arch_dir, load_arch
from archsim.errors import ArchsimError
from archsim.graph.scalesim_csv import read_topology

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# values a hostile or careless user writes into a field
HOSTILE = st.one_of(
    st.integers(-3, 70), st.sampled_from([0, -1, 2**31, 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e-300, -0.0, 1e300]),
    st.booleans(), st.none(), st.text(max_size=12), st.sampled_from(["", "x" * 500, "mac"]),
    st.lists(st.integers(0, 4), max_size=3), st.dictionaries(st.text(max_size=4),
                                                            st.integers(0, 4), max_size=2),
)


def _paths(d, prefix=()):
    """Every dotted path of nested dicts (leaves and sections)."""
    if isinstance(d, dict):
        for k, v in d.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))


def _mutate(data: dict, draw) -> dict:
    data = copy.deepcopy(data)
    paths = list(_paths(data))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        node = data
        for k in path[:-1]:
            if not isinstance(node, dict) or k not in node:
                break
            node = node[k]
        else:
            if not isinstance(node, dict):
                continue
            how = draw(st.sampled_from(["set", "set", "set", "delete", "unknown"]))
            if how == "set":
                node[path[-1]] = draw(HOSTILE)
            elif how == "delete":
                node.pop(path[-1], None)
            else:
                node[draw(st.text(min_size=1, max_size=6))] = draw(HOSTILE)
    return data


def _assert_own_error(exc: BaseException, path: Path) -> None:
    assert isinstance(exc, ArchsimError), f"{type(exc).__name__}: {exc}"
    assert str(path) in str(exc) or path.name in str(exc), str(exc)[:300]
    assert len(str(exc)) < 20_000


ARCH = yaml.safe_load((builtin_arch_dir() / "lutna_2x2.yaml").read_text())


@SETTINGS
@given(st.data())
def test_mutated_design_points_load_or_fail_cleanly(data):
    mutated = _mutate(ARCH, data.draw)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "point.yaml"
        path.write_text(yaml.safe_dump(mutated))
        try:
            arch = load_arch(path)
        except Exception as exc:  # noqa: BLE001 -- the property under test
            _assert_own_error(exc, path)
            return
    assert 0.001 <= arch.clock_mhz <= 1e5 and math.isfinite(arch.clock_mhz)
    assert arch.n_tiles <= 1024 and arch.pes_per_tile <= 1 << 16


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_as_a_design_point(raw):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bytes.yaml"
        path.write_bytes(raw)
        try:
            load_arch(path)
        except Exception as exc:  # noqa: BLE001
            _assert_own_error(exc, path)


TABLE = yaml.safe_load((builtin_arch_dir() / "energy" / "horowitz_45nm.yaml").read_text())
BASE = load_arch("lutna_2x2")


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_cost_tables_load_or_fail_cleanly(data):
    from archsim.energy import load_cost_model
    from archsim.energy.tables import load_cost_table

    mutated = _mutate(TABLE, data.draw)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "table.yaml"
        path.write_text(yaml.safe_dump(mutated))
        try:
            load_cost_table(path)
            # the table is then priced for a design point (curves evaluated, extrapolated)
            arch = BASE.with_overrides({"energy_table": str(path)})
            model = load_cost_model(arch)
            area = model.area()
            assert area.total_um2 >= 0 and math.isfinite(area.total_um2)
        except Exception as exc:  # noqa: BLE001
            _assert_own_error(exc, path)


CONV = ["Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
        "Channels", "Num Filter", "Strides"]
GEMM = ["Layer", "M", "N", "K"]
CELL = st.one_of(st.integers(1, 12).map(str), st.sampled_from(
    ["", " ", "0", "-3", "+4", "3.5", "1e3", "x", "2:4", "5:4", "0:4", "4:0", "1:1", "1048577",
     "99999999999999999999", "٣", "\x00", '"a,b"']), st.text(max_size=4))
HEADER = st.one_of(st.just(CONV), st.just(GEMM), st.just([*CONV, "Sparsity"]),
                   st.just([*GEMM, "Sparsity"]), st.just([*CONV, "Extra"]),
                   st.lists(st.sampled_from([*CONV, *GEMM, "Sparsity", ""]), max_size=10))


@SETTINGS
@given(HEADER, st.lists(st.tuples(st.sampled_from(["c1", "c2", "g", "c1", "x.input"]),
                                  st.lists(CELL, min_size=2, max_size=10)), max_size=4),
       st.booleans(), st.booleans())
def test_csv_rows_load_or_fail_cleanly(header, rows, trailing_comma, latin1):
    end = ",\n" if trailing_comma else "\n"
    text = ", ".join(header) + end + "".join(
        ", ".join([name, *cells]) + end for name, cells in rows)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "topo.csv"
        path.write_bytes(text.encode("latin-1", "replace") if latin1 else text.encode())
        try:
            g = read_topology(path)
        except Exception as exc:  # noqa: BLE001
            _assert_own_error(exc, path)
            return
    # what loaded is what the rows say, in row order
    layers = [n for n in g.nodes if not n.endswith(".input")]
    assert layers == list(dict.fromkeys(name for name, _ in rows))
    assert all(g.nodes[n]["macs_dense"] > 0 for n in layers)


# ---- mapping files (issue 14's input): mutated plans load and map, or fail naming the file ----
def _plan_data():
    from archsim.mapping.plan import plan_yaml
    from archsim.mapping.schedule import build_schedule
    from archsim.pipeline import resolve_workload

    d = Path(tempfile.mkdtemp())
    csv = d / "two.csv"
    csv.write_text("Layer, M, N, K,\ng1, 64, 24, 40,\ng2, 48, 16, 24,\n")
    g = resolve_workload(str(csv))
    sched = build_schedule(g, BASE, "ws", "layer")
    return g, yaml.safe_load(plan_yaml(sched.plan))


PLAN_GRAPH, PLAN = _plan_data()
# valid words of the plan's enumerated fields, so mutations also reach the mapper's own checks
PLAN_WORDS = st.sampled_from(["single", "double", "os", "ws", "is", "channel_major",
                              "pixel_major"])


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_mapping_files_map_or_fail_cleanly(data):
    from archsim.mapping.plan import load_plan
    from archsim.mapping.schedule import build_schedule

    mutated = copy.deepcopy(PLAN)
    for _ in range(data.draw(st.integers(1, 3))):
        layer = data.draw(st.sampled_from(mutated["layers"] or [{}]))
        if isinstance(layer, dict) and layer:
            key = data.draw(st.sampled_from([*layer, "bogus"]))
            layer[key] = data.draw(st.one_of(HOSTILE, PLAN_WORDS))
        else:
            mutated[data.draw(st.sampled_from([*mutated, "bogus"]))] = data.draw(HOSTILE)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "mapping.yaml"
        path.write_text(yaml.safe_dump(mutated))
        try:
            plan = load_plan(path)
            build_schedule(PLAN_GRAPH, BASE, plan.dataflow, plan)
        except Exception as exc:  # noqa: BLE001
            assert isinstance(exc, ArchsimError), f"{type(exc).__name__}: {exc}"
            assert len(str(exc)) < 20_000
