"""Adapters between wannorb's TBModel and wannierberri's System_R (both directions).

wannierberri is imported lazily: it is heavy and prints on import.
"""
import contextlib
import io
import logging
import os
import tempfile
import warnings

import numpy as np


@contextlib.contextmanager
def quiet():
    """Silence wannierberri's banner, colour prints and INFO logging."""
    logging.getLogger("wannierberri").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def import_wannierberri():
    with quiet():
        import wannierberri
    return wannierberri


def to_wannierberri(model, soc_scale=1.0, with_spin=True):
    """A wannierberri System_R with the same H(R), centres (convention I) and, optionally, SS_R.

    SS_R holds the Pauli matrices σ (wannierberri's convention: S = σ/2 is applied by its
    calculators), on site, between spin partners.
    """
    wb = import_wannierberri()
    from wannierberri.fourier.rvectors import Rvectors
    from wannierberri.system.system_R import System_R
    from ..operators import spin_operator

    with quiet():
        system = System_R()
        system.real_lattice = np.array(model.lattice)
        system.num_wann = model.num_wann
        system.set_R_mat("Ham", np.array(model.hamiltonian_R(soc_scale)))
        if with_spin:
            SS = np.zeros((len(model.R), model.num_wann, model.num_wann, 3), complex)
            i0 = int(np.nonzero(np.all(model.R == 0, axis=1))[0][0])
            SS[i0] = 2 * np.moveaxis(spin_operator(model), 0, -1)
            system.set_R_mat("SS", SS)
        system.wannier_centers_cart = np.array(model.centres)
        system.clear_cached_wcc()
        system.rvec = Rvectors(lattice=system.real_lattice, iRvec=np.array(model.R),
                               shifts_left_red=system.wannier_centers_red)
        system.do_at_end_of_init()
    return wb, system


def wannierberri_shc(model, mu, nk, soc_scale=1.0, nkfft=None):
    """wannierberri's static SHC (spin_current_type='simple'), converted to (ħ/e) S/cm.

    ``model``: a TBModel (converted with :func:`to_wannierberri`) or a wannierberri system
    itself (e.g. the SystemSOC of a data folder, evaluated by wannierberri's own code path).
    Returns an array (nmu, 3, 3, 3) indexed [imu][j][i][k] like wannorb (σ^j_ik);
    wannierberri's own array is [i][k][j] in S/m. μ must be sorted ascending.
    """
    if hasattr(model, "H0"):
        wb, system = to_wannierberri(model, soc_scale)
    else:
        wb, system = import_wannierberri(), model
    nk = (nk,) * 3 if np.isscalar(nk) else tuple(nk)
    with quiet(), tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)   # wannierberri leaves result files open
        grid = wb.grid.Grid(system, NK=nk, NKFFT=nkfft or nk, NKdiv=tuple(n // (nkfft or n) for n in nk))
        calc = wb.calculators.static.SHC(Efermi=np.atleast_1d(mu), kwargs_formula={"spin_current_type": "simple", "external_terms": False},
                                         tetra=False)
        res = wb.run(system, grid=grid, calculators={"shc": calc}, parallel=False, use_irred_kpt=False,
                     symmetrize=False, print_progress_step_time=1e9,
                     fout_name=os.path.join(tmp, "result"), file_Klist_path=os.path.join(tmp, "klist"))
    data = res.results["shc"].data                      # (nmu, i, k, j), S/m
    return np.moveaxis(data, -1, 1) / 100.0
