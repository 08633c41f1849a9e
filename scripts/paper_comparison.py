"""Regenerate reports/paper_comparison.md and .csv: a thin wrapper of ``archsim paper``.

Usage: python scripts/paper_comparison.py [archsim paper options, e.g. --no-system]
"""

import sys

from archsim.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["paper", *sys.argv[1:]]))
