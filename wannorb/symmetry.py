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

from . import bloch
from .kernels.jit import serial

# Tolerances for accepting an operation as a symmetry of the model (checked at random k):
# energies to 1e-6 eV and integrands to 1e-4 of their largest value. Wannier models made with
# site symmetry are symmetric to round-off; one made without it breaks the symmetry at the
# 1e-3..1e-2 eV level, far above these, and a wrong tensor transformation gives O(1) integrand
# differences. The shipped data are stored rounded to 2^-30 eV (workflows/compact.py), which breaks
# the symmetry at ~1e-9 eV: energies move by that, but the Eq. (4) curvature at a k-point with a
# gap of 1e-4..1e-3 eV moves by 1e-6..1e-5 relative (measured on Ti: between 1e-6 and 1e-5).
SYMM_ENERGY_TOL_EV = 1e-6
SYMM_INTEGRAND_RTOL = 1e-4
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
    n2, n3 = nk[1], nk[2]
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
