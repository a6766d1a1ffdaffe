"""Bloch Hamiltonian H(k) and its Cartesian derivatives from H(R).

Convention (see ``model.py``): H_mn(k) = Σ_R H_mn(R) e^{i k·(R + τ_n − τ_m)},
∂_a H_mn(k) = Σ_R i (R + τ_n − τ_m)_a H_mn(R) e^{i k·(R + τ_n − τ_m)}, k in 1/Å, ∂_a H in eV·Å.

Two routes that must agree (tested): a direct sum at arbitrary k (paths, refinement, finite
differences) and an FFT on a sub-grid of a uniform mesh. The FFT is exact for any sub-grid size
because e^{2πi j·R/n} depends only on R mod n: H(R) is folded onto the n-grid (with the R factor
of the derivative applied before folding), so no R range is ever truncated.
"""
import numpy as np


def centre_phases(k_cart, centres):
    """φ_n(k) = e^{i k·τ_n}, (nk, nw) complex; Bloch matrices in our convention are
    M(k)_mn = M̃(k)_mn conj(φ_m) φ_n."""
    return np.exp(1j * (k_cart @ centres.T))


def _apply_centres(Hk0, dHk0, k_cart, centres):
    """From the τ = 0 sums to the centres convention: H = Φ∘H̃, ∂H = Φ∘(∂H̃ + i(τ_n − τ_m) H̃).
    With every centre at one point Φ = 1 and the sums are returned as they are."""
    if np.all(centres == centres[0]):
        return Hk0, dHk0
    phi = centre_phases(k_cart, centres)
    Phi = phi.conj()[:, :, None] * phi[:, None, :]
    dtau = centres[None, :, :] - centres[:, None, :]          # (nw, nw, 3): τ_n − τ_m
    Hk = Hk0 * Phi
    dHk = (dHk0 + 1j * np.moveaxis(dtau, 2, 0)[None] * Hk0[:, None]) * Phi[:, None]
    return Hk, dHk


def hk_direct(k_cart, R_cart, HR, centres):
    """H(k), ∂H(k) at arbitrary Cartesian k by direct summation.

    Parameters
    ----------
    k_cart : (nk, 3) float, 1/Å
    R_cart : (nR, 3) float, Å
    HR : (nR, nw, nw) complex, eV
    centres : (nw, 3) float, Å

    Returns
    -------
    Hk : (nk, nw, nw) complex, eV;  dHk : (nk, 3, nw, nw) complex, eV·Å
    """
    k_cart = np.atleast_2d(k_cart)
    nR, nw, _ = HR.shape
    ph = np.exp(1j * (k_cart @ R_cart.T))                       # (nk, nR)
    flat = HR.reshape(nR, nw * nw)
    Hk0 = (ph @ flat).reshape(-1, nw, nw)
    dHk0 = np.stack([((ph * (1j * R_cart[:, a])) @ flat).reshape(-1, nw, nw) for a in range(3)], axis=1)
    return _apply_centres(Hk0, dHk0, k_cart, centres)


def hk_fft(R, lattice, HR, centres, n_fft, kappa_red):
    """H(k), ∂H(k) on the sub-grid k_red = j/n_fft + κ (j over the n1×n2×n3 grid) by FFT.

    Parameters
    ----------
    R : (nR, 3) int — lattice vectors in units of ``lattice`` rows
    lattice : (3, 3) float, Å (rows)
    HR : (nR, nw, nw) complex, eV
    centres : (nw, 3) float, Å
    n_fft : 3 ints — sub-grid size
    kappa_red : (3,) float — offset of the sub-grid, reduced coordinates

    Returns
    -------
    k_red : (nk, 3) float; Hk : (nk, nw, nw) complex, eV; dHk : (nk, 3, nw, nw) complex, eV·Å
    with nk = n1 n2 n3, j in C order.
    """
    n_fft = tuple(int(x) for x in n_fft)
    nR, nw, _ = HR.shape
    R_cart = R @ lattice
    pre = np.exp(2j * np.pi * (R @ np.asarray(kappa_red, float)))     # e^{2πiκ·R}
    folded = np.mod(R, n_fft)
    flat_idx = np.ravel_multi_index(folded.T, n_fft)
    nk = int(np.prod(n_fft))
    weights = [pre] + [pre * (1j * R_cart[:, a]) for a in range(3)]
    grids = np.zeros((4, nk, nw * nw), complex)
    HRf = HR.reshape(nR, nw * nw)
    for w, g in zip(weights, grids):
        np.add.at(g, flat_idx, w[:, None] * HRf)
    grids = grids.reshape((4,) + n_fft + (nw * nw,))
    # e^{+2πi j·R/n}: inverse FFT times the grid size
    grids = np.fft.ifftn(grids, axes=(1, 2, 3)) * nk
    grids = grids.reshape(4, nk, nw, nw)
    j = np.indices(n_fft).reshape(3, -1).T
    k_red = j / np.array(n_fft) + np.asarray(kappa_red, float)
    k_cart = k_red @ (2 * np.pi * np.linalg.inv(lattice).T)
    Hk, dHk = _apply_centres(grids[0], np.moveaxis(grids[1:], 0, 1), k_cart, centres)
    return k_red, Hk, dHk
