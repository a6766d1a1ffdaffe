"""Markdown tables of `wannorb sweep` results (used for docs/sweep.md).

    python examples/sweep_report.py sweep.json [more.json ...]

Prints, per file: σ per scale with the error estimate and the mesh used (a trailing * marks a
point that is not converged), the local exponents, the all-scales and small-A fits, and the
gap split at the smallest scale, the difference Eq. (4) − conserved per scale split by gap (an exact
Fermi-sea term, −Im Tr[(∂_i X_bp)(∂_k P_a) P_a] per group: wannorb/reference.py); for a file with a
degeneracy-tolerance scan, the exponents per Γ.
"""
import json
import sys


def fmt(v, e=None, ok=True):
    s = f"{v:.4g}"
    if e is not None:
        s += f" ± {e:.2g}"
    return s + ("" if ok else " *")


def expo(g):
    if g["value"] is None:
        return "n/a"
    s = f"{g['value']:.3f}"
    if g.get("stderr") is not None:
        s += f" ± {g['stderr']:.3f}"
    return s + (" (unconv.)" if g.get("uses_unconverged_points") else "")


def report(path):
    d = json.load(open(path))
    from wannorb.scaling import SMALL_A, global_exponent
    from wannorb.sweep import integration_summary
    for m in d["methods"]:            # files written before the small-A fit existed
        for q in d["quantities"]:
            e = d["exponents"][m][q]
            if "small_A" not in e:
                use = [a <= SMALL_A and c for a, c in zip(d["soc_scales"], d["converged"][m][q])]
                if sum(use) < 2:
                    use = [a <= SMALL_A for a in d["soc_scales"]]
                e["small_A"] = global_exponent(d["soc_scales"], d["sigma"][m][q], use=use)
    c = d["component"]
    print(f"### {d['system']} {d.get('params', {}) if d['system'] == 'pcubic' else ''}".rstrip())
    print(f"σ^{c[0]}_{c[1:]} in (ħ/e) S/cm; μ mode {d.get('mu_mode')}, kT = {d['kT']} eV, refine = {d['refine']}, "
          f"{integration_summary(d)}" + (f", wall time {d['wall_time_s']:.0f} s" if "wall_time_s" in d else "") + "\n")
    cols = [(m, q) for q in d["quantities"] for m in d["methods"]]
    print("| A | mesh | " + " | ".join(f"{m} {q}" for m, q in cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for i, a in enumerate(d["soc_scales"]):
        p = d["points"][i]
        kind = p["source"]["refine"] if "source" in p else d["refine"]     # a merged sweep: per point
        if kind == "planes":
            pp = p["planes"]
            mesh = (f"{2 * sum(pp['planes_per_round']) if pp['kz_time_reversal_folding'] else sum(pp['planes_per_round'])}"
                    f" planes, {pp['n_points_total'] / 1e6:.1f} M k-points")
            if "source" in p:
                mesh += f" ({p['source']['integration'].split(' at ')[-1]})"
            print(f"| {a:g} | {mesh} | " + " | ".join(
                fmt(d["sigma"][m][q][i], d["error_estimate"][m][q][i], d["converged"][m][q][i]) for m, q in cols) + " |")
            continue
        ref = sum(mm["n_refined_points"] for mm in p["meshes"])
        nk = "×".join(map(str, p["nk"])) if len(set(p["nk"])) > 1 else f"{p['nk'][0]}³"
        if kind == "adaptive":
            mesh = f"{nk}×2 + {ref} refined (level ≤ {max(mm['deepest_level'] for mm in p['meshes'])})"
        else:
            sym = p["meshes"][0].get("symmetry", {})
            mesh = f"{nk}×{len(p['meshes'])}" + (f" (irreducible, ÷{sym['reduction']:.0f})" if sym.get("used") else "")
        print(f"| {a:g} | {mesh} | " + " | ".join(
            fmt(d["sigma"][m][q][i], d["error_estimate"][m][q][i], d["converged"][m][q][i]) for m, q in cols) + " |")
    print("| local exponents | | " + " | ".join(
        ", ".join("–" if e is None else f"{e:.2f}" for e in d["exponents"][m][q]["local"]) for m, q in cols) + " |")
    print("| fit, all A | | " + " | ".join(expo(d["exponents"][m][q]["global"]) for m, q in cols) + " |")
    print("| fit, A ≤ 0.1 | | " + " | ".join(expo(d["exponents"][m][q]["small_A"]) for m, q in cols) + " |")
    print()
    p = d["points"][0]
    print(f"Gap split at A = {d['soc_scales'][0]:g} (part of σ from states whose gap to the nearest other group is < δ):\n")
    print("| δ (eV) | " + " | ".join(f"{m} {q}" for m, q in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for g in p["gap_split"]:
        print(f"| {g['delta_eV']:g} | " + " | ".join(f"{g['sigma_below'][m][q]:.4g}" for m, q in cols) + " |")
    print("| total | " + " | ".join(f"{d['sigma'][m][q][0]:.4g}" for m, q in cols) + " |")
    print()
    if {"eq4", "conserved"} <= set(d["methods"]) and all("gap_split" in p for p in d["points"]):
        deltas = [g["delta_eV"] for g in d["points"][0]["gap_split"]]
        print("Eq. (4) − conserved (the gradient term of the band-projected operator), split by the gap to the "
              "nearest other group, (ħ/e) S/cm:\n")
        print("| A | quantity | " + " | ".join(f"gap < {x:g} eV" for x in deltas) + " | all | ratio to conserved |")
        print("|---|---|" + "---|" * (len(deltas) + 2))
        for i, a in enumerate(d["soc_scales"]):
            for q in d["quantities"]:
                below = [g["sigma_below"]["eq4"][q] - g["sigma_below"]["conserved"][q] for g in d["points"][i]["gap_split"]]
                tot = d["sigma"]["eq4"][q][i] - d["sigma"]["conserved"][q][i]
                cons = d["sigma"]["conserved"][q][i]
                ratio = f"{tot / cons:.3g}" if cons else "–"
                print(f"| {a:g} | {q} | " + " | ".join(f"{b:.4g}" for b in below) + f" | {tot:.4g} | {ratio} |")
        print()
        two_term_fit(d)
    if "degen_tol_scan" in d:
        print("Degeneracy tolerance Γ as a broadening (exponent fits over all A; σ at the smallest and largest A):\n")
        print("| Γ (eV) | " + " | ".join(f"{m} {q}" for m, q in cols) + " |")
        print("|---|" + "---|" * len(cols))
        for s in d["degen_tol_scan"]:
            print(f"| {s['degen_tol']:g} | " + " | ".join(
                f"{expo(s['exponents'][m][q]['global'])}; {s['sigma'][m][q][0]:.4g} … {s['sigma'][m][q][-1]:.4g}"
                for m, q in cols) + " |")
        print()


def two_term_fit(d):
    """Print the sweep's ``sqrt_term`` (:func:`wannorb.scaling.sqrt_term_fit`; recomputed for files
    written before it existed)."""
    from wannorb.scaling import sqrt_term
    st = sqrt_term(d["methods"], d["quantities"], d["soc_scales"], d["sigma"], d["error_estimate"])
    if st is None:
        return
    print(f"Eq. (4) − conserved SHE = a·A + b·√A over A ≤ {st['max_scale']:g} ({st['n_points']} points, weights "
          f"1/error): a = {st['a']:.4g} ± {st['stderr']['a']:.2g}, b = {st['b']:.4g} ± {st['stderr']['b']:.2g} "
          f"(ħ/e) S/cm, χ² = {st['chi2']:.3g} for {st['dof']} degree(s) of freedom")
    for form, v in st["alternatives"].items():
        coef = ", ".join(f"{c:.4g} ± {e:.2g}" for c, e in zip(v["coefficients"], v["stderr"]))
        print(f"  the same points as {form}: {coef} (ħ/e) S/cm, χ² = {v['chi2']:.3g} for {v['dof']}")
    print()
    return st


if __name__ == "__main__":
    for f in sys.argv[1:]:
        report(f)
