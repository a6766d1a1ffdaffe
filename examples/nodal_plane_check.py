"""The census's line constant against the full-zone Eq. (4) OHE at finite A, plane by plane.

Reads one or more ``wannorb nodal ... --plane-check A1,A2,...`` JSON files of the same system, μ, kT
and planes (they may hold different scales A), and shows how the whole-plane Fermi-sea sums σ(A)
approach the census's A → 0 value: a table of σ(A) and σ(A) − census per plane and in total, the
local exponent of σ(A) − census between neighbouring scales, and two extrapolations to A → 0 that
do not use the census (a quadratic through the three smallest scales, and the form
σ0 + c·A/(1 + A/A_c) fitted to all of them, with its standard errors). The plot: left, σ(A) with
the census line and the extrapolations; right, the per-plane sums vs k_z for every A and the census.

    wannorb nodal Pt --planes 16 --kT 0.05 --plane-check 0.2,0.1,0.05 --plane-grid 128 \\
        --plane-levels 9 --plane-degen-tol 1e-3 --output pt_a.json
    wannorb nodal Pt --planes 16 --kT 0.05 --plane-check 0.025,0.0125 --plane-grid 64 \\
        --plane-levels 13 --plane-degen-tol 1e-4 --output pt_b.json
    python examples/nodal_plane_check.py pt_a.json pt_b.json --plot pt_plane_check.png \\
        [--output summary.json]

Units: σ in (ħ/e) S/cm, per-plane sums dimensionless (as the census JSON), k_z in 1/Å.
"""
import argparse
import json
import sys

import numpy as np


def load(paths):
    """Merge the plane_check blocks: (first census dict, {A: per-plane array}, {A: σ}, {A: settings})."""
    base, planes, sigma, setting = None, {}, {}, {}
    for p in paths:
        try:
            d = json.load(open(p))
        except (OSError, ValueError) as e:
            sys.exit(f"error: cannot read {p}: {e}")
        pc = d.get("plane_check")
        if not pc:
            sys.exit(f"error: {p} has no plane_check block (run wannorb nodal with --plane-check)")
        if base is None:
            base = d
        elif d["plane_kz"] != base["plane_kz"] or abs(d["mu"] - base["mu"]) > 1e-9 or d["system"] != base["system"]:
            sys.exit(f"error: {p} is not the same system, μ and planes as {paths[0]}")
        for A, v in pc["plane_sum"].items():
            planes[float(A)] = np.asarray(v, float)
            sigma[float(A)] = float(pc["sigma"][A])
            setting[float(A)] = dict(grid=pc["grid"], levels=pc.get("levels"), degen_tol=pc["degen_tol"],
                                     sigma_half_grid=pc["sigma_half_grid"][A],
                                     unresolved=pc.get("unresolved_total", {}).get(A), file=p)
    return base, planes, sigma, setting


