"""Physical units for the edge accumulation: from (eps_F, m*, lambda, rho, E, W) to L^z(y).

The dimensionless profiles (``compare.py``) are in units of U = hbar^2 E / (2 eps_F e rho lambda)
(Eq. (10)). With rho a 3D resistivity (the measured µΩ cm), U is a volume density (hbar per nm^3).
The R-T model itself is two-dimensional: a single sheet with the same eps_F, m* and lambda has the
sheet conductivity sigma_2D = g_s e^2 tau eps_F / (2 pi hbar^2), tau = lambda / v_F, v_F = sqrt(2 eps_F/m*),
and its areal density is U_2D = hbar^2 E sigma_2D / (2 eps_F e lambda) (hbar per nm^2). Both are
returned; ``rho`` enters only the volume density (and the effective sheet spacing rho*sigma_2D that
makes the two consistent).
"""
import numpy as np
from scipy import constants as C

from ..errors import InputError
from ..validate import number

SPIN_DEGENERACY = 2   # the paper drops spin; for a real metal both spins carry current and L^z


def _positive(name, value):
    return number(name, value, positive=True)


def lz_unit(eps_f_ev, m_eff, lambda_nm, rho_uohm_cm, e_field_v_per_m):
    """Units of the dimensionless L^z profile.

    Parameters
    ----------
    eps_f_ev : float, Fermi energy (eV); m_eff : float, effective mass (electron masses)
    lambda_nm : float, mean free path (nm); rho_uohm_cm : float, resistivity (µΩ cm)
    e_field_v_per_m : float, applied field (V/m), any sign

    Returns
    -------
    dict: ``volume`` (hbar/nm^3, from rho), ``sheet`` (hbar/nm^2, 2D R-T sheet from eps_F, m*, lambda),
    ``sigma_2d`` (S), ``sheet_spacing_nm`` = rho * sigma_2D (nm), ``v_fermi`` (m/s), ``tau`` (s)
    """
    eps_f = _positive("Fermi energy (eV)", eps_f_ev) * C.e
    m = _positive("effective mass (m_e)", m_eff) * C.m_e
    lam = _positive("mean free path (nm)", lambda_nm) * 1e-9
    rho = _positive("resistivity (µΩ cm)", rho_uohm_cm) * 1e-8
    e_field = number("electric field (V/m)", e_field_v_per_m)
    v_f = np.sqrt(2 * eps_f / m)
    tau = lam / v_f
    sigma_2d = SPIN_DEGENERACY * C.e ** 2 * tau * eps_f / (2 * np.pi * C.hbar ** 2)
    vol = C.hbar ** 2 * e_field / (2 * eps_f * C.e * rho * lam)          # J s / m^3 = hbar * (1/m^3) * hbar
    sheet = C.hbar ** 2 * e_field * sigma_2d / (2 * eps_f * C.e * lam)   # hbar * hbar / m^2
    return {"volume": vol / C.hbar * 1e-27, "sheet": sheet / C.hbar * 1e-18, "sigma_2d": sigma_2d,
            "sheet_spacing_nm": rho * sigma_2d * 1e9, "v_fermi": v_f, "tau": tau}


def physical_profile(result, eps_f_ev, m_eff, lambda_nm, rho_uohm_cm, e_field_v_per_m, width_nm):
    """Convert an :func:`edge_comparison` result to physical units.

    Parameters
    ----------
    result : dict from ``edge_comparison`` (its Kn must equal lambda/W)
    eps_f_ev, m_eff, lambda_nm, rho_uohm_cm, e_field_v_per_m : see :func:`lz_unit`
    width_nm : float, ribbon width W (nm)

    Returns
    -------
    dict with ``y_nm``; ``lz_kinetic_per_nm2``/``lz_hydro_per_nm2`` (hbar/nm^2, 2D sheet);
    ``lz_kinetic_per_nm3``/``lz_hydro_per_nm3`` (hbar/nm^3, with rho); ``j_kinetic_A_per_m2`` and the
    unit dict. None entries (edges of the kinetic L^z) stay None.
    """
    width = _positive("ribbon width (nm)", width_nm)
    lam = _positive("mean free path (nm)", lambda_nm)
    if not np.isclose(result["kn"], lam / width, rtol=1e-9):
        raise InputError(f"result has Kn = {result['kn']}, but lambda/W = {lam / width}")
    u = lz_unit(eps_f_ev, m_eff, lambda_nm, rho_uohm_cm, e_field_v_per_m)

    def scale(values, factor):
        return [None if v is None else v * factor for v in values]

    sigma_3d = 1.0 / (float(rho_uohm_cm) * 1e-8)
    return {
        "y_nm": [y * lam for y in result["y_over_lambda"]],
        "lz_kinetic_per_nm2": scale(result["lz_kinetic"], u["sheet"]),
        "lz_hydro_per_nm2": scale(result["lz_hydro"], u["sheet"]),
        "lz_kinetic_per_nm3": scale(result["lz_kinetic"], u["volume"]),
        "lz_hydro_per_nm3": scale(result["lz_hydro"], u["volume"]),
        "j_kinetic_A_per_m2": scale(result["j_kinetic"], sigma_3d * float(e_field_v_per_m)),
        "unit": u,
    }
