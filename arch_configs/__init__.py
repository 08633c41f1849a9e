"""The shipped design points and cost tables, installed with archsim as package data.

In:  nothing (this package holds YAML files only).
Out: ``folder()``: the directory holding ``<name>.yaml`` design points and ``energy/<name>.yaml``
     cost tables; ``archsim list`` prints the design points with their one-line descriptions.
"""

from __future__ import annotations

from pathlib import Path


def folder() -> Path:
    """The directory of the shipped design points (works from a checkout and from a wheel)."""
    return Path(__file__).resolve().parent
