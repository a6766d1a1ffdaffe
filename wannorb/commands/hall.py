"""``wannorb hall SYSTEM ...``: σ^j_ik by Eq. (4), conventional and conserved; JSON + table."""
import sys

from ..results import write_json
from .common import (add_hall_arguments, add_system_arguments, engine_kwargs, hall_kwargs, load_from_args, mpi_runner,
                     parse_float)


def register(sub):
    p = sub.add_parser("hall", help="intrinsic spin/orbital Hall conductivity tensors (Eq. 4, conventional, conserved)",
                       description=__doc__)
    add_system_arguments(p)
    add_hall_arguments(p)
    p.add_argument("--output", required=True, metavar="OUT.json", help="JSON result file")
    p.set_defaults(func=run)


def run(args):
    from .. import api
    system = load_from_args(args)
    kw = hall_kwargs(args, system)
    runner, root = mpi_runner()
    kw["progress"] = kw["progress"] and root
    res = api.hall(system, soc_scale=parse_float("--soc-scale", args.soc_scale), chunk_runner=runner,
                   **engine_kwargs(args), **kw)
    if not root:
        return 0
    sym = res.extra.get("symmetry", {})
    if sym.get("requested") and not sym.get("used"):
        print(f"wannorb: symmetry not used ({sym.get('reason')}): full mesh of {res.diagnostics['n_kpoints']} points",
              file=sys.stderr)
    write_json(res.to_dict(), args.output)
    print_table(res, file=sys.stdout)
    print(f"wrote {args.output}")
    return 0


def print_table(res, file, component="zxy"):
    j, i, k = component
    print(f"{res.system}: sigma^{j}_{i}{k} in (hbar/e) S/cm  (nk={'x'.join(map(str, res.nk))}, "
          f"shift={','.join(f'{s:g}' for s in res.shift)}, kT={res.kT:g} eV, soc_scale={res.soc_scale:g})", file=file)
    for u, mu in enumerate(res.mu):
        print(f"  mu = {mu:.4f} eV", file=file)
        print(f"    {'method':<14}" + "".join(f"{q:>16}" for q in res.quantities), file=file)
        for m in res.methods:
            print(f"    {m:<14}" + "".join(f"{res.component(m, q, component, u):>16.2f}" for q in res.quantities),
                  file=file)
    gap = res.diagnostics["min_group_gap"]["value"]
    print(f"  smallest gap between groups met on the mesh: {gap:.3g} eV", file=file)
    split = res.diagnostics.get("kramers_splitting_eV", 0.0)
    if split > res.degen_tol:
        print(f"  WARNING: Kramers pairs of these data are split by up to {split:.3g} eV (> degen_tol "
              f"{res.degen_tol:g} eV): the Hamiltonian breaks time reversal or inversion, band groups are "
              "not Kramers pairs, and the eq4/conserved values are not meaningful", file=file)
