"""Interband angular-momentum density induced by a gradient of the intraband response, Eq. (6).

    X^j_(ib) = -(hbar/2) sum_n sum_{m != n} int_p (d f_n/d x^i) Tr[A^i_nm X^j_mn + X^j_nm A^i_mn]  (+ X_(vc))

with the non-Abelian interband Berry connection A^i_nm = i (d_{p^i} P_n) P_m and X_mn = P_m X P_n.
The vertex correction X_(vc) is NOT included (the paper leaves it unspecified, Ref. [33]).

:func:`interband_density` is general: it takes eigenprojectors and their momentum derivatives at a
set of sample momenta (any number of bands and orbitals) and the operator X. The derivatives come
from :func:`projector_derivative` (sum over states with the analytic d h/d p, or central finite
differences of the projectors), never from a hand-simplified closed form.
:func:`rt_orbital_density` applies it to the R-T ribbon solution of ``kinetic.py``.
"""
import numpy as np

from ..operators import interband_connection, projector_derivatives
from .model import band_projectors, orbital_lz, rt_hamiltonian, rt_hamiltonian_derivative

# bands closer than this (model energy units) are treated as degenerate: no interband term between them
DEGEN_TOL = 1e-9
# step of the central finite difference of projectors (model momentum units, p_F = 1): error ~ step^2
FD_STEP = 1e-4


def projector_derivative(p, direction, hamiltonian=rt_hamiltonian, dhamiltonian=rt_hamiltonian_derivative,
                         method="sum-over-states"):
    """Eigenprojectors P_n(p) and d P_n / d p^i.

    Sum over states: d P_n = sum_{m != n} (P_n dh P_m + P_m dh P_n) / (e_n - e_m).
    Finite differences: (P_n(p + s e_i) - P_n(p - s e_i)) / (2 s), s = FD_STEP (bands sorted by
    energy; valid away from band crossings).

    Parameters
    ----------
    p : array (K, 2), momenta; direction : int (0: x, 1: y)
    hamiltonian : callable (K, 2) -> (K, n, n); dhamiltonian : callable (p, direction) -> (K, n, n)
    method : "sum-over-states" or "finite-difference"

    Returns
    -------
    energies : (K, nb); projectors : (K, nb, n, n); dprojectors : (K, nb, n, n)
    """
    p = np.asarray(p, float)
    energies, proj = band_projectors(hamiltonian(p))
    if method == "finite-difference":
        step = np.zeros(p.shape[-1])
        step[direction] = FD_STEP
        _, pp = band_projectors(hamiltonian(p + step))
        _, pm = band_projectors(hamiltonian(p - step))
        return energies, proj, (pp - pm) / (2 * FD_STEP)
    if method != "sum-over-states":
        raise ValueError(f"unknown method {method!r}")
    dproj = projector_derivatives(energies, proj, dhamiltonian(p, direction), DEGEN_TOL)
    return energies, proj, dproj


def interband_trace(energies, projectors, dprojectors, x_op):
    """T_n(p) = sum_{m != n} Tr[A_nm X_mn + X_nm A_mn], A_nm = i (dP_n) P_m, X_mn = P_m X P_n.

    Parameters
    ----------
    energies : (K, nb); projectors, dprojectors : (K, nb, n, n); x_op : (n, n) or (K, n, n)

    Returns
    -------
    array (K, nb), real (units of X times momentum^-1)
    """
    k, nb = energies.shape
    out = np.zeros((k, nb))
    A = interband_connection(projectors, dprojectors)               # (K, nb, nb, n, n)
    for n in range(nb):
        for m in range(nb):
            if m == n:
                continue
            distinct = np.abs(energies[:, n] - energies[:, m]) > DEGEN_TOL
            x_mn = projectors[:, m] @ x_op @ projectors[:, n]
            x_nm = projectors[:, n] @ x_op @ projectors[:, m]
            tr = np.einsum("kij,kji->k", A[:, n, m], x_mn) + np.einsum("kij,kji->k", x_nm, A[:, m, n])
            out[:, n] += np.where(distinct, tr.real, 0.0)
    return out


def interband_density(trace, grad_f, weights, hbar=1.0):
    """Eq. (6) without vertex correction: -(hbar/2) sum_n int_p d_i f_n T_n.

    Parameters
    ----------
    trace : (K, nb), from :func:`interband_trace`
    grad_f : (..., K, nb), d f_n / d x^i at the sample momenta (per unit of the momentum measure)
    weights : (K,), momentum measure of each sample (includes 1/(2 pi hbar)^d and any delta(eps-eps_F)
        Jacobian)

    Returns
    -------
    array (...), density of X per unit volume (area in 2D)
    """
    return -0.5 * hbar * np.einsum("...kn,kn,k->...", grad_f, trace, weights)


def rt_orbital_density(theta, weight, dphi, method="sum-over-states"):
    """L^z(eta) of the R-T ribbon from Eq. (6), in units hbar^2 E / (2 eps_F e rho lambda).

    Model units (hbar = m* = p_F = e = E = lambda = 1, q = -1): f_R = delta(eps - eps_F) q phi, so
    d f_R/d y = delta(eps - eps_F) q d phi/d eta and int_p delta(eps_R - eps_F) F = m*/(2 pi)^2 int dtheta F.
    The unit hbar^2 E/(2 eps_F e rho lambda) equals e E/(4 pi v_F) = 1/(4 pi) for the spinless model
    (sigma = e^2 tau eps_F/(2 pi hbar^2)); spin degeneracy multiplies L^z and sigma alike.

    Parameters
    ----------
    theta, weight : (K,), Fermi-circle angles and quadrature weights (radians)
    dphi : (N, K), d phi / d eta on the ribbon mesh (from ``kinetic.distribution``)

    Returns
    -------
    array (N,), L^z in units hbar^2 E/(2 eps_F e rho lambda)
    """
    p = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    energies, proj, dproj = projector_derivative(p, 1, method=method)
    trace = interband_trace(energies, proj, dproj, orbital_lz())
    charge, mass = -1.0, 1.0
    grad_f = np.zeros(dphi.shape + (2,))
    grad_f[..., 1] = charge * dphi                      # only the upper (R) band is at eps_F
    lz = interband_density(trace, grad_f, weight * mass / (2 * np.pi) ** 2)
    sigma = drude_conductivity(theta, weight)          # bulk, from the same quadrature
    hbar, e_field, eps_f, e, lam = 1.0, 1.0, 0.5, 1.0, 1.0
    unit = hbar ** 2 * e_field / (2 * eps_f * e * (1.0 / sigma) * lam)
    return lz / unit


def drude_conductivity(theta, weight):
    """Bulk conductivity of the model from the bulk solution phi = cos(theta) (model units).

    sigma = J^x/E with J^x = q int_p v_x f, f = delta(eps - eps_F) q E lambda cos(theta).
    Returns a float (= 1/(4 pi) = e^2 tau eps_F/(2 pi hbar^2)).
    """
    return float(np.sum(np.cos(theta) ** 2 * weight) / (2 * np.pi) ** 2)
