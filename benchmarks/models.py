"""Synthetic test systems of real size for benchmarks and memory checks (no DFT data needed).

``pt_like``: an fcc cell (a = 3.92 Å) with s, p, d Wannier-like orbitals ⊗ spin (nw = 18, the
basis of the Pt data), hoppings on every R of a 9×9×9 box (729 vectors, the size of a Wannier90
model from an 8×8×8 mesh), random but Hermitian (H(−R) = H(R)†) and decaying with |R|, plus an
on-site λ L·S. It has no crystal symmetry beyond time reversal + inversion-free randomness, so it
is for timing and memory only, never for physics.
"""
import itertools

import numpy as np

from wannorb.model import TBModel

ORBITALS = ("s", "pz", "px", "py", "dz2", "dxz", "dyz", "dx2-y2", "dxy")


def pt_like(seed=7, rmax=4, lam=0.6):
    rng = np.random.default_rng(seed)
    a = 3.92
    lattice = 0.5 * a * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], float)
    n_sp = len(ORBITALS)
    nw = 2 * n_sp
    Rs = [r for r in itertools.product(range(-rmax, rmax + 1), repeat=3)]
    index = {r: i for i, r in enumerate(Rs)}
    nR = len(Rs)
    H0s = np.zeros((nR, n_sp, n_sp), complex)
    for r in Rs:
        i, j = index[r], index[tuple(-x for x in r)]
        if i > j:
            continue
        d = np.linalg.norm(np.array(r) @ lattice)
        amp = 1.5 * np.exp(-d / 1.2)
        M = amp * (rng.normal(size=(n_sp, n_sp)) + 0.2j * rng.normal(size=(n_sp, n_sp)))
        if i == j:
            M = 0.5 * (M + M.conj().T) + np.diag(rng.uniform(-3, 3, n_sp))
        H0s[i] = M
        H0s[j] = M.conj().T
    H0 = np.kron(H0s, np.eye(2))
    model = TBModel(name="pt_like", lattice=lattice, R=np.array(Rs), H0=H0, Hsoc=np.zeros_like(H0),
                    centres=np.zeros((nw, 3)), site=np.zeros(nw, int),
                    orbital=tuple(o for o in ORBITALS for _ in range(2)),
                    spin=np.tile([0, 1], n_sp), spatial=np.repeat(np.arange(n_sp), 2),
                    atom_positions=np.zeros((1, 3)), species=("Pt",), fermi_energy=0.0,
                    params={"seed": seed, "rmax": rmax, "lambda": lam})
    from wannorb.operators import orbital_operator, spin_operator
    L, S = orbital_operator(model), spin_operator(model)
    Hsoc = np.zeros_like(H0)
    Hsoc[index[(0, 0, 0)]] = lam * np.einsum("jab,jbc->ac", L, S)
    return TBModel(**{**{f: getattr(model, f) for f in model.__dataclass_fields__}, "Hsoc": Hsoc})
