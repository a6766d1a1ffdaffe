"""Physical units of the edge accumulation (wannorb.edge.units)."""
import numpy as np
import pytest
from scipy import constants as C

from wannorb.edge.units import lz_unit
from wannorb.errors import InputError


def test_unit_is_eq10_prefactor_and_sheet_is_consistent():
    u = lz_unit(5.0, 1.0, 7.0, 60.0, 1e5)
    expected = C.hbar * 1e5 / (2 * 5 * C.e * C.e * 60e-8 * 7e-9) * 1e-27      # hbar/nm^3
    assert u["volume"] == pytest.approx(expected, rel=1e-12)
    assert u["volume"] * u["sheet_spacing_nm"] == pytest.approx(u["sheet"], rel=1e-12)
    assert u["v_fermi"] == pytest.approx(np.sqrt(2 * 5 * C.e / C.m_e), rel=1e-12)
    # linear in E, odd in its sign; inversely proportional to rho*lambda
    assert lz_unit(5.0, 1.0, 7.0, 60.0, -2e5)["volume"] == pytest.approx(-2 * u["volume"])
    assert lz_unit(5.0, 1.0, 14.0, 30.0, 1e5)["volume"] == pytest.approx(u["volume"])


@pytest.mark.parametrize("args", [(-1, 1, 7, 60, 1e5), (5, 0, 7, 60, 1e5), (5, 1, np.nan, 60, 1e5),
                                  (5, 1, 7, -60, 1e5), (5, 1, 7, 60, np.inf)])
def test_bad_physical_input(args):
    with pytest.raises(InputError):
        lz_unit(*args)
