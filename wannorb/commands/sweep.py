"""``wannorb sweep SYSTEM --soc-scales A1,A2,...``: σ^j_ik against the SOI scale, with exponents,
per-point convergence (adaptive refinement, twin meshes) and diagnostics; JSON + optional plot."""
import sys

from ..errors import InputError
from ..results import provenance, write_json
from .common import add_hall_arguments, add_system_arguments, hall_kwargs, load_from_args, parse_float, parse_list


def register(sub):
    p = sub.add_parser("sweep", help="spin/orbital Hall conductivities against the spin-orbit scale A "
                                     "(exponents, convergence per point)", description=__doc__)
    add_system_arguments(p)
    p.add_argument("--soc-scales", required=True, metavar="A1,A2,...", help="positive multipliers of the SOI term")
    add_hall_arguments(p, soc=False)
    p.add_argument("--keep-electron-count", action="store_true",
                   help="keep the electron count of the data (mu = E_F at A = 1) at every scale, instead of a fixed mu")
    p.add_argument("--component", default="zxy", metavar="JIK",
                   help="tensor component sigma^j_ik as letters j (spin/orbital axis), i (current), k (field); default zxy")
    p.add_argument("--refine", default="adaptive", choices=("off", "adaptive", "uniform", "planes"),
                   help="off: the plain --nk mesh only; adaptive (default): refine around small gaps and check "
                        "against the half-spacing-shifted twin mesh; uniform: twin-mesh check only; planes: "
                        "k_z planes, each refined in-plane down to the spin-orbit tubes (for small A; "
                        "--planes, --kz-rounds, --plane-*)")
    p.add_argument("--refine-factor", default=None, metavar="F",
                   help="refine a cell when a relevant gap is below F·(velocity·r + curvature·r²) (default 0.5)")
    p.add_argument("--max-level", default=None, help="deepest refinement level (cells halved per level; default 12)")
    p.add_argument("--max-points", default=None, help="refined k-points per scale and mesh (default 400000)")
    p.add_argument("--rtol", default="0.01", help="relative convergence target per point (default 0.01)")
    p.add_argument("--atol", default="1e-6", help="absolute floor of the target, (hbar/e) S/cm (default 1e-6)")
    p.add_argument("--nk-max", default=None, metavar="N|N1,N2,N3",
                   help="double the base mesh of unconverged points up to this (default: --nk, no doubling)")
    g = p.add_argument_group("--refine planes (docs/sweep.md, 'Plane quadrature')")
    g.add_argument("--planes", default=None, metavar="N", help="base number of k_z planes, even (default 16)")
    g.add_argument("--kz-rounds", default=None, metavar="R",
                   help="k_z rounds: 1 splits every interval in three, later ones the intervals that moved most (default 3)")
    g.add_argument("--plane-grid", default=None, metavar="G", help="in-plane base grid G×G, even (default 48)")
    g.add_argument("--plane-levels", default=None, metavar="L", help="in-plane 2×2 refinement levels (default 10)")
    g.add_argument("--plane-velocity", default=None, metavar="V",
                   help="refine a cell of side h where a gap is below V·h, V in eV·Å (default 20)")
    g.add_argument("--plane-max-points", default=None, metavar="N", help="k-points per plane at most (default 2000000)")
    g.add_argument("--plane-flatness", default=None, metavar="R",
                   help="stop refining a cell for a pair of states whose gap varies by less than a factor 1+R "
                        "over the cell and its children (flat near-degeneracies, not SOI-gapped nodes); "
                        "default 0: off")
    p.add_argument("--split-deltas", default="0.001,0.01,0.1", metavar="D1,D2,...",
                   help="gap thresholds (eV) of the gap-split diagnostic")
    p.add_argument("--degen-tol-scan", default=None, metavar="G1,G2,...",
                   help="also rerun the sweep with these degeneracy tolerances (eV, read as a broadening)")
    p.add_argument("--output", required=True, metavar="OUT.json", help="JSON result file")
    p.add_argument("--plot", metavar="PNG", help="log-log plot of |sigma| against A")
    p.set_defaults(func=run)
    m = sub.add_parser("sweep-merge", help="one sweep table, plot and exponents from several sweep JSONs of the "
                                           "same system, component, mu, kT and degeneracy tolerance",
                       description="Merge sweep JSONs (e.g. pieces run as separate jobs or with different "
                                   "integration settings) into one: points sorted by A, exponents recomputed; "
                                   "where several have a scale, the point with the most converged values wins "
                                   "and the others are kept in points[i].alternatives.")
    m.add_argument("inputs", nargs="+", metavar="SWEEP.json")
    m.add_argument("--output", required=True, metavar="OUT.json")
    m.add_argument("--plot", metavar="PNG", help="log-log plot of |sigma| against A")
    m.set_defaults(func=run_merge)


