"""The spinless part of a TR+I tight-binding model, and the k_z slicing the census integrates over.

Without spin-orbit coupling H0 is spin-diagonal with two equal blocks; the census of spinless nodal
lines (:mod:`wannorb.nodal`) and its plane check work on that one block H0s(R) (``nb`` orbitals),
and on the full H = H0 + A·Hsoc only near a line. This module holds the arrays and the fast sums:

* geometry — :func:`slicing_geometry`: the Cartesian box [0,P_x)×[0,P_y) × one period g_z of k_z
  that is a whole number of Brillouin zones (``wannorb.nodal`` docstring, step 1), and distances
  modulo the reciprocal lattice;
* :func:`prepare` — the spinless block, its L_z, and the matrices of the Bloch sums, checked to be a
  spinless part (spin-diagonal, equal blocks, partners at one centre);
* Bloch sums — H0s(k) and ∂_x, ∂_y H0s(k) from one R of each ±R pair (real GEMMs with cos/sin), a
  plane of H0s(k) by a 2D FFT, the spinful H(k) of any scale A, and wannorb's one-component Eq. (4)
  orbital kernel on it (:func:`orbital_hall_integrand`).

Units: energies eV, k Cartesian Å⁻¹, R Å, L in ħ.
"""
from typing import NamedTuple

import numpy as np

from . import bloch
from .errors import InputError
from .hall import fermi_dirac, operator_stack
from .kernels.hall import allocate_component_outputs, hall_component
from .planequad import box_indices

ORBITAL_Z, X_DIR, Y_DIR = 2, 0, 1


# ----------------------------------------------------------------------------------------------
# geometry
# ----------------------------------------------------------------------------------------------

def axis_periods(lattice, max_multiple=48, tol=1e-6):
    """Smallest P_a > 0 (a = x, y, z) with P_a·â a reciprocal lattice vector, (3,) Å⁻¹.

    P â · a_i = 2π n_i with a_i the lattice rows (Å): P/(2π) · a_i,a must be an integer for every i.
    Raises InputError for lattices whose Cartesian axes are not commensurate (no such P).
    """
    lattice = np.asarray(lattice, float)
    out = []
    for c in range(3):
        v = np.abs(lattice[:, c])
        nz = v[v > tol]
        if len(nz) == 0:
            raise InputError("degenerate lattice: a Cartesian axis has no component in any lattice vector")
        vmin = nz.min()
        for k in range(1, max_multiple + 1):
            t = k / vmin
            if np.all(np.abs(t * v - np.rint(t * v)) < 1e-6 * max(1.0, t * v.max())):
                out.append(2 * np.pi * t)
                break
        else:
            raise InputError(f"axis {'xyz'[c]} is not commensurate with the lattice: no Cartesian slicing box")
    return np.array(out)


def slicing_geometry(lattice):
    """Periods and multiplicities of the k_z slicing (``wannorb.nodal`` docstring, step 1).

    Returns dict: periods (3,) Å⁻¹ [P_x, P_y, P_z]; g_z Å⁻¹ (smallest positive G_z); v_bz Å⁻³;
    area_2d Å⁻² (cell of the in-plane lattice G_z = 0); images_per_class m = P_x P_y / area_2d;
    n_copies = P_x P_y P_z / V_BZ (zones in the box).
    """
    lattice = np.asarray(lattice, float)
    P = axis_periods(lattice)
    B = 2 * np.pi * np.linalg.inv(lattice).T
    n = np.indices((13, 13, 13)).reshape(3, -1).T - 6
    gz = np.abs(n @ B[:, 2])
    g_z = gz[gz > 1e-9].min()
    if np.abs(gz / g_z - np.rint(gz / g_z)).max() > 1e-6:
        raise InputError("reciprocal lattice has incommensurate G_z values")
    v_bz = abs(np.linalg.det(B))
    area = v_bz / g_z
    m = P[0] * P[1] / area
    if abs(m - round(m)) > 1e-6:
        raise InputError(f"box is not a whole number of in-plane cells ({m})")
    return dict(periods=P, g_z=float(g_z), v_bz=float(v_bz), area_2d=float(area),
                images_per_class=int(round(m)), n_copies=float(P.prod() / v_bz))


