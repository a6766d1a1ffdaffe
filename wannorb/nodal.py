"""Nodal-line census: the clean-limit Eq. (4) orbital Hall conductivity from the spinless nodal lines.

Physics (docs/sweep.md, "Nodal lines"; tests/test_nodal_line.py). Without spin-orbit coupling the
spinless Bloch Hamiltonian H0(k) of a TR+I crystal is real in a suitable gauge, so two adjacent
spinless bands n, n+1 meet on lines of k-space. The spin-orbit term A·Hsoc gaps each line by ∝ A;
with a degeneracy tolerance far below that gap (the clean limit) the Eq. (4) integrand
Σ_n f_n Tr[L^z_n F^{xy}_n] sits in a tube around each line, and its integral over a plane pierced by
the line does not depend on A. Every other part of the Fermi-sea integral is O(A²). Hence

    σ^z_xy(eq4, orbital, A → 0) = (e²/ħ)/(8π³) ∫ dk_z Σ_{piercings of the plane k_z} C,         (1)

    C = ∫_disk dk_x dk_y Σ_states f(ε − μ, kT) Ω^{z,orbital,xy}          (dimensionless: Å⁻² · Å²ħ / ħ)

with the disk a small neighbourhood of the piercing point k0 in the plane. This module evaluates (1)
without any full-zone Hall sum:

1. Slicing. A Cartesian box [0,P_x)×[0,P_y) × k_z with P_a the smallest period such that P_a·â is a
   reciprocal lattice vector (P = 2π/a simple cubic, 4π/a bcc and fcc, conventional a). The planes
   k_z = const are mapped onto themselves by the reciprocal vectors with G_z = 0 (an in-plane lattice
   of cell area A_2D) and onto each other by G_z = g_z, the smallest positive G_z. A slab
   0 ≤ k_z < g_z times one in-plane cell is one Brillouin zone (A_2D g_z = V_BZ), so
   σ = (e²/ħ)·1e8/(8π³) · ∫_0^{g_z} dk_z Σ_{piercing classes} C  in (ħ/e) S/cm, k in Å⁻¹,
   a class being a piercing modulo the in-plane lattice (the box holds m = P_x P_y / A_2D images
   of each; n_copies = P_x P_y P_z / V_BZ zones). Midpoint planes k_z = (j + ½) g_z / N.
   Time reversal maps the plane k_z onto −k_z with the same integrand (L_z and Ω_z both odd), so
   with ``time_reversal=True`` only half of the planes are computed.
2. Piercings. On each plane the spinless spectrum (spin-up block of H0, checked to equal the
   spin-down block with no spin mixing; the basis order is read from ``model.spin``/``spatial``) is
   computed on a G×G grid of the box (offset from the symmetry lines) by a 2D FFT; every
   valley-floor point of E_{n+1} − E_n is refined by a damped Gauss-Newton step on the 2×2
   degenerate-perturbation model d(k + δ) = d0 + J δ, kept when the gap falls below ``node_tol``
   (1e-7 eV), and de-duplicated modulo the in-plane lattice. This finds linear crossings and
   quadratic touchings alike. Completeness check: the Berry phase (0 or π, PT symmetry) of every band
   around every plaquette gives the parity of the number of nodes of each pair inside it; plaquettes
   that disagree with the nodes found, or whose phases are unreliable, are searched again on a grid
   `subgrid` times finer. Only the pairs that reach below μ + margin + kT ln(1/occupation_cut) are
   searched (plus the pair above them).
3. Symmetry. Classes related by a crystal operation that maps the plane onto itself (R ẑ = ẑ, or
   R ẑ = −ẑ combined with time reversal; each one checked on the model's integrands) have the same C:
   one per orbit is integrated and weighted by the orbit size.
4. Disk integrals. For each orbit with occupied line states, C is the integral of wannorb's own
   per-state Eq. (4) kernel (``wannorb.kernels.hall.hall_integrands``, summed over the line's four
   states) with H = H0 + A·Hsoc over a disk (an ellipse adapted to the cone for linear crossings)
   around k0, Gauss-Legendre in ln r, uniform nested angular grids doubled to convergence, at a
   scale A giving a spin-orbit gap at k0 of ~1 % of the spinless gap on the disk edge (≤ 1 meV,
   ≥ 1e-7 eV; the kernel's degeneracy tolerance kept 10× below it). The same points give C at A/2 (A
   check; A is reduced further until it passes) and on the half-size disk (radius check).
5. A second, analytic value per piercing: C_topo = −2π W |ℓ_z| f(E0 − μ), W the winding number of
   the lower band's pseudospin around the axis of the projected L_z on a small loop, |ℓ_z| the size of
   L_z projected on the degenerate pair at k0 (two spins × two bands × πWℓ/2; kT ≫ spin-orbit gap).
   Derivation: per spin, H = d·(σ_x, σ_z) + m σ_y, ⟨L_z⟩ = ℓ_z ⟨σ_y⟩ = ∓ℓ_z m/E, Ω = ±m J/(2E³)
   (J the Jacobian of q ↦ d), ∫ d²q m² J/(2E⁴) = πW/2 for either band, whatever m.

6. An independent check, optional (``plane_check``, ``wannorb nodal --plane-check A``): on the same
   planes, the whole-plane Fermi-sea integral I(k_z) at a finite scale A (:func:`plane_sea_adaptive`:
   H(k) from the R-vectors folded onto the plane, wannorb's kernel, a midpoint grid refined where a
   gap between groups is below v·h, one base cell per symmetry orbit). It contains everything the
   line sum leaves out at that A (finite-A corrections, the O(A²) background, nodes the search
   missed), and PREFACTOR ∫ dk_z I is the full-zone Eq. (4) σ at A, converged in-plane.

Known limitations (see also :func:`census`): nodes closer together than the grid spacing with
opposite windings in one plaquette are invisible to the parity check (their contributions nearly
cancel); near a point where a third band meets the pair (triple points on C3/C4 axes) or where a
quadratic touching changes its winding, C(A) converges to its A → 0 value only for spin-orbit gaps
far below the third band's distance / the anisotropy scale — such piercings fail the A check and are
flagged (``flags``), and the prediction takes their analytic C_topo instead of the disk value (the
disk-only sum stays in ``checks['prediction_disks']``). So do piercings whose disk is squeezed by a
neighbour node to where the spin-orbit gap it may use (≥ ``min_soc_gap``) reaches the model's own
noise — e.g. a C3-axis node split into two nodes 1e-6 Å⁻¹ apart by data stored to 1e-9 eV; the k_z integrand
Σ C(k_z) has jumps (lines appearing, windings changing sign, occupations), so the midpoint rule
converges as 1/N_planes and the number of planes must be checked.

Units: energies eV, k Cartesian Å⁻¹, C dimensionless, σ (ħ/e) S/cm. Everything is a plain function
over arrays; ``census`` runs the whole thing on a :class:`~wannorb.model.TBModel`.
"""
import time

import numpy as np

from . import bloch, planequad
from .errors import InputError
from .hall import DEGEN_TOL_EV, fermi_dirac, operator_stack
from .planequad import PREFACTOR, box_indices
from .spinless import (ORBITAL_Z, X_DIR, Y_DIR, full_hk, orbital_hall_integrand, plane_hamiltonians,
                       plane_hamiltonians_at, prepare, same_class, slicing_geometry, spinless_energies,
                       spinless_hk, torus_distance)

NODE_TOL_EV = 1e-7          # a refined grid minimum counts as a degeneracy below this gap
SOC_GAP_MAX_EV = 1e-3       # target spin-orbit gap at k0 (upper end)


# ----------------------------------------------------------------------------------------------
# Berry-phase parities on a plane grid
# ----------------------------------------------------------------------------------------------

