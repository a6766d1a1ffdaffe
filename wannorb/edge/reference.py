"""Slow, independent reference solver for Eq. (5) on the ribbon (test oracle for ``kinetic.py``).

Discrete ordinates: equally spaced angles theta_k = 2 pi (k + 1/2)/K, uniform mesh, exact
exponential attenuation across each cell with a piecewise-linear source, and source iteration on the
full collision integral of the Born kernel (all three in-scattering moments rho0, c2, s2) with the
diffuse-wall emission recomputed from the zero-net-flux condition at every sweep. No symmetry of the
solution is assumed; particle number is fixed by removing the mean density (the closed ribbon has
the uniform shift as a zero mode). Accuracy is only ~1e-3 at test sizes, but nothing is shared with
the production solver except the model's kernel.
"""
import numpy as np

from .model import born_kernel


def dom_ribbon(kn, n_angles=256, n_cells=400, tol=1e-11, max_iter=2000):
    """Discrete-ordinates solution phi(eta_i, theta_k).

    Parameters
    ----------
    kn : float, lambda / W; n_angles : int (multiple of 4); n_cells : int, uniform cells

    Returns
    -------
    eta : (N,), theta : (K,), phi : (N, K), j : (N,) = 2 <cos phi>, iterations : int
    """
    w = 1.0 / kn
    eta = np.linspace(-0.5 * w, 0.5 * w, n_cells + 1)
    theta = 2 * np.pi * (np.arange(n_angles) + 0.5) / n_angles
    s, c = np.sin(theta), np.cos(theta)
    kern = born_kernel(theta[:, None], theta[None, :])          # cos^2(theta - theta')
    scatter = 2.0 * kern / n_angles                             # <2 cos^2 (theta-theta') phi(theta')>
    h = eta[1] - eta[0]
    tau = h / np.abs(s)
    e = np.exp(-tau)
    g = (1.0 - e) / tau - e
    up, dn = s > 0, s < 0
    out_norm = np.abs(s[up]).sum()
    ph = np.zeros((eta.size, n_angles))
    for it in range(1, max_iter + 1):
        q = c[None, :] + ph @ scatter.T
        new = np.empty_like(ph)
        c_lo = (np.abs(s[dn]) * ph[0, dn]).sum() / out_norm
        c_up = (np.abs(s[up]) * ph[-1, up]).sum() / out_norm
        new[0, up] = c_lo
        new[-1, dn] = c_up
        for i in range(1, eta.size):
            new[i, up] = e[up] * new[i - 1, up] + q[i, up] * (1 - e[up]) - (q[i, up] - q[i - 1, up]) * g[up]
        for i in range(eta.size - 2, -1, -1):
            new[i, dn] = e[dn] * new[i + 1, dn] + q[i, dn] * (1 - e[dn]) - (q[i, dn] - q[i + 1, dn]) * g[dn]
        new -= np.trapezoid(new.mean(axis=1), eta) / w                 # fix the particle number
        delta = np.abs(new - ph).max()
        ph = new
        if delta < tol:
            break
    j = 2.0 * (ph * c).mean(axis=1)
    return eta, theta, ph, j, it
