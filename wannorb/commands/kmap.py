"""``wannorb kmap SYSTEM ...``: k-resolved Hall integrands along a high-symmetry path (ASE) and on a
plane, with the orbital degeneracies of the spinless Hamiltonian; JSON + optional plot."""
import sys

import numpy as np

from ..errors import InputError
from ..results import provenance, write_json
from .common import add_hall_arguments, add_system_arguments, hall_kwargs, load_from_args, parse_float


def register(sub):
    p = sub.add_parser("kmap", help="k-resolved Hall integrands on a band path and a plane (diagnostics)",
                       description=__doc__)
    add_system_arguments(p)
    add_hall_arguments(p)
    p.add_argument("--component", default="zxy", metavar="JIK", help="sigma^j_ik letters (default zxy)")
    p.add_argument("--path", default=None, help="ASE band path string, e.g. GXMGRX (default: ASE's for the lattice)")
    p.add_argument("--npath", default="300", help="points along the path (default 300)")
    p.add_argument("--plane", default="k3=0", metavar="kA=OFFSET",
                   help="plane of reduced coordinate A (1, 2, 3) fixed at OFFSET; 'none' to skip (default k3=0)")
    p.add_argument("--nplane", default="60", help="points per side of the plane (default 60)")
    p.add_argument("--output", required=True, metavar="OUT.json")
    p.add_argument("--plot", metavar="PNG")
    p.set_defaults(func=run)


def run(args):
    from .. import kmap as km
    from ..hall import eigenvalues_on_mesh, mu_for_filling
    from ..kmesh import UniformMesh
    system = load_from_args(args)
    kw = hall_kwargs(args, system)
    A = parse_float("--soc-scale", args.soc_scale)
    if "filling" in kw:
        mu = float(mu_for_filling(eigenvalues_on_mesh(system, UniformMesh(kw["nk"], kw["shift"]), A),
                                  kw["filling"], kw["kT"]))
    elif "mu" in kw:
        mu = kw["mu"][0]
    else:
        mu = float(system.fermi_energy)
    npath = int(parse_float("--npath", args.npath, positive=True))
    k, x, X, labels = km.bandpath(system, args.path, npath)
    common = dict(soc_scale=A, mu=mu, kT=kw["kT"], component=args.component, methods=kw["methods"],
                  quantities=kw["quantities"], degen_tol=kw["degen_tol"], operator_phases=kw["operator_phases"])
    res = km.integrand_map(system, k, **common)
    data = {"system": system.name, "params": dict(system.params), "soc_scale": A, "mu": mu, "kT": kw["kT"],
            "component": args.component, "methods": list(kw["methods"]), "quantities": list(kw["quantities"]),
            "degen_tol": kw["degen_tol"],
            "path": {"k_red": k, "x": x, "special_x": X, "labels": labels, **res,
                     "spinless_degenerate_points": np.nonzero(res["spinless_max_group"] > 2)[0]}}
    if args.plane.lower() != "none":
        try:
            name, off = args.plane.split("=")
            axis = int(name.strip().lower().lstrip("k")) - 1
            assert axis in (0, 1, 2)
        except (ValueError, AssertionError):
            raise InputError(f"--plane must look like k3=0 (A in 1, 2, 3), got {args.plane!r}") from None
        n = int(parse_float("--nplane", args.nplane, positive=True))
        kp = km.plane_points(axis, parse_float("--plane offset", off), n)
        pres = km.integrand_map(system, kp, **common)
        data["plane"] = {"axis": axis, "offset": float(off), "n": n, "k_red": kp, **pres,
                         "fraction_spinless_degenerate": float((pres["spinless_max_group"] > 2).mean())}
    data["units"] = km.KMAP_UNITS
    data["provenance"] = provenance()
    write_json(data, args.output)
    nd = int((res["spinless_max_group"] > 2).sum())
    print(f"{system.name}: {len(k)} path points, {nd} with orbital degeneracy of H0 (group > 2); "
          f"largest |integrand| on the path:", file=sys.stdout)
    for m in kw["methods"]:
        for q in kw["quantities"]:
            v = np.abs(res["integrand"][m][q])
            print(f"  {m:<13}{q:<8} {v.max():.4g} Å²ħ at x = {x[v.argmax()]:.3f}", file=sys.stdout)
    if args.plot:
        km.plot_kmap(data, args.plot)
        print(f"wrote {args.plot}")
    print(f"wrote {args.output}")
    return 0
