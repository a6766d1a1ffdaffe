"""The shipped first-principles data (data/<El>/) checked without wannorb: loadable by wannierberri,
laws of the Hamiltonian, space group, provenance, and the documented basis layout."""
import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from workflows import tb

DATA = Path(__file__).resolve().parents[1] / "data"
ELEMENTS = {"Pt": 225, "Cr": 229, "Ti": 194}
KEYS = {"element", "E_F_eV", "E_F_dft_eV", "n_electrons", "lattice", "positions", "positions_kind",
        "orbitals", "site_local_axes", "settings", "versions", "band_check", "spread", "command"}
HERMITIAN_TOL = 1e-8     # eV; H(R) = H(-R)^dagger holds to round-off after wannierberri's symmetrisation
CENTRE_TOL_A = 0.35      # Angstrom; Ti p centres sit up to 0.29 A off the atom (site symmetry allows it)
# Largest no-SOC band error off the Wannier mesh that the shipped data must keep, within E_F +- 1 eV
# and in the whole frozen window (regression guards at the measured values, rounded up; issue 4's
# target is 20 meV).  Measured: Pt 4.8 / 7.8 meV (18^3, 800 iterations, session 5; the 8^3 data
# had 14 / 32), Cr 8.8 / 18 (16^3, session 4), Ti 8 / 12 (12x12x6 + space-group projection,
# session 3) -- docs/data.md.
BAND_TOL_MEV = {"Pt": 6.0, "Cr": 10.0, "Ti": 10.0}
FROZEN_TOL_MEV = {"Pt": 9.0, "Cr": 20.0, "Ti": 13.0}


@pytest.fixture(scope="module", params=sorted(ELEMENTS))
def material(request):
    el = request.param
    folder = DATA / el
    assert (folder / "provenance.json").is_file(), f"shipped data missing: {folder}/provenance.json"
    prov = json.loads((folder / "provenance.json").read_text())
    system = tb.load_system(folder / "system")
    return el, prov, system


def test_provenance_keys(material):
    el, prov, _ = material
    assert KEYS <= set(prov), KEYS - set(prov)
    assert prov["element"] == el
    assert set(prov["versions"]) >= {"python", "gpaw", "ase", "wannierberri", "spglib", "numpy", "irrep"}
    assert prov["positions_kind"] == "fractional"
    assert prov["spread"]["total_A2"] == pytest.approx(sum(prov["spread"]["per_function_A2"]))


def test_basis_size_and_orbitals(material):
    _, prov, system = material
    orbs = prov["orbitals"]
    assert system.num_wann_scalar == len(orbs) and system.num_wann == 2 * len(orbs)
    labels = {0: ["s"], 1: ["pz", "px", "py"], 2: ["dz2", "dxz", "dyz", "dx2-y2", "dxy"]}
    for o in orbs:
        assert o["m"] in labels[o["l"]] and o["spin"] is None
    assert len(prov["site_local_axes"]) == len(prov["positions"])
    for ax in prov["site_local_axes"]:
        ax = np.array(ax)
        assert np.allclose(ax @ ax.T, np.eye(3), atol=1e-8)


def test_lattice_and_centres(material):
    _, prov, system = material
    lat = np.array(prov["lattice"])
    assert np.allclose(system.real_lattice, lat, atol=1e-6)
    sites = np.array(prov["positions"]) @ lat
    centres = system.system_up.wannier_centers_cart
    for o, c in zip(prov["orbitals"], centres):
        d = (c - sites[o["site"]]) @ np.linalg.inv(lat)
        d = (d - np.round(d)) @ lat
        assert np.linalg.norm(d) < CENTRE_TOL_A


def test_space_group(material):
    import spglib
    el, prov, _ = material
    numbers = [1] * len(prov["positions"])
    ds = spglib.get_symmetry_dataset((prov["lattice"], prov["positions"], numbers), symprec=1e-4)
    assert ds.number == ELEMENTS[el]


def test_hermiticity(material):
    _, _, system = material
    iR, H0, V = tb.real_space_arrays(system)
    index = {tuple(r): i for i, r in enumerate(iR)}
    minus = np.array([index[tuple(-r)] for r in iR])
    assert np.abs(H0 - H0[minus].conj().swapaxes(1, 2)).max() < HERMITIAN_TOL
    assert np.abs(V - V[minus].conj().swapaxes(1, 2)).max() < HERMITIAN_TOL


