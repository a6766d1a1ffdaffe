"""Plane-by-plane quadrature of σ^j_ik: ∫ dk_z of in-plane integrals refined around small gaps.

Why planes. At a small spin-orbit scale A the integrands of Eq. (4) and of the Kubo routes
concentrate in tubes of width ~ λAℓ/v around the spinless nodal lines (docs/sweep.md, "Nodal
lines"). A 3D mesh resolving them costs ~ (1/A)³ points; on a plane k_z = const a tube is a spot
(or, where a line runs inside the plane, a strip), and an in-plane grid refined 2×2 wherever a gap
is below v·h follows each spot down to its width at a cost ~ log(1/A) per spot. Along k_z what is
left is a 1D integral whose features have width ~ λAℓ/(v sinθ): a midpoint rule on N planes whose
intervals are split in three (the old plane is the middle one of the new three, so it is reused)
where the result moved.

Geometry (:func:`wannorb.spinless.slicing_geometry`): the box [0,P_x)×[0,P_y) holds m = P_x P_y / a₂
in-plane cells (a₂ the area of one), k_z runs over one period g_z, the zone volume is a₂·g_z, so

    σ = PREFACTOR Σ_planes Δk_z I(k_z),   I(k_z) = (1/m) ∫_box dk_x dk_y Σ_n f(ε_n − μ) Ω_n(k),

with PREFACTOR = (e²/ħ)/(8π³) in S/cm·Å, Ω_n the per-state integrand of
``wannorb.kernels.hall`` (Å² × ħ), σ in (ħ/e) S/cm.

Layout: :func:`fold` and :func:`points_hk` give H(k), ∂H(k) on a plane from the folded H(R);
:func:`cell_orbits` reduces the base grid by the plane operations; :func:`adaptive_plane` is the
refined in-plane midpoint rule for any vector-valued integrand; :func:`hall_values` is the sweep's
integrand (every method × quantity of one component, and its split by the states' gaps);
:func:`kz_adaptive` is the k_z rule. ``wannorb.sweep`` (``refine='planes'``) drives them;
``wannorb.nodal`` uses the same pieces for the census's plane check.
"""
from typing import NamedTuple

import numpy as np

from . import bloch
from .errors import InputError
from .hall import CONDUCTANCE_QUANTUM, ANGSTROM_PER_CM, fermi_dirac
from .kernels.hall import allocate_component_outputs, hall_component, unpack_hermitian
from .refine import state_gaps

PREFACTOR = CONDUCTANCE_QUANTUM * ANGSTROM_PER_CM / (8 * np.pi ** 3)   # (e²/ħ)·1e8/(8π³), S/cm·Å
OCCUPATION_CUT = 1e-8        # a gap counts for refinement only if the lower group holds more than this


def box_indices(R_cart, periods):
    """n_a = R_a P_a / 2π (nR, 2) int for the in-plane components of the R-vectors: integers because
    P_a â is a reciprocal vector; InputError if they are not (lattice not commensurate with the box)."""
    n = np.asarray(R_cart)[:, :2] * np.asarray(periods[:2], float) / (2 * np.pi)
    ni = np.rint(n).astype(np.int64)
    if np.abs(n - ni).max() > 1e-6:
        raise InputError("lattice vectors are not commensurate with the slicing box")
    return ni


class Folded(NamedTuple):
    """H(R) folded onto one plane (from :func:`fold`), in the form :func:`points_hk` evaluates.

    paired: M(k) = M0 + cos(k·p) C + sin(k·p) D over one p of each ±p pair (real products);
    otherwise M(k) = Σ_p e^{i k·p} B_p. Columns: the upper triangles of the blocks
    [H, ∂_x H, ∂_y H, ∂_z H] (τ = 0 phases), ``n_blocks`` of them carried (3 or 4)."""
    Rxy: np.ndarray
    C: np.ndarray
    D: np.ndarray
    M0: np.ndarray
    n_blocks: int
    nw: int
    paired: bool


