"""numba kernels on plain arrays. Each has a pure-numpy twin in ``wannorb.reference``."""
