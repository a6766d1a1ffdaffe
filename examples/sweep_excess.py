"""The Eq. (4) OHE of a sweep split into its A → 0 plateau and the part that grows with A.

    python examples/sweep_excess.py sweep.json [--method eq4] [--quantity orbital]

With a broadening Γ (``--degen-tol``) larger than the spin-orbit splittings λA, the groups of a
sweep at the smallest scale A0 are the spinless ones, and σ(A0) is the plateau C(Γ) the merged
orbital degeneracies leave. The paper's claim concerns what the spin-orbit coupling adds:
Δσ(A) = σ(A) − σ(A0). This prints Δσ per scale on every mesh the sweep used (the mesh error is
nearly the same at every A, so it cancels in Δσ: compare the meshes), the local exponents
d ln Δσ / d ln A, and Δσ/A² (constant where the λ² law holds). Nothing is fitted.
"""
import argparse
import json
import math


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sweep")
    p.add_argument("--method", default="eq4")
    p.add_argument("--quantity", default="orbital")
    a = p.parse_args()
    d = json.load(open(a.sweep))
    A = d["soc_scales"]
    m, q = a.method, a.quantity
    meshes = [h["nk"][0] for h in d["points"][0]["history"]]
    print(f"{d['system']}: {m} {q} sigma^{d['component'][0]}_{d['component'][1:]} minus its value at A0 = {A[0]:g}, "
          f"(hbar/e) S/cm; degen_tol (Gamma) = {d['degen_tol']:g} eV, kT = {d['kT']:g} eV")
    print("| A | " + " | ".join(f"Δσ ({n}³)" for n in meshes) + f" | Δσ/A² ({meshes[-1]}³) | local exponent ({meshes[-2]}³ / {meshes[-1]}³) |")
    print("|---|" + "---|" * (len(meshes) + 2))
    rows = []
    for i, s in enumerate(A):
        hist = {h["nk"][0]: h["sigma"][m][q] for h in d["points"][i]["history"]}
        base = {h["nk"][0]: h["sigma"][m][q] for h in d["points"][0]["history"]}
        rows.append((s, [hist[n] - base[n] if n in hist and n in base else None for n in meshes]))
    for j, (s, vals) in enumerate(rows):
        loc = ""
        if 1 < j:
            parts = []
            for k in (-2, -1):
                v0, v1 = rows[j - 1][1][k], vals[k]
                parts.append(f"{math.log(v1 / v0) / math.log(s / rows[j - 1][0]):.2f}"
                             if v0 and v1 and v0 > 0 and v1 > 0 else "n/a")
            loc = " / ".join(parts)
        last = vals[-1]
        print(f"| {s:g} | " + " | ".join("n/a" if v is None else f"{v:.1f}" for v in vals)
              + f" | {'' if j == 0 or last is None else f'{last / s**2:.4g}'} | {loc} |")
    print("plateau sigma(A0) on the meshes: " + ", ".join(
        f"{h['nk'][0]}³: {h['sigma'][m][q]:.1f}" for h in d["points"][0]["history"]))


if __name__ == "__main__":
    main()
