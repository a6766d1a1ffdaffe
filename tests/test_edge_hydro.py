"""Eqs. (8)-(10): numerical hydrodynamics vs closed forms, and kinetic vs hydro in the ribbon average."""
import numpy as np
import pytest

from wannorb.edge import hydro
from wannorb.edge.kinetic import MeshSpec, mean_current, solve_ribbon

KNS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


@pytest.mark.parametrize("slip", [hydro.SLIP_PAPER_B, hydro.SLIP_PAPER_TEXT, 2.5])
def test_numerical_hydro_matches_closed_forms(slip):
    for kn in KNS:
        sol = hydro.solve_hydro(kn, slip)
        w = 1 / kn
        eta = np.linspace(-w / 2, w / 2, 801)
        j, dj = sol(eta)
        assert np.abs(j - hydro.current_closed(eta, kn, slip)).max() < 1e-6
        assert np.abs(-dj - hydro.lz_closed(eta, kn, slip)).max() < 1e-6      # Eq. (10) via Eq. (7)
        assert sol.mean() == pytest.approx(hydro.mean_current_closed(kn, slip), abs=1e-6)
        j0 = sol(np.array([0.0]))[0][0]
        assert j0 - j[-1] == pytest.approx(hydro.half_accumulation_closed(kn, slip), abs=1e-6)


def test_slip_condition_and_symmetry_hold_numerically():
    kn, c = 0.1, 0.7
    sol = hydro.solve_hydro(kn, c)
    j, dj = sol(np.array([-5.0, 5.0]))
    assert dj[1] == pytest.approx(-c * j[1], abs=1e-9)      # upper edge, outward normal +y
    assert -dj[0] == pytest.approx(-c * j[0], abs=1e-9)     # lower edge, outward normal -y
    assert j[0] == pytest.approx(j[1], abs=1e-12)


def test_asymmetric_slip_is_supported():
    sol = hydro.solve_hydro(0.2, 0.5, slip_upper=3.0)
    j, dj = sol(np.array([-2.5, 2.5]))
    assert dj[1] == pytest.approx(-3.0 * j[1], abs=1e-9)
    assert dj[0] == pytest.approx(0.5 * j[0], abs=1e-9)


def test_paper_b_formula_is_slip_8_over_3pi():
    kn = np.array([0.01, 0.1, 1.0, 2.0])
    assert np.allclose(hydro.b_factor(kn, hydro.SLIP_PAPER_B), hydro.b_factor_paper(kn), rtol=1e-14)
    assert hydro.b_factor_paper(1e-4) == pytest.approx(0.375, abs=1e-3)
    # the slip printed in the text, 4/(3 pi), gives a different B
    assert hydro.b_factor(1e-4, hydro.SLIP_PAPER_TEXT) == pytest.approx(0.2308, abs=1e-4)


def test_kinetic_and_hydro_ribbon_averages_agree_to_order_kn():
    """|<j>_kin - <j>_hydro| = O(Kn): the ratio to Kn stays bounded and both -> 1 as Kn -> 0."""
    ratios = []
    for kn in (0.02, 0.05, 0.2):
        kin = mean_current(solve_ribbon(kn, MeshSpec()))
        hyd = hydro.mean_current_closed(kn)
        assert abs(kin - 1) < 0.6 * kn and abs(hyd - 1) < 0.6 * kn
        ratios.append(abs(kin - hyd) / kn)
    assert max(ratios) < 0.1


def test_bad_hydro_input():
    from wannorb.errors import InputError

    for kn, c in ((0.0, 1.0), (0.1, -1.0), (np.nan, 1.0), (0.1, np.inf)):
        with pytest.raises(InputError):
            hydro.solve_hydro(kn, c)
