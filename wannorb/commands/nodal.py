"""``wannorb nodal SYSTEM ...``: the nodal-line census — the clean-limit (A → 0) Eq. (4) orbital Hall
conductivity σ^z_xy as a sum over the spinless nodal lines (``wannorb.nodal.census``).

An independent route to the λ-independent part of Eq. (4): the spinless nodes of every plane
k_z = const are found (gap grid, Gauss–Newton, a Berry-phase parity check for completeness) and each
one's contribution is integrated on a small disk with wannorb's Eq. (4) kernel at a tiny spin-orbit
scale, next to its analytic value −2πW|ℓ_z| f. No full-zone Hall sum is done (docs/sweep.md).
Under ``mpiexec``/``srun`` the k_z planes are dealt out over the ranks; rank 0 reports and writes.
"""
import sys
import time

import numpy as np

from ..errors import InputError
from ..results import provenance, write_json
from .common import add_system_arguments, load_from_args, parse_float, parse_list

UNITS = {
    "prediction": "(hbar/e) S/cm",
    "prediction_topo": "(hbar/e) S/cm",
    "checks.prediction_*": "(hbar/e) S/cm",
    "plane_kz": "1/Angstrom",
    "plane_sum, plane_sum_topo, plane_sum_prediction, piercings.C, piercings.C_topo": "dimensionless (disk integral of "
    "Omega in Angstrom^2 hbar over dk_x dk_y in 1/Angstrom^2, per hbar); "
    "sigma = (e^2/hbar) 1e8/(8 pi^3) * integral dk_z sum C",
    "piercings.k": "1/Angstrom (Cartesian, in the plane's box)",
    "piercings.E0, piercings.E0_minus_mu, mu, kT, degen_tol": "eV",
    "piercings.soc_gap": "eV (at the disk's spin-orbit scale A)",
    "piercings.r_disk, settings.r_max": "1/Angstrom",
    "plane_check.plane_sum, plane_check.plane_sum_half_grid": "dimensionless, as plane_sum (whole plane, finite A)",
    "plane_check.sigma, plane_check.sigma_half_grid": "(hbar/e) S/cm",
    "plane_check.degen_tol": "eV",
    "plane_check.velocity": "eV*Angstrom",
    "plane_check.unresolved_total": "(hbar/e) S/cm",
    "cost": "s",
}


