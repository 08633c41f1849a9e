"""Sweeps: many runs of the pipeline over design-point fields, workloads, dataflows, mappings.

In:  a sweep spec (YAML file or command-line pieces).
Out: ``sweep.csv`` plus one run folder per point; resumable after any interruption.

Modules: ``spec`` (what to sweep), ``worker`` (one point), ``store`` (results on disk),
``local`` (process pool), ``cluster`` (Dask), ``run`` (the command).
"""
