"""The contribution of a small cube around one k-point to σ^j_ik, against the SOI scale A.

Why. At a point where the spinless bands hold an orbital triplet (Γ₂₅' of bcc Cr, 0.84 eV below
E_F), the spin-orbit coupling A·ξ competes with a quadratic dispersion c k², so the states rotate
on the scale k_A = √(Aξ/c) and the Eq. (4) integrands near the point scale as A^(1/2) instead of A
(docs/sweep.md, "Cr: the Γ triplet"). This script tests such a law without the sweep's planes: it
sums Σ_n f(ε_n − μ) Ω_n on a uniform midpoint grid n×n×n filling the cube |k − k0|_∞ < L with
L = s·K·A^p (K in 1/Å, the sizes s given), and prints D(A, s) and D(A, s)/A^p: if the feature
follows the power p, D/A^p is the same at every small A for each s, and the limit s → ∞ is the
feature's whole contribution (D(s) → D∞ − κ/s from the 1/k⁴ tail of the integrand; the
extrapolation through the two largest s is printed).

    python examples/point_scaling.py Cr --soc-scales 0.001,0.003,0.01,0.03,0.1 --power 0.5 \\
        --scale 0.12 --sizes 2,4,8 --n 64 --degen-tol-over-A 0.01 --output cr_gamma.json --plot cr_gamma.png

The grid points are those of ``wannorb.planequad`` (folded H(R) per plane k_z = const, the sweep's
per-state integrand kernel), but the quadrature is a plain uniform 3D rule, so it is an
independent route to the sweep's plane integrals near k0. σ = PREFACTOR · h³ Σ_points Σ_n f Ω_n,
PREFACTOR = (e²/ħ)/(8π³) (σ = (e²/ħ)∫d³k/(2π)³ Ω).

Units: k in 1/Å, K in 1/Å, D in (ħ/e) S/cm, μ, kT, degen_tol in eV.
"""
import argparse
import json
import sys
import time

import numpy as np


