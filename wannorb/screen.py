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
from .hall import METHODS, QUANTITIES

LIGHT_TRANSITION_METALS = ("Sc", "Ti", "V", "Cr", "Cu", "Zn", "Y", "Zr", "Nb", "Mo")
HEAVY_REFERENCE = ("Pt",)


def cache_folder():
    """Where pipeline builds are kept: $WANNORB_CACHE, else $XDG_CACHE_HOME/wannorb, else ~/.cache/wannorb."""
    if os.environ.get("WANNORB_CACHE"):
        return Path(os.environ["WANNORB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wannorb" / "materials"


def material_source(element, rebuild=False, builder=None):
    """(path, how) for an element: shipped data, a cached build, or a new build."""
    from .io.load import find_material
    if not rebuild:
        shipped = find_material(element)
        if shipped is not None:
            return shipped, "shipped data"
        cached = cache_folder() / element
        if (cached / "provenance.json").is_file():
            return cached, "cached pipeline build"
    target = cache_folder() / element
    build = builder or _pipeline_build
    build(element, target)
    return target, "built by the pipeline now"


def _pipeline_build(element, target):
    try:
        from workflows import pipeline
    except ImportError as exc:
        raise InputError(f"{element}: no shipped data and the first-principles pipeline is not importable "
                         f"({exc}); install with: pip install '.[dft]'") from None
    pipeline.make(element, Path(target))


def settings_hash(settings):
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def screen_element(element, settings, rebuild=False, builder=None, progress=False):
    """One row: σ^z_xy (three methods × spin/orbital) at E_F, an offset-mesh check, exponents."""
    from . import api
    t0 = time.time()
    path, how = material_source(element, rebuild=rebuild, builder=builder)
    system = api.load_system(str(path))
    prov = json.loads((Path(path) / "provenance.json").read_text())
    common = dict(kT=settings["kT"], nk=settings["nk"], methods=METHODS, quantities=QUANTITIES,
                  progress=progress)
    main = api.hall(system, **common)
    offset = api.hall(system, shift=(0.5, 0.5, 0.5), **common)
    sigma, spread = {}, {}
    for m in METHODS:
        sigma[m], spread[m] = {}, {}
        for q in QUANTITIES:
            a, b = main.component(m, q), offset.component(m, q)
            sigma[m][q] = a
            spread[m][q] = abs(a - b) / max(abs(a), abs(b), 1e-12)
    row = {
        "element": element,
        "status": "ok",
        "source": how,
        "path": str(path),
        "structure": prov.get("settings", {}).get("structure", prov.get("structure")),
        "E_F_eV": system.fermi_energy,
        "sigma_zxy": sigma,
        "sigma_zxy_offset_mesh": {m: {q: offset.component(m, q) for q in QUANTITIES} for m in METHODS},
        "mesh_relative_spread": spread,
        "min_group_gap_eV": main.diagnostics["min_group_gap"]["value"],
    }
    if settings.get("soc_scales"):
        row["exponents"] = _exponents(system, settings)
    row["wall_time_s"] = time.time() - t0
    return row


def _exponents(system, settings):
    """Global SOC exponents d ln|σ|/d ln A from the sweep module (plain mesh)."""
    from .sweep import sweep as run_sweep
    res = run_sweep(system, soc_scales=settings["soc_scales"], kT=settings["kT"], nk=settings["nk"],
                    refine="off", progress=False)
    data = res.to_dict() if hasattr(res, "to_dict") else res
    return data["exponents"]


def screen(elements, nk=32, kT=0.05, soc_scales=None, rebuild=False, rows_dir=None, builder=None,
           progress=True):
    """Rows for ``elements``, sorted by |σ_OHE(eq4)|; finished rows in ``rows_dir`` are reused."""
    from tqdm import tqdm
    settings = {"nk": int(nk), "kT": float(kT), "soc_scales": list(soc_scales or [])}
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
            row = screen_element(el, settings, rebuild=rebuild, builder=builder, progress=progress)
        except Exception as exc:   # one failing element must not stop the campaign
            row = {"element": el, "status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
        if row_file is not None and row["status"] == "ok":
            from .results import write_json
            write_json(row, row_file)
        rows.append(row)
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] != "ok"]
    ok.sort(key=lambda r: -abs(r["sigma_zxy"]["eq4"]["orbital"]))
    return {"settings": settings, "rows": ok + failed,
            "units": {"sigma_zxy": "(hbar/e) S/cm, sigma^z_xy at E_F",
                      "E_F_eV": "eV", "min_group_gap_eV": "eV", "wall_time_s": "s",
                      "mesh_relative_spread": "|sigma(Gamma-centred) - sigma(offset 1/2)| / max(|.|): "
                                              "a mesh-convergence estimate (dimensionless)"}}


CSV_COLUMNS = ["element", "status", "E_F_eV"] + [f"{m}_{q}_S_per_cm" for m in METHODS for q in QUANTITIES] \
    + [f"spread_{m}_{q}" for m in METHODS for q in QUANTITIES] + ["source", "reason"]


def write_csv(table, path):
    import csv
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for r in table["rows"]:
            vals = [r["element"], r["status"], r.get("E_F_eV")]
            for key in ("sigma_zxy", "mesh_relative_spread"):
                vals += [r.get(key, {}).get(m, {}).get(q) for m in METHODS for q in QUANTITIES]
            vals += [r.get("source"), r.get("reason", "")]
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
            ax.bar(x + (i - 1) * width, [r["sigma_zxy"][m][q] for r in rows], width, label=m)
        ax.set_xticks(x, [r["element"] for r in rows])
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel(f"{q} Hall σ^z_xy ((ħ/e) S/cm)")
        ax.set_title(f"{q} Hall conductivity at E_F (nk={table['settings']['nk']})")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
