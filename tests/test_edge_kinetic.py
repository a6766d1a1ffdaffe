"""Laws of the exact R-T ribbon solution of Eq. (5) (wannorb.edge.kinetic)."""
import numpy as np
import pytest

from wannorb.edge.angular import phi, phi_direct
from wannorb.edge.kinetic import MeshSpec, distribution, mean_current, moments, solve_ribbon, wall_emission
from wannorb.edge.model import born_kernel, collision_harmonics, shear_feedback


def test_born_kernel_is_the_orbital_overlap_and_not_isotropic():
    t = np.linspace(0, 2 * np.pi, 37)
    assert np.allclose(born_kernel(t, 0.3), np.cos(t - 0.3) ** 2, atol=1e-13)
    h = collision_harmonics()
    rates = h["rates"]
    assert rates[0] == 0.0                       # particle conservation
    assert np.isclose(rates[1], 1.0)             # transport rate defines tau_tr
    assert np.isclose(rates[2], 0.5)             # shear harmonic relaxes twice slower
    assert np.allclose(rates[3:33], 1.0)
    assert np.isclose(h["tau_tr_over_tau_out"], 1.0)
    assert shear_feedback() == pytest.approx(1.0, abs=1e-13)


def test_angular_functions_table_matches_direct_quadrature_and_bickley():
    from scipy.special import iti0k0, k0, k1

    x = np.array([1e-10, 1e-5, 1e-2, 0.3, 1.0, 3.0, 20.0, 90.0])
    for n in (-1, 0, 1, 2, 3):
        assert np.allclose(phi(n, x), phi_direct(n, x, 48), rtol=1e-10, atol=0)
    # independent check: Phi_0 = Ki_1 - Ki_3 (Bickley-Naylor functions from Bessel K)
    xx = np.array([0.3, 1.0, 3.0])
    ki1 = np.pi / 2 - iti0k0(xx)[1]
    ki2 = xx * (k1(xx) - ki1)
    ki3 = (ki1 + xx * (k0(xx) - ki2)) / 2
    assert np.allclose(phi(0, xx), ki1 - ki3, rtol=1e-9)


@pytest.fixture(scope="module")
def ribbon():
    sol = solve_ribbon(0.2, MeshSpec(refine=1))
    return sol, distribution(sol)


def test_symmetry_j_even_s2_odd(ribbon):
    sol, _ = ribbon
    assert np.array_equal(sol.eta, -sol.eta[::-1])
    assert np.abs(sol.j - sol.j[::-1]).max() < 1e-12
    assert np.abs(sol.s2 + sol.s2[::-1]).max() < 1e-14
    inner = sol.djdeta[1:-1]
    assert np.abs(inner + inner[::-1]).max() < 1e-9


def test_full_distribution_solves_boltzmann_self_consistently(ribbon):
    """phi rebuilt from s2 along characteristics reproduces s2, has rho0 = c2 = 0 and j."""
    sol, (theta, weight, ph, _) = ribbon
    m = moments(theta, weight, ph)
    assert np.abs(m["s2"] - sol.s2).max() < 1e-9
    assert np.abs(m["rho0"]).max() < 1e-12     # symmetric solution: no density change
    assert np.abs(m["c2"]).max() < 1e-12
    assert np.abs(2 * m["cos"] - sol.j).max() < 1e-8


def test_particle_conservation_and_zero_normal_current(ribbon):
    sol, (theta, weight, ph, dph) = ribbon
    m = moments(theta, weight, ph)
    assert np.abs(m["sin"]).max() < 1e-12      # J^y = 0 everywhere, in particular at both walls
    c_lo, c_up = wall_emission(theta, weight, ph)
    assert abs(c_lo) < 1e-12 and abs(c_up) < 1e-12
    # continuity: d/deta <sin phi> = 0 from Eq. (5'); the collision integral conserves particles
    md = moments(theta, weight, dph)
    assert np.abs(md["sin"][1:-1]).max() < 1e-8


def test_bulk_recovered_far_from_edges_for_small_kn():
    sol = solve_ribbon(0.02, MeshSpec())
    far = np.abs(sol.eta) < 0.5 / 0.02 - 15.0
    assert far.sum() > 10
    assert np.abs(sol.j[far] - 1.0).max() < 1e-6
    assert np.abs(sol.s2[far]).max() < 1e-6


def test_relaxation_time_limit_is_fuchs_2d():
    """mu = 0 (no m = 2 feedback): exact 2D Fuchs mean 1 - (4 Kn/pi)(1/3 - Phi_1(W/lambda))."""
    kn = 0.5
    sol = solve_ribbon(kn, MeshSpec(refine=2), mu=0.0)
    exact = 1 - 4 * kn / np.pi * (1 / 3 - phi(1, np.array([1 / kn]))[0])
    assert mean_current(sol) == pytest.approx(exact, abs=1e-12)
    # and the profile itself integrates to it (trapezoid error from the ln-singular edge slope)
    assert np.trapezoid(sol.j, sol.eta) * kn == pytest.approx(exact, abs=3e-5)


def test_resolution_doubling_changes_j_by_less_than_1e5():
    for kn in (0.1, 1.0):
        a = solve_ribbon(kn, MeshSpec(refine=1))
        b = solve_ribbon(kn, MeshSpec(refine=2))
        common = np.isin(b.eta, a.eta)
        assert common.sum() == a.eta.size
        assert np.abs(b.j[common] - a.j).max() < 1e-5
        assert abs(mean_current(b) - mean_current(a)) < 1e-5


def test_invalid_kn():
    from wannorb.errors import InputError

    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(InputError):
            solve_ribbon(bad)


def test_independent_discrete_ordinates_solver_agrees():
    """No-symmetry source-iteration DOM (first order in 1/K, 1/N) converges onto the exact solution."""
    from wannorb.edge.reference import dom_ribbon

    kn = 0.5
    sol = solve_ribbon(kn, MeshSpec(refine=1))
    eta1, _, ph1, j1, _ = dom_ribbon(kn, 128, 200)
    eta2, theta2, ph2, j2, _ = dom_ribbon(kn, 256, 400)
    err1 = np.abs(j1 - np.interp(eta1, sol.eta, sol.j)).max()
    err2 = np.abs(j2 - np.interp(eta2, sol.eta, sol.j)).max()
    assert err2 < 2e-3 and err2 < 0.6 * err1                   # halves with the resolution
    assert abs(j2[0] - sol.j[0]) < 1e-4                        # edge value
    # the general solver finds no density change and no transverse current either
    assert np.abs(ph2.mean(axis=1)).max() < 1e-9
    assert np.abs((ph2 * np.sin(theta2)).mean(axis=1)).max() < 1e-9
