"""matchning: placement matching for Swedish municipal labour-market units."""

import os

# One OpenMP thread per process, set before scikit-learn loads its runtime: OpenMP reads it
# once, and a limit set later (threadpoolctl) reaches only the thread that sets it, not the
# API's request threads. On 2 cores, more threads per worker only fight (measured 5x slower
# predictions under concurrent requests). Scale with workers instead.
os.environ.setdefault("OMP_NUM_THREADS", "1")

__version__ = "0.1.0"
