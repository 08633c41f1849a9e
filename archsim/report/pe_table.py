"""The PE-kind comparison table behind ``archsim pe-table``.

In:  ``pe_table_rows(kinds)``: PE kinds (instances, or names built with default
     parameters); None for the standard set: mac, lut, lutna (k = 4), lutna (k = 2), lutna
     with one table used in sequence, the alutna presets drop_ll, keep_hh, trunc_act_low,
     ternary mac, and the activation-table kinds tmac (W1..W4 and ternary, g = 4) and luttc
     (W2, W4, K = 4).
Out: one dict per kind with formula-backed values only (no energies): look-ups, adds,
     shifts and multiplies per MAC, tables per PE, entries and bits per table, total table
     bits per PE, latency in cycles per MAC, and where the tables come from
     (``table_source``: ``-`` none, ``fixed`` loaded once, ``activations`` programmed per
     activation group of every token); ``format_pe_table(rows)`` -> aligned text.
"""

from __future__ import annotations

from collections.abc import Iterable

from archsim.pe.base import PEKind
from archsim.pe.registry import pe_kind

__all__ = ["PE_TABLE_COLUMNS", "default_table_kinds", "format_pe_table", "pe_table_rows"]

PE_TABLE_COLUMNS = (
    "label",
    "act_bits",
    "weight_bits",
    "lookups_per_mac",
    "adds_per_mac",
    "shifts_per_mac",
    "mults_per_mac",
    "tables_per_pe",
    "entries_per_table",
    "bits_per_entry",
    "bits_per_table",
    "total_table_bits",
    "cycles_per_mac",
    "table_source",
)


def default_table_kinds() -> list[PEKind]:
    """The kinds ``pe_table_rows`` lists by default."""
    return [
        pe_kind("mac"),
        pe_kind("lut"),
        pe_kind("lutna"),
        pe_kind("lutna", digit_bits=2),
        pe_kind("lutna", parallel_tables=False),
        pe_kind("alutna", approx="drop_ll"),
        pe_kind("alutna", approx="keep_hh"),
        pe_kind("alutna", approx="trunc_act_low"),
        pe_kind("mac", weights="ternary"),
        *(pe_kind("tmac", weight_bits=b, group=4) for b in (1, 2, 3, 4)),
        pe_kind("tmac", weights="ternary", group=4),
        pe_kind("luttc", weight_bits=2),
        pe_kind("luttc", weight_bits=4),
    ]


def pe_table_rows(kinds: Iterable[PEKind | str] | None = None) -> list[dict]:
    """One row per kind with its per-MAC operation counts, tables and latency."""
    chosen = (
        default_table_kinds()
        if kinds is None
        else [pe_kind(k) if isinstance(k, str) else k for k in kinds]
    )
    rows = []
    for kind in chosen:
        if not isinstance(kind, PEKind):
            raise TypeError(f"kinds must hold PE kinds or kind names, got {kind!r}")
        ops = kind.ops_per_mac()
        tabs = kind.tables()
        rows.append(
            {
                "kind": kind.name,
                "label": kind.label,
                "act_bits": kind.act_bits,
                "weight_bits": kind.weight_bits,
                "lookups_per_mac": ops.lookups,
                "adds_per_mac": ops.adds,
                "shifts_per_mac": ops.shifts,
                "mults_per_mac": ops.mults,
                "tables_per_pe": tabs.n_tables,
                "entries_per_table": tabs.entries,
                "bits_per_entry": tabs.word_bits,
                "bits_per_table": tabs.bits_per_table,
                "total_table_bits": tabs.total_bits,
                "cycles_per_mac": kind.cycles_per_mac,
                "table_source": _table_source(kind, tabs.n_tables),
            }
        )
    return rows


def _table_source(kind: PEKind, n_tables: int) -> str:
    from archsim.pe.organisation import is_activation_kind

    if not n_tables:
        return "-"
    return "activations" if is_activation_kind(kind) else "fixed"


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def format_pe_table(rows: list[dict]) -> str:
    """Aligned plain-text table of ``pe_table_rows`` output (text left, numbers right)."""
    header = [c.replace("_per_", "/").replace("_", " ") for c in PE_TABLE_COLUMNS]
    body = [[_cell(r[c]) for c in PE_TABLE_COLUMNS] for r in rows]
    widths = [
        max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)
    ]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for b in body:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(b, widths))
            )
        )
    return "\n".join(lines)
