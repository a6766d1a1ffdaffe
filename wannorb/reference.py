"""Slow, plain-numpy twins of the kernels: the test oracle.

Written from the paper's definitions in the orbital basis with explicit projectors, a different
route from the kernels' eigenbasis sums:

  P_n = Σ_{s∈n} |s⟩⟨s|,  ∂_a P_n = Σ_{m≠n} (P_m ∂_a H P_n + P_n ∂_a H P_m)/(ε_n − ε_m),
  F_n^{ab} = i P_n [∂_a P_n, ∂_b P_n] P_n,  X_n = P_n X P_n,
  eq4:  Tr[X_n^j F_n^{ik}]   (Eq. 4, with ε_ikl F^l = F^{ik})
  Kubo: −2 Im Tr[P_n J R_n v^k],  R_n = Σ_{m≠n} P_m/(ε_n − ε_m)²,
        J = ½{v^i, X^j} (conventional) or ½{v^i, X_bp^j} (conserved).

Everything is returned per degenerate group (gauge-invariant), not per state.
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
    Xbp = np.einsum("gab,qjbc,gcd->qjad", P, Xk, P)
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
