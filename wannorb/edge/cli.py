"""``wannorb edge``: kinetic vs hydrodynamic orbital edge accumulation of the R-T ribbon (issue 7).

    wannorb edge --kn 0.05 --output edge.json [--plot edge.png]
    wannorb edge --lambda-nm 7 --width-nm 140 --eps-f 1 --mass 1 --rho 40 --field 1e4 --output ti.json
"""
import json
import math

from ..errors import InputError
from .compare import edge_comparison
from .hydro import SLIP_PAPER_B


def register(sub):
    """Add the ``edge`` sub-command to an argparse subparsers object."""
    p = sub.add_parser("edge", help="orbital edge accumulation of the R-T ribbon: exact kinetic vs hydrodynamic",
                       description=__doc__.splitlines()[0])
    p.add_argument("--kn", type=float, help="Knudsen number lambda/W (or give --lambda-nm and --width-nm)")
    p.add_argument("--output", required=True, help="JSON file to write")
    p.add_argument("--plot", help="image file for the profiles (png, pdf, svg)")
    p.add_argument("--refine", type=int, default=2,
                   help="kinetic mesh refinement level, each level halves all cells (default 2)")
    p.add_argument("--angle-nodes", type=int, default=12,
                   help="Gauss nodes per graded angular interval used for Eq. (6) (default 12)")
    p.add_argument("--slip", type=float, default=SLIP_PAPER_B,
                   help="hydrodynamic slip coefficient c, d_n J = -(c/lambda) J (default 8/(3 pi), "
                        "the value behind the paper's B(Kn); the paper's text prints 4/(3 pi) = 0.4244)")
    phys = p.add_argument_group("physical units (all six to add a 'physical' section)")
    phys.add_argument("--eps-f", type=float, help="Fermi energy (eV)")
    phys.add_argument("--mass", type=float, help="effective mass (electron masses)")
    phys.add_argument("--lambda-nm", type=float, help="mean free path (nm)")
    phys.add_argument("--rho", type=float, help="resistivity (µΩ cm)")
    phys.add_argument("--field", type=float, help="electric field (V/m)")
    phys.add_argument("--width-nm", type=float, help="ribbon width W (nm)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _resolve_kn(args):
    for name in ("kn", "lambda_nm", "width_nm", "eps_f", "mass", "rho", "field"):
        v = getattr(args, name)
        if v is not None and not math.isfinite(v):
            raise InputError(f"--{name.replace('_', '-')} must be finite, got {v}")
    for name in ("lambda_nm", "width_nm"):
        v = getattr(args, name)
        if v is not None and v <= 0:
            raise InputError(f"--{name.replace('_', '-')} must be positive, got {v}")
    if args.lambda_nm is not None and args.width_nm is not None:
        kn = args.lambda_nm / args.width_nm
        if args.kn is not None and not math.isclose(args.kn, kn, rel_tol=1e-9):
            raise InputError(f"--kn {args.kn} contradicts --lambda-nm/--width-nm = {kn}")
        return kn
    if args.kn is None:
        raise InputError("give --kn, or both --lambda-nm and --width-nm")
    return args.kn


def run(args):
    """Solve, write the JSON (and the plot); return 0."""
    kn = _resolve_kn(args)
    result = edge_comparison(kn, refine=args.refine, slip=args.slip, angle_nodes=args.angle_nodes,
                             progress=not args.quiet)
    phys = (args.eps_f, args.mass, args.lambda_nm, args.rho, args.field, args.width_nm)
    if any(v is not None for v in phys[:2] + phys[3:5]):
        if any(v is None for v in phys):
            raise InputError("physical units need all of --eps-f --mass --lambda-nm --rho --field --width-nm")
        from .units import physical_profile

        result["physical"] = physical_profile(result, *phys)
    try:
        with open(args.output, "w") as fh:
            json.dump(result, fh, indent=1, allow_nan=False)
    except OSError as exc:
        raise InputError(f"cannot write {args.output}: {exc.strerror}") from None
    if args.plot:
        from .plot import plot_profiles

        try:
            plot_profiles(result, args.plot, title=f"R-T ribbon, Kn = {kn:g}")
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot write plot {args.plot}: {exc}") from None
    s = result["summary"]
    print(f"Kn={kn:g}: j_edge kinetic {s['j_edge_kinetic']:.6f} hydro {s['j_edge_hydro']:.6f}; "
          f"j_mean kinetic {s['j_mean_kinetic']:.6f} hydro {s['j_mean_hydro']:.6f}; "
          f"half-ribbon L^z kinetic {s['half_ribbon_accumulation_kinetic']:.6f} "
          f"hydro {s['half_ribbon_accumulation_hydro']:.6f}")
    return 0
