"""Compact storage of a saved ``SystemSOC``: H0(R) and V_soc(R) rounded to a binary quantum.

Why: the tails of the Wannier matrices (thousands of R-vectors with elements of 1e-6 eV and
less) carry 52-bit mantissas of noise that ``np.savez_compressed`` cannot shrink.  Rounding every
real and imaginary part to a multiple of q = 2^-30 eV (about 1 neV) leaves the layout, the keys and
the dtype (complex128) that ``SystemSOC.from_npz`` reads untouched and shrinks the files by ~2.7x.

What it costs, stated rigorously (Weyl's inequality, |Δε_n(k)| <= ||ΔH(k)||_2):

    ||ΔH(k)||_2 <= ||ΔH0(k)||_2 + alpha_soc * sum_c ||ΔV_c(k)||_2,
    ||ΔX(k)||_2 <= sqrt(r * c),  r, c = largest row / column sum of M = sum_R |ΔX(R)| (elementwise),

because |ΔX(k)_mn| <= M_mn for every k (Schur / Hölder bound).  :func:`quantize_system` records
that bound for alpha_soc = 1 and 2 (the largest scale the sweeps use) next to the eigenvalue change
it measures on random k-points, and E_F recomputed on the rounded model.

Rounding is odd (round(-x) = -round(x)) and elementwise, so every exact relation between
elements survives: H0(-R) = H0(R)^T, V_c(-R) = V_c(R)^dagger, real H0 and imaginary V_c
(time reversal), and equal elements of symmetry-related pairs stay equal.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from . import tb

QUANTUM_EV = 2.0 ** -30          # ~0.93 neV
FILES = {"H0": "_XX_R_Ham.npz", "V_soc": "_XX_R_dV_soc.npz"}


def quantize(X, q=QUANTUM_EV):
    """X rounded to multiples of q (eV), real and imaginary parts separately; same shape and dtype."""
    return (np.round(X.real / q) * q + 1j * (np.round(X.imag / q) * q)).astype(X.dtype)


def norm_bound(dX):
    """Upper bound (eV) on max_k ||sum_R exp(2 pi i k.R) dX(R)||_2 for dX (NR, N, N): see the module docstring."""
    M = np.abs(dX).sum(axis=0)
    return float(np.sqrt(M.sum(axis=1).max() * M.sum(axis=0).max()))


def eigenvalue_bound(dH0, dV, alpha_soc=1.0):
    """Bound (eV) on the change of any eigenvalue of the spinful H(k) for changes dH0 (NR,N,N), dV (NR,N,N,3)."""
    return norm_bound(dH0) + abs(alpha_soc) * sum(norm_bound(dV[..., c]) for c in range(3))


def quantize_system(sysdir, q=QUANTUM_EV, n_k=256, seed=0, n_electrons=None, ef_mesh=None) -> dict:
    """Round the saved H0(R) and V_soc(R) of ``sysdir`` (a ``SystemSOC.save_npz`` folder) in place.

    Parameters
    ----------
    sysdir : folder written by ``SystemSOC.save_npz`` (holds ``system_up/``)
    q : float, quantum in eV
    n_k : int, random k-points on which the eigenvalue change is measured (alpha_soc = 0, 1, 2)
    n_electrons, ef_mesh : if given, the T = 0 Fermi level (full SOC) before and after is recorded

    Returns a JSON-ready record: quantum, file sizes (bytes) before/after, the rigorous eigenvalue
    bounds and the measured largest eigenvalue change (eV), and E_F before/after when asked.
    Rounding an already rounded system changes nothing (the record then shows zero change).
    """
    up = Path(sysdir) / "system_up"
    paths = {k: up / f for k, f in FILES.items()}
    for p in paths.values():
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found: {sysdir} is not a SystemSOC.save_npz folder")
    iR, H0, V = tb.real_space_arrays(tb.load_system(sysdir))
    H0q, Vq = quantize(H0, q), quantize(V, q)
    k = np.random.default_rng(seed).random((n_k, 3))
    rec = dict(quantum_eV=q, rounding="round-half-even of Re and Im to multiples of quantum_eV",
               bytes_before={k_: os.path.getsize(p) for k_, p in paths.items()})
    dH0, dV = H0q - H0, Vq - V
    rec["max_element_change_eV"] = float(max(np.abs(dH0).max(), np.abs(dV).max()))
    rec["eigenvalue_bound_eV"] = {f"alpha_soc={a:g}": eigenvalue_bound(dH0, dV, a) for a in (1.0, 2.0)}
    rec["max_eigenvalue_change_eV"] = {
        f"alpha_soc={a:g}": float(np.abs(tb.eigenvalues(iR, H0q, Vq, k, a)
                                         - tb.eigenvalues(iR, H0, V, k, a)).max())
        for a in (0.0, 1.0, 2.0)}
    rec["n_random_k"] = n_k
    if n_electrons is not None:
        ef = [tb.fermi_level_T0(tb.eigenvalues(iR, h, v, tb.mesh(ef_mesh)), n_electrons)[0]
              for h, v in ((H0, V), (H0q, Vq))]
        rec["E_F_before_after_eV"] = ef
        rec["E_F_mesh"] = list(ef_mesh)
    np.savez_compressed(paths["H0"], H0q)
    np.savez_compressed(paths["V_soc"], Vq)
    rec["bytes_after"] = {k_: os.path.getsize(p) for k_, p in paths.items()}
    iR2, H2, V2 = tb.real_space_arrays(tb.load_system(sysdir))
    if not (np.array_equal(iR2, iR) and np.array_equal(H2, H0q) and np.array_equal(V2, Vq)):
        raise RuntimeError(f"{sysdir}: the rounded system does not read back identically")
    return rec


def main(argv=None):
    """``python -m workflows.compact data/Pt``: round a shipped data folder and record it in provenance.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", help="a data folder (system/ and provenance.json), e.g. data/Pt")
    ap.add_argument("--quantum", type=float, default=QUANTUM_EV, help="rounding quantum in eV (default 2^-30)")
    a = ap.parse_args(argv)
    folder = Path(a.folder)
    prov_path = folder / "provenance.json"
    try:
        if not (np.isfinite(a.quantum) and 0 < a.quantum <= 1e-6):
            raise ValueError(f"--quantum {a.quantum}: must be a positive number of eV, at most 1e-6")
        prov = json.loads(prov_path.read_text())
        rec = quantize_system(folder / "system", a.quantum, n_electrons=prov["n_electrons"],
                              ef_mesh=prov["E_F_details"].get("mesh", (24, 24, 24)))
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        sys.exit(f"error: {e}")
    rec["command"] = "python -m workflows.compact " + " ".join(argv if argv is not None else sys.argv[1:])
    prov["storage"] = rec
    prov_path.write_text(json.dumps(prov, indent=1) + "\n")
    b0, b1 = sum(rec["bytes_before"].values()), sum(rec["bytes_after"].values())
    print(f"{folder}: {b0 / 1e6:.2f} MB -> {b1 / 1e6:.2f} MB; eigenvalue bound "
          f"{rec['eigenvalue_bound_eV']['alpha_soc=1'] * 1e3:.4f} meV (alpha_soc=1), measured change "
          f"{rec['max_eigenvalue_change_eV']['alpha_soc=1'] * 1e3:.2e} meV on {rec['n_random_k']} random k")


if __name__ == "__main__":
    main()
