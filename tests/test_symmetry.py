"""Symmetry-reduced meshes: reduced and full mesh agree; operations and time reversal are
checked on the model (laws first), lower-symmetry models keep only what they have."""
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from wannorb import api, plan, symmetry
from wannorb.hall import operator_stack
from wannorb.model import TBModel
from wannorb.models import L_P_CARTESIAN, PAULI, pcubic, slater_koster_pp

DATA = Path(__file__).resolve().parents[1] / "data"
AGREE = 1e-8           # the bound, relative to the largest tensor element


def sk_p_model(name, lattice, positions, species, onsite, cutoff, lam=0.25):
    """p orbitals ⊗ spin on every atom, Slater–Koster p–p hoppings t(d) within ``cutoff`` (Å),
    on-site λ L·S: symmetric under every operation of the structure (hoppings depend on bond
    vectors only, L·S is a scalar), Wannier centres at the atoms."""
    lattice = np.asarray(lattice, float)
    pos = np.asarray(positions, float)
    na = len(pos)
    nw = 6 * na
    cart = pos @ lattice
    Rs = list(itertools.product(range(-2, 3), repeat=3))
    H0 = np.zeros((len(Rs), nw, nw), complex)
    for iR, R in enumerate(Rs):
        for a, b in itertools.product(range(na), repeat=2):
            d = cart[b] + np.array(R) @ lattice - cart[a]
            dist = np.linalg.norm(d)
            if dist < 1e-9:
                if a == b:
                    H0[iR, 6 * a:6 * a + 6, 6 * a:6 * a + 6] = onsite[species[a]] * np.eye(6)
                continue
            if dist > cutoff:
                continue
            t = slater_koster_pp(d, 1.2 * np.exp(-(dist - 2.5)), -0.3 * np.exp(-(dist - 2.5)))
            H0[iR, 6 * a:6 * a + 6, 6 * b:6 * b + 6] = np.kron(t, np.eye(2))
    keep = [i for i in range(len(Rs)) if np.abs(H0[i]).max() > 0]
    H0 = H0[keep]
    R = np.array(Rs)[keep]
    Hsoc = np.zeros_like(H0)
    i0 = [tuple(r) for r in R].index((0, 0, 0))
    ls = lam * sum(np.kron(L_P_CARTESIAN[k], PAULI[k] / 2) for k in range(3))
    for a in range(na):
        Hsoc[i0, 6 * a:6 * a + 6, 6 * a:6 * a + 6] = ls
    return TBModel(name=name, lattice=lattice, R=R, H0=H0, Hsoc=Hsoc, centres=np.repeat(cart, 6, axis=0),
                   site=np.repeat(np.arange(na), 6), orbital=("px", "px", "py", "py", "pz", "pz") * na,
                   spin=np.tile([0, 1], 3 * na), spatial=np.repeat(np.arange(3 * na), 2),
                   atom_positions=pos, species=tuple(species))


def hcp_model():
    a, c = 2.95, 4.69
    lat = [[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]]
    return sk_p_model("hcp-p", lat, [[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]], ["Ti", "Ti"], {"Ti": 0.0}, 3.2)


def zincblende_model():
    a = 4.0
    lat = 0.5 * a * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    return sk_p_model("zb-p", lat, [[0, 0, 0], [0.25, 0.25, 0.25]], ["A", "B"], {"A": 0.0, "B": 0.7}, 3.0)


def compare(model, rel=AGREE, model_noise_eV=0.0, **kw):
    """Full mesh vs symmetry-reduced mesh agree to ``rel`` of the largest element.

    ``model_noise_eV``: how far the model's eigenvalues are from exactly symmetric ones (the
    shipped data are rounded to 2^-30 eV, workflows/compact.py, which moves eigenvalues by ~1e-7 eV
    and breaks irrational symmetry relations by as much).  A curvature ~ 1/gap^2 then differs
    between a k-point and its image by ~2 noise/gap relative, so the bound becomes
    max(rel, 4 noise / smallest gap between groups on the mesh).  A wrong rotation gives O(1).
    """
    kw.setdefault("kT", 0.05)
    full = api.hall(model, progress=False, symmetry=False, **kw)
    red = api.hall(model, progress=False, symmetry=True, **kw)
    rel = max(rel, 4 * model_noise_eV / float(full.diagnostics["min_group_gap"]["value"]))
    info = red.extra["symmetry"]
    assert info["used"], info
    assert info["n_irreducible_kpoints"] < full.diagnostics["n_kpoints"]
    assert np.allclose(full.mu, red.mu, rtol=0, atol=1e-10)
    for m in full.methods:
        for q in full.quantities:
            a, b = np.array(full.sigma[m][q]), np.array(red.sigma[m][q])
            assert np.abs(a).max() > 1
            assert np.abs(a - b).max() <= rel * np.abs(a).max(), (m, q)
    return full, red


