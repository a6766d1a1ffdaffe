"""Work-around for uneven Wigner-Seitz images left by wannierberri 26.10's R-space symmetrisation.

Defect (seen in hcp Ti, not in fcc Pt or bcc Cr): after ``SystemSOC.from_wannierdata`` with a
site-symmetric wannierisation, some matrix elements H_mn(R) on R-vectors that are images of one
supercell vector (equal modulo the Wannier mesh) carry large values of opposite sign.  Their sum,
which is all the Wannier mesh fixes, is right, so the bands on the mesh are exact, but between
mesh points the interpolation is wrong (hundreds of meV).  In the minimal-distance (MDRS)
construction every image of a pair (m, n) carries the class sum divided by the number of images.

:func:`redistribute_images` restores that: for every (m, n) and every class of R modulo the mesh it
sums the stored values over the class and puts sum/N_degen on the MDRS images of the pair
(recomputed with wannierberri's ``Rvectors.set_Rvec`` from the stored Wannier centres).
H(k) on the Wannier mesh is unchanged to round-off; nothing else is touched.
"""
from __future__ import annotations

import contextlib
import io

import numpy as np

from . import checks, tb

WS_TOL = 1e-5   # the ws_dist_tol wannierberri's get_system_w90 uses


def _redistribute(iR_old, X_old, rv, mesh):
    """X_old: (NR_old, N, N, ...) on iR_old -> MDRS-distributed array on rv.iRvec."""
    mesh = np.asarray(mesh)
    n = X_old.shape[1]
    grid = np.zeros(tuple(mesh) + X_old.shape[1:], dtype=complex)
    for r, x in zip(iR_old % mesh, X_old):
        grid[tuple(r)] += x
    index = {tuple(r): i for i, r in enumerate(rv.iRvec)}
    out = np.zeros((len(rv.iRvec),) + X_old.shape[1:], dtype=complex)
    for m in range(n):
        for j in range(n):
            ish = rv.shift_index[m, j]
            for R, nd in zip(rv.iRvec_list[ish], rv.Ndegen_list[ish]):
                out[index[tuple(R)], m, j] = grid[tuple(np.asarray(R) % mesh)][m, j] / nd
    return out


def redistribute_images(sysdir, mesh) -> dict:
    """Rewrite the saved system in ``sysdir`` with MDRS-distributed H0(R) and V_soc(R).

    Returns the diagnostic of :func:`workflows.checks.cancelling_images` before and after, and the
    largest change of H(k) on the Wannier mesh (meV, should be ~0).
    """
    from wannierberri.fourier.rvectors import Rvectors
    system = tb.load_system(sysdir)
    before = checks.cancelling_images(system, mesh)
    up = system.system_up
    iR_old, H_old, V_old = tb.real_space_arrays(system)
    rv = Rvectors(lattice=up.real_lattice, shifts_left_red=up.wannier_centers_red)
    rv.set_Rvec(mp_grid=np.asarray(mesh), ws_tolerance=WS_TOL)
    H_new = _redistribute(iR_old, H_old, rv, mesh)
    V_new = _redistribute(iR_old, V_old, rv, mesh)
    k = tb.mesh(mesh)
    dk = np.abs(tb.bloch_hamiltonian(iR_old, H_old, V_old, k)
                - tb.bloch_hamiltonian(rv.iRvec, H_new, V_new, k)).max()
    up.rvec = Rvectors(lattice=up.real_lattice, shifts_left_red=up.wannier_centers_red, iRvec=rv.iRvec)
    up.set_R_mat("Ham", H_new, reset=True)
    up.set_R_mat("dV_soc", V_new, reset=True)
    system.rvec = up.rvec
    with contextlib.redirect_stdout(io.StringIO()):
        system.save_npz(str(sysdir))
    after = checks.cancelling_images(tb.load_system(sysdir), mesh)
    return dict(before=before, after=after, max_change_on_mesh_meV=1e3 * float(dk),
                note="workflows.repair.redistribute_images: Wigner-Seitz images re-split evenly (MDRS)")
