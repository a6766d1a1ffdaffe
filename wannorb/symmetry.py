"""Crystal symmetry: the point group from spglib, the irreducible wedge of a uniform mesh, and
the symmetrisation of the Hall tensors.

What is used
------------
For a space-group operation {W|t} (W integer, in the lattice basis; Cartesian rotation
R = Aᵀ W A⁻ᵀ with A the lattice rows) reduced k-points map as k_red → W⁻ᵀ k_red. With the
Wannier centres in the Fourier phases (``model.py``) the operation takes the Bloch basis at k
to the one at Rk up to a k-independent unitary (site permutation ⊗ orbital and spin rotation)
and one overall phase, so the eigen-energies are invariant, E(Rk) = E(k), and the traced
integrands transform as tensors,

    Ω^{j,ik}(Rk) = det(R) R_ja R_ib R_kc Ω^{a,bc}(k)

(j: angular momentum, an axial vector; i, k: current and field, polar vectors). Time reversal
maps k → −k and leaves these integrands unchanged (the spin/orbital Hall conductivity is T-even:
both the angular momentum and the velocity change sign). Neither is assumed: every operation
(and time reversal) is checked on the model at random k-points before it is used
(:func:`valid_operations`), and a model that breaks a crystal symmetry (crystal field, a
Wannierisation without site symmetry, ``pcubic --param ex=0.1``) keeps only the operations it
has.

The reduction: with Γ the group of k-actions kept (point group ∩ model symmetries ∩ those that
map the mesh with its shift onto itself, × time reversal where it adds something), each orbit
of mesh points is represented by its point of smallest index with weight |orbit|, and

    Σ_k Ω(k) = (1/|Γ|) Σ_γ T_γ Σ_{k irr} w_k Ω(k)

which :func:`symmetrize` applies to the weighted sum.
"""
from dataclasses import dataclass, field

import numpy as np
import scipy.fft

from . import bloch
from .kernels.jit import serial

# Tolerances for accepting an operation as a symmetry of the model (checked at random k):
# energies to 1e-6 eV and integrands to 1e-6 of their largest value. Wannier models made with
# site symmetry are symmetric to round-off; one made without it breaks the symmetry at the
# 1e-3..1e-2 eV level, far above these.
SYMM_ENERGY_TOL_EV = 1e-6
SYMM_INTEGRAND_RTOL = 1e-6
SPGLIB_SYMPREC = 1e-5          # Å, spglib's position tolerance
N_CHECK_KPOINTS = 3            # random k-points per operation in the model check


@dataclass(frozen=True)
class KGroup:
    """The k-actions used for a mesh reduction.

    k_ops : (ng, 3, 3) int — k_red → k_ops[g] @ k_red
    cart : (ng, 3, 3) float — Cartesian rotation R_g of the tensor transformation
    time_reversal : (ng,) bool — element includes time reversal (k-action −W⁻ᵀ)
    info : dict for the JSON
    """

    k_ops: np.ndarray
    cart: np.ndarray
    time_reversal: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def order(self):
        return len(self.k_ops)


def crystal_operations(model, symprec=SPGLIB_SYMPREC):
    """Point-group rotations of the crystal (spglib on model positions and species).

    Returns W (n, 3, 3) int (lattice basis, unique), R (n, 3, 3) Cartesian, the point-group and
    space-group symbols.
    """
    import spglib
    species = {s: i + 1 for i, s in enumerate(dict.fromkeys(model.species))}
    cell = (np.array(model.lattice), np.array(model.atom_positions), [species[s] for s in model.species])
    ds = spglib.get_symmetry_dataset(cell, symprec=symprec)
    if ds is None:
        return np.eye(3, dtype=int)[None], np.eye(3)[None], "1", "?"
    W = np.unique(np.asarray(ds.rotations, int), axis=0)
    A = np.asarray(model.lattice)
    R = np.einsum("ba,gbc,cd->gad", A, W, np.linalg.inv(A).T)     # Aᵀ W A⁻ᵀ
    return W, R, str(ds.pointgroup), str(ds.international)


