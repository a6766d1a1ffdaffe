"""Markdown tables of a `wannorb screen` run (docs/screen.md, README).

    python examples/screen_report.py screen.json [screen_gamma10.json ...]

One table per JSON: σ^z_xy at E_F by the three routes (spin, orbital) in (ħ/e) S/cm, starred where
the offset nk and 3/4·nk meshes differ by more than 5 % or one k-point carries more than 5 %;
then, from the first file, the data quality of every element (settings tier, Wannier mesh, band
check near E_F and in the frozen window, the band change of the time-reversal + inversion
projection) and the time the pipeline and the Hall runs took.
"""
import json
import sys

ROUTES = ("eq4", "conventional", "conserved")


def sigma_table(data):
    st = data["settings"]
    out = [f"σ^z_xy at E_F in (ħ/e) S/cm; offset {st['nk']}³ mesh checked against offset "
           f"{max(4, round(0.75 * st['nk']))}³, kT = {st['kT']} eV, degeneracy tolerance Γ = "
           f"{st['degen_tol'] * 1e3:g} meV; * = not converged\n",
           "| element | structure | E_F (eV) | SHE eq4 | SHE conv | SHE cons | OHE eq4 | OHE conv | OHE cons |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in data["rows"]:
        if r["status"] != "ok":
            out.append(f"| {r['element']} | failed: {r['reason']} |||||||")
            continue
        s = r.get("structure") or {}
        struct = s.get("crystal", "?") + (f" a={s['a']}" if s.get("a") else "") + (f" c={s['c']}" if s.get("c") else "")
        vals = [f"{r['sigma_zxy'][m][q]:.0f}{'' if r['converged'][m][q] else '*'}"
                for q in ("spin", "orbital") for m in ROUTES]
        out.append(f"| {r['element']} | {struct} | {r['E_F_eV']:.3f} | " + " | ".join(vals) + " |")
    return "\n".join(out)


def _f(x):
    return "–" if x is None else f"{x:.0f}"


def quality_table(data):
    out = ["| element | tier | Wannier mesh | N_W | band error near E_F / frozen window (meV) | "
           "PT projection: band change near E_F (meV) | pipeline (s) | Hall runs (s) |",
           "|---|---|---|---|---|---|---|---|"]
    total_pipe = total_hall = 0.0
    for r in sorted((r for r in data["rows"] if r["status"] == "ok"), key=lambda r: r["element"]):
        bc = r.get("band_check_meV") or {}
        mesh = "×".join(str(n) for n in r.get("wannier_mesh") or [])
        sym = r.get("symmetrization_band_change_meV")
        hall = r["wall_time_s"] - r.get("data_time_s", 0.0)
        total_pipe += r.get("pipeline_time_s") or 0.0
        total_hall += hall
        near, froz = bc.get("near_E_F"), bc.get("frozen_window")
        out.append(f"| {r['element']} | {r.get('data_tier')} | {mesh} | {r.get('num_wann')} | "
                   f"{_f(near)} / {_f(froz)} | " + ("–" if sym is None else f"{sym:.1f}")
                   + f" | {r.get('pipeline_time_s', 0):.0f} | {hall:.0f} |")
    out.append(f"| total | | | | | | {total_pipe:.0f} | {total_hall:.0f} |")
    return "\n".join(out)


def main(paths):
    tables = [json.load(open(p)) for p in paths]
    for t in tables:
        print(sigma_table(t) + "\n")
    print(quality_table(tables[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
