"""k-resolved Hall integrands along a high-symmetry path and on a plane (diagnostics of a sweep).

At each k the integrand of σ^j_ik (Eq. (4), conventional, conserved), I(k) = Σ_n f(ε_n − μ) Ω_n(k)
in Å²·ħ (σ = (e²/ħ)∫d³k/(2π)³ I), the smallest relevant gap between groups, and the orbital
degeneracies of the spinless Hamiltonian H0(k) (A = 0): the size of the largest group beyond the
Kramers pair (2 = none). Where spinless bands cross or touch, a small SOI opens gaps ∝ A and the
Eq. (4) integrand peaks there: these maps show where an exponent comes from.
"""
import numpy as np

from . import refine as rf
from .errors import InputError
from .hall import DEGEN_TOL_EV, METHODS, QUANTITIES, operator_stack
from .sweep import parse_component

KMAP_UNITS = {
    "integrand": "Å^2 hbar: sum_n f(e_n - mu) Omega_n of the chosen component (sigma = (e^2/hbar) ∫ d^3k/(2pi)^3 of it)",
    "energies": "eV", "relevant_gap": "eV", "mu": "eV", "x": "1/Å (path length)",
    "k_red": "reduced coordinates", "spinless_max_group": "states in the largest degenerate group of H0(k) "
    "(2: only Kramers pairs; 4, 6: orbital degeneracy)",
}


def bandpath(model, path=None, npoints=300):
    """ASE band path of the model's lattice: (k_red (n, 3), x (n,), special x, labels)."""
    from ase.cell import Cell
    try:
        bp = Cell(np.asarray(model.lattice)).bandpath(path, npoints=npoints)
    except Exception as exc:      # ASE raises several types for a bad path string
        raise InputError(f"--path: {exc}") from None
    x, X, labels = bp.get_linear_kpoint_axis()
    return np.asarray(bp.kpts), np.asarray(x), np.asarray(X), list(labels)


def plane_points(axis=2, offset=0.0, n=60):
    """(n², 3) reduced k on the plane k_axis = offset, other two in [−½, ½) (n per side)."""
    g = (np.arange(n) / n) - 0.5
    a, b = np.meshgrid(g, g, indexing="ij")
    k = np.zeros((n * n, 3))
    others = [i for i in range(3) if i != axis]
    k[:, others[0]] = a.ravel()
    k[:, others[1]] = b.ravel()
    k[:, axis] = offset
    return k


def spinless_max_group(model, k_red, degen_tol=DEGEN_TOL_EV):
    """(n,) size of the largest degenerate group of H0(k) (the SOI switched off)."""
    E, _, _, _ = rf.evaluate_direct(model, k_red, 0.0, np.zeros((1, 3, model.num_wann, model.num_wann), complex),
                                    degen_tol)
    d = np.diff(E, axis=1) >= degen_tol
    out = np.zeros(len(E), int)
    for ik in range(len(E)):
        starts = np.concatenate([[0], np.nonzero(d[ik])[0] + 1, [E.shape[1]]])
        out[ik] = np.diff(starts).max()
    return out


def integrand_map(model, k_red, soc_scale, mu, kT, component="zxy", methods=METHODS, quantities=QUANTITIES,
                  degen_tol=DEGEN_TOL_EV, operator_phases=True):
    """Integrands at arbitrary k.

    Returns dict: energies (n, nw) eV, integrand[method][quantity] (n,) Å²ħ at μ, relevant_gap (n,) eV,
    spinless_max_group (n,).
    """
    comp = parse_component(component) if isinstance(component, str) else tuple(component)
    Xops = operator_stack(model, quantities)
    E_all, I_all, gaps = [], [], []
    for s in range(0, len(k_red), rf.BATCH):
        k = k_red[s:s + rf.BATCH]
        E, omega, _, _ = rf.evaluate_direct(model, k, soc_scale, Xops, degen_tol, operator_phases)
        per_k, _ = rf.point_values(E, omega, [mu], kT, comp)
        j, i, kk = comp
        E_all.append(E)
        I_all.append(per_k[:, 0, :, :, j, i, kk])                     # (m, 3, nq)
        gaps.append(rf.relevant_gap(E, degen_tol, mu + rf.RELEVANT_KT * kT))
    I = np.concatenate(I_all)
    return {
        "energies": np.concatenate(E_all),
        "integrand": {m: {q: I[:, METHODS.index(m), iq] for iq, q in enumerate(quantities)} for m in methods},
        "relevant_gap": np.concatenate(gaps),
        "spinless_max_group": spinless_max_group(model, k_red, degen_tol),
    }


def plot_kmap(data, path):
    """Bands (orbital degeneracies of H0 marked) and integrands along the path; plane maps."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import SymLogNorm
    has_plane = "plane" in data
    ncol = 2 if has_plane else 1
    fig = plt.figure(figsize=(6.5 * ncol, 8))
    p = data["path"]
    x = np.array(p["x"])
    ax1 = fig.add_subplot(2, ncol, 1)
    E = np.array(p["energies"])
    ax1.plot(x, E, "k-", lw=0.8)
    deg = np.array(p["spinless_max_group"]) > 2
    ax1.plot(x[deg], np.full(deg.sum(), data["mu"]), "|", color="C1", ms=6, label="H0 orbital degeneracy (group > 2)")
    ax1.axhline(data["mu"], color="C3", lw=0.6, ls="--", label="μ")
    ax1.set_ylabel("E (eV)")
    ax1.set_title(f"{data['system']}  A = {data['soc_scale']:g}")
    ax1.legend(fontsize=7, loc="upper right")
    ax2 = fig.add_subplot(2, ncol, 1 + ncol, sharex=ax1)
    for m in data["methods"]:
        for q in data["quantities"]:
            ax2.plot(x, p["integrand"][m][q], lw=0.8, label=f"{m} {q}")
    peak = max(max(np.abs(p["integrand"][m][q]).max() for m in data["methods"] for q in data["quantities"]), 1e-30)
    ax2.set_yscale("symlog", linthresh=peak * 1e-3)
    ax2.set_ylabel(f"integrand of σ^{data['component'][0]}_{data['component'][1:]} (Å² ħ)")
    for ax in (ax1, ax2):
        for xs in p["special_x"]:
            ax.axvline(xs, color="0.7", lw=0.5)
    ax2.set_xticks(p["special_x"])
    ax2.set_xticklabels(p["labels"])
    ax2.legend(fontsize=6, ncol=2)
    if has_plane:
        pl = data["plane"]
        n = pl["n"]
        for r, (m, q) in enumerate([("eq4", "orbital"), ("conventional", "orbital")]):
            if m not in data["methods"] or q not in data["quantities"]:
                continue
            ax = fig.add_subplot(2, ncol, 2 + r * ncol)
            Z = np.array(pl["integrand"][m][q]).reshape(n, n)
            vmax = max(np.abs(Z).max(), 1e-12)
            im = ax.imshow(Z.T, origin="lower", extent=(-0.5, 0.5, -0.5, 0.5), cmap="RdBu_r",
                           norm=SymLogNorm(linthresh=max(vmax * 1e-3, 1e-12), vmin=-vmax, vmax=vmax))
            dg = (np.array(pl["spinless_max_group"]) > 2).reshape(n, n)
            ii, jj = np.nonzero(dg)
            ax.plot(ii / n - 0.5, jj / n - 0.5, ".", color="k", ms=1.5)
            fig.colorbar(im, ax=ax, shrink=0.8)
            ax.set_title(f"{m} {q} on k{'123'[pl['axis']]} = {pl['offset']:g} (dots: H0 degeneracy)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
