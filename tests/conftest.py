"""Shared test setup: one torch/BLAS thread (2-core CI machine), Agg plots, paths."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

try:  # numpy may already be loaded (plugins): limit its BLAS pool at run time too
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
except ImportError:  # pragma: no cover
    pass

try:  # torch is optional for the archsim-only tests
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass
