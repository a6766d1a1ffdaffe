"""Built-in analytic tight-binding models, returned as the same frozen :class:`TBModel`.

``pcubic`` (exact definition, issue 3): simple cubic, a = 2.5 Å, one site, orbitals
(p_x, p_y, p_z) ⊗ spin in the order (p_x↑, p_x↓, p_y↑, p_y↓, p_z↑, p_z↓); Slater–Koster p–p
hoppings t_ij(R) = l_i l_j V_σ + (δ_ij − l_i l_j) V_π (l = R/|R|) to the 6 nearest neighbours
(V_σ = 1.0 eV, V_π = −0.25 eV) and the 12 next-nearest (V_σ = 0.3 eV, V_π = −0.075 eV);
on-site energy 0; spin-orbit λ L·S/ħ² on site with (L_k)_ij = −iħ ε_kij and S = ħσ/2,
λ = 0.2 eV by default.
"""
import itertools

import numpy as np

from .errors import InputError
from .model import TBModel
from .validate import number

PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)

# (L_k)_ij = -i eps_kij in the Cartesian (x, y, z) p basis, units of ħ
LEVI_CIVITA = np.zeros((3, 3, 3))
for _i, _j, _k in itertools.permutations(range(3)):
    LEVI_CIVITA[_i, _j, _k] = np.linalg.det(np.eye(3)[[_i, _j, _k]])
L_P_CARTESIAN = -1j * LEVI_CIVITA


def slater_koster_pp(vec, v_sigma, v_pi):
    """p–p two-centre hopping t_ij = l_i l_j V_σ + (δ_ij − l_i l_j) V_π, (3, 3) eV."""
    l = np.asarray(vec, float) / np.linalg.norm(vec)
    ll = np.outer(l, l)
    return ll * v_sigma + (np.eye(3) - ll) * v_pi


PCUBIC_DEFAULTS = {
    "a": 2.5,            # Å
    "lambda": 0.2,       # eV, spin-orbit strength at soc_scale = 1
    "vsigma1": 1.0, "vpi1": -0.25,     # eV, nearest neighbours
    "vsigma2": 0.3, "vpi2": -0.075,    # eV, next-nearest neighbours
    "ex": 0.0, "ey": 0.0, "ez": 0.0,   # eV, on-site energies (crystal field; 0 in pcubic)
    "ising": 0.0,        # 1: keep only λ L_z S_z (S^z conserved), for tests
}


def pcubic(**params):
    """The ``pcubic`` model (module docstring); keyword overrides of PCUBIC_DEFAULTS.

    Returns
    -------
    TBModel with nw = 6, R over the on-site, 6 nearest and 12 next-nearest vectors.
    """
    p = _merge_params("pcubic", PCUBIC_DEFAULTS, params)
    a = p["a"]
    if not a > 0:
        raise InputError(f"pcubic: lattice constant a must be > 0 Å, got {a}")
    shells = [(1, p["vsigma1"], p["vpi1"]), (2, p["vsigma2"], p["vpi2"])]
    Rs = [(0, 0, 0)]
    blocks = [np.diag([p["ex"], p["ey"], p["ez"]]).astype(complex)]
    for r in itertools.product((-1, 0, 1), repeat=3):
        n2 = sum(x * x for x in r)
        for shell, vs, vp in shells:
            if n2 == shell:
                Rs.append(r)
                blocks.append(slater_koster_pp(r, vs, vp).astype(complex))
    nR = len(Rs)
    eye2 = np.eye(2)
    H0 = np.array([np.kron(b, eye2) for b in blocks])
    Hsoc = np.zeros((nR, 6, 6), complex)
    comps = (2,) if p["ising"] else (0, 1, 2)
    Hsoc[0] = p["lambda"] * sum(np.kron(L_P_CARTESIAN[k], PAULI[k] / 2) for k in comps)
    return TBModel(
        name="pcubic",
        lattice=a * np.eye(3),
        R=np.array(Rs),
        H0=H0,
        Hsoc=Hsoc,
        centres=np.zeros((6, 3)),
        site=np.zeros(6, int),
        orbital=("px", "px", "py", "py", "pz", "pz"),
        spin=np.array([0, 1, 0, 1, 0, 1]),
        spatial=np.array([0, 0, 1, 1, 2, 2]),
        atom_positions=np.zeros((1, 3)),
        species=("X",),
        n_electrons=None,
        params=p,
    )


MODELS = {"pcubic": (pcubic, PCUBIC_DEFAULTS)}


def _merge_params(name, defaults, params):
    unknown = set(params) - set(defaults)
    if unknown:
        raise InputError(f"{name}: unknown parameter(s) {sorted(unknown)}; known: {sorted(defaults)}")
    out = dict(defaults)
    for key, val in params.items():
        out[key] = number(f"{name}: parameter {key}", val)
    return out
