"""The k_z profile of σ^j_ik near a plane k_z = 0 at several SOI scales A, and its scaling with A.

Why. In Cr the Eq. (4) SHE minus the conserved SHE (an exact Fermi-sea term, docs/sweep.md
"Eq. (4) minus conserved") does not shrink ∝ A at small A, and the sweep's plane integrands put it
in a narrow feature at the mirror plane k_z = 0. If that feature has the form s(k_z; A) =
g(k_z/A)/A, its integral does not depend on A: a λ⁰ term. This script computes the sweep's own plane
integrals (``wannorb.sweep.plane_profile``, same in-plane rule and settings) on planes graded in
u = k_z/A, so the same u-grid serves every A and a collapse of A·s against u is visible directly.

    mpiexec -n 2 python examples/kz_profile.py Cr --soc-scales 0.003,0.01,0.03 --kT 0.05 \\
        --degen-tol 1e-4 --plane-grid 48 --plane-levels 16 --plane-velocity 10 --plane-flatness 0.1 \\
        --u-min 0.01 --u-max 12 --ratio 1.2 --output cr_kz0.json --plot cr_kz0.png

Quadrature of the window W = 2 ∫_0^{A u_last} s dk_z (u_last the last node, ≥ u_max) (2: the planes k_z and −k_z, which time reversal
makes equal): the trapezoid rule in ln u on the nodes u_min·r^j, plus u_min·s(u_min) for [0, u_min];
the error estimate is |fine − every-other-node| plus that first piece.

Units: k_z in 1/Å, u = k_z/A in 1/Å, s in (ħ/e) S/cm·Å, W in (ħ/e) S/cm, μ, kT, degen_tol in eV.
"""
import argparse
import json
import sys

import numpy as np


def nodes(u_min, u_max, ratio):
    n = int(np.ceil(np.log(u_max / u_min) / np.log(ratio) - 1e-9)) + 1     # the last node >= u_max
    u = u_min * ratio ** np.arange(n)
    if (n - 1) % 2:             # an even number of intervals, so every other node is a coarser rule
        u = np.append(u, u[-1] * ratio)
    return u


def window(u, s, A):
    """(W, error) of 2 ∫ s dk_z over [0, A·u[-1]], s sampled at k_z = A·u (see module docstring)."""
    def trap(x, y):
        lx = np.log(x)
        return np.sum(0.5 * (y[1:] * x[1:] + y[:-1] * x[:-1]) * np.diff(lx))
    head = u[0] * s[0]
    fine = trap(u, s) + head
    coarse = trap(u[::2], s[::2]) + head
    return 2 * A * fine, 2 * A * (abs(fine - coarse) + abs(head))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("system")
    ap.add_argument("--soc-scales", required=True, metavar="A1,A2,...")
    ap.add_argument("--mu", type=float, default=None, help="eV (default: the data's E_F)")
    ap.add_argument("--kT", type=float, default=0.05, help="eV")
    ap.add_argument("--degen-tol", type=float, default=1e-4, help="eV")
    ap.add_argument("--degen-tol-over-A", type=float, default=None, metavar="R",
                    help="use degen_tol = R·A eV at each A instead (the same broadening relative to the "
                         "SOI gaps at every A, as a collapse test needs)")
    ap.add_argument("--component", default="zxy")
    ap.add_argument("--plane-grid", type=int, default=48)
    ap.add_argument("--plane-levels", type=int, default=16)
    ap.add_argument("--plane-velocity", type=float, default=10.0, help="eV·Å")
    ap.add_argument("--plane-flatness", type=float, default=0.1)
    ap.add_argument("--plane-max-points", type=int, default=2_000_000,
                    help="per-plane cap on k-points (a capped plane is flagged and its bound reported)")
    ap.add_argument("--u-min", type=float, default=0.01, help="first node of k_z/A, 1/Å")
    ap.add_argument("--u-max", type=float, default=12.0, help="window end in k_z/A, 1/Å")
    ap.add_argument("--ratio", type=float, default=1.2, help="ratio of neighbouring nodes in u")
    ap.add_argument("--collapse", default="0.5,0", metavar="P,Q",
                    help="right panel: A^-q·s against k_z/A^p (default 0.5,0: a point feature with a quadratic "
                         "dispersion; 1,-1 for a tube of width ∝ A carrying a λ⁰ part)")
    ap.add_argument("--from-json", metavar="IN.json", help="only redo the table and plot of an earlier run")
    ap.add_argument("--output", required=True, metavar="OUT.json")
    ap.add_argument("--plot", metavar="PNG")
    a = ap.parse_args(argv)
    try:
        a.collapse = tuple(float(x) for x in a.collapse.split(","))
        assert len(a.collapse) == 2
    except (ValueError, AssertionError):
        sys.exit(f"error: --collapse needs two numbers P,Q, got {a.collapse!r}")
    if a.from_json:
        try:
            old = json.load(open(a.from_json))
            scales, u, profiles = old["soc_scales"], np.asarray(old["u_invA"]), old["profiles"]
        except (OSError, ValueError, KeyError) as e:
            sys.exit(f"error: cannot read {a.from_json}: {e}")
        report(a, scales, u, profiles)
        return 0

    from wannorb import api, sweep
    from wannorb.commands.common import mpi_runner
    from wannorb.errors import InputError
    try:
        scales = [float(x) for x in a.soc_scales.split(",")]
        if not (0 < a.u_min < a.u_max) or not a.ratio > 1:
            raise InputError("need 0 < --u-min < --u-max and --ratio > 1")
        system = api.load_system(a.system)
        runner, root = mpi_runner()
        u = nodes(a.u_min, a.u_max, a.ratio)
        if a.plane_max_points < 1:
            raise InputError("--plane-max-points must be >= 1")
        planes = dict(grid=a.plane_grid, levels=a.plane_levels, velocity=a.plane_velocity, flatness=a.plane_flatness,
                      max_points=a.plane_max_points)
        if a.degen_tol_over_A is not None and not a.degen_tol_over_A > 0:
            raise InputError("--degen-tol-over-A must be > 0")
        profiles = []
        for A in scales:
            tol = a.degen_tol if a.degen_tol_over_A is None else a.degen_tol_over_A * A
            profiles.append(sweep.plane_profile(system, A, A * u, mu=a.mu, kT=a.kT, degen_tol=tol,
                                                component=a.component, planes=planes, chunk_runner=runner,
                                                progress=root))
            if root:        # a killed run keeps the scales it finished
                report(a, scales[:len(profiles)], u, profiles, quiet=True)
    except (InputError, ValueError) as e:
        sys.exit(f"error: {e}")
    if root:
        report(a, scales, u, profiles)
    return 0