def plaquette_parities(U, min_overlap=0.3):
    """Parity of the number of nodes of each adjacent pair inside each plaquette of a periodic grid.

    U : (G, G, nb, nb) eigenvectors (columns, ascending energies) of a PT-symmetric spinless
    Hamiltonian. The Berry phase of band n around a plaquette is 0 or π, and π exactly when the
    plaquette holds an odd number of nodes of the pairs (n−1, n) and (n, n+1) together; so the
    parity of the pair (n, n+1) is p_n = Z_n − p_{n−1} (mod 2), p_{−1} = 0 (a node of a pair is a
    π-flux for both of its bands). Plaquette (i, j) has corners (i, j), (i+1, j), (i+1, j+1), (i, j+1).

    The sum of the Berry phases of all bands around a plaquette is 0 (mod 2π), so the parity also
    follows from the bands above: p_n = Σ_{m>n} Z_m; the side whose bands are all reliable is used.

    Returns parity (G, G, nb−1) int, reliable (G, G, nb−1) bool (all bands on one side of the pair
    have overlaps ≥ min_overlap between neighbouring corners and phases within 0.3 rad of 0 or π).
    """
    def ov(A, B):
        return np.einsum("ijan,ijan->ijn", A.conj(), B)
    U10 = np.roll(U, -1, 0)
    U11 = np.roll(U10, -1, 1)
    U01 = np.roll(U, -1, 1)
    o = [ov(U, U10), ov(U10, U11), ov(U11, U01), ov(U01, U)]
    prod = o[0] * o[1] * o[2] * o[3]
    ph = np.abs(np.angle(prod))
    Z = (ph > np.pi / 2).astype(int)
    good = (np.min(np.abs(np.stack(o)), axis=0) >= min_overlap) & (np.minimum(ph, np.pi - ph) < 0.3)
    below = np.cumsum(Z, -1)[..., :-1] % 2                       # Σ_{m≤n} Z_m
    below_ok = np.cumprod(good, -1)[..., :-1].astype(bool)
    above = np.cumsum(Z[..., ::-1], -1)[..., ::-1][..., 1:] % 2  # Σ_{m>n} Z_m
    above_ok = np.cumprod(good[..., ::-1], -1)[..., ::-1][..., 1:].astype(bool)
    parity = np.where(below_ok, below, above)
    return parity, below_ok | above_ok


# ----------------------------------------------------------------------------------------------
# piercings in one plane
# ----------------------------------------------------------------------------------------------

def valley_directions(gap, axes):
    """Number of the 4 grid lines through each point (x, y and the two diagonals over the two
    ``axes``, periodic) along which ``gap`` is ≤ both neighbours; int8 array shaped like ``gap``."""
    ax, ay = axes
    count = np.zeros(gap.shape, np.int8)
    for dx, dy in ((1, 0), (0, 1), (1, 1), (1, -1)):
        fwd = np.roll(np.roll(gap, dx, ax), dy, ay)
        bwd = np.roll(np.roll(gap, -dx, ax), -dy, ay)
        count += (gap <= fwd) & (gap <= bwd)
    return count


def grid_minima(E, max_gap=np.inf, min_directions=3):
    """Candidate nodes: grid points of one plane where an adjacent spinless gap is a valley floor.

    E : (G, G, nb) eV. A point is kept for the pair (n, n+1) if E_{n+1} − E_n is ≤ both periodic
    neighbours along at least ``min_directions`` of the 4 grid lines through it (x, y and the two
    diagonals; 4 = an ordinary 8-neighbour minimum). With 3, every point on the floor of a narrow
    valley is kept: a nodal line almost parallel to the plane leaves a long valley that can hold
    several nodes and only one grid minimum. Returns (ix, iy, n, gap) arrays, gap < max_gap.
    """
    gap = np.diff(E, axis=-1)
    count = valley_directions(gap, (0, 1))
    ismin = (count >= min_directions) & (gap < max_gap)
    ix, iy, n = np.nonzero(ismin)
    return ix, iy, n, gap[ix, iy, n]


def _pair_gap(E, n):
    return np.take_along_axis(E, (n + 1)[:, None], 1)[:, 0] - np.take_along_axis(E, n[:, None], 1)[:, 0]


def refine_nodes(kxy, kz, bands, prep, step_max, node_tol=NODE_TOL_EV, stop_tol=1e-12, max_iter=120):
    """Refine in-plane points to degeneracies of spinless bands (n, n+1) by damped Gauss-Newton.

    At k the pair is described by h = d·σ in the basis of its two eigenvectors; to first order
    d(k + δ) = d0 + J δ with d0 = (0, 0, (E_n − E_{n+1})/2) and J the 3×2 matrix of the pair's
    velocity matrix elements (Hellmann-Feynman / degenerate perturbation theory). δ = −J⁺ d0,
    capped by a trust radius (halved on a rejected step). Linear crossings converge quadratically,
    quadratic touchings (J → 0) linearly.

    kxy (nc, 2) Å⁻¹, kz float, bands (nc,) int. Returns kxy (nc, 2), gap (nc,) eV, converged (nc,)
    bool (gap < node_tol).
    """
    kxy = np.array(kxy, float)
    bands = np.asarray(bands, int)
    nc = len(kxy)
    if nc == 0:
        return kxy, np.zeros(0), np.zeros(0, bool)

    def evaluate(pts, b):
        k3 = np.column_stack([pts, np.full(len(pts), kz)])
        H, dH = spinless_hk(k3, prep)
        E, U = np.linalg.eigh(H)
        return E, U, dH, _pair_gap(E, b)

    E, U, dH, gap = evaluate(kxy, bands)
    trust = np.full(nc, float(step_max))
    for _ in range(max_iter):
        act = np.nonzero((gap > stop_tol) & (trust > 1e-14))[0]
        if len(act) == 0:
            break
        b = bands[act]
        cols = np.stack([b, b + 1], 1)
        Up = np.take_along_axis(U[act], cols[:, None, :], 2)                       # (na, nb, 2)
        V = np.einsum("kim,kaij,kjn->kamn", Up.conj(), dH[act], Up)              # (na, 2, 2, 2)
        J = np.stack([V[:, :, 0, 1].real, -V[:, :, 0, 1].imag,
                      0.5 * (V[:, :, 0, 0] - V[:, :, 1, 1]).real], axis=1)        # (na, 3, 2)
        d0 = np.zeros((len(act), 3))
        d0[:, 2] = -0.5 * gap[act]
        delta = -np.einsum("kab,kb->ka", np.linalg.pinv(J, rcond=1e-10), d0)
        norm = np.linalg.norm(delta, axis=1)
        scale = np.minimum(1.0, trust[act] / np.maximum(norm, 1e-300))
        delta *= scale[:, None]
        trial = kxy[act] + delta
        E2, U2, dH2, gap2 = evaluate(trial, b)
        ok = gap2 < gap[act]
        acc = act[ok]
        kxy[acc], E[acc], U[acc], dH[acc], gap[acc] = trial[ok], E2[ok], U2[ok], dH2[ok], gap2[ok]
        trust[acc] = np.minimum(step_max, 2.0 * np.linalg.norm(delta[ok], axis=1) + 1e-12)
        rej = act[~ok]
        trust[rej] = 0.25 * np.minimum(trust[rej], np.linalg.norm(delta[~ok], axis=1))
    return kxy, gap, gap < node_tol


GRID_OFFSET = (0.2718, 0.1414)   # grid offset in units of the spacing: symmetry lines off the grid lines


def _node_parities(nodes, P, grid, offset, nb, count=False):
    """Parity (G, G, nb−1) of the nodes in each plaquette of the offset grid (or their number)."""
    cnt = np.zeros((grid, grid, nb - 1), int)
    for nd in nodes:
        u = nd["k"][:2] / P[:2] * grid - np.asarray(offset)
        i, j = np.floor(u).astype(int) % grid
        cnt[i, j, nd["n"]] += 1
    return cnt if count else cnt % 2