def lattice_distance(dk, lattice):
    """Length (Å⁻¹) of dk (..., 3) reduced by the nearest reciprocal lattice vector in reduced
    coordinates (the distance between two k-points modulo G, for small distances)."""
    lattice = np.asarray(lattice, float)
    red = np.asarray(dk) @ lattice.T / (2 * np.pi)
    frac = red - np.rint(red)
    return np.linalg.norm(frac @ (2 * np.pi * np.linalg.inv(lattice).T), axis=-1)


def same_class(dk, lattice, tol=1e-6):
    """True where dk (..., 3) Å⁻¹ is a reciprocal lattice vector to within ``tol`` Å⁻¹."""
    return lattice_distance(dk, lattice) < tol


def torus_distance(a, b, periods):
    """Distance (Å⁻¹) between in-plane points a (..., 2) and b (..., 2) on the torus of the box."""
    d = np.asarray(a) - np.asarray(b)
    d = d - periods[:2] * np.rint(d / periods[:2])
    return np.linalg.norm(d, axis=-1)


# ----------------------------------------------------------------------------------------------
# the spinless part and fast Bloch sums
# ----------------------------------------------------------------------------------------------

class Prepared(NamedTuple):
    """Arrays the census works on (from :func:`prepare`).

    R_cart (nR, 3) Å; Hs (nR, nb, nb) spinless H0(R), eV; up, dn (nb,) spinful indices of each
    spatial orbital; Lz (nb, nb) spinless orbital L_z (ħ); HR0 (nR, nw, nw) full H0(R);
    HRsoc (nR, nw, nw) Hsoc(R); centres (nw, 3) Å; Xops (1, 3, nw, nw) orbital L (ħ);
    Ms (nR, 3·nb²) real or complex: [Hs, R_x Hs, R_y Hs] for the Bloch sums; Msoc (nR, 3·nw²) complex.
    half: for a real H0s with H0s(−R) = H0s(R)ᵀ, a dict (R (nh, 3), Mc, Msn (nh, 3·nb²) real, H00 (nb²,))
    giving the spinless sums from one R of each ±R pair (:func:`spinless_sums`); None otherwise.
    """
    R_cart: np.ndarray
    Hs: np.ndarray
    up: np.ndarray
    dn: np.ndarray
    Lz: np.ndarray
    HR0: np.ndarray
    HRsoc: np.ndarray
    centres: np.ndarray
    Xops: np.ndarray
    Ms: np.ndarray
    Msoc: np.ndarray
    lattice: np.ndarray
    half: object = None


def prepare(model, tol=1e-10):
    """Split ``model`` into its spinless part and check that it is one (spin-diagonal, equal blocks).

    Uses ``model.spin`` and ``model.spatial`` (never assumes an alternating basis). Returns
    :class:`Prepared`. Raises InputError if H0 mixes spins or the two spin blocks differ, or if the
    spin-up and spin-down partners of an orbital sit at different centres.
    """
    spin = np.asarray(model.spin)
    spatial = np.asarray(model.spatial)
    nb = len(np.unique(spatial))
    up = np.empty(nb, int)
    dn = np.empty(nb, int)
    for i, (s, o) in enumerate(zip(spin, spatial)):
        (up if s == 0 else dn)[o] = i
    H0 = np.asarray(model.H0)
    scale = max(1.0, np.abs(H0).max())
    if np.abs(H0[:, up][:, :, dn]).max() > tol * scale or np.abs(H0[:, dn][:, :, up]).max() > tol * scale:
        raise InputError(f"{model.name}: H0 mixes the spins; the spinless census needs a spin-diagonal H0")
    Hs = H0[:, up][:, :, up]
    if np.abs(Hs - H0[:, dn][:, :, dn]).max() > tol * scale:
        raise InputError(f"{model.name}: the spin-up and spin-down blocks of H0 differ")
    if np.abs(model.centres[up] - model.centres[dn]).max() > 1e-8:
        raise InputError(f"{model.name}: spin partners at different Wannier centres")
    Xops = operator_stack(model, ("orbital",))
    Lz = Xops[0, 2][np.ix_(up, up)]
    R = model.R_cart
    nR = len(R)
    flat = Hs.reshape(nR, nb * nb)
    Ms = np.concatenate([flat, R[:, 0, None] * flat, R[:, 1, None] * flat], axis=1)
    if np.abs(Ms.imag).max() == 0.0:
        Ms = np.ascontiguousarray(Ms.real)
    nw = model.num_wann
    fs = np.asarray(model.Hsoc).reshape(nR, nw * nw)
    Msoc = np.concatenate([fs, R[:, 0, None] * fs, R[:, 1, None] * fs], axis=1)
    return Prepared(R, Hs, up, dn, Lz, H0, np.asarray(model.Hsoc), np.asarray(model.centres), Xops,
                    Ms, Msoc, np.asarray(model.lattice), _half_sums(model.R, R, Hs, tol * scale))


