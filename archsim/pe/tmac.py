"""T-MAC PE kind (``tmac``): activation tables per group of g, weights bit-serial by plane.

In:  ``act_bits`` (default 8), ``weight_bits`` b (1..8, default 4), ``group`` g (2..8,
     default 4, T-MAC's choice), ``act_signed`` (default False), ``weights`` (``"int"`` or
     ``"ternary"``: BitNet b1.58 {-1, 0, +1} in the 2-bit code, as T-MAC runs BitNet models).
Out: see ``archsim.pe.bitplane`` (shared with ``luttc``): exact integer results, b / g
     look-ups and adds per MAC, one 2^(g-1)-entry table (mirror consolidation: the top index
     bit selects negation), b / g cycles per MAC.

T-MAC (Wei et al., EuroSys 2025, arXiv 2407.00088) builds the tables of each token on the
processor that uses them; here they are built on the tile (``table_build = "tile"``): every
programmed entry costs one write into the LUT banks and the build adds (``archsim.pe.bitplane``),
timed through the banks' programming port.
"""

from __future__ import annotations

from typing import ClassVar

from .bitplane import BitPlaneKind
from .registry import register_pe_kind

__all__ = ["TMAC"]


@register_pe_kind("tmac")
class TMAC(BitPlaneKind):
    """T-MAC: mirror-consolidated activation tables, bit-serial weight planes."""

    group: int = 4

    _group_field: ClassVar[str] = "group"
    _label_always: ClassVar[tuple[str, ...]] = ("weight_bits",)
    mirror_bit: ClassVar[str] = "top"
    table_build: ClassVar[str] = "tile"
