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
    perm, L = _atom_map(-pos + t, pos, 1e-4, "inversion")
    return np.asarray(t, float), perm, L


def _atom_map(images, pos, tol, what):
    """For fractional atom images (n, 3): the atom b each lands on and the lattice vector L with
    image_a = pos_b + L; raises if an image is farther than ``tol`` from every atom."""
    perm, L = [], []
    for img in images:
        d = img[None, :] - pos
        shift = np.rint(d)
        b = int(np.argmin(np.linalg.norm(d - shift, axis=1)))
        if np.linalg.norm(d[b] - shift[b]) > tol:
            raise ValueError(f"{what} image of an atom is not an atom")
        perm.append(b)
        L.append(shift[b].astype(int))
    return np.asarray(perm), np.asarray(L)


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
    system = tb.load_system(sysdir)
    up = system.system_up
    iR, H, V = tb.real_space_arrays(system)
    t, perm, L = inversion_operation(lattice, positions, numbers)
    site_of = np.array([o["site"] for o in orbitals])
    P, eps = orbital_map(orbitals, axes, perm)
    iR2, H2, V2 = project(iR, H, V, site_of, P, eps, L)
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
        **_change_record(iR, H, V, iR2, H2, V2, c, centres_red, lat, n_k, windows))
    _save(system, sysdir, iR2, H2, V2, centres_red)
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


# --- the whole space group ------------------------------------------------------------------
# Real orbitals in the Wannier90 convention, as polynomials of the unit vector (x, y, z); equal
# norms on the sphere within each l, so the rotation matrices between them are orthogonal.
_REAL_ORBITALS = {
    0: {"s": lambda x, y, z: np.ones_like(x)},
    1: {"pz": lambda x, y, z: z, "px": lambda x, y, z: x, "py": lambda x, y, z: y},
    2: {"dz2": lambda x, y, z: (2 * z * z - x * x - y * y) / (2 * np.sqrt(3.0)),
        "dxz": lambda x, y, z: x * z, "dyz": lambda x, y, z: y * z,
        "dx2-y2": lambda x, y, z: (x * x - y * y) / 2, "dxy": lambda x, y, z: x * y},
}


def orbital_rotation(l, labels, M, n_points=64, seed=0):
    """D (n, n) with Y_m(M s) = Σ_m' D[m', m] Y_m'(s) for the real orbitals ``labels`` of shell l
    (an orthogonal matrix for orthogonal M, proper or not); fitted on random unit vectors and
    checked to 1e-10."""
    s = np.random.default_rng(seed).normal(size=(n_points, 3))
    s /= np.linalg.norm(s, axis=1)[:, None]
    t = s @ np.asarray(M, float).T
    f = [_REAL_ORBITALS[l][m] for m in labels]
    Y = np.stack([g(*s.T) for g in f], axis=1)
    YM = np.stack([g(*t.T) for g in f], axis=1)
    D, *_ = np.linalg.lstsq(Y, YM, rcond=None)
    if np.abs(Y @ D - YM).max() > 1e-10 or np.abs(D.T @ D - np.eye(len(labels))).max() > 1e-10:
        raise ValueError(f"the orbitals {labels} (l = {l}) are not closed under a crystal rotation")
    return D


def space_group_operations(lattice, positions, numbers, symprec=1e-4):
    """Every {W|t} of the crystal (spglib): list of (W int (3,3) fractional, t (3,), Rc Cartesian
    (3,3), perm (n_atoms,), L (n_atoms, 3) int) with W τ_a + t = τ_perm[a] + L[a]."""
    import spglib
    lat = np.asarray(lattice, float)
    pos = np.asarray(positions, float)
    ds = spglib.get_symmetry((lat, pos, np.asarray(numbers)), symprec=symprec)
    ops = []
    for W, t in zip(ds["rotations"], ds["translations"]):
        perm, L = _atom_map(pos @ W.T + t, pos, 1e-3, "a space-group")
        Rc = lat.T @ W @ np.linalg.inv(lat.T)          # Cartesian: x_cart = lat.T @ x_frac
        ops.append((np.asarray(W, int), np.asarray(t, float), Rc, perm, L))
    return ops


def basis_rotation(orbitals, axes, Rc, perm):
    """(N, N) D with g w_n = Σ_n' D[n', n] w_n' (cells aside) for the operation Rc mapping site a
    to perm[a]: orbital (l, m) of site a in frame A_a goes to shell l of the image site in its frame."""
    N = len(orbitals)
    D = np.zeros((N, N))
    shells = {}
    for n, o in enumerate(orbitals):
        shells.setdefault((o["site"], o["l"]), []).append(n)
    for (a, l), idx in shells.items():
        b = int(perm[a])
        jdx = shells.get((b, l))
        if jdx is None or [orbitals[j]["m"] for j in jdx] != [orbitals[i]["m"] for i in idx]:
            raise ValueError(f"site {b} lacks the l = {l} shell of its symmetry partner {a}")
        M = np.asarray(axes[a], float) @ np.asarray(Rc).T @ np.asarray(axes[b], float).T
        D[np.ix_(jdx, idx)] = orbital_rotation(l, [orbitals[i]["m"] for i in idx], M)
    return D