def find_piercings(prep, geom, kz, grid, node_tol=NODE_TOL_EV, max_gap=np.inf, bands=None, merge_tol=None,
                   offset=GRID_OFFSET, subgrid=8, parity_check=True, local_min_directions=3, e_max=None):
    """All degeneracies of adjacent spinless bands in the plane k_z, grouped into classes.

    1. Candidates: valley-floor points (:func:`grid_minima`) of the G×G grid (offset by ``offset``
       spacings), refined by :func:`refine_nodes`; nodes of the same pair closer than ``merge_tol``
       (default 2 % of the spacing: a quadratic touching accepted at gap 1e-7 eV is located only to
       ~√(1e-7 eV / curvature)) are one node.
    2. Completeness (``parity_check``): the Berry phases of the bands around each plaquette give the
       parity of the number of nodes of every pair inside it (:func:`plaquette_parities`); every
       plaquette whose parity disagrees with the nodes found, or whose phases are unreliable (an
       eigenvector turning by ≳ 70° between corners), is searched again for the pairs concerned on a
       (2·``subgrid``)² grid over the 2×2 plaquettes centred on it, and the check is repeated. Remaining disagreements
       are reported (``parity_mismatch``); an even number of missed nodes in one plaquette (a
       vortex-antivortex pair closer than the spacing) is invisible to it.
    3. Classes: nodes equal modulo the reciprocal lattice (to ``merge_tol``).

    Returns dict: nodes — list of every node in the box (k (3,), n, gap); classes — list of dicts
    (k (3,), n, E0 eV, gap_other eV, images = nodes of the class found in the box); n_candidates;
    n_rejected; rejected_min_gap (eV); degenerate_area (fraction of grid points with a gap below
    node_tol); merge_tol; parity_mismatch_before; parity_mismatch (plaquettes still disagreeing after
    the second search, away from any node found) and parity_mismatch_next_to_nodes; unreliable
    (plaquettes with unreliable phases); n_local_searches; bands (the pairs searched: all, or those
    whose lower band dips below ``e_max`` eV).
    """
    P = geom["periods"]
    G = int(grid)
    h = max(P[0], P[1]) / G
    if merge_tol is None:
        merge_tol = 0.02 * h
    Hg = plane_hamiltonians(prep, P, kz, G, offset)
    E, U = np.linalg.eigh(Hg)
    nb = E.shape[-1]
    if e_max is not None:              # pairs whose lower band dips below e_max somewhere
        low = [b for b in range(nb - 1) if E[..., b].min() < e_max]
        if low and low[-1] + 1 < nb - 1:
            low.append(low[-1] + 1)     # the pair above too: its nodes limit the disks of the top pair
        bands = low if bands is None else [b for b in bands if b in low]
    ix, iy, n, g0 = grid_minima(E, max_gap)
    if bands is not None:
        keep = np.isin(n, bands)
        ix, iy, n, g0 = ix[keep], iy[keep], n[keep], g0[keep]
    gaps = np.diff(E, axis=-1)
    degenerate_area = float(np.mean(gaps < node_tol, axis=(0, 1)).max()) if gaps.size else 0.0
    kxy0 = np.column_stack([(ix + offset[0]) * P[0] / G, (iy + offset[1]) * P[1] / G])
    nodes = []
    stats = dict(n_candidates=0, n_rejected=0, rejected_min_gap=np.inf)

    def add(kstart, bands_start, step):
        if len(kstart) == 0:
            return
        kxy, gap, ok = refine_nodes(kstart, kz, bands_start, prep, step_max=step, node_tol=node_tol)
        kxy = np.mod(kxy, P[:2])
        stats["n_candidates"] += len(kstart)
        stats["n_rejected"] += int((~ok).sum())
        if (~ok).any():
            stats["rejected_min_gap"] = min(stats["rejected_min_gap"], float(gap[~ok].min()))
        for i in np.nonzero(ok)[0][np.argsort(gap[ok])]:          # best-converged first
            k3 = np.array([kxy[i, 0], kxy[i, 1], kz])
            if any(nd["n"] == bands_start[i] and torus_distance(nd["k"][:2], k3[:2], P) < merge_tol for nd in nodes):
                continue
            nodes.append(dict(k=k3, n=int(bands_start[i]), gap=float(gap[i])))

    add(kxy0, n, h)
    mismatch_before = mismatch = mismatch_near = unreliable = 0
    n_local = 0
    if parity_check:
        par, rel = plaquette_parities(U)
        if bands is not None:
            other = [b for b in range(nb - 1) if b not in bands]
            rel[..., other] = True
            par[..., other] = 0
        unreliable = int((~rel).any(-1).sum())
        # re-search: parity disagrees with the nodes found, or the phases are unreliable
        badp = ((_node_parities(nodes, P, G, offset, nb) != par) & rel) | ~rel
        bad = np.argwhere(badp.any(-1))
        mismatch_before = int(len(bad))
        n_local = len(bad)
        if n_local:
            # the fine grid G·subgrid (same offset in k), restricted to the 2×2 plaquettes centred
            # on each bad one; its valley floors of the flagged pairs are refined together
            Gf = G * subgrid
            of = np.asarray(offset, float) * subgrid
            shift = np.floor(of).astype(int)
            of = of - shift
            m2 = 2 * subgrid
            s = np.arange(m2) - subgrid // 2
            loc = np.stack(np.meshgrid(s, s, indexing="ij"), -1).reshape(-1, 2)
            fine = (bad[:, None, :] * subgrid + shift + loc[None]).reshape(-1, 2)
            Hf = plane_hamiltonians_at(prep, P, kz, Gf, of, fine)
            Es = np.linalg.eigvalsh(Hf).reshape(len(bad), m2, m2, nb)
            kk = ((fine + of) * P[:2] / Gf).reshape(len(bad), m2, m2, 2)
            gl = np.diff(Es, axis=-1)
            cnt = valley_directions(gl, (1, 2))
            cnt[:, [0, -1], :] = 0
            cnt[:, :, [0, -1]] = 0
            cnt *= badp[bad[:, 0], bad[:, 1]][:, None, None, :]
            q, a_, b_, m_ = np.nonzero(cnt >= local_min_directions)
            add(kk[q, a_, b_], m_, h / subgrid)
            bad2 = (_node_parities(nodes, P, G, offset, nb) != par) & rel
            # a node close to a plaquette edge can turn the eigenvectors by more than 90° between
            # two corners of the neighbouring plaquette (wrong sign, not caught by the overlap
            # test); a quadratic touching (|W| = 2) has Berry phase 0: mismatches next to a node
            # of the same pair are counted apart
            near = _node_parities(nodes, P, G, offset, nb, count=True) > 0
            grown = near.copy()
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    grown |= np.roll(np.roll(near, dx, 0), dy, 1)
            mismatch = int((bad2 & ~grown).any(-1).sum())
            mismatch_near = int((bad2 & grown).any(-1).sum())
    classes = []
    for nd in nodes:
        for c in classes:
            if c["n"] == nd["n"] and same_class(nd["k"] - c["k"], prep.lattice, tol=merge_tol):
                c["images"] += 1
                break
        else:
            classes.append(dict(k=nd["k"], n=nd["n"], images=1))
    if classes:
        Ek = spinless_energies(np.array([c["k"] for c in classes]), prep)
        for c, e in zip(classes, Ek):
            c["E0"] = float(0.5 * (e[c["n"]] + e[c["n"] + 1]))
            lo = e[c["n"] - 1] if c["n"] > 0 else -np.inf
            hi = e[c["n"] + 2] if c["n"] + 2 < len(e) else np.inf
            c["gap_other"] = float(min(e[c["n"]] - lo, hi - e[c["n"] + 1]))
    rmg = stats["rejected_min_gap"]
    return dict(nodes=nodes, classes=classes, n_candidates=stats["n_candidates"], n_rejected=stats["n_rejected"],
                rejected_min_gap=None if not np.isfinite(rmg) else rmg, degenerate_area=degenerate_area,
                merge_tol=merge_tol, parity_mismatch_before=mismatch_before, parity_mismatch=mismatch,
                parity_mismatch_next_to_nodes=mismatch_near, unreliable=unreliable, n_local_searches=n_local,
                bands=bands)


# ----------------------------------------------------------------------------------------------
# one piercing: winding, spin-orbit scale, disk integral
# ----------------------------------------------------------------------------------------------

def pauli_vector(m):
    """(..., 2, 2) Hermitian → (..., 3) real Pauli components (Tr m σ_i)/2 and (..., ) trace/2."""
    x = m[..., 0, 1].real
    y = -m[..., 0, 1].imag
    z = 0.5 * (m[..., 0, 0] - m[..., 1, 1]).real
    return np.stack([x, y, z], -1), 0.5 * (m[..., 0, 0] + m[..., 1, 1]).real


