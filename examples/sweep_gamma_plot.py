"""Plot a `wannorb sweep --degen-tol-scan` result: |σ| against A for each broadening Γ.

    python examples/sweep_gamma_plot.py sweep.json out.png [method] [quantity]

Hollow markers: points the sweep did not call converged.
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


if __name__ == "__main__":
    main(*sys.argv[1:])
