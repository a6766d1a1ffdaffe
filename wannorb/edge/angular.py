"""Angular quadrature and the angular transfer functions of the ribbon (building blocks of kinetic.py).

For a particle crossing a distance x (units of lambda) between collisions at angle theta to the
ribbon axis, the survival factor is exp(-x/|sin theta|). Integrals over theta of such factors
(2D analogues of the Bickley-Naylor functions) are

    Phi_n(x) = int_0^{pi/2} sin^n(theta) cos^2(theta) exp(-x/sin theta) dtheta,   n >= -1,

with d Phi_n/dx = -Phi_{n-1} and int_x^inf Phi_n = Phi_{n+1}. Phi_{-1} diverges like ln(1/x) at x -> 0,
all others are finite there. They are evaluated by composite Gauss-Legendre quadrature on
geometrically graded theta intervals (which resolves exp(-x/sin theta) for any x >= 1e-12) and
tabulated on a logarithmic x grid for fast spline interpolation.
"""
import functools

import numpy as np
from scipy.interpolate import CubicSpline

# smallest positive distance (units of lambda) tabulated; below it Phi_n(x) = Phi_n(0) to < 1e-11
X_MIN = 1e-12
# beyond this distance exp(-x) underflows towards 1e-261: Phi_n is set to 0
X_UNDERFLOW = 600.0
# tabulation density in ln(x): spline error ~ (step)^4 ~ 1e-12
TABLE_POINTS_PER_E_FOLD = 60
# exact values at x = 0: int_0^{pi/2} sin^n cos^2
PHI_AT_ZERO = {0: np.pi / 4, 1: 1.0 / 3.0, 2: np.pi / 16, 3: 2.0 / 15.0}


def grazing_rule(nodes_per_interval=16, decades=14):
    """Composite Gauss-Legendre rule on (0, pi/2), graded geometrically towards theta = 0.

    Intervals [0, 1e-decades], [1e-decades, 1e-(decades-1)], ..., [1e-1, 0.5], [0.5, pi/2]
    with ``nodes_per_interval`` nodes each (3x that on the last two).

    Returns
    -------
    theta : array (K,), radians, increasing
    weight : array (K,), radians, sum = pi/2
    """
    edges = [0.0] + [10.0 ** (-k) for k in range(decades, 0, -1)] + [0.5, np.pi / 2]
    x, w = np.polynomial.legendre.leggauss(nodes_per_interval)
    x3, w3 = np.polynomial.legendre.leggauss(3 * nodes_per_interval)
    th, wt = [], []
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
        xx, ww = (x3, w3) if i >= len(edges) - 3 else (x, w)
        th.append(0.5 * (b - a) * xx + 0.5 * (b + a))
        wt.append(0.5 * (b - a) * ww)
    return np.concatenate(th), np.concatenate(wt)


def full_circle_rule(nodes_per_interval=16, decades=14):
    """The graded rule reflected into the four quadrants: (theta, weight), theta in (0, 2 pi).

    Nodes cluster at theta = 0, pi (grazing incidence, sin theta -> 0); no node has sin theta = 0.
    Returns arrays (4K,) ordered: quadrant I, II (sin > 0), III, IV (sin < 0).
    """
    t, w = grazing_rule(nodes_per_interval, decades)
    theta = np.concatenate([t, np.pi - t, np.pi + t, 2 * np.pi - t])
    return theta, np.tile(w, 4)


def phi_direct(n, x, nodes_per_interval=24):
    """Phi_n(x) by direct quadrature (reference; slow for many x).

    Parameters
    ----------
    n : int >= -1
    x : array (...), distance in units of lambda, > 0 for n = -1

    Returns
    -------
    array (...), float
    """
    t, w = grazing_rule(nodes_per_interval, decades=15)
    x = np.asarray(x, dtype=float)
    s, c = np.sin(t), np.cos(t)
    out = np.empty(x.shape)
    flat = x.reshape(-1)
    res = out.reshape(-1)
    for i0 in range(0, flat.size, 2048):
        xx = flat[i0:i0 + 2048, None]
        res[i0:i0 + 2048] = (np.exp(-xx / s) * (s ** n * c * c * w)).sum(axis=1)
    return out


@functools.lru_cache(maxsize=8)
def _table(x_max):
    npts = int(TABLE_POINTS_PER_E_FOLD * (np.log(x_max) - np.log(X_MIN))) + 2
    lx = np.linspace(np.log(X_MIN), np.log(x_max), npts)
    splines = {}
    for n in (-1, 0, 1, 2, 3):
        # spline ln(Phi_n) + x (smooth in ln x at both ends) rather than ln(Phi_n)
        splines[n] = CubicSpline(lx, np.log(phi_direct(n, np.exp(lx))) + np.exp(lx))
    return splines


def phi(n, x):
    """Phi_n(x) from the log-log spline table (relative accuracy ~1e-11).

    Parameters
    ----------
    n : int in {-1, 0, 1, 2, 3}
    x : array (...), float >= 0, distance in units of lambda. Phi_{-1}(0) = +inf.

    Returns
    -------
    array (...), float
    """
    x = np.asarray(x, dtype=float)
    xmax = float(min(max(x.max(initial=1.0), 1.0), X_UNDERFLOW))
    x_tab = 2.0 ** np.ceil(np.log2(xmax * 1.01))  # cached per power of two
    spl = _table(x_tab)[n]
    out = np.empty(x.shape)
    small = x < X_MIN
    big = x > X_UNDERFLOW
    mid = ~(small | big)
    out[mid] = np.exp(spl(np.log(x[mid])) - x[mid])
    out[big] = 0.0
    out[small] = np.inf if n == -1 else PHI_AT_ZERO[n]
    return out
