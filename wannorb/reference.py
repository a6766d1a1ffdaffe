"""Slow, plain-numpy twins of the kernels: the test oracle.

Written from the paper's definitions in the orbital basis with explicit projectors, a different
route from the kernels' eigenbasis sums:

  P_n = Σ_{s∈n} |s⟩⟨s|,  ∂_a P_n = Σ_{m≠n} (P_m ∂_a H P_n + P_n ∂_a H P_m)/(ε_n − ε_m),
  F_n^{ab} = i P_n [∂_a P_n, ∂_b P_n] P_n,  X_n = P_n X P_n,
  eq4:  Tr[X_n^j F_n^{ik}]   (Eq. 4, with ε_ikl F^l = F^{ik})
  Kubo: −2 Im Tr[P_n J R_n v^k],  R_n = Σ_{m≠n} P_m/(ε_n − ε_m)²,
        J = ½{v^i, X^j} (conventional) or ½{v^i, X_bp^j} (conserved).

Everything is returned per degenerate group (gauge-invariant), not per state.

Eq. (4) and the conserved-current route differ by an exact Fermi-sea term (:func:`eq4_minus_conserved`):
since X_bp = Σ_a P_a X P_a commutes with H, [X_bp, ∂_i H] = −[∂_i X_bp, H], and per group

  eq4_a − conserved_a = −Im Tr[P_a [X_bp, v^i] R_a v^k] = −Im Tr[(∂_i X_bp)(∂_k P_a) P_a],

weighted by f_a alone (not f_a − f_b): it vanishes when X_bp does not depend on k (X conserved) and is
the whole Eq. (4) OHE where the conserved OHE is ≈ 0 (docs/sweep.md, "Eq. (4) minus conserved").
"""
import numpy as np

from .operators import degenerate_groups, projector_derivatives


def group_projectors(H, tol):
    """Eigenvalues, group starts and projectors of a Hermitian H.

    Returns E (nw,), starts (ngroup+1,), P (ngroup, nw, nw), eps (ngroup,) group mean energies.
    """
    E, U = np.linalg.eigh(H)
    starts = degenerate_groups(E, tol)
    P = np.array([U[:, a:b] @ U[:, a:b].conj().T for a, b in zip(starts[:-1], starts[1:])])
    eps = np.array([E[a:b].mean() for a, b in zip(starts[:-1], starts[1:])])
    return E, starts, P, eps


def projector_derivative(P, eps, dH, g):
    """∂P_g from the sum over the other groups, (nw, nw) for one direction dH."""
    return projector_derivatives(eps, P, dH)[g]


def nonabelian_curvature(P, eps, dH, g):
    """F_g^{ab} = i P[∂_a P, ∂_b P]P for all a, b, (3, 3, nw, nw) in the orbital basis."""
    dP = [projector_derivative(P, eps, dH[a], g) for a in range(3)]
    F = np.zeros((3, 3) + P[g].shape, complex)
    for a in range(3):
        for b in range(3):
            F[a, b] = 1j * P[g] @ (dP[a] @ dP[b] - dP[b] @ dP[a]) @ P[g]
    return F


def hall_group_integrands(Hk, dHk, Xk, tol):
    """Group-resolved integrands at one k-point.

    Parameters
    ----------
    Hk : (nw, nw) complex, eV;  dHk : (3, nw, nw) complex, eV·Å
    Xk : (nq, 3, nw, nw) complex — operators at this k (phases applied), units of ħ
    tol : degeneracy tolerance, eV

    Returns
    -------
    eps : (ngroup,) eV; size : (ngroup,) states per group;
    omega : (3, nq, 3, 3, 3, ngroup) float, Å²·ħ — [method (eq4, conventional, conserved), q, j, i, k, group]
    """
    E, starts, P, eps = group_projectors(Hk, tol)
    ng = len(P)
    nq = Xk.shape[0]
    omega = np.zeros((3, nq, 3, 3, 3, ng))
    Xbp = band_projected_operator(P, Xk)
    for g in range(ng):
        F = nonabelian_curvature(P, eps, dHk, g)
        Rg = sum(P[m] / (eps[g] - eps[m]) ** 2 for m in range(ng) if m != g)
        for q in range(nq):
            for j in range(3):
                Xg = P[g] @ Xk[q, j] @ P[g]
                for i in range(3):
                    Jc = 0.5 * (dHk[i] @ Xk[q, j] + Xk[q, j] @ dHk[i])
                    Js = 0.5 * (dHk[i] @ Xbp[q, j] + Xbp[q, j] @ dHk[i])
                    for k in range(3):
                        omega[0, q, j, i, k, g] = np.trace(Xg @ F[i, k]).real
                        omega[1, q, j, i, k, g] = -2 * np.trace(P[g] @ Jc @ Rg @ dHk[k]).imag
                        omega[2, q, j, i, k, g] = -2 * np.trace(P[g] @ Js @ Rg @ dHk[k]).imag
    return eps, np.diff(starts), omega


def band_projected_operator(P, X):
    """X_bp = Σ_a P_a X P_a: X (..., nw, nw) at one k (any leading stack axes), P (ngroup, nw, nw)
    the group projectors; returns X's shape."""
    return np.einsum("gab,...bc,gcd->...ad", P, X, P)


def eq4_minus_conserved(P, dP, dXbp):
    """−Im Tr[(∂_i X_bp)(∂_k P_a) P_a] for every group a, (3, 3, ngroup) [i, k, a], Å² × (units of X).

    P : (ngroup, nw, nw) projectors; dP : (3, ngroup, nw, nw) their k-derivatives (Å);
    dXbp : (3, nw, nw) the k-derivatives of X_bp (Å × units of X). Equals the per-group
    eq4 − conserved integrand of :func:`hall_group_integrands` for the same (j) operator.
    """
    ng = len(P)
    out = np.zeros((3, 3, ng))
    for a in range(ng):
        for i in range(3):
            for k in range(3):
                out[i, k, a] = -np.trace(dXbp[i] @ dP[k, a] @ P[a]).imag
    return out
