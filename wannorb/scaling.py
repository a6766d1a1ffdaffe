"""Scaling laws of σ(A) over spin-orbit scales A: local and global exponents, and the √A term.

Plain functions of lists (scales, values, error estimates), used by :mod:`wannorb.sweep` for the
sweep JSON's ``exponents`` and ``sqrt_term`` and by ``examples/sweep_report.py`` on stored sweeps.
An exponent is d ln|σ| / d ln A: 1 for a first-order quantity, 2 for second order, 0 for a value
finite as A → 0 (the paper's claims after Eq. (4) are statements about these numbers).
"""
import math

import numpy as np

# The small-A fit ("small_A" exponent) uses the scales up to this: the paper's claims are about
# the limit A → 0, and a fit over 0.01…2 mixes that limit with the saturation at large A.
SMALL_A = 0.1


def local_exponents(scales, values):
    """d ln|σ| / d ln A between neighbouring scales (None where a value is 0)."""
    out = []
    for (a0, v0), (a1, v1) in zip(zip(scales, values), zip(scales[1:], values[1:])):
        if v0 == 0 or v1 == 0 or a0 == a1:
            out.append(None)
        else:
            out.append(math.log(abs(v1) / abs(v0)) / math.log(a1 / a0))
    return out


def global_exponent(scales, values, use=None):
    """Least-squares slope of ln|σ| against ln A over the points in ``use`` (default all non-zero).

    Returns {"value", "stderr", "n_points", "points"}; stderr from the residuals (None for 2 points).
    """
    idx = [i for i in range(len(scales)) if values[i] not in (0, None) and (use is None or use[i])]
    if len(idx) < 2:
        return {"value": None, "stderr": None, "n_points": len(idx), "points": idx}
    x = np.log([scales[i] for i in idx])
    y = np.log([abs(values[i]) for i in idx])
    A = np.vstack([x, np.ones_like(x)]).T
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    stderr = None
    if len(idx) > 2:
        res = y - A @ coef
        stderr = float(math.sqrt(res @ res / (len(idx) - 2) / ((x - x.mean()) @ (x - x.mean()))))
    return {"value": float(coef[0]), "stderr": stderr, "n_points": len(idx), "points": idx}


def exponents_table(scales, sigma, conv):
    """exponents[method][quantity] of the sweep JSON from sigma and converged (dicts of lists over
    scales): global fit (converged points when ≥ 2), small-A fit (A ≤ SMALL_A), local exponents, signs."""
    expo = {}
    for m in sigma:
        expo[m] = {}
        for q in sigma[m]:
            vals = sigma[m][q]
            g = global_exponent(scales, vals, use=conv[m][q] if sum(conv[m][q]) >= 2 else None)
            g["uses_unconverged_points"] = sum(conv[m][q]) < 2
            small = [a <= SMALL_A for a in scales]
            small_conv = [a and c for a, c in zip(small, conv[m][q])]
            gs = global_exponent(scales, vals, use=small_conv if sum(small_conv) >= 2 else small)
            gs["uses_unconverged_points"] = sum(small_conv) < 2
            gs["max_scale"] = SMALL_A
            signs = [int(np.sign(v)) for v in vals]
            expo[m][q] = {"global": g, "small_A": gs, "local": local_exponents(scales, vals),
                          "local_converged": [bool(a and b) for a, b in zip(conv[m][q], conv[m][q][1:])],
                          "sign": signs, "sign_changes": bool(len(set(s for s in signs if s)) > 1)}
    return expo


# the forms `sqrt_term` sets beside a·A + b·√A: first order alone, √A alone, and first order with the
# Kubo SHE's logarithm (its exponent drifts towards 1 as slowly as a √A admixture drifts towards ½)
SQRT_TERM_ALTERNATIVES = {
    "a*A": lambda A: [A],
    "b*sqrt(A)": lambda A: [np.sqrt(A)],
    "a*A + c*A*ln(1/A)": lambda A: [A, A * np.log(1.0 / A)],
}


