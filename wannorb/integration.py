"""Drive a computation over the chunks of a mesh: progress bar, (later) ranks and checkpoints.

``run_chunks`` calls ``compute(c) -> dict of arrays`` for every chunk index and returns the
results in chunk order, so that the caller's reduction is independent of the schedule.
"""
import sys

from tqdm import tqdm


def run_chunks(n_chunks, compute, progress=True, desc="k-chunks", n_points=None):
    """Results of ``compute(c)`` for c = 0..n_chunks−1, in order, with a tqdm bar and ETA on stderr."""
    bar = tqdm(total=n_chunks, desc=desc, unit="chunk", disable=not progress, file=sys.stderr,
               postfix=None if n_points is None else {"k-points": n_points})
    parts = []
    for c in range(n_chunks):
        parts.append(compute(c))
        bar.update(1)
    bar.close()
    return parts
