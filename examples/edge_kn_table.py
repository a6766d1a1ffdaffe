"""Kn table of docs/edge.md: kinetic (exact Eq. (5) + Eq. (6)) vs hydrodynamic (Eqs. (8)-(10)).

Also measures the convergence: the largest change of j(y) on the common mesh points when all cells
are halved (refine 2 -> 3), and writes docs/img/edge_profiles.png. Run from the repository root:

    python examples/edge_kn_table.py
"""
import numpy as np
from tqdm import tqdm

from wannorb.edge import hydro
from wannorb.edge.compare import edge_comparison
from wannorb.edge.kinetic import MeshSpec, mean_current, solve_ribbon
from wannorb.edge.plot import plot_profiles

KNS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def main():
    rows, profiles = [], {}
    for kn in tqdm(KNS, desc="Kn table"):
        r = edge_comparison(kn, refine=2, progress=False)
        s = r["summary"]
        fine = solve_ribbon(kn, MeshSpec(refine=3))
        eta = np.array(r["y_over_lambda"])
        common = np.isin(fine.eta, eta)
        dj = np.abs(fine.j[common] - np.array(r["j_kinetic"])).max()
        dmean = abs(mean_current(fine) - s["j_mean_kinetic"])
        text = hydro.mean_current_closed(kn, hydro.SLIP_PAPER_TEXT)
        rows.append((kn, s["j_edge_kinetic"], s["j_edge_hydro"], s["j_mean_kinetic"], s["j_mean_hydro"], text,
                     s["half_ribbon_accumulation_kinetic"], s["half_ribbon_accumulation_hydro"], s["B"],
                     s["eq7_max_rel_deviation"], dj, dmean))
        profiles[kn] = r
    head = ("| Kn | j_edge kin | j_edge hydro | <j> kin | <j> hydro | <j> hydro c=4/(3π) | ∫₀^{W/2}L kin "
            "| ∫₀^{W/2}L hydro | B | Eq.(7) rel. dev. | Δj refine | Δ<j> refine |")
    print(head)
    print("|" + "---|" * 12)
    for row in rows:
        print("| " + " | ".join([f"{row[0]:g}"] + [f"{v:.5f}" for v in row[1:9]] +
                                [f"{v:.1e}" for v in row[9:]]) + " |")
    plot_profiles([profiles[k] for k in (0.05, 0.2, 1.0)], "docs/img/edge_profiles.png",
                  title="R-T ribbon: exact kinetic (solid) vs hydrodynamic Eqs. (9)-(10) (dashed)")


if __name__ == "__main__":
    main()
