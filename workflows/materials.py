"""Structures and run settings: the shipped materials (Pt, Cr, Ti) and the light transition
metals of the screening campaign (Sc, Ti, V, Cr, Cu, Zn, Y, Zr, Nb, Mo).

Lattice constants are room-temperature experimental values; the reference for each is stored in
``provenance.json`` under ``settings["structure"]``.  Two tiers of settings: ``"full"`` (the
shipped data/Pt, data/Cr, data/Ti) and ``"screen"`` (lighter, the same recipe for every element of
a screening campaign; see :func:`screen_settings`).  Nothing here imports GPAW.
"""
from __future__ import annotations

import copy

import numpy as np

# --- structures -------------------------------------------------------------------------------
STRUCTURES = {
    "Pt": dict(
        crystal="fcc", a=3.92, c=None,
        reference="a = 3.92 A, room-temperature experimental value: R. W. G. Wyckoff, Crystal "
                  "Structures vol. 1 (Interscience, 1963); C. Kittel, Introduction to Solid State "
                  "Physics, 8th ed., Table 1.3 (3.92 A)",
        magnetism="non-magnetic"),
    "Cr": dict(
        crystal="bcc", a=2.91, c=None,
        reference="a = 2.91 A as fixed by issue 4 (orbital-Hall literature value); the room-temperature "
                  "experimental lattice constant is 2.88 A (C. Kittel, Introduction to Solid State "
                  "Physics, 8th ed., Table 1.3), 1% smaller",
        magnetism="non-magnetic: Cr is an incommensurate spin-density-wave antiferromagnet below "
                  "311 K; as in the orbital-Hall literature (Jo, Go & Lee, PRB 98, 214405 (2018); "
                  "Salemi & Oppeneer, PRM 6, 095001 (2022)) it is treated here as a non-magnetic "
                  "bcc metal"),
    "Ti": dict(
        crystal="hcp", a=2.95, c=4.69,
        reference="a = 2.95 A, c = 4.69 A (c/a = 1.59), room-temperature experimental values: "
                  "R. W. G. Wyckoff, Crystal Structures vol. 1 (Interscience, 1963) "
                  "(a = 2.9506 A, c = 4.6788 A); C. Kittel, Introduction to Solid State Physics, "
                  "Table 1.3",
        magnetism="non-magnetic"),
}

# Light transition metals of the screening campaign (issue 8), non-magnetic, in their room-temperature
# structures with experimental lattice constants (Å).
_KITTEL = ("room-temperature experimental value: C. Kittel, Introduction to Solid State Physics, "
           "8th ed., Table 1.3; R. W. G. Wyckoff, Crystal Structures vol. 1 (Interscience, 1963)")
for _el, _cr, _a, _c in [("Sc", "hcp", 3.309, 5.273), ("V", "bcc", 3.03, None),
                         ("Cu", "fcc", 3.61, None), ("Zn", "hcp", 2.665, 4.947),
                         ("Y", "hcp", 3.647, 5.731), ("Zr", "hcp", 3.232, 5.147),
                         ("Nb", "bcc", 3.30, None), ("Mo", "bcc", 3.147, None)]:
    STRUCTURES[_el] = dict(crystal=_cr, a=_a, c=_c, magnetism="non-magnetic",
                           reference=(f"a = {_a} A" + (f", c = {_c} A" if _c else "") + ", " + _KITTEL))

LIGHT_TM = ["Sc", "Ti", "V", "Cr", "Cu", "Zn", "Y", "Zr", "Nb", "Mo"]

# Semicore bands per atom below the Wannier manifold in GPAW's PBE PAW datasets (gpaw-data 1.2.1):
# 3s+3p (4d metals: 4s+4p) for the early metals, none for Cr, Cu, Zn, Pt 5p (3).
SEMICORE_BANDS_PER_ATOM = {"Sc": 4, "Ti": 4, "V": 4, "Cr": 0, "Cu": 0, "Zn": 0, "Y": 4, "Zr": 4,
                           "Nb": 4, "Mo": 4, "Pt": 3}

