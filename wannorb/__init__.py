"""wannorb: band-projected spin and orbital Hall responses of Wannier tight-binding models.

Importing wannorb compiles nothing and starts no MPI; numba kernels compile on first use
and mpi4py is imported only by the MPI driver.
"""

__version__ = "0.1.0"
