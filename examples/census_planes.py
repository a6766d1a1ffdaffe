"""The sweep's planes on a census's own k_z planes: is a finite-A sweep point in the clean limit?

    python examples/census_planes.py CENSUS.json --runs 0.01:1e-6,0.01:1e-4 --output OUT.json [--plot OUT.png]

`wannorb nodal` (the census) gives the clean-limit Eq. (4) OHE as Σ over its k_z planes of the spinless
lines' piercing integrals C (nodal.py, Eq. (1)). This script integrates, on exactly those planes, the
whole plane's Fermi sea with the plane quadrature of `wannorb sweep --refine planes`
(`wannorb.sweep.plane_profile`: same grid, levels, velocity and flatness rules) at each requested SOI
scale A and degeneracy tolerance Γ, and sets the two side by side plane by plane. The k_z
discretization is then identical, so what is left is the physics of A and Γ:

* Γ ≪ every line's SOI gap (clean): each plane's integral must approach the census's value for that
  plane as A → 0 (the census is that limit);
* Γ above some lines' gaps (read as a broadening ħ/τ): those lines' two groups merge into one group and
  their contribution changes — the plane profile moves even where the total happens to move little.
  The census JSON's piercings carry each line's gap per unit A, so the script also prints the share of
  the census's ΣC·weight whose gap λA·(gap per A) falls below Γ — a hint only: it counts the census's
  lines, not every other pair of groups closer than Γ (Cr at A = 0.1, Γ = 0.1 meV: 0.1 % by this count,
  yet the plane profile moves by 16 %; docs/sweep.md, "Session 13").

The census's per-plane values are the ones its prediction sums (``plane_sum_prediction``: a flagged
disk's analytic C_topo in place of its integral); the output's ``census_column`` names the column used.

Units: densities (ħ/e) S/cm·Å (σ = ∫ density dk_z over one period g_z), σ in (ħ/e) S/cm, Γ in eV.
Planes k_z and g_z − k_z are equal by time reversal and inversion, so only the lower half is computed
when the census's planes are symmetric.
"""
import argparse
import json
import sys

import numpy as np


def parse_runs(text):
    runs = []
    for item in text.split(","):
        try:
            a, t = (float(x) for x in item.split(":"))
        except ValueError:
            raise ValueError(f"--runs needs A:GAMMA pairs (e.g. 0.01:1e-6), got {item!r}")
        if not (np.isfinite(a) and np.isfinite(t) and a > 0 and t > 0):
            raise ValueError(f"--runs: A and Γ must be positive numbers, got {item!r}")
        runs.append((a, t))
    return runs


def census_planes(census):
    """Per-plane Σ C·weight that the census's prediction sums, and the JSON column it came from.

    ``plane_sum_prediction`` (C_topo in place of a flagged disk's integral: nodal.py) when the census
    has it; older censuses only have ``plane_sum`` (disks) and ``plane_sum_topo`` (analytic): with flagged
    disks the analytic column is the one the prediction trusts there (Pt: the C3-axis node at
    k_z = 0.35 Å⁻¹, disk 50.2 against analytic 23.1; docs/sweep.md, session 7)."""
    if "plane_sum_prediction" in census:
        key = "plane_sum_prediction"
    elif "flagged" in str(census.get("prediction_source", "")) and "plane_sum_topo" in census:
        key = "plane_sum_topo"
    else:
        key = "plane_sum"
    return np.asarray(census[key], float), key


