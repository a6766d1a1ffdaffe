"""Time-reversal and inversion projection of a saved non-magnetic Wannier system.

Why: the hcp route (full mesh, disentanglement only, no site symmetry; docs/data.md) gives
subspaces at k and −k that are not exactly conjugate, so the model breaks time reversal Θ and
inversion P by a few meV in H(R) and Kramers pairs split by tens of meV off the mesh.  Eq. (4)
needs the Kramers pairs (PΘ symmetry), so the pipeline projects the model onto its Θ- and
P-symmetric part, exactly as a symmetriser would, and records by how much that moved it.

Both operations act on the scalar system (``system_up``: H0(R) and V_c(R), wannierberri's
convention H(k) = Σ_R e^{2πi k·R} X(R), element (m, n) at R = ⟨w_m,0|X|w_n,R⟩):

* Θ (Wannier functions real, as made from real projections):  H0 → Re H0,  V_c → i Im V_c
  (V_c = ⟨w_m|ξ L_c|w_n⟩ is imaginary for real functions; spin is the Pauli doubling).
* P (x → −x + t, from spglib): the function n on site a, frame A_a (rows), goes to
  ε_n × the function P(n) of the same (l, m) on the image site b = P(a), cell L_a, where
  −τ_a + t = τ_b + L_a.  This needs −A_a A_b^T = ±1 (ε_n = (±1)^l), which holds for one atom at
  an inversion centre (−1) and for the hcp frames wannierberri's ``rotate_basis`` gives (+1);
  anything else is refused.  Then X_mn(R) = ε_m ε_n X_P(m)P(n)(−R + L_a(n) − L_a(m)) for
  X = H0 and V_c (L is even under P), and the projection is the average of the two sides.
  R-vectors missing on one side are added (the union keeps H(k) a finite Fourier sum).

The centres are averaged with their inversion images too.  H(k) changes by the removed
asymmetric part only; :func:`symmetrize_pt` returns its size and the Kramers splitting
before and after.
"""
from __future__ import annotations

import contextlib
import io

import numpy as np

from . import tb


def inversion_operation(lattice, positions, numbers):
    """(t, perm, L) of the inversion x → −x + t of the crystal (fractional), from spglib.

    perm[a] = b and L[a] (int, 3) with −τ_a + t = τ_b + L_a.  Raises if the crystal has no
    inversion.
    """
    import spglib
    ds = spglib.get_symmetry((np.asarray(lattice), np.asarray(positions), np.asarray(numbers)),
                             symprec=1e-4)
    for rot, t in zip(ds["rotations"], ds["translations"]):
        if np.array_equal(rot, -np.eye(3, dtype=int)):
            break
    else:
        raise ValueError("the crystal has no inversion centre: Kramers pairs are not protected")
    pos = np.asarray(positions, float)
    perm, L = [], []
    for a in range(len(pos)):
        img = -pos[a] + t
        d = img[None, :] - pos
        shift = np.rint(d)
        b = int(np.argmin(np.linalg.norm(d - shift, axis=1)))
        if np.linalg.norm(d[b] - shift[b]) > 1e-4:
            raise ValueError("inversion image of an atom is not an atom")
        perm.append(b)
        L.append(shift[b].astype(int))
    return np.asarray(t, float), np.asarray(perm), np.asarray(L)


def orbital_map(orbitals, axes, perm):
    """(P (N,) int, eps (N,) ±1): the function P[n] that inversion maps n onto, with its sign."""
    index = {(o["site"], o["l"], o["m"]): n for n, o in enumerate(orbitals)}
    P, eps = np.zeros(len(orbitals), int), np.zeros(len(orbitals))
    for n, o in enumerate(orbitals):
        a, b = o["site"], int(perm[o["site"]])
        M = -np.asarray(axes[a], float) @ np.asarray(axes[b], float).T
        if np.allclose(M, np.eye(3), atol=1e-6):
            sign = 1.0
        elif np.allclose(M, -np.eye(3), atol=1e-6):
            sign = -1.0
        else:
            raise ValueError(f"site frames of atoms {a} and {b} are not related by ±1 under inversion")
        P[n] = index[(b, o["l"], o["m"])]
        eps[n] = sign ** o["l"]
    return P, eps


def project_time_reversal(H, V):
    """Θ-symmetric parts for real Wannier functions: Re H0(R), i Im V_c(R) (same R list)."""
    return H.real.astype(complex), 1j * V.imag


def project_inversion(iR, H, V, site_of, P, eps, L):
    """P-symmetric parts of H0(R) (NR,N,N) and V(R) (NR,N,N,3): the average of X and its image.

    The image of the element (P m, P n) at R is the element (m, n) at −R + L_a(n) − L_a(m), times
    ε_m ε_n (module docstring).  Returns (iR_new, H_new, V_new) on the union of the R lists.
    """
    N = H.shape[1]
    Ls = L[site_of]                                          # (N, 3): L_a(n)
    shift = Ls[None, :, :] - Ls[:, None, :]                  # (N, N, 3)
    keys = {tuple(r) for r in iR}
    for r in iR:
        for dv in {tuple(x) for x in shift.reshape(-1, 3)}:
            keys.add(tuple(-r + np.asarray(dv)))
    iR_new = np.array(sorted(keys), int)
    index = {tuple(r): i for i, r in enumerate(iR_new)}
    Hn = np.zeros((len(iR_new), N, N), complex)
    Vn = np.zeros((len(iR_new), N, N, 3), complex)
    sgn = 0.5 * eps[:, None] * eps[None, :]
    for r, h, v in zip(iR, H, V):
        Hn[index[tuple(r)]] += 0.5 * h
        Vn[index[tuple(r)]] += 0.5 * v
        hp, vp = h[np.ix_(P, P)], v[np.ix_(P, P)]
        for m in range(N):
            for n in range(N):
                i = index[tuple(-r + shift[m, n])]
                Hn[i, m, n] += sgn[m, n] * hp[m, n]
                Vn[i, m, n] += sgn[m, n] * vp[m, n]
    keep = (np.abs(Hn).reshape(len(iR_new), -1).max(1) > 0) | (np.abs(Vn).reshape(len(iR_new), -1).max(1) > 0)
    return iR_new[keep], Hn[keep], Vn[keep]


