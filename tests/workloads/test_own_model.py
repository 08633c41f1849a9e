"""docs/own_model.md: its Python block runs as written; from_module and --weights errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

import workloads

DOC = Path(__file__).resolve().parents[2] / "docs" / "own_model.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_own_model_page_code_runs_exactly(capsys):
    blocks = _blocks()
    assert blocks and all(len(b.strip().splitlines()) <= 10 for b in blocks)
    for b in blocks:
        ns: dict = {}
        exec(compile(b, str(DOC), "exec"), ns)  # noqa: S102 - the documented code itself
        assert ns["result"].functional["exact_match"] is True
        g = ns["graph"]
        assert g.graph["weights"].startswith("user module")
        assert "ref_output" in g.nodes[g.graph["outputs"][0]]
    assert capsys.readouterr().out.startswith("True ")


def test_from_module_rejects_bad_images_and_names_unsupported_ops():
    with pytest.raises(ValueError, match="float tensor batch"):
        workloads.from_module(nn.Conv2d(1, 1, 1), torch.zeros(2, 1, 4, 4, dtype=torch.int64))

    class Exp(nn.Module):
        def forward(self, x):
            return torch.exp(x)

    with pytest.raises(workloads.UnsupportedOpError, match=r"fx node 'exp' .*torch.exp"):
        workloads.from_module(Exp(), torch.rand(2, 1, 4, 4))


TRANSFORMER_DOC = DOC.with_name("own_transformer.md")


def test_own_transformer_page_code_runs_exactly(capsys):
    (block,) = re.findall(r"```python\n(.*?)```", TRANSFORMER_DOC.read_text(), flags=re.DOTALL)
    ns: dict = {}
    exec(compile(block, str(TRANSFORMER_DOC), "exec"), ns)  # noqa: S102 - the documented code
    assert ns["result"].functional["exact_match"] is True
    g = ns["graph"]
    ops = [a["op"] for _, a in g.nodes(data=True)]
    assert ops.count("matmul") == 2 and {"softmax", "norm", "table"} <= set(ops)
    assert g.nodes["matmul"]["transpose_b"] and not g.nodes["matmul_1"]["transpose_b"]
    assert (g.nodes["matmul"]["in_signed"], g.nodes["matmul_1"]["in_signed"]) == (True, False)
    assert capsys.readouterr().out.startswith("True ")
