"""LUT Tensor Core PE kind (``luttc``): precomputed, broadcast activation tables.

In:  ``act_bits`` (default 8), ``weight_bits`` b (1..8, default 4), ``k_dim`` (the tile's K:
     activations per table, 2..8, default 4 as in the RTL), ``act_signed`` (default False),
     ``weights`` (``"int"`` or ``"ternary"``).
Out: see ``archsim.pe.bitplane`` (shared with ``tmac``): exact integer results, b / K
     look-ups and adds per MAC, one 2^(K-1)-entry table (table symmetrisation: index bit 0
     selects negation, the other K - 1 bits address the table), one bit plane per cycle:
     b / K cycles per MAC.

LUT Tensor Core (Mo et al., ISCA 2025, arXiv 2408.06003; RTL ``sv_lut_array`` in
github.com/microsoft/T-MAC, defaults M_DIM = 2, N_DIM = 64, K_DIM = 4): the table precompute
is fused into the preceding operator, so tables arrive built (``table_build = "ahead"``: the
simulator counts the build adds as vector-unit operations of the consuming layer, overlapped
with the array) and are broadcast along the elongated M x N tile. The elongated tile is the
design point's PE array (rows = M, cols = N) with ``tile.lut_banks.pes_per_table`` = cols:
one table per activation row serves the N weight columns (``archsim.design.arch`` checks it).
"""

from __future__ import annotations

from typing import ClassVar

from .bitplane import BitPlaneKind
from .registry import register_pe_kind

__all__ = ["LUTTC"]


@register_pe_kind("luttc")
class LUTTC(BitPlaneKind):
    """LUT Tensor Core: symmetrised tables built ahead, broadcast over the N columns."""

    k_dim: int = 4

    _group_field: ClassVar[str] = "k_dim"
    _label_always: ClassVar[tuple[str, ...]] = ("weight_bits",)
    mirror_bit: ClassVar[str] = "low"
    table_build: ClassVar[str] = "ahead"
