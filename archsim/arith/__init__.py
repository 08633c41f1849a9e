"""PE kinds: the integer arithmetic, operation counts, tables and latency of a PE.

In:  a kind name and parameters (``pe_kind("lutna", digit_bits=2)``).
Out: a frozen ``PEKind`` with ``matmul`` / ``matmul_lookup`` / ``conv2d`` / ``linear`` (int64),
     ``ops_per_mac()``, ``tables()``, ``cycles_per_mac``, ``params()``.

Registered kinds: ``mac`` (digital multiply-accumulate), ``lut`` (monolithic product table),
``lutna`` (LUT-NA: k-bit digit tables with shift-and-add), ``alutna`` (A-LUT-NA: LUT-NA with
dropped partial products and optional bias compensation). Error analysis in
``archsim.arith.errors``; the comparison table for ``archsim pe-table`` in
``archsim.arith.table``; the conv/linear lowering in ``archsim.arith.lowering``.
"""

from .alutna import ALUTNA, APPROX_PRESETS
from .base import OpCounts, PEKind, TableInventory
from .errors import ErrorBounds, ErrorStats, error_bounds, error_stats
from .lowering import conv_output_hw, im2col
from .lut import MonolithicLUT
from .lutna import DIGIT_BITS, LUTNA, DigitLUTKind
from .mac import MAC
from .registry import pe_kind, pe_kind_class, pe_kinds, register_pe_kind
from .table import format_pe_table, pe_table_rows

__all__ = [
    "ALUTNA",
    "APPROX_PRESETS",
    "DIGIT_BITS",
    "LUTNA",
    "MAC",
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
    "format_pe_table",
    "im2col",
    "pe_kind",
    "pe_kind_class",
    "pe_kinds",
    "pe_table_rows",
    "register_pe_kind",
]
