"""Adaptive k-mesh refinement for the Fermi-sea integrals of Eq. (4) and the Kubo routes.

Why: a small spin-orbit scale A opens gaps ∝ A where the spinless bands cross or touch, and the
integrands (∝ 1/gap²) are sharply peaked there. A uniform mesh fine enough for A = 1 is not fine
enough for A = 0.01. Refining only the cells where a small gap may sit keeps the cost modest.

The quadrature (a correct one, tested):
* The base mesh N1×N2×N3 (offset ``shift``) is a tiling of the BZ into parallelepiped cells, each
  centred on a mesh point, weight w = 1/(N1 N2 N3) (fraction of the BZ); the plain sum is the
  midpoint rule — exactly what ``wannorb hall`` computes.
* A cell of level L (edges 1/(N_a 2^L) in reduced coordinates, half-diagonal r_L in 1/Å) is
  *flagged* when a relevant gap Δ at its centre may vary by more than itself across the cell:
  Δ < (2‖v_{g,g+1}‖ + |∇ε_g − ∇ε_{g+1}|)·ρ + C·ρ², ρ = factor·r_L (``unresolved_cells``).
* A flagged cell is replaced by its 8 children (halved edges, centres at ± 1/4 of the parent edges,
  weights w/8), which are evaluated and flagged in turn. The parent's own value is never added:
  the total is the sum over the *leaves*, so the weights always add up to the whole BZ (tested).
* Refinement stops at ``max_level`` or when the point budget is spent; flagged cells that could not
  be refined are kept as leaves and counted as *unresolved* (their weight and centre values are
  reported, and a sweep point with any unresolved cell is never called converged).

"Relevant" gaps are those between adjacent groups whose lower group lies below μ_max + 10 kT:
pairs of empty groups do not enter a Fermi-sea sum. With ``factor = 0`` nothing is refined and
the result is the plain uniform mesh (tested to machine precision against ``wannorb hall``).
"""
import numpy as np

from . import bloch
from .hall import fermi_dirac
from .kernels.hall import allocate_outputs, hall_integrands

# A gap counts as "relevant" if its lower group is below max(μ) + RELEVANT_KT × kT: at 10 kT
# the occupation is e^-10 ≈ 5e-5, below any accuracy asked of a sweep.
RELEVANT_KT = 10.0
# Default refinement factor (cell radius multiplier in the flag test): 0.5 refines cells in
# which the 1/Δ² peak is narrower than about the cell; larger values refine more.
REFINE_FACTOR = 0.5
MAX_LEVEL = 12
MAX_POINTS = 400_000          # refined points per integral (per scale and mesh offset)
BATCH = 512                   # k-points per kernel call for refined points; a refinement step (8·SELECT
                              # children) is 16 batches, dealt over the MPI ranks
SELECT = 1024                 # cells refined per best-first step (8·SELECT new points)


def group_boundaries(E, degen_tol):
    """Boolean (nk, nw−1): True where states b and b+1 belong to different groups."""
    return np.diff(E, axis=1) >= degen_tol


def relevant_gap(E, degen_tol, e_max):
    """(nk,) smallest gap (eV) between adjacent groups whose lower group is below ``e_max``;
    inf where there is none."""
    d = np.diff(E, axis=1)
    ok = (d >= degen_tol) & (E[:, :-1] < e_max)
    return np.where(ok, d, np.inf).min(axis=1) if d.shape[1] else np.full(len(E), np.inf)


def state_gaps(E, degen_tol):
    """(nk, nw) gap (eV) from each state's group to the nearest other group (inf if alone)."""
    nk, nw = E.shape
    d = np.diff(E, axis=1)
    bnd = d >= degen_tol
    below = np.full((nk, nw), np.inf)
    above = np.full((nk, nw), np.inf)
    for n in range(1, nw):
        below[:, n] = np.where(bnd[:, n - 1], d[:, n - 1], below[:, n - 1])
    for n in range(nw - 2, -1, -1):
        above[:, n] = np.where(bnd[:, n], d[:, n], above[:, n + 1])
    return np.minimum(below, above)


