"""``wannorb screen ELEMENTS...``: σ^z_xy at E_F by Eq. (4), conventional and conserved, per element."""
from pathlib import Path

from ..errors import InputError
from ..results import write_json
from .common import mpi_runner, parse_float, parse_list


def register(sub):
    p = sub.add_parser("screen", help="screen transition metals: three routes x spin/orbital at E_F",
                       description=__doc__)
    p.add_argument("elements", nargs="+", metavar="ELEMENT",
                   help="element symbols (shipped data used where present, else built by the pipeline)")
    p.add_argument("--nk", default="32", help="k-mesh per direction (default 32)")
    p.add_argument("--kT", default="0.05", help="temperature, eV (default 0.05)")
    p.add_argument("--degen-tol", default="1e-05", metavar="TOL",
                   help="degeneracy tolerance (broadening), eV (default 1e-5)")
    p.add_argument("--soc-scales", metavar="A1,A2,...", help="also fit SOC exponents over these scales")
    p.add_argument("--rebuild", action="store_true", help="rebuild the data with the pipeline, ignore caches")
    p.add_argument("--build", action="store_true",
                   help="use pipeline builds (screen tier, cached and reused) even where data/ ships the "
                        "element: a campaign made from scratch with one recipe")
    p.add_argument("--output", required=True, metavar="screen.json")
    p.add_argument("--csv", metavar="screen.csv")
    p.add_argument("--plot", metavar="screen.png")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args):
    from ..screen import plot, screen, write_csv
    try:
        nk = int(args.nk)
    except ValueError:
        raise InputError(f"--nk must be a positive integer, got {args.nk!r}") from None
    if nk < 1:
        raise InputError(f"--nk must be a positive integer, got {args.nk!r}")
    kT = parse_float("--kT", args.kT, nonneg=True)
    scales = None
    if args.soc_scales:
        scales = [parse_float("--soc-scales", x, positive=True) for x in parse_list("--soc-scales", args.soc_scales)]
    rows_dir = Path(str(args.output) + ".rows")
    tol = parse_float("--degen-tol", args.degen_tol, positive=True)
    runner, root = mpi_runner()          # under mpiexec: every Hall run split over the ranks
    table = screen(args.elements, nk=nk, kT=kT, soc_scales=scales, rebuild=args.rebuild, rows_dir=rows_dir,
                   progress=not args.no_progress, degen_tol=tol, build=args.build, chunk_runner=runner)
    if not root:
        return 0 if all(r["status"] == "ok" for r in table["rows"]) else 1
    write_json(table, args.output)
    if args.csv:
        write_csv(table, args.csv)
    if args.plot:
        plot(table, args.plot)
    print(f"sigma^z_xy at E_F in (hbar/e) S/cm, offset nk={nk}^3 mesh, kT={kT:g} eV, degen_tol={tol:g} eV; "
          "sorted by |orbital eq4|; * = not converged (offset nk vs 3/4 nk mesh > 5 % or one k-point > 5 %); "
          "bands: largest Wannier-vs-DFT band error within E_F +- 1 eV of the data, meV")
    print(f"{'element':<8}{'E_F (eV)':>10}" + "".join(f"{m[:5] + ' ' + q[:4]:>13}" for m in ("eq4", "conventional", "conserved") for q in ("spin", "orbital"))
          + f"{'bands (meV)':>13}   status")
    for r in table["rows"]:
        if r["status"] != "ok":
            print(f"{r['element']:<8}{'':>10}" + " " * 78 + f"   failed: {r['reason']}")
            continue
        vals = "".join(f"{r['sigma_zxy'][m][q]:>12.1f}{' ' if r['converged'][m][q] else '*'}"
                       for m in ("eq4", "conventional", "conserved") for q in ("spin", "orbital"))
        band = (r.get("band_check_meV") or {}).get("near_E_F")
        band = f"{band:>13.0f}" if band is not None else f"{'?':>13}"
        print(f"{r['element']:<8}{r['E_F_eV']:>10.4f}{vals}{band}   ok ({r['source']})")
    print(f"wrote {args.output}" + (f", {args.csv}" if args.csv else "") + (f", {args.plot}" if args.plot else ""))
    return 0 if all(r["status"] == "ok" for r in table["rows"]) else 1