def tensor_transform(R):
    """T[(j,i,k), (a,b,c)] = det(R) R_ja R_ib R_kc for each R, (ng, 27, 27)."""
    R = np.asarray(R)
    det = np.linalg.det(R)
    T = det[:, None, None, None, None, None, None] * np.einsum(
        "gja,gib,gkc->gjikabc", R, R, R)
    return T.reshape(len(R), 27, 27)


def symmetrize(tensor, group):
    """(1/|Γ|) Σ_γ T_γ tensor over the last three axes (j, i, k)."""
    T = tensor_transform(group.cart)
    shape = tensor.shape
    flat = tensor.reshape(-1, 27)
    out = np.einsum("gab,nb->na", T, flat) / group.order
    return out.reshape(shape)


def _state_weights(E, kT=0.1, n_mu=7):
    """Smooth occupations at a few μ across the spectrum, (n_mu, nk, nw)."""
    mus = np.linspace(E.min(), E.max(), n_mu + 2)[1:-1]
    return np.stack([0.5 * (1 - np.tanh((E - mu) / (2 * kT))) for mu in mus])


def _integrands_at(model, k_red, Xops, soc_scale, degen_tol, operator_phases):
    from .kernels.hall import allocate_outputs, hall_integrands
    k_cart = k_red @ model.reciprocal
    Hk, dHk = bloch.hk_direct(k_cart, model.R_cart, model.hamiltonian_R(soc_scale), model.centres)
    phase = bloch.centre_phases(k_cart, model.centres) if operator_phases else np.ones(Hk.shape[:2], complex)
    E, omega, gap = allocate_outputs(len(k_red), model.num_wann, len(Xops))
    hall_integrands(np.ascontiguousarray(Hk), np.ascontiguousarray(dHk), phase, np.ascontiguousarray(Xops),
                    float(degen_tol), E, omega, gap)
    return E, omega


def valid_operations(model, W, R, Xops, soc_scale=1.0, degen_tol=1e-5, operator_phases=True, seed=0):
    """Which operations (and time reversal) are symmetries of the model's integrands.

    Checks E(g k) = E(k) and Σ_n f(E_n) Ω_n(g k) = T_g Σ_n f(E_n) Ω_n(k) at random k-points.

    Returns (keep (n,) bool, time_reversal_ok bool).
    """
    rng = np.random.default_rng(seed)
    k0 = rng.random((N_CHECK_KPOINTS, 3))
    G = np.linalg.inv(W).transpose(0, 2, 1)                       # k_red → W⁻ᵀ k_red
    images = np.concatenate([k0 @ g.T for g in G] + [-k0])      # ops, then time reversal
    E, om = _integrands_at(model, np.concatenate([k0, images]), Xops, soc_scale, degen_tol, operator_phases)
    occ = _state_weights(E)
    per = np.einsum("ukn,kmqjicn->ukmqjic", occ, om)
    nm, nq = per.shape[2], per.shape[3]
    per = per.reshape(occ.shape[0], len(E), nm, nq, 27)
    scale = np.abs(per).max() + 1e-300
    nk = len(k0)
    ref_E, ref = E[:nk], per[:, :nk]
    T = tensor_transform(np.concatenate([R, np.eye(3)[None]]))   # last: time reversal (identity)
    keep = []
    for g in range(len(W) + 1):
        sl = slice(nk * (g + 1), nk * (g + 2))
        expect = np.einsum("ab,ukmqb->ukmqa", T[g], ref)
        ok = (np.abs(E[sl] - ref_E).max() <= SYMM_ENERGY_TOL_EV
              and np.abs(per[:, sl] - expect).max() <= SYMM_INTEGRAND_RTOL * scale)
        keep.append(bool(ok))
    return np.array(keep[:-1]), keep[-1]


