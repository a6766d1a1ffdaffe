"""Plain-numpy evaluation of a saved wannierberri ``SystemSOC`` (no GPAW needed).

The layout this module reads (and documents) is the one ``SystemSOC.save_npz`` writes for a
non-magnetic system (``nspin == 1``):

* ``system.system_up.rvec.iRvec``          int (NR, 3): lattice vectors R in units of the lattice
  vectors (rows of ``system.real_lattice``, Angstrom).
* ``system.system_up.get_R_mat("Ham")``    complex (NR, N, N), eV: scalar-relativistic H0(R),
  Wigner-Seitz degeneracies already divided out, so that
  ``H0(k) = sum_R exp(+2 pi i k_red . R) H0(R)`` (tight-binding convention I: the Wannier centres
  are not in the phases).
* ``system.system_up.get_R_mat("dV_soc")`` complex (NR, N, N, 3), eV: the spin-orbit matrices
  V_c(R), c = x, y, z, on the same R list, with ``H_soc(k) = sum_c V_c(k) (x) sigma_c``.
* Full Hamiltonian, dimension 2N, index ``2*n + s`` (orbital-major, spin fastest;
  s = 0 is spin up along z, s = 1 spin down):
  ``H[2m+s, 2n+t](k) = H0[m, n](k) delta_st + alpha_soc * sum_c V_c[m, n](k) sigma_c[s, t]``.
"""
from __future__ import annotations

import contextlib
import io
import os

import numpy as np

PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)  # (3,2,2)
K_CHUNK = 2048  # k-points per dense Fourier sum; bounds memory to ~K_CHUNK*NR*16 B


def load_system(path: str, alpha_soc: float = 1.0):
    """Load ``path`` with ``SystemSOC.from_npz`` and make it usable (see the pitfalls of issue 4).

    After ``from_npz`` the spin axis/scale must be set (``set_soc_axis``), and for a non-magnetic
    system ``rvec`` of the SystemSOC itself is ``None``: it is set from ``system_up.rvec``.
    """
    from wannierberri.system import SystemSOC
    with contextlib.redirect_stdout(io.StringIO()):
        system = SystemSOC.from_npz(os.fspath(path))
        if system.rvec is None:
            system.rvec = system.system_up.rvec
        system.set_soc_axis(theta=0, phi=0, alpha_soc=alpha_soc)
    return system


def real_space_arrays(system):
    """(iRvec (NR,3) int, H0 (NR,N,N) complex eV, V_soc (NR,N,N,3) complex eV) of a loaded system."""
    up = system.system_up
    return (np.asarray(up.rvec.iRvec, dtype=int), np.asarray(up.get_R_mat("Ham")),
            np.asarray(up.get_R_mat("dV_soc")))


def bloch_hamiltonian(iRvec, H0_R, Vsoc_R, k_red, alpha_soc=1.0):
    """H(k) of the spinful model for every k in ``k_red``.

    Parameters
    ----------
    iRvec : int array (NR, 3)
    H0_R : complex array (NR, N, N), eV
    Vsoc_R : complex array (NR, N, N, 3), eV
    k_red : float array (nk, 3), reduced coordinates (units of the reciprocal lattice vectors)
    alpha_soc : float, scale of the spin-orbit term

    Returns
    -------
    complex array (nk, 2N, 2N), eV, basis index ``2*n + s`` (see the module docstring).
    """
    k_red = np.atleast_2d(k_red)
    phase = np.exp(2j * np.pi * k_red @ iRvec.T)                        # (nk, NR)
    nr, n = H0_R.shape[:2]
    H0 = (phase @ H0_R.reshape(nr, -1)).reshape(-1, n, n)
    V = (phase @ Vsoc_R.reshape(nr, -1)).reshape(-1, n, n, 3)
    H = np.einsum("kmn,st->kmsnt", H0, np.eye(2)) \
        + alpha_soc * np.einsum("kmnc,cst->kmsnt", V, PAULI)
    H = H.reshape(-1, 2 * n, 2 * n)
    return 0.5 * (H + H.conj().swapaxes(1, 2))


def eigenvalues(iRvec, H0_R, Vsoc_R, k_red, alpha_soc=1.0):
    """Sorted eigenvalues (nk, 2N), eV, of the spinful model; ``alpha_soc=0`` gives H0 twice."""
    k_red = np.atleast_2d(k_red)
    out = []
    for i in range(0, len(k_red), K_CHUNK):
        out.append(np.linalg.eigvalsh(bloch_hamiltonian(iRvec, H0_R, Vsoc_R, k_red[i:i + K_CHUNK],
                                                        alpha_soc)))
    return np.concatenate(out)


def mesh(size):
    """Gamma-centred Monkhorst-Pack mesh, reduced coordinates (prod(size), 3)."""
    g = [np.arange(n) / n for n in size]
    return np.stack(np.meshgrid(*g, indexing="ij"), axis=-1).reshape(-1, 3)


def fermi_level_T0(energies, n_electrons):
    """Zero-temperature Fermi level of spin-resolved bands on a uniform mesh.

    Parameters
    ----------
    energies : float array (nk, nb), eV: every eigenvalue holds one electron per k-point.
    n_electrons : float, electrons per cell in these bands.

    Returns the midpoint between the highest occupied and lowest empty state (eV) and the gap
    between them (eV), which measures how well the mesh resolves E_F.
    """
    e = np.sort(energies.ravel())
    nocc = int(round(n_electrons * energies.shape[0]))
    return 0.5 * (e[nocc - 1] + e[nocc]), e[nocc] - e[nocc - 1]
