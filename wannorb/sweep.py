"""SOI-strength sweeps: σ^j_ik(A) for H = H0 + A·Hsoc by Eq. (4), conventional and conserved Kubo.

The paper (discussion after Eq. (4)) claims, for TR+I metals without orbital degeneracy beyond
Kramers: SHE ∝ λ, Eq. (4) OHE ∝ λ² (at least), conventional OHE finite as λ → 0. A sweep puts
this to a test: it computes σ at each scale A, the local exponents d ln|σ| / d ln A between
neighbouring scales and a global least-squares exponent with its standard error.

The scale is passed at call time; the model is never rebuilt. On the base mesh H0(k) and Hsoc(k)
are Fourier transformed once per chunk and reused for every scale (H(k) = H0(k) + A Hsoc(k)).

Convergence (``refine``):
* ``"off"`` — every scale on the plain ``nk`` mesh with ``shift``: the number ``wannorb hall``
  gives on that mesh (tested); no error estimate, so no point is claimed converged.
* ``"adaptive"`` (default) — adaptive refinement around small relevant gaps (``wannorb.refine``)
  on the mesh with ``shift`` and on its twin shifted by half a spacing; σ is the mean of the two
  (a correct quadrature: the union of the two meshes, weights halved). Every point is computed on
  the base mesh N and again on 2N (default ``nk_max`` = 2N); the error estimate of the 2N value is
  max(½|twin difference|, |σ_2N − σ_N|) plus the contribution of unresolved cells. A point whose
  estimate exceeds rtol·|σ| + atol is doubled again while the mesh stays within ``nk_max``; a point
  is never called converged on its first mesh (the twins share part of their error).
* ``"uniform"`` — the same twin-mesh estimate and doubling, without adaptive refinement.
* ``"planes"`` — σ = PREFACTOR Σ Δk_z I(k_z) on k_z planes (``wannorb.planequad``): each plane's
  integral on a G×G grid refined 2×2 wherever a gap between groups (the lower one occupied) is below
  v·h, so every spin-orbit tube is followed down to its width λAℓ/v whatever A; one base cell per
  orbit of the plane operations that leave the component invariant; N midpoint planes, every
  interval then split in three (the old plane reused) and, in later rounds, the intervals whose
  last change was largest. Error estimate = |σ's change in the last k_z round| + what the unsplit
  intervals changed before + |Σ_planes Δk_z (I_G − I_G/2)| on the first N planes (the in-plane
  rule against a base grid of half the size) + the same with v halved + the cells still unresolved
  at the finest in-plane level. With a flatness r > 0 a cell stops being refined for a pair of states
  whose gap varies by less than 1 + r over it and its children (a flat near-degeneracy, not a
  node), and the error adds the change of the first N planes when r is doubled. Converged when the
  estimate is ≤ rtol·|σ| + atol after at least one k_z round. One μ; the chosen component only (no
  full tensor). ``checkpoint`` stores every finished plane.
"""
import math
import time

import numpy as np

from . import bloch, refine as rf
from .errors import InputError
from .hall import DEGEN_TOL_EV, METHODS, QUANTITIES, fermi_dirac, mu_for_filling, operator_stack, prefactor
from .integration import run_chunks
from .kernels.hall import allocate_outputs, hall_integrands
from .kmesh import UniformMesh, chunk_points_limit
from .scaling import exponents_table, sqrt_term

REFINE_MODES = ("off", "adaptive", "uniform", "planes")
# Defaults of refine="planes" (wannorb.planequad): base planes, k_z rounds, in-plane base grid,
# in-plane refinement levels, band velocity bound (eV·Å) of the gap criterion, points per plane.
PLANES_DEFAULTS = dict(n_planes=16, kz_rounds=3, grid=48, levels=10, velocity=20.0, max_points=2_000_000,
                       flatness=0.0)
# Relative convergence target of a sweep point (the "moves by < 1 %").
RTOL = 0.01
# Absolute floor, (ħ/e) S/cm: a value below this is numerically zero (symmetry-forbidden
# components, SHE at A = 0) and counts as converged when the estimate is below it too.
ATOL = 1e-6
# Gap thresholds δ (eV) of the gap-split diagnostic.
SPLIT_DELTAS = (1e-3, 1e-2, 1e-1)

SWEEP_UNITS = {
    "sigma": "(hbar/e) S/cm; sigma[method][quantity][iscale] is sigma^j_ik of `component` at the first mu",
    "error_estimate": "(hbar/e) S/cm, same layout as sigma",
    "soc_scales": "dimensionless multipliers A of the spin-orbit term (H = H0 + A Hsoc)",
    "mu": "eV: the chemical potentials of the first scale (with a fixed mu: of every scale; with "
          "--filling or --keep-electron-count mu moves with A, see mu_per_scale)",
    "mu_per_scale": "eV, [iscale][imu]", "kT": "eV", "degen_tol": "eV",
    "exponents": "d ln|sigma| / d ln A (local: between neighbouring scales; global: least-squares slope)",
    "sqrt_term": "fit of sigma_eq4 - sigma_conserved (spin) = a*A + b*sqrt(A) over A <= max_scale: a, b and "
                 "their stderr in (hbar/e) S/cm, chi2 with the error estimates as weights (null: < 3 distinct scales); "
                 "alternatives[form]: coefficients and stderr in (hbar/e) S/cm, chi2, dof of a*A, b*sqrt(A), "
                 "a*A + c*A*ln(1/A) on the same points",
    "gap_split": "(hbar/e) S/cm: part of sigma from states whose gap to the nearest other group is < delta",
    "min_relevant_gap": "eV", "k_red": "reduced coordinates",
    "planes": "refine=planes settings: velocity eV*Angstrom, g_z_invA 1/Angstrom, flatness a ratio, the rest counts; per point "
              "(points[i].planes): error_* and unresolved and sigma_by_kz_round (hbar/e) S/cm, plane_kz_invA and "
              "plane_width_invA 1/Angstrom, plane_integrand I(k_z) and plane_unresolved dimensionless (sigma = PREFACTOR sum width*I, PREFACTOR = (e^2/hbar)/(8 pi^3) "
              "in S/cm*Angstrom), plane_points counts, finest_h_invA 1/Angstrom, wall_time_s s",
}


def parse_component(text):
    """'zxy' -> (2, 0, 1) = (j, i, k): angular-momentum component, current, field."""
    t = str(text).strip().lower()
    if len(t) != 3 or any(c not in "xyz" for c in t):
        raise InputError(f"--component must be three letters from x, y, z (j, i, k), got {text!r}")
    return tuple("xyz".index(c) for c in t)


