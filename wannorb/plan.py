"""The integration plan of a uniform mesh: which k-points are evaluated (full mesh in FFT chunks
or the irreducible wedge by direct Fourier sums), with which H(k) evaluator, and whether the
reduction pays (a measured cost model). ``symmetry.py`` supplies the group and the wedge.
"""
import numpy as np
import scipy.fft

from . import bloch
from .symmetry import ReducedMesh, mesh_group, reduce_mesh, symmetrize, tensor_transform


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

    @property
    def group(self):
        """The k-group of the reduction (None on the full mesh)."""
        return None if self.reduced is None else self.reduced.group

    def integrands(self, c):
        """(k_red (n, 3), weights (n,), E, omega, gap) of chunk c: the kernel's per-state integrands
        at the chunk's points; a weight is the number of full-mesh points the point stands for (1 on
        the full mesh; Σ over chunks of the weighted values still needs :meth:`finish`)."""
        if self.reduced is None:
            k_red, E, omega, gap = chunk_integrands_full(self.system, self.mesh, c, self.Xops, self.fft,
                                                         self.degen_tol, self.operator_phases)
            return k_red, np.ones(len(k_red)), E, omega, gap
        return chunk_integrands_reduced(self.system, self.reduced, c, self.Xops, self.hk, self.degen_tol,
                                        self.operator_phases)

    def chunk_sums(self, c, mus, kT):
        """Partial sums of chunk c (dict of arrays, see hall.chunk_sums)."""
        from . import hall as _hall
        k_red, w, E, omega, gap = self.integrands(c)
        if self.reduced is None:
            return _hall.chunk_sums(k_red, E, omega, gap, mus, kT)
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
        from .hall import bisect_mu, fermi_dirac
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
        return bisect_mu(lambda mu: comm.allreduce(float(w @ fermi_dirac(E, mu, kT).sum(axis=1))) / n_k,
                         filling, lo, hi)


def _mpi_op(name):
    from mpi4py import MPI
    return getattr(MPI, name)
