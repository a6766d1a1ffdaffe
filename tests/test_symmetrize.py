"""workflows.symmetrize: the time-reversal and inversion projection of a Wannier model.

Checked on random models (no GPAW needed): the result is a projection (idempotent, orthogonal),
each half restores its own symmetry seen in the spectrum, and together they give Kramers pairs.
"""
import numpy as np
import pytest

pytest.importorskip("spglib")
from workflows import symmetrize as S  # noqa: E402

ORBITALS = [{"site": a, "l": l, "m": m} for a in (0, 1)
            for l, ms in ((0, ["s"]), (1, ["pz", "px", "py"])) for m in ms]
LATTICE = np.array([[3.0, 0.1, 0.2], [0.3, 3.2, 0.1], [0.2, -0.1, 3.5]])
POSITIONS = np.array([[0.1, 0.2, 0.3], [0.9, 0.8, 0.7]])      # images under x -> -x, cell (-1,-1,-1)
AXES = [np.eye(3).tolist(), np.eye(3).tolist()]


def random_model(seed=0):
    rng = np.random.default_rng(seed)
    iR = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])
    n = len(ORBITALS)
    H = rng.normal(size=(len(iR), n, n)) + 1j * rng.normal(size=(len(iR), n, n))
    V = rng.normal(size=(len(iR), n, n, 3)) + 1j * rng.normal(size=(len(iR), n, n, 3))
    index = {tuple(r): i for i, r in enumerate(iR)}
    minus = [index[tuple(-r)] for r in iR]
    H = 0.5 * (H + H[minus].conj().swapaxes(1, 2))                    # H(−R) = H(R)†
    V = 0.5 * (V + V[minus].conj().swapaxes(1, 2))
    return iR, H, V


def geometry():
    t, perm, L = S.inversion_operation(LATTICE, POSITIONS, [22, 22])
    assert np.allclose(-POSITIONS + t, POSITIONS[perm] + L, atol=1e-6)
    site_of = np.array([o["site"] for o in ORBITALS])
    P, eps = S.orbital_map(ORBITALS, AXES, perm)
    return site_of, P, eps, L, perm


def dense(iR, X):
    return {tuple(r): x for r, x in zip(iR, X)}


def spinless_bands(iR, H, k):
    return np.linalg.eigvalsh(np.einsum("kr,rmn->kmn", np.exp(2j * np.pi * k @ iR.T), H))


def test_inversion_geometry():
    site_of, P, eps, L, perm = geometry()
    assert list(perm) == [1, 0]
    assert np.array_equal(eps, [1, -1, -1, -1] * 2)                   # same frames: p is odd
    assert [ORBITALS[p]["site"] for p in P] == [1] * 4 + [0] * 4


def test_projection_is_idempotent_and_orthogonal():
    iR, H, V = random_model()
    site_of, P, eps, L, _ = geometry()
    iR1, H1, V1 = S.project(iR, H, V, site_of, P, eps, L)
    iR2, H2, V2 = S.project(iR1, H1, V1, site_of, P, eps, L)
    assert S._removed(iR1, H1, iR2, H2) < 1e-12 and S._removed(iR1, V1, iR2, V2) < 1e-12
    # <X − P X, P X> = 0 over all R and elements
    a, b = dense(iR, H), dense(iR1, H1)
    inner = sum(np.vdot(a.get(r, 0 * H1[0]) - b[r], b[r]) for r in b)
    assert abs(inner) < 1e-9 * sum(np.vdot(x, x).real for x in b.values())


def test_each_half_restores_E_k_equals_E_minus_k():
    iR, H, V = random_model(1)
    site_of, P, eps, L, _ = geometry()
    k = np.random.default_rng(2).random((20, 3))
    assert np.abs(spinless_bands(iR, H, k) - spinless_bands(iR, H, -k)).max() > 1e-2
    Ht, _ = S.project_time_reversal(H, V)
    assert np.abs(spinless_bands(iR, Ht, k) - spinless_bands(iR, Ht, -k)).max() < 1e-10
    iRi, Hi, _ = S.project_inversion(iR, H, V, site_of, P, eps, L)
    assert np.abs(spinless_bands(iRi, Hi, k) - spinless_bands(iRi, Hi, -k)).max() < 1e-10


def test_wrong_parity_is_not_a_symmetry():
    """With the p parity flipped the 'inversion' is another map: its projection of a truly
    inversion-symmetric model changes it (so the test above could fail)."""
    iR, H, V = random_model(3)
    site_of, P, eps, L, _ = geometry()
    iR1, H1, V1 = S.project(iR, H, V, site_of, P, eps, L)
    iR2, H2, _ = S.project(iR1, H1, V1, site_of, P, np.abs(eps), L)
    assert S._removed(iR1, H1, iR2, H2) > 1e-2