def test_layout_matches_wannierberri(material):
    """H(k) built from the documented layout equals wannierberri's own H(k) (orbital-major,
    spin-fastest basis, exp(+2 pi i k.R) phases, H_soc = sum_c V_c (x) sigma_c)."""
    from wannierberri import Grid
    from wannierberri.data_K import get_data_k_class_from_system
    _, _, system = material
    iR, H0, V = tb.real_space_arrays(system)
    k = np.array([0.137, 0.291, 0.413])
    with contextlib.redirect_stdout(io.StringIO()):
        data_k = get_data_k_class_from_system(system)(system, grid=Grid(system=system, NK=1, NKFFT=1), dK=k)
        Hwb = data_k.HH_K[0]
    assert np.abs(tb.bloch_hamiltonian(iR, H0, V, k)[0] - Hwb).max() < 1e-8


def test_fermi_level_in_bands_and_counts_electrons(material):
    _, prov, system = material
    iR, H0, V = tb.real_space_arrays(system)
    e = tb.eigenvalues(iR, H0, V, tb.mesh((16, 16, 16)))
    assert e.min() < prov["E_F_eV"] < e.max()
    assert e.min() < prov["E_F_dft_eV"] < e.max()
    n = (e < prov["E_F_eV"]).sum() / len(e)        # electrons per cell below E_F (16^3 mesh)
    assert n == pytest.approx(prov["n_electrons"], abs=0.1)


def test_band_check_read_back(material):
    _, prov, _ = material
    bc = prov["band_check"]
    for w in ["frozen_window", "near_E_F"]:
        for s in ["no_soc", "soc"]:
            assert np.isfinite(bc[f"max_dev_meV_{w}_{s}"])
    assert bc["n_off_mesh"] > 0.5 * bc["n_kpoints"]
    assert bc["max_dev_meV_near_E_F_no_soc"] <= BAND_TOL_MEV[prov["element"]]
    assert bc["max_dev_meV_frozen_window_no_soc"] <= FROZEN_TOL_MEV[prov["element"]]


S_OPS = {"Ti": 24}


def test_pt_projection_record_and_kramers_pairs(material):
    """Data made with the time-reversal + inversion projection (Ti) record what it did, and every
    shipped model has exact Kramers pairs at random k (its own check, recomputed here)."""
    from workflows import symmetrize
    el, prov, system = material
    iR, H, V = tb.real_space_arrays(system)
    assert symmetrize.kramers_splitting(iR, H, V, n_k=16) < 1e-9
    rec = prov.get("symmetrization")
    if prov["settings"].get("symmetrize_pt") or prov["settings"].get("symmetrize_crystal"):
        assert rec["kramers_splitting_after_meV"] < 1e-6 < rec["kramers_splitting_before_meV"]
        # the projection must not move the bands near E_F more than the band check allows
        assert rec["max_band_change_in_window_meV"]["E_F+-1eV"] < 5.0
    if prov["settings"].get("symmetrize_crystal"):
        assert rec["star_spread_after_meV"] < 1e-6 < rec["star_spread_before_meV"]
        assert S_OPS[el] == rec["n_operations"]
    else:
        assert rec is None


# Orbitals that the site symmetry makes degenerate in the on-site block H0(R=0): cubic sites
# (Oh: Pt, Cr) and hcp sites (D3h, z along c: Ti).  This checks the m labels and their axes.
DEGENERATE = {
    "cubic": [["px", "py", "pz"], ["dxz", "dyz", "dxy"], ["dz2", "dx2-y2"]],
    "hcp": [["px", "py"], ["dxz", "dyz"], ["dxy", "dx2-y2"]],
}
# symmetrised models (Pt, Cr) keep the degeneracies to ~meV; Ti is wannierised without site
# symmetry (docs/data.md, defect notes; only Θ and P are projected back) and splits them by tens
# of meV (p levels far above E_F)
ONSITE_TOL_EV = {"Pt": 2e-3, "Cr": 2e-3, "Ti": 5e-2}


def test_orbital_labels_by_site_symmetry(material):
    el, prov, system = material
    iR, H0, _ = tb.real_space_arrays(system)
    h = H0[np.flatnonzero((iR == 0).all(axis=1))[0]]
    groups = DEGENERATE["hcp" if el == "Ti" else "cubic"]
    for site in range(len(prov["positions"])):
        idx = {o["m"]: i for i, o in enumerate(prov["orbitals"]) if o["site"] == site}
        for g in groups:
            e = [h[idx[m], idx[m]].real for m in g]
            assert max(e) - min(e) < ONSITE_TOL_EV[el], (site, g, e)
        # p and d levels of one site differ: the labels are not permuted between shells
        assert abs(h[idx["pz"], idx["pz"]] - h[idx["dz2"], idx["dz2"]]) > 0.1