def sweep(system, soc_scales, mu=None, filling=None, keep_electron_count=False, kT=0.05, nk=24,
          shift=(0.0, 0.0, 0.0), methods=METHODS, quantities=QUANTITIES, degen_tol=DEGEN_TOL_EV,
          component="zxy", refine="adaptive", refine_factor=rf.REFINE_FACTOR, max_level=rf.MAX_LEVEL,
          max_points=rf.MAX_POINTS, rtol=RTOL, atol=ATOL, nk_max=None, split_deltas=SPLIT_DELTAS,
          operator_phases=True, progress=True, symmetry=True, chunk_runner=None, planes=None, checkpoint=None):
    """σ^j_ik at each SOI scale, with convergence control and diagnostics.

    Parameters
    ----------
    system : TBModel
    soc_scales : list of float > 0 — multipliers A of Hsoc
    mu : float or list, eV (fixed chemical potential for every scale); default the data's E_F
    filling : electrons per cell; μ(A) found at each scale on the nk_max mesh (fixed electron count)
    keep_electron_count : keep the electron count of the data (μ = E_F at A = 1) at every scale
    kT : eV; nk : int or 3 ints (base mesh); shift : 3 floats (fractions of the spacing)
    component : 'jik' letters, default 'zxy' (σ^z_xy)
    refine : 'off' | 'adaptive' | 'uniform' | 'planes' (module docstring)
    refine_factor, max_level, max_points : adaptive refinement (``wannorb.refine``)
    rtol, atol : convergence target ((ħ/e) S/cm for atol); nk_max : largest base mesh per axis
    (default 2·nk, or nk with refine='off')
    split_deltas : gap thresholds δ (eV) of the gap-split diagnostic
    symmetry : with refine 'off'/'uniform', sum only the irreducible points of each mesh (crystal
        symmetries checked on the model, as in ``wannorb hall``); the adaptive refinement always
        walks the full mesh
    chunk_runner : like :func:`wannorb.integration.run_chunks` (e.g. ``MPIChunkRunner``) for the
        mesh chunks, the adaptive refinement's batches, the planes of refine='planes' and the μ
        search (the result does not depend on the number of ranks)
    planes : dict overriding PLANES_DEFAULTS for refine='planes' (n_planes, kz_rounds, grid, levels,
        velocity eV·Å, max_points, flatness: see :func:`wannorb.planequad.adaptive_plane`)
    checkpoint : folder (refine='planes' only): every finished k_z plane is stored in
        ``checkpoint/soc_A/``; a rerun loads the planes it has (also with more --kz-rounds or other
        --planes: a plane's value does not depend on them) and computes the others

    Returns
    -------
    dict — the JSON of ``wannorb sweep`` (see SWEEP_UNITS and docs/sweep.md).
    """
    t_start = time.time()
    scales = [float(a) for a in np.atleast_1d(soc_scales)]
    if not scales or any(not (a > 0 and math.isfinite(a)) for a in scales):
        raise InputError(f"--soc-scales must be positive numbers, got {soc_scales}")
    if refine not in REFINE_MODES:
        raise InputError(f"--refine must be one of {', '.join(REFINE_MODES)}, got {refine!r}")
    if checkpoint is not None and refine != "planes":
        raise InputError("--checkpoint applies to wannorb sweep --refine planes only "
                         "(or to wannorb hall --soc-scale A)")
    if not np.any(system.Hsoc):
        raise InputError(f"{system.name} has no separate spin-orbit term: nothing to sweep")
    nk = (int(nk),) * 3 if np.isscalar(nk) else tuple(int(x) for x in nk)
    nk_max = (nk if refine == "off" else tuple(2 * n for n in nk)) if nk_max is None else ((int(nk_max),) * 3 if np.isscalar(nk_max) else tuple(int(x) for x in nk_max))
    comp = parse_component(component) if isinstance(component, str) else tuple(component)
    methods, quantities = tuple(methods), tuple(quantities)
    for m in methods:
        if m not in METHODS:
            raise InputError(f"unknown method {m!r}; choose from {', '.join(METHODS)}")
    Xops = operator_stack(system, quantities)
    degen_tol = float(degen_tol)
    shift = tuple(float(s) for s in shift)

    # --- chemical potential per scale -------------------------------------------------------
    chosen = sum(x is not None and x is not False for x in (mu, filling, keep_electron_count or None))
    if chosen > 1:
        raise InputError("give only one of mu, filling or keep_electron_count")
    mu_info = {}
    # μ at fixed electron count is found on the finest base mesh a point may use (nk_max), so that
    # the doubling check does not move μ (on pcubic a 16³ vs 24³ μ moved σ_eq4 by ~4 %)
    runner = chunk_runner or run_chunks
    Xops_mu = operator_stack(system, quantities)
    if filling is not None or keep_electron_count:
        if keep_electron_count:
            if system.fermi_energy is None:
                raise InputError(f"{system.name} has no Fermi energy: cannot keep its electron count (use --filling)")
            E1, w1 = _mesh_eigenvalues(system, nk_max, shift, 1.0, Xops_mu, degen_tol, symmetry, runner)
            n1 = float(w1.sum())
            filling = float(w1 @ fermi_dirac(E1, system.fermi_energy, kT).sum(axis=1) / n1)
            if kT == 0:
                filling = round(filling * n1) / n1
            mu_info = {"mu_mode": "electron_count_of_data", "filling": filling,
                       "note": "electrons per cell at mu = E_F and A = 1 on the base mesh, kept at every scale"}
        else:
            filling = float(filling)
            mu_info = {"mu_mode": "filling", "filling": filling}
        mu_info["mu_mesh"] = list(nk_max)
        mus_per_scale = []
        for a in scales:
            E, w = _mesh_eigenvalues(system, nk_max, shift, a, Xops_mu, degen_tol, symmetry, runner)
            mus_per_scale.append([float(mu_for_filling(E, filling, kT, weights=w))])
    else:
        if mu is None:
            if system.fermi_energy is None:
                raise InputError(f"{system.name} has no Fermi energy in its data: give mu or filling")
            mus = [float(system.fermi_energy)]
            mu_info = {"mu_mode": "fixed", "mu_source": "Fermi energy of the data (E_F_eV)"}
        else:
            mus = [float(m) for m in np.atleast_1d(mu)]
            mu_info = {"mu_mode": "fixed"}
        mus_per_scale = [list(mus) for _ in scales]

    # --- integrals -------------------------------------------------------------------------
    common = dict(Xops=Xops, degen_tol=degen_tol, operator_phases=operator_phases, kT=float(kT), comp=comp,
                  max_level=int(max_level), max_points=int(max_points), split_deltas=split_deltas)
    factor = 0.0 if refine in ("off", "uniform") else float(refine_factor)
    shifts = [shift] if refine == "off" else [shift, tuple((s + 0.5) % 1.0 for s in shift)]
    pref = prefactor(system, 1)

    todo = list(range(len(scales)))
    runs = {s: [] for s in todo}        # per scale: list of per-mesh records
    n_cur = nk
    if refine == "planes":
        pl = _planes_settings(system, planes, comp, symmetry)
        for s in todo:
            if len(mus_per_scale[s]) != 1:
                raise InputError("--refine planes takes one chemical potential")
            runs[s].append(_integrate_planes(system, scales[s], mus_per_scale[s][0], common, pl, methods,
                                             quantities, rtol, atol, runner, progress, checkpoint))
        todo = []
        settings_pl = {"planes": {k: v for k, v in pl.items() if k not in ("orbits", "geometry")}}
    else:
        settings_pl = {}
    while todo:
        integrals = {}
        for sh in shifts:
            if factor > 0:
                accs = _integrate(system, [scales[s] for s in todo], [mus_per_scale[s] for s in todo],
                                  n_cur, sh, factor, common, progress, runner)
            else:
                accs = _integrate_plan(system, [scales[s] for s in todo], [mus_per_scale[s] for s in todo],
                                       n_cur, sh, common, symmetry, runner, progress)
            for s, rec in zip(todo, accs):
                integrals.setdefault(s, []).append(rec)
        still = []
        for s in todo:
            rec = _combine(integrals[s], pref, methods, quantities, comp, rtol, atol, refine)
            rec["nk"] = list(n_cur)
            if refine != "off":
                _doubling_check(rec, runs[s][-1] if runs[s] else None, rtol, atol)
            runs[s].append(rec)
            if refine != "off" and not all(all(v for v in rec["converged"][m].values()) for m in methods):
                still.append(s)
        nxt = tuple(2 * n for n in n_cur)
        if refine == "off" or not still or any(a > b for a, b in zip(nxt, nk_max)):
            break
        todo, n_cur = still, nxt

    return _assemble(system, scales, mus_per_scale, mu_info, runs, methods, quantities, comp, dict(
        kT=float(kT), nk=list(nk), nk_max=list(nk_max), shift=list(shift), degen_tol=degen_tol, refine=refine,
        refine_factor=factor, max_level=int(max_level), max_points=int(max_points), rtol=rtol, atol=atol,
        operator_phases=bool(operator_phases), split_deltas=list(split_deltas),
        symmetry_requested=bool(symmetry), **settings_pl), t_start)


