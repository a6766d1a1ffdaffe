"""Benchmark of `wannorb sweep --refine uniform`: symmetry-reduced mesh passes against the full
mesh, in the same run, run by hand (not in CI).

    python benchmarks/bench_sweep.py [--system Cr] [--nk 32] [--scales 0.1,1] [--repeat 2]

One core (numba and BLAS threads pinned to 1), fixed μ = E_F, Γ = 10 meV, twin meshes N and 2N
(nk_max = 2N). Prints CPU seconds for `symmetry=True` (the default) and `symmetry=False`, their
ratio, the reduction of the mesh, and the largest difference of σ^z_xy between the two (they must
agree to rounding; tests/test_sweep.py checks it on pcubic).
"""
import argparse
import os
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

from wannorb import api, sweep  # noqa: E402


def run(system, scales, nk, symmetry):
    t = time.process_time()
    d = sweep.sweep(system, scales, kT=0.05, nk=nk, nk_max=2 * nk, refine="uniform", degen_tol=0.01,
                    rtol=1e-12, symmetry=symmetry, progress=False)
    return time.process_time() - t, d


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--system", default="Cr")
    p.add_argument("--nk", type=int, default=32)
    p.add_argument("--scales", default="0.1,1")
    p.add_argument("--repeat", type=int, default=2)
    a = p.parse_args()
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
