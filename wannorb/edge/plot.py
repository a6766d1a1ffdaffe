"""Matplotlib figures of the edge profiles (Agg backend, imported lazily)."""


def plot_profiles(results, path, title=None):
    """Plot j(y)/sigma E and L^z(y) kinetic (solid) vs hydrodynamic (dashed) for one or more Kn.

    Parameters
    ----------
    results : dict or list of dicts from ``edge_comparison``
    path : str, output image file (png/pdf/svg)
    title : str or None
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if isinstance(results, dict):
        results = [results]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for k, res in enumerate(results):
        col = f"C{k}"
        y = np.asarray(res["y_over_lambda"])
        d = y[-1] - y           # distance from the upper edge, units of lambda
        lz = np.array([np.nan if v is None else v for v in res["lz_kinetic"]])
        upper = (y >= 0) & (d >= 1e-3)     # log axis: from 1e-3 lambda to the centre
        ax1.plot(d[upper], np.asarray(res["j_kinetic"])[upper], col, label=f"Kn={res['kn']:g} kinetic")
        ax1.plot(d[upper], np.asarray(res["j_hydro"])[upper], col, ls="--", label="hydro (Eq. 9)")
        ax2.plot(d[upper], lz[upper], col, label=f"Kn={res['kn']:g} kinetic, Eq. (6)")
        ax2.plot(d[upper], np.asarray(res["lz_hydro"])[upper], col, ls="--", label="hydro (Eq. 10)")
    ax1.set_xlabel("distance from the edge (W/2 - y) / lambda")
    ax1.set_ylabel("J^x / (sigma E)")
    ax1.set_xscale("log")
    ax2.set_xlabel("distance from the edge (W/2 - y) / lambda")
    ax2.set_ylabel("L^z / [hbar^2 E / (2 eps_F e rho lambda)]")
    ax2.set_xscale("log")
    for ax in (ax1, ax2):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
