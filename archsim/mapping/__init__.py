"""Stage 2 -- mapping: which tile computes which part of which layer, in what order.

In:  a workload graph, a design point, a dataflow (``os`` | ``ws`` | ``is``) and a mapping spec.
Out: a static :class:`~archsim.mapping.schedule.Schedule` of tasks and chunks (per-tile work,
     bytes to move, compute cycles from the systolic fold model) that the SimPy core executes.

Modules: ``fold`` (compute cycles of a GEMM block on an R x C array), ``regions`` (tensor
regions a chunk reads), ``partition`` (splitting a layer over tiles), ``schedule`` (the mapper).
"""