def cell_radius(reciprocal, nk):
    """Half-diagonal (1/Å) of a base cell with edges b_a/N_a: max over corners of |Σ ±b_a/2N_a|."""
    best = 0.0
    for s in np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T:
        best = max(best, np.linalg.norm((s / (2.0 * np.asarray(nk))) @ reciprocal))
    return best


def curvature_bound(model, soc_scale, n=None):
    """C (eV·Å²): max over a Γ-centred and a shifted n³ sample of sqrt(Σ_ab ‖∂_a∂_b H(k)‖₂²),
    the scale of the second-order change of a gap across a cell (quadratic band touchings).
    n defaults to 6 for small models and 4 above 8 basis functions (cost ∝ n³ nR nw²)."""
    if n is None:
        n = 6 if model.num_wann <= 8 else 4
    g = np.indices((n, n, n)).reshape(3, -1).T / n
    k_cart = np.concatenate([g, g + 0.5 / n]) @ model.reciprocal
    HR = model.hamiltonian_R(soc_scale)
    D = model.R_cart[:, None, None, :] + model.centres[None, None, :, :] - model.centres[None, :, None, :]
    best = 0.0
    for k in k_cart:
        ph = np.exp(1j * (D @ k)) * HR                               # (nR, nw, nw)
        tot = 0.0
        for a in range(3):
            for b in range(3):
                H2 = -(ph * D[..., a] * D[..., b]).sum(axis=0)
                tot += np.abs(np.linalg.eigvalsh(H2)).max() ** 2
        best = max(best, np.sqrt(tot))
    return float(best)


def unresolved_cells(Hk, dHk, degen_tol, e_max, r, curvature, mus=(), kT=0.0, factor=REFINE_FACTOR,
                     fermi_surface=False, return_ratio=False):
    """(m,) bool: cells of radius r (1/Å) centred at these k in which a relevant gap may vary by
    more than itself, i.e. Δ < (2‖v_{g,g+1}‖ + |∇ε_g − ∇ε_{g+1}|)·r + C·r² for some pair of
    adjacent groups g, g+1 with g below ``e_max``.

    Near a linear (avoided) crossing the gap grows as |∇ε_g − ∇ε_{g+1}| away from the core and the
    inter-group velocity ‖v_{g,g+1}‖ (Frobenius norm of the block, gauge invariant) sets the width
    Δ/‖v‖ of the 1/Δ² peak at the core; at a quadratic touching (e.g. the C4 axes of pcubic) both
    vanish on the line and the curvature bound C (``curvature_bound``) takes over.

    Fermi surface (``fermi_surface=True`` and kT > 0; off by default — a partly refined smooth
    integrand loses the spectral accuracy of the uniform periodic midpoint rule, which on pcubic
    cost more than the thermal step gained): a cell is also unresolved where a band within s + 4kT of some μ
    spreads over s = |∇ε_n| r + C r² > 2·factor·kT across the cell, i.e. where the thermal step of
    the occupation is sharper than the cell. (With kT = 0 the step is never resolved; no
    Fermi-surface refinement is attempted and the twin-mesh estimate carries that error.)

    Hk : (m, nw, nw) eV; dHk : (m, 3, nw, nw) eV·Å; r may be a scalar or (m,).
    With ``return_ratio`` also the priority min_pairs Δ / (allowed variation) (< 1: flagged;
    the smaller, the less resolved — refined first when the budget is short).
    """
    E, U = np.linalg.eigh(Hk)
    Ud = np.conj(np.swapaxes(U, 1, 2))
    V = Ud[:, None] @ dHk @ U[:, None]                           # (m, 3, nw, nw)
    M2 = (np.abs(V) ** 2).sum(axis=1)                            # (m, nw, nw)
    diag = np.diagonal(V, axis1=2, axis2=3).real                 # (m, 3, nw)
    d = np.diff(E, axis=1)
    bnd = d >= degen_tol
    gid = np.concatenate([np.zeros((len(E), 1), int), np.cumsum(bnd, axis=1)], axis=1)
    ratio = np.full(len(E), np.inf)
    r = np.broadcast_to(np.asarray(r, float), (len(E),))
    for b in range(E.shape[1] - 1):
        ok = bnd[:, b] & (E[:, b] < e_max)
        if not ok.any():
            continue
        lo = (gid == gid[:, b:b + 1]).astype(float)
        hi = (gid == gid[:, b + 1:b + 2]).astype(float)
        off = np.sqrt(np.einsum("kn,knm,km->k", lo, M2, hi))
        slope = np.linalg.norm(np.einsum("kan,kn->ka", diag, lo) / lo.sum(1)[:, None]
                               - np.einsum("kan,kn->ka", diag, hi) / hi.sum(1)[:, None], axis=1)
        allowed = (2 * off + slope) * r + curvature * r * r
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(ok & (allowed > 0), d[:, b] / allowed, np.inf)
        ratio = np.minimum(ratio, q)
    out = ratio < 1.0
    if fermi_surface and kT > 0 and len(mus):
        spread = np.linalg.norm(diag, axis=1) * r[:, None] + curvature * (r * r)[:, None]   # (m, nw)
        near = np.zeros_like(spread, bool)
        for mu in mus:
            near |= np.abs(E - mu) < spread + 4 * kT
        fs = (near & (spread > 2 * factor * kT)).any(axis=1)
        ratio = np.where(fs & ~out, 1.0 - 1e-9, ratio)
        out |= fs
    return (out, ratio) if return_ratio else out


