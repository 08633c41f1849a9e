"""A conv whose stride exceeds its window reads only the input rows and columns its windows
touch (docs/model.md, "Activation layout"): regions, DRAM bursts, the buffer check, the
analytic model, the simulator and the functional check agree, with hand-worked values; convs
whose windows leave no gap keep the whole rows."""

import pytest
import torch
from torch import nn

import archsim
import workloads
from archsim.design.arch import load_arch
from archsim.mapping.analytic import LayerModel
from archsim.mapping.heuristic import heuristic_plan
from archsim.mapping.layer import gemm_layers
from archsim.mapping.regions import Gather, Region, conv_gather, port_bytes, touched_lines
from archsim.mapping.schedule import MappingSpec
from archsim.pipeline import resolve_workload
from archsim.sim.functional import FunctionalError
from tests.sim.helpers import conv_csv

BIG = 1 << 30


def _arch():
    return load_arch("mac_1x1").with_overrides({"gbuf.capacity_bytes": 0})


def _acts(res) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, v in res.actions.items():
        out[f"{k.kind}.{k.action}"] = out.get(f"{k.kind}.{k.action}", 0) + int(v)
    return out


def test_touched_lines_by_hand():
    assert touched_lines(7, 4, 2, 0, 1) == (0, 2, 4, 6)  # 1x1 stride 2
    assert touched_lines(7, 5, 2, 1, 1) == (1, 3, 5)  # padding 1: windows at -1, 1, .., 7
    assert touched_lines(8, 3, 3, 0, 2) == (0, 1, 3, 4, 6, 7)  # span 2, stride 3
    assert touched_lines(7, 5, 1, 0, 3) == tuple(range(7))


def test_gather_counts_and_runs_by_hand():
    g = Gather(h=2, w=3, rows=(0, 1), cols=(0, 2))  # pixels 0, 2, 3, 5 of each image
    assert g.count(0, 6) == 4 and g.count(0, 12) == 8 and g.count(3, 9) == 4  # 3, 5, 6, 8
    # pixel 2 (row 0, col 2) and 3 (row 1, col 0) are neighbours in memory, as are 5 and 6
    # (the last pixel of image 0, the first of image 1): runs [0], [2, 3], [5, 6], [8, 9], [11]
    assert g.runs(0, 6) == ((1, 2), (2, 1))
    assert g.runs(0, 12) == ((1, 2), (2, 3))
    rows = Gather(h=3, w=4, rows=(0, 2), cols=(0, 1, 2, 3))  # whole rows, every other one
    assert rows.runs(0, 12) == ((4, 2),)
    reg = Region(0, 48, 0, 6, g)
    assert reg.elements == 4 * 48
    assert reg.runs(1) == ((48, 2), (96, 1))
    assert reg.overlap(Region(0, 16, 3, 100)) == Region(0, 16, 3, 6, g)
    assert Region(0, 16, 3, 6, g).elements == 2 * 16
    assert Region(0, 48, 0, 6).runs(1) == ()  # no gather: one run


def test_port_bytes_rounds_each_run_to_bursts():
    assert port_bytes(768, ((48, 16),), 32) == 16 * 64  # 48 B runs: two bursts each
    assert port_bytes(768, ((64, 12),), 32) == 768
    assert port_bytes(2352, (), 32) == 2368  # one run: 74 bursts
    assert port_bytes(0, (), 32) == 0


def _layer(tmp_path, row):
    g = resolve_workload(str(conv_csv(tmp_path, [row])))
    return g, gemm_layers(g, _arch())["c"]


def test_strided_1x1_region_bytes_and_fit_by_hand(tmp_path):
    """7 x 7 x 48 input, 16 1x1 filters, stride 2 -> 4 x 4 outputs: rows and columns 0, 2,
    4, 6 are touched, 16 of the 49 pixels."""
    _, L = _layer(tmp_path, ("c", 7, 7, 1, 1, 48, 16, 2))
    whole = L.input_region(0, 16, 0, 16)
    assert (whole.p0, whole.p1) == (0, 49)
    assert whole.gather.rows == whole.gather.cols == (0, 2, 4, 6)
    assert whole.elements == 16 * 48  # was 49 * 48 = 2,352 bytes
    assert whole.runs(1) == ((48, 16),)  # no two touched pixels are neighbours
    assert port_bytes(whole.elements, whole.runs(1), 32) == 1024  # was 2,368 (74 bursts)
    rows12 = L.input_region(4, 12, 0, 16)  # output rows 1 and 2 -> input rows 2 .. 4
    assert (rows12.p0, rows12.p1, rows12.elements) == (14, 35, 8 * 48)
    caps = {"weight": BIG, "ifmap": 768, "ofmap": BIG}
    assert L.misfit(caps, "os", 0, 16, 0, 16) is None
    assert L.misfit({**caps, "ifmap": 767}, "os", 0, 16, 0, 16) == "ifmap"
    assert L.input_region(0, 16, 0, 16, (8, 24)).elements == 16 * 16  # split-K part


