"""The PE-kind protocol (``PEKind``) and its frozen outputs (``OpCounts``, ``TableInventory``).

In:  a kind's constructor parameters (ints, bools, strings, an optional table array), checked
     by each kind's ``__post_init__`` with the ``check_*`` helpers below; integer operand
     arrays for the arithmetic methods.
Out: operations per MAC (``OpCounts``), table storage per PE (``TableInventory``), latency per
     MAC, and int64 results of ``multiply`` / ``matmul`` / ``matmul_lookup`` / ``conv2d`` /
     ``linear``.

A kind is a frozen, keyword-only dataclass registered with
``archsim.pe.registry.register_pe_kind``. It implements the hooks ``_multiply``
(element-wise semantics; LUT kinds read their tables here), ``_matmul_fast`` (a vectorised
equivalent), ``act_range`` / ``weight_range`` / ``exact`` / ``cycles_per_mac``,
``ops_per_mac`` and ``tables``. This base supplies operand validation, the matmul lowering of
convolutions and linear layers (``archsim.pe.lowering``), parameter export, a label, and
equality / hashing in which tables compare by content.

Signedness per call: every kind has an ``act_signed`` parameter, the default signedness of its
activations. The arithmetic entry points (``multiply``, ``matmul``, ``matmul_lookup``,
``conv2d``, ``linear``) take ``act_signed=`` per call (a layer's declared input sign);
``for_activations(signed)`` is the kind with that signedness (a cached variant, itself when
it already matches), whose ``act_range`` / ``ops_per_mac`` describe such a layer.

Conventions shared by all kinds:
- operands are integer arrays (any numpy integer dtype; float and bool arrays raise
  ValueError) inside the kind's inclusive ``act_range`` / ``weight_range``;
- a MAC with a zero weight is a skipped MAC and contributes 0, whatever a programmed table
  holds (pruned weights are not looked up), so results never depend on whether a dataflow
  skips zero weights;
- results are int64.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from .intmath import int_range
from .lowering import conv2d_lowered, linear_lowered

__all__ = [
    "PATHS",
    "TERNARY_STORAGE_BITS",
    "WEIGHT_CODES",
    "OpCounts",
    "PEKind",
    "TableInventory",
    "check_bool",
    "check_int",
    "check_table",
    "check_weight_code",
]

PATHS = ("fast", "lookup")
# weight codes: "int" = weight_bits-bit integers (each kind's own range); "ternary" = BitNet
# b1.58 weights in {-1, 0, +1}, stored in 2 bits (weight_bits is then 2)
WEIGHT_CODES = ("int", "ternary")
TERNARY_STORAGE_BITS = 2
_LOOKUP_CHUNK_ELEMS = 1 << 21  # (rows x K x N) elements per block of the look-up path


@dataclass(frozen=True)
class OpCounts:
    """Operations per MAC (floats so that averages and approximations can be fractional)."""

    lookups: float = 0.0
    adds: float = 0.0
    shifts: float = 0.0
    mults: float = 0.0
    signs: float = 0.0  # sign logic beyond the accumulate: XORs of operand signs per MAC

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, Real) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise ValueError(f"OpCounts.{f.name} must be a finite number >= 0, got {v!r}")
            object.__setattr__(self, f.name, float(v))

    def scaled(self, factor: float) -> OpCounts:
        """Counts times ``factor`` (e.g. operations of a block of ``factor`` MACs)."""
        return OpCounts(**{k: v * factor for k, v in self.as_dict().items()})

    def __add__(self, other: OpCounts) -> OpCounts:
        if not isinstance(other, OpCounts):
            return NotImplemented
        return OpCounts(**{k: v + getattr(other, k) for k, v in self.as_dict().items()})

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TableInventory:
    """Look-up tables held by one PE: ``n_tables`` tables of ``entries`` x ``word_bits``."""

    n_tables: int
    entries: int
    word_bits: int
    bits_per_table: int = field(init=False)
    total_bits: int = field(init=False)

    def __post_init__(self) -> None:
        for name in ("n_tables", "entries", "word_bits"):
            check_int(f"TableInventory.{name}", getattr(self, name), 0, None)
        object.__setattr__(self, "bits_per_table", self.entries * self.word_bits)
        object.__setattr__(self, "total_bits", self.n_tables * self.entries * self.word_bits)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def check_int(name: str, value: Any, lo: int, hi: int | None) -> int:
    """Return ``value`` as int if it is an integer in [lo, hi]; else raise ValueError."""
    span = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
    ok = isinstance(value, Integral) and not isinstance(value, bool)
    ok = ok and lo <= value and (hi is None or value <= hi)
    if not ok:
        raise ValueError(f"{name} must be an integer {span}, got {value!r}")
    return int(value)


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool (numpy bools accepted); else raise ValueError."""
    ok = isinstance(value, (bool, np.bool_))
    if not ok:
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_weight_code(weights: Any, weight_bits: Any, default_bits: int) -> tuple[str, Any]:
    """Validate ``weights`` (one of ``WEIGHT_CODES``) against ``weight_bits``.

    Ternary weights are stored in ``TERNARY_STORAGE_BITS`` = 2 bits: ``weight_bits`` left at
    the kind's default (``default_bits``) becomes 2; any other value than 2 raises.
    Returns (weights, weight_bits).
    """
    if not isinstance(weights, str) or weights not in WEIGHT_CODES:
        raise ValueError(f"weights must be one of {list(WEIGHT_CODES)}, got {weights!r}")
    if weights == "ternary":
        if isinstance(weight_bits, Integral) and not isinstance(weight_bits, bool) and (
                weight_bits in (default_bits, TERNARY_STORAGE_BITS)):
            return weights, TERNARY_STORAGE_BITS
        raise ValueError(f"weight_bits must be {TERNARY_STORAGE_BITS} (or left at its default) "
                         f"with weights='ternary' ({{-1, 0, +1}} stored in 2 bits), "
                         f"got {weight_bits!r}")
    return weights, weight_bits