def test_kramers_pairs_after_projection():
    iR, H, V = random_model(4)
    site_of, P, eps, L, _ = geometry()
    assert S.kramers_splitting(iR, H, V, n_k=8) > 1e-2
    iR1, H1, V1 = S.project(iR, H, V, site_of, P, eps, L)
    assert S.kramers_splitting(iR1, H1, V1, n_k=8) < 1e-9


def test_refuses_unrelated_frames():
    site_of, P, eps, L, perm = geometry()
    rot = [[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    with pytest.raises(ValueError, match="not related"):
        S.orbital_map(ORBITALS, [np.eye(3).tolist(), rot], perm)


# --- the whole space group (hcp, two sites in inverted frames, as the pipeline's Ti) -----------
HCP_A, HCP_C = 2.95, 4.69
HCP_LATTICE = np.array([[HCP_A / 2, -HCP_A * np.sqrt(3) / 2, 0], [HCP_A / 2, HCP_A * np.sqrt(3) / 2, 0],
                        [0, 0, HCP_C]])
HCP_POSITIONS = np.array([[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]])
HCP_AXES = [np.eye(3).tolist(), (-np.eye(3)).tolist()]
HCP_ORBITALS = [{"site": a, "l": l, "m": m} for a in (0, 1)
                for l, ms in ((0, ["s"]), (1, ["pz", "px", "py"]), (2, ["dz2", "dxz", "dyz", "dx2-y2", "dxy"]))
                for m in ms]


def random_hcp_model(seed=0):
    rng = np.random.default_rng(seed)
    iR = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])
    n = len(HCP_ORBITALS)
    H = rng.normal(size=(len(iR), n, n)) + 1j * rng.normal(size=(len(iR), n, n))
    V = 0.3 * (rng.normal(size=(len(iR), n, n, 3)) + 1j * rng.normal(size=(len(iR), n, n, 3)))
    index = {tuple(r): i for i, r in enumerate(iR)}
    minus = [index[tuple(-r)] for r in iR]
    return iR, 0.5 * (H + H[minus].conj().swapaxes(1, 2)), 0.5 * (V + V[minus].conj().swapaxes(1, 2))


def test_orbital_rotations_are_a_representation():
    rng = np.random.default_rng(0)
    q1, q2 = (np.linalg.qr(rng.normal(size=(3, 3)))[0] for _ in range(2))
    labels = ["dz2", "dxz", "dyz", "dx2-y2", "dxy"]
    D1, D2, D12 = (S.orbital_rotation(2, labels, M) for M in (q1, q2, q1 @ q2))
    assert np.allclose(D12, D2 @ D1, atol=1e-10) or np.allclose(D12, D1 @ D2, atol=1e-10)
    assert np.allclose(S.orbital_rotation(1, ["pz", "px", "py"], -np.eye(3)), -np.eye(3))


def test_space_group_projection_gives_the_crystal_symmetry():
    """Random hcp model: after the projection E(k) = E(gk) for all 24 operations of P6_3/mmc,
    Kramers pairs are exact, and a second projection changes nothing. With the spin-orbit
    vector turned the wrong way (axial='RT') the spectrum is not symmetric: the check can fail."""
    iR, H, V = random_hcp_model()
    args = (HCP_ORBITALS, HCP_AXES, HCP_LATTICE, HCP_POSITIONS, [22, 22])
    k = np.random.default_rng(4).random((6, 3))
    iR1, H1, V1, rec, ops, _ = S.project_space_group(iR, H, V, *args, axial="R")
    assert rec["n_operations"] == 24
    assert S.star_spread(iR, H, V, ops, k) > 0.1
    assert S.star_spread(iR1, H1, V1, ops, k) < 1e-9
    assert S.kramers_splitting(iR1, H1, V1, n_k=8) < 1e-9
    iR2, H2, V2, rec2, _, _ = S.project_space_group(iR1, H1, V1, *args, axial="R")
    assert rec2["max_H0_asymmetry_meV"] < 1e-6 and rec2["max_Vsoc_asymmetry_meV"]["R"] < 1e-6
    assert S._removed(iR1, H1, iR2, H2) < 1e-10 and S._removed(iR1, V1, iR2, V2) < 1e-10
    iRw, Hw, Vw, _, _, _ = S.project_space_group(iR, H, V, *args, axial="RT")
    assert S.star_spread(iRw, Hw, Vw, ops, k) > 1e-3


def test_symmetric_centres_sit_on_the_hcp_atoms():
    """hcp sites have -6m2 symmetry: a symmetric model has every Wannier centre on its atom."""
    ops = S.space_group_operations(HCP_LATTICE, HCP_POSITIONS, [22, 22])
    site_of = np.array([o["site"] for o in HCP_ORBITALS])
    l_of = np.array([o["l"] for o in HCP_ORBITALS])
    c = HCP_POSITIONS[site_of] + np.random.default_rng(5).normal(scale=0.02, size=(len(site_of), 3))
    out = S.symmetric_centres(c, ops, None, site_of, l_of)
    assert np.abs(out - HCP_POSITIONS[site_of]).max() < 1e-12
