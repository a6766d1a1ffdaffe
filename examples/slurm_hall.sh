#!/bin/bash
# SLURM job: one Hall-conductivity run of wannorb over MPI ranks, resumable.
#
#   sbatch examples/slurm_hall.sh                  # Pt, 64^3 mesh
#   SYSTEM=Cr NK=96 sbatch examples/slurm_hall.sh  # another shipped material / mesh
#   SYSTEM=pcubic NK=16 EXTRA="--filling 2" SLURM_NTASKS=2 bash examples/slurm_hall.sh   # no SLURM
#
# Ranks share the k-mesh chunks (static round robin, reduced in a fixed order: the result is
# bit-for-bit the serial one); each rank runs numba threads on its share of the cores, so a
# node is best used with few ranks × several threads (wannorb.parallel.pin_threads sets
# threads = cores // local ranks unless NUMBA_NUM_THREADS is given, as here).
# --checkpoint stores every finished chunk: if the job hits its time limit, resubmitting the
# same script resumes where it stopped (a run with other inputs is refused, not mixed in).
#
#SBATCH --job-name=wannorb-hall
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=4          # MPI ranks
#SBATCH --cpus-per-task=8            # numba threads per rank
#SBATCH --mem=16G
#SBATCH --time=02:00:00
#SBATCH --output=%x-%j.out
#SBATCH --requeue                    # a requeued job resumes from the checkpoint
set -euo pipefail

SYSTEM=${SYSTEM:-Pt}                 # built-in model, shipped material or a data folder
NK=${NK:-64}
RUN=${RUN:-hall-${SYSTEM}-nk${NK}}   # the checkpoint and the JSON live here
EXTRA=${EXTRA:-}                     # more `wannorb hall` options, e.g. "--filling 2" for pcubic

# module load python/3.11            # site specific: the Python with wannorb installed
# source ~/venvs/wannorb/bin/activate

export NUMBA_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1   # numba is the one level of threads
# numba compiles its kernels once into __pycache__ beside the package; on a read-only install
# give it a writable cache shared by the ranks
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-$HOME/.cache/wannorb-numba}

mkdir -p "$RUN"
echo "wannorb hall $SYSTEM nk=$NK on ${SLURM_NTASKS:-1} ranks x $NUMBA_NUM_THREADS threads ($(hostname), job ${SLURM_JOB_ID:-none})"

# shellcheck disable=SC2086  # EXTRA is a list of words
# mpiexec of the MPI that mpi4py was built against (the `mpich` wheel that wannorb depends on);
# with a site MPI and mpi4py built on it, `srun --mpi=pmix wannorb hall ...` works the same way.
mpiexec -n "${SLURM_NTASKS:-1}" \
    wannorb hall "$SYSTEM" --nk "$NK" --kT 0.05 \
        --checkpoint "$RUN/ckpt" --output "$RUN/$SYSTEM.json" --no-progress $EXTRA

echo "done: $RUN/$SYSTEM.json"
