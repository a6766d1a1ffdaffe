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
    """Fill E_out, omega_out and mingap_out for a chunk of k-points: every tensor component.

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
    Xflat = np.ascontiguousarray(Xops).reshape(nq * 3, nw, nw)
    dirs = np.arange(3)
    for ik in prange(nk):
        E, U = np.linalg.eigh(Hk[ik])
        E_out[ik] = E
        mingap_out[ik] = selected_at_k(E, U, dHk[ik], _phased(Xflat, phase[ik]), dirs, dirs, degen_tol,
                                       omega_out[ik].reshape(3, nq * 3, 3, 3, nw))


@kernel
def hall_component(Hk, dHk, phase, Xj, i, k, degen_tol, E_out, omega_out, mingap_out):
    """One tensor component σ^j_ik of every method: :func:`hall_integrands` restricted to the
    current direction i and field direction k (0, 1, 2 = x, y, z) and the operators Xj.

    Xj : (nx, nw, nw) complex128 — the j-th component of each quantity, e.g. Xops[:, j] (units of ħ)
    omega_out : (nk, 3, nx, nw) float64 — [k, method, x, n] (output); the other arguments as
    :func:`hall_integrands`. The same numbers as the full kernel's [:, :, q, j, i, k] (tested),
    at the cost of one component: the plane quadrature needs no other.
    """
    nk = Hk.shape[0]
    nw = Hk.shape[1]
    nx = Xj.shape[0]
    idirs = np.array([i])
    kdirs = np.array([k])
    for ik in prange(nk):
        E, U = np.linalg.eigh(Hk[ik])
        E_out[ik] = E
        mingap_out[ik] = selected_at_k(E, U, dHk[ik], _phased(Xj, phase[ik]), idirs, kdirs, degen_tol,
                                       omega_out[ik].reshape(3, nx, 1, 1, nw))


@serial
def _phased(X, ph):
    """X_mn conj(φ_m) φ_n for a stack X (nx, nw, nw): the on-site operators at k."""
    nx, nw = X.shape[0], X.shape[1]
    Xk = np.empty((nx, nw, nw), np.complex128)
    for b in range(nx):
        for m in range(nw):
            for n in range(nw):
                Xk[b, m, n] = X[b, m, n] * np.conj(ph[m]) * ph[n]
    return Xk


@serial
def integrands_at_k(E, U, dH, Xk, degen_tol, out):
    """Integrands of one k-point from its eigensystem, in any gauge U inside degenerate groups.

    E : (nw,) eV ascending; U : (nw, nw) eigenvectors (columns); dH : (3, nw, nw) eV·Å;
    Xk : (nq, 3, nw, nw) operators at k; out : (3, nq, 3, 3, 3, nw) filled.
    Returns the smallest gap between adjacent groups (eV).
    """
    nq, nw = Xk.shape[0], E.shape[0]
    dirs = np.arange(3)
    return selected_at_k(E, U, dH, np.ascontiguousarray(Xk).reshape(nq * 3, nw, nw), dirs, dirs, degen_tol,
                         out.reshape(3, nq * 3, 3, 3, nw))


@serial
def selected_at_k(E, U, dH, Xk, idirs, kdirs, degen_tol, out):
    """Integrands of one k-point for the operators Xk (nx, nw, nw), current directions idirs and
    field directions kdirs; out : (3, nx, len(idirs), len(kdirs), nw) filled. Returns the smallest
    gap between adjacent groups (eV).

    The dense work is matrix products on stacked operands (one BLAS call each, see
    docs/performance.md): V = U†[∂H^x|∂H^y|∂H^z]U, X_e = U†[X^b]U for all b, and X_e^b V^i for
    all (b, i); the rest is O(nw²) per component.
    """
    nw = E.shape[0]
    nx = Xk.shape[0]
    ni = idirs.shape[0]
    nkd = kdirs.shape[0]
    Uc = np.ascontiguousarray(U)
    Ud = np.ascontiguousarray(U.conj().T)
    # V^a = U† ∂_a H U, stored side by side: Vh[:, a*nw:(a+1)*nw]
    T = np.ascontiguousarray(dH).reshape(3 * nw, nw) @ Uc
    Th = np.empty((nw, 3 * nw), np.complex128)
    for a in range(3):
        Th[:, a * nw:(a + 1) * nw] = T[a * nw:(a + 1) * nw, :]
    Vh = Ud @ Th
    # X_e^b = U† X^b U, side by side, then stacked vertically for the products with V
    T2 = np.ascontiguousarray(Xk).reshape(nx * nw, nw) @ Uc
    T2h = np.empty((nw, nx * nw), np.complex128)
    for b in range(nx):
        T2h[:, b * nw:(b + 1) * nw] = T2[b * nw:(b + 1) * nw, :]
    Xh = Ud @ T2h
    Xv = np.empty((nx * nw, nw), np.complex128)
    for b in range(nx):
        Xv[b * nw:(b + 1) * nw, :] = Xh[:, b * nw:(b + 1) * nw]
    XV = Xv @ Vh                        # block (b, a): X_e^b V^a
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
    # B^k_nm = v^k_mn / (ε_n − ε_m)², zero inside a group; real and imaginary parts apart. Three
    # slots whatever len(kdirs) (≤ 3): the accumulators below stay scalars (registers)
    Br = np.zeros((nw, nw, 3))
    Bi = np.zeros((nw, nw, 3))
    for n in range(nw):
        for m in range(nw):
            if gid[n] != gid[m]:
                w = 1.0 / (E[n] - E[m]) ** 2
                for t in range(nkd):
                    v = Vh[m, kdirs[t] * nw + n]
                    Br[n, m, t] = v.real * w
                    Bi[n, m, t] = v.imag * w
    Pr = np.empty((nw, nw))             # X_bp v^i, real and imaginary parts
    Pi = np.empty((nw, nw))
    res = np.empty((3, 3))
    for b in range(nx):
        r0 = b * nw
        for s in range(ni):
            c0 = idirs[s] * nw
            # X_bp v^i: only the group block of X_e enters
            for n in range(nw):
                for m in range(nw):
                    acc = 0j
                    for p in range(gstart[n], gend[n]):
                        acc += Xv[r0 + n, p] * Vh[p, c0 + m]
                    Pr[n, m] = acc.real
                    Pi[n, m] = acc.imag
            for n in range(nw):
                c0x = 0.0
                c1x = 0.0
                c2x = 0.0
                e0 = 0.0
                e1 = 0.0
                e2 = 0.0
                o0 = 0.0
                o1 = 0.0
                o2 = 0.0
                for m in range(nw):
                    if gid[m] == gid[n]:
                        continue
                    # ½{v, X}: (X v)_nm + (v X)_nm, (v X)_nm = conj((X v)_mn) for Hermitian X, v
                    a = XV[r0 + n, c0 + m]
                    a2 = XV[r0 + m, c0 + n]
                    ar = a.real + a2.real
                    ai = a.imag - a2.imag
                    br0, br1, br2 = Br[n, m, 0], Br[n, m, 1], Br[n, m, 2]
                    bi0, bi1, bi2 = Bi[n, m, 0], Bi[n, m, 1], Bi[n, m, 2]
                    c0x += ar * bi0 + ai * br0
                    c1x += ar * bi1 + ai * br1
                    c2x += ar * bi2 + ai * br2
                    pr, pi = Pr[n, m], Pi[n, m]
                    e0 += pr * bi0 + pi * br0
                    e1 += pr * bi1 + pi * br1
                    e2 += pr * bi2 + pi * br2
                    qr, qi = Pr[m, n], -Pi[m, n]       # conj((X_bp v)_mn)
                    o0 += qr * bi0 + qi * br0
                    o1 += qr * bi1 + qi * br1
                    o2 += qr * bi2 + qi * br2
                res[0, 0], res[0, 1], res[0, 2] = -2.0 * e0, -2.0 * e1, -2.0 * e2
                res[1, 0], res[1, 1], res[1, 2] = -c0x, -c1x, -c2x
                res[2, 0], res[2, 1], res[2, 2] = -(e0 + o0), -(e1 + o1), -(e2 + o2)
                for t in range(nkd):
                    out[0, b, s, t, n] = res[0, t]
                    out[1, b, s, t, n] = res[1, t]
                    out[2, b, s, t, n] = res[2, t]
    return gap


def allocate_outputs(nk, nw, nq):
    """Preallocated outputs for :func:`hall_integrands`."""
    return (np.empty((nk, nw)), np.empty((nk, 3, nq, 3, 3, 3, nw)), np.empty(nk))


def allocate_component_outputs(nk, nw, nx):
    """Preallocated outputs for :func:`hall_component`."""
    return (np.empty((nk, nw)), np.empty((nk, 3, nx, nw)), np.empty(nk))


@serial
def unpack_hermitian(tri, iu, ju, Hk, dHk):
    """Fill Hermitian H (nk, nw, nw) and ∂H (nk, 3, nw, nw) from their upper triangles.

    tri : (nk, 4, ntri) complex — [H, ∂_x H, ∂_y H, ∂_z H] at the index pairs (iu, ju), iu ≤ ju.
    """
    nk = tri.shape[0]
    nt = iu.shape[0]
    for ik in range(nk):
        for t in range(nt):
            m = iu[t]
            n = ju[t]
            v = tri[ik, 0, t]
            Hk[ik, m, n] = v
            Hk[ik, n, m] = np.conj(v)
            for a in range(3):
                v = tri[ik, 1 + a, t]
                dHk[ik, a, m, n] = v
                dHk[ik, a, n, m] = np.conj(v)