def fold(R_cart, HR, periods, kz, z_derivative=False):
    """H(R) folded onto the plane k_z: B_p = Σ_{R: (R_x, R_y) = p} e^{i k_z R_z} H(R), and the same
    for i R_x, i R_y (and, with ``z_derivative``, i R_z) times it — the blocks of H(k), ∂H(k).

    R_cart (nR, 3) Å; HR (nR, nw, nw) eV (the whole Hamiltonian at the wanted SOI scale).
    Folding merges the R-vectors that differ only in R_z (Pt: 6339 → 685 translations p). Every
    block is Hermitian in k, so B_{−p} = B_p†; with that, H(k) = B_0 + Σ_{p>0} [cos(k·p)(B_p + B_p†)
    + i sin(k·p)(B_p − B_p†)] — real matrix products over half the translations, on the upper
    triangle only (4× fewer operations than e^{ik·p} B_p over all p). Data whose folded blocks are
    not Hermitian within 1e-10 (relative) keep the direct sum. Returns :class:`Folded`.
    """
    R = np.asarray(R_cart, float)
    key = box_indices(R, periods)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    nw = HR.shape[1]
    iu, ju = np.triu_indices(nw)
    X = np.asarray(HR).reshape(len(R), nw * nw) * np.exp(1j * kz * R[:, 2])[:, None]
    blocks = [X] + ([1j * R[:, 2, None] * X] if z_derivative else [])
    F = np.zeros((len(uniq), len(blocks) * nw * nw), complex)
    np.add.at(F, inv, np.concatenate(blocks, axis=1))
    Rxy = np.zeros((len(uniq), 2))
    np.add.at(Rxy, inv, R[:, :2])
    Rxy /= np.bincount(inv, minlength=len(uniq))[:, None]
    F0 = F[:, :nw * nw]
    B = np.concatenate([F0, 1j * Rxy[:, 0, None] * F0, 1j * Rxy[:, 1, None] * F0] + ([F[:, nw * nw:]] if z_derivative else []),
                       axis=1).reshape(len(uniq), -1, nw, nw)
    nb = B.shape[1]
    up = B[:, :, iu, ju].reshape(len(uniq), -1)                     # (B_p)_mn, m ≤ n
    dn = B[:, :, ju, iu].conj().reshape(len(uniq), -1)              # conj((B_p)_nm)
    where = {tuple(k): i for i, k in enumerate(uniq)}
    zero = where.get((0, 0))
    half = [i for i, k in enumerate(uniq) if k[0] > 0 or (k[0] == 0 and k[1] > 0)]
    partner = [where.get((-uniq[i, 0], -uniq[i, 1])) for i in half]
    scale = max(1.0, np.abs(up).max())
    paired = all(j is not None for j in partner) and len(half) + len(partner) + (zero is not None) == len(uniq)
    if paired:
        partner = np.array(partner, int)
        half = np.array(half, int)
        # B_{−p} = B_p†:  (B_{−p})_mn = conj((B_p)_nm)
        paired = bool(np.abs(up[partner] - dn[half]).max(initial=0.0) <= 1e-10 * scale) and \
            (zero is None or np.abs(up[zero] - dn[zero]).max() <= 1e-10 * scale)
    if not paired:
        return Folded(Rxy, up, np.zeros((0, 0)), np.zeros(up.shape[1], complex), nb, nw, False)
    C = up[half] + dn[half]
    D = 1j * (up[half] - dn[half])
    M0 = up[zero] if zero is not None else np.zeros(up.shape[1], complex)
    return Folded(Rxy[half], np.ascontiguousarray(C), np.ascontiguousarray(D), M0, nb, nw, True)