def project(iR, H, V, site_of, P, eps, L):
    """Θ- and P-symmetric parts (the two projections commute): (iR_new, H_new, V_new)."""
    H, V = project_time_reversal(H, V)
    return project_inversion(iR, H, V, site_of, P, eps, L)


def kramers_splitting(iR, H, V, n_k=64, seed=0):
    """Largest |ε_{2i+1} − ε_{2i}| (eV) of the spinful model at random k (reduced coordinates)."""
    from wannorb.hall import pair_splitting
    k = np.random.default_rng(seed).random((n_k, 3))
    return pair_splitting(np.linalg.eigvalsh(tb.bloch_hamiltonian(iR, H, V, k)))


def symmetrize_pt(sysdir, orbitals, axes, lattice, positions, numbers, n_k=64, windows=None) -> dict:
    """Rewrite the saved system in ``sysdir`` with its Θ- and P-symmetric part.

    ``orbitals`` (site, l, m per function, basis order), ``axes`` (site frames), ``lattice`` (Å,
    rows), ``positions`` (fractional), ``numbers`` (atomic numbers).  Returns a record: the
    largest removed asymmetric parts of H0 and V (meV), the largest change of any band at
    ``n_k`` random k (meV) and the Kramers splitting before and after (meV).
    """
    from wannierberri.fourier.rvectors import Rvectors
    system = tb.load_system(sysdir)
    up = system.system_up
    iR, H, V = tb.real_space_arrays(system)
    t, perm, L = inversion_operation(lattice, positions, numbers)
    site_of = np.array([o["site"] for o in orbitals])
    P, eps = orbital_map(orbitals, axes, perm)
    iR2, H2, V2 = project(iR, H, V, site_of, P, eps, L)
    k = np.random.default_rng(1).random((n_k, 3))
    E1 = np.linalg.eigvalsh(tb.bloch_hamiltonian(iR, H, V, k))
    E2 = np.linalg.eigvalsh(tb.bloch_hamiltonian(iR2, H2, V2, k))
    # centres: average each with the inversion image of its partner
    c = np.asarray(up.wannier_centers_red, float)
    img = -c[P] + t
    img = img - np.rint(img - c)
    centres_red = 0.5 * (c + img)
    lat = np.asarray(up.real_lattice, float)
    rec = dict(
        method="workflows.symmetrize.symmetrize_pt: time-reversal (real Wannier functions) and "
               "inversion projection of H0(R) and V_soc(R)",
        inversion_translation_frac=t, inversion_site_map=perm,
        max_removed_H0_meV=1e3 * _removed(iR, H, iR2, H2),
        max_removed_Vsoc_meV=1e3 * _removed(iR, V, iR2, V2),
        max_band_change_meV=1e3 * float(np.abs(E1 - E2).max()),
        max_band_change_in_window_meV={
            name: 1e3 * float(np.abs(E1 - E2)[(E1 > lo) & (E1 < hi)].max(initial=0.0))
            for name, (lo, hi) in (windows or {}).items()},
        kramers_splitting_before_meV=1e3 * kramers_splitting(iR, H, V, n_k),
        kramers_splitting_after_meV=1e3 * kramers_splitting(iR2, H2, V2, n_k),
        max_centre_change_A=float(np.linalg.norm((centres_red - c) @ lat, axis=1).max()),
        n_R_before=len(iR), n_R_after=len(iR2), random_k_points=n_k)
    up.wannier_centers_cart = centres_red @ lat
    up.rvec = Rvectors(lattice=lat, shifts_left_red=up.wannier_centers_red, iRvec=iR2)
    up.set_R_mat("Ham", H2, reset=True)
    up.set_R_mat("dV_soc", V2, reset=True)
    system.rvec = up.rvec
    system.wannier_centers_cart = np.repeat(up.wannier_centers_cart, 2, axis=0)
    with contextlib.redirect_stdout(io.StringIO()):
        system.save_npz(str(sysdir))
    return rec


def _removed(iR, X, iR2, X2):
    """Largest |X − X_sym| over every R of either list (eV)."""
    keys = sorted({tuple(r) for r in iR} | {tuple(r) for r in iR2})
    index = {r: i for i, r in enumerate(keys)}
    a = np.zeros((len(keys),) + X.shape[1:], complex)
    b = np.zeros_like(a)
    a[[index[tuple(r)] for r in iR]] = X
    b[[index[tuple(r)] for r in iR2]] = X2
    return float(np.abs(a - b).max())
