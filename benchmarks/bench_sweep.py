"""Benchmark of `wannorb sweep --refine uniform`: symmetry-reduced mesh passes against the full
mesh, in the same run, run by hand (not in CI).

    python benchmarks/bench_sweep.py [--system Cr] [--nk 32] [--scales 0.1,1] [--repeat 2]
    python benchmarks/bench_sweep.py --adaptive-mpi [--system pcubic] [--nk 16] [--scales 0.05,0.5]

With --adaptive-mpi: the default adaptive mode (base mesh N³, twin N³ + N³ shifted, then 2N³ if
not converged) timed in one process and under `mpiexec -n 2` (wall time, best of --repeat after a
warm-up; pcubic at 2 electrons per cell, Pt-like systems at E_F), parallel efficiency T1 / (2 T2),
and whether σ is bit for bit the same.

One core (numba and BLAS threads pinned to 1), fixed μ = E_F, Γ = 10 meV, twin meshes N and 2N
(nk_max = 2N). Prints CPU seconds for `symmetry=True` (the default) and `symmetry=False`, their
ratio, the reduction of the mesh, and the largest difference of σ^z_xy between the two (they must
agree to rounding; tests/test_sweep.py checks it on pcubic).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")


from wannorb import api, sweep  # noqa: E402


def run(system, scales, nk, symmetry):
    t = time.process_time()
    d = sweep.sweep(system, scales, kT=0.05, nk=nk, nk_max=2 * nk, refine="uniform", degen_tol=0.01,
                    rtol=1e-12, symmetry=symmetry, progress=False)
    return time.process_time() - t, d


def adaptive_worker(a):
    """Inside (or outside) mpiexec: time the adaptive sweep with the MPI runner; rank 0 prints JSON."""
    from wannorb.parallel import MPIChunkRunner, launcher_comm
    comm = launcher_comm()
    runner = MPIChunkRunner(comm, pin=False) if comm is not None else None
    system = api.load_system(a.system)
    scales = [float(x) for x in a.scales.split(",")]
    kw = dict(kT=0.05, refine="adaptive", progress=False, chunk_runner=runner)
    kw.update(filling=2.0) if a.system == "pcubic" else kw.update(mu=float(system.fermi_energy))
    sweep.sweep(system, scales, nk=4, nk_max=4, **kw)             # warm-up: numba cache
    times = []
    for _ in range(a.repeat):
        if comm is not None:
            comm.Barrier()
        t = time.perf_counter()
        d = sweep.sweep(system, scales, nk=a.nk, nk_max=2 * a.nk, **kw)
        times.append(time.perf_counter() - t)
    if comm is None or comm.Get_rank() == 0:
        n = sum(m["n_evaluated_points"] for p in d["points"] for m in p["meshes"])
        print(json.dumps({"t": min(times), "sigma": d["sigma"], "k_points": n}))


def adaptive_mpi(a):
    cmd = [sys.executable, os.path.abspath(__file__), "--adaptive-worker", "--system", a.system, "--nk",
           str(a.nk), "--scales", a.scales, "--repeat", str(a.repeat)]
    from wannorb.parallel import LAUNCHER_VARS
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}   # a clean 1-rank baseline
    res = {}
    for ranks in (1, 2):
        c = cmd if ranks == 1 else [shutil.which("mpiexec"), "-n", "2"] + cmd
        out = subprocess.run(c, capture_output=True, text=True, env=env, check=True).stdout
        res[ranks] = json.loads(out.strip().splitlines()[-1])
    print(f"{a.system}: sweep --refine adaptive, scales {a.scales}, base {a.nk}³ (≤ {2 * a.nk}³ twins), "
          f"{res[1]['k_points']} k-points, one thread per rank")
    print(f"  1 rank : {res[1]['t']:8.2f} s wall")
    print(f"  2 ranks: {res[2]['t']:8.2f} s wall")
    print(f"  speed-up {res[1]['t'] / res[2]['t']:.2f}×, efficiency T1/(2 T2) = {res[1]['t'] / (2 * res[2]['t']):.0%};"
          f"  sigma identical: {res[1]['sigma'] == res[2]['sigma']}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--system", default=None, help="default Cr (pcubic with --adaptive-mpi)")
    p.add_argument("--nk", type=int, default=None, help="default 32 (16 with --adaptive-mpi)")
    p.add_argument("--scales", default=None, help="default 0.1,1 (0.05,0.5 with --adaptive-mpi)")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--adaptive-mpi", action="store_true", help="1 rank against mpiexec -n 2, adaptive mode")
    p.add_argument("--adaptive-worker", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    adaptive = a.adaptive_mpi or a.adaptive_worker
    a.system = a.system or ("pcubic" if adaptive else "Cr")
    a.nk = a.nk or (16 if adaptive else 32)
    a.scales = a.scales or ("0.05,0.5" if adaptive else "0.1,1")
    if a.adaptive_worker:
        return adaptive_worker(a)
    if a.adaptive_mpi:
        return adaptive_mpi(a)
    system = api.load_system(a.system)
    scales = [float(x) for x in a.scales.split(",")]
    run(system, scales, 8, True)                      # warm-up: numba cache
    best = {}
    for sym in (True, False):
        times = []
        for _ in range(a.repeat):
            t, d = run(system, scales, a.nk, sym)
            times.append(t)
        best[sym] = (min(times), d)
    diff = max(abs(x - y) for m in best[True][1]["sigma"] for q in best[True][1]["sigma"][m]
               for x, y in zip(best[True][1]["sigma"][m][q], best[False][1]["sigma"][m][q]))
    red = best[True][1]["points"][-1]["meshes"][0]["symmetry"]
    print(f"{a.system}: sweep --refine uniform, scales {scales}, meshes {a.nk}³ and {2 * a.nk}³ (twins), one core")
    print(f"  symmetry on : {best[True][0]:8.2f} s CPU  (mesh reduction {red.get('reduction') or 1:.1f}, "
          f"group order {red.get('group_order')})")
    print(f"  symmetry off: {best[False][0]:8.2f} s CPU")
    print(f"  ratio off/on: {best[False][0] / best[True][0]:.1f}×;  max |Δσ| = {diff:.2e} (hbar/e) S/cm")


if __name__ == "__main__":
    main()
