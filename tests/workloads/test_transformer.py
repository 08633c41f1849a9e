"""Transformer ops and zoo entries: integer semantics (numpy) against the torch reference of the
same integer method, hand-worked values, errors against float, and simulated runs (timing and
functional) on every PE kind with the dynamic operand and the activation tables counted."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from archsim.design.arch import load_arch
from archsim.graph import ops, seqops
from archsim.graph.ir import WorkloadError, validate_workload
from archsim.mapping.schedule import build_schedule
from archsim.pipeline import simulate
from workloads.reference import reference_node
from workloads.transformer import build_transformer

torch.set_num_threads(1)
RNG = np.random.default_rng(5)


def _attrs(op, shape, **kw):
    return {"op": op, "out_shape": shape, "out_lo": kw.pop("lo", -127),
            "out_hi": kw.pop("hi", 127), **kw}


def _both(a, xs):
    got = ops.run_node(a, xs)
    ref = reference_node(a, [torch.from_numpy(x) for x in xs]).numpy()
    assert np.array_equal(got, ref)
    return got


@pytest.mark.parametrize("causal,offset", [(False, 0), (True, 0), (True, 3)])
def test_softmax_numpy_equals_torch(causal, offset):
    x = RNG.integers(-127, 128, (2, 5, 3 * 8))
    ln2, qb, qc = seqops.iexp_constants(0.05)
    a = _attrs("softmax", x.shape, lo=0, segment=8, causal=causal, q_offset=offset,
               exp_q_ln2=ln2, exp_q_b=qb, exp_q_c=qc)
    p = _both(a, [x])
    assert p.min() >= 0 and p.max() <= 127
    if causal and offset == 0:
        assert (p[:, 0, 1:8] == 0).all()  # query 0 sees key 0 only
        assert (p[:, 0, 0] == 127).all()


def test_softmax_by_hand():
    # q_ln2 = 10, q_b = 27, q_c = 383 (scale 0.05); scores 0 and -10: z = 0, 1; p = 0, 0;
    # e = 27^2 + 383 = 1112 and 1112 >> 1 = 556; probs round(127 x 1112 / 1668) = 85 and
    # round(127 x 556 / 1668) = 42
    assert seqops.iexp_constants(0.05) == (13, 27, 383)
    a = _attrs("softmax", (1, 1, 2), lo=0, segment=2, causal=False, q_offset=0, exp_q_ln2=10,
               exp_q_b=27, exp_q_c=383)
    assert _both(a, [np.array([[[0, -10]]])]).tolist() == [[[85, 42]]]


@pytest.mark.parametrize("kind", ["layer", "rms"])
def test_norm_numpy_equals_torch(kind):
    x = RNG.integers(-127, 128, (2, 3, 48))
    gamma = RNG.integers(-127, 128, 48)
    beta = RNG.integers(-50, 50, 48) if kind == "layer" else None
    a = _attrs("norm", x.shape, norm=kind, gamma=gamma, beta=beta, norm_bits=8, eps_q=3,
               requant_mult=3000, requant_shift=16)
    _both(a, [x])
    x0 = np.zeros((1, 1, 48), dtype=np.int64)  # a constant row normalises to beta only
    assert np.array_equal(seqops.norm_int(x0, kind, gamma, beta, 8, 3),
                          np.zeros((1, 1, 48)) if beta is None else beta[None, None])


def test_isqrt_exact():
    n = np.array([0, 1, 2, 3, 4, 15, 16, 17, (1 << 52) - 1, 1 << 52, (1 << 61) + 12345])
    assert seqops.isqrt(n).tolist() == [math.isqrt(int(v)) for v in n]
    with pytest.raises(ValueError, match="isqrt"):
        seqops.isqrt(np.array([-1]))


@pytest.mark.parametrize("transpose_b", [True, False])
def test_matmul_heads_numpy_equals_torch(transpose_b):
    a = RNG.integers(-127, 128, (2, 4, 3 * (6 if transpose_b else 5)))
    b = RNG.integers(-127, 128, (2, 5, 18))
    attrs = _attrs("matmul", None, heads=3, transpose_b=transpose_b, requant_mult=1 << 10,
                   requant_shift=16)
    _both(attrs, [a, b])
    acc = seqops.matmul_heads(a, b, 3, transpose_b)
    h1 = (a[1, :, 6:12] @ b[1, :, 6:12].T) if transpose_b else (a[1, :, 5:10] @ b[1, :, 6:12])
    width = 5 if transpose_b else 6
    assert np.array_equal(acc[1, :, width:2 * width], h1)


def test_token_ops_table_mul_numpy_equal_torch():
    x = RNG.integers(-127, 128, (2, 4, 3, 3))
    t = _both(_attrs("to_tokens", (2, 9, 4)), [x])
    assert np.array_equal(t[1, 4], x[1, :, 1, 1])
    _both(_attrs("token_pool", (2, 4), requant_mult=7282, requant_shift=16), [t])
    tab = RNG.integers(-127, 128, 255)
    _both(_attrs("table", t.shape, table=tab, table_lo=-127, fn="silu"), [t])
    _both(_attrs("mul", t.shape, requant_mult=300, requant_shift=16), [t, t[::-1].copy()])


SMALL_DEC = {"tokens": 12, "dim": 32, "heads": 2, "ffn": 64}


@pytest.fixture(scope="module")
def graphs():
    return {
        "prefill": build_transformer("decoder_block", sample=True, weight_bits=2, **SMALL_DEC),
        "decode": build_transformer("decoder_block", sample=True, weight_bits=4, phase="decode",
                                    **SMALL_DEC),
        "vit": build_transformer("vit_tiny", sample=True, weight_bits=4, depth=1, dim=48,
                                 heads=2, ffn=96),
    }


def test_graphs_validate_and_match_the_numpy_semantics(graphs):
    for g in graphs.values():
        validate_workload(g)
        got = ops.run_graph(g, g.graph["sample_input"])
        for n in g.nodes:
            assert np.array_equal(got[n], g.nodes[n]["ref_output"]), n
    dec = graphs["decode"]
    assert dec.nodes["x"]["out_shape"] == (1, 1, 32)
    assert dec.nodes["k_all"]["out_shape"] == (1, 13, 32)
    assert dec.nodes["scores"]["out_shape"] == (1, 1, 2 * 13)
    assert dec.nodes["softmax"]["q_offset"] == 12
    assert set(np.unique(graphs["prefill"].nodes["wq"]["weight"])) <= {-1, 0, 1}  # ternary


def test_float_errors_are_reported(graphs):
    err = graphs["prefill"].graph["float_error"]
    assert {e["op"] for e in err.values()} >= {"softmax", "norm", "table"}
    assert "i-exp" in err["softmax"]["method"] and "square root" in err["norm1"]["method"]
    assert err["norm1"]["rms_rel"] < 0.05 and err["silu"]["rms_rel"] < 0.05
    assert err["softmax"]["rms_rel"] < 0.25
    assert "__output__" in err


def _arch(kind, weight_bits=2, weights="int"):
    params = {"act_bits": 8, "act_signed": True, "weight_bits": weight_bits, "weights": weights}
    params.update({"tmac": {"group": 4}, "luttc": {"k_dim": 4}}.get(kind, {}))
    return load_arch(f"{kind}_4x4").with_overrides({"tile.pe_array.pe_params": params})


@pytest.mark.parametrize("kind,weights", [("mac", "ternary"), ("lutna", "int"), ("tmac", "int"),
                                          ("luttc", "int")])
@pytest.mark.parametrize("which", ["prefill", "decode", "vit"])
def test_functional_runs_are_exact_on_every_kind(graphs, kind, weights, which):
    g = graphs[which]
    wb = 2 if which == "prefill" else 4
    if weights == "ternary" and wb != 2:
        weights = "int"
    r = simulate(_arch(kind, wb, weights), g, dataflow="os" if kind == "luttc" else "ws",
                 functional=True)
    assert r.functional["exact_match"], r.functional["mismatched_nodes"]
    assert r.latency_cycles > 0


def test_dynamic_operand_tables_and_passes(graphs):
    g = graphs["prefill"]
    arch = _arch("tmac", 2)
    sched = build_schedule(g, arch, "ws")
    scores = [c for t in sched.tasks if t.node == "scores" for c in t.chunks]
    # Q K^T: 12 tokens x 2 heads x 12 keys, inner 16; 8 planes of K vs 2 of the weights
    assert sum(c.macs_executed for c in scores) == 12 * 2 * 12 * 16
    assert all(c.op_scale == 4 for c in scores)
    # tables from Q, per chunk: rows x ceil(16 / 4) groups x 8 entries x ceil(columns / 16 PEs
    # per table); the plan splits the 2 heads (filter splits follow heads, at most 2), so every
    # chunk lies in one head and each row builds one copy of its tables per head
    plan = sched.plan.layer("scores")
    assert (plan.split_channels, plan.split_k) == (2, 1)
    for c in scores:
        assert c.n0 // 12 == (c.n1 - 1) // 12  # one head
        assert c.program_entries == (c.m1 - c.m0) * 4 * 8 * math.ceil((c.n1 - c.n0) / 16)
    assert sum(c.program_entries for c in scores) == 2 * 12 * 4 * 8
    assert all(c.weight_bytes == 0 for c in scores)  # K comes from its producer, not DRAM
    srcs = {s.tensor for c in scores for s in c.sources}
    assert srcs == {"wq", "wk"}


def test_kv_cache_append_moves_only_the_new_rows(graphs):
    g = graphs["decode"]
    sched = build_schedule(g, _arch("mac", 4), "ws")
    kall = [t for t in sched.tasks if t.node == "k_all"]
    assert sched.homes["k_all"] == "dram"
    assert sum(c.ofmap_bytes for t in kall for c in t.chunks) == 32  # one new row of 32 B
    assert sum(c.vector_ops for t in kall for c in t.chunks) == 32
    scores = [c for t in sched.tasks if t.node == "scores" for c in t.chunks]
    # one query row: the 2 heads x 13 keys are split over the tiles; each chunk reads its
    # heads' 16 features of all 13 cached + new keys from DRAM
    for c in scores:
        heads = (c.n1 - 1) // 13 - c.n0 // 13 + 1
        got = [(s.nbytes, s.memory) for s in c.sources if s.tensor == "k_all"]
        assert got == [(13 * 16 * heads, "dram")]


def test_build_errors():
    with pytest.raises(ValueError, match="phase"):
        build_transformer("decoder_block", phase="train")
    with pytest.raises(ValueError, match="heads"):
        build_transformer("decoder_block", dim=30, heads=4)
    with pytest.raises(KeyError, match="unknown transformer"):
        build_transformer("gpt2")
    g = build_transformer("decoder_block", **SMALL_DEC)
    g.nodes["softmax"]["segment"] = 5
    with pytest.raises(WorkloadError, match="node 'softmax'"):
        validate_workload(g)


def test_gemm_and_matmul_nodes_declare_their_input_sign(graphs):
    g = graphs["prefill"]
    # after RMSNorm / projections: signed; after softmax (probabilities 0..127): unsigned
    assert (g.nodes["wq"]["in_signed"], g.nodes["wq"]["in_lo"]) == (True, -127)
    assert (g.nodes["scores"]["in_signed"], g.nodes["scores"]["in_lo"]) == (True, -127)
    assert (g.nodes["attn"]["in_signed"], g.nodes["attn"]["in_lo"]) == (False, 0)
    assert graphs["vit"].nodes["patch"]["in_signed"] is False  # image input 0..127
    bad = g.copy()
    bad.nodes["attn"].update(in_signed=True, in_lo=0)
    with pytest.raises(WorkloadError, match="node 'attn'.*in_signed"):
        validate_workload(bad)


def test_per_node_sign_sets_tasks_and_runs_exact_on_an_unsigned_design_point(graphs):
    g = graphs["prefill"]
    params = {"act_bits": 8, "act_signed": False, "weight_bits": 2}
    arch = load_arch("lutna_4x4").with_overrides({"tile.pe_array.pe_params": params})
    sched = build_schedule(g, arch, "ws")
    signed = {t.node: t.act_signed for t in sched.tasks if t.op in ("linear", "matmul")}
    assert signed["scores"] and signed["wq"] and signed["w_down"] and not signed["attn"]
    r = simulate(arch, g, dataflow="ws", functional=True)
    assert r.functional["exact_match"], r.functional["mismatched_nodes"]


def _cli(capsys, *args) -> tuple[int, str]:
    import signal

    from archsim.cli import main

    capsys.readouterr()
    old = signal.getsignal(signal.SIGTERM)
    try:
        code = main([str(a) for a in args])
    finally:
        signal.signal(signal.SIGTERM, old)
    return code, capsys.readouterr().err


def test_zoo_names_are_built_at_the_design_points_widths(tmp_path, capsys):
    from archsim.pipeline import design_bits, resolve_workload

    assert design_bits(load_arch("tmac_4x4")) == {"act_bits": 8, "weight_bits": 2}
    assert design_bits(load_arch("lutna_4x4")) == {"act_bits": 8, "weight_bits": 9}
    g = resolve_workload("decoder_block", **design_bits(load_arch("tmac_4x4")))
    assert g.graph["weight_bits"] == 2 and set(np.unique(g.nodes["wq"]["weight"])) <= {-1, 0, 1}
    code, err = _cli(capsys, "run", "tmac_4x4", "--workload", "decoder_block", "--functional",
                     "--no-plots", "--out", tmp_path / "run")
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["functional"]["exact_match"] is True


def test_a_saved_graph_wider_than_the_pe_fails_in_one_line(tmp_path, capsys):
    from archsim.graph.ir import save_workload

    save_workload(build_transformer("decoder_block", sample=True, weight_bits=8, **SMALL_DEC),
                  tmp_path / "w8")
    code, err = _cli(capsys, "run", "tmac_4x4", "--workload", tmp_path / "w8", "--functional",
                     "--no-plots", "--out", tmp_path / "run")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "node 'wk' (linear): the workload's 8-bit weights span" in err
    assert "tmac(weight_bits=2" in err and "takes [-2, 1]" in err


def test_decoder_block_plan_replays_exactly_and_respects_heads(graphs, tmp_path):
    import dataclasses

    from archsim.errors import MappingError
    from archsim.mapping.heuristic import heuristic_plan
    from archsim.mapping.plan import load_plan, plan_yaml
    from archsim.mapping.schedule import MappingSpec

    g = graphs["prefill"]
    arch = _arch("tmac", 2)
    plan = heuristic_plan(g, arch, "ws", MappingSpec.parse("layer"))
    assert {"scores", "attn", "wq", "w_down"} <= {lp.layer for lp in plan.layers}
    path = tmp_path / "mapping.yaml"
    path.write_text(plan_yaml(plan))
    assert load_plan(path) == plan
    a = simulate(arch, g, mapping="layer").summary()
    b = simulate(arch, g, mapping=str(path)).summary()
    assert json.dumps(a) == json.dumps(b)
    lp = plan.layer("attn")
    for bad, msg in (({"split_channels": 3}, "field 'split_channels': 3 parts > the matmul's 2 "
                                             "heads"),
                     ({"split_k": 2}, "field 'split_k': the reduction of a product of two"),
                     ({"weight_buffer": "single"}, "field 'weight_buffer': a matmul's second "
                                                   "operand is fetched with its inputs")):
        wrong = dataclasses.replace(plan, layers=tuple(
            dataclasses.replace(p, **bad) if p is lp else p for p in plan.layers))
        with pytest.raises(MappingError, match=msg):
            build_schedule(g, arch, "ws", wrong)
    # a one-head-per-block plan of P V: every block reads its head's probabilities (12 of the
    # 24 score columns) and its head's 16 value features of the 12 tokens
    one = dataclasses.replace(plan, layers=tuple(
        dataclasses.replace(p, split_channels=2, split_pixels=1, chunk_pixels=12,
                            chunk_channels=16) if p is lp else p for p in plan.layers))
    sched = build_schedule(g, arch, "ws", one)
    attn = [t for t in sched.tasks if t.node == "attn"]
    assert [(t.out_region.c0, t.out_region.c1) for t in attn] == [(0, 16), (16, 32)]
    for h, t in enumerate(attn):
        (c,) = t.chunks
        regs = {s.tensor: (s.region.c0, s.region.c1, s.region.p0, s.region.p1)
                for s in c.sources}
        assert regs[g.nodes["attn"]["inputs"][0]] == (12 * h, 12 * h + 12, 0, 12)
        assert regs[g.nodes["attn"]["inputs"][1]] == (16 * h, 16 * h + 16, 0, 12)


def test_search_keeps_the_heuristic_plan_of_matmul_layers(graphs):
    g = graphs["decode"]
    r = simulate(_arch("mac", 4), g, mapping="search")
    rep = r.search
    kept = {c.layer for c in rep.layers if c.note}
    assert kept == {n for n in g.nodes if g.nodes[n]["op"] == "matmul"}
    for c in rep.layers:
        if c.note:
            assert c.chosen == rep.heuristic.layer(c.layer) or c.chosen.group != \
                rep.heuristic.layer(c.layer).group
    assert "heuristic kept: product of two activations" in rep.markdown()
    assert "product of two activations (matmul) not searched" in rep.csv_text()


def test_matmul_layers_may_use_the_whole_output_buffer(graphs):
    # a matmul's outputs are written back like any layer's: output_buffer single is accepted,
    # its tasks take both output slots, and the run is exact (functional) as with double
    import dataclasses

    from archsim.mapping.heuristic import heuristic_plan
    from archsim.mapping.schedule import MappingSpec

    g = graphs["prefill"]
    arch = _arch("mac")
    plan = heuristic_plan(g, arch, "ws", MappingSpec.parse("layer"))
    mm = {n for n in g.nodes if g.nodes[n]["op"] == "matmul"}
    single = dataclasses.replace(plan, layers=tuple(
        dataclasses.replace(lp, output_buffer="single") if lp.layer in mm else lp
        for lp in plan.layers))
    sched = build_schedule(g, arch, "ws", single)
    assert {t.output_buffer for t in sched.tasks if t.op == "matmul"} == {"single"}
    a = simulate(arch, g, mapping=plan, functional=True)
    b = simulate(arch, g, mapping=single, functional=True)
    assert a.functional["exact_match"] and b.functional["exact_match"]
    assert b.latency_cycles >= a.latency_cycles
