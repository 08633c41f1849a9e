"""Dimension-ordered routing (``interconnect.routing``): routes worked out by hand, and the
global link order every route follows (so transfers and multicast trees cannot deadlock)."""

from __future__ import annotations

import pytest

from archsim.design.arch import load_arch
from archsim.design.edge import attach_points
from archsim.sim.components import Mesh, SimEnv


def _mesh(rows: int, cols: int, routing: str) -> Mesh:
    arch = load_arch("lutna_2x2").with_overrides(
        {"grid.rows": rows, "grid.cols": cols, "interconnect.routing": routing})
    return Mesh(SimEnv(), arch, attach_points(arch))


def test_xy_and_yx_routes_by_hand():
    # 3 x 3 grid, tile 0 (r0c0) to tile 8 (r2c2)
    assert _mesh(3, 3, "xy").path(0, 8) == [
        "noc.r0c0.E", "noc.r0c1.E", "noc.r0c2.S", "noc.r1c2.S"]
    assert _mesh(3, 3, "yx").path(0, 8) == [
        "noc.r0c0.S", "noc.r1c0.S", "noc.r2c0.E", "noc.r2c1.E"]
    # back again: west then north, or north then west
    assert _mesh(3, 3, "xy").path(8, 0) == [
        "noc.r2c2.W", "noc.r2c1.W", "noc.r2c0.N", "noc.r1c0.N"]
    assert _mesh(3, 3, "yx").path(8, 0) == [
        "noc.r2c2.N", "noc.r1c2.N", "noc.r0c2.W", "noc.r0c1.W"]


@pytest.mark.parametrize("rows,cols,first", [(2, 4, "S"), (4, 2, "E"), (3, 3, "E")])
def test_short_first_routes_along_the_shorter_side_first(rows, cols, first):
    m = _mesh(rows, cols, "short_first")
    path = m.path(0, rows * cols - 1)
    assert path[0].endswith("." + first)


@pytest.mark.parametrize("routing", ["xy", "yx", "short_first"])
@pytest.mark.parametrize("rows,cols", [(2, 4), (4, 2), (3, 3)])
def test_every_route_acquires_its_links_in_the_global_order(routing, rows, cols):
    m = _mesh(rows, cols, routing)
    n = rows * cols
    for s in range(n):
        for d in range(n):
            if s != d:
                p = m.path(s, d)
                assert p == sorted(p, key=m.rank), (s, d, p)


def test_an_unknown_routing_is_an_error_naming_the_field_and_value():
    from archsim.errors import ConfigError

    with pytest.raises(ConfigError, match=r"interconnect\.routing.*'xy', 'yx' or 'short_first'"):
        load_arch("lutna_2x2").with_overrides({"interconnect.routing": "zigzag"})
