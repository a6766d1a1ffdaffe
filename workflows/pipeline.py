"""First-principles Wannier data: ASE structure -> GPAW -> wannierberri SystemSOC -> data/<El>/.

Run ``python -m workflows.pipeline Pt --out data/Pt`` (add ``--coarse`` for a quick smoke run).
Every step is an importable function; GPAW, irrep and wannierberri are imported lazily.

Versions that work (Python 3.11): gpaw 26.7.0 (+ gpaw-data 1.2.1), wannierberri 26.10,
irrep 3.2.0 (3.3.0 has a Python-3.12-only f-string). GPAW 26 moved ``gpaw.atomrotations`` to
``gpaw.old.atomrotations``; irrep 3.2.0 still imports the old name, so
:func:`patch_gpaw_for_irrep` aliases it in ``sys.modules`` before irrep needs it.
All GPAW calculators here are the legacy ones (``legacy_gpaw=True``): irrep's and
wannierberri's GPAW readers use the legacy ``calc.wfs`` API.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from . import materials


IMAGE_DEFECT_MEV = 1.0  # uneven Wigner-Seitz images above this are re-split (workflows.repair)


def patch_gpaw_for_irrep():
    """Alias ``gpaw.atomrotations`` -> ``gpaw.old.atomrotations`` (moved in GPAW 26) for irrep 3.2."""
    if "gpaw.atomrotations" not in sys.modules:
        try:
            importlib.import_module("gpaw.atomrotations")
        except ImportError:
            sys.modules["gpaw.atomrotations"] = importlib.import_module("gpaw.old.atomrotations")


def _close_mod1_mask(items, item, tol):
    """Row mask of ``items`` (m, 3) equal to ``item`` modulo 1: irrep's ``all_close_mod1``
    (``np.allclose(round(d), d, atol=tol)`` with its default rtol 1e-5) applied to every row at once."""
    d = np.asarray(items, float).reshape(len(items), -1) - np.asarray(item, float).reshape(1, -1)
    return np.all(np.abs(np.round(d) - d) <= tol + 1e-5 * np.abs(d), axis=1)


def patch_irrep_unique_list():
    """Vectorise irrep 3.2's ``UniqueListMod1`` membership tests (same answers, numpy instead of a
    Python loop of ``np.allclose``).  Why: irrep's ``restore_full_grid``, which wannierberri calls
    to unfold the irreducible NSCF points, tests every image of every irreducible point against
    lists of the whole mesh one element at a time — O(N_irr · N_sym · N_k) Python calls, more than
    30 minutes for a 16³ bcc mesh on this machine (12³: a few minutes).  Checked against the
    original methods by ``tests/test_pipeline_patch.py``."""
    from irrep import utility
    cls = utility.UniqueListMod1
    if getattr(cls, "_wannorb_vectorised", False):
        return

    def __contains__(self, item):
        return len(self) > 0 and bool(_close_mod1_mask(list(self), item, self.tol).any())

    def index(self, value, start=0, stop=sys.maxsize):
        stop = min(stop, len(self))
        if start < stop:
            hit = np.flatnonzero(_close_mod1_mask(list(self)[start:stop], value, 1e-5))
            if len(hit):
                return start + int(hit[0])
        raise ValueError(f"{value} not in list")

    def append(self, item):
        self.last_try_append += 1
        if not self.__contains__(item):
            list.append(self, item)
            self.appended_indices.append(self.last_try_append)

    cls.__contains__, cls.index, cls.append = __contains__, index, append
    cls._wannorb_vectorised = True


def _gpaw():
    patch_gpaw_for_irrep()
    patch_irrep_unique_list()
    from gpaw import GPAW, PW, FermiDirac
    return GPAW, PW, FermiDirac


def ground_state(atoms, st: dict, workdir: Path) -> Path:
    """Self-consistent PBE plane-wave ground state; writes and returns ``workdir/gs.gpw``."""
    GPAW, PW, FermiDirac = _gpaw()
    kw = dict(mode=PW(st["ecut_eV"]), xc=st["xc"],
              kpts={"size": tuple(st["gs_kpts"]), "gamma": True},
              occupations=FermiDirac(st["width_eV"]), convergence=st["gs_convergence"],
              txt=str(workdir / "gs.txt"), legacy_gpaw=True)
    if st.get("gpts"):
        kw["gpts"] = tuple(st["gpts"])
    atoms = atoms.copy()
    atoms.calc = GPAW(**kw)
    atoms.get_potential_energy()
    path = workdir / "gs.gpw"
    atoms.calc.write(str(path))
    return path


def nscf_irreducible(gs_path: Path, st: dict, workdir: Path) -> Path:
    """Non-self-consistent run on the irreducible points of the Gamma-centred Wannier mesh.

    The irreducible points come from irrep's space group (the same one wannierberri's
    symmetrizer uses), ``SpaceGroup.from_gpaw(calc).get_irreducible_kpoints_grid(mesh)``.
    """
    GPAW, _, _ = _gpaw()
    from irrep.spacegroup import SpaceGroup
    calc = GPAW(str(gs_path), txt=None, legacy_gpaw=True)
    extra = {}
    if st.get("full_mesh"):           # every mesh point, no symmetry (for sitesym=False)
        from .tb import mesh
        kpts = mesh(st["wannier_mesh"])
        extra["symmetry"] = "off"
    else:
        with contextlib.redirect_stdout(io.StringIO()):
            kpts = SpaceGroup.from_gpaw(calc).get_irreducible_kpoints_grid(tuple(st["wannier_mesh"]))
    nscf = calc.fixed_density(kpts=kpts, nbands=st["nbands"], convergence=st["nscf_convergence"],
                              txt=str(workdir / "nscf.txt"), **extra)
    path = workdir / "nscf.gpw"
    nscf.write(str(path), mode="all")
    return path


def projections_for(calc, shell_major=True):
    """One s;p;d ``Projection`` per Wyckoff orbit of atoms; returns (ProjectionsSet, orbitals, axes).

    ``orbitals`` lists, in the order of the Wannier basis (shell-major: all s, then all p, then all
    d of an orbit of sites, site by site within a shell), dicts {site, l, m, spin=None};
    ``axes`` gives per atom the 3x3 local frame (rows x', y', z' in Cartesian coordinates) in
    which that atom's real orbitals are defined (wannierberri ``Projection.basis_list``).
    """
    from irrep.spacegroup import SpaceGroup
    from wannierberri.symmetry.orbitals import orbitals_sets_dic
    from wannierberri.symmetry.projections import Projection, ProjectionsSet
    with contextlib.redirect_stdout(io.StringIO()):
        sg = SpaceGroup.from_gpaw(calc)
    scaled = calc.atoms.get_scaled_positions()
    done = np.zeros(len(scaled), bool)
    projs, orbitals, axes = [], [], [None] * len(scaled)
    shells = ["s", "p", "d"]
    for a in range(len(scaled)):
        if done[a]:
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            p = Projection(position_num=[scaled[a]], orbital=";".join(shells), spacegroup=sg)
        projs.append(p)
        sites = []
        for pos, basis in zip(p.positions, p.basis_list):
            d = (scaled - pos + 0.5) % 1.0 - 0.5
            site = int(np.argmin(np.linalg.norm(d @ calc.atoms.cell, axis=1)))
            assert np.linalg.norm(d[site] @ calc.atoms.cell) < 1e-5, "projection not on an atom"
            done[site] = True
            axes[site] = np.asarray(basis, float).tolist()
            sites.append(site)
        # With a symmetrizer (sitesym) wannierberri splits a multi-shell Projection into one
        # block per shell (ProjectionsSet.split_orbitals): shell-major, then site, then m.
        # Without it the AMN keeps the Projection's own order: site-major, then shell, then m.
        pairs = ([(sh, site) for sh in shells for site in sites] if shell_major
                 else [(sh, site) for site in sites for sh in shells])
        for sh, site in pairs:
            for m in orbitals_sets_dic[sh]:
                orbitals.append({"site": site, "l": shells.index(sh), "m": m, "spin": None})
    return ProjectionsSet(projs), orbitals, axes


def wannier_system(nscf_path: Path, st: dict, workdir: Path, E_F_dft: float):
    """Disentangle + maximally localise (site symmetry) and build the ``SystemSOC``.

    Returns (system, info) with info = {orbitals, site_local_axes, spreads_A2, centres_A}.
    """
    GPAW, _, _ = _gpaw()
    import wannierberri as wb
    calc = GPAW(str(nscf_path), txt=None, legacy_gpaw=True)
    projset, orbitals, axes = projections_for(calc, shell_major=st["sitesym"])
    lo, hi = st["froz_window_eV"]
    olo, ohi = st["outer_window_eV"]
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        files = ["mmn", "eig", "amn", "soc"] + (["symmetrizer"] if st["sitesym"] else [])
        wandata = wb.WannierDataSOC.from_gpaw(calc, projections=projset, files=files,
                                              seedname=str(workdir / "wannier"),
                                              IBstart=st["ibstart"], mp_grid=tuple(st["wannier_mesh"]))
        wandata.wannierise(froz_min=E_F_dft + lo, froz_max=E_F_dft + hi,
                           outer_min=E_F_dft + olo, outer_max=E_F_dft + ohi,
                           num_iter=st["num_iter"], sitesym=st["sitesym"], print_progress_every=50,
                           localise=st.get("localise", True))
        system = wb.SystemSOC.from_wannierdata(wandata, berry=False, symmetrize=st["sitesym"])
    (workdir / "wannierise.log").write_text(log.getvalue())
    chk = wandata.data_up.chk
    info = dict(orbitals=orbitals, site_local_axes=axes,
                spreads_A2=np.asarray(chk.wannier_spreads, float),
                centres_A=np.asarray(system.system_up.wannier_centers_cart, float))
    return system, info


def _info_from_saved(nscf_path: Path, sysdir: Path, chk_path: Path, shell_major: bool) -> dict:
    """The ``info`` of :func:`wannier_system` for a system already saved (``--resume``)."""
    GPAW, _, _ = _gpaw()
    from .tb import load_system
    _, orbitals, axes = projections_for(GPAW(str(nscf_path), txt=None, legacy_gpaw=True), shell_major)
    chk = np.load(chk_path)
    system = load_system(sysdir)
    return dict(orbitals=orbitals, site_local_axes=axes,
                spreads_A2=np.asarray(chk["wannier_spreads"], float),
                centres_A=np.asarray(system.system_up.wannier_centers_cart, float))


def versions() -> dict:
    out = {"python": platform.python_version()}
    for mod in ["gpaw", "ase", "wannierberri", "spglib", "numpy", "irrep", "scipy"]:
        try:
            out[mod] = importlib.import_module(mod).__version__
        except Exception:  # noqa: BLE001 - a missing optional module is recorded, not fatal
            out[mod] = None
    try:
        from importlib.metadata import version
        out["gpaw-data"] = version("gpaw-data")
    except Exception:  # noqa: BLE001
        out["gpaw-data"] = None
    return out


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def make(element: str, out: Path, coarse: bool = False, workdir: Path | None = None,
         atoms=None, command: str | None = None, shc: bool = False, resume: bool = False,
         tier: str = "full", dft_only: bool = False, overrides: dict | None = None) -> dict:
    """The whole pipeline for one element; writes ``out/system/``, ``out/provenance.json`` and
    ``out/bands.png`` and returns the provenance dict.  ``atoms`` overrides the shipped structure
    (any ASE ``Atoms``; then ``element`` is just the label).  ``resume`` reuses ``gs.gpw`` and
    ``nscf.gpw`` already in ``workdir`` (same settings assumed).  ``tier`` picks the settings
    (``workflows.materials.settings_for``); ``dft_only`` stops after the NSCF run (the GPAW part,
    e.g. on a cluster; finish later with ``resume``) and returns the timings.  ``overrides``
    updates the settings (recorded in the provenance like every other setting)."""
    from . import checks
    out = Path(out)
    workdir = Path(workdir) if workdir else out.parent / f".work-{out.name}"
    workdir.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    st = materials.settings_for(element, coarse=coarse, tier=tier)
    st.update(overrides or {})
    if st["nbands"] is None or st["ibstart"] is None:
        raise ValueError(f"no settings for {element}: add them to workflows/materials.py")
    if atoms is None:
        atoms = materials.structure(element)
    timings = {}
    t = time.time()
    gs = workdir / "gs.gpw"
    if not (resume and gs.is_file()):
        gs = ground_state(atoms, st, workdir)
    timings["ground_state_s"] = time.time() - t
    GPAW, _, _ = _gpaw()
    E_F_dft = GPAW(str(gs), txt=None, legacy_gpaw=True).get_fermi_level()
    t = time.time()
    nscf = workdir / "nscf.gpw"
    if not (resume and nscf.is_file()):
        nscf = nscf_irreducible(gs, st, workdir)
    timings["nscf_s"] = time.time() - t
    if not resume or min(timings.values()) >= 1.0:      # the GPAW runs happened in this call
        (workdir / "timings_dft.json").write_text(json.dumps(timings) + "\n")
    if dft_only:
        return dict(element=element, E_F_dft_eV=E_F_dft, timings_s=timings, workdir=str(workdir))
    if resume and (workdir / "timings_dft.json").is_file():
        timings.update({k: v for k, v in json.loads((workdir / "timings_dft.json").read_text()).items()
                        if timings.get(k, 0.0) < 1.0})     # keep the time the DFT really took
    t = time.time()
    sysdir = out / "system"
    chk = workdir / "wannier-spin-0.chk.npz"
    if resume and sysdir.is_dir() and chk.is_file():
        info = _info_from_saved(nscf, sysdir, chk, shell_major=st["sitesym"])
    else:
        system, info = wannier_system(nscf, st, workdir, E_F_dft)
        with contextlib.redirect_stdout(io.StringIO()):
            system.save_npz(str(sysdir))
        timings["wannierise_s"] = time.time() - t
    from . import repair
    from .tb import load_system
    images = checks.cancelling_images(load_system(sysdir), st["wannier_mesh"])
    if images["max_uncancelled_image_meV"] > IMAGE_DEFECT_MEV:
        images = repair.redistribute_images(sysdir, st["wannier_mesh"])
        info["centres_A"] = np.asarray(load_system(sysdir).system_up.wannier_centers_cart, float)
    symmetrization = None
    if st.get("symmetrize_crystal") or st.get("symmetrize_pt"):
        from . import symmetrize
        project = symmetrize.symmetrize_crystal if st.get("symmetrize_crystal") else symmetrize.symmetrize_pt
        symmetrization = project(
            sysdir, info["orbitals"], info["site_local_axes"], np.asarray(atoms.cell),
            atoms.get_scaled_positions(), atoms.numbers,
            windows={"E_F+-1eV": (E_F_dft - 1.0, E_F_dft + 1.0),
                     "frozen": (E_F_dft + st["froz_window_eV"][0], E_F_dft + st["froz_window_eV"][1])})
        info["centres_A"] = np.asarray(load_system(sysdir).system_up.wannier_centers_cart, float)
    from . import compact
    storage = compact.quantize_system(sysdir)   # E_F, band check and SHC below see the stored model
    storage["command"] = "part of workflows.pipeline (workflows/compact.py)"
    t = time.time()
    calc_gs = GPAW(str(gs), txt=None, legacy_gpaw=True)
    Z = calc_gs.get_number_of_electrons()
    n_el = Z - 2 * st["ibstart"]
    loaded = load_system(sysdir)
    ef = checks.fermi_levels(loaded, n_el, st["ef_mesh"])
    timings["fermi_level_s"] = time.time() - t
    t = time.time()
    bc, bands = checks.band_check(loaded, gs, st, E_F_dft, workdir)
    timings["band_check_s"] = time.time() - t
    checks.plot_bands(bands, out / "bands.png", title=f"{element}: GPAW vs Wannier", E_F=E_F_dft)
    prov = dict(
        element=element,
        E_F_eV=ef["E_F_soc_eV"],
        E_F_dft_eV=E_F_dft,
        n_electrons=n_el,
        E_F_details=dict(ef, note=(
            "E_F_eV: zero-temperature Fermi level of the Wannier model with full SOC (alpha_soc=1) "
            f"holding n_electrons per cell, on a Gamma-centred {tuple(st['ef_mesh'])} mesh "
            "(midpoint between highest occupied and lowest empty state). E_F_dft_eV: GPAW ground "
            "state, scalar-relativistic, Fermi-Dirac 0.1 eV.")),
        lattice=np.asarray(atoms.cell),
        lattice_units="Angstrom, rows are lattice vectors",
        positions=atoms.get_scaled_positions(),
        positions_kind="fractional",
        species=atoms.get_chemical_symbols(),
        orbitals=info["orbitals"],
        basis_convention=(
            "system_up (H0 and V_soc) has N = len(orbitals) functions in the order of 'orbitals'. "
            "SystemSOC doubles them with spin fastest: full index 2*n + s, s=0 up, s=1 down "
            "(sigma_z basis), H[2m+s,2n+t] = H0[m,n] d_st + alpha_soc sum_c V_c[m,n] sigma_c[s,t]; "
            "'spin' is null because spin is this doubling."),
        site_local_axes=info["site_local_axes"],
        ws_images=images,
        symmetrization=symmetrization,
        storage=storage,
        settings=dict(st, structure=materials.STRUCTURES.get(element), coarse=coarse,
                      semicore_bands_skipped=st["ibstart"], num_wann=len(info["orbitals"]),
                      gpaw_route="legacy_gpaw=True for ground state, NSCF and reading",
                      wannierberri="WannierDataSOC.from_gpaw(projections, IBstart, mp_grid); "
                                   "wannierise(froz/outer windows, sitesym); "
                                   + ("SystemSOC.from_wannierdata(berry=False) (symmetrised R-space)"
                                      if st["sitesym"] else
                                      "SystemSOC.from_wannierdata(berry=False, symmetrize=False), then "
                                      "workflows.symmetrize (time reversal + space group)"
                                      if st.get("symmetrize_crystal") else
                                      "SystemSOC.from_wannierdata(berry=False, symmetrize=False), then "
                                      "workflows.symmetrize (time reversal + inversion)"
                                      if st.get("symmetrize_pt") else
                                      "SystemSOC.from_wannierdata(berry=False, symmetrize=False)")),
        versions=versions(),
        band_check=bc,
        spread=dict(total_A2=float(info["spreads_A2"].sum()), per_function_A2=info["spreads_A2"],
                    centres_A=info["centres_A"]),
        timings_s=timings,
        command=command or f"python -m workflows.pipeline {element} --out {out}"
                           + (" --coarse" if coarse else ""),
    )
    (out / "provenance.json").write_text(json.dumps(_jsonable(prov), indent=1) + "\n")
    if shc:
        t = time.time()
        prov["shc_check"] = checks.spin_hall_check(loaded, [E_F_dft, ef["E_F_soc_eV"]])
        timings["shc_s"] = time.time() - t
        (out / "provenance.json").write_text(json.dumps(_jsonable(prov), indent=1) + "\n")
    return prov


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("element", help="an element of workflows/materials.py STRUCTURES (Pt, Cr, Ti, "
                                    "Sc, V, Cu, Zn, Y, Zr, Nb, Mo)")
    ap.add_argument("--out", required=True, help="output folder, e.g. data/Pt")
    ap.add_argument("--coarse", action="store_true", help="quick smoke-test settings")
    ap.add_argument("--workdir", default=None, help="scratch folder for .gpw files (default: beside out)")
    ap.add_argument("--shc", action="store_true", help="also compute wannierberri's SHC (48^3)")
    ap.add_argument("--resume", action="store_true", help="reuse gs.gpw / nscf.gpw found in --workdir")
    ap.add_argument("--tier", default="full", choices=["full", "screen"],
                    help="settings tier of workflows/materials.py (screen: the lighter campaign recipe)")
    ap.add_argument("--dft-only", action="store_true", help="stop after the GPAW runs (finish with --resume)")
    args = ap.parse_args(argv)
    cmd = "python -m workflows.pipeline " + " ".join(sys.argv[1:] if argv is None else argv)
    t0 = time.time()
    prov = make(args.element, Path(args.out), coarse=args.coarse, workdir=args.workdir,
                command=cmd, shc=args.shc, resume=args.resume, tier=args.tier, dft_only=args.dft_only)
    if args.dft_only:
        print(json.dumps(_jsonable(prov), indent=1))
        return
    print(json.dumps(_jsonable({k: prov[k] for k in ["element", "E_F_eV", "E_F_dft_eV", "n_electrons",
                                                     "band_check", "timings_s"]}), indent=1))
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