def points_hk(kxy, kz, folded, centres):
    """H(k) (nk, nw, nw) and ∂H(k) (nk, 3, nw, nw) in wannorb's convention (centre phases) at the
    in-plane points kxy (nk, 2) Å⁻¹ of the plane k_z; ∂_z H = 0 unless the fold carries it."""
    f = folded
    kxy = np.asarray(kxy, float)
    theta = kxy @ f.Rxy.T
    if f.paired:
        cols = f.C.shape[1]
        tri = np.cos(theta) @ f.C.view(np.float64) + np.sin(theta) @ f.D.view(np.float64)
        tri = tri.view(complex) + f.M0[None]
    else:
        tri = np.exp(1j * theta) @ f.C
        cols = f.C.shape[1]
    ntri = cols // f.n_blocks
    tri = tri.reshape(len(kxy), f.n_blocks, ntri)
    if f.n_blocks < 4:
        tri = np.concatenate([tri, np.zeros((len(kxy), 4 - f.n_blocks, ntri), complex)], axis=1)
    nw = f.nw
    iu, ju = np.triu_indices(nw)
    Hk0 = np.empty((len(kxy), nw, nw), complex)
    dHk0 = np.empty((len(kxy), 3, nw, nw), complex)
    unpack_hermitian(np.ascontiguousarray(tri), iu, ju, Hk0, dHk0)
    k = np.column_stack([kxy, np.full(len(kxy), kz)])
    return bloch._apply_centres(Hk0, dHk0, k, centres)


def lower_occupied_gap(E, mu, kT, degen_tol, occupation_cut=OCCUPATION_CUT, per_pair=False):
    """(nk,) smallest gap (eV) between adjacent groups whose lower group is occupied (f > cut):
    the gaps whose peaks the Fermi-sea integrands can hold. ``per_pair``: every adjacent pair of
    states instead, (nk, nw − 1) float32, inf where they are one group or the lower is empty."""
    dE = np.diff(E, axis=1)
    occ = fermi_dirac(E[:, :-1], mu, kT) > occupation_cut
    g = np.where((dE > degen_tol) & occ, dE, np.inf)
    return g.astype(np.float32) if per_pair else g.min(axis=1)


def hall_values(folded, kz, centres, Xops, mu, kT, degen_tol, comp, method_index, deltas=(),
                occupation_cut=OCCUPATION_CUT, operator_phases=True, chunk=1024, per_pair=False):
    """The sweep's in-plane integrand: a function kxy (n, 2) → (values (n, nv), gap (n,)).

    values[:, d, m, q] (flattened) = Σ_n f(ε_n − μ) Ω_n for method ``method_index[m]``, quantity q
    (rows of Xops) and component comp = (j, i, k); d = 0 is the total, d = 1 … the part from states
    whose gap to the nearest other group is below deltas[d − 1] (eV). Units Å²·ħ.
    gap: :func:`lower_occupied_gap` (per pair of adjacent states with ``per_pair``, for the flatness
    rule of :func:`adaptive_plane`). ``operator_phases=False`` drops the Wannier-centre phases of X(k)
    (as ``wannorb hall --l-phase none``).
    """
    j, i, k = comp
    midx = np.asarray(method_index)
    nq = Xops.shape[0]
    Xj = np.ascontiguousarray(Xops[:, j])
    deltas = np.asarray(deltas, float)

    def values(kxy):
        n = len(kxy)
        out = np.empty((n, len(deltas) + 1, len(midx), nq))
        gap = np.empty((n, len(centres) - 1), np.float32) if per_pair else np.empty(n)
        for s in range(0, n, chunk):
            H, dH = points_hk(kxy[s:s + chunk], kz, folded, centres)
            kk = np.column_stack([kxy[s:s + chunk], np.full(len(H), kz)])
            phase = bloch.centre_phases(kk, centres) if operator_phases else np.ones((len(H), len(centres)), complex)
            E, omega, _ = allocate_component_outputs(len(H), len(centres), nq)
            hall_component(np.ascontiguousarray(H), np.ascontiguousarray(dH), phase, Xj, i, k, float(degen_tol),
                           E, omega, _)
            w = omega[:, midx] * fermi_dirac(E, mu, kT)[:, None, None, :]   # (c, m, q, n)
            out[s:s + chunk, 0] = w.sum(-1)
            if len(deltas):
                sg = state_gaps(E, degen_tol)
                for d, delta in enumerate(deltas):
                    out[s:s + chunk, d + 1] = (w * (sg < delta)[:, None, None, :]).sum(-1)
            gap[s:s + chunk] = lower_occupied_gap(E, mu, kT, degen_tol, occupation_cut, per_pair)
        return out.reshape(n, -1), gap

    return values


