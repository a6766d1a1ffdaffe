"""Exact solution of the linear Boltzmann equation (5) for the R-T ribbon with diffuse edges.

Geometry: E along x, ribbon infinite along x, edges at y = +-W/2. Lengths are in units of the mean
free path lambda = v_F tau_tr (eta = y/lambda, w = W/lambda = 1/Kn). With charge q = -e (e > 0),
f_R(p, y) = delta(eps_R - eps_F) q E lambda phi(eta, theta) and Eq. (5) becomes

    sin(theta) d phi/d eta + phi = cos(theta) + P[phi],                                  (5')
    P[phi](theta) = <(1 + mu cos 2(theta - theta')) phi(theta')>_theta'
                  = rho0(eta) + mu [c2(eta) cos 2 theta + s2(eta) sin 2 theta],

with <.> = int dtheta/(2 pi), rho0 = <phi>, c2 = <cos 2theta phi>, s2 = <sin 2theta phi>, and
mu = 2 kappa_2 = 1 from the model's Born kernel (see ``model.py``). In the bulk phi = cos(theta).

Diffuse edges: the distribution emitted by an edge is isotropic in the outgoing half space,
phi = c_wall, with c_wall fixed by zero net normal particle flux through that edge.

Exact solution along characteristics (exponential attenuation between collisions): for sin > 0,

    phi(eta, theta) = c_- e^{-(eta + w/2)/s} + int_{-w/2}^{eta} (d eta'/s) e^{-(eta - eta')/s} Q(eta', theta),

Q = cos(theta) + P[phi] (mirror formula for sin < 0 from the upper edge). The problem has two exact
symmetries, theta -> pi - theta with phi -> -phi (x reflection) and (eta, theta) -> (-eta, -theta);
they force rho0 = c2 = c_+- = 0, leaving one Fredholm equation of the second kind for s2:

    s2(eta) = S0(eta) + mu int K(|eta - eta'|) s2(eta') d eta',
    K(x) = (4/pi) Phi_1(x),   S0(eta) = -[K(eta + w/2) - K(w/2 - eta)] / 2,

and the current j(eta) = J^x / (sigma E) = 2 <cos theta phi>:

    j(eta) = 1 - (2/pi)[Phi_0(a) + Phi_0(b)] + (4 mu/pi) int sign(eta - eta') Phi_0(|eta - eta'|) s2(eta') d eta',

a = eta + w/2, b = w/2 - eta (Phi_n from ``angular.py``). s2 is represented piecewise linearly on a
mesh graded towards the edges and the kernels are integrated exactly against it (product
integration with the antiderivatives Phi_{n+1}, Phi_{n+2}): only the mesh sets the accuracy.
That the symmetric solution solves the full equation (5') is checked by rebuilding phi(eta, theta)
on a fine angle set (:func:`distribution`) and verifying rho0 = c2 = 0, the self-consistency of s2,
zero normal flux and zero emitted amplitudes (see tests).
"""
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .angular import full_circle_rule, phi
from .model import shear_feedback

# a source cell much smaller than its distance to the target is integrated with Gauss-Legendre on
# the (smooth there) kernel instead of by differences of antiderivatives (avoids cancellation)
FAR_CELL_RATIO = 0.05
# below this optical thickness per cell the characteristic integrals use their Taylor series
SMALL_TAU = 1e-4


@dataclass(frozen=True)
class MeshSpec:
    """Parameters of the graded mesh on one half ribbon (distances from an edge, units of lambda)."""

    h_wall: float = 2e-3     # first cell at the edge
    growth: float = 1.12     # geometric growth of the cells near the edge and in the far interior
    h_cap: float = 0.08      # largest cell in the boundary layer
    d_layer: float = 12.0    # extent of the capped region: the profile varies by < 1e-7 beyond it
    refine: int = 0          # each level inserts the midpoints: all cells halved


def ribbon_mesh(width, spec=MeshSpec()):
    """Mirror-symmetric mesh on [-w/2, w/2] (units of lambda), graded towards both edges.

    Parameters
    ----------
    width : float, w = W/lambda = 1/Kn
    spec : MeshSpec

    Returns
    -------
    eta : array (N,), increasing, eta[i] = -eta[N-1-i] exactly, eta[0] = -w/2
    """
    half = 0.5 * width
    d, h = [0.0], spec.h_wall
    while d[-1] < half:
        in_layer = d[-1] < spec.d_layer
        d.append(d[-1] + h)
        h = min(h * spec.growth, spec.h_cap) if in_layer else h * spec.growth
    d = np.array(d)
    if d[-1] - half > 0.5 * (d[-1] - d[-2]) and len(d) > 2:
        d = d[:-1]
    d[-1] = half
    d = d * (half / d[-1])
    for _ in range(spec.refine):
        mid = 0.5 * (d[1:] + d[:-1])
        d = np.sort(np.concatenate([d, mid]))
    lower = d - half
    return np.concatenate([lower[:-1], -lower[::-1]])


