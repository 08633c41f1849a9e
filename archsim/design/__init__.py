"""Stage 0 -- design points: what the chip is.

In:  a YAML design point (a path, or the name of a shipped one in the ``arch_configs`` package)
     or a plain dict, plus dotted overrides.
Out: a validated, frozen :class:`~archsim.design.arch.ArchConfig` that every later stage reads.

Modules: ``schema`` (strict declarative checks over frozen dataclasses), ``arch`` (the design
point's fields, loading, overrides, the shipped collection).
"""