def cell_orbits(lattice, periods, grid, ops=None, offset=(0.5, 0.5), tol=1e-6):
    """Orbits of the G×G box cells (centres ((i + o) P_x/G, (j + o) P_y/G)) under the in-plane
    reciprocal translations (G_z = 0) and the operations ``ops`` (3×3 Cartesian, M ẑ = ẑ) that map the
    grid onto itself; operations that do not (e.g. C3 on a rectangular box) are dropped.

    Returns (reps (n,) flat indices of one cell per orbit, weight (n,) orbit sizes, n_ops_used).
    Σ_box f = Σ_reps weight·f for any f invariant under the group.
    """
    P = np.asarray(periods[:2], float)
    G = int(grid)
    h = P / G
    B = 2 * np.pi * np.linalg.inv(np.asarray(lattice, float)).T
    n = np.indices((13, 13, 13)).reshape(3, -1).T - 6
    g = n @ B
    g = g[np.abs(g[:, 2]) < 1e-9][:, :2]
    red = g / P
    g = g[np.all((red >= -1e-9) & (red < 1 - 1e-9), axis=1)]
    ii, jj = np.meshgrid(np.arange(G), np.arange(G), indexing="ij")
    cen = np.column_stack([(ii.ravel() + offset[0]) * h[0], (jj.ravel() + offset[1]) * h[1]])
    ops2 = [np.eye(2)] if ops is None else [np.asarray(M, float)[:2, :2] for M in ops]
    canon = np.arange(G * G)
    used = 0
    images = []
    for M in ops2:
        x = cen @ M.T
        ok = True
        imgs = []
        for t in g:
            f = (x + t) / h - np.asarray(offset)
            fi = np.rint(f)
            if np.abs(f - fi).max() > tol:
                ok = False
                break
            imgs.append((fi[:, 0].astype(np.int64) % G) * G + fi[:, 1].astype(np.int64) % G)
        if ok:
            used += 1
            images.extend(imgs)
    # the group generated by the kept operations and translations: close the orbits by iterating
    for _ in range(64):
        new = canon.copy()
        for im in images:
            np.minimum.at(new, im, canon)
            new = np.minimum(new, new[im])
        if np.array_equal(new, canon):
            break
        canon = new
    reps, weight = np.unique(canon, return_counts=True)
    return reps, weight, used


def component_operations(ops, comp, tol=1e-8):
    """The operations among ``ops`` (3×3 Cartesian) that leave the tensor component comp = (j, i, k)
    of σ^j_ik's integrand invariant: M maps each of ê_j, ê_i, ê_k to ± itself (s_a) and
    det(M) s_j s_i s_k = +1 (an axial rank-3 tensor, T(Mk) = det M · M⊗M⊗M T(k); the same rule for R
    and −R, so also for the operations combined with time reversal). They form a subgroup."""
    keep = []
    for M in np.asarray(ops, float):
        signs = []
        for a in comp:
            col = M[:, a]
            s = col[a]
            if abs(abs(s) - 1) > tol or np.abs(np.delete(col, a)).max() > tol:
                break
            signs.append(np.sign(s))
        else:
            if np.linalg.det(M) * np.prod(signs) > 0:
                keep.append(M)
    return np.array(keep) if keep else np.eye(3)[None]


