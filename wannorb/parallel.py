"""Distribution of mesh chunks over MPI ranks (mpi4py), with a reduction in fixed chunk order.

Importing this module starts no MPI: mpi4py is imported only by :func:`launcher_comm`, and only
when an MPI launcher left its variables in the environment. The communicator is made by the
driver (``wannorb.cli`` commands) and passed into :func:`wannorb.api.hall` as a ``chunk_runner``::

    comm = launcher_comm()                       # None outside mpiexec/srun
    runner = MPIChunkRunner(comm) if comm else None
    res = api.hall(system, ..., chunk_runner=runner, progress=is_root(comm))
    if is_root(comm):
        write_json(res.to_dict(), "out.json")

Rank r computes the chunks c ≡ r (mod size) (chunks are equal in size, so a static round robin
balances them; on a checkpoint resume the unfinished chunks are dealt first), the per-chunk partial sums are gathered on every rank and returned in chunk
order, and every rank then adds them in that same order: the result is bit-for-bit the one of a
serial run, whatever the number of ranks.
"""
import os
import sys

from tqdm import tqdm

# Environment variables that MPI launchers set in every rank: MPICH/Hydra and Intel MPI (PMI_*,
# MPI_LOCALNRANKS), Open MPI (OMPI_*), SLURM's srun with PMI2/PMIx (PMIX_RANK).
LAUNCHER_VARS = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_RANK",
                 "HYDRA_CONTROL_FD")


def under_mpi_launcher(environ=None):
    """True when an MPI launcher (mpiexec, mpirun, srun) started this process."""
    environ = os.environ if environ is None else environ
    return any(v in environ for v in LAUNCHER_VARS)


def launcher_comm():
    """``MPI.COMM_WORLD`` when started by an MPI launcher with more than one rank, else None.

    mpi4py (and with it MPI) is imported only in that case, so a plain ``wannorb`` run, a test or
    ``import wannorb`` never initialises MPI.
    """
    if not under_mpi_launcher():
        return None
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    return comm if comm.Get_size() > 1 else None


def pin_threads(comm):
    """Share the cores of a node between its ranks: numba threads = cores // local ranks (≥ 1),
    unless NUMBA_NUM_THREADS was set. BLAS stays single-threaded (the CLI pins it)."""
    if "NUMBA_NUM_THREADS" in os.environ:
        return
    import numba
    local = os.environ.get("MPI_LOCALNRANKS") or os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE") \
        or os.environ.get("SLURM_NTASKS_PER_NODE")
    try:
        local = int(str(local).split("(")[0])
    except ValueError:
        local = comm.Get_size()
    numba.set_num_threads(max(1, min(numba.config.NUMBA_NUM_THREADS, (os.cpu_count() or 1) // max(local, 1))))


def is_root(comm):
    """True on rank 0, or without a communicator."""
    return comm is None or comm.Get_rank() == 0


def owned_chunks(n_chunks, rank, size):
    """Chunk indices of ``rank`` in the static round robin (ascending)."""
    return range(rank, n_chunks, size)


class MPIChunkRunner:
    """A ``chunk_runner`` for :func:`wannorb.api.hall` that spreads chunks over the ranks of ``comm``.

    Called like :func:`wannorb.integration.run_chunks`; returns the results of all chunks, in
    chunk order, on every rank. Rank 0 alone shows a progress bar (its own chunks, scaled to
    the total).
    """

    def __init__(self, comm, pin=True):
        self.comm = comm
        if pin:
            pin_threads(comm)
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()

    @property
    def is_root(self):
        return self.rank == 0

    def __call__(self, n_chunks, compute, progress=True, desc="k-chunks", n_points=None):
        # a resumed checkpoint: deal the unfinished chunks round robin first, then the stored ones
        done = self.comm.bcast(getattr(compute, "finished", frozenset()), root=0)   # one view for all ranks
        order = [c for c in range(n_chunks) if c not in done] + [c for c in range(n_chunks) if c in done]
        mine = [order[i] for i in owned_chunks(n_chunks, self.rank, self.size)]
        show = progress and self.is_root
        bar = tqdm(total=n_chunks, desc=f"{desc} ({self.size} ranks)", unit="chunk", disable=not show,
                   file=sys.stderr, postfix=None if n_points is None else {"k-points": n_points})
        local = {}
        error = None
        for c in mine:
            try:
                local[c] = compute(c)
            except Exception as exc:      # keep the ranks in step: every rank learns of the failure
                error = exc
                break
            bar.update(min(self.size, n_chunks - bar.n))
        bar.close()
        gathered = self.comm.allgather((local, error is not None))
        if error is not None:
            raise error
        if any(failed for _, failed in gathered):
            raise RuntimeError("another MPI rank failed; see its message")
        parts = {}
        for chunk_results, _ in gathered:
            parts.update(chunk_results)
        return [parts[c] for c in range(n_chunks)]

    def barrier(self):
        self.comm.Barrier()

    def bcast(self, obj):
        return self.comm.bcast(obj, root=0)

    def allsum(self, value):
        return self.comm.allreduce(value)