def test_pcubic_reduced_equals_full_and_diagnostics_agree():
    full, red = compare(pcubic(), filling=2, nk=10)
    info = red.extra["symmetry"]
    assert info["point_group"] == "m-3m" and info["group_order"] == 48
    assert red.to_dict()["symmetry"]["n_irreducible_kpoints"] == info["n_irreducible_kpoints"]
    for m in full.methods:
        for q in full.quantities:
            a = full.diagnostics["max_point_contribution"][m][q][0]
            b = red.diagnostics["max_point_contribution"][m][q][0]
            assert np.isclose(a["value"], b["value"], rtol=1e-9)
    # the point where it occurs is a mesh point (possibly another of the same orbit)
    k = np.array(b["k_red"]) * 10
    assert np.allclose(k, np.round(k), atol=1e-9)
    assert np.isclose(full.diagnostics["min_group_gap"]["value"], red.diagnostics["min_group_gap"]["value"], rtol=1e-12)


def test_pcubic_shifted_mesh_kT0_and_mu_list():
    compare(pcubic(), mu=[-0.9, 0.2], nk=8, shift=(0.5, 0.5, 0.5), kT=0.0)


def test_lower_symmetry_variant_keeps_only_its_operations():
    m = pcubic(ex=0.1)
    full, red = compare(m, filling=2, nk=(8, 8, 6))
    info = red.extra["symmetry"]
    assert info["crystal_operations"] == 48 and info["model_operations"] == 16   # D4h about x
    W, R, _, _ = symmetry.crystal_operations(m)
    keep, tr = symmetry.valid_operations(m, W, R, operator_stack(m, ("spin", "orbital")))
    assert keep.sum() == 16 and tr
    # the kept rotations are those that map x onto ±x
    assert np.allclose(np.abs(R[keep][:, 0, 0]), 1)


def test_nonsymmorphic_two_site_model_with_centres():
    """hcp (P6_3/mmc): screw axes and glides move one site onto the other; with the Wannier
    centres in the Fourier phases the operations act on k only."""
    m = hcp_model()
    full, red = compare(m, filling=4, nk=(6, 6, 4))
    assert red.extra["symmetry"]["space_group"] == "P6_3/mmc"
    assert red.extra["symmetry"]["group_order"] == 24


def test_time_reversal_without_inversion():
    """Zincblende (T_d) has no inversion; time reversal (k → −k, σ unchanged: T-even) doubles the group."""
    m = zincblende_model()
    full, red = compare(m, filling=6, nk=6)
    info = red.extra["symmetry"]
    assert info["time_reversal"] and info["crystal_operations"] == 24 and info["group_order"] == 48


def test_time_reversal_parity_is_even_not_odd():
    """Ω(−k) = +Ω(k) for the spin/orbital Hall integrands (and it is not the trivial 0 = 0)."""
    m = zincblende_model()
    X = operator_stack(m, ("spin", "orbital"))
    k = np.array([[0.13, 0.27, 0.41]])
    E1, o1 = symmetry._integrands_at(m, k, X, 1.0, 1e-5, True)
    E2, o2 = symmetry._integrands_at(m, -k, X, 1.0, 1e-5, True)
    occ = symmetry._state_weights(E1)
    s1 = np.einsum("ukn,kmqjicn->ukmqjic", occ, o1)
    s2 = np.einsum("ukn,kmqjicn->ukmqjic", occ, o2)
    assert np.abs(s1).max() > 1e-2
    assert np.abs(s1 - s2).max() < 1e-9 * np.abs(s1).max()
    assert np.abs(s1 + s2).max() > 1e-2


