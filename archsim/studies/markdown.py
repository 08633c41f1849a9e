"""Markdown formatting shared by the study pages (numbers, tables, ranges).

In:  numbers and rows.  Out: strings.
"""

from __future__ import annotations


def fmt(v: float, nd: int = 2) -> str:
    """A number with thousands separators and ``nd`` decimals."""
    return f"{v:,.{nd}f}"


def md_table(head: list[str], rows: list[list]) -> str:
    """A markdown table."""
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def span(xs: list[float]) -> str:
    """'lo-hi' of ``xs`` to 2 decimals, or one number if they agree."""
    lo, hi = min(xs), max(xs)
    return f"{lo:.2f}" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f}-{hi:.2f}"
