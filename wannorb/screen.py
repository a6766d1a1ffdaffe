"""Screening of transition metals: σ^z_xy by the three routes at E_F, one row per element.

For each element: the shipped data (``data/<El>``) if present, else a build of the
first-principles pipeline (``workflows.pipeline``) cached under the user cache folder and reused
next time (``rebuild=True`` forces it). Each finished element is written to a row file beside
the output, so a rerun resumes; a failing element gets its reason in its row and does not stop
the others.
"""
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from .errors import InputError
from .hall import DEGEN_TOL_EV, METHODS, QUANTITIES

# a value counts as converged when the offset nk and 3/4·nk meshes agree to 5 % and no single
# k-point carries more than 5 % of it (Eq. (4) sums near spin-orbit-split crossings fail this)
CONVERGED_SPREAD = 0.05
CONVERGED_SHARE = 0.05

LIGHT_TRANSITION_METALS = ("Sc", "Ti", "V", "Cr", "Cu", "Zn", "Y", "Zr", "Nb", "Mo")
HEAVY_REFERENCE = ("Pt",)


def cache_folder():
    """Where pipeline builds are kept: $WANNORB_CACHE, else $XDG_CACHE_HOME/wannorb, else ~/.cache/wannorb."""
    if os.environ.get("WANNORB_CACHE"):
        return Path(os.environ["WANNORB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wannorb" / "materials"


def material_source(element, rebuild=False, builder=None, build=False):
    """(path, how) for an element: shipped data, a cached build, or a new build.

    ``build=True`` skips the shipped data (a campaign made from scratch with one recipe);
    ``rebuild=True`` also ignores the cache.
    """
    from .io.load import find_material
    if not rebuild:
        shipped = None if build else find_material(element)
        if shipped is not None:
            return shipped, "shipped data"
        cached = cache_folder() / element
        if (cached / "provenance.json").is_file():
            return cached, "cached pipeline build"
    target = cache_folder() / element
    (builder or _pipeline_build)(element, target)
    return target, "built by the pipeline now"


def _pipeline_build(element, target):
    try:
        from workflows import pipeline
    except ImportError as exc:
        raise InputError(f"{element}: no shipped data and the first-principles pipeline is not importable "
                         f"({exc}); install with: pip install '.[dft]'") from None
    pipeline.make(element, Path(target), tier="screen",
                  command=f"python -m workflows.pipeline {element} --tier screen --out {target}")


def settings_hash(settings):
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def check_mesh(nk):
    """The coarser offset mesh that checks the nk one: 3/4 of it (at least 4)."""
    return max(4, int(round(0.75 * nk)))


def _source_on_root(element, runner, **kw):
    """material_source on rank 0 only (one build, not one per rank); the others get its answer."""
    comm = getattr(runner, "comm", None)
    if comm is None:
        return material_source(element, **kw)
    answer = None
    if comm.Get_rank() == 0:
        try:
            answer = ("ok", material_source(element, **kw))
        except Exception as exc:  # noqa: BLE001 - re-raised on every rank below
            answer = ("error", f"{type(exc).__name__}: {exc}")
    answer = comm.bcast(answer, root=0)
    if answer[0] == "error":
        raise RuntimeError(answer[1])
    return answer[1]


def screen_element(element, settings, rebuild=False, builder=None, progress=False, build=False,
                   chunk_runner=None):
    """One row: σ^z_xy (three methods × spin/orbital) at E_F, an offset-mesh check, exponents.

    ``chunk_runner`` (e.g. :class:`wannorb.parallel.MPIChunkRunner`) spreads the k-mesh of each
    Hall run over MPI ranks; the data are then found or built on rank 0 alone.
    """
    from . import api
    t0 = time.time()
    path, how = _source_on_root(element, chunk_runner, rebuild=rebuild, builder=builder, build=build)
    t_data = time.time() - t0
    system = api.load_system(str(path))
    prov = json.loads((Path(path) / "provenance.json").read_text())
    common = dict(kT=settings["kT"], nk=settings["nk"], methods=METHODS, quantities=QUANTITIES,
                  degen_tol=settings.get("degen_tol", DEGEN_TOL_EV), progress=progress,
                  chunk_runner=chunk_runner)
    # offset meshes are the value and the check (they avoid the high-symmetry lines where
    # spin-orbit-split crossings sit; a Γ-centred mesh can land 1 meV from one, e.g. Pt's Σ line)
    main = api.hall(system, shift=(0.5, 0.5, 0.5), **common)
    check = api.hall(system, shift=(0.5, 0.5, 0.5), **dict(common, nk=check_mesh(settings["nk"])))
    sigma, spread, share, converged = {}, {}, {}, {}
    for m in METHODS:
        sigma[m], spread[m], share[m], converged[m] = {}, {}, {}, {}
        for q in QUANTITIES:
            a, b = main.component(m, q), check.component(m, q)
            sigma[m][q] = a
            spread[m][q] = abs(a - b) / max(abs(a), abs(b), 1e-12)
            share[m][q] = main.diagnostics["max_point_contribution"][m][q][0]["fraction_of_total"]
            converged[m][q] = bool(spread[m][q] <= CONVERGED_SPREAD and share[m][q] <= CONVERGED_SHARE)
    row = {
        "element": element,
        "status": "ok",
        "source": how,
        "path": str(path),
        "structure": prov.get("settings", {}).get("structure", prov.get("structure")),
        "E_F_eV": system.fermi_energy,
        "sigma_zxy": sigma,
        "sigma_zxy_check_mesh": {m: {q: check.component(m, q) for q in QUANTITIES} for m in METHODS},
        "check_mesh_nk": check_mesh(settings["nk"]),
        "mesh_relative_spread": spread,
        "largest_kpoint_share": share,
        "converged": converged,
        "min_group_gap_eV": main.diagnostics["min_group_gap"]["value"],
    }
    row.update(_data_quality(prov))
    if settings.get("soc_scales"):
        row["exponents"] = _exponents(system, settings)
    row["wall_time_s"] = time.time() - t0
    row["data_time_s"] = t_data
    return row


def _data_quality(prov):
    """What a reader needs to trust the row's data: tier, Wannier mesh, band check, symmetrisation,
    and the time the pipeline took (from the material's provenance.json)."""
    st = prov.get("settings", {})
    bc = prov.get("band_check", {})
    sym = prov.get("symmetrization") or {}
    return {
        "data_tier": st.get("tier", "full"),
        "wannier_mesh": st.get("wannier_mesh"),
        "num_wann": st.get("num_wann"),
        "band_check_meV": {"near_E_F": bc.get("max_dev_meV_near_E_F_no_soc"),
                           "frozen_window": bc.get("max_dev_meV_frozen_window_no_soc")},
        "symmetrization_band_change_meV": (sym.get("max_band_change_in_window_meV") or {}).get("E_F+-1eV"),
        "pipeline_time_s": float(sum(v for v in prov.get("timings_s", {}).values() if v is not None)),
    }


def _exponents(system, settings):
    """Global SOC exponents d ln|σ|/d ln A from the sweep module (plain mesh)."""
    from .sweep import sweep as run_sweep
    res = run_sweep(system, soc_scales=settings["soc_scales"], kT=settings["kT"], nk=settings["nk"],
                    refine="off", progress=False)
    data = res.to_dict() if hasattr(res, "to_dict") else res
    return data["exponents"]


def screen(elements, nk=32, kT=0.05, soc_scales=None, rebuild=False, rows_dir=None, builder=None,
           progress=True, degen_tol=DEGEN_TOL_EV, build=False, chunk_runner=None):
    """Rows for ``elements``, sorted by |σ_OHE(eq4)|; finished rows in ``rows_dir`` are reused.

    With an MPI ``chunk_runner`` every rank takes part in each Hall run and rank 0 alone builds
    data and writes row files (the SOC exponents, if asked, are computed by every rank).
    """
    is_root = getattr(chunk_runner, "is_root", True)
    progress = progress and is_root
    from tqdm import tqdm
    settings = {"nk": int(nk), "kT": float(kT), "degen_tol": float(degen_tol), "soc_scales": list(soc_scales or [])}
    if build:
        settings["build"] = True          # a different data source: its own row files
    tag = settings_hash(settings)
    rows = []
    bar = tqdm(elements, desc="elements", unit="element", disable=not progress)
    for el in bar:
        bar.set_postfix(element=el)
        row_file = None if rows_dir is None else Path(rows_dir) / f"{el}.{tag}.json"
        if row_file is not None and row_file.is_file() and not rebuild:
            rows.append(json.loads(row_file.read_text()))
            continue
        try:
            row = screen_element(el, settings, rebuild=rebuild, builder=builder, progress=progress,
                                 build=build, chunk_runner=chunk_runner)
        except Exception as exc:   # one failing element must not stop the campaign
            row = {"element": el, "status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
        if row_file is not None and row["status"] == "ok" and is_root:
            from .results import write_json
            write_json(row, row_file)
        rows.append(row)
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] != "ok"]
    ok.sort(key=lambda r: -abs(r["sigma_zxy"]["eq4"]["orbital"]))
    return {"settings": settings, "rows": ok + failed,
            "units": {"sigma_zxy": "(hbar/e) S/cm, sigma^z_xy at E_F on the offset (1/2,1/2,1/2) mesh",
                      "largest_kpoint_share": "largest single-k-point contribution / total (dimensionless)",
                      "degen_tol": "eV",
                      "E_F_eV": "eV", "min_group_gap_eV": "eV", "wall_time_s": "s",
                      "data_time_s": "s (finding or building the data)",
                      "pipeline_time_s": "s (the first-principles pipeline, from provenance timings_s)",
                      "band_check_meV": "meV, largest |E_Wannier - E_GPAW| on the band path (no SOC)",
                      "symmetrization_band_change_meV": "meV, largest band change within E_F +- 1 eV "
                                                        "from the time-reversal + inversion projection",
                      "mesh_relative_spread": "|sigma(offset nk) - sigma(offset 3/4 nk)| / max(|.|): "
                                              "a mesh-convergence estimate (dimensionless)"}}


CSV_COLUMNS = ["element", "status", "E_F_eV"] + [f"{m}_{q}_S_per_cm" for m in METHODS for q in QUANTITIES] \
    + [f"spread_{m}_{q}" for m in METHODS for q in QUANTITIES] \
    + ["band_error_near_E_F_meV", "pipeline_time_s", "source", "reason"]


def write_csv(table, path):
    import csv
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for r in table["rows"]:
            vals = [r["element"], r["status"], r.get("E_F_eV")]
            for key in ("sigma_zxy", "mesh_relative_spread"):
                vals += [r.get(key, {}).get(m, {}).get(q) for m in METHODS for q in QUANTITIES]
            vals += [(r.get("band_check_meV") or {}).get("near_E_F"), r.get("pipeline_time_s"),
                     r.get("source"), r.get("reason", "")]
            w.writerow(vals)


def plot(table, path):
    """Bar chart of σ^z_xy, Eq. (4) vs conventional (and conserved), orbital and spin, per element."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in table["rows"] if r["status"] == "ok"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    x = np.arange(len(rows))
    width = 0.27
    for ax, q in zip(axes, QUANTITIES):
        for i, m in enumerate(METHODS):
            bars = ax.bar(x + (i - 1) * width, [r["sigma_zxy"][m][q] for r in rows], width, label=m)
            for bar, r in zip(bars, rows):
                if not r["converged"][m][q]:       # drawn hatched and faint: not a result
                    bar.set_hatch("//")
                    bar.set_alpha(0.35)
        ax.set_yscale("symlog", linthresh=100)
        ax.set_xticks(x, [r["element"] for r in rows])
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel(f"{q} Hall σ^z_xy ((ħ/e) S/cm)")
        ax.set_title(f"{q} Hall σ at E_F (offset {table['settings']['nk']}³; hatched: not converged)", fontsize=9)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