def children(k_red, level, nk):
    """Centres of the 8 children of level-``level`` cells at ``k_red`` (m, 3) -> (8m, 3)."""
    step = 1.0 / (np.asarray(nk, float) * 2 ** (level + 2))       # a quarter of the parent edge
    signs = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1], indexing="ij")).reshape(3, -1).T
    return (k_red[:, None, :] + signs[None] * step).reshape(-1, 3)


class Accumulator:
    """Weighted sums over leaf cells: full tensors, the gap split, and bookkeeping."""

    def __init__(self, nmu, nq, deltas, comp):
        self.total = np.zeros((nmu, 3, nq, 3, 3, 3))
        self.deltas = np.asarray(deltas, float)
        self.split = np.zeros((len(deltas), 3, nq))           # first μ, chosen component
        self.comp = comp
        self.weight = 0.0
        self.unresolved_weight = 0.0
        self.unresolved = np.zeros((3, nq))                   # Σ |w I| of unresolved leaves, first μ, component
        self.point_max = np.zeros((3, nq))
        self.point_max_k = np.zeros((3, nq, 3))
        self.gap_min = np.inf
        self.gap_min_k = np.zeros(3)

    def empty_like(self):
        """A fresh accumulator of the same shapes (a partial sum of one chunk or batch)."""
        return Accumulator(self.total.shape[0], self.total.shape[2], self.deltas, self.comp)

    def merge(self, other):
        """Add a partial accumulator. Merging the one-batch partials in batch order gives bit for
        bit the sums of adding the batches here directly (0 + x = x), whatever rank made them."""
        self.total += other.total
        self.split += other.split
        self.weight += other.weight
        self.unresolved_weight += other.unresolved_weight
        self.unresolved += other.unresolved
        better = other.point_max > self.point_max
        self.point_max = np.where(better, other.point_max, self.point_max)
        self.point_max_k = np.where(better[..., None], other.point_max_k, self.point_max_k)
        if other.gap_min < self.gap_min:
            self.gap_min, self.gap_min_k = other.gap_min, other.gap_min_k.copy()

    def add(self, k_red, w, per_k, per_state_comp, sgap, rgap, unresolved=None):
        """Add leaves. per_k (m, nmu, 3, nq, 3, 3, 3); per_state_comp (m, 3, nq, nw) first μ;
        sgap (m, nw) state gaps; rgap (m,) relevant gaps; w scalar or (m,) weights."""
        if len(k_red) == 0:
            return
        w = np.broadcast_to(np.asarray(w, float), (len(k_red),))
        self.total += np.einsum("k,kumqjic->umqjic", w, per_k)
        self.weight += float(w.sum())
        for i, d in enumerate(self.deltas):
            self.split[i] += np.einsum("k,kmqn->mq", w, per_state_comp * (sgap < d)[:, None, None, :])
        j, a, b = self.comp
        contrib = np.abs(w[:, None, None] * per_k[:, 0, :, :, j, a, b])   # (m, 3, nq)
        arg = contrib.argmax(axis=0)
        best = np.take_along_axis(contrib, arg[None], axis=0)[0]
        better = best > self.point_max
        self.point_max = np.where(better, best, self.point_max)
        self.point_max_k = np.where(better[..., None], k_red[arg], self.point_max_k)
        ig = int(np.argmin(rgap))
        if rgap[ig] < self.gap_min:
            self.gap_min, self.gap_min_k = float(rgap[ig]), k_red[ig].copy()
        if unresolved is not None and unresolved.any():
            self.unresolved_weight += float(w[unresolved].sum())
            self.unresolved += contrib[unresolved].sum(axis=0)