def adaptive_plane(values, periods, grid, area_cell=None, levels=8, velocity=10.0, split=2,
                   max_points=2_000_000, offset=(0.5, 0.5), orbits=None, flatness=0.0):
    """∫ over one in-plane cell of a vector integrand, midpoint rule refined where it can be unresolved.

    The Fermi-sea integrands peak where two groups come close (at an SOI-gapped node, width ~ Δ/v in
    k), and a cell of side h resolves such a peak only if Δ ≳ v h. Every cell whose midpoint has a
    gap Δ (``values`` returns it) below ``velocity``·h (eV·Å · Å⁻¹) is replaced by split×split
    children, recursively, ``levels`` times. Since Δ changes by at most ~v·h across a cell, a cell
    holding a smaller gap is caught by its midpoint when band velocities are below ``velocity``.

    values : kxy (n, 2) Å⁻¹ → (v (n, nv), gap (n,) eV)
    periods : (≥2,) box sides P_x, P_y, Å⁻¹; grid : G (G×G base cells); area_cell : Å⁻² (one cell;
        default the box); orbits : (reps, weight) from :func:`cell_orbits` (base cells to compute and
        their multiplicities) — the refinement of an image cell is the image of the refinement
        (the gap criterion is invariant), so only representatives are refined.
    flatness : r > 0 stops refining the children of a cell for a pair of states whose gaps at its
        midpoint and at its children's midpoints all lie within a factor 1 + r of each other: there
        the small gap is a flat near-degeneracy (two bands close over a wide region), not the
        SOI-gapped node of a peak, whose cone makes the five gaps differ by O(1) wherever the node
        lies in the cell. Needs ``values`` to return the gaps per pair, (n, npairs); a cell is refined
        while any pair fails the velocity criterion and is not flat. 0 (default): the velocity
        criterion alone (gap (n,) or (n, npairs) alike).

    Returns dict(I (nv,): the integral over one cell, by_level (list of (nv,)), n_points,
    n_refined per level, unresolved (nv,): Σ|value·area| of the finest cells still failing the
    criterion, capped: True when ``max_points`` stopped the refinement, h_min Å⁻¹).
    """
    P = np.asarray(periods[:2], float)
    G = int(grid)
    h = P / G
    reps, wt = orbits if orbits is not None else (np.arange(G * G), np.ones(G * G, np.int64))
    cen = np.column_stack([(reps // G + offset[0]) * h[0], (reps % G + offset[1]) * h[1]])
    val, gap = values(cen)
    gap = gap.reshape(len(gap), -1)
    n_cells = 1.0 if area_cell is None else P[0] * P[1] / area_cell
    running = (wt @ val) * h[0] * h[1]
    by_level, n_refined, n_points, capped = [running / n_cells], [], len(cen), False
    sub = (np.arange(split) + 0.5) / split - 0.5
    flat = np.zeros(gap.shape, bool)
    for _ in range(levels):
        bad = ((gap < velocity * h.max()) & ~flat).any(axis=1)
        if n_points + split * split * bad.sum() > max_points:
            capped = True
            break
        n_refined.append(int(bad.sum()))
        if not bad.any():
            break
        off = np.stack(np.meshgrid(sub * h[0], sub * h[1], indexing="ij"), -1).reshape(-1, 2)
        kids = (cen[bad][:, None, :] + off[None]).reshape(-1, 2)
        kw = np.repeat(wt[bad], len(off))
        kv, kg = values(kids)
        kg = kg.reshape(len(kg), -1)
        nkid = len(off)
        if flatness > 0:
            five = np.concatenate([gap[bad][:, None], kg.reshape(-1, nkid, kg.shape[1])], axis=1)
            lo, hi = five.min(axis=1), five.max(axis=1)
            flat = np.repeat(np.isfinite(hi) & (hi <= (1.0 + flatness) * lo), nkid, axis=0)
        else:
            flat = np.zeros(kg.shape, bool)
        hn = h / split
        running = running + (kw @ kv) * hn[0] * hn[1] - (wt[bad] @ val[bad]) * h[0] * h[1]
        by_level.append(running / n_cells)
        n_points += len(kids)
        cen, val, gap, h, wt = kids, kv, kg, hn, kw
    fail = ((gap < velocity * h.max()) & ~flat).any(axis=1)
    unresolved = (wt[fail] @ np.abs(val[fail])) * h[0] * h[1] / n_cells
    return dict(I=running / n_cells, by_level=by_level, n_points=n_points, n_refined=n_refined,
                unresolved=unresolved, capped=capped, h_min=float(h.max()))


def kz_adaptive(evaluate, g_z, n_planes, levels, target, time_reversal=True, progress=None):
    """Σ Δk_z I(k_z) over one period g_z: midpoint rule on ``n_planes`` planes, intervals split in three
    where the sum moved.

    evaluate : list of k_z (Å⁻¹) → list of I (nv,) arrays (the planes may be dealt out over ranks)
    target : (nv,) array, the accepted error of each value in units of the sum (rtol·|σ| + atol over
        PREFACTOR); refreshed from the running sum when a callable sum → target
    time_reversal : the planes k_z and −k_z give the same I (TR + I); only j < N/2 are computed,
        counted twice (N must be even)

    Round 1 splits every interval (the N planes become 3N, the old plane in the middle); round r > 1
    splits the intervals whose share of the last change is largest, until what is left unsplit
    adds up to less than ¼ of the target. A split interval's change |Σ_children − coarse| is its
    error indicator; each child inherits a third of it.

    Returns dict(sum (nv,), error (nv,): |last round's change| + the indicators of the intervals
    it did not split, by_round (list of sums), n_planes_per_round, planes: (kz, width, I) of the
    leaves, rounds (int)).
    """
    N = int(n_planes)
    if time_reversal and N % 2:
        raise InputError("the k_z folding k_z → −k_z needs an even number of planes")
    fac = 2.0 if time_reversal else 1.0
    w0 = g_z / N
    c = (np.arange(N // 2 if time_reversal else N) + 0.5) * w0
    w = np.full(len(c), w0)
    I = np.array(evaluate(list(c)))
    ind = np.full(I.shape, np.inf)               # error indicator per leaf (inf: never checked)
    total = fac * (w @ I)
    by_round, n_new = [total.copy()], [len(c)]
    error = np.full(total.shape, np.inf)
    for r in range(levels):
        tgt = target(total) if callable(target) else np.asarray(target, float)
        if r == 0:
            flag = np.ones(len(c), bool)
        else:
            score = (fac * ind / tgt).max(axis=1)
            order = np.argsort(-score)
            rest = np.cumsum(score[order][::-1])[::-1]           # Σ score of order[i:]
            n_flag = int(np.searchsorted(-rest, -0.25 * 1.0))   # first i with rest[i] ≤ ¼
            flag = np.zeros(len(c), bool)
            flag[order[:n_flag]] = True
            if not flag.any():
                break
        cf, wf = c[flag], w[flag] / 3
        new_k = np.concatenate([cf - wf, cf + wf])
        Inew = np.array(evaluate(list(new_k)))
        lo, hi = Inew[:len(cf)], Inew[len(cf):]
        fine = wf[:, None] * (lo + I[flag] + hi)
        change = fine - w[flag, None] * I[flag]
        unflagged = fac * ind[~flag].sum(axis=0) if (~flag).any() else np.zeros_like(total)
        total = total + fac * change.sum(axis=0)
        error = np.abs(fac * change.sum(axis=0)) + unflagged
        share = np.abs(change) / 3
        c = np.concatenate([c[~flag], cf - wf, cf, cf + wf])
        w = np.concatenate([w[~flag], wf, wf, wf])
        I = np.concatenate([I[~flag], lo, I[flag], hi])
        ind = np.concatenate([ind[~flag], share, share, share])
        by_round.append(total.copy())
        n_new.append(len(new_k))
        if progress:
            progress(r + 1, total, error)
        if np.all(error <= (target(total) if callable(target) else target)):
            break
    order = np.argsort(c)
    return dict(sum=total, error=error, by_round=by_round, n_planes_per_round=n_new,
                planes=(c[order], w[order], I[order]), rounds=len(by_round) - 1, fold=fac)
