"""The frozen tight-binding model every other module works on.

Fourier convention (wannierberri's "convention I", Wannier centres in the phases)::

    H_mn(k) = sum_R H_mn(R) exp(i k . (R + tau_n - tau_m))

with ``R`` a lattice vector (Å), ``tau_n`` the Wannier centre of basis function n (Å) and
``k`` Cartesian (1/Å). In this convention the position operator is diagonal at the centres,
so ∂_a H(k) is the velocity operator (times ħ) without a separate Berry-connection term.
Velocities and the non-Abelian curvature F_n differ from the ``tau = 0`` convention in
cells where centres do not coincide (e.g. hcp Ti with two sites).

The Hamiltonian is split as ``H = H0 + soc_scale * Hsoc`` so that spin-orbit sweeps pass the
scale at call time and never rebuild the model.
"""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .errors import InputError

# Hermiticity tolerance for H(R) = H(-R)^dagger checks, eV. Wannier data are stored in
# double precision but come out of iterative minimisation: 1e-6 eV is far below any
# physical scale used here and above round-off of the transforms.
HERMITICITY_TOL_EV = 1e-6


@dataclass(frozen=True)
class TBModel:
    """A tight-binding model in the spinor basis.

    Attributes
    ----------
    name : str
    lattice : (3, 3) float, Å — rows are the lattice vectors a1, a2, a3.
    R : (nR, 3) int — lattice vectors in units of ``lattice`` rows.
    H0 : (nR, nw, nw) complex, eV — spin-independent (scalar-relativistic) part, H0_mn(R) = <m0|H|nR>.
    Hsoc : (nR, nw, nw) complex, eV — spin-orbit part at full strength (soc_scale = 1).
    centres : (nw, 3) float, Å — Wannier centres (Cartesian), used in the Fourier phases.
    site : (nw,) int — index of the atom each basis function belongs to.
    orbital : tuple of nw str or None — Wannier90 real-orbital labels ("s", "pz", "px", "py",
        "dz2", "dxz", "dyz", "dx2-y2", "dxy"); ``None`` when the data carry no labels.
    spin : (nw,) int — 0 for spin up, 1 for spin down (along the global z axis).
    spatial : (nw,) int — index of the spinless (spatial) orbital of each basis function; each
        value occurs once with spin 0 and once with spin 1 (the pair S acts on).
    atom_positions : (na, 3) float — fractional positions of the atoms (for spglib).
    species : tuple of na str — chemical symbols (or any labels) of the atoms.
    site_local_axes : (na, 3, 3) float — rows are the local x, y, z axes in which the
        orbitals of each atom are defined (identity for the global frame).
    fermi_energy : float or None, eV — of the data (e.g. full-SOC Wannier model), if known.
    n_electrons : float or None — electrons per cell in this basis, if known.
    params : dict — the parameters the model was built with (recorded in outputs).
    """

    name: str
    lattice: np.ndarray
    R: np.ndarray
    H0: np.ndarray
    Hsoc: np.ndarray
    centres: np.ndarray
    site: np.ndarray
    orbital: Optional[tuple]
    spin: np.ndarray
    spatial: np.ndarray
    atom_positions: np.ndarray
    species: tuple
    site_local_axes: Optional[np.ndarray] = None
    fermi_energy: Optional[float] = None
    n_electrons: Optional[float] = None
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        nw = self.H0.shape[1]
        arrays = dict(
            lattice=np.asarray(self.lattice, float),
            R=np.asarray(self.R, np.int64),
            H0=np.asarray(self.H0, complex),
            Hsoc=np.asarray(self.Hsoc, complex),
            centres=np.asarray(self.centres, float),
            site=np.asarray(self.site, np.int64),
            spin=np.asarray(self.spin, np.int64),
            spatial=np.asarray(self.spatial, np.int64),
            atom_positions=np.asarray(self.atom_positions, float).reshape(-1, 3),
        )
        if self.site_local_axes is None:
            arrays["site_local_axes"] = np.tile(np.eye(3), (len(arrays["atom_positions"]), 1, 1))
        else:
            arrays["site_local_axes"] = np.asarray(self.site_local_axes, float)
        for key, val in arrays.items():
            val.setflags(write=False)
            object.__setattr__(self, key, val)
        if self.orbital is not None:
            object.__setattr__(self, "orbital", tuple(self.orbital))
        object.__setattr__(self, "species", tuple(self.species))
        _validate(self, nw)

    @property
    def num_wann(self):
        """Number of basis functions (spinor orbitals)."""
        return self.H0.shape[1]

    @property
    def volume(self):
        """Cell volume, Å^3."""
        return abs(np.linalg.det(self.lattice))

    @property
    def reciprocal(self):
        """Reciprocal lattice, rows b_i with a_i . b_j = 2 pi delta_ij, 1/Å."""
        return 2 * np.pi * np.linalg.inv(self.lattice).T

    @property
    def R_cart(self):
        """(nR, 3) lattice vectors in Å."""
        return self.R @ self.lattice

    @property
    def has_orbitals(self):
        return self.orbital is not None

    def hamiltonian_R(self, soc_scale=1.0):
        """H(R) = H0(R) + soc_scale * Hsoc(R), (nR, nw, nw) complex, eV."""
        return self.H0 + soc_scale * self.Hsoc