def extrapolate(As, s):
    """Two A → 0 extrapolations of σ(A) (no census input): quadratic through the three smallest A,
    and σ0 + c A/(1 + A/A_c) by least squares over all A (with standard errors)."""
    out = {}
    if len(As) >= 3:
        x = np.asarray(As[:3])
        out["quadratic_3_smallest"] = float(np.polyfit(x, [s[a] for a in x], 2)[-1])
    if len(As) >= 4:
        from scipy.optimize import curve_fit
        x = np.asarray(As)
        y = np.array([s[a] for a in As])
        f = lambda A, s0, c, Ac: s0 + c * A / (1 + A / Ac)          # noqa: E731
        slope = (y[1] - y[0]) / (x[1] - x[0])
        try:
            p, cov = curve_fit(f, x, y, p0=[y[0] - slope * x[0], slope, x[len(x) // 2]], maxfev=20000)
            out["pade"] = dict(sigma0=float(p[0]), c=float(p[1]), A_c=float(p[2]),
                               stderr=[float(e) for e in np.sqrt(np.diag(cov))],
                               residuals=[float(r) for r in y - f(x, *p)])
        except RuntimeError:
            out["pade"] = None
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("census", nargs="+", help="wannorb nodal JSON files with plane_check blocks")
    ap.add_argument("--plot", help="PNG")
    ap.add_argument("--output", help="summary JSON")
    a = ap.parse_args(argv)
    base, planes, sigma, setting = load(a.census)
    As = sorted(planes)
    kz = np.asarray(base["plane_kz"], float)
    cen = np.zeros(len(kz))                      # per plane as the prediction sums it (C_topo if flagged)
    for q in base["piercings"]:
        j = q["kz_index"]
        v = q["weight"] * (q["C_topo"] if q.get("flags") else q["C"])
        cen[j] += v
        if base["settings"]["time_reversal"]:
            cen[len(kz) - 1 - j] += v
    pred = float(base["prediction"])
    print(f"# {base['system']}: μ = {base['mu']:.6f} eV, kT = {base['settings']['kT']} eV, "
          f"{len(kz)} planes; census (A → 0) = {pred:.1f} (ħ/e) S/cm")
    print("\n| A | σ(A) (ħ/e) S/cm | from the half base grid | σ(A) − census | local exponent of σ − census | "
          "grid, levels, degen_tol (eV) |")
    print("|---|---|---|---|---|---|")
    prev = None
    for A in As:
        d = sigma[A] - pred
        expo = "" if prev is None or d * prev[1] <= 0 else f"{np.log(d / prev[1]) / np.log(A / prev[0]):.2f}"
        st = setting[A]
        print(f"| {A:g} | {sigma[A]:.1f} | {st['sigma_half_grid']:.1f} | {d:+.1f} | {expo} | "
              f"{st['grid']}², {st['levels']}, {st['degen_tol']:g} |")
        prev = (A, d)
    ex = extrapolate(As, sigma)
    print("\nA → 0 without the census: "
          + "; ".join([f"quadratic through the 3 smallest A: {ex['quadratic_3_smallest']:.1f}"] if "quadratic_3_smallest" in ex else [])
          + (f"; σ0 + cA/(1 + A/A_c): σ0 = {ex['pade']['sigma0']:.1f} ± {ex['pade']['stderr'][0]:.1f}, "
             f"c = {ex['pade']['c']:.4g}, A_c = {ex['pade']['A_c']:.3g}" if ex.get("pade") else "")
          + f" (ħ/e) S/cm; census {pred:.1f}")
    done = sorted({info["kz_index"] for info in base["planes"]})
    print("\nper plane (computed planes; the rest by k_z → −k_z):")
    print("| k_z (1/Å) | census | " + " | ".join(f"A = {A:g}" for A in As) + " |")
    print("|---|---|" + "---|" * len(As))
    for j in done:
        print(f"| {kz[j]:.4f} | {cen[j]:.2f} | " + " | ".join(f"{planes[A][j]:.2f}" for A in As) + " |")
    if a.output:
        json.dump(dict(system=base["system"], mu=base["mu"], census=pred, soc_scales=As,
                       sigma=[sigma[A] for A in As], extrapolation=ex, settings={f"{A:g}": setting[A] for A in As},
                       units={"sigma, census, extrapolation": "(hbar/e) S/cm", "mu": "eV"}),
                  open(a.output, "w"), indent=1)
    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
        a1.plot(As, [sigma[A] for A in As], "o-", label="whole planes, finite A (adaptive)")
        a1.axhline(pred, color="k", ls="--", label=f"census, A → 0: {pred:.0f}")
        if ex.get("pade"):
            x = np.linspace(0, max(As), 200)
            p = ex["pade"]
            a1.plot(x, p["sigma0"] + p["c"] * x / (1 + x / p["A_c"]), ":",
                    label=f"σ0 + cA/(1+A/A_c), σ0 = {p['sigma0']:.0f} ± {p['stderr'][0]:.0f}")
        a1.set_xlabel("spin-orbit scale A")
        a1.set_ylabel("σ^z_xy (Eq. (4), orbital), (ħ/e) S/cm")
        a1.set_xlim(left=0)
        a1.set_title(f"{base['system']}, μ = {base['mu']:.4f} eV, {len(kz)} k_z planes", fontsize=10)
        a1.legend(fontsize=8)
        a2.plot(kz[done], cen[done], "ko-", lw=2, label="census (A → 0)")
        for A in As:
            a2.plot(kz[done], planes[A][done], ".:", label=f"A = {A:g}")
        a2.set_xlabel("k_z (1/Å)")
        a2.set_ylabel("per-plane sum (dimensionless)")
        a2.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(a.plot, dpi=120)
        print(f"wrote {a.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