def _apply(iR_t, index, X, W, D, L_site, site_of, Q=None):
    """T_g(X) on the target R list: X'_mn(R) = Σ D[m',m] D[n',n] X_m'n'(W R + L_n − L_m) (and for
    the spin-orbit vector V_c, Σ_d Q[d, c] of the same). Missing source R contribute zero."""
    out = np.zeros((len(iR_t),) + X.shape[1:], complex)
    sites = np.unique(site_of)
    for a in sites:
        ia = np.where(site_of == a)[0]
        for b in sites:
            ib = np.where(site_of == b)[0]
            src = iR_t @ W.T + (L_site[b] - L_site[a])
            j = np.array([index.get(tuple(r), -1) for r in src])
            ok = j >= 0
            Xs = X[j[ok]]                                           # (n, N, N[, 3])
            blk = np.einsum("pa,rpq...,qb->rab...", D[:, ia], Xs, D[:, ib])
            if Q is not None:
                blk = np.einsum("rabd,dc->rabc", blk, Q)
            out[np.ix_(np.where(ok)[0], ia, ib)] = blk
    return out


def project_space_group(iR, H, V, orbitals, axes, lattice, positions, numbers, axial="auto"):
    """Θ- and space-group-symmetric parts of H0(R) and V_c(R): the group average of T_g (and of Θ).

    The R list is closed under every W (plus the site shifts) first, so the average is a
    projection. ``axial`` is how V (an axial vector, like L) turns: Q = det(Rc)·Rc ("R") or its
    transpose ("RT"); "auto" takes the one under which the model is closer to symmetric (the wrong
    one leaves eV-size asymmetries for rotations by other than π). Returns (iR, H, V, record).
    """
    H, V = project_time_reversal(H, V)
    ops = space_group_operations(lattice, positions, numbers)
    site_of = np.array([o["site"] for o in orbitals])
    Ds = [basis_rotation(orbitals, axes, Rc, perm) for _, _, Rc, perm, _ in ops]
    keys = {tuple(r) for r in iR}
    for _ in range(4):                                    # close the R set under the group
        new = set(keys)
        arr = np.array(sorted(keys), int)
        for W, _, _, _, L in ops:
            Winv = np.rint(np.linalg.inv(W)).astype(int)
            for a in np.unique(site_of):
                for b in np.unique(site_of):
                    new |= {tuple(r) for r in (arr - (L[b] - L[a])) @ Winv.T}
        if new == keys:
            break
        keys = new
    iR_t = np.array(sorted(keys), int)
    index = {tuple(r): i for i, r in enumerate(iR)}
    Qs = {"R": [np.linalg.det(Rc) * Rc for _, _, Rc, _, _ in ops],
          "RT": [np.linalg.det(Rc) * Rc.T for _, _, Rc, _, _ in ops]}
    H_all = [_apply(iR_t, index, H, W, D, L, site_of) for (W, _, _, _, L), D in zip(ops, Ds)]
    Hs = sum(H_all) / len(ops)
    choice = {}
    for name, Q in Qs.items():
        V_all = [_apply(iR_t, index, V, W, D, L, site_of, Q=q) for (W, _, _, _, L), D, q in zip(ops, Ds, Q)]
        Vs = sum(V_all) / len(ops)
        choice[name] = (max(float(np.abs(v - Vs).max()) for v in V_all), Vs)
    name = min(choice, key=lambda k: choice[k][0]) if axial == "auto" else axial
    Vs = choice[name][1]
    keep = (np.abs(Hs).reshape(len(iR_t), -1).max(1) > 0) | (np.abs(Vs).reshape(len(iR_t), -1).max(1) > 0)
    rec = {"n_operations": len(ops), "axial_convention": name,
           "max_H0_asymmetry_meV": 1e3 * max(float(np.abs(h - Hs).max()) for h in H_all),
           "max_Vsoc_asymmetry_meV": {k: 1e3 * v[0] for k, v in choice.items()}}
    return iR_t[keep], Hs[keep], Vs[keep], rec, ops, Ds


def symmetric_centres(centres_red, ops, Ds, site_of, shell_of):
    """Centres (fractional) of a symmetric model: functions that a site symmetry mixes must share
    one centre, so each (site, l) shell gets the mean centre of its functions, averaged over the
    group with the pre-images of its partner shells (g⁻¹: W⁻¹(c − t + L_a)). In hcp (site
    symmetry -6m2) this puts every centre on its atom."""
    c = np.asarray(centres_red, float)
    shells = sorted(set(zip(site_of, shell_of)))
    mean = {sh: c[[n for n in range(len(c)) if (site_of[n], shell_of[n]) == sh]].mean(axis=0) for sh in shells}
    out = np.zeros_like(c)
    for (a, l) in shells:
        acc = np.zeros(3)
        for W, t, _, perm, L in ops:
            pre = np.linalg.inv(W) @ (mean[(int(perm[a]), l)] - t + L[a])
            acc += pre - np.rint(pre - mean[(a, l)])
        out[[n for n in range(len(c)) if (site_of[n], shell_of[n]) == (a, l)]] = acc / len(ops)
    return out


