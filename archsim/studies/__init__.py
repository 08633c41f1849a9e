"""Studies built on the pipeline: the LUT-NA paper comparison, mixed precision, the demo.

In:  design points, cost tables, zoo workloads.
Out: report pages under ``reports/`` (``paper_comparison.md``, ``demo/``).
"""
