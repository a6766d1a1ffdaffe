import numpy as np
import pytest

from wannorb.errors import InputError
from wannorb.models import L_P_CARTESIAN, pcubic
from wannorb.operators import orbital_operator, real_orbital_L, spin_operator

SHELLS = [["px", "py", "pz"], ["pz", "px", "py"], ["dz2", "dxz", "dyz", "dx2-y2", "dxy"]]


@pytest.mark.parametrize("labels", SHELLS)
def test_angular_momentum_algebra(labels):
    L = real_orbital_L(labels)
    l = (len(labels) - 1) // 2
    for a, b, c in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        assert np.allclose(L[a] @ L[b] - L[b] @ L[a], 1j * L[c], atol=1e-13)
    assert np.allclose(sum(x @ x for x in L), l * (l + 1) * np.eye(len(labels)), atol=1e-13)
    for x in L:
        assert np.allclose(x, x.conj().T)
        assert np.allclose(x.real, 0)
        # eigenvalues m = -l..l
        assert np.allclose(np.sort(np.linalg.eigvalsh(x)), np.arange(-l, l + 1), atol=1e-12)


def test_p_shell_matches_cartesian_levi_civita():
    assert np.allclose(real_orbital_L(["px", "py", "pz"]), L_P_CARTESIAN)


def test_d_shell_known_element():
    # L_z |dxy> ∝ |dx2-y2>: with f = (x²−y²)/2 and g = xy, L_z g = −i(x∂y − y∂x)xy = −i(x² − y²) = −2i f
    L = real_orbital_L(["dx2-y2", "dxy"] + ["dz2", "dxz", "dyz"])
    assert np.isclose(L[2][0, 1], -2j)


def test_spin_operator_pcubic():
    S = spin_operator(pcubic())
    for a, b, c in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        assert np.allclose(S[a] @ S[b] - S[b] @ S[a], 1j * S[c])
    assert np.allclose(sum(x @ x for x in S), 0.75 * np.eye(6))


def test_soc_is_lambda_L_dot_S():
    m = pcubic()
    L, S = orbital_operator(m), spin_operator(m)
    assert np.allclose(m.Hsoc[0], 0.2 * sum(L[k] @ S[k] for k in range(3)))
    # j = 3/2 quartet at +λ/2, j = 1/2 doublet at −λ
    assert np.allclose(np.linalg.eigvalsh(m.Hsoc[0]), [-0.2] * 2 + [0.1] * 4)


def test_local_axes_rotate_L_as_axial_vector():
    from dataclasses import replace
    m = pcubic()
    rot = np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1.0]])   # local x = global y, local y = −global x
    L0 = orbital_operator(m)
    Lr = orbital_operator(replace(m, site_local_axes=rot[None]))
    assert np.allclose(Lr[2], L0[2])           # z unchanged
    assert np.allclose(Lr[0], -L0[1])          # global x = −local y
    Linv = orbital_operator(replace(m, site_local_axes=-np.eye(3)[None]))
    assert np.allclose(Linv, L0)               # inversion leaves an axial vector alone


def test_unknown_orbital_and_missing_labels():
    from dataclasses import replace
    m = pcubic()
    with pytest.raises(InputError, match="unknown orbital"):
        orbital_operator(replace(m, orbital=("px", "px", "py", "py", "fz3", "fz3")))
    with pytest.raises(InputError, match="no orbital labels"):
        orbital_operator(replace(m, orbital=None))
