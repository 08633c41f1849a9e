"""The one hook from ``archsim`` to the ``workloads`` package (PyTorch front ends).

``workloads`` imports ``archsim`` (it writes workload graphs in archsim's format); ``archsim``
never imports ``workloads`` except here, lazily, so that the simulator itself runs without
torch.  Zoo names given to :func:`archsim.simulate`, ``archsim run`` and the studies come
through these functions.

In:  a zoo model name and its build options; or a real data set's name.
Out: a quantised workload graph (``build``), the graph with its quantised torch model
     (``build_quantized``), or real images and labels (``images``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build", "build_quantized", "images", "names"]


def _workloads():
    try:
        import workloads  # torch lives there
    except ImportError as exc:  # pragma: no cover - depends on the install
        from archsim.errors import WorkloadError

        raise WorkloadError(f"zoo models need the 'workloads' package with torch "
                            f"(pip install 'archsim[workloads]'): {exc}") from None
    return workloads


def names() -> list[str]:
    """The zoo's model names."""
    return list(_workloads().names())


def build(name: str, **options: Any):
    """``workloads.build(name, **options)``: a validated, quantised (optionally pruned) graph."""
    return _workloads().build(name, **options)


def build_quantized(name: str, **options: Any):
    """``workloads.build_quantized``: (graph, quantised model) for studies that need both."""
    return _workloads().build_quantized(name, **options)


def images(dataset: str, n: int | None = None):
    """Real images and labels from the offline data sets: ``cifar10`` (the samples shipped
    with foolbox; ``n`` of them) or ``digits_test`` (sklearn digits, the test split)."""
    data = _workloads().data
    if dataset == "cifar10":
        return data.load_foolbox_cifar10(20 if n is None else n)
    if dataset == "digits_test":
        _, _, x, y = data.digits_split()
        return x, y
    raise ValueError(f"unknown data set {dataset!r} (known: cifar10, digits_test)")
