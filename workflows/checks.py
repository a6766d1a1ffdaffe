"""Checks of a Wannier system against GPAW: band check, Fermi levels, plot, spin Hall check."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from . import tb

NEAR_EF_EV = 1.0        # half-width of the "near E_F" window of the band check
PATH_EIGENSTATES_TOL = 1e-6  # GPAW residual (eV^2/electron) on the band path: eigenvalues to << 1 meV
PATH_EXTRA_BANDS = 8  # DFT bands on the path beyond the Wannier manifold (GPAW's SOC couples to them)
ON_MESH_TOL = 1e-6      # |k*mesh - round(k*mesh)| below this: k is a Wannier-mesh point


def fermi_levels(system, n_electrons: float, ef_mesh) -> dict:
    """T = 0 Fermi levels of the Wannier model with (alpha_soc=1) and without SOC on ``ef_mesh``."""
    iR, H0, V = tb.real_space_arrays(system)
    k = tb.mesh(ef_mesh)
    ef_soc, gap_soc = tb.fermi_level_T0(tb.eigenvalues(iR, H0, V, k, alpha_soc=1.0), n_electrons)
    ef_0, gap_0 = tb.fermi_level_T0(tb.eigenvalues(iR, H0, V, k, alpha_soc=0.0), n_electrons)
    return dict(E_F_soc_eV=ef_soc, E_F_nosoc_eV=ef_0, mesh=list(ef_mesh), temperature_K=0.0,
                occupied_empty_gap_soc_eV=gap_soc, occupied_empty_gap_nosoc_eV=gap_0)


def _dft_path(gs_path, st, workdir, nbands):
    """GPAW eigenvalues along ASE's default band path: without SOC and with GPAW's own SOC."""
    from .pipeline import _gpaw
    from gpaw.spinorbit import soc_eigenstates
    GPAW, _, _ = _gpaw()
    gs = GPAW(str(gs_path), txt=None, legacy_gpaw=True)
    path = gs.atoms.cell.bandpath(npoints=st["band_check_points"])
    conv = dict(st["nscf_convergence"], eigenstates=PATH_EIGENSTATES_TOL)
    calc = gs.fixed_density(kpts=path.kpts, symmetry="off", nbands=nbands,
                            convergence=conv, txt=str(Path(workdir) / "path.txt"))
    e0 = np.array([calc.get_eigenvalues(kpt=i) for i in range(len(path.kpts))])
    esoc = soc_eigenstates(calc).eigenvalues()
    return path, e0, np.asarray(esoc)


def _max_dev(e_ref, e_w, lo, hi, mask_k):
    """Largest |e_ref - e_w| (eV) over k in mask_k and bands with lo <= e_ref <= hi; index-matched."""
    n = min(e_ref.shape[1], e_w.shape[1])
    d = np.abs(e_ref[:, :n] - e_w[:, :n])
    sel = (e_ref[:, :n] >= lo) & (e_ref[:, :n] <= hi) & mask_k[:, None]
    if not sel.any():
        return None, None
    i = np.argmax(np.where(sel, d, -1))
    ik, ib = np.unravel_index(i, d.shape)
    return float(d[ik, ib]), (int(ik), float(e_ref[ik, ib]))


def band_check(system, gs_path, st: dict, E_F: float, workdir) -> tuple[dict, dict]:
    """Wannier vs GPAW bands on ASE's band path (mostly off the Wannier mesh).

    Without SOC: Wannier H0 vs the GPAW scalar-relativistic bands.  With SOC: the Wannier model
    (alpha_soc=1) vs ``gpaw.spinorbit.soc_eigenstates`` on all NSCF bands (which, unlike the
    Wannier model, couples to the semicore bands and PATH_EXTRA_BANDS bands above the manifold).  Bands are matched by index after
    skipping the ``ibstart`` semicore bands (2*ibstart with SOC).  Energies in meV.
    """
    nbands = int(min(st["nbands"], st["ibstart"] + system.num_wann_scalar + PATH_EXTRA_BANDS))
    cache = Path(workdir) / f"path-{st['band_check_points']}-{nbands}.npz"
    if cache.is_file():      # GPAW's path eigenvalues of an earlier run (same gs.gpw)
        c = np.load(cache, allow_pickle=True)
        path, e0, esoc = c["path"].item(), c["e0"], c["esoc"]
    else:
        path, e0, esoc = _dft_path(gs_path, st, workdir, nbands)
        np.savez(cache, path=np.array(path, dtype=object), e0=e0, esoc=esoc)
    k = np.asarray(path.kpts)
    iR, H0, V = tb.real_space_arrays(system)
    w0 = tb.eigenvalues(iR, H0, V, k, alpha_soc=0.0)[:, ::2]
    wsoc = tb.eigenvalues(iR, H0, V, k, alpha_soc=1.0)
    ib = st["ibstart"]
    km = k * np.asarray(st["wannier_mesh"])
    off = np.abs(km - np.round(km)).max(axis=1) > ON_MESH_TOL
    lo, hi = E_F + st["froz_window_eV"][0], E_F + st["froz_window_eV"][1]
    windows = {"frozen_window": (lo, hi), "near_E_F": (E_F - NEAR_EF_EV, E_F + NEAR_EF_EV)}
    res = dict(kpath=path.path, n_kpoints=len(k), n_off_mesh=int(off.sum()),
               wannier_mesh=list(st["wannier_mesh"]), dft_bands_on_path=nbands,
               reference_no_soc="GPAW scalar-relativistic eigenvalues (fixed_density on the path)",
               reference_soc="gpaw.spinorbit.soc_eigenstates on the same path calculation",
               windows_eV={n: [a, b] for n, (a, b) in windows.items()},
               E_F_reference_eV=E_F)
    for name, (a, b) in windows.items():
        for tag, ref, w in [("no_soc", e0[:, ib:], w0), ("soc", esoc[:, 2 * ib:], wsoc)]:
            dmax, where = _max_dev(ref, w, a, b, off)
            dall, _ = _max_dev(ref, w, a, b, np.ones(len(k), bool))
            res[f"max_dev_meV_{name}_{tag}"] = None if dmax is None else 1e3 * dmax
            res[f"max_dev_meV_{name}_{tag}_incl_mesh_points"] = None if dall is None else 1e3 * dall
            if where is not None:
                res[f"worst_{name}_{tag}"] = dict(k_red=k[where[0]].tolist(), E_dft_eV=where[1])
    bands = dict(x=path.get_linear_kpoint_axis()[0], labels=path.get_linear_kpoint_axis()[1:],
                 e0=e0, esoc=esoc, w0=w0, wsoc=wsoc, window=(lo, hi))
    return res, bands


def plot_bands(bands: dict, filename, title: str, E_F: float):
    """Two panels (without / with SOC): GPAW (grey lines) and Wannier (red dashes), E - E_F."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x = bands["x"]
    xt, lab = bands["labels"]
    fig, axs = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
    for ax, ref, w, t in [(axs[0], bands["e0"], bands["w0"], "without SOC"),
                          (axs[1], bands["esoc"], bands["wsoc"], "with SOC")]:
        ax.plot(x, ref - E_F, color="0.5", lw=1.6)
        ax.plot(x, w - E_F, "r--", lw=0.9)
        ax.axhline(0, color="k", lw=0.5)
        ax.axhspan(bands["window"][0] - E_F, bands["window"][1] - E_F, color="b", alpha=0.04)
        ax.set_xticks(xt)
        ax.set_xticklabels([lb.replace("G", r"$\Gamma$") for lb in lab])
        for v in xt:
            ax.axvline(v, color="k", lw=0.3)
        ax.set_xlim(x[0], x[-1])
        ax.set_title(f"{title}, {t}")
    axs[0].set_ylim(-10, 4)
    axs[0].set_ylabel(r"$E - E_F^{\rm DFT}$ (eV)")
    axs[1].plot([], [], color="0.5", label="GPAW")
    axs[1].plot([], [], "r--", label="Wannier")
    axs[1].legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(filename, dpi=110)
    plt.close(fig)