def test_strided_1x1_simulated_and_analytic_dram_bytes_by_hand(tmp_path):
    g, L = _layer(tmp_path, ("c", 7, 7, 1, 1, 48, 16, 2))
    arch = _arch()
    for df in ("os", "ws", "is"):
        acts = _acts(archsim.simulate(arch, g, dataflow=df))
        # input 16 runs of 48 B = 32 bursts (1,024 B) + weights 48 x 16 = 768 B (24 bursts)
        assert acts["dram.read_bytes"] == 1024 + 768
        assert acts["ifmap_sram.write_bytes"] == 768
        assert acts["dram.write_bytes"] == 256  # 16 pixels x 16 filters
        lp = heuristic_plan(g, arch, df, MappingSpec.parse("layer")).layers[0]
        est = LayerModel(arch).estimate(L, lp, in_home="dram", out_home="dram")
        assert est.dram_bytes == 1024 + 768 + 256


def test_windows_without_gaps_keep_whole_rows(tmp_path):
    """3x3 stride 1 (and stride 2, and a dilated 2-tap stride 2) read whole rows as before."""
    g, L = _layer(tmp_path, ("c", 7, 7, 3, 3, 48, 16, 1))
    reg = L.input_region(5, 15, 0, 16)  # output rows 1, 2 -> input rows 1 .. 4
    assert reg == Region(0, 48, 7, 35) and reg.elements == 28 * 48
    acts = _acts(archsim.simulate(_arch(), g, dataflow="os"))
    # input 49 x 48 = 2,352 B -> 74 bursts (2,368 B); weights 48 x 9 x 16 = 6,912 B
    assert acts["dram.read_bytes"] == 2368 + 6912
    _, L2 = _layer(tmp_path, ("c", 7, 7, 3, 3, 48, 16, 2))
    assert L2.input_region(0, 9, 0, 16).gather is None
    w = torch.zeros(4, 4, 2, 2).numpy()
    assert conv_gather({"stride": (2, 2), "padding": (0, 0), "dilation": (2, 2), "weight": w},
                       *(L.in_geom, L.out_geom)) is None


class _Strided(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 1, stride=2)  # 7 x 7 -> 4 x 4: a ResNet downsample
        self.c3 = nn.Conv2d(16, 16, 1, stride=(3, 2), padding=1)  # 4 x 4 -> 2 x 3
        self.fc = nn.Linear(16 * 6, 10)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = torch.relu(self.c2(x))
        return self.fc(torch.flatten(torch.relu(self.c3(x)), 1))


@pytest.fixture(scope="module")
def strided_graph():
    torch.manual_seed(0)
    return workloads.from_module(_Strided().eval(), torch.rand(4, 3, 7, 7))


@pytest.mark.parametrize(("arch", "dataflow", "mapping"), [
    ("lutna_1x1", "os", "layer"), ("lutna_1x1", "ws", "layer"), ("lutna_1x1", "is", "layer"),
    ("lutna_2x2", "os", "layer:out_pixels"), ("lutna_2x2", "ws", "pipeline"),
])
def test_strided_convs_stay_exact_against_torch(strided_graph, arch, dataflow, mapping):
    res = archsim.simulate(arch, strided_graph, dataflow=dataflow, mapping=mapping,
                           functional=True)
    assert res.functional["reference"].startswith("torch")
    assert res.functional["exact_match"], res.functional


def test_functional_rejects_a_chunk_reading_outside_its_region(strided_graph, monkeypatch):
    """The functional check is live: a region missing a touched row stops the run."""
    import archsim.sim.functional as fmod

    real = fmod.conv_input_region

    def short(a, ig, og, m0, m1, n0, n1):
        reg = real(a, ig, og, m0, m1, n0, n1)
        if reg.gather is None:
            return reg
        gth = reg.gather
        return Region(reg.c0, reg.c1, reg.p0, reg.p1,
                      Gather(gth.h, gth.w, gth.rows[1:], gth.cols))

    monkeypatch.setattr(fmod, "conv_input_region", short)
    with pytest.raises(FunctionalError, match=r"outside the input region fetched for it"):
        archsim.simulate("lutna_1x1", strided_graph, dataflow="os", functional=True)