def run_merge(args):
    from .. import sweep as sw
    from ..results import read_json
    datas = [read_json(path, what="sweep JSON") for path in args.inputs]
    data = sw.merge(datas, list(args.inputs))
    data["provenance"] = provenance()
    write_json(data, args.output)
    print_table(data, sys.stdout)
    for i, pt in enumerate(data["points"]):
        alt = "; also " + ", ".join(a["file"] for a in pt["alternatives"]) if pt["alternatives"] else ""
        print(f"  A = {data['soc_scales'][i]:g}: from {pt['source']['file']} ({pt['source']['integration']}){alt}")
    if args.plot:
        sw.plot_sweep(data, args.plot)
        print(f"wrote {args.plot}")
    print(f"wrote {args.output}")
    return 0


def sweep_kwargs(args, system):
    from ..kmesh import parse_nk
    from ..refine import MAX_LEVEL, MAX_POINTS, REFINE_FACTOR
    kw = hall_kwargs(args, system)
    # --no-symmetry applies to the uniform-mesh passes (refine off/uniform) and the planes; --checkpoint
    # to the planes only (sweep.sweep refuses it with the mesh modes)
    kw["symmetry"] = not getattr(args, "no_symmetry", False)
    kw.pop("checkpoint", None)
    if getattr(args, "checkpoint", None):
        kw["checkpoint"] = args.checkpoint
    if args.keep_electron_count:
        if "mu" in kw or "filling" in kw:
            raise InputError("--keep-electron-count cannot be combined with --mu, --mu-shift or --filling")
        kw["keep_electron_count"] = True
    kw.update(
        component=args.component,
        refine=args.refine,
        refine_factor=REFINE_FACTOR if args.refine_factor is None else parse_float("--refine-factor", args.refine_factor, positive=True),
        max_level=MAX_LEVEL if args.max_level is None else int(parse_float("--max-level", args.max_level, nonneg=True)),
        max_points=MAX_POINTS if args.max_points is None else int(parse_float("--max-points", args.max_points, nonneg=True)),
        rtol=parse_float("--rtol", args.rtol, positive=True),
        atol=parse_float("--atol", args.atol, nonneg=True),
        nk_max=None if args.nk_max is None else parse_nk(args.nk_max),
        split_deltas=[parse_float("--split-deltas", x, positive=True) for x in parse_list("--split-deltas", args.split_deltas)],
    )
    planes = {}
    for flag, key, conv in (("--planes", "n_planes", int), ("--kz-rounds", "kz_rounds", int), ("--plane-grid", "grid", int),
                            ("--plane-levels", "levels", int), ("--plane-velocity", "velocity", float),
                            ("--plane-max-points", "max_points", int), ("--plane-flatness", "flatness", float)):
        text = getattr(args, flag[2:].replace("-", "_"))
        if text is not None:
            if args.refine != "planes":
                raise InputError(f"{flag} applies to --refine planes only")
            x = parse_float(flag, text, positive=key in ("n_planes", "grid", "velocity", "max_points", "kz_rounds"),
                            nonneg=True)
            if conv is int and x != int(x):
                raise InputError(f"{flag} must be a whole number, got {text}")
            planes[key] = conv(x)
    if args.refine == "planes":
        if planes.get("n_planes", 2) % 2:
            raise InputError(f"--planes must be even (the planes k_z and -k_z are paired), got {planes['n_planes']}")
        kw["planes"] = planes
    return kw


