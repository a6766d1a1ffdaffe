"""Clean limit of the Eq. (4) OHE near a spinless nodal line: an analytic value, independent of λ.

Model: pcubic with the p_z level pushed 10 eV up (crystal field ``ez``). The remaining (p_x, p_y)
pair is degenerate, without spin-orbit coupling, exactly on the two lines (0, 0, k_z) and
(π, π, k_z): the next-nearest-neighbour hopping couples p_x and p_y as sin k_x sin k_y, and the
diagonal difference goes as cos k_x − cos k_y. Near each line the spinless 2×2 Hamiltonian is a
quadratic touching, d(q) ∝ (q_x q_y, q_x² − q_y²), of winding w = ±2 (opposite on the two lines).
The spin-orbit term λA L_z S_z gaps it with a mass m = λA/2, and per spin and per band
∫ d²q ⟨L_z⟩ F^{xy} = π|w|/2 × (sign), whatever m and the band velocities: the integrand sits in a
tube of radius ∝ √m with a height ∝ 1/m. Both Kramers pairs of the line count with the same sign,
so at A → 0 with degen_tol ≪ λA (docs/sweep.md, "Nodal lines"):

    σ^z_xy(eq4) → (e²/ħ) / (8π³) · 2 pairs · 2 spins · π|w|/2 · ∫ dk_z [Θ(μ − E_ππ(k_z)) − Θ(μ − E_00(k_z))]
               = (e²/ħ) / (π a) · (f_ππ − f_00),

f the fraction of the line below μ. Zeroth order in λ, against the paper's "at least second
order". With degen_tol = Γ > λA (a broadening larger than the line's spin-orbit gap) it becomes
σ_line (λA/Γ)²: second order again, the paper's law, with a coefficient ∝ 1/Γ².
"""
import numpy as np
import pytest

from wannorb import api
from wannorb.hall import CONDUCTANCE_QUANTUM
from wannorb.models import pcubic

ANGSTROM_PER_CM = 1e8
NK = (128, 128, 32)
SHIFT = (0.5, 0.5, 0.5)


def line_energies(model, kxy, kz_red):
    """Spinless energy of the degenerate (p_x, p_y) pair on the line (kxy, k_z), (nkz,) eV."""
    out = []
    for kz in kz_red:
        k = np.array([kxy[0], kxy[1], kz])
        Hk = np.einsum("r,rij->ij", np.exp(2j * np.pi * model.R @ k), model.H0)
        E = np.linalg.eigvalsh(Hk[0::2, 0::2])           # spin-up block of the spinless part
        assert abs(E[1] - E[0]) < 1e-12                    # p_x, p_y degenerate on the line
        out.append(E[0])
    return np.array(out)


def predicted(model, mu):
    """(e²/ħ)/(π a) (f_ππ − f_00) in (ħ/e) S/cm, on the k_z points of the mesh."""
    kz = (np.arange(NK[2]) + SHIFT[2]) / NK[2]
    f_pp = np.mean(line_energies(model, (0.5, 0.5), kz) < mu)
    f_00 = np.mean(line_energies(model, (0.0, 0.0), kz) < mu)
    return CONDUCTANCE_QUANTUM * ANGSTROM_PER_CM / (np.pi * model.params["a"]) * (f_pp - f_00)


def eq4_orbital(model, mus, A, degen_tol=1e-5):
    h = api.hall(model, mu=mus, kT=0.0, nk=NK, shift=SHIFT, soc_scale=A, methods=("eq4", "conventional"),
                 quantities=("orbital",), degen_tol=degen_tol, progress=False)
    return h.sigma["eq4"]["orbital"][:, 2, 0, 1], h.sigma["conventional"]["orbital"][:, 2, 0, 1]


@pytest.mark.parametrize("params, mus", [
    (dict(ez=10.0), [0.0, 3.0]),                      # (π, π) line below μ, (0, 0) above; both below
    (dict(ez=10.0, a=3.0), [0.0, 3.0]),               # the value goes as 1/a and nothing else
    (dict(ez=10.0, vsigma1=1.5, vpi1=-0.5, **{"lambda": 0.5}), [0.0]),   # other velocities and λ
])
def test_clean_limit_is_the_nodal_line_value_at_every_soi_strength(params, mus):
    m = pcubic(**params)
    scale = CONDUCTANCE_QUANTUM * ANGSTROM_PER_CM / (np.pi * m.params["a"])
    for A in (0.2, 0.1):
        eq4, conv = eq4_orbital(m, mus, A)
        for mu, s in zip(mus, eq4):
            ref = predicted(m, mu)
            assert ref in (0.0, scale) and abs(s - ref) < 0.01 * scale, (params, A, mu, s, ref)
        assert abs(eq4[0]) > 0.9 * scale   # not a vanishing value that passes trivially
        assert abs(conv[0]) > 0.2 * scale  # the conventional OHE is finite too


def test_partial_line_value_tracks_the_occupied_fraction():
    """μ scanned through the (π, π) line's energy band: σ follows f_ππ(μ). Where the line crosses μ
    only one pair of the tube is occupied over a k_z range ∝ λA, and one k_z plane carries 1/N_z of
    the line: both set the tolerance (2 % of the full value at N_z = 128, A = 0.1)."""
    global NK
    m = pcubic(ez=10.0, vsigma2=0.6, vpi2=-0.1)
    nk_clean, NK = NK, (128, 128, 128)
    try:
        kz = (np.arange(NK[2]) + SHIFT[2]) / NK[2]
        E = line_energies(m, (0.5, 0.5), kz)
        mus = list(np.linspace(E.min() + 0.05, E.max() - 0.05, 4))
        eq4, _ = eq4_orbital(m, mus, 0.1)
        refs = [predicted(m, mu) for mu in mus]
    finally:
        NK = nk_clean
    scale = CONDUCTANCE_QUANTUM * ANGSTROM_PER_CM / (np.pi * m.params["a"])
    assert np.ptp(refs) > 0.5 * scale                 # the fractions do differ between the μ values
    assert np.allclose(eq4, refs, atol=0.02 * scale), (eq4, refs)


def test_dirty_regime_is_the_nodal_line_value_times_soi_gap_over_broadening_squared():
    """degen_tol Γ > λA (the line's SOI gap): the two Kramers pairs merge into one group where their
    splitting 2|d| is below Γ, i.e. on the part of the d-sphere with ⟨L_z⟩ = m/|d| > λA/Γ; what
    stays outside is the fraction (λA/Γ)² of the clean value: σ = σ_line (λA/Γ)², second order in
    λ (the paper's law) with a coefficient ∝ 1/Γ². The merged-group boundary is a step in k, so
    this converges from below with the mesh (128²: −7 %, 256²: −0.3 … −2 %)."""
    m = pcubic(ez=10.0)
    global NK
    nk_clean, NK = NK, (256, 256, 32)
    try:
        full = predicted(m, 0.0)
        sig = [eq4_orbital(m, [0.0], A, degen_tol=0.05)[0][0] for A in (0.05, 0.1)]
    finally:
        NK = nk_clean
    exponent = np.log(sig[1] / sig[0]) / np.log(2.0)
    assert abs(exponent - 2.0) < 0.05, (sig, exponent)
    lam = m.params["lambda"]
    for A, s in zip((0.05, 0.1), sig):
        assert abs(s / (full * (lam * A / 0.05) ** 2) - 1.0) < 0.03, (A, s, full)
