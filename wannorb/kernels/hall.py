"""Per-state integrands of the three Hall routes at each k-point (numba).

For each k-point and state n (eigenbasis of H(k), v^a = U† ∂_a H U in eV·Å, X^j = U† X^j(k) U,
X_bp the part of X inside the degenerate groups, D_nm = 1/(ε_n − ε_m)² for n, m in different
groups and 0 inside a group) the kernel returns, all in Å² × (units of X):

  eq4          Ω_n = −2 Im Σ_m (X_bp^j v^i)_nm v^k_mn D_nm
               summed over a group this is Tr[X_n^j F_n^{ik}], F^{ik} = i P[∂_i P, ∂_k P]P the
               non-Abelian Berry curvature: Eq. (4) of the paper (with F^l = ½ε_lab F^ab).
  conventional Ω_n = −2 Im Σ_m ½{v^i, X^j}_nm v^k_mn D_nm        (Kubo, current ½{v, X})
  conserved    Ω_n = −2 Im Σ_m ½{v^i, X_bp^j}_nm v^k_mn D_nm     (Kubo, current ½{v, X_bp})

σ^j_ik = (e²/ħ) ∫ d³k/(2π)³ Σ_n f(ε_n) Ω_n is done by ``wannorb.hall``.
Hermiticity is used to halve the work: ({X, v})_nm needs only (X v)_nm and conj((X v)_mn).
"""
import numpy as np

from .jit import kernel, prange, serial

METHODS = ("eq4", "conventional", "conserved")


@kernel
def hall_integrands(Hk, dHk, phase, Xops, degen_tol, E_out, omega_out, mingap_out):
    """Fill E_out, omega_out and mingap_out for a chunk of k-points.

    Parameters
    ----------
    Hk : (nk, nw, nw) complex128, eV
    dHk : (nk, 3, nw, nw) complex128, eV·Å (Cartesian)
    phase : (nk, nw) complex128 — e^{i k·τ_n}; operators become X_mn conj(φ_m) φ_n
    Xops : (nq, 3, nw, nw) complex128 — real-space on-site operators (units of ħ)
    degen_tol : float, eV — states closer than this (chained) form one group
    E_out : (nk, nw) float64, eV (output)
    omega_out : (nk, 3, nq, 3, 3, 3, nw) float64 — [k, method, q, j, i, kdir, n] (output)
    mingap_out : (nk,) float64, eV — smallest gap between adjacent groups (output; inf if one group)
    """
    nk = Hk.shape[0]
    nw = Hk.shape[1]
    nq = Xops.shape[0]
    for ik in prange(nk):
        E, U = np.linalg.eigh(Hk[ik])
        Xk = np.empty((nq, 3, nw, nw), np.complex128)
        for q in range(nq):
            for j in range(3):
                for m in range(nw):
                    for n in range(nw):
                        Xk[q, j, m, n] = Xops[q, j, m, n] * np.conj(phase[ik, m]) * phase[ik, n]
        E_out[ik] = E
        mingap_out[ik] = integrands_at_k(E, U, dHk[ik], Xk, degen_tol, omega_out[ik])


@serial
def integrands_at_k(E, U, dH, Xk, degen_tol, out):
    """Integrands of one k-point from its eigensystem, in any gauge U inside degenerate groups.

    E : (nw,) eV ascending; U : (nw, nw) eigenvectors (columns); dH : (3, nw, nw) eV·Å;
    Xk : (nq, 3, nw, nw) operators at k; out : (3, nq, 3, 3, 3, nw) filled.
    Returns the smallest gap between adjacent groups (eV).
    """
    nw = E.shape[0]
    nq = Xk.shape[0]
    Ud = np.ascontiguousarray(U.conj().T)
    Uc = np.ascontiguousarray(U)
    V = np.empty((3, nw, nw), np.complex128)
    for a in range(3):
        V[a] = Ud @ (np.ascontiguousarray(dH[a]) @ Uc)
    gid = np.zeros(nw, np.int64)
    gap = np.inf
    for n in range(1, nw):
        d = E[n] - E[n - 1]
        if d >= degen_tol:
            gid[n] = gid[n - 1] + 1
            if d < gap:
                gap = d
        else:
            gid[n] = gid[n - 1]
    gstart = np.zeros(nw, np.int64)
    gend = np.zeros(nw, np.int64)
    for n in range(nw):
        gstart[n] = n if (n == 0 or gid[n] != gid[n - 1]) else gstart[n - 1]
    for n in range(nw - 1, -1, -1):
        gend[n] = n + 1 if (n == nw - 1 or gid[n] != gid[n + 1]) else gend[n + 1]
    D = np.zeros((nw, nw))
    for n in range(nw):
        for m in range(nw):
            if gid[n] != gid[m]:
                D[n, m] = 1.0 / (E[n] - E[m]) ** 2
    XbpV = np.empty((nw, nw), np.complex128)
    for q in range(nq):
        for j in range(3):
            X = Ud @ (np.ascontiguousarray(Xk[q, j]) @ Uc)
            for i in range(3):
                XV = X @ V[i]
                # X_bp v: only the group block of X enters
                for n in range(nw):
                    for m in range(nw):
                        acc = 0j
                        for p in range(gstart[n], gend[n]):
                            acc += X[n, p] * V[i, p, m]
                        XbpV[n, m] = acc
                for kd in range(3):
                    for n in range(nw):
                        s_eq4 = 0.0
                        s_conv = 0.0
                        s_oth = 0.0
                        for m in range(nw):
                            w = D[n, m]
                            if w == 0.0:
                                continue
                            vk = V[kd, m, n]
                            # (v X)_nm = conj((X v)_mn) for Hermitian X, v
                            s_conv += (0.5 * (XV[n, m] + np.conj(XV[m, n])) * vk).imag * w
                            s_eq4 += (XbpV[n, m] * vk).imag * w
                            s_oth += (np.conj(XbpV[m, n]) * vk).imag * w
                        out[0, q, j, i, kd, n] = -2.0 * s_eq4
                        out[1, q, j, i, kd, n] = -2.0 * s_conv
                        out[2, q, j, i, kd, n] = -(s_eq4 + s_oth)
    return gap


def allocate_outputs(nk, nw, nq):
    """Preallocated outputs for :func:`hall_integrands`."""
    return (np.empty((nk, nw)), np.empty((nk, 3, nq, 3, 3, 3, nw)), np.empty(nk))