def _half_sums(R_int, R_cart, Hs, tol):
    """Matrices for :func:`spinless_sums` from one R of each (R, −R) pair (real H0s only):
    H(k) = H(0) + Σ_half [S cos k·R + i A sin k·R], ∂_a H = Σ_half [−R_a S sin + i R_a A cos],
    S = H(R) + H(R)ᵀ, A = H(R) − H(R)ᵀ (H(−R) = H(R)ᵀ)."""
    if np.abs(Hs.imag).max() > 0:
        return None
    index = {tuple(r): i for i, r in enumerate(np.asarray(R_int))}
    zero = index.get((0, 0, 0))
    keep = []
    for i, r in enumerate(np.asarray(R_int)):
        j = index.get(tuple(-r))
        if j is None:
            return None
        if i < j:
            keep.append((i, j))
    Hr = Hs.real
    for i, j in keep:
        if np.abs(Hr[j] - Hr[i].T).max() > tol:
            return None
    nb = Hs.shape[1]
    ii = np.array([i for i, _ in keep])
    Sp = (Hr[ii] + Hr[ii].transpose(0, 2, 1)).reshape(len(ii), nb * nb)
    Am = (Hr[ii] - Hr[ii].transpose(0, 2, 1)).reshape(len(ii), nb * nb)
    Rh = R_cart[ii]
    Mc = np.concatenate([Sp, Rh[:, 0, None] * Am, Rh[:, 1, None] * Am], axis=1)
    Msn = np.concatenate([Am, Rh[:, 0, None] * Sp, Rh[:, 1, None] * Sp], axis=1)
    H00 = Hr[zero].reshape(nb * nb) if zero is not None else np.zeros(nb * nb)
    return dict(R=Rh, Mc=np.ascontiguousarray(Mc), Msn=np.ascontiguousarray(Msn), H00=H00)


def spinless_sums(k_cart, prep, derivs=True, chunk=4096):
    """Spinless H0(k) (nk, nb, nb) and, with ``derivs``, ∂_x, ∂_y H0(k) (nk, 2, nb, nb), τ = 0 phases."""
    nb = prep.Hs.shape[1]
    h = prep.half
    k_cart = np.atleast_2d(k_cart)
    if h is None:
        S = bloch_sums(k_cart, prep.R_cart, prep.Ms if derivs else prep.Ms[:, :nb * nb], 3 if derivs else 1)
        H = S[:, 0].reshape(-1, nb, nb)
        return (H, 1j * S[:, 1:].reshape(-1, 2, nb, nb)) if derivs else (H, None)
    nc = 3 * nb * nb if derivs else nb * nb
    Mc, Msn = h["Mc"][:, :nc], h["Msn"][:, :nc]
    nk = len(k_cart)
    H = np.empty((nk, nb * nb), complex)
    dH = np.empty((nk, 2, nb * nb), complex) if derivs else None
    for s in range(0, nk, chunk):
        arg = k_cart[s:s + chunk] @ h["R"].T
        C = np.cos(arg) @ Mc
        Sn = np.sin(arg) @ Msn
        m = nb * nb
        H[s:s + chunk] = (h["H00"] + C[:, :m]) + 1j * Sn[:, :m]
        if derivs:
            dH[s:s + chunk] = (-Sn[:, m:] + 1j * C[:, m:]).reshape(-1, 2, m)
    return H.reshape(nk, nb, nb), (dH.reshape(nk, 2, nb, nb) if derivs else None)


