"""Pruning: exact magnitude masks, one-shot sparsity, lottery ticket on real digits."""

from __future__ import annotations

import math
import time

import pytest
import torch

from workloads.data import digits_split
from workloads.prune import (
    lottery_ticket,
    magnitude_masks,
    one_shot_magnitude,
    prunable,
    sparsity_of,
)
from workloads.small import small_model


def test_magnitude_masks_global_and_per_layer():
    w = {"a": torch.tensor([[0.1, -5.0], [3.0, 0.2]]), "b": torch.tensor([1.0, -0.05, 0.3, 4.0])}
    m = magnitude_masks(w, None, 0.5, "global")
    assert m["a"].tolist() == [[False, True], [True, False]] and m["b"].tolist() == [
        True,
        False,
        False,
        True,
    ]
    m2 = magnitude_masks(w, m, 0.25, "global")  # prune half of the survivors
    assert sparsity_of(m2) == 0.75 and m2["a"][0, 1] and m2["b"][3]
    layer = magnitude_masks(w, None, 0.5, "layer")
    assert int(layer["a"].sum()) == 2 and int(layer["b"].sum()) == 2
    assert layer["b"].tolist() == [True, False, False, True]
    with pytest.raises(ValueError, match="scope"):
        magnitude_masks(w, None, 0.5, "row")


def test_ties_are_broken_by_position():
    w = {"a": torch.ones(10)}
    assert magnitude_masks(w, None, 0.3, "global")["a"].tolist() == [False] * 7 + [True] * 3


def test_one_shot_reaches_the_requested_sparsity_exactly():
    m = small_model("smallvgg", 0)
    masks = one_shot_magnitude(m, 0.8)
    n = sum(v.numel() for v in masks.values())
    assert sum(int((w == 0).sum()) for w in prunable(m).values()) == n - math.floor(
        n * (1 - 0.8) + 1e-9
    )
    assert 0.8 <= sparsity_of(masks) < 0.8 + 1 / n + 1e-12
    biases = [mod.bias for mod in m.modules() if isinstance(mod, torch.nn.Linear)]
    assert all(bool((b != 0).all()) for b in biases)  # biases are not pruned


def test_lottery_ticket_on_digits_keeps_accuracy_at_90_percent_sparsity():
    t0 = time.perf_counter()
    data = digits_split()
    res = lottery_ticket(
        lambda: small_model("smallvgg", 0),
        data,
        target_sparsity=0.9,
        prune_fraction=0.5,
        epochs=10,
        lr=3e-3,
        batch=64,
        seed=0,
    )
    seconds = time.perf_counter() - t0
    assert res.sparsity >= 0.9
    assert res.accuracy >= res.dense_accuracy - 0.02
    assert res.dense_accuracy >= 0.95
    assert [r.round for r in res.records] == [0, 1, 2, 3, 4]
    assert [round(r.sparsity, 3) for r in res.records] == [0.0, 0.5, 0.75, 0.875, 0.9]
    for k, w in prunable(res.model).items():
        assert torch.equal(w == 0, ~res.masks[k]) or bool((w[~res.masks[k]] == 0).all())
        assert torch.equal(res.weights[k], w.detach())
    assert "lottery ticket (IMP, 4 rounds" in res.describe()
    assert seconds < 60, f"lottery ticket took {seconds:.1f} s"