def _product_weights(eta, kernel, n0, odd):
    """Matrix M[i, j] = int k(|eta_i - eta'|) sgn h_j(eta') d eta' for piecewise-linear hats h_j.

    k = Phi_{n0} scaled (``kernel`` is the scale), its tail integrals Phi_{n0+1}, Phi_{n0+2};
    sgn = sign(eta_i - eta') if ``odd`` else 1.

    Returns
    -------
    array (N, N), float
    """
    n = eta.size
    lo, hi = eta[:-1], eta[1:]
    hcell = hi - lo
    below = lo[None, :] >= eta[:, None]        # cell above the target (eta' > eta_i)
    xa = np.where(below, lo[None, :] - eta[:, None], eta[:, None] - hi[None, :])
    xb = xa + hcell[None, :]
    f1a, f1b = phi(n0 + 1, xa), phi(n0 + 1, xb)
    f2a, f2b = phi(n0 + 2, xa), phi(n0 + 2, xb)
    i0 = f1a - f1b
    i1 = (xa * f1a + f2a - xb * f1b - f2b - xa * i0) / hcell[None, :]
    far = hcell[None, :] < FAR_CELL_RATIO * xa
    if far.any():
        gx, gw = np.polynomial.legendre.leggauss(4)
        t = 0.5 * (gx + 1.0)
        xs = xa[far][:, None] + hcell[None, :].repeat(n, 0)[far][:, None] * t[None, :]
        k = phi(n0, xs)
        hf = hcell[None, :].repeat(n, 0)[far]
        i0[far] = 0.5 * hf * (k * gw).sum(axis=1)
        i1[far] = 0.5 * hf * (k * gw * t).sum(axis=1)
    w_near, w_far = i0 - i1, i1
    if odd:
        sgn = np.where(below, -1.0, 1.0)
        w_near, w_far = sgn * w_near, sgn * w_far
    m = np.zeros((n, n))
    m[:, :-1] += np.where(below, w_near, w_far)
    m[:, 1:] += np.where(below, w_far, w_near)
    return kernel * m


@dataclass(frozen=True)
class KineticSolution:
    """Exact ribbon solution on its mesh (all lengths in units of lambda).

    Attributes
    ----------
    kn : float, Knudsen number lambda/W
    mu : float, m = +-2 in-scattering weight 2 kappa_2
    eta : array (N,), y/lambda
    s2 : array (N,), <sin 2theta phi>
    j : array (N,), J^x / (sigma E)
    djdeta : array (N,), d j / d eta (= -lz by Eq. (7)); +-inf at the edges (log divergence)
    """

    kn: float
    mu: float
    eta: np.ndarray
    s2: np.ndarray
    j: np.ndarray
    djdeta: np.ndarray
    mesh: MeshSpec

    @property
    def width(self):
        return 1.0 / self.kn


def solve_ribbon(kn, mesh=MeshSpec(), mu=None):
    """Solve Eq. (5) exactly for the ribbon at Knudsen number ``kn`` (see module docstring).

    Parameters
    ----------
    kn : float > 0, lambda / W
    mesh : MeshSpec, spatial resolution
    mu : float or None, 2 kappa_2; None takes it from the R-T Born kernel (= 1). mu = 0 is the
        relaxation-time (Fuchs) limit with isotropic in-scattering.

    Returns
    -------
    KineticSolution
    """
    if not np.isfinite(kn) or kn <= 0:
        raise InputError(f"Knudsen number must be a finite positive number, got {kn!r}")
    if mu is None:
        mu = shear_feedback()
    w = 1.0 / kn
    eta = ribbon_mesh(w, mesh)
    a, b = eta + 0.5 * w, 0.5 * w - eta
    kfac = 4.0 / np.pi
    amat = _product_weights(eta, kfac, 1, odd=False)
    s0 = -0.5 * kfac * (phi(1, a) - phi(1, b))
    s2 = np.linalg.solve(np.eye(eta.size) - mu * amat, s0)
    s2 = 0.5 * (s2 - s2[::-1])           # remove round-off asymmetry (exact antisymmetry)
    jmat = _product_weights(eta, 4.0 * mu / np.pi, 0, odd=True)
    j = 1.0 - (2.0 / np.pi) * (phi(0, a) + phi(0, b)) + jmat @ s2
    dmat = _product_weights(eta, 4.0 * mu / np.pi, -1, odd=False)
    with np.errstate(invalid="ignore"):
        dj = (2.0 / np.pi) * (phi(-1, a) - phi(-1, b)) + 2.0 * mu * s2 - dmat @ s2
    dj[0], dj[-1] = np.inf, -np.inf
    return KineticSolution(kn=float(kn), mu=float(mu), eta=eta, s2=s2, j=j, djdeta=dj, mesh=mesh)


