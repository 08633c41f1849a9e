"""Magnitude pruning: one-shot (zoo models) and lottery-ticket IMP with rewinding (small nets).

Inputs: an ``nn.Module`` whose Conv2d/Linear weights are pruned (biases and BatchNorm
parameters are not), training/test tensors for the lottery ticket.
Outputs:
    prunable(model) -> {param name: weight} of every Conv2d / Linear
    magnitude_masks(weights, masks, keep_fraction, scope) -> new masks keeping the largest
        |w| among the survivors (``scope`` "global" over all layers, which may empty a layer,
        or "layer" per layer, which keeps at least one weight of every layer);
        exact counts, ties broken by position, so deterministic
    one_shot_magnitude(model, sparsity, scope="global") -> masks; zeroes weights in place
    lottery_ticket(model_fn, data, target_sparsity, ...) -> LTPResult with the pruned
        trained model, masks, pruned weights, rewind point and one record per round
        (Frankle & Carbin, ICLR 2019; rewinding to iteration k as in Frankle et al. 2019)
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from workloads.small import accuracy, apply_masks, train


def prunable(model: nn.Module) -> dict:
    """Weights of every Conv2d and Linear, by parameter name."""
    out = {}
    for mname, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            out[f"{mname}.weight" if mname else "weight"] = m.weight
    return out


def _keep_top(scores: torch.Tensor, keep: int) -> torch.Tensor:
    """Bool mask keeping exactly ``keep`` largest scores; ties go to lower positions."""
    n = scores.numel()
    keep = max(0, min(n, int(keep)))
    if keep == n:
        return torch.ones(n, dtype=torch.bool)
    if keep == 0:
        return torch.zeros(n, dtype=torch.bool)
    k = n - keep  # number pruned
    t = torch.kthvalue(scores, k).values
    pruned = scores < t
    ties = torch.nonzero(scores == t).flatten()
    pruned[ties[: k - int(pruned.sum())]] = True
    return ~pruned


def _count(n: int, keep_fraction: float) -> int:
    """Weights to keep: floor, so the pruned fraction is at least 1 - keep_fraction."""
    return math.floor(n * keep_fraction + 1e-9)


def magnitude_masks(
    weights: dict, masks: dict | None, keep_fraction: float, scope: str = "global"
) -> dict:
    """Masks keeping floor(``keep_fraction`` x count) of all weights (not of survivors),
    largest |w| first; weights already masked out are never revived."""
    if scope not in ("global", "layer"):
        raise ValueError(f"scope must be 'global' or 'layer', got {scope!r}")
    if not 0.0 <= keep_fraction <= 1.0:
        raise ValueError(f"keep_fraction {keep_fraction} outside 0..1")
    masks = masks or {k: torch.ones_like(w, dtype=torch.bool) for k, w in weights.items()}
    scores = {
        k: torch.where(masks[k], w.detach().abs().float(), torch.tensor(-1.0))
        for k, w in weights.items()
    }
    if scope == "layer":
        return {
            k: _keep_top(s.flatten(), max(1 if keep_fraction > 0 else 0,
                                          _count(s.numel(), keep_fraction))).view_as(s)
            for k, s in scores.items()
        }
    flat = torch.cat([s.flatten() for s in scores.values()])
    keep = _keep_top(flat, _count(flat.numel(), keep_fraction))
    out, i = {}, 0
    for k, s in scores.items():
        out[k] = keep[i : i + s.numel()].view_as(s)
        i += s.numel()
    return out


def sparsity_of(masks: dict) -> float:
    """Fraction of weights pruned."""
    total = sum(m.numel() for m in masks.values())
    return 1.0 - sum(int(m.sum()) for m in masks.values()) / total


def one_shot_magnitude(model: nn.Module, sparsity: float, scope: str = "global") -> dict:
    """Zero the smallest-|w| fraction ``sparsity`` of conv/linear weights; return the masks."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity {sparsity} outside [0, 1)")
    weights = prunable(model)
    masks = magnitude_masks(weights, None, 1.0 - sparsity, scope)
    apply_masks(model, masks)
    return masks


@dataclass
class LTPRound:
    round: int
    sparsity: float
    accuracy: float
    seconds: float


@dataclass
class LTPResult:
    model: nn.Module
    masks: dict
    weights: dict
    dense_accuracy: float
    rewind_iteration: int
    scope: str
    records: list = field(default_factory=list)

    @property
    def sparsity(self) -> float:
        return sparsity_of(self.masks)

    @property
    def accuracy(self) -> float:
        return self.records[-1].accuracy if self.records else self.dense_accuracy

    def describe(self) -> str:
        return (
            f"lottery ticket (IMP, {len(self.records) - 1} rounds, {self.scope} magnitude, "
            f"rewind to iteration {self.rewind_iteration})"
        )


def lottery_ticket(
    model_fn,
    data,
    target_sparsity: float = 0.9,
    prune_fraction: float = 0.5,
    scope: str = "global",
    rewind_iteration: int = 20,
    epochs: int = 15,
    retrain_epochs: int | None = None,
    lr: float = 3e-3,
    batch: int = 64,
    seed: int = 0,
) -> LTPResult:
    """Iterative magnitude pruning with rewinding.

    ``model_fn()`` returns a fresh (seeded) model; ``data`` is (x_train, y_train, x_test,
    y_test). Round 0 trains densely, saving the state at ``rewind_iteration``; each later
    round prunes ``prune_fraction`` of the surviving weights (the last round exactly reaches
    ``target_sparsity``), rewinds the survivors (and all other parameters and buffers) to
    the saved state and retrains with the mask held fixed.
    """
    if not 0.0 < target_sparsity < 1.0 or not 0.0 < prune_fraction < 1.0:
        raise ValueError("target_sparsity and prune_fraction must be in (0, 1)")
    xtr, ytr, xte, yte = data
    retrain_epochs = epochs if retrain_epochs is None else retrain_epochs
    model = model_fn()
    saved = {}

    def keep_state(it, m):
        if it == rewind_iteration:
            saved["state"] = copy.deepcopy(m.state_dict())

    t0 = time.perf_counter()
    if rewind_iteration == 0:
        saved["state"] = copy.deepcopy(model.state_dict())
    train(model, xtr, ytr, epochs, lr, batch, seed, on_step=keep_state)
    if "state" not in saved:
        raise ValueError(f"rewind_iteration {rewind_iteration} is beyond the training run")
    dense = accuracy(model, xte, yte)
    res = LTPResult(
        model,
        {},
        {},
        dense,
        rewind_iteration,
        scope,
        [LTPRound(0, 0.0, dense, time.perf_counter() - t0)],
    )
    rounds = math.ceil(math.log(1.0 - target_sparsity) / math.log(1.0 - prune_fraction) - 1e-9)
    masks = None
    for r in range(1, rounds + 1):
        t0 = time.perf_counter()
        keep = max(1.0 - target_sparsity, (1.0 - prune_fraction) ** r)
        masks = magnitude_masks(prunable(model), masks, keep, scope)
        model.load_state_dict(saved["state"])
        train(model, xtr, ytr, retrain_epochs, lr, batch, seed + r, masks=masks)
        res.records.append(
            LTPRound(r, sparsity_of(masks), accuracy(model, xte, yte), time.perf_counter() - t0)
        )
    res.masks = masks
    res.weights = {k: w.detach().clone() for k, w in prunable(model).items()}
    return res