def _validate(model, nw):
    """Shape and finiteness checks with one clear message each."""
    nR = model.R.shape[0]
    if model.R.shape != (nR, 3):
        raise InputError(f"model {model.name}: R must have shape (nR, 3), got {model.R.shape}")
    for key in ("H0", "Hsoc"):
        arr = getattr(model, key)
        if arr.shape != (nR, nw, nw):
            raise InputError(f"model {model.name}: {key} must have shape ({nR}, {nw}, {nw}), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise InputError(f"model {model.name}: {key} contains NaN or infinite values")
    if model.lattice.shape != (3, 3) or abs(np.linalg.det(model.lattice)) < 1e-8:
        raise InputError(f"model {model.name}: lattice must be a non-singular 3x3 matrix (Å)")
    if model.centres.shape != (nw, 3):
        raise InputError(f"model {model.name}: centres must have shape ({nw}, 3)")
    if model.site.shape != (nw,) or model.spin.shape != (nw,):
        raise InputError(f"model {model.name}: site and spin need one entry per basis function ({nw})")
    if model.orbital is not None and len(model.orbital) != nw:
        raise InputError(f"model {model.name}: {len(model.orbital)} orbital labels for {nw} basis functions")
    if not set(np.unique(model.spin)) <= {0, 1}:
        raise InputError(f"model {model.name}: spin entries must be 0 (up) or 1 (down)")
    pairs = {}
    for s, o in zip(model.spin, model.spatial):
        pairs.setdefault(int(o), []).append(int(s))
    if any(sorted(v) != [0, 1] for v in pairs.values()):
        raise InputError(f"model {model.name}: every spatial orbital needs exactly one spin-up and one spin-down partner")
    if model.site.min() < 0 or model.site.max() >= len(model.atom_positions):
        raise InputError(f"model {model.name}: site index out of range of atom_positions")
    if model.site_local_axes.shape != (len(model.atom_positions), 3, 3):
        raise InputError(f"model {model.name}: site_local_axes must have shape (na, 3, 3)")


def hermiticity_error(model):
    """Largest |H(R) - H(-R)^dagger| over R (eV), for H0 and Hsoc together.

    Returns inf when some R has no partner -R in the list.
    """
    index = {tuple(r): i for i, r in enumerate(model.R)}
    worst = 0.0
    for i, r in enumerate(model.R):
        j = index.get(tuple(-r))
        if j is None:
            if np.abs(model.H0[i]).max() + np.abs(model.Hsoc[i]).max() > HERMITICITY_TOL_EV:
                return np.inf
            continue
        for arr in (model.H0, model.Hsoc):
            worst = max(worst, np.abs(arr[i] - arr[j].conj().T).max())
    return worst