def winding(prep, k0, n, radius, n_angles=64):
    """Winding number W of the pair (n, n+1) around k0 and the projected L_z, on a loop in the plane.

    W = the number of turns of the lower band's pseudospin d̂ (in the basis of the pair at k0,
    d̂ = −⟨σ⟩) around the axis ℓ̂ of the projected L_z = ℓ_0 + ℓ·σ, counter-clockwise in
    (k_x, k_y). Returns dict(W int, W_raw float, ell |ℓ| (ħ), ell_trace ℓ_0, min_weight — smallest
    norm of the projected eigenvector on the loop (≈ 1 when the loop is small enough),
    off_axis — largest |d̂·ℓ̂| (≈ 0 for a PT-symmetric pair)).
    """
    H0, _ = spinless_hk(np.atleast_2d(k0), prep)
    _, U0 = np.linalg.eigh(H0[0])
    Wb = U0[:, [n, n + 1]]
    ellv, ell0 = pauli_vector(Wb.conj().T @ prep.Lz @ Wb)
    ell = float(np.linalg.norm(ellv))
    th = 2 * np.pi * np.arange(n_angles) / n_angles
    ks = np.asarray(k0)[None] + radius * np.column_stack([np.cos(th), np.sin(th), np.zeros_like(th)])
    H, _ = spinless_hk(ks, prep)
    _, U = np.linalg.eigh(H)
    w = np.einsum("im,ki->km", Wb.conj(), U[:, :, n])                 # components of u_n on (a, b)
    weight = np.einsum("km,km->k", w.conj(), w).real
    sig, _ = pauli_vector(np.einsum("km,kn->kmn", w, w.conj()) / weight[:, None, None])
    d = -sig
    if ell > 1e-8:
        axis = ellv / ell
    else:                                   # no L_z on the pair: use the normal of the d̂ plane
        axis = np.linalg.svd(d)[2][-1]
    e1 = np.cross(axis, [1.0, 0, 0] if abs(axis[0]) < 0.9 else [0, 1.0, 0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    psi = np.arctan2(d @ e2, d @ e1)
    dpsi = np.diff(np.append(psi, psi[0]))
    dpsi = (dpsi + np.pi) % (2 * np.pi) - np.pi
    W_raw = float(dpsi.sum() / (2 * np.pi))
    return dict(W=int(np.rint(W_raw)), W_raw=W_raw, ell=ell, ell_trace=float(ell0),
                min_weight=float(weight.min()), off_axis=float(np.abs(d @ axis).max()))


def soc_gap_per_scale(prep, k0, n, probe=1e-4):
    """Spin-orbit gap between the two Kramers pairs of the spinless pair (n, n+1) at k0 per unit A
    (eV), from H0 + probe·Hsoc (first order). States 2n … 2n+3 of the spinful spectrum."""
    (Hk, _), = full_hk(np.atleast_2d(k0), prep, [probe], "exact")
    E = np.linalg.eigvalsh(Hk[0])
    return float((E[2 * n + 2] - E[2 * n + 1]) / probe)


def ring_gaps(prep, k0, n, radius, n_angles=32, M=None):
    """On the closed curve k0 + radius·M·(cos θ, sin θ) (a circle for M = 1): the smallest spinless
    gap E_{n+1} − E_n and the smallest gap between the pair and the other bands
    (E_n − E_{n−1}, E_{n+2} − E_{n+1}), eV."""
    M = np.eye(2) if M is None else M
    th = 2 * np.pi * (np.arange(n_angles) + 0.5) / n_angles
    q = radius * np.column_stack([np.cos(th), np.sin(th)]) @ M.T
    ks = np.asarray(k0)[None] + np.column_stack([q, np.zeros(n_angles)])
    E = spinless_energies(ks, prep)
    other = np.inf
    if n > 0:
        other = min(other, (E[:, n] - E[:, n - 1]).min())
    if n + 2 < E.shape[1]:
        other = min(other, (E[:, n + 2] - E[:, n + 1]).min())
    return float((E[:, n + 1] - E[:, n]).min()), float(other)


def node_jacobian(prep, k0, n):
    """J (3, 2), eV·Å: d(k0 + q) ≈ J q for the pair (n, n+1) at a node k0, d the pseudospin vector of
    the pair in the basis of its eigenvectors at k0 (degenerate perturbation theory). Its singular
    values are the principal slopes of the cone (basis independent)."""
    H, dH = spinless_hk(np.atleast_2d(k0), prep)
    _, U = np.linalg.eigh(H[0])
    Up = U[:, [n, n + 1]]
    V = np.einsum("im,aij,jn->amn", Up.conj(), dH[0], Up)
    return np.stack([V[:, 0, 1].real, -V[:, 0, 1].imag, 0.5 * (V[:, 0, 0] - V[:, 1, 1]).real], axis=0)


def radial_rule(r_in, r_out, gl_order=4):
    """Gauss-Legendre rule in u = ln r on r_in < r < r_out, panels of width ln 2 counted from r_out.

    Returns r (nr,) Å⁻¹, weights (nr,) Å⁻² for ∫ r dr (= ∫ r² du), panel index (nr,) (0 = outermost).
    """
    L = np.log(r_out / r_in)
    n_pan = max(1, int(np.ceil(L / np.log(2.0) - 1e-9)))
    x, wx = np.polynomial.legendre.leggauss(gl_order)
    us, ws, ps = [], [], []
    for p in range(n_pan):
        hi = np.log(r_out) - p * np.log(2.0)
        lo = max(hi - np.log(2.0), np.log(r_in))
        u = 0.5 * (hi + lo) + 0.5 * (hi - lo) * x
        us.append(u)
        ws.append(0.5 * (hi - lo) * wx * np.exp(2 * u))
        ps.append(np.full(gl_order, p))
    u = np.concatenate(us)
    return np.exp(u), np.concatenate(ws), np.concatenate(ps)


ANGLE_OFFSET = 0.2718281828      # rad: keeps the angular nodes off the mirror lines of the plane


def disk_integral(prep, k0, n, mu, kT, r_disk, soc_gap=None, a_tol=5e-3, max_reductions=3, **kw):
    """:func:`disk_integral_at` with the spin-orbit gap reduced (÷4, at most ``max_reductions``
    times, not below ``min_soc_gap``) until the A check |C(A/2) − C(A)| ≤ a_tol·max(1, |C|) holds.

    Needed where the line's own spin-orbit matrix element ℓ is small: spin-orbit mixing with the
    other bands then adds to C terms ∝ A/ℓ² that only a smaller A suppresses. The result has
    ``a_reductions`` (how many) and a flag if the check still fails.
    """
    res = disk_integral_at(prep, k0, n, mu, kT, r_disk, soc_gap=soc_gap, **kw)
    tries = 0
    min_gap = kw.get("min_soc_gap", 1e-7)
    while (abs(res["C_half_A"] - res["C"]) > a_tol * max(1.0, abs(res["C"])) and tries < max_reductions
           and res["soc_gap"] / 4 >= min_gap and not res["notes"]):
        tries += 1
        res = disk_integral_at(prep, k0, n, mu, kT, r_disk, soc_gap=res["soc_gap"] / 4, **kw)
    res["a_reductions"] = tries
    if abs(res["C_half_A"] - res["C"]) > a_tol * max(1.0, abs(res["C"])):
        res["flags"].append("A check failed")
    return res


def disk_integral_at(prep, k0, n, mu, kT, r_disk, soc_gap=None, degen_tol=DEGEN_TOL_EV, n_angles=16,
                     max_angles=128, angle_tol=2e-3, gl_order=4, soc_mode="taylor", a_max=4.0,
                     inner_fraction=0.1, gap_other=np.inf, all_states=False, max_aspect=50.0,
                     min_soc_gap=1e-7):
    """C = ∫ dk_x dk_y Σ_states f Ω^{z,orbital,xy} over a neighbourhood of the piercing k0 of (n, n+1).

    States: the four states 2n … 2n+3 of the line (its two Kramers pairs, the spinful states of the
    spinless bands n, n+1 at small A), or all states with ``all_states``; nodes of other pairs at the
    same k0 (several doublets on one symmetry axis) would otherwise be counted in each other's disks.
    Every other node found is outside the domain (``r_disk`` is limited by the caller).

    Domain: k = k0 + r_disk·M·u, |u| ≤ 1. For a linear crossing (edge gap ∝ r^p with p < 1.5)
    M = [v₁ σ₂/σ₁, v₂] from the singular vectors/values of :func:`node_jacobian`: the cone
    |d| = |J q| is isotropic in u and the ellipse (semi-axes r_disk σ₂/σ₁ ≤ r_disk, aspect capped at
    ``max_aspect``) lies inside the disk. Otherwise (quadratic touchings) M = 1, a disk.

    Spin-orbit scale: A such that the gap between the pair's two Kramers pairs at k0 is ``soc_gap``
    (default 1 % of the smaller of the spinless gap on the domain edge and the gap to the other bands,
    ``gap_other``, at most 1 meV, at least ``min_soc_gap``), A ≤ a_max. The kernel's degeneracy
    tolerance is min(degen_tol, soc_gap/10) (clean limit: tolerance ≪ spin-orbit gap; Kramers pairs
    are degenerate to ~1e-13 eV in TR+I models, checked at k0). A third band at δ gives corrections
    ∝ soc_gap/δ, linear in A: C_extrap = 2 C(A/2) − C(A) is reported too.

    Quadrature: Gauss-Legendre in ln|u| (:func:`radial_rule`) from ρ_in = inner_fraction·ρ_t (ρ_t:
    where the spinless gap equals the spin-orbit gap at A/2, from the power law between |u| = 1 and
    1/8) to 1, the central part at its centre value; angles θ_j = θ0 + 2πj/N, N doubled from
    ``n_angles`` (nested) until |C_N − C_{N/2}| ≤ angle_tol·max(1, |C|) or N = max_angles. The same
    points are summed at A and A/2 (A check) and without the outermost ln 2 panel (radius check:
    the domain scaled by ½).

    Returns dict: C, C_half_A, C_half_r, C_half_angles, C_extrap (dimensionless), A, soc_gap,
    soc_gap_per_A, gap_edge, gap_other, degen_tol (eV), power, aspect, r_tube (Å⁻¹, along the long
    axis), r_disk, n_angles, n_points, flags (failed checks), notes (e.g. A capped at a_max).
    """
    flags, notes = [], []
    k0 = np.asarray(k0, float)
    g_edge, o_edge = ring_gaps(prep, k0, n, r_disk)
    g_8, o_8 = ring_gaps(prep, k0, n, r_disk / 8)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.log(max(g_edge, 1e-300) / max(g_8, 1e-300)) / np.log(8.0)
    M = np.eye(2)
    aspect = 1.0
    _, s, vt = np.linalg.svd(node_jacobian(prep, k0, n))
    if s[1] > 0:                   # try the ellipse of the cone; keep it where the gap is linear in |u|
        asp = min(s[0] / s[1], max_aspect)
        Mt = np.column_stack([vt[0] / asp, vt[1]])
        ge, oe = ring_gaps(prep, k0, n, r_disk, M=Mt)
        g8, o8 = ring_gaps(prep, k0, n, r_disk / 8, M=Mt)
        with np.errstate(divide="ignore", invalid="ignore"):
            pt = np.log(max(ge, 1e-300) / max(g8, 1e-300)) / np.log(8.0)
        if np.isfinite(pt) and pt < 1.5:
            M, aspect, p, g_edge, o_edge, g_8, o_8 = Mt, asp, pt, ge, oe, g8, o8
    gap_other = min(gap_other, o_edge, o_8)
    if not np.isfinite(p) or p < 0.5:
        flags.append(f"edge gap not growing (p={p:.2f})")
        p = 1.0
    p = min(p, 4.0)
    slope = soc_gap_per_scale(prep, k0, n)
    if soc_gap is None:
        soc_gap = float(np.clip(0.01 * min(g_edge, gap_other), min_soc_gap, SOC_GAP_MAX_EV))
    soc_gap = max(float(soc_gap), min_soc_gap)
    if slope * a_max < soc_gap:
        notes.append(f"weak spin-orbit gap ({slope:.2e} eV per unit A): A = a_max")
        A = a_max
        soc_gap = max(slope * A, 0.0)
    else:
        A = soc_gap / slope
    tol = min(degen_tol, 0.1 * soc_gap)
    (Hk0, _), = full_hk(k0[None], prep, [A], soc_mode, k0=k0)
    E0 = np.linalg.eigvalsh(Hk0[0])
    if np.abs(E0[1::2] - E0[0::2]).max() > 0.01 * tol:
        flags.append("Kramers pairs split at k0 by more than 1 % of the tolerance")
    # tube radius: where the smallest spinless gap on the curve |u| = ρ equals the gap at A/2,
    # from rings at ρ = 8^-k (log-log interpolation, the last slope extrapolated)
    target = 0.5 * soc_gap
    rhos, gs = [1.0, 0.125], [g_edge, g_8]
    while gs[-1] > target and len(rhos) < 8:
        rhos.append(rhos[-1] / 8)
        gs.append(ring_gaps(prep, k0, n, r_disk * rhos[-1], M=M)[0])
    lr, lg = np.log(rhos), np.log(np.maximum(gs, 1e-300))
    if gs[-1] <= target:
        i = int(np.nonzero(np.asarray(gs) <= target)[0][0])
        t = (np.log(target) - lg[i - 1]) / (lg[i] - lg[i - 1])
        rho_t = float(np.exp(lr[i - 1] + t * (lr[i] - lr[i - 1])))
    else:
        slope_g = max((lg[-2] - lg[-1]) / (lr[-2] - lr[-1]), 0.5)
        rho_t = float(np.exp(lr[-1] + (np.log(target) - lg[-1]) / slope_g))
    rho_in = min(rho_t * inner_fraction, 0.25)
    rho, wr, pan = radial_rule(rho_in, 1.0, gl_order)
    jac = r_disk ** 2 * abs(np.linalg.det(M))
    outer = pan == 0
    states = None if all_states else slice(2 * n, 2 * n + 4)

    def integrand(ks):
        out = []
        for Hk, dHk in full_hk(ks, prep, [A, 0.5 * A], soc_mode, k0=k0):
            out.append(orbital_hall_integrand(ks, Hk, dHk, prep, mu, kT, tol, states)[0])
        return out

    def values(theta):
        u = np.stack([np.cos(theta), np.sin(theta)], -1)
        q = (rho[:, None, None] * u[None]).reshape(-1, 2) @ M.T * r_disk
        ks = k0[None] + np.column_stack([q, np.zeros(len(q))])
        return [s.reshape(len(rho), len(theta)) for s in integrand(ks)]

    centre = [float(s[0]) for s in integrand(k0[None])]
    acc = np.zeros(3)          # running sums: [A, A/2, A without the outer panel]
    N = int(n_angles)
    new_theta = ANGLE_OFFSET + 2 * np.pi * np.arange(N) / N
    history = []
    n_points = 1
    while True:
        sA, sA2 = values(new_theta)
        n_points += sA.size
        acc += [wr @ sA.sum(1), wr @ sA2.sum(1), wr[~outer] @ sA[~outer].sum(1)]
        C_N = jac * (np.pi * rho_in ** 2 * np.array([centre[0], centre[1], centre[0]]) + acc * (2 * np.pi / N))
        history.append(C_N)
        if len(history) >= 2 and abs(C_N[0] - history[-2][0]) <= angle_tol * max(1.0, abs(C_N[0])):
            break
        if 2 * N > max_angles:
            if len(history) >= 2:
                flags.append(f"angles not converged at N={N}")
            break
        new_theta = ANGLE_OFFSET + 2 * np.pi * (np.arange(N) + 0.5) / N
        N *= 2
    C, C_half_A, C_half_r = (float(x) for x in history[-1])
    C_half_angles = float(history[-2][0]) if len(history) >= 2 else float("nan")
    return dict(C=C, C_half_A=C_half_A, C_half_r=C_half_r, C_half_angles=C_half_angles,
                C_extrap=2 * C_half_A - C, A=float(A), soc_gap=float(soc_gap), soc_gap_per_A=float(slope),
                gap_edge=g_edge, gap_other=float(gap_other), degen_tol=float(tol), power=float(p),
                aspect=float(aspect), r_tube=float(rho_t * r_disk), r_disk=float(r_disk), n_angles=N,
                n_points=int(n_points), flags=flags, notes=notes)


# ----------------------------------------------------------------------------------------------
# symmetry of the planes
# ----------------------------------------------------------------------------------------------

def plane_operations(model, check_scales=(1.0, 0.37)):
    """k-space operations M (Cartesian, orthogonal) with M ẑ = ẑ that leave the integrand
    Σ f Ω^{z,xy} invariant: crystal rotations R with R ẑ = ẑ, and −R (R combined with time reversal)
    for R ẑ = −ẑ. Each operation is checked on the model (``wannorb.symmetry.valid_operations``:
    energies and the whole integrand tensor at random k) at every scale in ``check_scales``, so both
    H0 and Hsoc respect it. For such M, Ω^{z,xy}(Mk) = det(M)² Ω^{z,xy}(k) (tensor rule of
    ``wannorb.symmetry``; L_z and Ω_z both transform with det(M)).

    Returns (ops (ng, 3, 3), time_reversal_ok bool, point-group symbol).
    """
    from .symmetry import crystal_operations, valid_operations
    W, R, pg, _ = crystal_operations(model)
    Xops = operator_stack(model, ("orbital",))
    keep = np.ones(len(W), bool)
    tr = True
    for s in check_scales:
        k, t = valid_operations(model, W, R, Xops, soc_scale=s)
        keep &= k
        tr &= t
    ops = []
    for Rg in R[keep]:
        z = Rg @ np.array([0.0, 0.0, 1.0])
        if np.allclose(z, [0, 0, 1], atol=1e-8):
            ops.append(Rg)
        elif tr and np.allclose(z, [0, 0, -1], atol=1e-8):
            ops.append(-Rg)
    ops = np.unique(np.round(np.array(ops), 10), axis=0) if ops else np.eye(3)[None]
    return ops, bool(tr), pg


def class_orbits(classes, ops, lattice, tol=1e-5):
    """Group piercing classes into orbits of the plane operations.

    classes: list of dicts with k (3,) and n. Returns a list of orbits, each a dict: members (indices
    into classes), expected (number of distinct images {M k} modulo the in-plane lattice).
    """
    orbit_of = [-1] * len(classes)
    orbits = []
    for i, c in enumerate(classes):
        if orbit_of[i] >= 0:
            continue
        images = []
        for M in ops:
            gk = M @ c["k"]
            if not any(same_class(gk - x, lattice, tol=tol) for x in images):
                images.append(gk)
        members = []
        for j, d in enumerate(classes):
            if orbit_of[j] < 0 and d["n"] == c["n"] and any(same_class(d["k"] - x, lattice, tol=tol) for x in images):
                orbit_of[j] = len(orbits)
                members.append(j)
        orbits.append(dict(members=members, expected=len(images)))
    return orbits


# ----------------------------------------------------------------------------------------------
# the census
# ----------------------------------------------------------------------------------------------

def _orbit_record(prep, geom, j, kz, classes, orb, allk, mu, kT, r_max, loop_fraction, warn):
    """The census record of one orbit of piercing classes on plane j (k_z Å⁻¹): where it is, its disk
    radius (Å⁻¹: ≤ r_max and 0.45 × the distance to the nearest other node ``allk`` (m, 2)), its
    occupation, winding W, |ℓ_z| and analytic C_topo = −2π W |ℓ_z| f(E0 − μ) (docstring, step 5).
    Appends what looks wrong (incomplete orbit, a third band at the node) to ``warn``."""
    c = classes[orb["members"][0]]
    if len(orb["members"]) != orb["expected"]:
        warn.append(f"plane {j}: orbit of the node of bands {c['n']},{c['n'] + 1} at "
                    f"{np.round(c['k'], 4).tolist()} has {len(orb['members'])} of {orb['expected']} members")
    d = torus_distance(allk, c["k"][:2], geom["periods"])
    d = d[d > 1e-6]
    d_nb = float(d.min()) if len(d) else np.inf
    r_disk = min(r_max, 0.45 * d_nb)
    occ = float(fermi_dirac(c["E0"], mu, kT))
    rec = dict(kz_index=int(j), kz=float(kz), k=[float(x) for x in c["k"]], n=c["n"], E0=c["E0"],
               E0_minus_mu=c["E0"] - mu, weight=orb["expected"], found=len(orb["members"]),
               images=[classes[i]["images"] for i in orb["members"]],
               images_expected=geom["images_per_class"], gap_other_k0=c["gap_other"],
               d_neighbour=d_nb, r_disk=float(r_disk), occupation=occ)
    rho = loop_fraction * r_disk
    for _ in range(4):          # shrink the loop until the pair's subspace is kept
        wd = winding(prep, c["k"], c["n"], rho)
        if wd["min_weight"] > 0.99:
            break
        rho /= 4
    rec["loop_radius"] = float(rho)
    rec.update(W=wd["W"], W_raw=wd["W_raw"], ell=wd["ell"], loop_weight=wd["min_weight"],
               off_axis=wd["off_axis"])
    rec["C_topo"] = float(-2 * np.pi * wd["W"] * wd["ell"] * occ)
    if c["gap_other"] < 1e-4:
        warn.append(f"plane {j}: node of bands {c['n']},{c['n'] + 1} at {rec['k']} touches a third band")
    return rec


def _plane_sea_check(prep, geom, kz, plane_check, mu, kT, ops):
    """The census's plane check on one plane (``census`` docstring, ``plane_check``): per A the
    whole-plane I(k_z) on the base grid G and on G/2 ([[I_G, I_G/2], ...], dimensionless) and per A
    a dict of their point counts, refined cells, unresolved bounds, caps and levels."""
    Gp = int(plane_check["grid"])
    runs = [[plane_sea_adaptive(prep, geom["periods"], kz, g, A, mu, kT, plane_check["degen_tol"],
                                area_cell=geom["area_2d"], levels=plane_check.get("levels", 8),
                                velocity=plane_check.get("velocity", 10.0),
                                max_points=plane_check.get("max_points", 4_000_000), ops=ops)
             for g in (Gp, Gp // 2)] for A in plane_check["soc_scales"]]
    sea = [[r["I"] for r in pair] for pair in runs]
    info = [dict(soc_scale=float(A), **{f"{key}{tag}": r[key] for r, tag in zip(pair, ("", "_half_grid"))
                                        for key in ("n_points", "n_refined", "unresolved", "capped", "by_level")})
            for A, pair in zip(plane_check["soc_scales"], runs)]
    return sea, info


def _census_checks(pierc, scale):
    """Aggregate checks of the census's piercing records; ``scale`` = PREFACTOR Δk_z × (2 with
    time-reversal folding) turns Σ weight·C into (ħ/e) S/cm."""
    integ = [p for p in pierc if p["integrated"]]
    bad = [p for p in integ if p["flags"]]

    def total(key, recs=integ):
        return scale * float(sum(p["weight"] * p[key] for p in recs))

    def failed(key, rel, ref):
        return sum(1 for p in integ if abs(p[key] - p["C"]) > rel * max(1.0, abs(p[ref])))

    return dict(
        n_orbits=len(pierc), n_integrated=len(integ),
        prediction_hybrid=scale * float(sum(p["weight"] * (p["C_topo"] if p["flags"] else p["C"]) for p in integ)),
        flagged_contribution=total("C", bad), flagged_contribution_topo=total("C_topo", bad),
        prediction_disks=total("C"),
        prediction_half_A=total("C_half_A"), prediction_half_r=total("C_half_r"),
        prediction_extrap=total("C_extrap"),
        prediction_half_angles=total("C_half_angles") if all(np.isfinite(p["C_half_angles"]) for p in integ) else None,
        max_abs_dC_half_A=max([abs(p["C_half_A"] - p["C"]) for p in integ], default=0.0),
        max_abs_dC_half_r=max([abs(p["C_half_r"] - p["C"]) for p in integ], default=0.0),
        n_flagged=len(bad),
        n_topo_mismatch=failed("C_topo", 0.02, "C_topo"),
        n_A_check_failed=failed("C_half_A", 0.01, "C"),
        n_r_check_failed=failed("C_half_r", 0.01, "C"),
        n_orbit_incomplete=sum(1 for p in pierc if p["found"] != p["weight"]),
        n_images_mismatch=sum(1 for p in pierc if any(i != p["images_expected"] for i in p["images"])),
        disk_vs_topo_on_integrated=scale * float(sum(p["weight"] * (p["C"] - p["C_topo"]) for p in integ)),
    )


def _plane_check_summary(plane_check, plane_info, sea, scale, fold):
    """The census's ``plane_check`` output from the per-plane runs: sea (nA, 2, n_planes) the plane
    integrals on G and G/2, ``scale`` = PREFACTOR Δk_z; σ in (ħ/e) S/cm."""
    Gp = int(plane_check["grid"])
    scales = plane_check["soc_scales"]
    return dict(soc_scales=[float(A) for A in scales], grid=Gp, grid_half=Gp // 2,
                degen_tol=float(plane_check["degen_tol"]), levels=int(plane_check.get("levels", 8)),
                velocity=float(plane_check.get("velocity", 10.0)),
                unresolved_total={f"{A:g}": scale * fold * float(sum(info["plane_check"][i]["unresolved"]
                                                                     for info in plane_info))
                                  for i, A in enumerate(scales)},
                capped_planes=sorted({info["kz_index"] for info in plane_info
                                      for c in info["plane_check"] if c["capped"] or c["capped_half_grid"]}),
                plane_sum={f"{A:g}": sea[i, 0].tolist() for i, A in enumerate(scales)},
                plane_sum_half_grid={f"{A:g}": sea[i, 1].tolist() for i, A in enumerate(scales)},
                sigma={f"{A:g}": scale * float(sea[i, 0].sum()) for i, A in enumerate(scales)},
                sigma_half_grid={f"{A:g}": scale * float(sea[i, 1].sum()) for i, A in enumerate(scales)})


def census(model, mu, kT, n_planes=16, grid=64, r_max=None, degen_tol=DEGEN_TOL_EV, node_tol=NODE_TOL_EV,
           time_reversal=True, symmetry=True, soc_mode="taylor", n_angles=16, max_angles=256, gl_order=4,
           occupation_cut=1e-7, margin=5e-3, loop_fraction=0.02, disk_stride=1, parity_check=True,
           plane_check=None, progress=None, comm=None):
    """Clean-limit σ^z_xy(Eq. (4), orbital) of ``model`` as the sum over spinless nodal lines, Eq. (1).

    Parameters
    ----------
    model : TBModel with a separate spin-orbit term (Hsoc) and a spin-diagonal H0
    mu, kT : eV
    n_planes : number N of midpoint planes k_z = (j + ½) g_z / N over one period g_z
    grid : G — each plane's gap grid is G×G over the box [0,P_x)×[0,P_y)
    r_max : largest disk radius, Å⁻¹ (default 0.04·min(P_x, P_y)); each disk is also limited to
        0.45 × the distance to the nearest other node of the plane (any band pair)
    time_reversal : compute planes j < N/2 only and count them twice (k_z → −k_z); N must be even
    symmetry : integrate one class per orbit of the plane operations (:func:`plane_operations`)
        and weight it by the orbit size
    soc_mode : 'taylor' (default) or 'exact' spin-orbit term inside the disks (:func:`full_hk`)
    n_angles, max_angles, gl_order : disk quadrature (:func:`disk_integral`)
    occupation_cut, margin : classes with f(E0 − margin − μ) < occupation_cut are not integrated
        (their line states are empty; C = 0), and only the pairs whose lower band comes below
        μ + margin + kT·ln(1/occupation_cut) somewhere in the plane (plus the pair above) are searched
    disk_stride : integrate the disks on every ``disk_stride``-th computed plane only (0: none); the
        prediction is then Σ C_topo (the analytic values), the disks serve as a check
    parity_check : the Berry-phase completeness check and second search of :func:`find_piercings`
    loop_fraction : radius of the winding loop in units of the disk radius
    plane_check : None or dict(soc_scales=[A, ...], grid=G, degen_tol=eV[, levels, velocity, max_points]):
        on every computed plane also the whole-plane Fermi-sea integral I(k_z) at each finite A
        (:func:`plane_sea_adaptive`: base grid G×G refined where the gaps are unresolved and, as its
        convergence check, the same from a (G/2)×(G/2) base grid) — an independent route to the same
        plane sum that contains everything the line constant leaves out (finite-A corrections,
        the O(A²) background, anything the node search missed)
    progress : callable(str) or None
    comm : MPI communicator or None; the planes are dealt out over its ranks (every rank returns the
        same result; ``cost`` then sums the time of all ranks)

    Returns
    -------
    dict with prediction ((ħ/e) S/cm: the disk integrals, C_topo for the piercings whose disk failed
    its checks), plane_check (with ``plane_check``: per A the per-plane I(k_z) on G and G/2 and
    sigma = PREFACTOR ∫ dk_z I, (ħ/e) S/cm), prediction_topo (from C_topo everywhere), checks["prediction_disks"] (disk values
    everywhere) and checks["prediction_hybrid"] (= prediction),
    plane_kz, plane_sum / plane_sum_topo (Σ over classes of C per plane, orbit-weighted),
    plane_sum_prediction (per plane, what the prediction sums: C_topo for flagged disks),
    piercings (one record per orbit: kz_index, k, n, E0, E0_minus_mu, weight = orbit size,
    found (classes of the orbit found), images (in the box, per class), occupation, W, ell,
    C_topo, integrated, C and, if integrated, the checks of :func:`disk_integral`),
    geometry, symmetry, settings, checks (aggregate), cost (s), warnings.
    """
    t0 = time.time()
    if not np.any(model.Hsoc):
        raise InputError(f"{model.name} has no separate spin-orbit term; the census needs H0 and Hsoc")
    prep = prepare(model)
    geom = slicing_geometry(model.lattice)
    P = geom["periods"]
    if r_max is None:
        r_max = 0.04 * min(P[0], P[1])
    n_planes = int(n_planes)
    if time_reversal and n_planes % 2:
        raise InputError("time_reversal folding needs an even number of planes")
    if symmetry or time_reversal:
        ops, tr_ok, pg = plane_operations(model)
        if time_reversal and not tr_ok:
            raise InputError(f"{model.name} fails the time-reversal check; run with time_reversal=False")
        if not symmetry:
            ops = np.eye(3)[None]
    else:
        ops, tr_ok, pg = np.eye(3)[None], None, None
    kz_all = (np.arange(n_planes) + 0.5) * geom["g_z"] / n_planes
    todo = range(n_planes // 2) if time_reversal else range(n_planes)
    dkz = geom["g_z"] / n_planes
    e_max = mu + margin + (kT * np.log(1.0 / occupation_cut) if kT > 0 else 0.0)

    def do_plane(j):
        """Find, classify and integrate the piercings of plane j: (info, records, warnings, cost)."""
        kz = kz_all[j]
        t1 = time.time()
        warn, recs = [], []
        cst = dict(find=0.0, disks=0.0, disk_points=0, candidates=0, rejected=0, disks_integrated=0,
                   plane_check=0.0)
        found = find_piercings(prep, geom, kz, grid, node_tol=node_tol, e_max=e_max, parity_check=parity_check)
        info = dict(kz_index=int(j), kz=float(kz), n_classes=len(found["classes"]),
                    n_nodes=len(found["nodes"]), bands=found["bands"],
                    parity_mismatch_before=found["parity_mismatch_before"],
                    parity_mismatch=found["parity_mismatch"],
                    parity_mismatch_next_to_nodes=found["parity_mismatch_next_to_nodes"],
                    unreliable=found["unreliable"], time=0.0)
        cst["find"] += time.time() - t1
        cst["candidates"] += found["n_candidates"]
        cst["rejected"] += found["n_rejected"]
        if found["degenerate_area"] > 0.01:
            warn.append(f"plane {j}: a band pair is degenerate on {found['degenerate_area']:.1%} of the grid")
        allk = np.array([nd["k"][:2] for nd in found["nodes"]]).reshape(-1, 2)
        classes = found["classes"]
        for orb in class_orbits(classes, ops, prep.lattice, tol=found["merge_tol"]):
            rec = _orbit_record(prep, geom, j, kz, classes, orb, allk, mu, kT, r_max, loop_fraction, warn)
            do_disk = disk_stride > 0 and j % disk_stride == 0
            c = classes[orb["members"][0]]
            if float(fermi_dirac(c["E0"] - margin, mu, kT)) < occupation_cut or not do_disk:
                rec.update(integrated=False, C=0.0 if do_disk else rec["C_topo"], disk_skipped=not do_disk)
            else:
                t2 = time.time()
                rec.update(disk_integral(prep, c["k"], c["n"], mu, kT, rec["r_disk"], degen_tol=degen_tol,
                                         n_angles=n_angles, max_angles=max_angles, gl_order=gl_order,
                                         soc_mode=soc_mode, gap_other=c["gap_other"]))
                rec["integrated"] = True
                cst["disks"] += time.time() - t2
                cst["disk_points"] += rec["n_points"]
                cst["disks_integrated"] += 1
            recs.append(rec)
        if plane_check is not None:
            t3 = time.time()
            info["sea"], info["plane_check"] = _plane_sea_check(prep, geom, kz, plane_check, mu, kT, ops)
            cst["plane_check"] = time.time() - t3
        info["time"] = time.time() - t1
        if found["parity_mismatch"]:
            warn.append(f"plane {j}: {found['parity_mismatch']} plaquettes with an odd number of "
                        "nodes not found (Berry-phase parity)")
        if progress is not None:
            progress(f"plane {j + 1}/{len(todo)} k_z = {kz:.4f} 1/Å: {len(classes)} classes in {len(recs)} orbits, "
                     f"Σ C = {sum(r['weight'] * r['C'] for r in recs):.4f}, {time.time() - t0:.1f} s")
        return info, recs, warn, cst

    # planes are independent: under MPI each rank takes every size-th one; all ranks get all results
    rank, size = (comm.Get_rank(), comm.Get_size()) if comm is not None else (0, 1)
    done = [do_plane(j) for j in list(todo)[rank::size]]
    if comm is not None:
        done = sorted((d for part in comm.allgather(done) for d in part), key=lambda d: d[0]["kz_index"])
    pierc, warnings, plane_info = [], [], []
    plane_sum, plane_topo, plane_pred = np.zeros(n_planes), np.zeros(n_planes), np.zeros(n_planes)
    cost = dict(find=0.0, disks=0.0, disk_points=0, candidates=0, rejected=0, disks_integrated=0,
                plane_check=0.0)
    n_sea = len(plane_check["soc_scales"]) if plane_check is not None else 0
    sea = np.zeros((n_sea, 2, n_planes))
    for info, recs, warn, cst in done:
        j = info["kz_index"]
        plane_info.append(info)
        pierc.extend(recs)
        warnings.extend(warn)
        for key in cost:
            cost[key] += cst[key]
        plane_sum[j] = sum(r["weight"] * r["C"] for r in recs)
        plane_topo[j] = sum(r["weight"] * r["C_topo"] for r in recs)
        plane_pred[j] = sum(r["weight"] * (r["C_topo"] if r.get("flags") else r["C"]) for r in recs)
        if n_sea:
            sea[:, :, j] = info.pop("sea")
        if time_reversal:
            plane_sum[n_planes - 1 - j] = plane_sum[j]
            plane_topo[n_planes - 1 - j] = plane_topo[j]
            plane_pred[n_planes - 1 - j] = plane_pred[j]
            sea[:, :, n_planes - 1 - j] = sea[:, :, j]
    fold = 2.0 if time_reversal else 1.0
    checks = _census_checks(pierc, PREFACTOR * dkz * fold)
    cost["total"] = time.time() - t0
    topo = PREFACTOR * dkz * fold * float(sum(p["weight"] * p["C_topo"] for p in pierc))
    pc = None if plane_check is None else _plane_check_summary(plane_check, plane_info, sea, PREFACTOR * dkz, fold)
    return dict(
        prediction=checks["prediction_hybrid"] if disk_stride == 1 else topo,
        plane_check=pc,
        prediction_source=("analytic C_topo (disks on a subset)" if disk_stride != 1 else "disk integrals"
                           if not checks["n_flagged"] else
                           f"disk integrals; analytic C_topo for the {checks['n_flagged']} flagged disks"),
        prediction_topo=topo, planes=plane_info,
        plane_kz=kz_all.tolist(), plane_sum=plane_sum.tolist(), plane_sum_topo=plane_topo.tolist(),
        plane_sum_prediction=(plane_pred if disk_stride == 1 else plane_topo).tolist(),
        piercings=pierc,
        geometry={k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in geom.items()},
        symmetry=dict(n_plane_operations=len(ops), point_group=pg, time_reversal_ok=tr_ok),
        settings=dict(mu=float(mu), kT=float(kT), n_planes=n_planes, grid=int(grid), r_max=float(r_max),
                      degen_tol=degen_tol, node_tol=node_tol, time_reversal=time_reversal, symmetry=symmetry,
                      soc_mode=soc_mode, n_angles=n_angles, max_angles=max_angles, gl_order=gl_order,
                      occupation_cut=occupation_cut, margin=margin, loop_fraction=loop_fraction,
                      disk_stride=disk_stride, parity_check=parity_check,
                      model=model.name, params=dict(model.params)),
        checks=checks, cost=cost, warnings=warnings,
    )


# ----------------------------------------------------------------------------------------------
# the full Fermi-sea integral over one plane, at finite A (the census's independent check)
# ----------------------------------------------------------------------------------------------

def plane_sea_integral(prep, periods, kz, grid, soc_scale, mu, kT, degen_tol, area_cell=None,
                       offset=(0.5, 0.5), rows=4, keep_map=False):
    """I(k_z) = ∫_cell dk_x dk_y Σ_n f(ε_n − μ) Ω^{z,orbital,xy}_n at spin-orbit scale A — the whole plane.

    The census's per-plane value Σ C (Eq. (1)) is the A → 0 limit of this integral when every part of
    the plane other than the line tubes is O(A²); comparing the two at finite A, plane by plane,
    shows where (in k_z) and how much a full-zone Eq. (4) sum departs from the line constant.
    σ = PREFACTOR ∫ dk_z I(k_z) is the full-zone Eq. (4) orbital σ^z_xy at that A.

    H = H0 + A·Hsoc on the G×G grid k = ((i + o_x) P_x/G, (j + o_y) P_y/G, k_z) of the box of
    :func:`plane_hamiltonians`, built exactly (no truncation) by FFT: the R-vectors are grouped by
    n_x = R_x P_x/2π, each group is Fourier-summed over n_y by a 1D FFT of length G, and the rows
    i are then a small matrix product over the n_x groups (``rows`` grid rows at a time; memory
    ≈ n_groups·G·3·nw²·16 B). The per-state integrand is wannorb's kernel
    (:func:`orbital_hall_integrand`). The box holds ``P_x P_y / area_cell`` in-plane cells;
    the sum is divided by that number (``area_cell`` default: the box, one cell).

    Parameters: prep from :func:`prepare`; periods (3,) Å⁻¹; kz Å⁻¹; grid G; soc_scale A;
    mu, kT, degen_tol eV; offset in grid spacings.
    Returns (I dimensionless, map (G, G) Å²ħ·(Å⁻²) per grid cell summed over states or None).
    """
    G = int(grid)
    R = prep.R_cart
    ni = box_indices(R, periods)
    nw = prep.HR0.shape[1]
    m = nw * nw
    X = (prep.HR0 + soc_scale * prep.HRsoc).reshape(len(R), m)
    pre = np.exp(1j * kz * R[:, 2] + 2j * np.pi * (ni @ np.asarray(offset, float)) / G)
    comps = np.concatenate([X, 1j * R[:, 0, None] * X, 1j * R[:, 1, None] * X], axis=1) * pre[:, None]
    ux, inv = np.unique(ni[:, 0], return_inverse=True)
    h = np.zeros((len(ux), G, 3 * m), complex)
    np.add.at(h, (inv, ni[:, 1] % G), comps)
    h = np.fft.ifft(h, axis=1) * G                          # Σ_{n_y} e^{2πi j n_y / G}
    h = h.reshape(len(ux), G * 3 * m)
    dA = periods[0] * periods[1] / (G * G)
    n_cells = 1.0 if area_cell is None else periods[0] * periods[1] / area_cell
    total = 0.0
    mp = np.empty((G, G)) if keep_map else None
    jj = (np.arange(G) + offset[1]) * periods[1] / G
    for i0 in range(0, G, rows):
        ii = np.arange(i0, min(G, i0 + rows))
        ph = np.exp(2j * np.pi * np.outer(ii, ux) / G)      # Σ_{n_x} e^{2πi i n_x / G}
        blk = (ph @ h).reshape(len(ii) * G, 3, nw, nw)
        k = np.empty((len(ii) * G, 3))
        k[:, 0] = np.repeat((ii + offset[0]) * periods[0] / G, G)
        k[:, 1] = np.tile(jj, len(ii))
        k[:, 2] = kz
        dH = np.zeros((len(k), 3, nw, nw), complex)
        dH[:, :2] = blk[:, 1:]
        Hk, dHk = bloch._apply_centres(blk[:, 0], dH, k, prep.centres)
        val, _ = orbital_hall_integrand(k, Hk, dHk, prep, mu, kT, degen_tol)
        total += val.sum()
        if keep_map:
            mp[ii] = val.reshape(len(ii), G) * dA
    return total * dA / n_cells, mp


def plane_fold(prep, periods, kz, soc_scale):
    """H0 + A·Hsoc folded onto the plane k_z (:func:`wannorb.planequad.fold`)."""
    return planequad.fold(prep.R_cart, prep.HR0 + soc_scale * prep.HRsoc, periods, kz)


def plane_points_hk(kxy, kz, fold, centres):
    """H(k), ∂H(k) (∂_z = 0) in wannorb's convention at in-plane points kxy (nk, 2) of the plane k_z."""
    return planequad.points_hk(kxy, kz, fold, centres)


grid_cell_orbits = planequad.cell_orbits


def plane_sea_adaptive(prep, periods, kz, grid, soc_scale, mu, kT, degen_tol, area_cell=None, levels=4,
                       velocity=5.0, split=2, occupation_cut=1e-8, max_points=4_000_000, offset=(0.5, 0.5),
                       ops=None):
    """:func:`plane_sea_integral` with the grid refined where the integrand can be unresolved
    (:func:`wannorb.planequad.adaptive_plane` on the Eq. (4) orbital σ^z_xy integrand).

    Eq. (4)'s integrand peaks where two groups come close (at an SOI-gapped node, width ~ Δ/v in k),
    and a cell of side h resolves such a peak only if Δ ≳ v h: every cell whose midpoint has a gap
    (between adjacent groups, the lower one occupied) below ``velocity``·h is split, ``levels`` times.
    ``ops``: plane operations (:func:`plane_operations`) under which the integrand is invariant; only
    one base cell per orbit (:func:`grid_cell_orbits`, with the in-plane translations) is computed and
    refined, weighted by the orbit size.

    Returns dict(I: the integral over one in-plane cell (dimensionless), by_level: the integral with
    the refinement stopped after level 0, 1, … (its convergence), n_points, n_refined per level,
    unresolved: Σ|value·area| of the finest cells that still fail the criterion (their share is
    what the finest level cannot vouch for), capped: True when ``max_points`` stopped refining).
    """
    folded = plane_fold(prep, periods, kz, soc_scale)
    values = planequad.hall_values(folded, kz, prep.centres, prep.Xops, mu, kT, degen_tol,
                                   (ORBITAL_Z, X_DIR, Y_DIR), [0], occupation_cut=occupation_cut)
    orbits = grid_cell_orbits(prep.lattice, periods, grid, ops, offset)[:2] if ops is not None else None
    r = planequad.adaptive_plane(values, periods, grid, area_cell=area_cell, levels=levels, velocity=velocity,
                                 split=split, max_points=max_points, offset=offset, orbits=orbits)
    r.update(I=float(r["I"][0]), by_level=[float(b[0]) for b in r["by_level"]], unresolved=float(r["unresolved"][0]))
    return r