def report(a, scales, u, profiles, quiet=False):
    """Window integrals per A, the table (unless quiet), the JSON and the plot."""
    out = dict(system=a.system, soc_scales=scales, u_invA=u.tolist(), profiles=profiles, windows={},
               units={"u_invA": "k_z/A in 1/Angstrom", "windows": "(hbar/e) S/cm: 2 * integral of density over "
                      "0 <= k_z <= A*u_invA[-1], value, error (quadrature) and unresolved (capped cells' bound)", "profiles": "see profiles[i].units"})
    methods = list(profiles[0]["density"])
    quantities = list(profiles[0]["density"][methods[0]])
    rows = []
    for A, p in zip(scales, profiles):
        dens = {m: {q: np.asarray(p["density"][m][q]) for q in quantities} for m in methods}
        if "eq4" in dens and "conserved" in dens:
            dens["eq4-conserved"] = {q: dens["eq4"][q] - dens["conserved"][q] for q in quantities}
        w = {m: {q: dict(zip(("value", "error"), map(float, window(u, dens[m][q], A)))) for q in quantities}
             for m in dens}
        for m in methods:       # the planes' bound on what their capped cells may hold, over the window
            for q in quantities:
                w[m][q]["unresolved"] = float(window(u, np.asarray(p["unresolved"][m][q]), A)[0])
        out["windows"][repr(A)] = w
        rows.append((A, w, sum(p["n_points"]), any(p["capped"])))
    with open(a.output, "w") as f:
        json.dump(out, f, indent=1)
    if quiet:
        return
    c = out["profiles"][0]["component"]
    print(f"{a.system}: window 0 <= |k_z| <= A*{u[-1]:.3g} 1/Angstrom of sigma^{c[0]}_{c[1:]}, (hbar/e) S/cm "
          f"(kT {a.kT:g} eV, {len(u)} planes per A)")
    for q in quantities:
        print(f"  {q}:")
        for (A, w, npts, capped), p in zip(rows, profiles):
            cells = "  ".join(f"{m} {w[m][q]['value']:+.4g} ± {w[m][q]['error']:.2g}"
                              + (f" (unresolved <= {w[m][q]['unresolved']:.2g})" if w[m][q].get("unresolved") else "")
                              for m in w)
            print(f"    A = {A:<6g} degen_tol {p['degen_tol']:.2g} eV  {cells}   "
                  f"({npts} k-points{', capped planes' if capped else ''})")
    print(f"wrote {a.output}")
    if a.plot:
        plot(out, a.plot, *a.collapse)
        print(f"wrote {a.plot}")


def plot(out, path, cp=0.5, cq=0.0):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    u = np.asarray(out["u_invA"])
    quantities = list(out["profiles"][0]["density"]["eq4"])
    fig, axes = plt.subplots(len(quantities), 2, figsize=(11, 3.6 * len(quantities)), squeeze=False)
    for r, q in enumerate(quantities):
        for A, prof in zip(out["soc_scales"], out["profiles"]):
            d = np.asarray(prof["density"]["eq4"][q]) - np.asarray(prof["density"]["conserved"][q])
            w = out["windows"][repr(A)]["eq4-conserved"][q]
            axes[r, 0].plot(A * u, d, "o-", ms=3, label=f"A = {A:g} (window {w['value']:+.3g} ± {w['error']:.2g})")
            axes[r, 1].plot(A * u / A ** cp, d / A ** cq, "o-", ms=3, label=f"A = {A:g}")
        axes[r, 0].set(xscale="log", xlabel="k_z (1/Å)", ylabel="s_eq4 − s_cons ((ħ/e) S/cm·Å)",
                       title=f"{out['system']} {q}: Eq. (4) − conserved per plane")
        axes[r, 1].set(xscale="log", xlabel=f"k_z / A^{cp:g}", ylabel=f"(s_eq4 − s_cons) / A^{cq:g}",
                       title=f"collapse if s = A^{cq:g} g(k_z/A^{cp:g}): window ∝ A^{cp + cq:g}")
        for ax in axes[r]:
            ax.axhline(0, color="0.6", lw=0.6)
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
