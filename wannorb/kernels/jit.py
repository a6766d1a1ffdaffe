"""The one JIT policy of wannorb.

Kernels are compiled on first call (never at import), cached on disk, and parallel over the
k-points of a chunk with ``prange``. BLAS inside kernels should run single-threaded (the driver
pins it) so that numba's threads are the only level of parallelism.
"""
import numba

kernel = numba.njit(cache=True, parallel=True)
serial = numba.njit(cache=True)
prange = numba.prange
