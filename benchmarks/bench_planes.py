"""Benchmark of the plane quadrature's H(k) on a plane (``wannorb.planequad``), run by hand (not in CI).

    python benchmarks/bench_planes.py [--systems Pt,Ti,pcubic] [--points 4096] [--repeat 3]

On the same random in-plane points of one plane, one core (numba and BLAS threads pinned to 1):

  paired     planequad.fold + points_hk: ±p pairs, real products on the upper triangles (the default)
  plain      the same fold as one complex product e^{ik·p} B_p over every translation p (the form
             non-Hermitian data fall back to)
  direct     bloch.hk_direct: the Bloch sum over all R-vectors, no folding (the peer)
  kernel     the Hall kernel (all methods, spin + orbital, all 27 components) on those H(k)
  component  the one-component kernel (hall_component, σ^z_xy) the plane quadrature calls, same H(k)

and prints milliseconds per k-point and the ratios plain / paired, direct / paired and
kernel / component. Timings are
the best of --repeat runs after a warm-up (the machine may be shared).
"""
import argparse
import os
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

from wannorb import api, bloch, planequad as pq, spinless  # noqa: E402
from wannorb.hall import operator_stack  # noqa: E402
from wannorb.kernels.hall import allocate_component_outputs, allocate_outputs, hall_component, hall_integrands  # noqa: E402


def best(fn, repeat):
    fn()
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def plain_form(f):
    """The direct-sum form of a paired fold (every p, complex)."""
    up, dn = (f.C - 1j * f.D) / 2, (f.C + 1j * f.D) / 2
    C = np.concatenate([up, dn, f.M0[None]])
    R = np.concatenate([f.Rxy, -f.Rxy, np.zeros((1, 2))])
    return pq.Folded(R, C, np.zeros((0, 0)), np.zeros(C.shape[1], complex), f.n_blocks, f.nw, False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", default="Pt,Ti,pcubic")
    ap.add_argument("--points", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print(f"{'system':>8} {'nw':>4} {'p':>5} {'paired':>10} {'plain':>10} {'direct':>10} {'kernel':>10}"
          f" {'component':>10} {'plain/paired':>13} {'direct/paired':>14} {'kernel/component':>17}   (ms per k-point)")
    for name in a.systems.split(","):
        m = api.load_system(name)
        P = spinless.slicing_geometry(m.lattice)["periods"]
        HR = m.H0 + 0.1 * m.Hsoc
        kz = 0.3
        f = pq.fold(m.R_cart, HR, P, kz)
        g = plain_form(f)
        kxy = np.random.default_rng(0).random((a.points, 2)) * P[:2]
        k3 = np.column_stack([kxy, np.full(len(kxy), kz)])
        X = operator_stack(m, ("spin", "orbital"))
        H, dH = pq.points_hk(kxy, kz, f, m.centres)
        phase = bloch.centre_phases(k3, m.centres)
        out = allocate_outputs(len(H), m.num_wann, len(X))
        out1 = allocate_component_outputs(len(H), m.num_wann, len(X))
        Xz = np.ascontiguousarray(X[:, 2])

        t_pair = best(lambda: pq.points_hk(kxy, kz, f, m.centres), a.repeat)
        t_plain = best(lambda: pq.points_hk(kxy, kz, g, m.centres), a.repeat)
        t_dir = best(lambda: bloch.hk_direct(k3, m.R_cart, HR, m.centres), a.repeat)
        t_ker = best(lambda: hall_integrands(H, dH, phase, X, 1e-5, *out), a.repeat)
        t_one = best(lambda: hall_component(H, dH, phase, Xz, 0, 1, 1e-5, *out1), a.repeat)
        ms = 1e3 / len(kxy)
        print(f"{name:>8} {m.num_wann:>4} {len(f.Rxy):>5} {t_pair * ms:>10.4f} {t_plain * ms:>10.4f} {t_dir * ms:>10.4f}"
              f" {t_ker * ms:>10.4f} {t_one * ms:>10.4f} {t_plain / t_pair:>13.2f} {t_dir / t_pair:>14.2f}"
              f" {t_ker / t_one:>17.2f}")


if __name__ == "__main__":
    main()
