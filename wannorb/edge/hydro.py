"""Generalized hydrodynamics of the ribbon, Eqs. (8a,b) with impenetrability + slip, and Eqs. (9), (10).

Units: lengths in lambda (eta = y/lambda, w = W/lambda = 1/Kn), current j = J^x/(sigma E),
L^z in units of hbar^2 E / (2 eps_F e rho lambda).

Eq. (8b) in the ribbon (J^y = 0 by impenetrability and Eq. (8a)):

    j - ell^2 j'' = 1,   ell = 1/sqrt(2)  (vorticity diffusion length lambda/sqrt(2))

with the slip condition d_n J^t = -(c/lambda) J^t at both edges (n outward normal). The paper's
text quotes c = 4/(3 pi); its closed form B(Kn) (B -> 0.375) corresponds to c = 8/(3 pi), which is
also what Maxwell's tangential-momentum balance gives for this kernel (the m = 2 harmonic relaxes at
1/(2 tau_tr)). Both are available (:data:`SLIP_PAPER_TEXT`, :data:`SLIP_PAPER_B`); any c > 0 can be used.

Closed forms for general c (Eq. (9), (10)):

    B = 1 / (1 + (sqrt(2)/c) tanh(1/(sqrt(2) Kn)))       [c = 8/(3pi): the paper's B]
    j(eta) = 1 - B cosh(sqrt(2) eta)/cosh(w/sqrt(2))
    lz(eta) = -dj/deta = sqrt(2) B sinh(sqrt(2) eta)/cosh(w/sqrt(2))   (Eq. (7) applied to Eq. (9))
"""
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

SLIP_PAPER_TEXT = 4.0 / (3.0 * np.pi)   # slip coefficient printed in the paper (units 1/lambda)
SLIP_PAPER_B = 8.0 / (3.0 * np.pi)      # slip coefficient that reproduces the paper's B(Kn)
ELL = 1.0 / np.sqrt(2.0)                # vorticity diffusion length, units of lambda


def _cheb(n):
    """Chebyshev points x_k = cos(pi k/n) (decreasing) and differentiation matrix, (n+1,), (n+1, n+1)."""
    x = np.cos(np.pi * np.arange(n + 1) / n)
    c = np.ones(n + 1)
    c[0] = c[-1] = 2.0
    c *= (-1.0) ** np.arange(n + 1)
    dx = x[:, None] - x[None, :]
    d = np.outer(c, 1.0 / c) / (dx + np.eye(n + 1))
    d -= np.diag(d.sum(axis=1))
    return x, d


def _check(kn, slip):
    for name, v in (("Knudsen number", kn), ("slip coefficient", slip)):
        v = np.asarray(v, dtype=float)
        if not np.all(np.isfinite(v)) or np.any(v <= 0):
            raise InputError(f"{name} must be a finite positive number, got {v!r}")


def solve_hydro(kn, slip=SLIP_PAPER_B, slip_upper=None, ell=ELL, n_domains=None, order=32):
    """Numerical solution of Eqs. (8a,b) with slip BCs on the ribbon (multidomain Chebyshev).

    Parameters
    ----------
    kn : float > 0, lambda/W
    slip : float > 0, c of the lower edge (d_n j = -c j), units 1/lambda
    slip_upper : float or None, c of the upper edge (None: same as ``slip``)
    ell : float > 0, vorticity diffusion length (units lambda)
    n_domains : int or None, number of equal subdomains (default: enough for cells <~ 2 ell)
    order : int, Chebyshev order per subdomain

    Returns
    -------
    HydroSolution (callable: eta -> (j, dj/deta))
    """
    slip_upper = slip if slip_upper is None else slip_upper
    _check(kn, slip)
    _check(kn, slip_upper)
    w = 1.0 / kn
    nd = n_domains or max(2, int(np.ceil(w / (2.0 * ell))))
    edges = np.linspace(-0.5 * w, 0.5 * w, nd + 1)
    x, d = _cheb(order)
    np1 = order + 1
    size = nd * np1
    a = np.zeros((size, size))
    rhs = np.ones(size)
    hw = 0.5 * (edges[1:] - edges[:-1])
    for k in range(nd):
        sl = slice(k * np1, (k + 1) * np1)
        dk = d / hw[k]
        a[sl, sl] = np.eye(np1) - ell ** 2 * (dk @ dk)
    for k in range(nd):            # interface / boundary rows: the endpoints of each subdomain
        top, bot = k * np1, k * np1 + order          # x = +1 (right end), x = -1 (left end)
        dk = d / hw[k]
        if k == 0:                                   # lower edge: -j' = -c j  ->  j' - c j = 0
            a[bot] = 0.0
            a[bot, k * np1:(k + 1) * np1] = dk[-1]
            a[bot, bot] -= slip
            rhs[bot] = 0.0
        if k == nd - 1:                              # upper edge: j' = -c j
            a[top] = 0.0
            a[top, k * np1:(k + 1) * np1] = dk[0]
            a[top, top] += slip_upper
            rhs[top] = 0.0
        if k < nd - 1:                               # continuity of j and j' with domain k+1
            nb = (k + 1) * np1 + order
            dn = d / hw[k + 1]
            a[top] = 0.0
            a[top, top], a[top, nb] = 1.0, -1.0
            rhs[top] = 0.0
            a[nb] = 0.0
            a[nb, k * np1:(k + 1) * np1] = dk[0]
            a[nb, (k + 1) * np1:(k + 2) * np1] -= dn[-1]
            rhs[nb] = 0.0
    sol = np.linalg.solve(a, rhs).reshape(nd, np1)
    polys = tuple(np.polynomial.chebyshev.Chebyshev.fit(x, sol[k], order) for k in range(nd))
    return HydroSolution(kn=float(kn), edges=edges, polys=polys)