def _is_group(mats):
    keys = {m.tobytes() for m in mats}
    return all((a @ b).tobytes() in keys for a in mats for b in mats)


def mesh_compatible(G, nk, shift):
    """Whether the k-action G (integer, reduced coordinates) maps the mesh (i + s)/N onto itself.

    Returns (ok, M, o): image indices i' = M i + o (mod N) with M integer and o integer.
    """
    N = np.asarray(nk, float)
    s = np.asarray(shift, float)
    M = N[:, None] * G / N[None, :]
    o = M @ s - s
    if np.abs(M - np.round(M)).max() > 1e-9 or np.abs(o - np.round(o)).max() > 1e-9:
        return False, None, None
    return True, np.round(M).astype(np.int64), np.round(o).astype(np.int64)


def mesh_group(model, nk, shift, Xops, soc_scale=1.0, degen_tol=1e-5, operator_phases=True,
               time_reversal=True):
    """The k-group for reducing mesh ``nk`` with ``shift``, or (None, reason).

    Returns (KGroup or None, info dict).
    """
    W, R, pg, sg = crystal_operations(model)
    keep, tr_ok = valid_operations(model, W, R, Xops, soc_scale, degen_tol, operator_phases)
    info = {"point_group": pg, "space_group": sg, "crystal_operations": int(len(W)),
            "model_operations": int(keep.sum())}
    if not _is_group(list(W[keep])):
        info["reason"] = "the operations the model keeps do not form a group"
        return None, info
    W, R = W[keep], R[keep]
    G = np.linalg.inv(W).transpose(0, 2, 1).round().astype(np.int64)
    fits = np.array([mesh_compatible(g, nk, shift)[0] for g in G])
    info["mesh_operations"] = int(fits.sum())
    G, R = G[fits], R[fits]
    has_inversion = any(np.array_equal(g, -np.eye(3, dtype=np.int64)) for g in G)
    use_tr = bool(time_reversal and tr_ok and not has_inversion
                  and mesh_compatible(-np.eye(3), nk, shift)[0])
    info["time_reversal"] = use_tr
    info["time_reversal_symmetric"] = bool(tr_ok)
    if use_tr:
        G = np.concatenate([G, -G])
        R = np.concatenate([R, R])
        trf = np.repeat([False, True], len(R) // 2)
    else:
        trf = np.zeros(len(G), bool)
    if len(G) == 1:
        info["reason"] = "no symmetry maps this mesh and shift onto itself" if len(W) > 1 else \
            "the model has no symmetry besides the identity"
        return None, info
    return KGroup(G, R, trf, info), info


@serial
def _orbit_representatives(nk, M, o, p_start, p_end):
    """Irreducible indices (C order over the mesh) in [p_start, p_end) and their orbit sizes.

    nk : (3,) int; M : (ng, 3, 3) int; o : (ng, 3) int — image index i' = M i + o (mod N).
    A point is its orbit's representative when no image has a smaller index; its weight is
    |Γ| / |stabiliser|.
    """
    n1, n2, n3 = nk[0], nk[1], nk[2]
    ng = M.shape[0]
    idx = np.empty(p_end - p_start, np.int64)
    wts = np.empty(p_end - p_start, np.int64)
    count = 0
    i = np.empty(3, np.int64)
    for p in range(p_start, p_end):
        i[0] = p // (n2 * n3)
        i[1] = (p // n3) % n2
        i[2] = p % n3
        rep = True
        stab = 0
        for g in range(ng):
            q = 0
            for a in range(3):
                v = o[g, a]
                for b in range(3):
                    v += M[g, a, b] * i[b]
                v %= nk[a]
                q = q * nk[a] + v
            if q < p:
                rep = False
                break
            if q == p:
                stab += 1
        if rep:
            idx[count] = p
            wts[count] = ng // stab
            count += 1
    return idx[:count].copy(), wts[:count].copy()


@dataclass(frozen=True)
class ReducedMesh:
    """The irreducible points of a uniform mesh, in chunks of ``max_chunk`` points.

    nk, shift : the full mesh; index : (n_irr,) int — C-order index of each irreducible point;
    weight : (n_irr,) int — orbit size (Σ weight = N1 N2 N3); group : KGroup.
    """

    nk: tuple
    shift: tuple
    index: np.ndarray
    weight: np.ndarray
    group: KGroup
    max_chunk: int = 4096

    @property
    def n_points(self):
        return int(np.prod(self.nk))

    @property
    def n_irreducible(self):
        return len(self.index)

    @property
    def n_chunks(self):
        return -(-len(self.index) // self.max_chunk)

    def chunk(self, c):
        """(k_red (n, 3), weight (n,)) of chunk c."""
        sl = slice(c * self.max_chunk, (c + 1) * self.max_chunk)
        i = np.array(np.unravel_index(self.index[sl], self.nk)).T
        return (i + np.array(self.shift)) / np.array(self.nk), self.weight[sl].astype(float)


REDUCE_SLICE = 2**20      # mesh points per slice of the orbit search (slices go to the ranks)


def reduce_mesh(group, nk, shift, max_chunk, runner=None):
    """ReducedMesh of the mesh under ``group``; the orbit search is cut in slices of the mesh
    index and run through ``runner`` (spread over the MPI ranks), the result does not depend on it."""
    Ms, os_ = [], []
    for g in group.k_ops:
        ok, M, o = mesh_compatible(g, nk, shift)
        assert ok
        Ms.append(M)
        os_.append(o)
    nk_arr, M, o = np.array(nk, np.int64), np.array(Ms), np.array(os_)
    total = int(np.prod(nk))
    n_slices = -(-total // REDUCE_SLICE)

    def part(c):
        idx, w = _orbit_representatives(nk_arr, M, o, c * REDUCE_SLICE, min(total, (c + 1) * REDUCE_SLICE))
        return {"idx": idx, "w": w}
    if runner is None:
        parts = [part(c) for c in range(n_slices)]
    else:
        parts = runner(n_slices, part, progress=False, desc="irreducible points")
    idx = np.concatenate([p["idx"] for p in parts])
    w = np.concatenate([p["w"] for p in parts])
    return ReducedMesh(tuple(nk), tuple(shift), idx, w, group, int(max_chunk))


class DirectHamiltonian:
    """H(k) and ∂H(k) at arbitrary k by one matrix product over R (bloch.hk_direct's sum, faster):
    H(R) and i R_a H(R) stacked once, the R ↔ −R pairs (H(−R) = H(R)†) folded so that only half
    of the R vectors are summed."""

    def __init__(self, model, soc_scale=1.0):
        HR = model.hamiltonian_R(soc_scale)
        nR, nw, _ = HR.shape
        self.nw = nw
        self.model = model
        R = model.R
        index = {tuple(r): i for i, r in enumerate(R)}
        half = [i for i, r in enumerate(R) if tuple(r) > (0, 0, 0)]
        zero = index.get((0, 0, 0))
        paired = zero is not None and all(tuple(-R[i]) in index for i in half) and len(half) * 2 + 1 == nR
        if paired:
            err = max((np.abs(HR[index[tuple(-R[i])]] - HR[i].conj().T).max() for i in half), default=0.0)
            paired = err < 1e-12 and np.abs(HR[zero] - HR[zero].conj().T).max() < 1e-12
        self.paired = paired
        sel = np.array(half if paired else range(nR), dtype=np.int64)
        R_cart = model.R_cart[sel]
        stack = np.empty((len(sel), 4, nw, nw), complex)
        stack[:, 0] = HR[sel]
        for a in range(3):
            stack[:, 1 + a] = 1j * R_cart[:, a, None, None] * HR[sel]
        self.R = R[sel].astype(float)
        self.stack = stack.reshape(len(sel), 4 * nw * nw)
        self.H0 = HR[zero] if paired else None
        self.same_centres = bool(np.ptp(model.centres, axis=0).max() < 1e-12)

    def __call__(self, k_red):
        """Hk (nk, nw, nw), dHk (nk, 3, nw, nw) in the centres convention (see bloch.py)."""
        nw = self.nw
        ph = np.exp(2j * np.pi * (k_red @ self.R.T))
        out = (ph @ self.stack).reshape(len(k_red), 4, nw, nw)
        if self.paired:
            out = out + out.conj().transpose(0, 1, 3, 2)
            out[:, 0] += self.H0
        Hk0, dHk0 = out[:, 0], out[:, 1:]
        if self.same_centres:
            return np.ascontiguousarray(Hk0), np.ascontiguousarray(dHk0)
        k_cart = k_red @ self.model.reciprocal
        return bloch._apply_centres(Hk0, dHk0, k_cart, self.model.centres)


class FFTHamiltonian:
    """H(k), ∂H(k) on the FFT sub-grids of a uniform mesh (the sums of ``bloch.hk_fft``, faster).

    Set up once per model and sub-grid: H(R) and i R_a H(R) stacked and sorted by the folded
    index R mod n, only the upper triangle (all four matrices are Hermitian), so that a chunk
    costs one phase multiplication, one reduction and one FFT of nw(nw+1)/2 channels per matrix.
    """

    def __init__(self, model, n_fft, soc_scale=1.0):
        HR = model.hamiltonian_R(soc_scale)
        nR, nw, _ = HR.shape
        self.model, self.nw, self.n_fft = model, nw, tuple(int(x) for x in n_fft)
        iu, ju = np.triu_indices(nw)
        self.iu, self.ju = iu.astype(np.int64), ju.astype(np.int64)
        flat = np.ravel_multi_index(np.mod(model.R, self.n_fft).T, self.n_fft)
        order = np.argsort(flat, kind="stable")
        self.cells, self.starts = np.unique(flat[order], return_index=True)
        self.unique = len(self.cells) == nR
        R_cart = model.R_cart[order]
        H = HR[order][:, iu, ju]                                    # (nR, ntri)
        self.W = np.concatenate([H] + [1j * R_cart[:, a, None] * H for a in range(3)], axis=1)
        self.R = model.R[order].astype(float)
        self.nk = int(np.prod(self.n_fft))
        j = np.indices(self.n_fft).reshape(3, -1).T
        self.j_red = j / np.array(self.n_fft)
        self.same_centres = bool(np.ptp(model.centres, axis=0).max() < 1e-12)

    def __call__(self, kappa_red):
        """k_red (nk, 3), Hk (nk, nw, nw), dHk (nk, 3, nw, nw) on the sub-grid j/n + κ."""
        nw, nk = self.nw, self.nk
        contrib = np.exp(2j * np.pi * (self.R @ np.asarray(kappa_red, float)))[:, None] * self.W
        grid = np.zeros((nk, contrib.shape[1]), complex)
        if self.unique:
            grid[self.cells] = contrib
        else:
            grid[self.cells] = np.add.reduceat(contrib, self.starts, axis=0)
        # e^{+2πi j·R/n} summed: the inverse FFT without its 1/n normalisation (norm="forward")
        grid = scipy.fft.ifftn(grid.reshape(self.n_fft + (-1,)), axes=(0, 1, 2), norm="forward",
                               overwrite_x=True, workers=1).reshape(nk, 4, -1)
        from .kernels.hall import unpack_hermitian
        Hk0 = np.empty((nk, nw, nw), complex)
        dHk0 = np.empty((nk, 3, nw, nw), complex)
        unpack_hermitian(grid, self.iu, self.ju, Hk0, dHk0)
        k_red = self.j_red + np.asarray(kappa_red, float)
        if self.same_centres:
            return k_red, Hk0, dHk0
        Hk, dHk = bloch._apply_centres(Hk0, dHk0, k_red @ self.model.reciprocal, self.model.centres)
        return k_red, Hk, dHk


def chunk_integrands_full(model, mesh, c, Xops, hk, degen_tol, operator_phases=True):
    """:func:`wannorb.hall.chunk_integrands` with a :class:`FFTHamiltonian` ``hk``."""
    from .kernels.hall import allocate_outputs, hall_integrands
    k_red, Hk, dHk = hk(mesh.chunk_offset(c))
    phase = (bloch.centre_phases(k_red @ model.reciprocal, model.centres) if operator_phases
             else np.ones(Hk.shape[:2], complex))
    E, omega, gap = allocate_outputs(len(k_red), model.num_wann, len(Xops))
    hall_integrands(np.ascontiguousarray(Hk), np.ascontiguousarray(dHk), phase, np.ascontiguousarray(Xops),
                    float(degen_tol), E, omega, gap)
    return k_red, E, omega, gap


def chunk_integrands_reduced(model, rmesh, c, Xops, hk, degen_tol, operator_phases=True):
    """Like :func:`wannorb.hall.chunk_integrands` on chunk c of a ReducedMesh; also the weights."""
    from .kernels.hall import allocate_outputs, hall_integrands
    k_red, w = rmesh.chunk(c)
    Hk, dHk = hk(k_red)
    k_cart = k_red @ model.reciprocal
    phase = bloch.centre_phases(k_cart, model.centres) if operator_phases else np.ones(Hk.shape[:2], complex)
    E, omega, gap = allocate_outputs(len(k_red), model.num_wann, len(Xops))
    hall_integrands(np.ascontiguousarray(Hk), np.ascontiguousarray(dHk), phase, np.ascontiguousarray(Xops),
                    float(degen_tol), E, omega, gap)
    return k_red, w, E, omega, gap


def chunk_sums_reduced(k_red, w, E, omega, gap, mus, kT, group):
    """:func:`wannorb.hall.chunk_sums` for irreducible points with weights w.

    ``sum`` is the weighted, not yet symmetrised Σ (apply :func:`symmetrize`); the largest
    single-point contribution to σ^z_xy is the largest over each orbit, |(T_γ Ω(k))^{z,xy}|,
    at the point γk of the full mesh where it occurs.
    """
    from .hall import fermi_dirac
    occ = np.stack([fermi_dirac(E, mu, kT) for mu in mus])             # (nmu, nk, nw)
    per_k = np.einsum("ukn,kmqjicn->ukmqjic", occ, omega)
    nmu, nk, nm, nq = per_k.shape[:4]
    flat = per_k.reshape(nmu, nk, nm, nq, 27)
    zxy_rows = tensor_transform(group.cart)[:, 2 * 9 + 0 * 3 + 1]      # (ng, 27)
    orbit = np.abs(np.einsum("ukmqa,ga->ukmqg", flat, zxy_rows))       # (nmu, nk, nm, nq, ng)
    best_g = orbit.argmax(axis=-1)
    zxy = np.take_along_axis(orbit, best_g[..., None], axis=-1)[..., 0]   # (nmu, nk, nm, nq)
    arg = zxy.argmax(axis=1)                                            # (nmu, nm, nq)
    g_at = np.take_along_axis(best_g, arg[:, None], axis=1)[:, 0]
    k_at = np.einsum("umqab,umqb->umqa", group.k_ops[g_at], k_red[arg])
    k_at = k_at - np.floor(k_at)
    ig = int(np.argmin(gap))
    return {
        "sum": np.einsum("k,ukmqjic->umqjic", w, per_k),
        "point_max": np.take_along_axis(zxy, arg[:, None], axis=1)[:, 0],
        "point_max_k": k_at,
        "gap_min": float(gap[ig]),
        "gap_min_k": k_red[ig],
    }


def reduced_eigenvalues(rmesh, c, hk):
    """(E (n, nw), weights (n,)) on chunk c (for the filling → μ search)."""
    k_red, w = rmesh.chunk(c)
    Hk, _ = hk(k_red)
    return np.linalg.eigvalsh(Hk), w


# Per-k-point cost model (seconds, one core; fitted to benchmarks/bench_hall.py on pt_like, see
# docs/performance.md): direct Fourier sum ∝ nR nw², FFT sub-grid ∝ nw², kernel ∝ nw³.
COST_DIRECT_S = 1.1e-9
COST_FFT_S = 8e-8
COST_KERNEL_S = 1.9e-8


def worth_reducing(model):
    """Smallest reduction factor N / N_irr for which the irreducible points (direct sum) beat
    the full mesh (FFT), with a 20 % margin. Deterministic, so the layout of a checkpoint is too."""
    nw, nR = model.num_wann, len(model.R)
    kernel = COST_KERNEL_S * nw ** 3
    return 1.2 * (COST_DIRECT_S * nR * nw ** 2 + kernel) / (COST_FFT_S * nw ** 2 + kernel)


class MeshPlan:
    """How :func:`wannorb.api.hall` walks a mesh: the full mesh in FFT chunks, or — when a
    symmetry maps the mesh onto itself — its irreducible points in chunks, evaluated by a direct
    Fourier sum (the FFT needs whole sub-grids; measured faster for any reduction ≥ 2, see
    docs/performance.md).

    Parameters
    ----------
    system : TBModel; mesh : kmesh.UniformMesh (its max_chunk is the memory bound)
    Xops : (nq, 3, nw, nw) operators; soc_scale, degen_tol, operator_phases : as in api.hall
    symmetry : bool — try the reduction (False: full mesh)
    """

    def __init__(self, system, mesh, Xops, soc_scale=1.0, degen_tol=1e-5, operator_phases=True,
                 symmetry=True, runner=None):
        self.system, self.mesh, self.Xops = system, mesh, Xops
        self.soc_scale, self.degen_tol, self.operator_phases = soc_scale, degen_tol, operator_phases
        self.reduced = None
        self._fft = None
        self.info = {"requested": bool(symmetry), "used": False, "n_kpoints": mesh.n_points,
                     "n_irreducible_kpoints": mesh.n_points}
        if not symmetry:
            self.info["reason"] = "switched off (--no-symmetry)"
            return
        group, ginfo = mesh_group(system, mesh.nk, mesh.shift, Xops, soc_scale, degen_tol, operator_phases)
        self.info.update(ginfo)
        if group is None:
            return
        # chunk bound: the kernel's budget and the direct sum's phase matrix (≤ 64 MB)
        hk_cap = max(64, (64 * 2**20) // (16 * len(system.R)))
        red = reduce_mesh(group, mesh.nk, mesh.shift, max_chunk=1, runner=runner)
        ratio = mesh.n_points / red.n_irreducible
        if ratio < worth_reducing(system):
            self.info["reason"] = (f"a reduction by {ratio:.2f} does not pay for the direct Fourier sum at the "
                                   f"irreducible points (estimated break-even {worth_reducing(system):.2f})")
            self.info["n_irreducible_would_be"] = int(red.n_irreducible)
            return
        size = min(mesh.max_chunk, hk_cap, max(64, -(-red.n_irreducible // 128)))
        self.reduced = ReducedMesh(red.nk, red.shift, red.index, red.weight, group, int(size))
        self.hk = DirectHamiltonian(system, soc_scale)
        self.info.update(used=True, n_irreducible_kpoints=int(red.n_irreducible),
                         group_order=int(group.order), reduction=mesh.n_points / red.n_irreducible)

    @property
    def fft(self):
        """The FFT evaluator of the full mesh (set up on first use)."""
        if self._fft is None:
            self._fft = FFTHamiltonian(self.system, self.mesh.n_fft, self.soc_scale)
        return self._fft

    @property
    def n_chunks(self):
        return self.reduced.n_chunks if self.reduced is not None else self.mesh.n_chunks

    @property
    def chunk_size(self):
        return self.reduced.max_chunk if self.reduced is not None else int(np.prod(self.mesh.n_fft))

    def chunk_sums(self, c, mus, kT):
        """Partial sums of chunk c (dict of arrays, see hall.chunk_sums)."""
        from . import hall as _hall
        if self.reduced is None:
            parts = chunk_integrands_full(self.system, self.mesh, c, self.Xops, self.fft, self.degen_tol,
                                          self.operator_phases)
            return _hall.chunk_sums(*parts, mus, kT)
        k_red, w, E, omega, gap = chunk_integrands_reduced(self.system, self.reduced, c, self.Xops, self.hk,
                                                           self.degen_tol, self.operator_phases)
        return chunk_sums_reduced(k_red, w, E, omega, gap, mus, kT, self.reduced.group)

    def eigenvalues(self, c):
        """{"E": (n, nw) eV, "w": (n,) weights} of chunk c (for the filling → μ search)."""
        if self.reduced is None:
            _, Hk, _ = self.fft(self.mesh.chunk_offset(c))
            E = np.linalg.eigvalsh(Hk)
            return {"E": E, "w": np.ones(len(E))}
        E, w = reduced_eigenvalues(self.reduced, c, self.hk)
        return {"E": E, "w": w}

    def finish(self, raw_sum):
        """The full-mesh Σ from the combined chunk sums (symmetrised when reduced)."""
        if self.reduced is None:
            return raw_sum
        return symmetrize(raw_sum, self.reduced.group)

    def layout(self):
        """What defines the chunks (for the checkpoint hash)."""
        return {"symmetry_used": self.info["used"], "n_chunks": self.n_chunks, "chunk_size": self.chunk_size,
                "n_irreducible": self.info["n_irreducible_kpoints"],
                "fft_subgrid": list(self.mesh.n_fft)}

    def mu_for_filling(self, runner, filling, kT):
        """μ (eV) at ``filling`` electrons per cell from the eigenvalues of the plan's points
        (computed through ``runner``, so spread over the ranks under MPI)."""
        from .hall import mu_for_filling
        comm = getattr(runner, "comm", None)
        if comm is not None and kT > 0:
            return self._mu_distributed(comm, filling, kT)
        parts = runner(self.n_chunks, self.eigenvalues, progress=False, desc="eigenvalues")
        E = np.concatenate([p["E"] for p in parts])
        w = np.concatenate([p["w"] for p in parts])
        return mu_for_filling(E, filling, kT, weights=None if self.reduced is None else w)

    def _mu_distributed(self, comm, filling, kT):
        """kT > 0 under MPI: each rank keeps the eigenvalues of its own chunks (memory / ranks);
        the electron count of the bisection is summed over the ranks."""
        from .errors import InputError
        from .hall import fermi_dirac
        from .parallel import owned_chunks
        parts = [self.eigenvalues(c) for c in owned_chunks(self.n_chunks, comm.Get_rank(), comm.Get_size())]
        nw = self.system.num_wann
        E = np.concatenate([p["E"] for p in parts]) if parts else np.zeros((0, nw))
        w = np.concatenate([p["w"] for p in parts]) if parts else np.zeros(0)
        if not 0 < filling < nw:
            raise InputError(f"--filling must be between 0 and {nw} electrons per cell, got {filling}")
        n_k = comm.allreduce(float(w.sum()))
        lo = comm.allreduce(float(E.min()) if len(E) else np.inf, op=_mpi_op("MIN")) - 20 * kT
        hi = comm.allreduce(float(E.max()) if len(E) else -np.inf, op=_mpi_op("MAX")) + 20 * kT
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if comm.allreduce(float(w @ fermi_dirac(E, mid, kT).sum(axis=1))) / n_k < filling:
                lo = mid
            else:
                hi = mid
            if hi - lo < 1e-12:
                break
        return 0.5 * (lo + hi)


def _mpi_op(name):
    from mpi4py import MPI
    return getattr(MPI, name)