# --- settings ---------------------------------------------------------------------------------
# Energies in eV, windows relative to the DFT Fermi level.  ``ibstart`` skips the semicore bands
# of the GPAW PAW datasets (Pt 5p: 3 bands at -55 eV; Ti 3s+3p: 4 bands per atom at -60/-38 eV).
_COMMON = dict(
    xc="PBE",
    ecut_eV=500.0,
    smearing="fermi-dirac",
    width_eV=0.1,
    gs_convergence={"density": 1e-6, "eigenstates": 4e-8},
    nscf_convergence={"bands": -4},          # converge all but the 4 highest NSCF bands
    projections="s;p;d on every atom, Wannier90 real orbitals, symmetry-adapted (irrep space group)",
    froz_window_eV=(-12.0, 2.0),             # frozen (inner) window relative to E_F(DFT)
    outer_window_eV=(-np.inf, np.inf),       # all NSCF bands from ibstart on
    num_iter=300,
    sitesym=True,
    band_check_points=48,
    ef_mesh=(48, 48, 48),
)

SETTINGS = {
    # Pt: 18³ Wannier mesh and 800 iterations (session 5): band error 5.1 meV within E_F ± 1 eV,
    # 7.8 meV in the whole frozen window (8³: 14 / 33, 12³: 5.7 / 27.9, 16³ with 800 iterations:
    # 4.9 / 20.2 -- the worst point near E_F + 1.7 eV converges with the mesh, not the iterations;
    # docs/data.md)
    "Pt": dict(_COMMON, gs_kpts=(12, 12, 12), wannier_mesh=(18, 18, 18), nbands=30, ibstart=3,
               gpts=None, num_iter=800),
    # Cr: 16³ Wannier mesh (session 4): band error 8.8 meV within E_F ± 1 eV, 18 meV in the whole
    # frozen window (10³: 17 / 118, 12³: 8.4 / 48; docs/data.md)
    "Cr": dict(_COMMON, gs_kpts=(12, 12, 12), wannier_mesh=(16, 16, 16), nbands=30, ibstart=0,
               gpts=None),
    # Ti: the site-symmetric route gives a broken interpolation in hcp (docs/data.md, defect
    # notes), so Ti is disentangled on the full mesh without site symmetry, then projected onto
    # its time-reversal and inversion symmetric part (Kramers pairs exact).
    # Ti's Wannier mesh 12×12×6 contains K, M and A (an 8×8×5 mesh missed K: 29 meV band error near
    # E_F, 41 meV in the frozen window; 12×12×6: 8 and 12 meV, session 3)
    "Ti": dict(_COMMON, gs_kpts=(12, 12, 6), wannier_mesh=(12, 12, 6), nbands=48, ibstart=8,
               full_mesh=True, sitesym=False,
               localise=False,  # disentangle only: without site symmetry, maximal localisation
                                # mixes the p functions of a site (px/py on-site split 2.6 eV)
               # time reversal + the whole space group (workflows.symmetrize.symmetrize_crystal):
               # Kramers pairs exact and E(k) = E(gk) for all 24 operations of P6_3/mmc
               symmetrize_crystal=True,
               gs_convergence={"density": 1e-5, "eigenstates": 4e-8},
               gpts=(18, 18, 28), ef_mesh=(48, 48, 30), band_check_points=36),
}

# Coarse settings for the smoke test: minutes, not physics.
COARSE = dict(ecut_eV=350.0, gs_kpts=(6, 6, 6), wannier_mesh=(4, 4, 4), nbands=24, num_iter=60,
              band_check_points=24, ef_mesh=(12, 12, 12))


