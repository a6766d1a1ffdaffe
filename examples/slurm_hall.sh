#!/bin/bash
# Spin/orbital Hall conductivities of Pt on a 200^3 mesh, 64 MPI ranks, resumable.
# Submit with `sbatch examples/slurm_hall.sh`; resubmit the same script after a walltime kill:
# the finished k-chunks in $CKPT are loaded, nothing is computed twice.
#SBATCH --job-name=wannorb-hall-Pt
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=32
#SBATCH --cpus-per-task=1
#SBATCH --time=04:00:00
#SBATCH --mem-per-cpu=2G
#SBATCH --output=hall-Pt-%j.log
#SBATCH --signal=B:TERM@60

set -euo pipefail
# one thread per rank: MPI ranks are the only level of parallelism
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
# numba's on-disk cache of the compiled kernels, shared by all ranks (compiled once)
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-$HOME/.cache/wannorb-numba}

CKPT=${SLURM_SUBMIT_DIR}/ckpt-Pt-200       # keep it on a shared filesystem

# With the MPI of `pip install wannorb` (the mpich wheel): its mpiexec starts the ranks of this
# allocation (Hydra reads the SLURM node list). With a system MPI (mpi4py built against it, e.g.
# `module load openmpi`), use `srun` instead of `mpiexec -n $SLURM_NTASKS`.
mpiexec -n "${SLURM_NTASKS}" \
    wannorb hall Pt --mu-shift 0 --kT 0.025 --nk 200 \
        --methods eq4,conventional,conserved --quantities spin,orbital \
        --checkpoint "${CKPT}" --no-progress \
        --output "${SLURM_SUBMIT_DIR}/hall-Pt-200.json"
