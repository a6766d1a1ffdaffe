"""Intrinsic spin and orbital Hall conductivity tensors: Eq. (4), conventional and conserved.

σ^j_ik = (e²/ħ) ∫_BZ d³k/(2π)³ Σ_n f(ε_n − μ) Ω_n^{j,ik}

with Ω_n from ``wannorb.kernels.hall`` (eq4: Tr[X_n^j F_n^{ik}] of Eq. (4), ε_ikl F^l = F^{ik};
conventional / conserved: Kubo Fermi-sea with the currents ½{v, X} / ½{v, X_bp}). j is the
angular-momentum component, i the current direction, k the field direction; X in units of ħ, so
σ is in (ħ/e) S/cm. The sign is the one of wannierberri's SHC and of Guo et al. (positive spin
Hall conductivity for Pt): the angular-momentum current ½{v, X} carries no charge, so only one
factor −e (from the field coupling) enters, against (−e)² for the anomalous Hall effect whose
σ_xy = −(e²/ħ)∫fΩ. The three routes coincide for a conserved X (tested). The paper's Eq. (4)
prefactor −eħ ε_ikl E^k is read with the same convention for the sign of e.

The integral is a sum over a uniform mesh split in chunks (``wannorb.kmesh``); chunk partial
sums are added in chunk order so any distribution of chunks gives the same numbers.
"""
import numpy as np

from . import bloch
from .errors import InputError
from .kernels.hall import METHODS, allocate_outputs, hall_integrands  # noqa: F401  (re-exported: the method names)
from .operators import orbital_operator, spin_operator

E_CHARGE = 1.602176634e-19      # C
HBAR = 1.054571817e-34          # J s
CONDUCTANCE_QUANTUM = E_CHARGE**2 / HBAR   # e²/ħ in S
ANGSTROM_PER_CM = 1e8
QUANTITIES = ("spin", "orbital")

# Default degeneracy tolerance (eV). Kramers pairs of Wannier models are degenerate to ~1e-10 eV;
# 1e-5 eV groups them safely while leaving physical spin-orbit splittings (≥ meV) apart. Eq. (4)
# assumes splittings larger than the disorder broadening ħ/τ: scan --degen-tol to see that.
DEGEN_TOL_EV = 1e-5


def fermi_dirac(E, mu, kT):
    """Occupation f(E − μ) at temperature kT (eV); kT = 0 is a step with f(μ) = ½."""
    x = np.asarray(E) - mu
    if kT == 0:
        return np.where(x < 0, 1.0, np.where(x > 0, 0.0, 0.5))
    return 0.5 * (1.0 - np.tanh(x / (2.0 * kT)))


def operator_stack(model, quantities):
    """(nq, 3, nw, nw) complex real-space on-site operators for the quantities (units of ħ)."""
    makers = {"spin": spin_operator, "orbital": orbital_operator}
    for q in quantities:
        if q not in makers:
            raise InputError(f"unknown quantity {q!r}; choose from {', '.join(makers)}")
    return np.array([makers[q](model) for q in quantities])


def chunk_integrands(model, mesh, c, Xops, soc_scale=1.0, degen_tol=DEGEN_TOL_EV, operator_phases=True):
    """Per-state integrands on chunk ``c`` of ``mesh``.

    Returns k_red (nk, 3), E (nk, nw) eV, omega (nk, 3, nq, 3, 3, 3, nw) Å²ħ, mingap (nk,) eV.
    ``operator_phases=False`` drops the Wannier-centre phases of X(k) (atom-centred variant).
    """
    HR = model.hamiltonian_R(soc_scale)
    k_red, Hk, dHk = bloch.hk_fft(model.R, model.lattice, HR, model.centres, mesh.n_fft,
                                  mesh.chunk_offset(c))
    k_cart = k_red @ model.reciprocal
    phase = bloch.centre_phases(k_cart, model.centres) if operator_phases else np.ones(Hk.shape[:2], complex)
    E, omega, gap = allocate_outputs(len(k_red), model.num_wann, len(Xops))
    hall_integrands(np.ascontiguousarray(Hk), np.ascontiguousarray(dHk), phase,
                    np.ascontiguousarray(Xops), float(degen_tol), E, omega, gap)
    return k_red, E, omega, gap


def chunk_sums(k_red, E, omega, gap, mus, kT):
    """Reduce one chunk: Σ_k Σ_n f Ω for every μ, plus per-point diagnostics.

    Returns a dict of plain arrays:
      sum : (nmu, 3, nq, 3, 3, 3) — raw Σ (Å²ħ), not yet multiplied by the prefactor
      point_max : (nmu, 3, nq) — largest |Σ_n f Ω^{z,xy}| of a single k-point (raw)
      point_max_k : (nmu, 3, nq, 3) — its k_red
      gap_min : float eV, gap_min_k : (3,)
    """
    occ = np.stack([fermi_dirac(E, mu, kT) for mu in mus])          # (nmu, nk, nw)
    per_k = np.einsum("ukn,kmqjicn->ukmqjic", occ, omega)
    zxy = np.abs(per_k[..., 2, 0, 1])                                # (nmu, nk, 3, nq)
    arg = zxy.argmax(axis=1)
    ig = int(np.argmin(gap))
    return {
        "sum": per_k.sum(axis=1),
        "point_max": np.take_along_axis(zxy, arg[:, None], axis=1)[:, 0],
        "point_max_k": k_red[arg],
        "gap_min": float(gap[ig]),
        "gap_min_k": k_red[ig],
    }


