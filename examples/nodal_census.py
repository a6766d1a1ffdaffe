"""Nodal-line census: the clean-limit Eq. (4) OHE σ^z_xy as a sum over spinless nodal lines.

    python examples/nodal_census.py SYSTEM [--param NAME=VALUE ...] [--mu MU | --filling N]
        [--kT KT] [--planes N] [--grid G] [--json out.json] [--reference LO[,HI]]

An independent route to the A → 0 (clean, degen_tol ≪ spin-orbit gap) value of the Eq. (4) orbital
Hall conductivity (``wannorb.nodal.census``, docs: module docstring): the spinless nodes of every
plane k_z = const are found, and each one's λ-independent contribution is integrated on a small disk
with wannorb's kernel at a small spin-orbit scale. No full-zone Hall sum is done.

Examples (one core):

    # two-line model: (e²/ħ)/(π a) = 3099.2 (ħ/e) S/cm at μ = 0 (tests/test_nodal_line.py)
    python examples/nodal_census.py pcubic --param ez=10 --mu 0 --kT 0 --planes 8 --grid 32
    # full pcubic at 2 e/cell, kT = 0.05 (wannorb sweep, docs/sweep.md: 1790–1840 at A = 0.01–0.1)
    python examples/nodal_census.py pcubic --filling 2 --kT 0.05 --planes 64 --grid 64 --reference 1790,1840
    # shipped materials at μ = E_F of the data
    python examples/nodal_census.py Cr --kT 0.05 --planes 32 --grid 64

Prints the piercing orbits with the largest contributions, the Σ C of each plane, the prediction
(from the disk integrals), the same with the A → 0 Richardson step, and from the analytic values
C_topo = −2π W |ℓ_z| f, the aggregate checks, warnings and the cost.
"""
import argparse
import json
import sys
import time

import numpy as np

from wannorb import api, nodal
from wannorb.commands.common import parse_params
from wannorb.errors import InputError


def mu_at_filling(model, filling, kT, nk, soc_scale):
    """μ (eV) with ``filling`` electrons per cell on an nk³ Γ-centred mesh at ``soc_scale`` (wannorb's
    own eigenvalue and bisection routines, as ``wannorb sweep --filling`` uses them)."""
    from wannorb.hall import eigenvalues_on_mesh, mu_for_filling
    from wannorb.kmesh import UniformMesh
    E = eigenvalues_on_mesh(model, UniformMesh((nk,) * 3, (0.0, 0.0, 0.0), max_chunk=4096), soc_scale)
    return float(mu_for_filling(E, filling, kT))


def fmt(x, spec=".4f"):
    return "—" if x is None or (isinstance(x, float) and not np.isfinite(x)) else format(x, spec)