def structure(element: str):
    """ASE ``Atoms`` (primitive cell) of a known element at its experimental lattice constant."""
    from ase.build import bulk
    if element not in STRUCTURES:
        raise ValueError(f"no structure for {element!r} in workflows/materials.py "
                         f"(known: {', '.join(sorted(STRUCTURES))}); pass atoms=... to pipeline.make")
    s = STRUCTURES[element]
    if s["crystal"] == "hcp":
        return bulk(element, "hcp", a=s["a"], c=s["c"])
    return bulk(element, s["crystal"], a=s["a"])


def hcp_gpts(a: float, c: float, h: float = 0.17):
    """Real-space grid for hcp cells: n1 = n2 a multiple of 6 and n3 a multiple of 4, spacing ≤ h (Å).

    irrep's space group of P6_3/mmc needs a grid that maps onto itself under the 6_3 screw axis
    (half translation along c) and the hexagonal rotations; GPAW's default grid did not (Ti).
    """
    n1 = 6 * int(np.ceil(a / h / 6))
    n3 = 4 * int(np.ceil(c / h / 4))
    return (n1, n1, n3)


def screen_settings(element: str) -> dict:
    """The ``"screen"`` tier: one lighter recipe for every element of a screening campaign.

    PW 400 eV, density converged to 1e-5; ground state on 10×10×10 (cubic) or 8×8×5 (hcp) Γ
    meshes; Wannier mesh 10×10×10 (cubic, irreducible points, site-symmetric wannierisation) or
    8×8×5 (hcp: all points, disentanglement only, then the time-reversal + inversion projection of
    ``workflows.symmetrize``, because the site-symmetric route fails in P6_3/mmc, docs/data.md);
    (6×6×6 and 6×6×4 Wannier meshes left 140–240 meV band errors near E_F in Cu and Zn);
    s, p, d on every atom; NSCF bands = semicore + 20 per atom; band check on 24 path points.
    """
    s = STRUCTURES[element]
    nat = 2 if s["crystal"] == "hcp" else 1
    ib = SEMICORE_BANDS_PER_ATOM[element] * nat
    st = dict(_COMMON, ecut_eV=400.0, gs_convergence={"density": 1e-5, "eigenstates": 4e-8},
              nbands=ib + 20 * nat, ibstart=ib, band_check_points=24, tier="screen")
    if s["crystal"] == "hcp":
        st.update(gs_kpts=(8, 8, 5), wannier_mesh=(8, 8, 5), full_mesh=True, sitesym=False,
                  localise=False, symmetrize_pt=True, gpts=hcp_gpts(s["a"], s["c"]),
                  ef_mesh=(32, 32, 20))
    else:
        st.update(gs_kpts=(10, 10, 10), wannier_mesh=(10, 10, 10), gpts=None, ef_mesh=(32, 32, 32))
    return st


def settings_for(element: str, coarse: bool = False, tier: str = "full") -> dict:
    """Run settings of ``element`` (a copy).

    ``tier="full"``: the settings of the shipped data (Pt, Cr, Ti); other elements of
    ``STRUCTURES`` fall back to the screen tier.  ``tier="screen"``: :func:`screen_settings`.
    ``coarse`` overrides either for a quick smoke run.
    """
    if tier not in ("full", "screen"):
        raise ValueError(f"unknown settings tier {tier!r} (full or screen)")
    if tier == "full" and element in SETTINGS:
        st = copy.deepcopy(SETTINGS[element])
        st["tier"] = "full"
    elif element in STRUCTURES:
        st = screen_settings(element)
    else:
        st = copy.deepcopy(dict(_COMMON, gs_kpts=(10, 10, 10), wannier_mesh=(6, 6, 6), nbands=None,
                                ibstart=None, gpts=None, tier=tier))
    if coarse:
        st.update(COARSE)
        if STRUCTURES.get(element, {}).get("crystal") == "hcp":
            st.update(gs_kpts=(6, 6, 4), wannier_mesh=(4, 4, 3), nbands=st["ibstart"] + 32,
                      ef_mesh=(12, 12, 8))
    return st