def combine_chunks(parts):
    """Add chunk results in the given (chunk) order; keep the extreme diagnostics."""
    total = None
    for p in parts:
        if total is None:
            total = {k: np.array(v, copy=True) for k, v in p.items()}
            continue
        total["sum"] = total["sum"] + p["sum"]
        better = p["point_max"] > total["point_max"]
        total["point_max"] = np.where(better, p["point_max"], total["point_max"])
        total["point_max_k"] = np.where(better[..., None], p["point_max_k"], total["point_max_k"])
        if p["gap_min"] < total["gap_min"]:
            total["gap_min"], total["gap_min_k"] = p["gap_min"], np.array(p["gap_min_k"])
    return total


def prefactor(model, n_points):
    """(e²/ħ)/(V N_k) in S/cm per Å² of Σ Ω: d³k/(2π)³ → 1/(V N_k), Å⁻¹ → 1e8 cm⁻¹."""
    return CONDUCTANCE_QUANTUM * ANGSTROM_PER_CM / (model.volume * n_points)


def eigenvalues_on_mesh(model, mesh, soc_scale=1.0):
    """All eigenvalues on the mesh, (N, nw) eV, chunk order (for the filling → μ search)."""
    HR = model.hamiltonian_R(soc_scale)
    out = []
    for c in range(mesh.n_chunks):
        _, Hk, _ = bloch.hk_fft(model.R, model.lattice, HR, model.centres, mesh.n_fft, mesh.chunk_offset(c))
        out.append(np.linalg.eigvalsh(Hk))
    return np.concatenate(out)


def mu_for_filling(E, filling, kT, weights=None):
    """Chemical potential (eV) with Σ_n <f(ε_n − μ)>_k = filling electrons per cell.

    kT = 0: midway between the last occupied and first empty level of the sorted mesh spectrum.
    ``weights`` (nk,): multiplicity of each k-point (irreducible meshes); default 1.
    """
    nk, nw = E.shape
    if not 0 < filling < nw:
        raise InputError(f"--filling must be between 0 and {nw} electrons per cell, got {filling}")
    w = np.ones(nk) if weights is None else np.asarray(weights, float)
    n_k = w.sum() if weights is not None else nk
    if kT == 0:
        order = np.argsort(E.ravel(), kind="stable")
        flat = E.ravel()[order]
        n_occ = filling * n_k
        i = int(round(n_occ))
        if abs(n_occ - i) > 1e-9:
            raise InputError(f"--filling {filling} × {n_k:g} k-points is not an integer number of states; use kT > 0")
        if weights is None:
            return 0.5 * (flat[i - 1] + flat[i])
        cw = np.cumsum(np.repeat(w, nw)[order])
        return 0.5 * (flat[np.searchsorted(cw, i - 0.5)] + flat[np.searchsorted(cw, i + 0.5)])
    def count(mu):
        f = fermi_dirac(E, mu, kT)
        return (f.sum() if weights is None else w @ f.sum(axis=1)) / n_k

    return bisect_mu(count, filling, E.min() - 20 * kT, E.max() + 20 * kT)


def bisect_mu(count, filling, lo, hi, tol=1e-12):
    """μ in [lo, hi] (eV) with count(μ) = filling, for a non-decreasing count, to ``tol`` eV."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if count(mid) < filling:
            lo = mid
        else:
            hi = mid
        if hi - lo < tol:
            break
    return 0.5 * (lo + hi)


def kramers_splitting(model, soc_scale=1.0, n_k=8, seed=0):
    """Largest |ε_{2i+1} − ε_{2i}| (eV) at ``n_k`` random k-points.

    Time reversal × inversion makes every band a Kramers pair; Wannier data that break either
    (e.g. a disentanglement whose subspaces at k and −k are not conjugate) split the pairs, and
    then the groups of Eq. (4) are single states. Drivers report this instead of hiding it.
    """
    from . import bloch
    k = np.random.default_rng(seed).random((n_k, 3)) @ model.reciprocal
    Hk, _ = bloch.hk_direct(k, model.R_cart, model.hamiltonian_R(soc_scale), model.centres)
    return pair_splitting(np.linalg.eigvalsh(Hk))


def pair_splitting(E):
    """Largest |ε_{2i+1} − ε_{2i}| (eV) of sorted eigenvalues E (nk, 2N): 0 when all are Kramers pairs."""
    return float(np.abs(E[:, 1::2] - E[:, 0::2]).max())