def _mesh_eigenvalues(system, nk, shift, soc_scale, Xops, degen_tol, symmetry, runner):
    """(E (n, nw) eV, weights (n,)) on the nk mesh at this SOI scale: its irreducible points with
    their multiplicities when a symmetry maps the mesh onto itself, else every point (weights 1)."""
    from .plan import MeshPlan
    mesh = UniformMesh(tuple(nk), tuple(shift), max_chunk=max(256, int(np.prod(nk)) // 256))
    plan = MeshPlan(system, mesh, Xops, soc_scale, degen_tol, symmetry=symmetry, runner=runner)
    parts = runner(plan.n_chunks, plan.eigenvalues, progress=False, desc="eigenvalues")
    return np.concatenate([p["E"] for p in parts]), np.concatenate([p["w"] for p in parts])


def _integrate(system, scales, mus_list, nk, shift, factor, common, progress, runner=None):
    """Base-mesh pass for all scales (H0(k), Hsoc(k) transformed once per chunk), then adaptive
    refinement per scale. Returns per scale a dict with the Accumulator and statistics.

    The base chunks and the refinement batches go through ``runner`` (``MPIChunkRunner`` under
    mpiexec/srun); partial sums are merged in chunk (batch) order, so the result is bit for bit
    that of one rank, whatever the number of ranks."""
    from tqdm import tqdm
    import sys
    runner = runner or run_chunks
    nq = len(common["Xops"])
    max_chunk = min(chunk_points_limit(system.num_wann, nq), max(64, int(np.prod(nk)) // 16))
    mesh = UniformMesh(tuple(nk), tuple(shift), max_chunk=max_chunk)
    r0 = rf.cell_radius(system.reciprocal, nk)
    w0 = 1.0 / mesh.n_points
    ctxs, accs = [], []
    for a, mus in zip(scales, mus_list):
        e_max = max(mus) + rf.RELEVANT_KT * common["kT"]
        ctxs.append(dict(common, soc_scale=a, mus=mus, e_max=e_max, threshold0=factor * r0, factor=factor, r0=factor * r0,
                         curvature=rf.curvature_bound(system, a) if factor > 0 else 0.0))
        accs.append(rf.Accumulator(len(mus), nq, common["split_deltas"], common["comp"]))

    def base_chunk(c):
        """Per scale: (partial sums of the unflagged points, flagged centres, their ratios)."""
        off = mesh.chunk_offset(c)
        k_red, H0k, dH0k = bloch.hk_fft(system.R, system.lattice, system.H0, system.centres, mesh.n_fft, off)
        _, Hsk, dHsk = bloch.hk_fft(system.R, system.lattice, system.Hsoc, system.centres, mesh.n_fft, off)
        k_cart = k_red @ system.reciprocal
        phase = (bloch.centre_phases(k_cart, system.centres) if common["operator_phases"]
                 else np.ones(H0k.shape[:2], complex))
        out = []
        for ctx, acc in zip(ctxs, accs):
            a = ctx["soc_scale"]
            E, omega, _ = allocate_outputs(len(k_red), system.num_wann, nq)
            Hk, dHk = H0k + a * Hsk, dH0k + a * dHsk
            hall_integrands(np.ascontiguousarray(Hk), np.ascontiguousarray(dHk),
                            np.ascontiguousarray(phase), np.ascontiguousarray(common["Xops"]),
                            float(common["degen_tol"]), E, omega, _)
            per_k, per_state = rf.point_values(E, omega, ctx["mus"], ctx["kT"], ctx["comp"])
            rgap = rf.relevant_gap(E, ctx["degen_tol"], ctx["e_max"])
            if ctx["threshold0"] > 0 and ctx["max_level"] > 0:
                flag, ratio = rf.unresolved_cells(Hk, dHk, ctx["degen_tol"], ctx["e_max"], ctx["r0"],
                                                  ctx["curvature"], ctx["mus"], ctx["kT"], ctx["factor"],
                                                  ctx.get("fermi_surface", False), return_ratio=True)
            else:
                flag, ratio = np.zeros(len(rgap), bool), np.zeros(len(rgap))
            sg = rf.state_gaps(E, ctx["degen_tol"])
            keep = ~flag
            part = acc.empty_like()
            part.add(k_red[keep], w0, per_k[keep], per_state[keep], sg[keep], rgap[keep])
            out.append((part, k_red[flag], ratio[flag]))
        return out

    t0 = time.time()
    chunks = runner(mesh.n_chunks, base_chunk, progress=progress,
                    desc=f"base mesh {'x'.join(map(str, nk))} shift {','.join(f'{s:g}' for s in shift)}")
    t_base = time.time() - t0
    out = []
    for i, (ctx, acc) in enumerate(zip(ctxs, accs)):
        for chunk in chunks:
            acc.merge(chunk[i][0])
        t1 = time.time()
        pending = np.concatenate([chunk[i][1] for chunk in chunks]) if chunks else np.zeros((0, 3))
        prio = np.concatenate([chunk[i][2] for chunk in chunks]) if chunks else np.zeros(0)
        n_flag0 = len(pending)
        levels = {}
        rbar = tqdm(desc=f"refine A={ctx['soc_scale']:g}", unit="pt", disable=not progress or not n_flag0,
                    file=sys.stderr)

        def report(lev, n):
            levels[lev] = levels.get(lev, 0) + n
            rbar.update(n)
        n_ref, deepest = (rf.refine_cells(system, acc, pending, 0, nk, ctx, progress=report, ratio=prio,
                                          runner=runner)
                          if n_flag0 else (0, 0))
        rbar.close()
        out.append(dict(acc=acc, shift=list(shift), n_base=mesh.n_points, n_flagged_base=n_flag0,
                        n_refined_points=int(n_ref), deepest_level=int(deepest),
                        points_per_level={str(k): int(v) for k, v in sorted(levels.items())},
                        threshold0=ctx["threshold0"], r0=r0, curvature=ctx["curvature"],
                        wall_time_s=time.time() - t1 + t_base / len(ctxs)))
    return out


def _integrate_plan(system, scales, mus_list, nk, shift, common, symmetry, runner, progress):
    """Uniform-mesh pass (``refine`` 'off' or 'uniform') through :class:`wannorb.plan.MeshPlan`:
    the irreducible points of the mesh when a crystal symmetry of the model maps it onto itself
    (σ and the gap split symmetrised; 48× fewer points in Cr and Pt), else the full mesh; the
    chunks go through ``runner`` (``wannorb.parallel.MPIChunkRunner`` under mpiexec/srun), so the
    result does not depend on the number of ranks. Same records as :func:`_integrate`."""
    from .plan import MeshPlan
    from .symmetry import symmetrize, tensor_transform
    nq = len(common["Xops"])
    max_chunk = min(chunk_points_limit(system.num_wann, nq), max(256, int(np.prod(nk)) // 256))
    mesh = UniformMesh(tuple(nk), tuple(shift), max_chunk=max_chunk)
    j, i, k = common["comp"]
    row = 9 * j + 3 * i + k
    deltas = np.asarray(common["split_deltas"], float)
    kT, tol = common["kT"], common["degen_tol"]
    out = []
    for a, mus in zip(scales, mus_list):
        t1 = time.time()
        plan = MeshPlan(system, mesh, common["Xops"], a, tol, common["operator_phases"], symmetry=symmetry,
                        runner=runner)
        group = plan.group
        rows = (tensor_transform(group.cart)[:, row] if group is not None else np.eye(27)[row][None])  # (ng, 27)
        e_max = max(mus) + rf.RELEVANT_KT * kT

        def part(c, plan=plan, mus=mus, rows=rows, group=group, e_max=e_max):
            k_red, w, E, omega, _ = plan.integrands(c)
            per_k, _ = rf.point_values(E, omega, mus, kT, common["comp"])       # (m, nmu, 3, nq, 3, 3, 3)
            occ0 = fermi_dirac(E, mus[0], kT)
            sg = rf.state_gaps(E, tol)
            split = np.stack([np.einsum("k,kn,kmqjicn->mqjic", w, occ0 * (sg < d), omega) for d in deltas])
            # the largest single full-mesh point: over the orbit of each irreducible point
            orbit = np.abs(np.einsum("kmqa,ga->kmqg", per_k[:, 0].reshape(len(k_red), 3, nq, 27), rows))
            best_g = orbit.argmax(axis=-1)
            val = np.take_along_axis(orbit, best_g[..., None], axis=-1)[..., 0]      # (m, 3, nq)
            arg = val.argmax(axis=0)
            g_at = np.take_along_axis(best_g, arg[None], axis=0)[0]
            k_at = k_red[arg]
            if group is not None:
                k_at = np.einsum("mqab,mqb->mqa", group.k_ops[g_at], k_at)
                k_at = k_at - np.floor(k_at)
            rgap = rf.relevant_gap(E, tol, e_max)
            ig = int(np.argmin(rgap))
            return {"sum": np.einsum("k,kumqjic->umqjic", w, per_k), "split": split, "weight": float(w.sum()),
                    "point_max": val.max(axis=0), "point_max_k": k_at, "gap_min": float(rgap[ig]),
                    "gap_min_k": k_red[ig]}

        parts = runner(plan.n_chunks, part, progress=progress,
                       desc=f"A={a:g} mesh {'x'.join(map(str, nk))} shift {','.join(f'{x:g}' for x in shift)}",
                       n_points=mesh.n_points)
        acc = rf.Accumulator(len(mus), nq, deltas, common["comp"])
        n = float(mesh.n_points)
        total = sum(p["sum"] for p in parts)
        split = sum(p["split"] for p in parts)
        if group is not None:
            total, split = symmetrize(total, group), symmetrize(split, group)
        acc.total = total / n
        acc.split = split[..., j, i, k] / n
        acc.weight = sum(p["weight"] for p in parts) / n
        best = np.argmax(np.stack([p["point_max"] for p in parts]), axis=0)        # (3, nq)
        acc.point_max = np.take_along_axis(np.stack([p["point_max"] for p in parts]), best[None], 0)[0] / n
        acc.point_max_k = np.take_along_axis(np.stack([p["point_max_k"] for p in parts]), best[None, ..., None], 0)[0]
        ig = int(np.argmin([p["gap_min"] for p in parts]))
        acc.gap_min, acc.gap_min_k = parts[ig]["gap_min"], np.asarray(parts[ig]["gap_min_k"])
        out.append(dict(acc=acc, shift=list(shift), n_base=mesh.n_points, n_flagged_base=0, n_refined_points=0,
                        deepest_level=0, points_per_level={}, threshold0=0.0,
                        r0=rf.cell_radius(system.reciprocal, nk), curvature=0.0,
                        n_evaluated=int(plan.info["n_irreducible_kpoints"]),
                        symmetry={key: plan.info.get(key) for key in ("used", "group_order", "reduction", "reason")},
                        wall_time_s=time.time() - t1))
    return out


def _planes_settings(system, planes, comp, symmetry):
    """Settings of refine='planes': PLANES_DEFAULTS updated by ``planes``, the slicing geometry, the
    plane operations that leave the component invariant and the base-cell orbits of both grids."""
    from . import nodal, planequad as pq, spinless
    pl = dict(PLANES_DEFAULTS, **(planes or {}))
    unknown = set(pl) - set(PLANES_DEFAULTS)
    if unknown:
        raise InputError(f"unknown planes setting(s): {', '.join(sorted(unknown))}")
    for key in ("n_planes", "grid", "max_points"):
        if not (pl[key] >= 1):
            raise InputError(f"planes {key} must be a positive number, got {pl[key]}")
    pl["n_planes"], pl["grid"], pl["kz_rounds"], pl["levels"] = (int(pl["n_planes"]), int(pl["grid"]),
                                                                 int(pl["kz_rounds"]), int(pl["levels"]))
    pl["max_points"], pl["velocity"], pl["flatness"] = int(pl["max_points"]), float(pl["velocity"]), float(pl["flatness"])
    if not pl["flatness"] >= 0 or not math.isfinite(pl["flatness"]):
        raise InputError(f"--plane-flatness must be a number >= 0, got {pl['flatness']}")
    if pl["grid"] < 4 or pl["grid"] % 2:
        raise InputError(f"--plane-grid must be an even number >= 4 (its half is the in-plane check), got {pl['grid']}")
    if pl["kz_rounds"] < 1 or pl["levels"] < 0 or not pl["velocity"] > 0:
        raise InputError("--kz-rounds must be >= 1, --plane-levels >= 0 and --plane-velocity > 0")
    geom = spinless.slicing_geometry(system.lattice)
    if symmetry:
        ops, tr, pg = nodal.plane_operations(system)
        ops = pq.component_operations(ops, comp)
    else:
        ops, tr, pg = np.eye(3)[None], False, None
    if pl["n_planes"] % 2:
        tr = False
    orbits = {G: pq.cell_orbits(system.lattice, geom["periods"], G, ops)[:2] for G in (pl["grid"], pl["grid"] // 2)}
    pl.update(geometry=geom, orbits=orbits, time_reversal_folding=bool(tr), point_group=pg,
              n_plane_operations=int(len(ops)), g_z_invA=geom["g_z"],
              base_cells_computed=int(len(orbits[pl["grid"]][0])))
    return pl


def _plane_store(checkpoint, system, a, mu, common, pl, methods, quantities):
    """The ChunkStore of one sweep point's planes (None without a checkpoint). The hash covers what a
    plane's value depends on: the model, μ, kT, degen_tol, the component, methods, quantities, gap
    thresholds, operator phases, refinement levels, point cap and the base-cell orbits; the grid,
    velocity and k_z of a plane are its file name."""
    if checkpoint is None:
        return None
    from .checkpoint import ChunkStore, input_hash, model_arrays, subdir
    arrays = model_arrays(system, common["Xops"])
    for G, (reps, weight) in pl["orbits"].items():
        arrays[f"orbits_{G}"] = np.concatenate([reps, weight])
    values = dict(system=system.name, soc_scale=a, mu=mu, kT=common["kT"], degen_tol=common["degen_tol"],
                  component=list(common["comp"]), methods=list(methods), quantities=list(quantities),
                  split_deltas=list(common["split_deltas"]), operator_phases=bool(common["operator_phases"]),
                  levels=pl["levels"], max_points=pl["max_points"], periods=list(pl["geometry"]["periods"]))
    if pl["flatness"] > 0:      # only then: checkpoints made before the flatness rule stay valid
        values["flatness"] = pl["flatness"]
    return ChunkStore(subdir(checkpoint, f"soc_{a!r}"), input_hash(arrays, values), description=values)


def plane_value(system, HR, kz, mu, common, pl, method_index, G, v, fl):
    """One plane of refine='planes': I(k_z) = (1/m) ∫_box Σ_n f Ω_n (module docstring of
    ``wannorb.planequad``; Å⁻¹·ħ units, σ = PREFACTOR Σ Δk_z I) on the in-plane grid G×G refined
    with velocity v (eV·Å) and flatness rule fl, and its bookkeeping. HR (nR, nw, nw) eV is the
    Hamiltonian at the wanted SOI scale; ``common``/``pl`` as built by :func:`sweep`."""
    from . import planequad as pq
    P, comp = pl["geometry"]["periods"], common["comp"]
    folded = pq.fold(system.R_cart, HR, P, kz, z_derivative=2 in comp[1:])
    values = pq.hall_values(folded, kz, system.centres, common["Xops"], mu, common["kT"], common["degen_tol"],
                            comp, method_index, list(common["split_deltas"]),
                            operator_phases=common["operator_phases"], per_pair=fl > 0)
    r = pq.adaptive_plane(values, P, G, area_cell=pl["geometry"]["area_2d"], levels=pl["levels"], velocity=v,
                          max_points=pl["max_points"], orbits=pl["orbits"][G], flatness=fl)
    n_base = len(pl["orbits"][G][0])
    return dict(I=r["I"], unresolved=r["unresolved"], n_points=r["n_points"], capped=r["capped"],
                h_min=r["h_min"], levels_used=len(r["by_level"]) - 1,
                split_all_first=bool(r["n_refined"] and r["n_refined"][0] == n_base))


def plane_profile(system, soc_scale, kzs, mu=None, kT=0.05, degen_tol=DEGEN_TOL_EV, component="zxy",
                  methods=METHODS, quantities=QUANTITIES, planes=None, operator_phases=True, symmetry=True,
                  chunk_runner=None, progress=True):
    """The k_z profile of σ^j_ik: the in-plane integrals of refine='planes' at chosen planes.

    σ = ∫ dk_z s(k_z) over one period g_z, with s(k_z) = PREFACTOR·I(k_z) ((ħ/e) S/cm·Å; I as in
    :func:`plane_value`). For looking at a feature in k_z (e.g. the mirror plane k_z = 0) at
    several A without a whole sweep; the planes are exactly the sweep's (same in-plane rule, same
    ``planes`` settings: grid, levels, velocity, max_points, flatness), so a profile plane equals the
    sweep plane at the same k_z.

    soc_scale : A (H = H0 + A Hsoc); kzs : k_z values in Å⁻¹ along the slicing axis
    (``wannorb.spinless.slicing_geometry``); mu : eV, default the data's E_F.

    Returns dict: kz_invA, g_z_invA, density[method][quantity] (list over kzs, (ħ/e) S/cm·Å),
    unresolved (same layout), n_points, capped, mu, and the settings.
    """
    if not (soc_scale > 0 and math.isfinite(soc_scale)):
        raise InputError(f"the SOI scale must be a positive number, got {soc_scale}")
    kzs = [float(k) for k in np.atleast_1d(kzs)]
    if not kzs or not all(math.isfinite(k) for k in kzs):
        raise InputError("k_z values must be finite numbers")
    if mu is None:
        if system.fermi_energy is None:
            raise InputError(f"{system.name} has no Fermi energy in its data: give mu")
        mu = float(system.fermi_energy)
    from . import planequad as pq
    comp = parse_component(component) if isinstance(component, str) else tuple(component)
    methods, quantities = tuple(methods), tuple(quantities)
    for m in methods:
        if m not in METHODS:
            raise InputError(f"unknown method {m!r}; choose from {', '.join(METHODS)}")
    common = dict(Xops=operator_stack(system, quantities), degen_tol=float(degen_tol), kT=float(kT), comp=comp,
                  operator_phases=operator_phases, split_deltas=[])
    pl = _planes_settings(system, planes, comp, symmetry)
    midx = [METHODS.index(m) for m in methods]
    HR = system.H0 + float(soc_scale) * system.Hsoc
    runner = chunk_runner or run_chunks
    res = runner(len(kzs), lambda c: plane_value(system, HR, kzs[c], mu, common, pl, midx, pl["grid"],
                                                 pl["velocity"], pl["flatness"]),
                 progress=progress, desc=f"A={soc_scale:g}: {len(kzs)} planes")
    nm, nq = len(methods), len(quantities)

    def per(key):
        return {m: {q: [float(pq.PREFACTOR * np.asarray(r[key]).reshape(nm, nq)[im, iq]) for r in res]
                    for iq, q in enumerate(quantities)} for im, m in enumerate(methods)}

    return dict(system=system.name, soc_scale=float(soc_scale), mu=float(mu), kT=float(kT),
                degen_tol=float(degen_tol), component="".join("xyz"[c] for c in comp), kz_invA=kzs,
                g_z_invA=float(pl["geometry"]["g_z"]), density=per("I"), unresolved=per("unresolved"),
                n_points=[int(r["n_points"]) for r in res], capped=[bool(r["capped"]) for r in res],
                planes={k: pl[k] for k in ("grid", "levels", "velocity", "max_points", "flatness")},
                units={"kz_invA": "1/Angstrom", "g_z_invA": "1/Angstrom", "mu": "eV", "kT": "eV", "degen_tol": "eV",
                       "density": "(hbar/e) S/cm * Angstrom: sigma = integral over one period g_z of density dk_z",
                       "unresolved": "(hbar/e) S/cm * Angstrom, bound on the part of density from capped cells"})


def _integrate_planes(system, a, mu, common, pl, methods, quantities, rtol, atol, runner, progress, checkpoint=None):
    """One sweep point by refine='planes' (module docstring): the record _assemble expects."""
    from . import planequad as pq
    t0 = time.time()
    store = _plane_store(checkpoint, system, a, mu, common, pl, methods, quantities)
    geom, deltas = pl["geometry"], list(common["split_deltas"])
    midx = [METHODS.index(m) for m in methods]
    nd, nm, nq = len(deltas) + 1, len(methods), len(quantities)
    HR = system.H0 + a * system.Hsoc
    info = {}

    def plane(kz, G, v, fl):
        return plane_value(system, HR, kz, mu, common, pl, midx, G, v, fl)

    main = (pl["grid"], pl["velocity"], pl["flatness"])

    def evaluate(kzs, G=pl["grid"], v=pl["velocity"], fl=pl["flatness"], tag=""):
        def compute(c):
            return plane(kzs[c], G, v, fl)
        if store is not None:
            # exact names (float.hex): a resumed run asks for bit-identical k_z
            rule = f"-r{float(fl).hex()}" if fl > 0 else ""
            compute = store.wrap(compute, names=[f"G{G}-v{float(v).hex()}{rule}-kz{float(kz).hex()}" for kz in kzs])
        res = runner(len(kzs), compute, progress=progress, desc=f"A={a:g}: {len(kzs)} planes{tag}")
        for kz, r in zip(kzs, res):
            info.setdefault((G, v, fl), {})[float(kz)] = r
        return [r["I"] for r in res]

    def target(s):
        # the k_z rounds are steered by the totals that are at least 1 % of the largest method's value
        # of the same quantity: a value that is ~0 (the conserved OHE, symmetry-forbidden parts) has a
        # 1 % target no plane count reaches and would split every interval; its convergence is still
        # judged below, against rtol
        t = (rtol * np.abs(pq.PREFACTOR * s) + atol) / pq.PREFACTOR
        tot = np.abs(s.reshape(nd, nm, nq)[0])
        big = np.zeros((nd, nm, nq), bool)
        big[0] = tot >= 0.01 * tot.max(axis=0, keepdims=True)
        return np.where(big.ravel(), t, np.inf)

    kzr = pq.kz_adaptive(evaluate, geom["g_z"], pl["n_planes"], pl["kz_rounds"], target,
                         time_reversal=pl["time_reversal_folding"])
    fac = kzr["fold"]
    base = (np.arange(pl["n_planes"] // 2 if fac == 2 else pl["n_planes"]) + 0.5) * geom["g_z"] / pl["n_planes"]
    # in-plane checks on the first N planes: the base grid halved (catches a coarse base grid on the
    # broad parts), and the velocity halved (the criterion-limited error: a cell kept at side h
    # because its gap Δ > v·h has an error ∝ (v_band/v)², whatever h, which halving G misses), and
    # with the flatness rule the rule doubled (a cell left unrefined as flat is off by about what a
    # twice looser rule changes: tested on Cr's near-degenerate deep bands, r = 0.6/0.3/0.1/0.05)
    half = np.array(evaluate(list(base), G=pl["grid"] // 2, tag=f" (in-plane check, grid {pl['grid'] // 2})"))
    slow = np.array(evaluate(list(base), v=pl["velocity"] / 2, tag=f" (in-plane check, v {pl['velocity'] / 2:g})"))
    full0 = np.array([info[main][float(kz)]["I"] for kz in base])
    w0 = geom["g_z"] / pl["n_planes"]
    err_grid = np.abs(fac * w0 * (full0 - half).sum(axis=0))
    err_vel = np.abs(fac * w0 * (full0 - slow).sum(axis=0))
    err_flat = np.zeros_like(err_vel)
    if pl["flatness"] > 0:
        loose = np.array(evaluate(list(base), fl=2 * pl["flatness"],
                                  tag=f" (in-plane check, flatness {2 * pl['flatness']:g})"))
        err_flat = np.abs(fac * w0 * (full0 - loose).sum(axis=0))
    inplane = err_grid + err_vel + err_flat
    kzc, kzw, _ = kzr["planes"]
    leaf = [info[main][float(kz)] for kz in kzc]
    unres = fac * sum(w * r["unresolved"] for w, r in zip(kzw, leaf))
    err = pq.PREFACTOR * (kzr["error"] + inplane + unres)
    sig = pq.PREFACTOR * kzr["sum"]

    def shaped(x):
        return np.asarray(x, float).reshape(nd, nm, nq)

    S, E, U = shaped(sig), shaped(err), shaped(pq.PREFACTOR * unres)
    KZ, IG, IV, IF = (shaped(pq.PREFACTOR * x) for x in (kzr["error"], err_grid, err_vel, err_flat))
    rounds = kzr["rounds"] >= 1
    by_round = [shaped(pq.PREFACTOR * s) for s in kzr["by_round"]]
    every = [r for key in info for r in info[key].values()]

    def per(x, d=0):
        return {m: {q: float(x[d, im, iq]) for iq, q in enumerate(quantities)} for im, m in enumerate(methods)}

    conv = {m: {q: bool(rounds and E[0, im, iq] <= rtol * abs(S[0, im, iq]) + atol) for iq, q in enumerate(quantities)}
            for im, m in enumerate(methods)}
    capped = sorted({float(kz) for key in info for kz, r in info[key].items() if r["capped"]})
    detail = dict(
        n_planes_base=pl["n_planes"], kz_rounds_done=kzr["rounds"], planes_per_round=kzr["n_planes_per_round"],
        n_planes_computed=len(info[main]), n_planes_in_plane_check=len(base),
        # a half-size base grid whose every cell is split at the first level becomes the main grid:
        # on these planes the grid check compares a result with itself (the velocity check remains)
        grid_check_vacuous_planes=int(sum(info[(pl["grid"] // 2, pl["velocity"], pl["flatness"])][float(kz)]["split_all_first"]
                                          for kz in base)),
        kz_time_reversal_folding=bool(fac == 2),
        sigma_by_kz_round=[per(b) for b in by_round],
        error_kz=per(KZ), error_in_plane_grid=per(IG), error_in_plane_velocity=per(IV),
        error_in_plane_flatness=per(IF), unresolved=per(U),
        capped_planes_kz=capped, n_points_total=int(sum(r["n_points"] for r in every)),
        max_points_per_plane=int(max(r["n_points"] for r in every)),
        finest_h_invA=float(min(r["h_min"] for r in every)),
        plane_kz_invA=[float(x) for x in kzc], plane_width_invA=[float(x) for x in kzw],
        plane_integrand={m: {q: [float(r["I"].reshape(nd, nm, nq)[0, im, iq]) for r in leaf]
                             for iq, q in enumerate(quantities)} for im, m in enumerate(methods)},
        plane_unresolved={m: {q: [float(np.asarray(r["unresolved"]).reshape(nd, nm, nq)[0, im, iq]) for r in leaf]
                              for iq, q in enumerate(quantities)} for im, m in enumerate(methods)},
        plane_points=[int(r["n_points"]) for r in leaf],
        wall_time_s=time.time() - t0)
    if store is not None:
        total = getattr(runner, "allsum", lambda x: x)
        detail["checkpoint"] = dict(dir=store.folder, input_hash=store.key, planes_loaded=int(total(store.loaded)),
                                    planes_computed=int(total(store.computed)))
    return dict(sigma=per(S), error=per(E), converged=conv, unresolved=per(U), tensor=None,
                split=[per(S, d + 1) for d in range(len(deltas))], deltas=deltas, meshes=[], nk=None,
                planes=detail)


def _combine(recs, pref, methods, quantities, comp, rtol, atol, refine):
    """σ (mean over the mesh twins), error estimate and convergence flags of one scale on one mesh."""
    j, i, k = comp
    midx = {m: METHODS.index(m) for m in methods}
    totals = [r["acc"].total * pref for r in recs]          # each (nmu, 3, nq, 3, 3, 3)
    tensor = sum(totals) / len(totals)
    sigma, err, conv, unres = {}, {}, {}, {}
    for m in methods:
        sigma[m], err[m], conv[m], unres[m] = {}, {}, {}, {}
        for iq, q in enumerate(quantities):
            vals = [t[0, midx[m], iq, j, i, k] for t in totals]
            val = float(np.mean(vals))
            u = float(sum(r["acc"].unresolved[midx[m], iq] for r in recs) * abs(pref) / len(recs))
            sigma[m][q] = val
            unres[m][q] = u
            if refine == "off":
                err[m][q] = None
                conv[m][q] = False
            else:
                e = 0.5 * abs(vals[0] - vals[1]) + u
                err[m][q] = e
                conv[m][q] = bool(e <= rtol * abs(val) + atol)
    split = [{m: {q: float(sum(r["acc"].split[d, midx[m], iq] for r in recs) * pref / len(recs))
                  for iq, q in enumerate(quantities)} for m in methods} for d in range(len(recs[0]["acc"].deltas))]
    meshes = []
    for r in recs:
        a = r["acc"]
        meshes.append({
            "shift": r["shift"], "n_base_points": r["n_base"], "n_flagged_base_cells": r["n_flagged_base"],
            "n_refined_points": r["n_refined_points"], "deepest_level": r["deepest_level"],
            "points_per_level": r["points_per_level"], "refine_threshold_invA": r["threshold0"],
            "base_cell_radius_invA": r["r0"], "curvature_bound_eVA2": r["curvature"], "weight_sum": a.weight, "unresolved_weight": a.unresolved_weight,
            "min_relevant_gap": {"value": a.gap_min, "k_red": a.gap_min_k},
            "max_point_contribution": {m: {q: {"value": float(a.point_max[midx[m], iq] * abs(pref)),
                                               "k_red": a.point_max_k[midx[m], iq]}
                                           for iq, q in enumerate(quantities)} for m in methods},
            "sigma": {m: {q: float(a.total[0, midx[m], iq, j, i, k] * pref) for iq, q in enumerate(quantities)}
                      for m in methods},
            "n_evaluated_points": r.get("n_evaluated", r["n_base"] + r["n_refined_points"]),
            "symmetry": r.get("symmetry", {"used": False, "reason": "adaptive refinement walks the full mesh"}),
            "wall_time_s": r["wall_time_s"],
        })
    return dict(sigma=sigma, error=err, converged=conv, unresolved=unres, tensor=tensor, split=split,
                deltas=list(recs[0]["acc"].deltas), meshes=meshes)


def _doubling_check(rec, prev, rtol, atol):
    """Error estimate of a point on mesh N from the twin meshes and from the previous mesh N/2:
    max(½|σ_twin1 − σ_twin2|, |σ_N − σ_N/2|) + unresolved. The twin difference alone misses the
    errors both twins share (Fermi-surface sampling, and the second-order error of a partly refined
    smooth integrand), so a point is never called converged on its first mesh."""
    for m in rec["sigma"]:
        for q in rec["sigma"][m]:
            twin = rec["error"][m][q]
            rec["twin_error"] = rec.get("twin_error", {})
            rec["twin_error"].setdefault(m, {})[q] = twin
            if prev is None:
                rec["converged"][m][q] = False
                continue
            e = max(twin, abs(rec["sigma"][m][q] - prev["sigma"][m][q]) + rec["unresolved"][m][q])
            rec["error"][m][q] = e
            # cells left unrefined by the budget or max_level may hide an unresolved peak that
            # their centre values do not show: such a point is never called converged
            resolved = all(mesh["unresolved_weight"] == 0 for mesh in rec["meshes"] + prev["meshes"])
            rec["converged"][m][q] = bool(resolved and e <= rtol * abs(rec["sigma"][m][q]) + atol)


# what must agree between sweeps merged into one table (same physics, different integration settings)
MERGE_KEYS = ("system", "component", "methods", "quantities", "kT", "degen_tol", "operator_phases")


def merge(datas, names):
    """One sweep from several sweep JSONs of the same system, component, μ, kT and Γ (e.g. pieces
    run with different point caps, velocities or as separate jobs): the points sorted by A, the
    exponents recomputed. Where several sweeps have a scale, the point with the most converged
    values wins (ties: the smaller sum of relative errors); the others stay in
    ``points[i].alternatives``. ``points[i].source`` names the sweep a point came from and how it
    was integrated. Raises InputError on sweeps that do not describe the same quantity.
    """
    if len(datas) < 2:
        raise InputError("sweep-merge needs at least two sweep JSON files")
    first = datas[0]
    for d, n in zip(datas, names):
        for key in ("soc_scales", "sigma", "converged", "error_estimate", "points") + MERGE_KEYS:
            if key not in d:
                raise InputError(f"{n} is not a wannorb sweep JSON (no {key!r})")
        for key in MERGE_KEYS:
            if d[key] != first[key]:
                raise InputError(f"{n} has {key} = {d[key]!r}, {names[0]} has {first[key]!r}: not the same sweep")
        if len(d["mu"]) != 1 or len(first["mu"]) != 1 or abs(d["mu"][0] - first["mu"][0]) > 1e-9 or \
                d.get("mu_mode") != first.get("mu_mode"):
            raise InputError(f"{n} has mu = {d['mu']} eV ({d.get('mu_mode')}), {names[0]} has {first['mu']} eV "
                             f"({first.get('mu_mode')}): not the same sweep")
    methods, quantities = first["methods"], first["quantities"]

    def score(d, i):
        conv = sum(d["converged"][m][q][i] for m in methods for q in quantities)
        rel = sum((d["error_estimate"][m][q][i] or 0.0) / max(abs(d["sigma"][m][q][i]), 1e-300)
                  for m in methods for q in quantities)
        return (-conv, rel)

    by_scale = {}
    for k, d in enumerate(datas):
        for i, a in enumerate(d["soc_scales"]):
            by_scale.setdefault(float(a), []).append((score(d, i), k, i))
    scales = sorted(by_scale)
    sigma = {m: {q: [] for q in quantities} for m in methods}
    conv = {m: {q: [] for q in quantities} for m in methods}
    err = {m: {q: [] for q in quantities} for m in methods}
    points = []
    for a in scales:
        (_, k, i), *others = sorted(by_scale[a])
        d = datas[k]
        for m in methods:
            for q in quantities:
                sigma[m][q].append(d["sigma"][m][q][i])
                conv[m][q].append(d["converged"][m][q][i])
                err[m][q].append(d["error_estimate"][m][q][i])
        pt = dict(d["points"][i])
        pt["source"] = {"file": names[k], "refine": d["refine"], "integration": integration_summary(d)}
        pt["alternatives"] = [{"file": names[k2], "integration": integration_summary(datas[k2]),
                               "sigma": {m: {q: datas[k2]["sigma"][m][q][i2] for q in quantities} for m in methods},
                               "error_estimate": {m: {q: datas[k2]["error_estimate"][m][q][i2] for q in quantities}
                                                  for m in methods}}
                              for _, k2, i2 in others]
        points.append(pt)
    out = {key: first[key] for key in MERGE_KEYS}
    out.update({key: first[key] for key in ("params", "mu", "mu_mode", "mu_source", "rtol", "atol") if key in first})
    out.update(soc_scales=scales, sigma=sigma, converged=conv, error_estimate=err,
               exponents=exponents_table(scales, sigma, conv), refine="merged",
               sqrt_term=sqrt_term(methods, quantities, scales, sigma, err),
               merged_from=[{"file": n, "refine": d["refine"], "integration": integration_summary(d),
                             "soc_scales": d["soc_scales"]} for d, n in zip(datas, names)],
               points=points, units=SWEEP_UNITS)
    return out


def _assemble(system, scales, mus_per_scale, mu_info, runs, methods, quantities, comp, settings, t_start):
    final = [runs[s][-1] for s in range(len(scales))]
    sigma = {m: {q: [f["sigma"][m][q] for f in final] for q in quantities} for m in methods}
    conv = {m: {q: [f["converged"][m][q] for f in final] for q in quantities} for m in methods}
    err = {m: {q: [f["error"][m][q] for f in final] for q in quantities} for m in methods}
    expo = exponents_table(scales, sigma, conv)
    points = []
    for s, a in enumerate(scales):
        f = final[s]
        points.append({
            "soc_scale": a, "mu": mus_per_scale[s], "nk": f["nk"],
            "meshes_tried": [r["nk"] for r in runs[s]],
            "history": [{"nk": r["nk"], "sigma": r["sigma"], "error_estimate": r["error"],
                         "twin_error": r.get("twin_error"), "converged": r["converged"]} for r in runs[s]],
            "meshes": f["meshes"], "unresolved_contribution": f["unresolved"],
            "gap_split": [{"delta_eV": d, "sigma_below": f["split"][i]} for i, d in enumerate(f["deltas"])],
            "sigma_tensor_first_mu": None if f["tensor"] is None else {
                m: {q: f["tensor"][0, METHODS.index(m), iq].tolist() for iq, q in enumerate(quantities)}
                for m in methods},
            **({"planes": f["planes"]} if "planes" in f else {}),
        })
    return {
        "system": system.name, "params": dict(system.params), "soc_scales": scales,
        "mu": mus_per_scale[0], "mu_per_scale": mus_per_scale, **mu_info,
        "component": "".join("xyz"[c] for c in comp), "methods": list(methods), "quantities": list(quantities),
        "sigma": sigma, "converged": conv, "error_estimate": err, "exponents": expo,
        "sqrt_term": sqrt_term(methods, quantities, scales, sigma, err),
        **settings, "points": points, "units": SWEEP_UNITS, "wall_time_s": time.time() - t_start,
    }


def degen_tol_scan(system, soc_scales, tols, **kw):
    """Run the sweep for each degeneracy tolerance Γ (eV, read as a disorder broadening ħ/τ):
    states closer than Γ form one group. Returns a list of {degen_tol, sigma, converged, exponents}."""
    out = []
    for tol in tols:
        r = sweep(system, soc_scales, degen_tol=tol, **kw)
        out.append({"degen_tol": float(tol), "sigma": r["sigma"], "converged": r["converged"],
                    "error_estimate": r["error_estimate"],
                    "exponents": {m: {q: {"global": e["global"], "local": e["local"]} for q, e in d.items()}
                                  for m, d in r["exponents"].items()},
                    "wall_time_s": r["wall_time_s"]})
    return out


def integration_summary(data):
    """How a sweep's σ were integrated, one line (for tables and plots): the k_z planes and in-plane
    refinement of refine='planes', else the base mesh and the largest one allowed."""
    if data["refine"] == "merged":
        return f"merged from {len(data['merged_from'])} sweeps (points[i].source says which)"
    if data["refine"] == "planes":
        pl = data["planes"]
        return (f"{pl['n_planes']} k_z planes + {pl['kz_rounds']} rounds, in-plane {pl['grid']}x{pl['grid']} "
                f"refined {pl['levels']} levels at v = {pl['velocity']:g} eV*A"
                + (f", flatness {pl['flatness']:g}" if pl.get("flatness") else ""))
    return f"base nk={'x'.join(map(str, data['nk']))} (up to {'x'.join(map(str, data['nk_max']))})"


def plot_sweep(data, path):
    """Log–log |σ| vs A per quantity, one line per method; hollow markers: not converged.
    Local exponents written between neighbouring points; global exponent in the legend."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    A = np.array(data["soc_scales"])
    qs = data["quantities"]
    fig, axes = plt.subplots(1, len(qs), figsize=(5.2 * len(qs), 4.4), squeeze=False)
    colors = {"eq4": "C3", "conventional": "C0", "conserved": "C2"}
    any_unconv = False
    for ax, q in zip(axes[0], qs):
        for m in data["methods"]:
            v = np.abs(np.array(data["sigma"][m][q], float))
            c = np.array(data["converged"][m][q], bool)
            any_unconv |= not c.all()
            g = data["exponents"][m][q]["global"]
            lab = m + (f"  slope {g['value']:.2f}" if g["value"] is not None else "")
            if g.get("stderr") is not None:
                lab += f" ± {g['stderr']:.2f}"
            if g.get("uses_unconverged_points"):
                lab += " (unconv.)"
            col = colors.get(m, None)
            pos = v > 0
            ax.plot(A[pos], v[pos], "-", color=col, lw=1, alpha=0.6)
            ax.plot(A[pos & c], v[pos & c], "o", color=col, label=lab)
            ax.plot(A[pos & ~c], v[pos & ~c], "o", mfc="none", color=col)
            err = np.array([np.nan if e is None else e for e in data["error_estimate"][m][q]], float)
            bar = pos & np.isfinite(err)
            if bar.any():       # the error estimate, clipped where it reaches |σ| (log axis)
                ax.errorbar(A[bar], v[bar], yerr=[np.minimum(err[bar], 0.999 * v[bar]), err[bar]], fmt="none",
                            ecolor=col, elinewidth=0.8, capsize=2)
            for i, e in enumerate(data["exponents"][m][q]["local"]):
                if e is not None and pos[i] and pos[i + 1]:
                    ax.annotate(f"{e:.2f}", (math.sqrt(A[i] * A[i + 1]), math.sqrt(v[i] * v[i + 1])),
                                fontsize=7, color=col, ha="center", va="bottom")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("SOI scale A")
        ax.set_ylabel(f"|σ^{data['component'][0]}_{data['component'][1:]}| ({q}) [(ħ/e) S/cm]")
        ax.set_title(f"{data['system']} — {q}")
        ax.legend(fontsize=8)
        st = data.get("sqrt_term")
        if q == "spin" and st:
            ax.text(0.98, 0.02, f"Eq.(4) − conserved = a·A + b·√A (A ≤ {st['max_scale']:g}):\n"
                    f"a = {st['a']:.3g} ± {st['stderr']['a']:.2g}, b = {st['b']:.3g} ± {st['stderr']['b']:.2g} (ħ/e) S/cm",
                    transform=ax.transAxes, fontsize=7, ha="right", va="bottom")
    note = f"refine={data['refine']}, {integration_summary(data)}, kT={data['kT']:g} eV"
    if any_unconv:
        note += ";  hollow markers: NOT converged (error > rtol·|σ|" + \
                (", not checked with --refine off)" if data["refine"] == "off" else ")")
    fig.text(0.01, 0.01, note, fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