def bloch_sums(k_cart, R_cart, M, n_blocks, chunk=4096):
    """Σ_R M_R e^{i k·R} for the column blocks of M: returns (nk, n_blocks, ncol) complex.

    M (nR, n_blocks·ncol), real or complex: block 0 is X(R), blocks 1.. are R_a X(R); the caller
    multiplies the derivative blocks by i. Real M uses real GEMMs with cos/sin (4× fewer flops).
    """
    k_cart = np.atleast_2d(k_cart)
    nk = len(k_cart)
    out = np.empty((nk, M.shape[1]), complex)
    for s in range(0, nk, chunk):
        arg = k_cart[s:s + chunk] @ R_cart.T
        c, si = np.cos(arg), np.sin(arg)
        if np.isrealobj(M):
            out[s:s + chunk] = (c @ M) + 1j * (si @ M)
        else:
            out[s:s + chunk] = (c @ M.real - si @ M.imag) + 1j * (c @ M.imag + si @ M.real)
    return out.reshape(nk, n_blocks, -1)


def spinless_hk(k_cart, prep):
    """Spinless H0(k) (nk, nb, nb) and ∂_x, ∂_y H0(k) (nk, 2, nb, nb), eV and eV·Å, τ = 0 phases.

    H0(k) = Σ_R H0s(R) e^{i k·R}; the centre phases are a k-dependent unitary and do not change
    eigenvalues or degeneracies (the kernel calls add them, :func:`full_hk`).
    """
    return spinless_sums(k_cart, prep, derivs=True)


def spinless_energies(k_cart, prep):
    """Spinless band energies at k (nk, nb), eV."""
    return np.linalg.eigvalsh(spinless_sums(k_cart, prep, derivs=False)[0])


def plane_hamiltonians(prep, periods, kz, grid, offset=(0.0, 0.0)):
    """Spinless H0(k) (G, G, nb, nb) on the grid k = ((i + o_x) P_x/G, (j + o_y) P_y/G, k_z), eV.

    A 2D FFT: P_a â is a reciprocal vector, so R_a P_a/(2π) is an integer n_a and
    e^{i k·R} = e^{i k_z R_z + i o·(2π n/G)} e^{2πi (i n_x + j n_y)/G}; H(R) is folded onto the
    G-grid (exact, no truncation). ``offset`` o in units of the grid spacing.
    """
    G = int(grid)
    R = prep.R_cart
    ni = box_indices(R, periods)
    nb = prep.Hs.shape[1]
    pre = np.exp(1j * kz * R[:, 2] + 2j * np.pi * (ni @ np.asarray(offset, float)) / G)
    g = np.zeros((G, G, nb * nb), complex)
    np.add.at(g, (ni[:, 0] % G, ni[:, 1] % G), pre[:, None] * prep.Hs.reshape(len(R), nb * nb))
    g = np.fft.ifft2(g, axes=(0, 1)) * (G * G)
    return g.reshape(G, G, nb, nb)


def plane_hamiltonians_at(prep, periods, kz, grid, offset, ij, block=9):
    """Spinless H0(k) (len(ij), nb, nb) at the points ij (m, 2) int of the grid of
    :func:`plane_hamiltonians`, without storing the whole grid: the FFT is done ``block`` matrix
    elements at a time (a fine grid of 512² × 81 elements would need 340 MB)."""
    G = int(grid)
    R = prep.R_cart
    ni = box_indices(R, periods)
    nb = prep.Hs.shape[1]
    pre = np.exp(1j * kz * R[:, 2] + 2j * np.pi * (ni @ np.asarray(offset, float)) / G)
    flat = pre[:, None] * prep.Hs.reshape(len(R), nb * nb)
    ij = np.asarray(ij) % G
    out = np.empty((len(ij), nb * nb), complex)
    for e in range(0, nb * nb, block):
        g = np.zeros((G, G, min(block, nb * nb - e)), complex)
        np.add.at(g, (ni[:, 0] % G, ni[:, 1] % G), flat[:, e:e + block])
        g = np.fft.ifft2(g, axes=(0, 1)) * (G * G)
        out[:, e:e + block] = g[ij[:, 0], ij[:, 1]]
    return out.reshape(len(ij), nb, nb)


