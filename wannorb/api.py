"""Python API: the functions a workflow step calls. The CLI calls these, nothing else.

Inputs and outputs are data (a model, numbers, result objects that serialise to the CLI's JSON).
"""
import time

import numpy as np

from . import hall as _hall
from .errors import InputError
from .validate import number
from .checkpoint import open_hall_checkpoint
from .integration import run_chunks
from .kmesh import UniformMesh, chunk_points_limit
from .results import HallResult
from .plan import MeshPlan


def load_system(name_or_path, params=None, orbitals=None):
    """A :class:`~wannorb.model.TBModel` from a built-in model name, a shipped material (Ti, Cr,
    Pt), a folder laid out like ``data/<El>`` or a file/folder wannierberri reads."""
    from .io.load import load_system as _load
    return _load(name_or_path, params=params, orbitals=orbitals)


def _check_number(name, value, positive=False, nonneg=False):
    return number(name, value, positive=positive, nonneg=nonneg)


def hall(system, mu=None, filling=None, kT=0.05, nk=32, shift=(0.0, 0.0, 0.0),
         methods=_hall.METHODS, quantities=_hall.QUANTITIES, soc_scale=1.0,
         degen_tol=_hall.DEGEN_TOL_EV, operator_phases=True, progress=True, chunk_runner=None,
         symmetry=True, checkpoint=None):
    """Intrinsic spin/orbital Hall tensors σ^j_ik by Eq. (4), conventional and conserved Kubo.

    Parameters
    ----------
    system : TBModel
    mu : float or list of float, eV (absolute); default: the system's Fermi energy
    filling : electrons per cell (alternative to mu); μ is then found on the same mesh and kT
    kT : float, eV (0: step occupations)
    nk : int or 3 ints — uniform Γ-centred mesh (plus ``shift``, fractions of the spacing)
    methods : subset of ("eq4", "conventional", "conserved")
    quantities : subset of ("spin", "orbital")
    soc_scale : multiplier of the spin-orbit term only
    degen_tol : eV — eigenvalues closer than this form one degenerate group
    chunk_runner : callable like :func:`wannorb.integration.run_chunks` (MPI/checkpoint drivers),
        e.g. :class:`wannorb.parallel.MPIChunkRunner`
    symmetry : reduce the mesh to its irreducible points with the crystal symmetries the model
        has (spglib, checked on the model) and symmetrise σ; falls back to the full mesh (and says
        why in ``result.extra["symmetry"]``) when no symmetry maps the mesh and shift onto itself
    checkpoint : folder; finished chunks are stored there and a rerun resumes (wannorb.checkpoint)

    Returns
    -------
    HallResult with σ in (ħ/e) S/cm.
    """
    t0 = time.time()
    kT = _check_number("kT", kT, nonneg=True)
    soc_scale = _check_number("soc_scale", soc_scale)
    degen_tol = _check_number("degen_tol", degen_tol, positive=True)
    nk = (int(nk),) * 3 if np.isscalar(nk) else tuple(int(x) for x in nk)
    if len(nk) != 3 or min(nk) < 1:
        raise InputError(f"nk must be a positive integer or three of them, got {nk}")
    methods = tuple(methods)
    quantities = tuple(quantities)
    for m in methods:
        if m not in _hall.METHODS:
            raise InputError(f"unknown method {m!r}; choose from {', '.join(_hall.METHODS)}")
    if not methods or not quantities:
        raise InputError("at least one method and one quantity are needed")
    Xops = _hall.operator_stack(system, quantities)
    if soc_scale != 1.0 and not np.any(system.Hsoc):
        raise InputError(f"{system.name} has no separate spin-orbit term, so soc_scale={soc_scale} cannot be applied")
    # chunks small enough for the memory budget, many enough for MPI ranks and a progress bar
    # (≥ 256 on large meshes), large enough (≥ 256 points) that the per-chunk FFT set-up is amortised.
    # Independent of the number of ranks, so results and checkpoints do not depend on it.
    max_chunk = min(chunk_points_limit(system.num_wann, len(quantities)), max(256, int(np.prod(nk)) // 256))
    mesh = UniformMesh(nk, tuple(shift), max_chunk=max_chunk)

    if (mu is None) == (filling is None) and not (mu is None and system.fermi_energy is not None):
        raise InputError("give exactly one of mu (eV) or filling (electrons per cell)")
    if filling is not None:
        filling = _check_number("filling", filling, positive=True)
    runner = chunk_runner or run_chunks
    plan = MeshPlan(system, mesh, Xops, soc_scale, degen_tol, operator_phases, symmetry=symmetry,
                    runner=runner)
    store = open_hall_checkpoint(checkpoint, system, plan, Xops, mu=mu, filling=filling, kT=kT,
                                 soc_scale=soc_scale, degen_tol=degen_tol, quantities=quantities,
                                 operator_phases=operator_phases)
    extra = {"symmetry": plan.info}
    if filling is not None:
        mus = store.get_value("mu") if store is not None else None
        if mus is None:
            mus = [float(plan.mu_for_filling(runner, filling, kT))]
            if store is not None:
                store.put_value("mu", mus)
        extra["filling"] = filling
    elif mu is None:
        mus = [float(system.fermi_energy)]
        extra["mu_source"] = "Fermi energy of the data (E_F_eV)"
    else:
        mus = [_check_number("mu", m) for m in np.atleast_1d(mu)]

    def compute(c):
        return plan.chunk_sums(c, mus, kT)

    if store is not None:
        compute = store.wrap(compute)
    total = _hall.combine_chunks(runner(plan.n_chunks, compute, progress=progress, n_points=mesh.n_points))
    if store is not None:
        extra["checkpoint"] = store.summary()
        if hasattr(runner, "allsum"):
            extra["checkpoint"].update(chunks_loaded=runner.allsum(store.loaded),
                                       chunks_computed=runner.allsum(store.computed))
    pref = _hall.prefactor(system, mesh.n_points)
    sig = plan.finish(total["sum"]) * pref                                     # (nmu, 3, nq, 3, 3, 3)
    midx = [_hall.METHODS.index(m) for m in methods]
    sigma = {m: {q: sig[:, im, iq] for iq, q in enumerate(quantities)} for m, im in zip(methods, midx)}
    diag = {
        "max_point_contribution": {
            m: {q: [{"value": float(abs(pref) * total["point_max"][u, im, iq]),
                     "fraction_of_total": float(abs(pref) * total["point_max"][u, im, iq]
                                                / max(abs(sig[u, im, iq, 2, 0, 1]), 1e-300)),
                     "k_red": total["point_max_k"][u, im, iq].tolist()}
                    for u in range(len(mus))]
                for iq, q in enumerate(quantities)} for m, im in zip(methods, midx)},
        "min_group_gap": {"value": total["gap_min"], "k_red": np.asarray(total["gap_min_k"]).tolist()},
        "n_kpoints": mesh.n_points,
        "n_chunks": plan.n_chunks,
        "n_kpoints_evaluated": plan.info["n_irreducible_kpoints"],
        "fft_subgrid": list(mesh.n_fft),
        "operator_phases": bool(operator_phases),
        "kramers_splitting_eV": _hall.kramers_splitting(system, soc_scale),
        "wall_time_s": time.time() - t0,
    }
    return HallResult(system=system.name, soc_scale=soc_scale, params=dict(system.params), nk=nk,
                      shift=tuple(shift), kT=kT, mu=mus, degen_tol=degen_tol, methods=methods,
                      quantities=quantities, sigma=sigma, diagnostics=diag, extra=extra)


def sweep(system, soc_scales, **kwargs):
    """σ at each spin-orbit scale A (H = H0 + A·Hsoc), three methods × spin/orbital, with
    convergence control, exponents d ln|σ|/d ln A and diagnostics; see :func:`wannorb.sweep.sweep`
    for the keyword arguments (mu, filling, keep_electron_count, kT, nk, refine, degen_tol, ...).

    Returns a :class:`wannorb.results.SweepResult`; ``.to_dict()`` is the JSON of ``wannorb sweep``.
    """
    from . import sweep as _sweep
    from .results import SweepResult
    return SweepResult(_sweep.sweep(system, soc_scales, **kwargs))


def converge_nk(system, nk_start=16, rtol=0.01, max_nk=128, factor=2, component="zxy", **hall_kwargs):
    """Grow the mesh (×factor per step) until every requested σ^j_ik component moves by < rtol.

    A change is measured relative to max(|σ_new|, 1% of the largest |σ| among methods and
    quantities at that step), so a component that is zero by symmetry or physics does not
    block convergence forever. Returns a :class:`~wannorb.results.ConvergenceResult` whose
    ``history`` holds every mesh and its HallResult.
    """
    from .results import ConvergenceResult
    rtol = _check_number("rtol", rtol, positive=True)
    nk = int(nk_start)
    if nk < 1 or max_nk < nk or factor < 2:
        raise InputError("converge_nk needs 1 <= nk_start <= max_nk and factor >= 2")
    history = []
    converged = False
    while nk <= max_nk:
        res = hall(system, nk=nk, **hall_kwargs)
        history.append(res)
        if len(history) > 1:
            converged = _moved_less_than(history[-2], res, rtol, component)
            if converged:
                break
        nk *= factor
    return ConvergenceResult(history=history, converged=converged, rtol=rtol, component=component)


def _moved_less_than(old, new, rtol, component):
    vals_new = {(m, q): new.component(m, q, component) for m in new.methods for q in new.quantities}
    vals_old = {(m, q): old.component(m, q, component) for m in old.methods for q in old.quantities}
    scale = 0.01 * max(abs(v) for v in vals_new.values())
    return all(abs(vals_new[key] - vals_old[key]) <= rtol * max(abs(vals_new[key]), scale, 1e-300)
               for key in vals_new)
