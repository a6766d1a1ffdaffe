"""Spin S and atomic-centre orbital L in a model's basis, and band projection onto groups.

All angular momenta are in units of ħ: S = σ/2, L with eigenvalues m = −l..l.

Atomic-centre L (the paper's R-T model choice, and the intra-atomic approximation of the
orbital-Hall literature): L acts inside one shell (site, l, spin) of real orbitals. Its real-space
matrix lives at R = 0; with the Wannier centres in the Fourier phases (see ``model.py``) its Bloch
matrix is L_mn e^{i k·(τ_n − τ_m)}, which the kernels apply. Where the centres of one shell
coincide (pcubic, Pt, Cr) the phase is 1.
"""
import math
from itertools import product

import numpy as np

from .errors import InputError

# Wannier90 real orbitals as homogeneous polynomials (unnormalised; normalised below on the
# unit sphere). Positive coefficients, as in Wannier90's Table 3.1 (user guide).
REAL_ORBITALS = {
    "s": (0, {(0, 0, 0): 1.0}),
    "pz": (1, {(0, 0, 1): 1.0}),
    "px": (1, {(1, 0, 0): 1.0}),
    "py": (1, {(0, 1, 0): 1.0}),
    "dz2": (2, {(0, 0, 2): 2.0, (2, 0, 0): -1.0, (0, 2, 0): -1.0}),
    "dxz": (2, {(1, 0, 1): 1.0}),
    "dyz": (2, {(0, 1, 1): 1.0}),
    "dx2-y2": (2, {(2, 0, 0): 1.0, (0, 2, 0): -1.0}),
    "dxy": (2, {(1, 1, 0): 1.0}),
}
# accepted spellings -> canonical label
ORBITAL_ALIASES = {"dx2y2": "dx2-y2", "dx2_y2": "dx2-y2", "dz^2": "dz2", "d3z2-r2": "dz2", "dz2-r2": "dz2"}
SHELL_ORDER = {0: ("s",), 1: ("pz", "px", "py"), 2: ("dz2", "dxz", "dyz", "dx2-y2", "dxy")}


def canonical_orbital(label):
    """Canonical Wannier90 label for ``label`` (case-insensitive), or InputError."""
    key = str(label).strip().lower()
    key = ORBITAL_ALIASES.get(key, key)
    if key not in REAL_ORBITALS:
        raise InputError(f"unknown orbital label {label!r}; known: {', '.join(REAL_ORBITALS)}")
    return key


def _sphere_integral(powers):
    """∫ x^a y^b z^c dΩ over the unit sphere (exact)."""
    if any(p % 2 for p in powers):
        return 0.0
    g = [math.gamma((p + 1) / 2) for p in powers]
    return 2.0 * g[0] * g[1] * g[2] / math.gamma((sum(powers) + 3) / 2)


def _inner(f, g):
    """<f|g> on the unit sphere for real-coefficient f (no conjugation needed)."""
    return sum(cf * cg * _sphere_integral(tuple(a + b for a, b in zip(mf, mg)))
               for mf, cf in f.items() for mg, cg in g.items())


def _apply_L(component, poly):
    """L_j = −i (r × ∇)_j applied to a polynomial (dict monomial -> complex coefficient)."""
    # (r × ∇)_x = y∂z − z∂y, (r × ∇)_y = z∂x − x∂z, (r × ∇)_z = x∂y − y∂x
    a, b = [(1, 2), (2, 0), (0, 1)][component]
    out = {}
    for mono, c in poly.items():
        for mult, deriv, sign in ((a, b, 1.0), (b, a, -1.0)):
            if mono[deriv] == 0:
                continue
            new = list(mono)
            coef = c * new[deriv] * sign * (-1j)
            new[deriv] -= 1
            new[mult] += 1
            out[tuple(new)] = out.get(tuple(new), 0) + coef
    return out


def real_orbital_L(labels):
    """Matrices of L (units of ħ) in a shell of real orbitals, derived from their polynomials.

    (L_j)_mn = <f_m| −i (r × ∇)_j |f_n> with f normalised on the unit sphere. The result is
    exact (polynomial algebra and closed-form sphere integrals), Hermitian and purely imaginary.

    Parameters
    ----------
    labels : sequence of Wannier90 labels of one shell (same l), in the basis order wanted.

    Returns
    -------
    (3, n, n) complex
    """
    labels = [canonical_orbital(x) for x in labels]
    polys = [REAL_ORBITALS[x][1] for x in labels]
    norms = [math.sqrt(_inner(p, p)) for p in polys]
    polys = [{k: v / n for k, v in p.items()} for p, n in zip(polys, norms)]
    n = len(polys)
    L = np.zeros((3, n, n), complex)
    for j, m, k in product(range(3), range(n), range(n)):
        L[j, m, k] = _inner(polys[m], _apply_L(j, polys[k]))
    return L