def weight_code_range(weights: str, weight_bits: int) -> tuple[int, int]:
    """Inclusive (lo, hi) of the weights a kind with a ``weights`` code takes: {-1, 0, +1}
    for ``ternary``, else the signed ``weight_bits``-bit range."""
    if weights == "ternary":
        return -1, 1
    return int_range(weight_bits, True)


def check_table(name: str, table: Any, shape: tuple[int, int], lo: int, hi: int) -> np.ndarray:
    """Validate a programmable table: integer dtype, exact ``shape``, entries in [lo, hi].

    Returns a read-only int64 copy.
    """
    arr = np.asarray(table)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integers (an integer numpy dtype), got {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    mn, mx = int(arr.min()), int(arr.max())
    if mn < lo or mx > hi:
        raise ValueError(
            f"{name} entries must fit the table word, in [{lo}, {hi}]; got values in [{mn}, {mx}]"
        )
    out = arr.astype(np.int64, copy=True)
    out.setflags(write=False)
    return out


def _check_operand(x: Any, lo: int, hi: int, what: str, label: str) -> np.ndarray:
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what} must be an integer array, got dtype {arr.dtype}")
    if arr.size:
        mn, mx = int(arr.min()), int(arr.max())
        if mn < lo or mx > hi:
            raise ValueError(
                f"{what} out of range for PE kind {label}: values span [{mn}, {mx}], "
                f"allowed [{lo}, {hi}]"
            )
    return arr.astype(np.int64, copy=False)


