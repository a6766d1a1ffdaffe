"""Arguments shared by the commands that compute Hall conductivities (hall, sweep, screen)."""
from ..errors import InputError
from ..validate import number
from ..hall import DEGEN_TOL_EV, METHODS, QUANTITIES
from ..kmesh import parse_nk, parse_shift


def add_system_arguments(p):
    p.add_argument("system", metavar="SYSTEM",
                   help="built-in model (pcubic), shipped material (Ti, Cr, Pt), a data folder, "
                        "a wannierberri save_npz folder or a Wannier90 *_tb.dat/*_hr.dat file")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="parameter of a built-in model, e.g. lambda=0.2 (eV); repeatable")
    p.add_argument("--orbitals", metavar="FILE",
                   help="JSON with an 'orbitals' list (e.g. a provenance.json) giving site, l, m, spin")


def add_hall_arguments(p, soc=True):
    if soc:
        p.add_argument("--soc-scale", default="1", metavar="A",
                       help="multiplier of the spin-orbit term only (default 1)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--mu", metavar="E[,E...]", help="absolute chemical potentials, eV")
    g.add_argument("--mu-shift", metavar="dE[,dE...]", help="chemical potentials relative to E_F of the data, eV")
    g.add_argument("--filling", metavar="N", help="electrons per cell; μ found at this filling and kT")
    p.add_argument("--kT", default="0.05", help="temperature, eV (0: step occupations; default 0.05)")
    p.add_argument("--nk", default="32", metavar="N|N1,N2,N3", help="k-mesh (default 32)")
    p.add_argument("--shift", default="0,0,0", metavar="s1,s2,s3",
                   help="mesh offset in fractions of the mesh spacing (default Γ-centred 0,0,0)")
    p.add_argument("--methods", default=",".join(METHODS), help=f"comma list from {','.join(METHODS)}")
    p.add_argument("--quantities", default=",".join(QUANTITIES), help=f"comma list from {','.join(QUANTITIES)}")
    p.add_argument("--degen-tol", default=str(DEGEN_TOL_EV), metavar="TOL",
                   help=f"degeneracy tolerance, eV (default {DEGEN_TOL_EV})")
    p.add_argument("--l-phase", choices=("centres", "none"), default="centres",
                   help="Bloch phases of the on-site L between functions of one site with different "
                        "Wannier centres: 'centres' (consistent with the Fourier convention, default) or 'none'")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-symmetry", action="store_true",
                   help="sum the full mesh (default: its irreducible points under the crystal symmetries "
                        "the model has, then symmetrise σ; see docs/performance.md)")
    p.add_argument("--checkpoint", metavar="DIR",
                   help="store every finished k-chunk in DIR; rerunning the same command resumes "
                        "(a run with other inputs is refused)")


def parse_float(name, text, positive=False, nonneg=False):
    return number(name, text, positive=positive, nonneg=nonneg)


def parse_list(name, text, allowed=None):
    items = [x.strip() for x in str(text).split(",") if x.strip()]
    if not items:
        raise InputError(f"{name} is empty")
    if allowed is not None:
        bad = [x for x in items if x not in allowed]
        if bad:
            raise InputError(f"{name}: unknown {bad}; choose from {', '.join(allowed)}")
    return items


def parse_params(items):
    out = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"--param must be NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = parse_float(f"--param {k}", v)
    return out


def load_from_args(args):
    from ..io.load import load_system
    return load_system(args.system, params=parse_params(args.param), orbitals=args.orbitals)


def hall_kwargs(args, system):
    """Keyword arguments of :func:`wannorb.api.hall` from parsed arguments."""
    kw = dict(
        kT=parse_float("--kT", args.kT, nonneg=True),
        nk=parse_nk(args.nk),
        shift=parse_shift(args.shift),
        methods=parse_list("--methods", args.methods, METHODS),
        quantities=parse_list("--quantities", args.quantities, QUANTITIES),
        degen_tol=parse_float("--degen-tol", args.degen_tol, positive=True),
        operator_phases=args.l_phase == "centres",
        progress=not args.no_progress,
    )
    if args.mu is not None:
        kw["mu"] = [parse_float("--mu", x) for x in parse_list("--mu", args.mu)]
    elif args.mu_shift is not None:
        if system.fermi_energy is None:
            raise InputError(f"--mu-shift needs a Fermi energy in the data; {system.name} has none (use --mu or --filling)")
        kw["mu"] = [system.fermi_energy + parse_float("--mu-shift", x) for x in parse_list("--mu-shift", args.mu_shift)]
    elif args.filling is not None:
        kw["filling"] = parse_float("--filling", args.filling, positive=True)
    elif system.fermi_energy is None:
        raise InputError(f"{system.name} has no Fermi energy in its data: give --mu E or --filling N")
    return kw


def engine_kwargs(args, *checkpoint_subdir):
    """``symmetry`` and ``checkpoint`` keyword arguments of :func:`wannorb.api.hall` from
    --no-symmetry / --checkpoint DIR. A command that makes several api.hall calls (a sweep) gives
    each its own ``checkpoint_subdir`` (e.g. "soc_0.5"): one folder holds one computation."""
    from ..checkpoint import subdir
    return {"symmetry": not getattr(args, "no_symmetry", False),
            "checkpoint": subdir(getattr(args, "checkpoint", None), *checkpoint_subdir)}


def mpi_runner():
    """(chunk_runner, is_root) for the commands that call api.hall: an MPI runner over COMM_WORLD
    when started by mpiexec/srun with several ranks, else (None, True). Only rank 0 writes
    files and shows progress."""
    from ..parallel import MPIChunkRunner, launcher_comm
    comm = launcher_comm()
    if comm is None:
        return None, True
    runner = MPIChunkRunner(comm)
    return runner, runner.is_root
