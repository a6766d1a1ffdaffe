"""The radial-tangential (R-T) (p_x, p_y)-orbital model and its Born collision integral.

Paper: Valet, Jaffrès, Cros, Raimondi (2025), text around Fig. 2 and Eq. (5).

Model (2D, spin ignored as in the paper, no SOI), basis {|p_x>, |p_y>}::

    h(p) = eps_R P_R + eps_T P_T,   eps_R = p^2/2m*,  eps_T = -p^2/2m*
    |R(theta)> = cos(theta)|p_x> + sin(theta)|p_y>,   |T(theta)> = -sin(theta)|p_x> + cos(theta)|p_y>
    => h(p) = (1/2m*) [[p_x^2 - p_y^2, 2 p_x p_y], [2 p_x p_y, p_y^2 - p_x^2]]
    L^z = hbar tau^y   (atomic-centre approximation)

Internal ("model") units used throughout ``wannorb.edge``: hbar = m* = p_F = e = 1, hence
v_F = 1, eps_F = 1/2; lengths in units of the mean free path lambda (so tau_tr = 1).

Collision integral (Eq. (5) right-hand side), dilute point scalar scatterers V(r) = V0 sum_a delta(r - r_a)
in the Born approximation (golden rule, second order in V0). At eps_F > 0 only the R band is at the Fermi
level; the T band lies at -eps_F so elastic R->T scattering is forbidden and the collision integral is
intraband. With f_R(p, y) = delta(eps_R - eps_F) g(y, theta)::

    C[g](theta) = Gamma * int dtheta'/(2 pi) |<R(theta')|R(theta)>|^2 [g(theta') - g(theta)]
    |<R(theta')|R(theta)>|^2 = cos^2(theta - theta') = 1/2 + (1/4)(e^{2i(theta-theta')} + c.c.)
    Gamma = n_imp V0^2 m* / hbar^3

i.e. the kernel is NOT isotropic: its angular harmonics are K_0 = 1/2, K_{+-2} = 1/4, all others 0
(in units of Gamma). A harmonic g_m e^{i m theta} relaxes at the rate
gamma_m = Gamma (K_0 - K_m):  gamma_0 = 0 (particle conservation), gamma_{+-2} = Gamma/4,
gamma_m = Gamma/2 for every other m. The transport (m = 1) rate is gamma_1 = Gamma/2, so
tau_tr = 2/Gamma (equal to the out-scattering time, since the kernel has no m = 1 harmonic) and
lambda = v_F tau_tr. In units of 1/tau_tr: gamma_m = 1 - kappa_m with in-scattering weights
kappa_0 = 1, kappa_{+-2} = 1/2, kappa_m = 0 otherwise. The m = 2 ("shear") harmonic thus relaxes at half
the transport rate; this is what makes the vorticity diffusion length lambda/sqrt(2) in Eq. (8b).
The harmonics are computed here numerically from the model's own eigenvectors
(:func:`collision_harmonics`) and the kinetic solver takes kappa_2 from them.
"""
import numpy as np

from ..errors import InputError

# relative size below which a kernel harmonic is treated as exactly zero (FFT round-off is ~1e-16)
HARMONIC_ZERO_TOL = 1e-12


def rt_hamiltonian(p, mass=1.0):
    """R-T Bloch Hamiltonian h(p) in the {p_x, p_y} orbital basis.

    Parameters
    ----------
    p : array (..., 2), float, momentum (model units, p_F = 1)
    mass : float, effective mass m* (model units)

    Returns
    -------
    h : array (..., 2, 2), complex, energy (model units)
    """
    p = np.asarray(p, dtype=float)
    px, py = p[..., 0], p[..., 1]
    h = np.empty(p.shape[:-1] + (2, 2), dtype=complex)
    h[..., 0, 0] = px * px - py * py
    h[..., 1, 1] = py * py - px * px
    h[..., 0, 1] = h[..., 1, 0] = 2.0 * px * py
    return h / (2.0 * mass)


