"""Eq. (6): general interband routine, and Eq. (7) pointwise on the exact kinetic solution."""
import numpy as np
import pytest

from wannorb.edge.interband import (interband_density, interband_trace, projector_derivative,
                                     rt_orbital_density)
from wannorb.edge.kinetic import MeshSpec, distribution, solve_ribbon
from wannorb.edge.model import orbital_lz, rt_hamiltonian


def test_projector_derivatives_two_methods_agree():
    rng = np.random.default_rng(1)
    p = rng.normal(size=(20, 2))
    for direction in (0, 1):
        e1, p1, d1 = projector_derivative(p, direction)
        e2, p2, d2 = projector_derivative(p, direction, method="finite-difference")
        assert np.allclose(d1, d2, atol=1e-6)
        assert np.allclose(p1.sum(axis=1), np.eye(2))               # completeness
        assert np.allclose(d1.sum(axis=1), 0.0, atol=1e-12)         # d(sum P) = 0


def test_trace_is_gauge_and_basis_invariant():
    """Rotating the orbital basis by a random unitary leaves T_n unchanged (X rotated alongside)."""
    rng = np.random.default_rng(2)
    theta = rng.uniform(0, 2 * np.pi, 11)
    p = np.stack([np.cos(theta), np.sin(theta)], -1)
    e, pr, dpr = projector_derivative(p, 1)
    t0 = interband_trace(e, pr, dpr, orbital_lz())
    q, _ = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))

    def ham(pp):
        return q @ rt_hamiltonian(pp) @ q.conj().T

    e1, pr1, dpr1 = projector_derivative(p, 1, hamiltonian=ham, method="finite-difference")
    t1 = interband_trace(e1, pr1, dpr1, q @ orbital_lz() @ q.conj().T)
    assert np.allclose(t0, t1, atol=1e-6)
    # R band (upper): T_R = -2 cos(theta)/p; the T band carries the same trace
    assert np.allclose(t0[:, 1], -2 * np.cos(theta), atol=1e-10)
    assert np.allclose(t0[:, 0], t0[:, 1], atol=1e-10)


def test_interband_density_contracts_like_eq6():
    trace = np.array([[1.0, 2.0], [3.0, -1.0]])
    grad = np.array([[0.5, 1.0], [2.0, 0.0]])
    w = np.array([0.1, 0.2])
    assert interband_density(trace, grad, w, hbar=2.0) == pytest.approx(-(0.5 * 0.1 + 2 * 0.1 + 6 * 0.2))


@pytest.mark.parametrize("kn", [0.05, 1.0])
def test_eq7_holds_pointwise_on_the_kinetic_solution(kn):
    """L^z from Eq. (6) equals hbar Omega^z hbar/(2 eps_F) = -dj/deta (independent derivative)."""
    sol = solve_ribbon(kn, MeshSpec(refine=1))
    theta, weight, _, dphi = distribution(sol)
    lz = rt_orbital_density(theta, weight, dphi)
    inner = slice(1, -1)
    ref = -sol.djdeta[inner]
    assert np.abs(lz[inner] - ref).max() < 1e-6 * np.abs(ref).max()
    assert np.abs(lz[inner] + lz[inner][::-1]).max() < 1e-10      # L^z antisymmetric
    # integral of the profile between two interior points = drop of j (Omega = -dJ/dy)
    eta = sol.eta
    sel = (eta > -0.45 / kn) & (eta < 0.45 / kn)
    assert np.trapezoid(lz[sel], eta[sel]) == pytest.approx(sol.j[sel][0] - sol.j[sel][-1], abs=1e-5)


def test_kinetic_lz_diverges_logarithmically_at_the_edge():
    sol = solve_ribbon(0.1, MeshSpec(refine=1))
    d = 0.5 / 0.1 - sol.eta
    sel = (d > 1e-3) & (d < 1e-2)
    slope = np.polyfit(np.log(d[sel]), -sol.djdeta[sel], 1)[0]
    assert slope == pytest.approx(-2 / np.pi, rel=0.05)