def register(sub):
    p = sub.add_parser("nodal", help="nodal-line census: clean-limit Eq. (4) OHE from the spinless nodal lines",
                       description=__doc__)
    add_system_arguments(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--mu", metavar="E", help="chemical potential, eV (default: E_F of the data)")
    g.add_argument("--mu-shift", metavar="dE", help="chemical potential relative to E_F of the data, eV")
    g.add_argument("--filling", metavar="N", help="electrons per cell; μ at this filling (see --filling-nk/-soc)")
    p.add_argument("--filling-nk", default="48", metavar="N", help="Γ-centred N³ mesh for the μ of --filling (48)")
    p.add_argument("--filling-soc", default="0.01", metavar="A", help="spin-orbit scale for the μ of --filling (0.01)")
    p.add_argument("--kT", default="0.05", help="temperature, eV (0: step occupations; default 0.05)")
    p.add_argument("--planes", default="16", metavar="N", help="k_z planes over one period (even; default 16)")
    p.add_argument("--grid", default="64", metavar="G", help="gap grid G×G per plane (default 64)")
    p.add_argument("--r-max", default=None, metavar="R", help="largest disk radius, 1/Å (default 0.04 × box)")
    p.add_argument("--degen-tol", default="1e-5", metavar="TOL", help="kernel degeneracy tolerance, eV (1e-5)")
    p.add_argument("--soc-mode", choices=("taylor", "exact"), default="taylor",
                   help="spin-orbit term in the disks: first order around the node (default) or the full Bloch sum")
    p.add_argument("--no-symmetry", action="store_true", help="integrate every class (no orbit reduction)")
    p.add_argument("--no-time-reversal", action="store_true", help="compute all planes (no k_z → −k_z folding)")
    p.add_argument("--disk-stride", default="1", metavar="N",
                   help="integrate the disks on every N-th computed plane only (0: none); the prediction is "
                        "then the analytic Σ C_topo and the disks check it (default 1: all)")
    p.add_argument("--no-parity-check", action="store_true", help="skip the Berry-phase completeness check")
    p.add_argument("--plane-check", default=None, metavar="A1[,A2,...]",
                   help="also integrate the whole plane (full Fermi sea, Eq. (4) kernel) at these finite "
                        "spin-orbit scales on every computed plane: the per-plane sums and the full-zone σ they "
                        "give, next to the line constant (an independent route; its difference is what the "
                        "A → 0 line sum leaves out at that A)")
    p.add_argument("--plane-grid", default="128", metavar="G",
                   help="base G×G grid of --plane-check over the box, refined where gaps are unresolved; the same "
                        "from a (G/2)² base is computed too as its check (default 128)")
    p.add_argument("--plane-levels", default="8", metavar="L",
                   help="refinement levels of --plane-check (cell side halved per level; default 8)")
    p.add_argument("--plane-velocity", default="10", metavar="V",
                   help="a cell is refined while the gap at its midpoint is below V × its side: V bounds the band "
                        "velocity differences, eV·Å (default 10)")
    p.add_argument("--plane-max-points", default="4000000", metavar="N",
                   help="stop refining a plane (and report it as capped) beyond N k-points per base grid "
                        "(default 4e6)")
    p.add_argument("--plane-degen-tol", default="1e-4", metavar="TOL",
                   help="degeneracy tolerance (broadening Γ) of --plane-check, eV (default 1e-4)")
    p.add_argument("--top", default="25", metavar="N", help="rows of the piercing table (default 25)")
    p.add_argument("--reference", default=None, metavar="LO[,HI]",
                   help="print the deviation of the prediction from this value or range, (ħ/e) S/cm")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (planes done, ETA) on stderr")
    p.add_argument("--output", required=True, metavar="OUT.json")
    p.add_argument("--plot", metavar="PNG", help="per-plane sums vs k_z and the nodes of the planes")
    p.set_defaults(func=run)


def _int(name, text, lo=0):
    v = parse_float(name, text)
    if v != int(v) or v < lo:
        raise InputError(f"{name} must be an integer ≥ {lo}, got {text!r}")
    return int(v)


def chemical_potential(args, model):
    """μ (eV) and how it was chosen, from --mu / --mu-shift / --filling or the data's E_F."""
    if args.mu is not None:
        return parse_float("--mu", args.mu), "--mu"
    if args.filling is not None:
        from ..hall import eigenvalues_on_mesh, mu_for_filling
        from ..kmesh import UniformMesh
        n = _int("--filling-nk", args.filling_nk, 2)
        A = parse_float("--filling-soc", args.filling_soc, nonneg=True)
        E = eigenvalues_on_mesh(model, UniformMesh((n,) * 3, (0.0, 0.0, 0.0), max_chunk=4096), A)
        filling = parse_float("--filling", args.filling, positive=True)
        mu = float(mu_for_filling(E, filling, parse_float("--kT", args.kT, nonneg=True)))
        return mu, f"{filling:g} electrons per cell ({n}³ mesh, soc_scale {A:g})"
    if model.fermi_energy is None:
        raise InputError(f"{model.name} has no Fermi energy in its data: give --mu E or --filling N")
    if args.mu_shift is not None:
        return float(model.fermi_energy) + parse_float("--mu-shift", args.mu_shift), "E_F of the data + --mu-shift"
    return float(model.fermi_energy), "E_F of the data"


def run(args):
    from .. import nodal
    model = load_from_args(args)
    mu, mu_source = chemical_potential(args, model)
    r_max = None if args.r_max is None else parse_float("--r-max", args.r_max, positive=True)
    planes = _int("--planes", args.planes, 2)
    if not args.no_time_reversal and planes % 2:
        raise InputError(f"--planes {planes}: must be even (k_z → −k_z folding); or give --no-time-reversal")
    kT = parse_float("--kT", args.kT, nonneg=True)       # every input is checked before any work starts
    grid = _int("--grid", args.grid, 8)
    degen_tol = parse_float("--degen-tol", args.degen_tol, positive=True)
    disk_stride = _int("--disk-stride", args.disk_stride)
    top = _int("--top", args.top)
    check = None
    if args.plane_check is not None:
        scales = [parse_float("--plane-check", x, positive=True) for x in parse_list("--plane-check", args.plane_check)]
        check = dict(soc_scales=scales, grid=_int("--plane-grid", args.plane_grid, 8),
                     degen_tol=parse_float("--plane-degen-tol", args.plane_degen_tol, positive=True),
                     levels=_int("--plane-levels", args.plane_levels),
                     velocity=parse_float("--plane-velocity", args.plane_velocity, positive=True),
                     max_points=_int("--plane-max-points", args.plane_max_points, 1))
    from ..parallel import launcher_comm
    comm = launcher_comm()
    root = comm is None or comm.Get_rank() == 0
    from tqdm import tqdm
    n_mine = -(-(planes // 2 if not args.no_time_reversal else planes) // (1 if comm is None else comm.Get_size()))
    bar = tqdm(total=n_mine, desc=f"nodal {model.name}: k_z planes" + ("" if comm is None else " (rank 0)"),
               unit="plane", disable=args.no_progress or not root, file=sys.stderr)

    def progress(msg):                       # one call per finished plane: bar with ETA, details on the side
        bar.update(1)
        bar.set_postfix_str(msg.split(": ", 1)[-1].split(",")[0])
    t = time.time()
    res = nodal.census(model, mu, kT, n_planes=planes, grid=grid, r_max=r_max, degen_tol=degen_tol,
                       soc_mode=args.soc_mode, symmetry=not args.no_symmetry,
                       time_reversal=not args.no_time_reversal, disk_stride=disk_stride,
                       parity_check=not args.no_parity_check, plane_check=check,
                       progress=progress, comm=comm)
    bar.close()
    if not root:               # every rank holds the result; rank 0 alone reports and writes
        return 0
    if not np.isfinite(res["prediction"]):
        raise InputError(f"{model.name}: the census gave a non-finite prediction ({res['prediction']}); "
                         "see the warnings in the JSON")
    report(res, top)
    if args.reference:
        ref = [parse_float("--reference", x) for x in parse_list("--reference", args.reference)]
        lo, hi = min(ref), max(ref)
        v = res["prediction"]
        dev = 0.0 if lo <= v <= hi else (v - hi if v > hi else v - lo)
        print(f"\nreference {lo:g}–{hi:g} (ħ/e) S/cm: prediction {v:.1f} is "
              f"{'inside' if dev == 0 else f'{dev:+.1f} outside'} "
              f"({100 * (v - 0.5 * (lo + hi)) / (0.5 * (lo + hi)):+.2f} % from the middle)")
    data = {"system": model.name, "params": dict(model.params), "mu": mu, "mu_source": mu_source,
            "component": "zxy", "quantity": "orbital", "method": "eq4", "limit": "A -> 0, clean (degen_tol << SOI gap)",
            **res, "units": UNITS, "wall_time_s": time.time() - t, "mpi_ranks": 1 if comm is None else comm.Get_size(),
            "provenance": provenance()}
    write_json(data, args.output)
    if args.plot:
        plot_census(data, args.plot)
        print(f"wrote {args.plot}")
    print(f"wrote {args.output}")
    return 0


def _fmt(x, spec=".4f"):
    return "—" if x is None or (isinstance(x, float) and not np.isfinite(x)) else format(x, spec)


def report(res, top, out=None):
    """The census as text: settings, the largest piercing orbits, per-plane sums, the predictions."""
    out = out or sys.stdout
    s, g, c = res["settings"], res["geometry"], res["checks"]

    def p(*a):
        print(*a, file=out)
    p(f"# nodal-line census: {s['model']} {s['params'] or ''}")
    p(f"μ = {s['mu']:.6f} eV, kT = {s['kT']} eV, {s['n_planes']} planes over g_z = {g['g_z']:.5f} 1/Å, "
      f"grid {s['grid']}² over the box P = {np.round(g['periods'], 5).tolist()} 1/Å "
      f"({g['n_copies']:g} zones, {g['images_per_class']} images per class), "
      f"{res['symmetry']['n_plane_operations']} plane operations, SOC {s['soc_mode']}")
    rows = sorted(res["piercings"], key=lambda q: -abs(q["weight"] * q["C"]))
    p(f"\n{len(rows)} piercing orbits ({c['n_integrated']} integrated); the {min(top, len(rows))} largest |weight·C|:\n")
    p("| plane k_z (1/Å) | k0 (1/Å) | bands | E0−μ (eV) | wt | W | ℓ_z (ħ) | f | C | C_topo | C(A/2) | C(r/2) | "
      "A | SOC gap (meV) | r_disk (1/Å) | flags |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for q in rows[:top]:
        i = q["integrated"]
        p(f"| {q['kz']:.4f} | {np.round(q['k'][:2], 4).tolist()} | {q['n']},{q['n'] + 1} | {q['E0_minus_mu']:+.3f} | "
          f"{q['weight']}{'' if q['found'] == q['weight'] else '*'} | {q['W']} | {q['ell']:.3f} | "
          f"{q['occupation']:.3g} | {q['C']:.4f} | {q['C_topo']:.4f} | {_fmt(q.get('C_half_A')) if i else '—'} | "
          f"{_fmt(q.get('C_half_r')) if i else '—'} | {_fmt(q.get('A'), '.3g') if i else '—'} | "
          f"{_fmt(1e3 * q['soc_gap'], '.3g') if i else '—'} | {_fmt(q.get('r_disk'), '.3g') if i else '—'} | "
          f"{'; '.join(q.get('flags', []))} |")
    p("\n(wt: orbit size under the plane operations; * = fewer members found than the symmetry implies; "
      "C dimensionless, see the JSON's units)")
    p("\nper plane: Σ_orbits weight·C as the prediction sums it (disk integrals; C_topo for flagged disks or "
      "where no disk was done) | Σ weight·C_topo | "
      "nodes found | pairs searched | Berry-parity plaquettes disagreeing before the second search → after "
      "(away from nodes; next to nodes)")
    pc = res.get("plane_check")
    if pc:
        p(f"  then, per A of --plane-check, the whole-plane Fermi-sea integral from the {pc['grid']}² base grid "
          f"[from the {pc['grid_half']}² base], each refined up to {pc['levels']} levels where a gap is below "
          f"{pc['velocity']:g} eV·Å × the cell side")
    for info in res["planes"]:
        j = info["kz_index"]
        sea = "".join(f" | A={A}: {pc['plane_sum'][A][j]:+9.4f} [{pc['plane_sum_half_grid'][A][j]:+9.4f}]"
                      for A in pc["plane_sum"]) if pc else ""
        p(f"  k_z = {res['plane_kz'][j]:.5f} 1/Å: {res['plane_sum_prediction'][j]:+9.4f} | {res['plane_sum_topo'][j]:+9.4f} | "
          f"{info['n_nodes']:4d} | {info['bands']} | {info['parity_mismatch_before']} → {info['parity_mismatch']} "
          f"({info['parity_mismatch_next_to_nodes']}){sea}")
    p(f"\nprediction σ^z_xy(Eq. (4), orbital, A → 0) = {res['prediction']:.2f} (ħ/e) S/cm [{res['prediction_source']}]")
    if s["disk_stride"] != 1:
        p("  (the disk-based numbers below sum the integrated planes only)")
    p(f"  with C(A/2): {c['prediction_half_A']:.2f}; Richardson 2C(A/2) − C(A): {c['prediction_extrap']:.2f}; "
      f"disks of half radius: {c['prediction_half_r']:.2f}; half the angles: "
      f"{_fmt(c['prediction_half_angles'], '.2f')} (ħ/e) S/cm")
    p(f"  analytic Σ −2πW|ℓ_z| f: {res['prediction_topo']:.2f}; disk integrals everywhere: "
      f"{c['prediction_disks']:.2f} ({c['n_flagged']} flagged disks: {c['flagged_contribution']:.2f}, their C_topo: "
      f"{c['flagged_contribution_topo']:.2f}) (ħ/e) S/cm")
    if pc:
        for A in pc["sigma"]:
            p(f"  whole-plane Fermi sea at A = {A} (degen_tol {pc['degen_tol']:g} eV, same planes): "
              f"{pc['sigma'][A]:.2f} from the {pc['grid']}² base, {pc['sigma_half_grid'][A]:.2f} from {pc['grid_half']}² "
              f"(ħ/e) S/cm; minus the prediction: {pc['sigma'][A] - res['prediction']:+.2f} (ħ/e) S/cm; "
              f"unresolved cells at the finest level hold {pc['unresolved_total'][A]:.2f} (ħ/e) S/cm")
        if pc["capped_planes"]:
            p(f"  (refinement stopped by the point cap on planes {pc['capped_planes']}: those values are not converged)")
    if res["warnings"]:
        p(f"warnings ({len(res['warnings'])}):")
        for w in res["warnings"][:20]:
            p(f"  {w}")
    cost = res["cost"]
    p(f"cost: {cost['total']:.1f} s (finding {cost['find']:.1f} s, {cost['candidates']} grid minima, "
      f"{cost['rejected']} rejected; {cost['disks_integrated']} disks, {cost['disk_points']} k-points, "
      f"{cost['disks']:.1f} s" + (f"; whole planes {cost['plane_check']:.1f} s)" if pc else ")"))


def plot_census(data, path):
    """Left: Σ C per plane vs k_z (disks and analytic). Right: the piercings in the plane's box,
    coloured by weight·C (sign and size of each node's share), marker by plane."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    kz = np.asarray(data["plane_kz"], float)
    done = [info["kz_index"] for info in data["planes"]]
    a1.plot(kz[done], np.asarray(data.get("plane_sum_prediction", data["plane_sum"]), float)[done], "o-",
            label="census (disk integrals; C_topo for flagged disks)")
    a1.plot(kz[done], np.asarray(data["plane_sum_topo"], float)[done], "x--", label="analytic −2πW|ℓ_z| f")
    pc = data.get("plane_check")
    if pc:
        for A in pc["plane_sum"]:
            a1.plot(kz[done], np.asarray(pc["plane_sum"][A], float)[done], "s:", ms=4,
                    label=f"whole plane, A = {A} ({pc['grid']}²; σ = {pc['sigma'][A]:.0f})")
    a1.axhline(0, color="0.6", lw=0.5)
    a1.set_xlabel("k_z (1/Å)")
    a1.set_ylabel("Σ weight·C per plane (dimensionless)")
    a1.set_title(f"{data['system']}: σ^z_xy(eq4, A→0) = {data['prediction']:.1f} (ħ/e) S/cm")
    a1.legend(fontsize=8)
    pts = [q for q in data["piercings"] if q["C"] != 0]
    if pts:
        xy = np.array([q["k"][:2] for q in pts], float)
        wc = np.array([q["weight"] * q["C"] for q in pts], float)
        vmax = np.abs(wc).max()
        sc = a2.scatter(xy[:, 0], xy[:, 1], c=wc, cmap="coolwarm", vmin=-vmax, vmax=vmax,
                        s=10 + 60 * np.abs(wc) / vmax, edgecolors="k", linewidths=0.3)
        fig.colorbar(sc, ax=a2, label="weight·C")
    P = np.asarray(data["geometry"]["periods"], float)
    a2.set_xlim(0, P[0])
    a2.set_ylim(0, P[1])
    a2.set_xlabel("k_x (1/Å)")
    a2.set_ylabel("k_y (1/Å)")
    a2.set_title(f"one node per orbit, {len(done)} planes (μ = {data['mu']:.4f} eV)", fontsize=10)
    a2.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