def spin_operator(model):
    """S^j = σ^j/2 between the two spin partners of each spatial orbital, (3, nw, nw) complex, ħ."""
    from .models import PAULI
    nw = model.num_wann
    S = np.zeros((3, nw, nw), complex)
    same = model.spatial[:, None] == model.spatial[None, :]
    for j in range(3):
        S[j] = same * PAULI[j][model.spin[:, None], model.spin[None, :]] / 2
    return S


def orbital_operator(model):
    """Atomic-centre L^j in the model's basis, (3, nw, nw) complex, units of ħ.

    Each (site, l, spin) shell gets the real-orbital matrices of :func:`real_orbital_L`,
    rotated from the site's local axes M (rows) to the global frame as an axial vector:
    L_global_j = det(M) Σ_a M_aj L_local_a. Raises InputError without orbital labels.
    """
    if not model.has_orbitals:
        raise InputError(f"system {model.name} has no orbital labels: orbital quantities need them "
                         "(give --orbitals FILE, e.g. a provenance.json with an 'orbitals' key)")
    labels = [canonical_orbital(x) for x in model.orbital]
    nw = model.num_wann
    L = np.zeros((3, nw, nw), complex)
    shells = {}
    for idx, lab in enumerate(labels):
        key = (int(model.site[idx]), REAL_ORBITALS[lab][0], int(model.spin[idx]))
        shells.setdefault(key, []).append(idx)
    for (site, l, _), idx in shells.items():
        if l == 0:
            continue
        labs = [labels[i] for i in idx]
        if len(set(labs)) != len(labs):
            raise InputError(f"system {model.name}: site {site} has repeated orbital labels {labs}; "
                             "several shells of one l on a site are not supported")
        Lloc = real_orbital_L(labs)
        M = model.site_local_axes[site]
        Lg = np.linalg.det(M) * np.einsum("aj,amn->jmn", M, Lloc)
        for j in range(3):
            L[j][np.ix_(idx, idx)] = Lg[j]
    return L


def degenerate_groups(energies, tol):
    """Start indices of groups of (sorted) eigenvalues closer than ``tol`` (eV) to a neighbour.

    Returns an int array ``starts`` of length ngroups + 1 with groups ``starts[g]:starts[g+1]``.
    Chaining: a, b, c with b − a < tol and c − b < tol form one group.
    """
    e = np.asarray(energies)
    breaks = np.nonzero(np.diff(e) >= tol)[0] + 1
    return np.concatenate(([0], breaks, [len(e)]))


def band_projected(X_eig, starts):
    """X_bp = Σ_n P_n X P_n in the eigenbasis: keep the diagonal blocks of the groups.

    X_eig : (..., nw, nw) operator in the eigenbasis; starts : from :func:`degenerate_groups`.
    """
    mask = group_mask(starts)
    return X_eig * mask


def group_mask(starts):
    """(nw, nw) bool, True where two states belong to the same degenerate group."""
    gid = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    return gid[:, None] == gid[None, :]


def projector_derivatives(energies, projectors, dH, tol=0.0):
    """∂P_n = Σ_{m: |ε_n−ε_m|>tol} (P_m ∂H P_n + P_n ∂H P_m)/(ε_n − ε_m) for every band group n.

    The one sum-over-states route of the package (Hall oracle and edge Eq. (6) alike).

    Parameters
    ----------
    energies : (..., nb) group energies; projectors : (..., nb, n, n); dH : (..., n, n) one direction
    tol : pairs closer than this are treated as one group (no term)

    Returns
    -------
    (..., nb, n, n) complex
    """
    energies = np.asarray(energies)
    nb = energies.shape[-1]
    out = np.zeros(np.broadcast_shapes(projectors.shape, dH.shape[:-2] + (1,) + dH.shape[-2:]), complex)
    for n in range(nb):
        Pn = projectors[..., n, :, :]
        for m in range(nb):
            if m == n:
                continue
            gap = energies[..., n] - energies[..., m]
            ok = np.abs(gap) > tol
            t = projectors[..., m, :, :] @ dH @ Pn
            term = (t + np.conj(np.swapaxes(t, -1, -2))) / np.where(ok, gap, 1.0)[..., None, None]
            out[..., n, :, :] += np.where(ok[..., None, None], term, 0.0)
    return out


def interband_connection(projectors, dprojectors):
    """A_nm = i (∂P_n) P_m for all band pairs, (..., nb, nb, n, n) (the paper's Eq. (6) connection)."""
    return 1j * np.einsum("...aij,...bjk->...abik", dprojectors, projectors)
