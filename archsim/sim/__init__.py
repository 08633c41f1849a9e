"""Stage 3 -- the SimPy core: run a schedule on a chip and record what happened.

In:  a :class:`~archsim.mapping.schedule.Schedule` and a design point (plus, for functional
     runs, the workload graph whose integers are carried through the tasks).
Out: plain data -- timings per layer and tile, stall cycles by cause, and action counts keyed by
     :class:`~archsim.sim.actions.ActionKey` (the one action vocabulary, owned by ``actions``).

Nothing here builds workloads, prices actions or writes reports.
Modules: ``actions`` (vocabulary), ``components`` (SRAM, LUT banks, mesh, edge memory),
``tile`` (tile controllers), ``functional`` (integer data through tasks), ``engine`` (the run).
"""