@dataclass(frozen=True)
class HydroSolution:
    """Piecewise Chebyshev solution of Eqs. (8) on equal subdomains of [-w/2, w/2] (units lambda)."""

    kn: float
    edges: np.ndarray
    polys: tuple

    def __call__(self, eta):
        """(j, dj/deta) at ``eta`` (array), each an array like ``eta``."""
        eta = np.asarray(eta, float)
        nd = len(self.polys)
        k = np.clip(np.searchsorted(self.edges, eta, side="right") - 1, 0, nd - 1)
        hw = 0.5 * (self.edges[k + 1] - self.edges[k])
        xi = (eta - 0.5 * (self.edges[k] + self.edges[k + 1])) / hw
        j, dj = np.empty(eta.shape), np.empty(eta.shape)
        for kk in np.unique(k):
            m = k == kk
            j[m] = self.polys[kk](xi[m])
            dj[m] = self.polys[kk].deriv()(xi[m]) / hw[m]
        return j, dj

    def mean(self):
        """Ribbon average of j, integrating the polynomials exactly."""
        tot = 0.0
        for k, poly in enumerate(self.polys):
            anti = poly.integ()
            tot += 0.5 * (self.edges[k + 1] - self.edges[k]) * (anti(1.0) - anti(-1.0))
        return tot / (self.edges[-1] - self.edges[0])


def b_factor(kn, slip=SLIP_PAPER_B, ell=ELL):
    """B(Kn) of Eq. (9) for slip coefficient c (c = 8/(3pi) gives the paper's formula)."""
    _check(kn, slip)
    return 1.0 / (1.0 + np.tanh(0.5 / (kn * ell)) / (ell * slip))


def b_factor_paper(kn):
    """B(Kn) exactly as printed after Eq. (9): [1 + 3pi/(4 sqrt 2) tanh(1/(sqrt 2 Kn))]^-1."""
    return 1.0 / (1.0 + 3 * np.pi / (4 * np.sqrt(2)) * np.tanh(1.0 / (np.sqrt(2) * kn)))


def current_closed(eta, kn, slip=SLIP_PAPER_B, ell=ELL):
    """Eq. (9): j(eta) = 1 - B cosh(eta/ell)/cosh(w/(2 ell)), stable for large w."""
    eta = np.asarray(eta, float)
    w = 1.0 / kn
    ratio = np.exp((np.abs(eta) - 0.5 * w) / ell) * (1 + np.exp(-2 * np.abs(eta) / ell)) / (
        1 + np.exp(-w / ell))
    return 1.0 - b_factor(kn, slip, ell) * ratio


def lz_closed(eta, kn, slip=SLIP_PAPER_B, ell=ELL):
    """Eq. (10) in units hbar^2 E/(2 eps_F e rho lambda): (B/ell) sinh(eta/ell)/cosh(w/(2 ell))."""
    eta = np.asarray(eta, float)
    w = 1.0 / kn
    ratio = np.sign(eta) * np.exp((np.abs(eta) - 0.5 * w) / ell) * (
        1 - np.exp(-2 * np.abs(eta) / ell)) / (1 + np.exp(-w / ell))
    return b_factor(kn, slip, ell) / ell * ratio


def mean_current_closed(kn, slip=SLIP_PAPER_B, ell=ELL):
    """Ribbon average of Eq. (9): 1 - B (2 ell Kn) tanh(1/(2 ell Kn))."""
    return 1.0 - b_factor(kn, slip, ell) * 2 * ell * kn * np.tanh(0.5 / (kn * ell))


def half_accumulation_closed(kn, slip=SLIP_PAPER_B, ell=ELL):
    """int_0^{W/2} L^z dy of Eq. (10) (units hbar^2 E/(2 eps_F e rho)): B (1 - 1/cosh(w/(2 ell)))."""
    return b_factor(kn, slip, ell) * (1.0 - 1.0 / np.cosh(min(0.5 / (kn * ell), 700.0)))
