"""Mesh integrals: independent routes (wannierberri, numpy reference), symmetry, limits."""
import numpy as np

from wannorb import api, bloch, reference
from wannorb.hall import fermi_dirac, operator_stack, prefactor
from wannorb.kmesh import UniformMesh
from wannorb.models import pcubic

from helpers import generic_pcubic


def sigma(result, method, quantity):
    return np.array(result.sigma[method][quantity])


def test_conventional_spin_equals_wannierberri_shc():
    from wannorb.io.wberri import wannierberri_shc
    m = pcubic()
    mus = [-0.86, 0.3]
    wb = wannierberri_shc(m, mus, 8)
    r = api.hall(m, mu=mus, kT=0, nk=8, progress=False, quantities=["spin"], methods=["conventional"])
    ours = sigma(r, "conventional", "spin")
    assert np.abs(ours).max() > 10
    # full tensor, both chemical potentials
    assert np.allclose(ours, wb, rtol=1e-6, atol=1e-6 * np.abs(wb).max())


def test_mesh_sum_equals_numpy_reference():
    m = generic_pcubic()
    nk, kT, mus = 4, 0.05, [-0.7, 0.2]
    r = api.hall(m, mu=mus, kT=kT, nk=nk, shift=(0.25, 0.1, 0.4), progress=False)
    mesh = UniformMesh((nk,) * 3, (0.25, 0.1, 0.4))
    X = operator_stack(m, ("spin", "orbital"))
    total = np.zeros((len(mus), 3, 2, 3, 3, 3))
    for k_red in mesh.all_points():
        kc = k_red[None] @ m.reciprocal
        Hk, dHk = bloch.hk_direct(kc, m.R_cart, m.hamiltonian_R(), m.centres)
        phi = bloch.centre_phases(kc, m.centres)[0]
        eps, size, om = reference.hall_group_integrands(Hk[0], dHk[0], X * np.outer(phi.conj(), phi), 1e-5)
        for u, mu in enumerate(mus):
            total[u] += np.einsum("g,mqjikg->mqjik", fermi_dirac(eps, mu, kT), om)
    total *= prefactor(m, mesh.n_points)
    for im, meth in enumerate(("eq4", "conventional", "conserved")):
        for iq, q in enumerate(("spin", "orbital")):
            assert np.allclose(sigma(r, meth, q), total[:, im, iq], rtol=1e-9, atol=1e-9)


def test_cubic_symmetry_of_the_tensor():
    """O_h: σ^z_xy = −σ^z_yx = σ^x_yz = σ^y_zx, and σ^j_ik = 0 unless (j, i, k) is a permutation."""
    r = api.hall(pcubic(), filling=2, kT=0.05, nk=12, progress=False)
    for meth in r.methods:
        for q in r.quantities:
            s = sigma(r, meth, q)[0]
            ref = s[2, 0, 1]
            assert abs(ref) > 1
            assert np.isclose(s[2, 1, 0], -ref, rtol=1e-8)
            assert np.isclose(s[0, 1, 2], ref, rtol=1e-8)
            assert np.isclose(s[1, 2, 0], ref, rtol=1e-8)
            mask = np.ones((3, 3, 3), bool)
            for j, i, k in [(0, 1, 2), (0, 2, 1), (1, 2, 0), (1, 0, 2), (2, 0, 1), (2, 1, 0)]:
                mask[j, i, k] = False
            assert np.abs(s[mask]).max() < 1e-8 * abs(ref)


def test_ising_soc_three_methods_equal_on_mesh():
    r = api.hall(generic_pcubic(ising=1), mu=[-0.5], kT=0.05, nk=8, progress=False, quantities=["spin"])
    e, c, s = (sigma(r, m, "spin")[0, 2] for m in ("eq4", "conventional", "conserved"))
    assert np.abs(e).max() > 1
    assert np.allclose(e, c, rtol=1e-9) and np.allclose(e, s, rtol=1e-9)


def test_zero_soc_on_mesh():
    """λ = 0: SHE vanishes in every route; the conventional OHE stays finite (it is the
    'giant OHE independent of SOI' of the literature); eq4/conserved OHE are zero at every
    k-point whose groups are all Kramers pairs, non-zero only where spinless bands are degenerate."""
    m = generic_pcubic()
    r = api.hall(m, filling=2, kT=0.05, nk=8, progress=False, soc_scale=0.0)
    for meth in r.methods:
        assert np.abs(sigma(r, meth, "spin")).max() < 1e-10
    assert abs(r.component("conventional", "orbital")) > 100


def test_filling_counts_electrons():
    m = pcubic()
    mesh = UniformMesh((8, 8, 8))
    from wannorb.hall import eigenvalues_on_mesh, mu_for_filling
    E = eigenvalues_on_mesh(m, mesh)
    mu = mu_for_filling(E, 2.0, 0.05)
    assert np.isclose(fermi_dirac(E, mu, 0.05).sum() / len(E), 2.0, atol=1e-9)
    # kT = 0: μ between the states below and above (ties on a Kramers-degenerate level allowed)
    mu0 = mu_for_filling(E, 2.0, 0.0)
    assert (E < mu0).sum() <= 2 * len(E) <= (E <= mu0).sum()


def test_offset_mesh_recorded_and_distinct():
    a = api.hall(pcubic(), mu=[-0.8], kT=0.05, nk=6, progress=False, quantities=["spin"])
    b = api.hall(pcubic(), mu=[-0.8], kT=0.05, nk=6, shift=(0.5, 0.5, 0.5), progress=False, quantities=["spin"])
    assert b.to_dict()["shift"] == [0.5, 0.5, 0.5]
    assert not np.allclose(sigma(a, "eq4", "spin"), sigma(b, "eq4", "spin"))


def test_zero_soc_orbital_residues_come_only_from_orbital_degeneracies():
    """pcubic (O_h) at λ = 0 on a Γ-centred mesh: the eq4 and conserved OHE integrands are exactly
    zero at k-points where every group is a Kramers pair, and the finite-mesh residue comes from
    the k-points on high-symmetry lines/points where spinless p bands are degenerate (groups of 4, 6)."""
    from wannorb.hall import chunk_integrands
    from wannorb.operators import degenerate_groups
    m = pcubic()
    mesh = UniformMesh((8, 8, 8))
    X = operator_stack(m, ("orbital",))
    k_red, E, omega, gap = chunk_integrands(m, mesh, 0, X, soc_scale=0.0)
    n_degenerate = 0
    residue = 0.0
    for ik in range(len(k_red)):
        starts = degenerate_groups(E[ik], 1e-5)
        sums = np.stack([omega[ik, :, 0, ..., a:b].sum(-1) for a, b in zip(starts[:-1], starts[1:])], -1)
        if np.all(np.diff(starts) == 2):
            assert np.abs(sums[0]).max() < 1e-9 and np.abs(sums[2]).max() < 1e-9
        else:
            n_degenerate += 1
            residue = max(residue, np.abs(sums[0]).max())
    assert n_degenerate > 0 and residue > 1e-3