def mean_current(sol):
    """Ribbon average of j, integrated in closed form over eta (no quadrature of the log-singular j).

    (1/w) int j = 1 - (4/(pi w)) [Phi_1(0) - Phi_1(w)] + (4 mu/(pi w)) int s2(eta') [Phi_1(a') - Phi_1(b')] d eta',
    the last integral by the trapezoid rule on the (smooth) integrand.
    """
    w = sol.width
    a, b = sol.eta + 0.5 * w, 0.5 * w - sol.eta
    ends = phi(1, np.array([0.0, w]))
    direct = 1.0 - 4.0 / (np.pi * w) * (ends[0] - ends[1])
    return float(direct + 4.0 * sol.mu / (np.pi * w) * np.trapezoid(sol.s2 * (phi(1, a) - phi(1, b)), sol.eta))


def distribution(sol, nodes_per_interval=12, decades=12):
    """Rebuild phi(eta_i, theta_k) and d phi/d eta on the mesh by sweeping the characteristics.

    The source Q = cos(theta) + mu s2(eta) sin 2theta is linear on each cell and integrated exactly
    against exp(-(eta - eta')/|sin theta|); edges emit c_wall = 0 (checked afterwards by
    :func:`wall_emission`).

    Returns
    -------
    theta : array (K,), radians; weight : array (K,), radians (sum 2 pi)
    phi : array (N, K), dimensionless (units of q E lambda)
    dphi : array (N, K), d phi / d eta, from Eq. (5'): (Q - phi) / sin(theta)
    """
    theta, weight = full_circle_rule(nodes_per_interval, decades)
    s, c = np.sin(theta), np.cos(theta)
    q = c[None, :] + sol.mu * sol.s2[:, None] * np.sin(2 * theta)[None, :]
    n = sol.eta.size
    ph = np.zeros((n, theta.size))
    up, dn = s > 0, s < 0
    h = np.diff(sol.eta)
    for sel, order in ((up, range(1, n)), (dn, range(n - 2, -1, -1))):
        inv = 1.0 / np.abs(s[sel])
        for i in order:
            prev = i - 1 if sel is up else i + 1
            tau = h[min(i, prev)] * inv
            e = np.exp(-tau)
            small = tau < SMALL_TAU
            g = np.where(small, tau / 2 - tau ** 2 / 3 + tau ** 3 / 8,
                         -np.expm1(-tau) / np.where(small, 1.0, tau) - e)
            qi, qp = q[i, sel], q[prev, sel]
            ph[i, sel] = e * ph[prev, sel] - qi * np.expm1(-tau) - (qi - qp) * g
    dphi = (q - ph) / s[None, :]
    return theta, weight, ph, dphi


def moments(theta, weight, values):
    """Angular moments <psi(theta) values> for psi = 1, cos, sin, cos 2theta, sin 2theta.

    Parameters
    ----------
    theta, weight : arrays (K,); values : array (N, K)

    Returns
    -------
    dict name -> array (N,)
    """
    psi = {"rho0": np.ones_like(theta), "cos": np.cos(theta), "sin": np.sin(theta),
           "c2": np.cos(2 * theta), "s2": np.sin(2 * theta)}
    return {k: values @ (v * weight) / (2 * np.pi) for k, v in psi.items()}


def wall_emission(theta, weight, ph):
    """Emitted amplitudes c_- , c_+ implied by zero net normal flux at the two edges.

    c_wall = -int_{in} sin(theta) phi / int_{out} |sin theta|, using the incoming phi at each edge.

    Returns
    -------
    (c_lower, c_upper) : floats
    """
    s = np.sin(theta)
    out_norm = np.sum(np.abs(s[s > 0]) * weight[s > 0])
    c_lower = np.sum((np.abs(s) * weight * ph[0])[s < 0]) / out_norm
    c_upper = np.sum((np.abs(s) * weight * ph[-1])[s > 0]) / out_norm
    return float(c_lower), float(c_upper)
