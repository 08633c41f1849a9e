"""PE kinds, used by every stage: integer arithmetic, op counts, tables and latency of a PE.

In:  a kind name and parameters (``pe_kind("lutna", digit_bits=2)``).
Out: a frozen ``PEKind`` with ``matmul`` / ``matmul_lookup`` / ``conv2d`` / ``linear`` (int64),
     ``ops_per_mac()``, ``tables()``, ``cycles_per_mac``, ``params()``.

Registered kinds: ``mac`` (digital multiply-accumulate), ``lut`` (monolithic product table),
``lutna`` (LUT-NA: k-bit digit tables with shift-and-add), ``alutna`` (A-LUT-NA: LUT-NA with
dropped partial products and optional bias compensation), ``tmac`` (T-MAC: activation tables
per group of g activations, weights bit-serial by plane) and ``luttc`` (LUT Tensor Core:
symmetrised activation tables built ahead and broadcast); ``mac``, ``lutna``, ``tmac`` and
``luttc`` take ``weights="ternary"`` (BitNet b1.58 {-1, 0, +1}). The shared bit-plane
arithmetic is ``archsim.pe.bitplane``. Error analysis in
``archsim.pe.approx_error``; the comparison table for ``archsim pe-table`` in
``archsim.report.pe_table``; the conv/linear lowering in ``archsim.pe.lowering``.
"""

from .alutna import ALUTNA, APPROX_PRESETS
from .approx_error import ErrorBounds, ErrorStats, error_bounds, error_stats
from .base import WEIGHT_CODES, OpCounts, PEKind, TableInventory
from .bitplane import ActivationTables, BitPlaneKind
from .lowering import conv_output_hw, im2col
from .lut import MonolithicLUT
from .lutna import DIGIT_BITS, LUTNA, DigitLUTKind
from .luttc import LUTTC
from .mac import MAC
from .registry import pe_kind, pe_kind_class, pe_kinds, register_pe_kind
from .tmac import TMAC

__all__ = [
    "ALUTNA",
    "APPROX_PRESETS",
    "DIGIT_BITS",
    "LUTNA",
    "LUTTC",
    "MAC",
    "TMAC",
    "WEIGHT_CODES",
    "ActivationTables",
    "BitPlaneKind",
    "DigitLUTKind",
    "ErrorBounds",
    "ErrorStats",
    "MonolithicLUT",
    "OpCounts",
    "PEKind",
    "TableInventory",
    "conv_output_hw",
    "error_bounds",
    "error_stats",
    "im2col",
    "pe_kind",
    "pe_kind_class",
    "pe_kinds",
    "register_pe_kind",
]
