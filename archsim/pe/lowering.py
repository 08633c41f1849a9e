"""Lowering of convolutions and linear layers to matrix multiplications.

One im2col lowering shared by every PE kind (and reusable by the simulator's mapping step).

In:  integer NCHW activations ``x`` and OIHW weights ``w`` (``w.shape[1] == C / groups``),
     ``stride`` / ``padding`` / ``dilation`` as an int or an (h, w) pair (dilation d spaces
     the kernel taps d apart, as torch), ``groups``; a ``matmul(a, b)``
     callable taking an (M, K) activation matrix and a (K, N) weight matrix.
Out: ``conv_output_hw`` -> (OH, OW); ``im2col`` -> an (N*OH*OW, C*KH*KW) matrix whose rows are
     ordered (n, oh, ow) and whose columns are ordered (c, kh, kw) -- the same order as
     ``w.reshape(O, -1)`` -- plus (OH, OW); ``conv2d_lowered`` -> (N, O, OH, OW) int64;
     ``linear_lowered`` -> (..., O) int64 for x (..., I) and w (O, I) (torch's x @ w.T).

Padding inserts zeros (a zero activation is in range for every kind). Groups are handled by
slicing the one lowered matrix into per-group column blocks and issuing one matmul per group.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral

import numpy as np

MatmulFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

__all__ = ["as_pair", "conv2d_lowered", "conv_output_hw", "im2col", "linear_lowered"]


def as_pair(value: int | tuple[int, int], name: str, minimum: int) -> tuple[int, int]:
    """Return ``value`` as an (h, w) pair of ints >= ``minimum``; raise ValueError naming it."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, Integral) and not isinstance(v, bool) for v in value)
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return pair


def conv_output_hw(
    in_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> tuple[int, int]:
    """Output (OH, OW) of a convolution: floor((H + 2p - d(KH - 1) - 1) / s) + 1 per axis
    (as torch)."""
    h, w = as_pair(tuple(in_hw), "in_hw", 1)
    kh, kw = as_pair(tuple(kernel_hw), "kernel_hw", 1)
    sh, sw = as_pair(stride, "stride", 1)
    ph, pw = as_pair(padding, "padding", 0)
    dh, dw = as_pair(dilation, "dilation", 1)
    kh, kw = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(
            f"kernel_hw {(kh, kw)} larger than padded input {(h + 2 * ph, w + 2 * pw)}"
        )
    return oh, ow


def im2col(
    x: np.ndarray,
    kernel_hw: tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> tuple[np.ndarray, tuple[int, int]]:
    """Lower NCHW ``x`` to an (N*OH*OW, C*KH*KW) matrix (a copy); return it and (OH, OW)."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"activations (x) must be 4-D NCHW, got shape {x.shape}")
    n, c, h, w = x.shape
    kh, kw = as_pair(tuple(kernel_hw), "kernel_hw", 1)
    sh, sw = as_pair(stride, "stride", 1)
    ph, pw = as_pair(padding, "padding", 0)
    dh, dw = as_pair(dilation, "dilation", 1)
    oh, ow = conv_output_hw((h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    win = np.lib.stride_tricks.sliding_window_view(x, span, axis=(2, 3))[..., ::dh, ::dw]
    win = win[:, :, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw]  # (N,C,OH,OW,KH,KW)
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    return np.ascontiguousarray(cols), (oh, ow)


def conv2d_lowered(
    matmul: MatmulFn,
    x: np.ndarray,
    w: np.ndarray,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Convolution via im2col and one ``matmul`` per group; returns (N, O, OH, OW) int64."""
    x = np.asarray(x)
    w = np.asarray(w)
    if x.ndim != 4:
        raise ValueError(f"activations (x) must be 4-D NCHW, got shape {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"weights (w) must be 4-D OIHW, got shape {w.shape}")
    if not isinstance(groups, Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    groups = int(groups)
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    if c % groups or o % groups:
        raise ValueError(f"groups={groups} must divide input channels {c} and output channels {o}")
    if cg * groups != c:
        raise ValueError(
            f"weights (w) have {cg} input channels per group; x has {c} channels and "
            f"groups={groups}, so {c // groups} were expected"
        )
    cols, (oh, ow) = im2col(x, (kh, kw), stride, padding, dilation)
    og, kg = o // groups, cg * kh * kw
    out = np.empty((cols.shape[0], o), dtype=np.int64)
    for g in range(groups):
        w_mat = w[g * og : (g + 1) * og].reshape(og, kg).T
        out[:, g * og : (g + 1) * og] = matmul(
            cols[:, g * kg : (g + 1) * kg], np.ascontiguousarray(w_mat)
        )
    return np.ascontiguousarray(out.reshape(n, oh, ow, o).transpose(0, 3, 1, 2))


def linear_lowered(matmul: MatmulFn, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """torch-style linear without bias: x (..., I) @ w.T for w (O, I); returns (..., O)."""
    x = np.asarray(x)
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"weights (w) must be 2-D (O, I), got shape {w.shape}")
    if x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(
            f"activations (x) last dimension must equal weights in_features {w.shape[1]}, "
            f"got shape {x.shape}"
        )
    lead = x.shape[:-1]
    out = matmul(x.reshape(-1, w.shape[1]), np.ascontiguousarray(w.T))
    return out.reshape(*lead, w.shape[0])