def test_tensor_transformation_is_axial_polar_polar():
    """T = det(R) R⊗R⊗R: inversion (det −1, three polar factors −1) leaves σ unchanged; under the
    mirror m_z (det −1) σ^z_xy and σ^x_yz are allowed and σ^x_xy is forbidden."""
    R_inv = -np.eye(3)[None]
    T = symmetry.tensor_transform(R_inv)[0]
    assert np.allclose(T, np.eye(27))
    m_z = np.diag([1.0, 1.0, -1.0])[None]
    T = symmetry.tensor_transform(m_z)[0].reshape(3, 3, 3, 3, 3, 3)
    assert T[2, 0, 1, 2, 0, 1] == 1.0      # σ^z_xy allowed by m_z
    assert T[0, 1, 2, 0, 1, 2] == 1.0      # σ^x_yz: det(−1)·(+1)(+1)(−1) = +1
    assert T[0, 0, 1, 0, 0, 1] == -1.0     # σ^x_xy: det(−1)·(+1)(+1)(+1) = −1 → forbidden


def test_fallback_when_shift_breaks_the_symmetry():
    r = api.hall(pcubic(ex=0.05, ey=-0.1, ez=0.13), mu=[-0.5], nk=4, shift=(0.3, 0.1, 0.2), progress=False)
    info = r.to_dict()["symmetry"]
    assert info["requested"] and not info["used"] and "mesh" in info["reason"]
    assert info["n_irreducible_kpoints"] == 64 == r.diagnostics["n_kpoints_evaluated"]
    off = api.hall(pcubic(), mu=[-0.5], nk=4, progress=False, symmetry=False).to_dict()["symmetry"]
    assert not off["used"] and "switched off" in off["reason"]


@pytest.mark.parametrize("element", ["Pt", "Cr", "Ti"])
def test_shipped_materials_reduced_equals_full(element):
    if not (DATA / element / "provenance.json").is_file():
        pytest.skip(f"data/{element} not made yet (the data workflow writes it)")
    m = api.load_system(element)
    if element == "Ti":
        # the shipped Ti is projected onto its time-reversal and space-group symmetric part
        # (workflows.symmetrize.symmetrize_crystal): the check must find all 24 operations
        r = api.hall(m, nk=6, kT=0.05, mu=[m.fermi_energy], progress=False, quantities=["spin"])
        info = r.extra["symmetry"]
        assert info["crystal_operations"] == info["model_operations"] == 24 and info["used"], info
    # the smallest mesh where the reduction pays (wannorb.plan.worth_reducing), since this test is
    # about it: 8³ for the 16³-mesh Cr data (4409 R vectors), 12³ for the 18³-mesh Pt data
    noise = json.loads((DATA / element / "provenance.json").read_text())["storage"][
        "max_eigenvalue_change_eV"]["alpha_soc=1"]
    compare(m, model_noise_eV=noise, nk={"Ti": 6, "Cr": 8, "Pt": 12}[element], kT=0.05,
            mu=[m.fermi_energy])


@pytest.mark.parametrize("n_fft", [(6, 6, 4), (3, 5, 2)])
def test_fast_evaluators_equal_bloch(n_fft):
    """FFTHamiltonian (sorted fold, upper triangles) and DirectHamiltonian (R/−R pairs) give
    bloch.hk_fft's / hk_direct's H(k), ∂H(k) on a two-site model with distinct centres."""
    from wannorb import bloch
    m = hcp_model()
    HR = m.hamiltonian_R(0.7)
    kappa = np.array([0.013, 0.021, 0.034])
    k1, H1, d1 = plan.FFTHamiltonian(m, n_fft, 0.7)(kappa)
    k2, H2, d2 = bloch.hk_fft(m.R, m.lattice, HR, m.centres, n_fft, kappa)
    assert np.allclose(k1, k2) and np.abs(H1 - H2).max() < 1e-12 and np.abs(d1 - d2).max() < 1e-12
    H3, d3 = plan.DirectHamiltonian(m, 0.7)(k2[:7])
    H4, d4 = bloch.hk_direct(k2[:7] @ m.reciprocal, m.R_cart, HR, m.centres)
    assert np.abs(H3 - H4).max() < 1e-12 and np.abs(d3 - d4).max() < 1e-12
    assert np.abs(H3 - H2[:7]).max() < 1e-12
