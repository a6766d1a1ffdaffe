"""Uniform k-meshes and their split into FFT chunks.

A mesh N1×N2×N3 with offset s (fractions of the spacing) has points k_red = (i + s)/N.
Writing i = d·j + q (d = N/n, j < n the FFT index, q < d the chunk index), each chunk q is an
n1×n2×n3 sub-grid k_red = j/n + (q + s)/N, so one FFT gives H(k) on a whole chunk.
Chunks are enumerated in a fixed C order; every reduction sums them in that order so results
do not depend on how chunks were distributed.
"""
from dataclasses import dataclass

import numpy as np

from .errors import InputError

# Memory budget for the per-chunk arrays (H, three ∂H, integrands), bytes. 256 MB keeps a rank
# well under 2 GB at any mesh size.
CHUNK_MEMORY_BYTES = 256 * 2**20
MAX_FFT_PER_DIM = 64


def parse_nk(text):
    """'32' -> (32, 32, 32); '24,24,16' -> (24, 24, 16); InputError otherwise."""
    try:
        vals = [int(x) for x in str(text).split(",")]
    except ValueError:
        raise InputError(f"--nk must be N or N1,N2,N3 with positive integers, got {text!r}") from None
    if len(vals) == 1:
        vals = vals * 3
    if len(vals) != 3 or min(vals) < 1:
        raise InputError(f"--nk must be N or N1,N2,N3 with positive integers, got {text!r}")
    return tuple(vals)


def parse_shift(text):
    """'0.5,0.5,0.5' -> (0.5, 0.5, 0.5), each in [0, 1)."""
    try:
        vals = [float(x) for x in str(text).split(",")]
    except ValueError:
        raise InputError(f"--shift must be s1,s2,s3 (fractions of the mesh spacing), got {text!r}") from None
    if len(vals) == 1:
        vals = vals * 3
    if len(vals) != 3 or not all(np.isfinite(vals)) or not all(0 <= v < 1 for v in vals):
        raise InputError(f"--shift must be three numbers in [0, 1), got {text!r}")
    return tuple(vals)


def chunk_points_limit(nw, nq):
    """How many k-points fit in one chunk within CHUNK_MEMORY_BYTES."""
    per_k = 4 * nw * nw * 16 + 3 * max(nq, 1) * 27 * nw * 8 + nw * 8
    return int(max(8, CHUNK_MEMORY_BYTES // per_k))


@dataclass(frozen=True)
class UniformMesh:
    """N1×N2×N3 mesh with offset ``shift`` (fractions of the spacing)."""

    nk: tuple
    shift: tuple = (0.0, 0.0, 0.0)
    max_chunk: int = 4096

    @property
    def n_points(self):
        return int(np.prod(self.nk))

    @property
    def n_fft(self):
        """Sub-grid size per dimension: divisors of N_a, as large as the chunk limit allows."""
        n = [1, 1, 1]
        for a in range(3):
            divisors = [d for d in range(1, min(self.nk[a], MAX_FFT_PER_DIM) + 1) if self.nk[a] % d == 0]
            for d in sorted(divisors, reverse=True):
                if np.prod(n) * d <= self.max_chunk:
                    n[a] = d
                    break
        return tuple(n)

    @property
    def divisions(self):
        return tuple(N // n for N, n in zip(self.nk, self.n_fft))

    @property
    def n_chunks(self):
        return int(np.prod(self.divisions))

    def chunk_offset(self, c):
        """κ_red of chunk c (C order over the divisions)."""
        q = np.array(np.unravel_index(c, self.divisions))
        return (q + np.array(self.shift)) / np.array(self.nk)

    def all_points(self):
        """(N, 3) reduced coordinates in chunk order (for tests and small meshes)."""
        n = np.array(self.n_fft)
        j = np.indices(self.n_fft).reshape(3, -1).T / n
        return np.concatenate([j + self.chunk_offset(c) for c in range(self.n_chunks)])