def box_sum(system, A, k0, L, n, mu, kT, tol, comp, Xops, midx):
    """PREFACTOR·h_x h_y h_z·Σ over the n³ midpoints of the box |k_a − k0_a| < L_a (L: 3 half-sides,
    1/Å) of Σ_n f Ω_n, shape (methods, quantities), (ħ/e) S/cm."""
    from wannorb import bloch, planequad as pq
    from wannorb.hall import fermi_dirac
    from wannorb.kernels.hall import allocate_component_outputs, hall_component
    from wannorb.spinless import slicing_geometry
    P = slicing_geometry(system.lattice)["periods"]
    HR = system.H0 + A * system.Hsoc
    L = np.asarray(L, float)
    h = 2 * L / n
    x, y, zs = (-L[a] + (np.arange(n) + 0.5) * h[a] for a in range(3))
    kx, ky = np.meshgrid(k0[0] + x, k0[1] + y, indexing="ij")
    kxy = np.column_stack([kx.ravel(), ky.ravel()])
    j, i, k = comp
    Xj = np.ascontiguousarray(Xops[:, j])
    total = np.zeros((len(midx), len(Xops)))
    for z in k0[2] + zs:
        folded = pq.fold(system.R_cart, HR, P, z, z_derivative=2 in (i, k))
        H, dH = pq.points_hk(kxy, z, folded, system.centres)
        kk = np.column_stack([kxy, np.full(len(kxy), z)])
        phase = bloch.centre_phases(kk, system.centres)
        E, omega, gap = allocate_component_outputs(len(H), system.num_wann, len(Xops))
        hall_component(np.ascontiguousarray(H), np.ascontiguousarray(dH), phase, Xj, i, k, float(tol), E, omega, gap)
        total += (omega[:, midx] * fermi_dirac(E, mu, kT)[:, None, None, :]).sum(axis=(0, 3))
    return pq.PREFACTOR * np.prod(h) * total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("system")
    ap.add_argument("--point", default="0,0,0", help="k0, Cartesian 1/Å (default Γ)")
    ap.add_argument("--soc-scales", required=True, metavar="A1,A2,...")
    ap.add_argument("--power", type=float, default=0.5, help="p: the cube's half-side is s·K·A^p")
    ap.add_argument("--scale", type=float, default=0.1, help="K in 1/Å")
    ap.add_argument("--sizes", default="2,4,8", help="s values")
    ap.add_argument("--line-axis", choices=("x", "y", "z"), default=None,
                    help="a tube instead of a cube: along this axis the box has the fixed half-length "
                         "--line-half-length (for a degenerate line through k0)")
    ap.add_argument("--line-half-length", type=float, default=None, help="1/Å")
    ap.add_argument("--n", default="64", metavar="N[,N2,...]",
                    help="points per axis (even); one per size to keep the spacing fixed, so that nested "
                         "cubes share their points and D(s2) - D(s1) is exactly the shell between them")
    ap.add_argument("--mu", type=float, default=None, help="eV (default: the data's E_F)")
    ap.add_argument("--kT", type=float, default=0.05, help="eV")
    ap.add_argument("--degen-tol", type=float, default=1e-4, help="eV")
    ap.add_argument("--degen-tol-over-A", type=float, default=None, metavar="R", help="degen_tol = R·A eV instead")
    ap.add_argument("--component", default="zxy")
    ap.add_argument("--output", required=True, metavar="OUT.json")
    ap.add_argument("--plot", metavar="PNG")
    a = ap.parse_args(argv)

    from wannorb import api
    from wannorb.errors import InputError
    from wannorb.hall import METHODS, QUANTITIES, operator_stack
    from wannorb.sweep import parse_component
    try:
        scales = [float(v) for v in a.soc_scales.split(",")]
        sizes = [float(v) for v in a.sizes.split(",")]
        ns = [int(v) for v in a.n.split(",")]
        ns = ns * len(sizes) if len(ns) == 1 else ns
        if len(ns) != len(sizes):
            raise InputError(f"--n needs one value or one per size ({len(sizes)}), got {len(ns)}")
        k0 = np.array([float(v) for v in a.point.split(",")])
        if len(k0) != 3 or not np.all(np.isfinite(k0)):
            raise InputError("--point needs three numbers (1/Angstrom)")
        if any(not s > 0 for s in scales + sizes) or not a.scale > 0 or any(n < 2 or n % 2 for n in ns):
            raise InputError("scales, sizes and --scale must be > 0, --n even and >= 2")
        if (a.degen_tol_over_A is not None and not a.degen_tol_over_A > 0) or not a.degen_tol > 0:
            raise InputError("--degen-tol and --degen-tol-over-A must be > 0")
        if a.line_axis and not (a.line_half_length or 0) > 0:
            raise InputError("--line-axis needs --line-half-length > 0")
        comp = parse_component(a.component)
        system = api.load_system(a.system)
        mu = system.fermi_energy if a.mu is None else a.mu
        if mu is None:
            raise InputError(f"{a.system} has no Fermi energy in its data: give --mu")
    except (InputError, ValueError) as e:
        sys.exit(f"error: {e}")
    Xops = operator_stack(system, QUANTITIES)
    midx = [METHODS.index(m) for m in METHODS]
    rows = []
    from tqdm import tqdm
    bar = tqdm(total=len(scales) * len(sizes), desc="cubes", unit="cube")
    for A in scales:
        tol = a.degen_tol if a.degen_tol_over_A is None else a.degen_tol_over_A * A
        for s, n in zip(sizes, ns):
            L = np.full(3, s * a.scale * A ** a.power)
            if a.line_axis:
                L["xyz".index(a.line_axis)] = a.line_half_length
            t = time.time()
            D = box_sum(system, A, k0, L, n, mu, a.kT, tol, comp, Xops, midx)
            rows.append(dict(A=A, size=s, n=n, half_sides_invA=L.tolist(), degen_tol=tol, wall_time_s=time.time() - t,
                             D={m: {q: float(D[im, iq]) for iq, q in enumerate(QUANTITIES)} for im, m in enumerate(METHODS)}))
            bar.update()
    bar.close()
    for r in rows:
        r["D"]["eq4-conserved"] = {q: r["D"]["eq4"][q] - r["D"]["conserved"][q] for q in QUANTITIES}
    out = dict(system=a.system, point_invA=k0.tolist(), line_axis=a.line_axis, line_half_length_invA=a.line_half_length, mu=mu, kT=a.kT, component=a.component, power=a.power,
               scale_invA=a.scale, n=ns, rows=rows,
               units={"D": "(hbar/e) S/cm: contribution of the cube to sigma", "half_sides_invA": "1/Angstrom (x, y, z)",
                      "point_invA": "1/Angstrom", "mu": "eV", "kT": "eV", "degen_tol": "eV"})
    with open(a.output, "w") as f:         # before the table: nothing computed is lost to a print
        json.dump(out, f, indent=1)
    c = a.component
    shape = f"tube along {a.line_axis} (half-length {a.line_half_length:g} 1/Angstrom)" if a.line_axis else "cube"
    print(f"{a.system}: {shape} around k0 = {k0.tolist()} 1/Angstrom, half-side s*{a.scale:g}*A^{a.power:g} 1/Angstrom, "
          f"n^3 points, n = {', '.join(map(str, ns))}; sigma^{c[0]}_{c[1:]} parts D in (hbar/e) S/cm (kT {a.kT:g} eV, mu {mu:.4f} eV)")
    for q in QUANTITIES:
        for m in ("eq4-conserved", "eq4", "conserved", "conventional"):
            print(f"  {q} {m}:  D/A^{a.power:g} per A (columns: s = {', '.join(f'{s:g}' for s in sizes)}; "
                  f"then s -> inf through the two largest)")
            for A in scales:
                v = [r["D"][m][q] / A ** a.power for r in rows if r["A"] == A]
                ext = ""
                if len(sizes) >= 2 and sizes[-1] != sizes[-2]:
                    s1, s2 = sizes[-2], sizes[-1]
                    ext = f"   -> {(s2 * v[-1] - s1 * v[-2]) / (s2 - s1):+.4g}"
                print(f"    A = {A:<7g}" + "".join(f" {x:+11.4g}" for x in v) + ext)
    print(f"wrote {a.output}")
    if a.plot:
        plot(out, a.plot)
        print(f"wrote {a.plot}")
    return 0


def plot(out, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows, p = out["rows"], out["power"]
    cubes = sorted({(r["size"], r.get("n")) for r in rows}, key=lambda c: (c[0], c[1] or 0))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, q in zip(axes, ("spin", "orbital")):
        for s, n in cubes:
            sel = [r for r in rows if (r["size"], r.get("n")) == (s, n)]
            A = np.array([r["A"] for r in sel])
            tag = f"s = {s:g}" + (f", n = {n}" if n else "")
            ax.plot(A, [r["D"]["eq4-conserved"][q] / r["A"] ** p for r in sel], "o-", label=f"Eq. (4) − conserved, {tag}")
            ax.plot(A, [r["D"]["conserved"][q] / r["A"] ** p for r in sel], "s--", ms=3, label=f"conserved, {tag}")
        ax.set(xscale="log", xlabel="A", ylabel=f"D / A^{p:g}  ((ħ/e) S/cm)")
        ax.set_title(f"{out['system']} {q}: {'tube along ' + out['line_axis'] if out.get('line_axis') else 'cube'}, "
                     f"half-side s·{out['scale_invA']:g}·A^{p:g} Å⁻¹ at {out['point_invA']}", fontsize=9)
        ax.axhline(0, color="0.6", lw=0.6)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