def point_values(E, omega, mus, kT, comp):
    """Occupation-weighted integrands of a batch.

    E : (m, nw) eV; omega : (m, 3, nq, 3, 3, 3, nw) from the kernel.
    Returns per_k (m, nmu, 3, nq, 3, 3, 3) = Σ_n f(ε_n − μ) Ω_n, and per_state_comp
    (m, 3, nq, nw) = f(ε_n − μ_0) Ω_n for the chosen component (j, i, k) at the first μ.
    """
    occ = np.stack([fermi_dirac(E, mu, kT) for mu in mus], axis=1)   # (m, nmu, nw)
    per_k = np.einsum("kun,kmqjicn->kumqjic", occ, omega)
    j, a, b = comp
    per_state = occ[:, 0, None, None, :] * omega[:, :, :, j, a, b, :]
    return per_k, per_state


def evaluate_direct(model, k_red, soc_scale, Xops, degen_tol, operator_phases=True):
    """Kernel at arbitrary reduced k (direct Fourier sums): E (m, nw), omega, H(k), ∂H(k)."""
    k_cart = k_red @ model.reciprocal
    Hk, dHk = bloch.hk_direct(k_cart, model.R_cart, model.hamiltonian_R(soc_scale), model.centres)
    phase = (bloch.centre_phases(k_cart, model.centres) if operator_phases
             else np.ones(Hk.shape[:2], complex))
    E, omega, gap = allocate_outputs(len(k_red), model.num_wann, len(Xops))
    hall_integrands(np.ascontiguousarray(Hk), np.ascontiguousarray(dHk), np.ascontiguousarray(phase),
                    np.ascontiguousarray(Xops), float(degen_tol), E, omega, gap)
    return E, omega, Hk, dHk