def _export(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return [_export(v) for v in value]
    return value


class PEKind(ABC):
    """A processing-element kind: integer semantics, operation counts, tables, latency.

    Subclasses are frozen keyword-only dataclasses whose init fields are the kind's
    parameters; every kind has at least ``act_bits`` and ``weight_bits``.
    """

    name: ClassVar[str] = "<unregistered>"
    _label_always: ClassVar[tuple[str, ...]] = ()  # parameters shown in ``label`` even at default
    act_bits: int
    weight_bits: int

    # ---- hooks every kind implements ---------------------------------------------------------
    @property
    @abstractmethod
    def act_range(self) -> tuple[int, int]:
        """Inclusive (lo, hi) of allowed activation values."""

    @property
    @abstractmethod
    def weight_range(self) -> tuple[int, int]:
        """Inclusive (lo, hi) of allowed weight values."""

    @property
    @abstractmethod
    def exact(self) -> bool:
        """True if every product equals the integer product a * w."""

    @property
    @abstractmethod
    def cycles_per_mac(self) -> float:
        """Latency of one MAC in PE cycles."""

    @abstractmethod
    def ops_per_mac(self) -> OpCounts:
        """Operations one MAC performs."""

    @abstractmethod
    def tables(self) -> TableInventory:
        """Tables one PE holds."""

    @abstractmethod
    def _multiply(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Element-wise products of validated, broadcastable int64 operands (reads tables)."""

    @abstractmethod
    def _matmul_fast(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Vectorised (M, K) x (K, N) accumulation of validated int64 operands."""

    # ---- parameters ------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """All constructor parameters; ``pe_kind(k.name, **k.params()) == k``.

        A programmed table is exported as nested lists; the default table as None.
        """
        return {
            f.name: _export(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.init
        }

    @property
    def label(self) -> str:
        """The kind's name with its non-default parameters, e.g. ``lutna(digit_bits=2)``."""
        parts = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if not f.init:
                continue
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                parts.append(f"{f.name}=programmed")
            elif f.name in self._label_always or v != f.default:
                parts.append(f"{f.name}={v!r}")
        return f"{self.name}({', '.join(parts)})" if parts else self.name

    @cached_property
    def _key(self) -> tuple:
        items = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                v = (v.shape, v.tobytes())
            items.append((f.name, v))
        return (type(self), tuple(items))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PEKind):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    # ---- per-layer signedness ---------------------------------------------------------------
    def for_activations(self, act_signed: bool | None) -> PEKind:
        """This kind with signed (``True``) or unsigned (``False``) activations; ``None`` or
        the kind's own ``act_signed`` returns ``self``. Variants are cached per instance."""
        if act_signed is None or bool(act_signed) == bool(getattr(self, "act_signed", False)):
            return self
        cache = self.__dict__.setdefault("_sign_variants", {})
        v = cache.get(bool(act_signed))
        if v is None:
            v = cache[bool(act_signed)] = self._sign_variant(bool(act_signed))
        return v

    def _sign_variant(self, act_signed: bool) -> PEKind:
        """The kind with ``act_signed`` flipped (kinds whose hardware cannot switch raise)."""
        if not any(f.name == "act_signed" for f in dataclasses.fields(self)):  # type: ignore
            raise ValueError(f"PE kind {self.label} has no signed-activation mode")
        return dataclasses.replace(self, act_signed=act_signed)  # type: ignore[type-var]

    # ---- operand validation ----------------------------------------------------------------
    def check_activations(self, a: Any, what: str = "activations") -> np.ndarray:
        """Return ``a`` as int64 after checking dtype and ``act_range``."""
        lo, hi = self.act_range
        return _check_operand(a, lo, hi, what, self.label)

    def check_weights(self, w: Any, what: str = "weights") -> np.ndarray:
        """Return ``w`` as int64 after checking dtype and ``weight_range``."""
        lo, hi = self.weight_range
        return _check_operand(w, lo, hi, what, self.label)

    def _check_matmul(self, a: Any, w: Any) -> tuple[np.ndarray, np.ndarray]:
        a = self.check_activations(a, "activations (a)")
        w = self.check_weights(w, "weights (w)")
        if a.ndim != 2:
            raise ValueError(f"activations (a) must be 2-D (M, K), got shape {a.shape}")
        if w.ndim != 2:
            raise ValueError(f"weights (w) must be 2-D (K, N), got shape {w.shape}")
        if a.shape[1] != w.shape[0]:
            raise ValueError(
                f"activations (a) have K={a.shape[1]} columns but weights (w) have "
                f"K={w.shape[0]} rows"
            )
        return a, w

    # ---- arithmetic ------------------------------------------------------------------------
    def multiply(self, a: Any, w: Any, *, act_signed: bool | None = None) -> np.ndarray:
        """Element-wise products of broadcastable operands, as one MAC computes them."""
        k = self.for_activations(act_signed)
        a = k.check_activations(a)
        w = k.check_weights(w)
        return k._multiply(a, w)

    def matmul(self, a: Any, w: Any, *, act_signed: bool | None = None) -> np.ndarray:
        """(M, K) activations x (K, N) weights -> (M, N) int64 accumulations (fast path).

        ``act_signed`` is the signedness of this call's activations (default: the kind's)."""
        k = self.for_activations(act_signed)
        a, w = k._check_matmul(a, w)
        return k._matmul_fast(a, w)

    def matmul_lookup(self, a: Any, w: Any, *, act_signed: bool | None = None) -> np.ndarray:
        """Same result as ``matmul``, computed product by product with ``multiply``'s table
        reads (slow; a reference for the fast path)."""
        k = self.for_activations(act_signed)
        a, w = k._check_matmul(a, w)
        return k._matmul_lookup(a, w)

    def _matmul_lookup(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        m, k = a.shape
        n = w.shape[1]
        out = np.zeros((m, n), dtype=np.int64)
        if out.size == 0 or k == 0:
            return out
        rows = max(1, _LOOKUP_CHUNK_ELEMS // (k * n))
        for m0 in range(0, m, rows):
            prods = self._multiply(a[m0 : m0 + rows, :, None], w[None, :, :])
            out[m0 : m0 + rows] = prods.sum(axis=1)
        return out

    def _path(self, path: str):
        if path == "fast":
            return self._matmul_fast
        if path == "lookup":
            return self._matmul_lookup
        raise ValueError(f"path must be one of {PATHS}, got {path!r}")

    def conv2d(
        self,
        x: Any,
        w: Any,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        groups: int = 1,
        *,
        path: str = "fast",
        dilation: int | tuple[int, int] = 1,
        act_signed: bool | None = None,
    ) -> np.ndarray:
        """NCHW x OIHW convolution (torch semantics, no bias) -> (N, O, OH, OW) int64."""
        k = self.for_activations(act_signed)
        mm = k._path(path)
        x = k.check_activations(x, "activations (x)")
        w = k.check_weights(w, "weights (w)")
        return conv2d_lowered(mm, x, w, stride, padding, groups, dilation)

    def linear(self, x: Any, w: Any, *, path: str = "fast",
               act_signed: bool | None = None) -> np.ndarray:
        """x (..., I) with w (O, I) -> x @ w.T as (..., O) int64 (torch semantics, no bias)."""
        k = self.for_activations(act_signed)
        mm = k._path(path)
        x = k.check_activations(x, "activations (x)")
        w = k.check_weights(w, "weights (w)")
        return linear_lowered(mm, x, w)