def run(args):
    from .. import sweep as sw
    system = load_from_args(args)
    scales = [parse_float("--soc-scales", x, positive=True) for x in parse_list("--soc-scales", args.soc_scales)]
    kw = sweep_kwargs(args, system)
    sw.parse_component(kw["component"])
    from .. import api
    from .common import mpi_runner
    runner, root = mpi_runner()
    kw.update(chunk_runner=runner, progress=kw.get("progress", True) and root)
    data = api.sweep(system, scales, **kw).to_dict()      # one code path with the Python API
    if args.degen_tol_scan:
        tols = [parse_float("--degen-tol-scan", x, positive=True) for x in parse_list("--degen-tol-scan", args.degen_tol_scan)]
        kw.pop("degen_tol", None)
        data["degen_tol_scan"] = sw.degen_tol_scan(system, scales, tols, **kw)
    if not root:
        return 0
    data["provenance"] = provenance()
    data["mpi_ranks"] = 1 if runner is None else runner.size
    write_json(data, args.output)
    print_table(data, sys.stdout)
    if args.plot:
        sw.plot_sweep(data, args.plot)
        print(f"wrote {args.plot}")
    print(f"wrote {args.output}")
    return 0


def print_table(d, file):
    c = d["component"]
    from ..sweep import integration_summary
    print(f"{d['system']}: sigma^{c[0]}_{c[1:]} in (hbar/e) S/cm against the SOI scale A "
          f"(refine={d['refine']}, {integration_summary(d)}, kT={d['kT']:g} eV, mu mode {d.get('mu_mode')})",
          file=file)
    cols = [(m, q) for m in d["methods"] for q in d["quantities"]]
    print(f"  {'A':>8}" + "".join(f"{(m[:4] + '/' + q[:4]):>18}" for m, q in cols), file=file)
    for i, a in enumerate(d["soc_scales"]):
        row = f"  {a:>8.4g}"
        for m, q in cols:
            mark = " " if d["converged"][m][q][i] else "*"
            row += f"{d['sigma'][m][q][i]:>17.4g}{mark}"
        print(row, file=file)
    row = f"  {'exponent':>8}"
    for m, q in cols:
        g = d["exponents"][m][q]["global"]
        row += f"{'n/a':>18}" if g["value"] is None else f"{g['value']:>12.3f}±{(g['stderr'] or 0):<5.3f}"
    print(row, file=file)
    row = f"  {'A<=0.1':>8}"
    for m, q in cols:
        g = d["exponents"][m][q]["small_A"]
        row += f"{'n/a':>18}" if g["value"] is None else f"{g['value']:>12.3f}±{(g['stderr'] or 0):<5.3f}"
    print(row, file=file)
    print(f"  {'error':>8}  (hbar/e) S/cm, per point and column:", file=file)
    for i, a in enumerate(d["soc_scales"]):
        row = f"  {a:>8.4g}"
        for m, q in cols:
            e = d["error_estimate"][m][q][i]
            row += f"{'-':>18}" if e is None else f"{e:>17.3g} "
        print(row, file=file)
    st = d.get("sqrt_term")
    if st:
        print(f"  Eq. (4) - conserved spin = a*A + b*sqrt(A) over A <= {st['max_scale']:g} ({st['n_points']} scales): "
              f"a = {st['a']:.4g} +- {st['stderr']['a']:.2g}, b = {st['b']:.4g} +- {st['stderr']['b']:.2g} (hbar/e) S/cm, "
              f"chi2 {st['chi2']:.3g} for {st['dof']} dof (b: the sqrt(A) part, e.g. an orbital triplet at a TRIM; it depends on degen_tol, docs/sweep.md)", file=file)
        alt = st.get("alternatives") or {}
        if alt:
            print("    same points, other forms (chi2 / dof): " + "; ".join(
                f"{form}: {v['chi2']:.3g} / {v['dof']}" for form, v in alt.items()), file=file)
    print("  * not converged (error estimate above rtol·|sigma|" +
          (", no check with --refine off)" if d["refine"] == "off" else ")"), file=file)
