"""Plot a `wannorb sweep --degen-tol-scan` result: |σ| against A for each broadening Γ, and print
the scaling table of the part the SOI adds.

    python examples/sweep_gamma_plot.py sweep.json out.png [method] [quantity]

Hollow markers: points the sweep did not call converged. The table gives, per Γ, σ(A) ± its error
estimate and Δσ(A)·Γ²/A² with Δσ(A) = σ(A) − σ(A_min): constant across Γ and A when the SOI-added
part scales as (A/Γ)² (in (ħ/e) S/cm · eV²).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main(path, out, method="eq4", quantity="orbital"):
    d = json.load(open(path))
    A = np.array(d["soc_scales"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, q in zip(axes, (quantity, "spin" if quantity != "spin" else "orbital")):
        for i, s in enumerate(d["degen_tol_scan"]):
            v = np.abs(np.array(s["sigma"][method][q], float))
            c = np.array(s["converged"][method][q], bool)
            col = f"C{i}"
            ax.plot(A, v, "-", color=col, lw=1, alpha=0.6)
            ax.plot(A[c], v[c], "o", color=col, label=f"Γ = {s['degen_tol']:g} eV")
            ax.plot(A[~c], v[~c], "o", mfc="none", color=col)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("SOI scale A")
        ax.set_ylabel(f"|σ^{d['component'][0]}_{d['component'][1:]}| {method} {q} [(ħ/e) S/cm]")
        ax.set_title(f"{d['system']}: {method} {q} vs broadening Γ (hollow: not converged)", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(scaling_table(d, method, quantity))


def scaling_table(d, method="eq4", quantity="orbital"):
    """Markdown: per Γ, σ ± error (* not converged) and Δσ·Γ²/A² relative to the smallest A."""
    A = np.array(d["soc_scales"], float)
    head = "| Γ (eV) | " + " | ".join(f"A = {a:g}" for a in A) + " | Δσ·Γ²/A² (A > A_min) |"
    rows = [f"{d['system']}: {method} {quantity} σ^{d['component'][0]}_{d['component'][1:]} in (ħ/e) S/cm; Δσ·Γ²/A² in (ħ/e) S/cm·eV²",
            "", head, "|" + "---|" * (len(A) + 2)]
    for s in d["degen_tol_scan"]:
        g = float(s["degen_tol"])
        v = np.array(s["sigma"][method][quantity], float)
        e = np.array(s["error_estimate"][method][quantity], float)
        c = s["converged"][method][quantity]
        cells = [f"{x:.4g} ± {y:.2g}{'' if ok else '*'}" for x, y, ok in zip(v, e, c)]
        scaled = (v[1:] - v[0]) * g ** 2 / A[1:] ** 2
        rows.append(f"| {g:g} | " + " | ".join(cells) + " | " + ", ".join(f"{x:.2f}" for x in scaled) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    main(*sys.argv[1:])