def spin_hall_check(system, efermi, nk=48) -> dict:
    """Conventional spin Hall conductivity sigma^z_xy with wannierberri (spin_current_type="simple").

    Returns values in (hbar/e) S/cm: wannierberri's SHC is in S/m for a spin current of
    s = sigma/2 in units of hbar... its constant factor is -e^2/hbar/2 (see ``factors``), i.e. the
    result is already sigma^{s_z}_{xy} in (hbar/e) S/m; divided by 100 for S/cm.
    """
    import wannierberri as wb
    efermi = np.atleast_1d(np.asarray(efermi, float))
    # no position matrix elements (AA) are stored: tight-binding (internal-terms-only) formulas
    for s in (system, system.system_up):
        s.force_internal_terms_only = True
    calc = {"shc": wb.calculators.static.SHC(Efermi=efermi, kwargs_formula={"spin_current_type": "simple"})}
    grid = wb.Grid(system, NK=(nk, nk, nk))
    with contextlib.redirect_stdout(io.StringIO()):
        res = wb.run(system, grid=grid, calculators=calc, parallel=False, print_progress_step_time=1e9)
    data = res.results["shc"].data  # (nE, 3, 3, 3): [E, a, b, spin]
    xy_z = data[:, 0, 1, 2] / 100.0
    return dict(E_F_eV=efermi.tolist(), sigma_z_xy_hbar_over_e_S_per_cm=xy_z.tolist(), mesh=[nk] * 3,
                calculator='wannierberri.calculators.static.SHC(kwargs_formula={"spin_current_type": "simple"})')


def cancelling_images(system, wannier_mesh) -> dict:
    """Diagnose hoppings that cancel on the Wannier mesh but not between its points.

    For every matrix element (m, n), the R-vectors equivalent modulo ``wannier_mesh`` (the
    Wigner-Seitz images of one supercell vector) sum to the value the mesh fixes; the split among
    images is what interpolation adds.  Returns the largest |H0_mn(R)| (meV) of an image whose
    class sum is more than 10x smaller, with its R and (m, n): a correct Wannier model has such
    images equal (each carries sum/Ndegen), so this is ~0 unless the images were split unevenly.
    """
    iR, H0, _ = tb.real_space_arrays(system)
    mesh = np.asarray(wannier_mesh)
    key = [tuple(r) for r in iR % mesh]
    classes = {}
    for i, k in enumerate(key):
        classes.setdefault(k, []).append(i)
    worst = (0.0, None, None)
    for idx in classes.values():
        if len(idx) < 2:
            continue
        h = H0[idx]                                   # (n_images, N, N)
        total = np.abs(h.sum(axis=0))
        big = np.abs(h).max(axis=0)
        bad = big > 10 * total
        if bad.any():
            m, n = np.unravel_index(np.argmax(np.where(bad, big, 0)), big.shape)
            val = np.abs(h[:, m, n]).max()
            if val > worst[0]:
                worst = (float(val), iR[idx[int(np.argmax(np.abs(h[:, m, n])))]].tolist(), (int(m), int(n)))
    return dict(max_uncancelled_image_meV=1e3 * worst[0], R=worst[1], mn=worst[2])