def dirty_share(census, A, tol):
    """Share of the census's Σ C·weight carried by piercings whose SOI gap at scale A is below tol."""
    ps = [p for p in census.get("piercings", []) if p.get("soc_gap_per_A") is not None and p.get("C") is not None]
    total = sum(p["C"] * p["weight"] for p in ps)
    below = sum(p["C"] * p["weight"] for p in ps if p["soc_gap_per_A"] * A < tol)
    n = sum(1 for p in ps if p["soc_gap_per_A"] * A < tol)
    return (below / total if total else None), n, len(ps)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("census", metavar="CENSUS.json", help="output of `wannorb nodal`")
    ap.add_argument("--runs", required=True, metavar="A:GAMMA,...", help="SOI scale and degeneracy tolerance (eV) pairs")
    ap.add_argument("--plane-grid", type=int, default=48)
    ap.add_argument("--plane-levels", type=int, default=16)
    ap.add_argument("--plane-velocity", type=float, default=10.0, help="eV·Å")
    ap.add_argument("--plane-flatness", type=float, default=0.1)
    ap.add_argument("--plane-max-points", type=int, default=2_000_000)
    ap.add_argument("--output", required=True, metavar="OUT.json")
    ap.add_argument("--plot", metavar="PNG")
    a = ap.parse_args(argv)
    from wannorb import api, planequad as pq, sweep
    from wannorb.commands.common import mpi_runner
    from wannorb.errors import InputError
    try:
        runs = parse_runs(a.runs)
        try:
            census = json.load(open(a.census))
            kz = np.asarray(census["plane_kz"], float)
            plane_sum, census_column = census_planes(census)
            g_z = float(census["geometry"]["g_z"])
            system_name, mu, comp = census["system"], float(census["mu"]), census["component"]
            kT = float(census["settings"]["kT"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise InputError(f"cannot read the census {a.census}: {e!r}")
        if census.get("quantity") != "orbital" or census.get("method") != "eq4":
            raise InputError(f"{a.census} is not an Eq. (4) orbital census")
        if a.plane_max_points < 1 or a.plane_grid < 2 or a.plane_levels < 0:
            raise InputError("need --plane-max-points >= 1, --plane-grid >= 2, --plane-levels >= 0")
        if not (np.isfinite(a.plane_velocity) and a.plane_velocity > 0):
            raise InputError(f"--plane-velocity must be a positive number (eV·Å), got {a.plane_velocity}")
        if not (np.isfinite(a.plane_flatness) and a.plane_flatness >= 0):
            raise InputError(f"--plane-flatness must be a number >= 0, got {a.plane_flatness}")
        params = {k: v for k, v in census.get("params", {}).items() if k != "source"}
        system = api.load_system(system_name, params=params or None)
        runner, root = mpi_runner()
        n = len(kz)
        symmetric = n % 2 == 0 and np.allclose(kz[: n // 2] + kz[::-1][: n // 2], g_z, atol=1e-9)
        use = kz[: n // 2] if symmetric else kz
        fold = 2.0 if symmetric else 1.0
        dk = g_z / n
        planes = dict(grid=a.plane_grid, levels=a.plane_levels, velocity=a.plane_velocity,
                      flatness=a.plane_flatness, max_points=a.plane_max_points)
        census_density = pq.PREFACTOR * plane_sum[: len(use)]
        out = dict(census=a.census, system=system_name, mu=mu, kT=kT, component=comp, kz_invA=use.tolist(),
                   plane_width_invA=dk, folded=bool(symmetric), census_column=census_column,
                   census_density=census_density.tolist(),
                   census_sigma=float(fold * census_density.sum() * dk), planes=planes, runs=[],
                   units={"kz_invA": "1/Angstrom", "plane_width_invA": "1/Angstrom", "mu": "eV", "kT": "eV",
                          "degen_tol": "eV", "census_density, runs[].density, runs[].unresolved_density":
                          "(hbar/e) S/cm * Angstrom", "census_sigma, runs[].sigma, runs[].unresolved": "(hbar/e) S/cm",
                          "dirty_share": "fraction of the census's sum C*weight from lines with SOI gap < degen_tol"})
        for A, tol in runs:
            p = sweep.plane_profile(system, A, use, mu=mu, kT=kT, degen_tol=tol, component=comp, methods=("eq4",),
                                    quantities=("orbital",), planes=planes, chunk_runner=runner, progress=root)
            d = np.asarray(p["density"]["eq4"]["orbital"])
            u = np.asarray(p["unresolved"]["eq4"]["orbital"])
            share, n_dirty, n_lines = dirty_share(census, A, tol)
            out["runs"].append(dict(A=A, degen_tol=tol, density=d.tolist(), unresolved_density=u.tolist(),
                                    sigma=float(fold * d.sum() * dk), unresolved=float(fold * u.sum() * dk),
                                    capped=p["capped"], n_points=p["n_points"], dirty_share=share,
                                    dirty_lines=n_dirty, census_lines=n_lines))
            if root:        # a killed run keeps the runs it finished
                with open(a.output, "w") as f:
                    json.dump(out, f, indent=1)
    except (InputError, ValueError) as e:
        sys.exit(f"error: {e}")
    if root:
        with open(a.output, "w") as f:
            json.dump(out, f, indent=1)
        report(out, a.plot)
        print(f"wrote {a.output}")
    return 0


def report(out, plot):
    c = out["component"]
    print(f"{out['system']}: Eq. (4) OHE sigma^{c[0]}_{c[1:]} on the census's {len(out['kz_invA']) * (2 if out['folded'] else 1)} "
          f"k_z planes, (hbar/e) S/cm (mu {out['mu']:.4f} eV, kT {out['kT']:g} eV); census {out['census_sigma']:.1f}")
    cen = np.asarray(out["census_density"])
    for r in out["runs"]:
        d = np.asarray(r["density"])
        dev = np.max(np.abs(d - cen)) / np.max(np.abs(cen))
        share = "n/a" if r["dirty_share"] is None else f"{100 * r['dirty_share']:.1f} %"
        print(f"  A = {r['A']:<6g} Gamma = {r['degen_tol']:<8g} eV: sigma {r['sigma']:.1f} ({100 * (r['sigma'] / out['census_sigma'] - 1):+.1f} % "
              f"of the census; unresolved <= {r['unresolved']:.3g}{', capped planes' if any(r['capped']) else ''}); "
              f"largest plane deviation {100 * dev:.1f} % of the largest plane; lines with gap < Gamma: "
              f"{r['dirty_lines']} of {r['census_lines']} ({share} of sum C*weight)")
    if plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.5))
        kz = np.asarray(out["kz_invA"])
        ax.plot(kz, cen, "ko-", lw=2, label=f"census (A → 0, clean): {out['census_sigma']:.0f}")
        for r in out["runs"]:
            ax.plot(kz, r["density"], "s--", ms=4, label=f"planes A = {r['A']:g}, Γ = {r['degen_tol']:g} eV: {r['sigma']:.0f}")
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set_xlabel("k_z (1/Å)")
        ax.set_ylabel("Eq. (4) OHE density per k_z [(ħ/e) S/cm·Å]")
        ax.set_title(f"{out['system']}: census planes, σ in (ħ/e) S/cm")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        plt.close(fig)
        print(f"wrote {plot}")


if __name__ == "__main__":
    sys.exit(main())