def rt_hamiltonian_derivative(p, direction, mass=1.0):
    """Analytic momentum derivative d h / d p^i of :func:`rt_hamiltonian`.

    Parameters
    ----------
    p : array (..., 2), float, momentum
    direction : int, 0 for p_x, 1 for p_y

    Returns
    -------
    dh : array (..., 2, 2), complex, velocity operator component (model units)
    """
    p = np.asarray(p, dtype=float)
    px, py = p[..., 0], p[..., 1]
    dh = np.empty(p.shape[:-1] + (2, 2), dtype=complex)
    if direction == 0:
        dh[..., 0, 0], dh[..., 1, 1] = 2 * px, -2 * px
        dh[..., 0, 1] = dh[..., 1, 0] = 2 * py
    elif direction == 1:
        dh[..., 0, 0], dh[..., 1, 1] = -2 * py, 2 * py
        dh[..., 0, 1] = dh[..., 1, 0] = 2 * px
    else:
        raise InputError(f"direction must be 0 (x) or 1 (y), got {direction!r}")
    return dh / (2.0 * mass)


def orbital_lz():
    """Orbital angular momentum L^z = hbar tau^y in the {p_x, p_y} basis (hbar = 1), shape (2, 2)."""
    return np.array([[0.0, -1.0j], [1.0j, 0.0]])


def band_projectors(h):
    """Eigenvalues and eigenprojectors of Hermitian matrices, bands sorted by energy.

    Parameters
    ----------
    h : array (..., n, n), complex Hermitian

    Returns
    -------
    energies : array (..., n), float
    projectors : array (..., n, n, n), complex; projectors[..., b, :, :] = |u_b><u_b|
    """
    energies, vecs = np.linalg.eigh(h)
    proj = np.einsum("...ib,...jb->...bij", vecs, vecs.conj())
    return energies, proj


def born_kernel(theta, theta_p, mass=1.0):
    """Born transition kernel |<R(theta')|R(theta)>|^2 = Tr[P_R(theta) P_R(theta')] from the model.

    Evaluated from the numerical eigenprojectors of the upper (R) band on the Fermi circle |p| = 1;
    analytically it equals cos^2(theta - theta').

    Parameters
    ----------
    theta, theta_p : arrays broadcastable to a common shape, radians

    Returns
    -------
    array, float, dimensionless overlap
    """
    theta, theta_p = np.broadcast_arrays(np.asarray(theta, float), np.asarray(theta_p, float))
    p1 = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    p2 = np.stack([np.cos(theta_p), np.sin(theta_p)], axis=-1)
    _, pr1 = band_projectors(rt_hamiltonian(p1, mass))
    _, pr2 = band_projectors(rt_hamiltonian(p2, mass))
    return np.einsum("...ij,...ji->...", pr1[..., 1, :, :], pr2[..., 1, :, :]).real


def collision_harmonics(n_theta=64):
    """Angular harmonics of the Born kernel and the relaxation rate of each harmonic.

    Parameters
    ----------
    n_theta : int, number of equally spaced angles used for the (exact for a band-limited kernel) FFT

    Returns
    -------
    dict with
        ``kappa`` : array (n_theta,), in-scattering weights kappa_m = K_m / K_0 (FFT order m = 0, 1, ...)
        ``rates`` : array (n_theta,), gamma_m tau_tr = (K_0 - K_m) / (K_0 - K_1)
        ``tau_tr_over_tau_out`` : float, K_0 / (K_0 - K_1) (1 for the R-T kernel)
    """
    dtheta = 2 * np.pi * np.arange(n_theta) / n_theta
    kern = born_kernel(dtheta, 0.0)
    km = np.fft.fft(kern).real / n_theta
    km[np.abs(km) < HARMONIC_ZERO_TOL * abs(km[0])] = 0.0
    rates = (km[0] - km) / (km[0] - km[1])
    return {"kappa": km / km[0], "rates": rates, "tau_tr_over_tau_out": km[0] / (km[0] - km[1])}


def shear_feedback(n_theta=64):
    """mu = 2 kappa_2: weight of the m = +-2 in-scattering term used by the kinetic solver.

    The exact ribbon solver (``kinetic.py``) keeps in-scattering in the harmonics m = 0 and m = +-2
    only; this function checks that the model's kernel has no other harmonic and returns 2 kappa_2
    (= 1 for the R-T model).
    """
    h = collision_harmonics(n_theta)
    kappa = h["kappa"]
    m = np.fft.fftfreq(n_theta, 1.0 / n_theta).astype(int)
    other = np.abs(kappa[(np.abs(m) != 0) & (np.abs(m) != 2)])
    if other.size and other.max() > 0.0:
        raise NotImplementedError("kernel has harmonics other than m = 0, +-2; the ribbon solver "
                                  "supports only those")
    return 2.0 * kappa[2]