def report(res, top, out=sys.stdout):
    s = res["settings"]
    g = res["geometry"]
    p = print
    p(f"# nodal-line census: {s['model']} {s['params'] or ''}", file=out)
    p(f"μ = {s['mu']:.6f} eV, kT = {s['kT']} eV, {s['n_planes']} planes over g_z = {g['g_z']:.5f} 1/Å, "
      f"grid {s['grid']}² over the box P = {np.round(g['periods'], 5).tolist()} 1/Å "
      f"({g['n_copies']:g} zones, {g['images_per_class']} images per class), "
      f"{res['symmetry']['n_plane_operations']} plane operations, SOC {s['soc_mode']}", file=out)
    rows = sorted(res["piercings"], key=lambda q: -abs(q["weight"] * q["C"]))
    p(f"\n{len(rows)} piercing orbits ({res['checks']['n_integrated']} integrated); the {min(top, len(rows))} "
      "largest |weight·C|:\n", file=out)
    p("| plane k_z | k0 (1/Å) | bands | E0−μ (eV) | wt | W | ℓ_z | f | C | C_topo | C(A/2) | C(r/2) | "
      "A | SOC gap (meV) | r_disk | flags |", file=out)
    p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|", file=out)
    for q in rows[:top]:
        integ = q["integrated"]
        p(f"| {q['kz']:.4f} | {np.round(q['k'][:2], 4).tolist()} | {q['n']},{q['n'] + 1} | {q['E0_minus_mu']:+.3f} | "
          f"{q['weight']}{'' if q['found'] == q['weight'] else '*'} | {q['W']} | {q['ell']:.3f} | {q['occupation']:.3g} | "
          f"{q['C']:.4f} | {q['C_topo']:.4f} | {fmt(q.get('C_half_A')) if integ else '—'} | "
          f"{fmt(q.get('C_half_r')) if integ else '—'} | {fmt(q.get('A'), '.3g') if integ else '—'} | "
          f"{fmt(1e3 * q['soc_gap'], '.3g') if integ else '—'} | {fmt(q.get('r_disk'), '.3g') if integ else '—'} | "
          f"{'; '.join(q.get('flags', []))} |", file=out)
    p("\n(wt: orbit size under the plane operations; * = fewer members found than the symmetry implies)", file=out)
    p("\nper plane: Σ_orbits weight·C (disk integrals, or C_topo where no disk was done) | Σ weight·C_topo | "
      "nodes found | pairs searched | Berry-parity plaquettes disagreeing before the second search → after "
      "(away from nodes; next to nodes)", file=out)
    for info in res["planes"]:
        j = info["kz_index"]
        p(f"  k_z = {res['plane_kz'][j]:.5f}: {res['plane_sum'][j]:+9.4f} | {res['plane_sum_topo'][j]:+9.4f} | "
          f"{info['n_nodes']:4d} | {info['bands']} | {info['parity_mismatch_before']} → {info['parity_mismatch']} "
          f"({info['parity_mismatch_next_to_nodes']})", file=out)
    c = res["checks"]
    p(f"\nprediction σ^z_xy(Eq. (4), orbital, A → 0) = {res['prediction']:.2f} (ħ/e) S/cm "
      f"[{res['prediction_source']}]", file=out)
    if s["disk_stride"] != 1:
        p("  (the disk-based numbers below sum the integrated planes only)", file=out)
    p(f"  with C(A/2): {c['prediction_half_A']:.2f}; Richardson 2C(A/2) − C(A): {c['prediction_extrap']:.2f}; "
      f"disks of half radius: {c['prediction_half_r']:.2f}; half the angles: {fmt(c['prediction_half_angles'], '.2f')}",
      file=out)
    p(f"  analytic Σ −2πW|ℓ_z| f: {res['prediction_topo']:.2f}; C_topo in place of the flagged disks: "
      f"{c['prediction_hybrid']:.2f} (flagged disks: {c['flagged_contribution']:.2f}, their C_topo: "
      f"{c['flagged_contribution_topo']:.2f})", file=out)
    p(f"checks: {json.dumps({k: v for k, v in c.items() if not k.startswith('prediction')})}", file=out)
    if res["warnings"]:
        p(f"warnings ({len(res['warnings'])}):", file=out)
        for w in res["warnings"][:20]:
            p(f"  {w}", file=out)
    cost = res["cost"]
    p(f"cost: {cost['total']:.1f} s (finding {cost['find']:.1f} s, {cost['candidates']} grid minima, "
      f"{cost['rejected']} rejected; {cost['disks_integrated']} disks, {cost['disk_points']} k-points, "
      f"{cost['disks']:.1f} s)", file=out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("system", help="built-in model (pcubic), shipped material (Cr, Pt, Ti) or data folder")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="model parameter; repeatable")
    ap.add_argument("--mu", type=float, default=None, help="chemical potential, eV (default: the data's E_F)")
    ap.add_argument("--filling", type=float, default=None, help="electrons per cell instead of --mu")
    ap.add_argument("--filling-nk", type=int, default=48, help="mesh for the μ of --filling (default 48³)")
    ap.add_argument("--filling-soc", type=float, default=0.01, help="SOC scale for the μ of --filling (0.01)")
    ap.add_argument("--kT", type=float, default=0.05, help="eV (default 0.05)")
    ap.add_argument("--planes", type=int, default=16, help="k_z planes over one period (default 16, even)")
    ap.add_argument("--grid", type=int, default=64, help="G: gap grid G×G per plane (default 64)")
    ap.add_argument("--r-max", type=float, default=None, help="largest disk radius, 1/Å")
    ap.add_argument("--degen-tol", type=float, default=1e-5, help="kernel degeneracy tolerance, eV (1e-5)")
    ap.add_argument("--soc-mode", choices=("taylor", "exact"), default="taylor",
                    help="spin-orbit term in the disks: first-order Taylor around k0 (default) or full Bloch sum")
    ap.add_argument("--no-symmetry", action="store_true", help="integrate every class (no orbit reduction)")
    ap.add_argument("--no-time-reversal", action="store_true", help="compute all planes (no k_z → −k_z folding)")
    ap.add_argument("--disk-stride", type=int, default=1,
                    help="integrate the disks on every N-th computed plane only (0: none); the prediction "
                         "is then the analytic Σ C_topo and the disks check it (default 1: all)")
    ap.add_argument("--no-parity-check", action="store_true", help="skip the Berry-phase completeness check")
    ap.add_argument("--top", type=int, default=25, help="rows of the piercing table")
    ap.add_argument("--reference", default=None, help="LO[,HI]: print the deviation from this value or range")
    ap.add_argument("--json", default=None, help="write the full result here")
    ap.add_argument("--progress", action="store_true")
    a = ap.parse_args(argv)

    model = api.load_system(a.system, params=parse_params(a.param))
    if a.filling is not None:
        t = time.time()
        mu = mu_at_filling(model, a.filling, a.kT, a.filling_nk, a.filling_soc)
        print(f"μ = {mu:.6f} eV for {a.filling} electrons per cell ({a.filling_nk}³ mesh, A = {a.filling_soc}, "
              f"kT = {a.kT}; {time.time() - t:.1f} s)")
    elif a.mu is not None:
        mu = a.mu
    elif model.fermi_energy is not None:
        mu = float(model.fermi_energy)
    else:
        ap.error(f"{model.name} has no Fermi energy: give --mu or --filling")
    res = nodal.census(model, mu, a.kT, n_planes=a.planes, grid=a.grid, r_max=a.r_max, degen_tol=a.degen_tol,
                       soc_mode=a.soc_mode, symmetry=not a.no_symmetry, time_reversal=not a.no_time_reversal,
                       disk_stride=a.disk_stride, parity_check=not a.no_parity_check,
                       progress=(lambda s: print(s, flush=True)) if a.progress else None)
    report(res, a.top)
    if a.reference:
        ref = [float(x) for x in a.reference.split(",")]
        lo, hi = min(ref), max(ref)
        v = res["prediction"]
        dev = 0.0 if lo <= v <= hi else (v - hi if v > hi else v - lo)
        print(f"\nreference {lo:g}–{hi:g}: prediction {v:.1f} is {'inside' if dev == 0 else f'{dev:+.1f} outside'} "
              f"({100 * (v - 0.5 * (lo + hi)) / (0.5 * (lo + hi)):+.2f} % from the middle)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1, default=float)


if __name__ == "__main__":
    try:
        main()
    except (InputError, FileNotFoundError, ValueError) as exc:   # one line, no traceback
        sys.exit(f"nodal_census: error: {exc}")
