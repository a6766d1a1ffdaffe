"""workflows/compact.py: the rounding that keeps the shipped data small, its rigorous eigenvalue
bound, and that the shipped data are what their provenance says."""
import json
from pathlib import Path

import numpy as np
import pytest

from workflows import compact, tb

DATA = Path(__file__).resolve().parents[1] / "data"
MAX_MB = 6.0    # issue 4: "a few MB per element at most"


def _hermitian_pairs(rng, nr_half=12, n=5):
    """Random TR-symmetric real-space model: iR with -R for every R, real H0, imaginary V."""
    iR = rng.integers(-3, 4, size=(nr_half, 3))
    iR = np.unique(np.concatenate([iR, -iR, [[0, 0, 0]]]), axis=0)
    index = {tuple(r): i for i, r in enumerate(iR)}
    minus = np.array([index[tuple(-r)] for r in iR])
    H0 = rng.normal(size=(len(iR), n, n)) * np.exp(-rng.random((len(iR), 1, 1)) * 20)
    V = 1j * rng.normal(size=(len(iR), n, n, 3)) * 1e-3
    H0 = 0.5 * (H0 + H0[minus].swapaxes(1, 2)) + 0j
    V = 0.5 * (V + V[minus].conj().swapaxes(1, 2))
    return iR, H0, V, minus


def test_rounding_keeps_exact_relations_and_is_idempotent():
    rng = np.random.default_rng(1)
    iR, H0, V, minus = _hermitian_pairs(rng)
    q = 2.0 ** -12                       # coarse, so that rounding really changes things
    H0q, Vq = compact.quantize(H0, q), compact.quantize(V, q)
    assert H0q.dtype == H0.dtype and np.abs(H0q - H0).max() <= q / 2
    assert np.abs(H0q - H0).max() > q / 10
    assert np.array_equal(H0q, H0q[minus].conj().swapaxes(1, 2))
    assert np.array_equal(Vq, Vq[minus].conj().swapaxes(1, 2))
    assert not H0q.imag.any() and not Vq.real.any()
    assert np.array_equal(compact.quantize(H0q, q), H0q)
    assert np.all(np.isclose(H0q / q, np.round(H0q.real / q)))


def test_eigenvalue_bound_holds_and_is_tight():
    rng = np.random.default_rng(2)
    iR, H0, V, _ = _hermitian_pairs(rng)
    q = 2.0 ** -10
    dH0, dV = compact.quantize(H0, q) - H0, compact.quantize(V, q) - V
    k = rng.random((400, 3))
    for a in (0.0, 1.0, 2.0):
        change = np.abs(tb.eigenvalues(iR, H0 + dH0, V + dV, k, a) - tb.eigenvalues(iR, H0, V, k, a)).max()
        assert 0 < change <= compact.eigenvalue_bound(dH0, dV, a)
    # equality for a change that is the all-ones matrix on R = 0: ||dX(k)|| = N for every k
    n = H0.shape[1]
    d = np.zeros_like(H0)
    d[np.flatnonzero((iR == 0).all(axis=1))[0]] = 1.0
    assert compact.norm_bound(d) == pytest.approx(n)


@pytest.mark.parametrize("el", ["Pt", "Cr", "Ti"])
def test_shipped_data_are_rounded_as_recorded_and_small(el):
    folder = DATA / el
    prov = json.loads((folder / "provenance.json").read_text())
    st = prov["storage"]
    q = st["quantum_eV"]
    _, H0, V = tb.real_space_arrays(tb.load_system(folder / "system"))
    for X in (H0, V):
        for part in (X.real, X.imag):
            assert np.array_equal(np.round(part / q) * q, part)
    assert st["eigenvalue_bound_eV"]["alpha_soc=2"] < 1e-3          # far below the 20 meV target
    assert max(st["max_eigenvalue_change_eV"].values()) <= st["eigenvalue_bound_eV"]["alpha_soc=2"]
    before, after = st["E_F_before_after_eV"]
    assert abs(after - before) < 1e-5
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < MAX_MB * 1e6, f"data/{el} is {size / 1e6:.1f} MB"


def test_compact_command_bad_input_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        compact.main([str(tmp_path / "nothing")])
    assert "error:" in str(e.value) and "provenance.json" in str(e.value)
    with pytest.raises(SystemExit) as e:
        compact.main([str(DATA / "Pt"), "--quantum", "nan"])
    assert "--quantum" in str(e.value)