def plane_energies(prep, periods, kz, grid, offset=(0.0, 0.0)):
    """Spinless energies on the grid of :func:`plane_hamiltonians`, (G, G, nb) eV."""
    return np.linalg.eigvalsh(plane_hamiltonians(prep, periods, kz, grid, offset))


def full_hk(k_cart, prep, soc_scales, soc_mode="exact", k0=None):
    """Spinful H(k) and ∂H(k) in wannorb's convention (centre phases) for several SOC scales.

    H = H0 + A·Hsoc with H0 assembled from the spinless sums. ``soc_mode='exact'``: Hsoc(k) by its
    own Bloch sum; ``'taylor'``: Hsoc(k0) + (k − k0)·∇Hsoc(k0) around ``k0`` (exact at k0; the
    clean limit C(A → 0) depends on Hsoc at k0 only). ∂_z H is set to zero: Ω^{z,xy} needs only
    ∂_x and ∂_y. Returns a list over soc_scales of (Hk (nk, nw, nw), dHk (nk, 3, nw, nw)).
    """
    k_cart = np.atleast_2d(k_cart)
    nk = len(k_cart)
    nw = prep.HR0.shape[1]
    Hs, dHs = spinless_hk(k_cart, prep)
    H0 = np.zeros((nk, nw, nw), complex)
    dH0 = np.zeros((nk, 3, nw, nw), complex)
    for idx in (prep.up, prep.dn):
        H0[:, idx[:, None], idx[None, :]] = Hs
        dH0[:, :2, idx[:, None], idx[None, :]] = dHs
    if soc_mode == "exact":
        S = bloch_sums(k_cart, prep.R_cart, prep.Msoc, 3)
        Hso = S[:, 0].reshape(nk, nw, nw)
        dHso = np.zeros((nk, 3, nw, nw), complex)
        dHso[:, :2] = 1j * S[:, 1:].reshape(nk, 2, nw, nw)
    elif soc_mode == "taylor":
        S = bloch_sums(np.atleast_2d(k0), prep.R_cart, prep.Msoc, 3)[0]
        h0 = S[0].reshape(nw, nw)
        g = 1j * S[1:].reshape(2, nw, nw)
        q = k_cart[:, :2] - np.asarray(k0)[None, :2]
        Hso = h0[None] + np.einsum("ka,aij->kij", q, g)
        dHso = np.zeros((nk, 3, nw, nw), complex)
        dHso[:, :2] = g[None]
    else:
        raise InputError(f"soc_mode must be 'exact' or 'taylor', got {soc_mode!r}")
    out = []
    for A in soc_scales:
        out.append(bloch._apply_centres(H0 + A * Hso, dH0 + A * dHso, k_cart, prep.centres))
    return out


def orbital_hall_integrand(k_cart, Hk, dHk, prep, mu, kT, degen_tol, states=None):
    """Σ_states f(ε − μ) Ω^{z,xy}_n (Eq. (4), orbital) per k-point, (nk,) Å²·ħ, and E (nk, nw) eV.

    wannorb's one-component kernel ``hall_component`` on the given H(k), ∂H(k); [eq4, orbital, z, x, y].
    ``states``: a slice of the (sorted) states to sum, default all. Ω_n itself always couples state n
    to every other state.
    """
    nk, nw = Hk.shape[:2]
    phase = bloch.centre_phases(np.atleast_2d(k_cart), prep.centres)
    E, omega, gap = allocate_component_outputs(nk, nw, 1)
    hall_component(np.ascontiguousarray(Hk), np.ascontiguousarray(dHk), phase,
                   np.ascontiguousarray(prep.Xops[:, ORBITAL_Z]), X_DIR, Y_DIR, float(degen_tol), E, omega, gap)
    w = omega[:, 0, 0, :]
    f = fermi_dirac(E, mu, kT)
    if states is not None:
        f, w = f[:, states], w[:, states]
    return np.einsum("kn,kn->k", f, w), E
