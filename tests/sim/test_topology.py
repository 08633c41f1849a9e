"""SCALE-Sim topology CSVs load into workloads; malformed files name file, line, column."""

import pytest

import archsim
from archsim.graph.scalesim_csv import TopologyError, load_topology

from .helpers import conv_csv, gemm_csv


def test_conv_and_gemm_formats(tmp_path):
    g = load_topology(conv_csv(tmp_path, [("conv1", 34, 34, 3, 3, 3, 64, 1),
                                          ("c2", 16, 16, 3, 3, 8, 16, 2)]))
    assert g.nodes["conv1"]["out_shape"] == (1, 64, 32, 32)
    assert g.nodes["c2"]["out_shape"] == (1, 16, 8, 8)  # SCALE-Sim: ceil((16 - 3 + 2) / 2)
    g = load_topology(gemm_csv(tmp_path, [("q", 128, 32, 64)]))
    assert g.nodes["q"]["macs_dense"] == 128 * 32 * 64


@pytest.mark.parametrize("df", ["os", "ws", "is"])
@pytest.mark.parametrize("arch", ["scalesim_16x16", "scalesim_32x32"])
def test_scalesim_equivalence_varied_shapes(tmp_path, df, arch):
    rows = [("c1", 34, 34, 3, 3, 3, 64, 1), ("c2", 18, 18, 3, 3, 64, 128, 2),
            ("c3", 9, 9, 1, 1, 128, 256, 2), ("c4", 7, 11, 3, 5, 5, 7, 1)]
    res = archsim.simulate(arch, str(conv_csv(tmp_path, rows)), dataflow=df)
    R = C = 16 if arch.endswith("16x16") else 32
    import math

    total = 0
    for _, h, w, fh, fw, c, n, s in rows:
        m = math.ceil((h - fh + s) / s) * math.ceil((w - fw + s) / s)
        k = fh * fw * c
        sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[df]
        cpf = t + R + C - 2 if df == "os" else 2 * R + C + t - 2
        total += math.ceil(sr / R) * math.ceil(sc / C) * cpf - 1
    assert res.latency_cycles == total


@pytest.mark.parametrize(
    "text,pattern",
    [
        ("Layer, M, N, K,\ng, 4, x, 4,\n", r"gemm.csv:2: column 'N': 'x' is not an integer"),
        ("Layer, M, N, K,\ng, 4, -1, 4,\n", r"gemm.csv:2: column 'N': must be positive"),
        ("Layer, M, N, K,\n", r"no layers"),
        ("a, b\n1, 2\n", r"neither SCALE-Sim conv format"),
        ("Layer, M, N, K,\ng, 4, 4, 4,\ng, 4, 4, 4,\n", r"duplicate layer name 'g'"),
    ],
)
def test_bad_topologies(tmp_path, text, pattern):
    p = tmp_path / "gemm.csv"
    p.write_text(text)
    with pytest.raises(TopologyError, match=pattern):
        load_topology(p)
