"""Markdown tables of the shipped data (``python -m workflows.report``) for docs/data.md."""
from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"


def _f(x, fmt="{:.0f}"):
    return "–" if x is None else fmt.format(x)


def tables(elements=("Pt", "Cr", "Ti")) -> str:
    provs = {el: json.loads((DATA / el / "provenance.json").read_text())
             for el in elements if (DATA / el / "provenance.json").is_file()}
    lines = ["| element | Wannier mesh | N_W | n_el | E_F DFT (eV) | E_F Wannier no SOC (eV) | "
             "E_F Wannier+SOC (eV) | shift by SOC (meV) | E_F mesh |",
             "|---|---|---|---|---|---|---|---|---|"]
    for el, p in provs.items():
        d = p["E_F_details"]
        lines.append(f"| {el} | {'×'.join(map(str, p['settings']['wannier_mesh']))} | {len(p['orbitals'])} | "
                     f"{p['n_electrons']:g} | {p['E_F_dft_eV']:.4f} | {d['E_F_nosoc_eV']:.4f} | "
                     f"{p['E_F_eV']:.4f} | {1e3 * (p['E_F_eV'] - d['E_F_nosoc_eV']):+.0f} | "
                     f"{'×'.join(map(str, d['mesh']))} |")
    lines += ["", "| element | k-points (off mesh) | frozen window, no SOC | frozen window, SOC | "
              "E_F ± 1 eV, no SOC | E_F ± 1 eV, SOC | E_F ± 1 eV, SOC incl. mesh points |",
              "|---|---|---|---|---|---|---|"]
    for el, p in provs.items():
        b = p["band_check"]
        lines.append(f"| {el} | {b['n_kpoints']} ({b['n_off_mesh']}) | "
                     f"{_f(b['max_dev_meV_frozen_window_no_soc'])} | {_f(b['max_dev_meV_frozen_window_soc'])} | "
                     f"{_f(b['max_dev_meV_near_E_F_no_soc'])} | {_f(b['max_dev_meV_near_E_F_soc'])} | "
                     f"{_f(b['max_dev_meV_near_E_F_soc_incl_mesh_points'])} |")
    lines += ["", "| element | total spread (Å²) | per function (Å²), in basis order |", "|---|---|---|"]
    for el, p in provs.items():
        s = p["spread"]
        lines.append(f"| {el} | {s['total_A2']:.2f} | "
                     + ", ".join(f"{o['m']}:{v:.2f}" for o, v in zip(p["orbitals"], s["per_function_A2"]))
                     + " |")
    lines += ["", "| element | " + " | ".join(["ground state", "NSCF", "wannierise", "E_F", "band check",
                                               "SHC"]) + " |", "|---|---|---|---|---|---|---|"]
    for el, p in provs.items():
        t = p["timings_s"]
        lines.append(f"| {el} | " + " | ".join(_f(t.get(k)) + " s" for k in
                     ["ground_state_s", "nscf_s", "wannierise_s", "fermi_level_s", "band_check_s", "shc_s"])
                     + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(tables())
