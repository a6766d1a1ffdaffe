"""Orbital edge accumulation of a Ti-like R-T ribbon in physical units (exact kinetic vs Eq. (10)).

Ti-like numbers: mean free path lambda = 7 nm, resistivity 60 µΩ cm, Fermi energy 5 eV, m* = m_e,
E = 1e5 V/m (J ~ 1.7e11 A/m^2), ribbon width W = 140 nm (Kn = 0.05). Writes
docs/img/edge_ti_like.png and prints edge/peak values. Run from the repository root:

    python examples/edge_ti_like.py
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from wannorb.edge.compare import edge_comparison  # noqa: E402
from wannorb.edge.units import physical_profile  # noqa: E402

EPS_F_EV, MASS, LAMBDA_NM, RHO_UOHM_CM, FIELD, WIDTH_NM = 5.0, 1.0, 7.0, 60.0, 1e5, 140.0


def main(path="docs/img/edge_ti_like.png"):
    res = edge_comparison(LAMBDA_NM / WIDTH_NM, refine=2)
    phys = physical_profile(res, EPS_F_EV, MASS, LAMBDA_NM, RHO_UOHM_CM, FIELD, WIDTH_NM)
    y = np.array(phys["y_nm"])
    d = WIDTH_NM / 2 - y
    sel = (y >= 0) & (d > 1e-3)
    kin = np.array([np.nan if v is None else v for v in phys["lz_kinetic_per_nm3"]])
    hyd = np.array(phys["lz_hydro_per_nm3"])
    u = phys["unit"]
    print(f"unit hbar^2E/(2 eps_F e rho lambda) = {u['volume']:.3e} hbar/nm^3 "
          f"(2D sheet: {u['sheet']:.3e} hbar/nm^2, sheet spacing rho*sigma_2D = {u['sheet_spacing_nm']:.3f} nm)")
    for dist in (0.07, 0.7, 3.5, 7.0, 14.0):
        k = np.argmin(np.abs(d - dist))
        print(f"  {d[k]:6.2f} nm from the edge: L^z kinetic {kin[k]:.3e}  hydro {hyd[k]:.3e} hbar/nm^3")
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    ax.plot(d[sel], kin[sel], label="exact kinetic + Eq. (6)")
    ax.plot(d[sel], hyd[sel], "--", label="hydrodynamic Eq. (10)")
    ax.set_xscale("log")
    ax.set_xlabel("distance from the edge (nm)")
    ax.set_ylabel("L^z (hbar / nm^3)")
    ax.set_title(f"Ti-like: lambda={LAMBDA_NM} nm, W={WIDTH_NM} nm, rho={RHO_UOHM_CM} µΩcm, "
                 f"eps_F={EPS_F_EV} eV, E={FIELD:g} V/m", fontsize=8)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=130)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