def symmetrize_crystal(sysdir, orbitals, axes, lattice, positions, numbers, n_k=64, windows=None) -> dict:
    """Rewrite the saved system in ``sysdir`` with its time-reversal and space-group symmetric part
    (:func:`project_space_group`; includes inversion, so Kramers pairs are exact). Returns a record
    like :func:`symmetrize_pt`'s, plus the largest |E_n(k) − E_n(g k)| before and after (meV)."""
    system = tb.load_system(sysdir)
    up = system.system_up
    iR, H, V = tb.real_space_arrays(system)
    iR2, H2, V2, rec, ops, Ds = project_space_group(iR, H, V, orbitals, axes, lattice, positions, numbers)
    k = np.random.default_rng(1).random((n_k, 3))
    site_of = np.array([o["site"] for o in orbitals])
    c = np.asarray(up.wannier_centers_red, float)
    centres_red = symmetric_centres(c, ops, Ds, site_of, np.array([o["l"] for o in orbitals]))
    lat = np.asarray(up.real_lattice, float)
    rec.update(
        method="workflows.symmetrize.symmetrize_crystal: time-reversal (real Wannier functions) and "
               "space-group projection (group average) of H0(R) and V_soc(R)",
        star_spread_before_meV=1e3 * star_spread(iR, H, V, ops, k),
        star_spread_after_meV=1e3 * star_spread(iR2, H2, V2, ops, k),
        **_change_record(iR, H, V, iR2, H2, V2, c, centres_red, lat, n_k, windows))
    _save(system, sysdir, iR2, H2, V2, centres_red)
    return rec


def star_spread(iR, H, V, ops, k_red):
    """Largest |E_n(k) − E_n(g k)| (eV) over the operations and the k-points (reciprocal-space
    image of k: W^{-T} k)."""
    E = np.linalg.eigvalsh(tb.bloch_hamiltonian(iR, H, V, k_red))
    worst = 0.0
    for W, *_ in ops:
        kg = k_red @ np.linalg.inv(W)                 # (W^{-T} k) as rows
        worst = max(worst, float(np.abs(np.linalg.eigvalsh(tb.bloch_hamiltonian(iR, H, V, kg)) - E).max()))
    return worst


def _change_record(iR, H, V, iR2, H2, V2, c, centres_red, lat, n_k, windows):
    """What a projection did: largest band change (all, and per energy window) at n_k random k,
    Kramers splitting before/after (meV), largest centre move (Å), R-list sizes."""
    k = np.random.default_rng(1).random((n_k, 3))
    E1 = np.linalg.eigvalsh(tb.bloch_hamiltonian(iR, H, V, k))
    E2 = np.linalg.eigvalsh(tb.bloch_hamiltonian(iR2, H2, V2, k))
    return dict(
        max_band_change_meV=1e3 * float(np.abs(E1 - E2).max()),
        max_band_change_in_window_meV={
            name: 1e3 * float(np.abs(E1 - E2)[(E1 > lo) & (E1 < hi)].max(initial=0.0))
            for name, (lo, hi) in (windows or {}).items()},
        kramers_splitting_before_meV=1e3 * kramers_splitting(iR, H, V, n_k),
        kramers_splitting_after_meV=1e3 * kramers_splitting(iR2, H2, V2, n_k),
        max_centre_change_A=float(np.linalg.norm((centres_red - c) @ lat, axis=1).max()),
        n_R_before=len(iR), n_R_after=len(iR2), random_k_points=n_k)


def _save(system, sysdir, iR2, H2, V2, centres_red):
    """Write the projected H0(R), V_soc(R) and centres (fractional) back into ``sysdir``."""
    from wannierberri.fourier.rvectors import Rvectors
    up = system.system_up
    lat = np.asarray(up.real_lattice, float)
    up.wannier_centers_cart = centres_red @ lat
    # the new centres, not up.wannier_centers_red: that property may still hold the old ones
    up.rvec = Rvectors(lattice=lat, shifts_left_red=centres_red, iRvec=iR2)
    up.set_R_mat("Ham", H2, reset=True)
    up.set_R_mat("dV_soc", V2, reset=True)
    system.rvec = up.rvec
    system.wannier_centers_cart = np.repeat(up.wannier_centers_cart, 2, axis=0)
    with contextlib.redirect_stdout(io.StringIO()):
        system.save_npz(str(sysdir))
