"""Stage 5 -- reports: what a person or a script reads.

In:  a priced run (:class:`~archsim.pipeline.RunResult`), run folders on disk, PE kinds.
Out: ``summary.json`` / ``summary.md`` / CSVs / PNGs in a run folder, the ``compare`` table, the
     ``pe-table`` listing.

Modules: ``summary`` (the plain-data summary), ``run_folder`` (writing a run folder),
``summary_md``, ``compare``, ``plots`` + ``raster`` (PNG drawing), ``pe_table``.
"""