def _weighted_fit(columns, y, w):
    """Least squares of y on the columns with weights w: (coefficients, stderr, chi2)."""
    X = np.column_stack(columns) * w[:, None]
    coef, *_ = np.linalg.lstsq(X, y * w, rcond=None)
    err = np.sqrt(np.diag(np.linalg.inv(X.T @ X)))
    return coef, err, float(np.sum((X @ coef - y * w) ** 2))


def sqrt_term_fit(scales, eq4, conserved, err_eq4, err_conserved, max_scale=SMALL_A):
    """Eq. (4) − conserved SHE = a·A + b·√A, weighted least squares over the scales A ≤ max_scale.

    Both routes share the first-order (∝ A) spin current of the conserved part; what Eq. (4) adds is
    −Im Tr[(∂X_bp)(∂P)P], first order too, except at an orbital triplet on a time-reversal-invariant
    point (Γ₂₅' of cubic d metals), where it is ∝ k_A ∝ √A (docs/sweep.md, "Cr's Eq. (4) SHE: a √A
    term"). b ≠ 0 beyond its error is that term; a first-order difference gives b ≈ 0. b depends on
    the degeneracy tolerance: a Γ that merges the triplet's Γ₈ pairs (split ∝ k² next to the point)
    changes it (Cr: b = 35.5 ± 3.5 at Γ = 0.1 meV, −5.8 ± 1.3 at 1 µeV; docs/sweep.md, "Sessions 13, 14").
    ``alternatives`` fits the same points to a·A, b·√A and a·A + c·A ln(1/A) with their χ²: a form
    whose χ² is far above its dof is rejected by the points; two that both fit are not told apart.

    scales : A (dimensionless); eq4, conserved : σ^z_xy spin per scale, (ħ/e) S/cm; err_* : their
    error estimates (None read as 0), summed as the weight's error (an upper bound: both routes use
    the same k-points). Returns None with fewer than 3 distinct scales ≤ max_scale, else dict(a, b, stderr
    {a, b} from the weights, chi2, dof, n_points, max_scale, form, alternatives {form: {coefficients,
    stderr, chi2, dof}}).
    """
    A = np.asarray(scales, float)
    use = np.flatnonzero(A <= max_scale)
    if len(np.unique(A[use])) < 3:      # repeated scales (allowed on the command line) do not pin two terms
        return None
    y = np.array([eq4[i] - conserved[i] for i in use], float)
    e = np.array([(err_eq4[i] or 0.0) + (err_conserved[i] or 0.0) for i in use], float)
    w = 1.0 / np.maximum(e, 1e-12 + 1e-6 * np.abs(y))   # an unchecked (0) error must not get infinite weight
    (a, b), (sa, sb), chi2 = _weighted_fit([A[use], np.sqrt(A[use])], y, w)
    alternatives = {}
    for form, cols in SQRT_TERM_ALTERNATIVES.items():
        c, se, x2 = _weighted_fit(cols(A[use]), y, w)
        alternatives[form] = {"coefficients": [float(v) for v in c], "stderr": [float(v) for v in se],
                              "chi2": x2, "dof": int(len(use) - len(c))}
    return {"form": "sigma_eq4 - sigma_conserved = a*A + b*sqrt(A) (spin)", "a": float(a), "b": float(b),
            "stderr": {"a": float(sa), "b": float(sb)}, "chi2": chi2,
            "dof": int(len(use) - 2), "n_points": int(len(use)), "max_scale": float(max_scale),
            "alternatives": alternatives}


def sqrt_term(methods, quantities, scales, sigma, err):
    """The sweep JSON's ``sqrt_term`` (:func:`sqrt_term_fit` on the spin quantity), or None when the
    sweep lacks eq4, conserved or spin."""
    if not ({"eq4", "conserved"} <= set(methods) and "spin" in quantities):
        return None
    return sqrt_term_fit(scales, sigma["eq4"]["spin"], sigma["conserved"]["spin"],
                         err["eq4"]["spin"], err["conserved"]["spin"])
