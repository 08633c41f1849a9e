"""Stage 1 -- the workload graph: what the chip runs.

In:  a workload graph built by a front end (``workloads`` for PyTorch models), a saved workload
     folder, or a SCALE-Sim topology CSV.
Out: a validated dataflow graph (networkx ``DiGraph`` or the lighter
     :class:`~archsim.graph.dag.Dag`) in the format of ``docs/workload_graph.md``, with batch
     applied; and the exact integer semantics of every op (``ops``), which functional
     simulation and the reference share.

Modules: ``ir`` (format, validation, shapes, save/load), ``dag`` (graph without networkx),
``scalesim_csv`` (SCALE-Sim topology reader), ``batching`` (batch size), ``ops`` (integer ops).
"""