def refine_cells(model, acc, k_red, level, nk, ctx, progress=None, ratio=None, runner=None):
    """Refine the flagged level-``level`` cells at ``k_red`` down to the leaves, adding them to ``acc``.

    Best first: the flagged cells (of any level) with the smallest priority ratio (least resolved,
    ``unresolved_cells``) are refined first, SELECT at a time, so that a short budget goes to the
    sharpest peaks; whatever is still flagged when the budget is spent becomes an unresolved leaf.
    Any order gives a correct quadrature (leaves only, weights w0/8^level).

    The children of a step are evaluated in batches of BATCH through ``runner`` (like
    :func:`wannorb.integration.run_chunks`; ``MPIChunkRunner`` spreads the batches over the ranks).
    Every rank keeps the same list of flagged cells (gathered in batch order) and merges the
    batches' partial sums in batch order, so the result is bit for bit that of a serial run.

    ctx: dict with soc_scale, Xops, degen_tol, operator_phases, mus, kT, comp, e_max, r0 (= factor·r
    of a base cell, 1/Å), curvature, factor, max_level, max_points.
    Returns (points evaluated, deepest level).
    """
    w0 = 1.0 / float(np.prod(nk))
    K = np.asarray(k_red, float).reshape(-1, 3)
    L = np.full(len(K), level, int)
    Q = np.zeros(len(K)) if ratio is None else np.asarray(ratio, float)
    n_eval, deepest = 0, level
    while len(K):
        room = ctx["max_points"] - n_eval
        n_sel = min(len(K), room // 8, SELECT)
        if n_sel < 1:
            break
        idx = np.argpartition(Q, n_sel - 1)[:n_sel] if n_sel < len(K) else np.arange(len(K))
        mask = np.zeros(len(K), bool)
        mask[idx] = True
        Ks, Ls = K[mask], L[mask]
        K, L, Q = K[~mask], L[~mask], Q[~mask]
        batches = [(kids[s:s + BATCH], int(lev) + 1)
                   for lev in np.unique(Ls) for kids in [children(Ks[Ls == lev], int(lev), nk)]
                   for s in range(0, len(kids), BATCH)]
        parts = _run_batches(model, acc, batches, w0, ctx, runner)
        K = np.concatenate([K] + [p[1] for p in parts])
        L = np.concatenate([L] + [np.full(len(p[1]), lev, int) for p, (_, lev) in zip(parts, batches)])
        Q = np.concatenate([Q] + [p[2] for p in parts])
        for kb, lev in batches:
            n_eval += len(kb)
            deepest = max(deepest, lev)
            if progress is not None:
                progress(lev, len(kb))
    # budget spent: the flagged cells stay leaves, unresolved (their values were not kept, so they
    # are evaluated again; cheap next to the children we are not computing)
    batches = [(K[L == lev][s:s + BATCH], int(lev)) for lev in np.unique(L)
               for s in range(0, int((L == lev).sum()), BATCH)]
    _run_batches(model, acc, batches, w0, ctx, runner, force_leaf=True)
    n_eval += len(K)
    return n_eval, deepest


def _run_batches(model, acc, batches, w0, ctx, runner, force_leaf=False):
    """Evaluate [(k (m, 3), level), ...] through ``runner``; merge the partial sums into ``acc`` in
    batch order; return per batch (partial, flagged centres, priority ratios)."""
    if runner is None:
        from .integration import run_chunks as runner

    def compute(b):
        part = acc.empty_like()
        fk, fq = _add_batch(model, part, batches[b][0], batches[b][1], w0, ctx, force_leaf=force_leaf)
        return part, fk, fq
    parts = runner(len(batches), compute, progress=False) if batches else []
    for part, _, _ in parts:
        acc.merge(part)
    return parts


def _add_batch(model, acc, k, lev, w0, ctx, force_leaf=False):
    """Evaluate a batch of level-``lev`` cells; add the leaves; return the flagged centres and
    their priority ratios."""
    E, omega, Hk, dHk = evaluate_direct(model, k, ctx["soc_scale"], ctx["Xops"], ctx["degen_tol"],
                                        ctx["operator_phases"])
    per_k, per_state = point_values(E, omega, ctx["mus"], ctx["kT"], ctx["comp"])
    rgap = relevant_gap(E, ctx["degen_tol"], ctx["e_max"])
    flag, ratio = unresolved_cells(Hk, dHk, ctx["degen_tol"], ctx["e_max"], ctx["r0"] / 2 ** lev, ctx["curvature"],
                                   ctx["mus"], ctx["kT"], ctx["factor"], ctx.get("fermi_surface", False),
                                   return_ratio=True)
    if force_leaf or lev >= ctx["max_level"]:
        acc.add(k, w0 / 8 ** lev, per_k, per_state, state_gaps(E, ctx["degen_tol"]), rgap, unresolved=flag)
        return np.zeros((0, 3)), np.zeros(0)
    leaf = ~flag
    acc.add(k[leaf], w0 / 8 ** lev, per_k[leaf], per_state[leaf], state_gaps(E[leaf], ctx["degen_tol"]), rgap[leaf])
    return k[flag], ratio[flag]
