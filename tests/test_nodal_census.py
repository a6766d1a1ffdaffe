"""Nodal-line census (wannorb/nodal.py): an independent route to the clean-limit Eq. (4) OHE.

The census never runs the full-zone Hall sum: it finds the spinless degeneracies of each plane
k_z = const and integrates wannorb's per-k kernel on a small disk around each one at a small
spin-orbit scale. Its numbers are checked against the closed forms of tests/test_nodal_line.py
((e²/ħ)/(π a) for the two-line model), against zero (crystal-field control: no spinless
degeneracies), against the analytic per-piercing value −2πW|ℓ_z| f, and for invariance under the
bookkeeping choices (symmetry orbits, time-reversal folding, SOC Taylor vs full sum), and on full
pcubic against wannorb's own full-zone sum at A = 0.1 on 128³ twin meshes (a cross-check only).
"""
import numpy as np
import pytest

from wannorb import api, bloch, nodal, spinless
from wannorb.errors import InputError
from wannorb.hall import CONDUCTANCE_QUANTUM
from wannorb.model import TBModel
from wannorb.models import pcubic

from helpers import generic_pcubic

LINE = CONDUCTANCE_QUANTUM * 1e8 / np.pi          # (e²/ħ)/(π a) · a, (ħ/e) S/cm · Å
CONTROL = dict(ex=-4.0, ey=0.0, ez=4.0, vsigma1=0.5, vpi1=-0.125, vsigma2=0.15, vpi2=-0.0375)
FAST = dict(n_planes=4, grid=32)


def synthetic_bcc(seed=3):
    """Random real hoppings on a bcc lattice, two sites (p shell at 0, s shell off-centre), the spin-up
    functions listed first (not alternating), a random Hermitian R-dependent spin-orbit term."""
    rng = np.random.default_rng(seed)
    a = 2.9
    lat = 0.5 * a * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]], float)
    R = np.array([r for r in np.ndindex(5, 5, 5)]) - 2
    nb = 4
    Hs = np.zeros((len(R), nb, nb))
    Hso = np.zeros((len(R), 2 * nb, 2 * nb), complex)
    index = {tuple(r): i for i, r in enumerate(R)}
    for i, r in enumerate(R):
        j = index[tuple(-r)]
        if j < i:
            continue
        decay = np.exp(-np.linalg.norm(r @ lat))
        h = rng.normal(size=(nb, nb)) * decay
        s = (rng.normal(size=(2 * nb, 2 * nb)) + 1j * rng.normal(size=(2 * nb, 2 * nb))) * 0.05 * decay
        if i == j:
            h = h + h.T
            s = s + s.conj().T
        Hs[i], Hs[j] = h, h.T
        Hso[i], Hso[j] = s, s.conj().T
    spin = np.array([0] * nb + [1] * nb)
    spatial = np.array(list(range(nb)) * 2)
    H0 = np.zeros((len(R), 2 * nb, 2 * nb), complex)
    for s in (0, 1):
        idx = np.nonzero(spin == s)[0]
        H0[:, idx[:, None], idx[None, :]] = Hs
    site = np.array([0, 0, 0, 1] * 2)
    centres = np.array([[0, 0, 0]] * 3 + [[0.7, 0.3, 0.2]], float)[spatial]
    orbital = ("px", "py", "pz", "s") * 2
    return TBModel(name="synthetic_bcc", lattice=lat, R=R, H0=H0, Hsoc=Hso, centres=centres, site=site,
                   orbital=orbital, spin=spin, spatial=spatial,
                   atom_positions=np.array([[0, 0, 0], [0.1, 0.2, 0.3]]), species=("A", "B"))


# ---------------------------------------------------------------------------------------------
# geometry and the fast Bloch sums
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lat, P, copies, images", [
    (2.5 * np.eye(3), 2 * np.pi / 2.5, 1, 1),
    (1.455 * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]), 4 * np.pi / 2.91, 4, 2),     # bcc Cr
    (1.96 * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]]), 4 * np.pi / 3.92, 2, 1),           # fcc Pt
])
def test_slicing_geometry(lat, P, copies, images):
    g = spinless.slicing_geometry(lat)
    assert np.allclose(g["periods"], P)
    assert g["n_copies"] == pytest.approx(copies)
    assert g["images_per_class"] == images
    assert g["area_2d"] * g["g_z"] == pytest.approx(g["v_bz"])            # slab × cell = one zone


def test_incommensurate_lattice_is_refused():
    lat = np.array([[1.0, 0, 0], [np.cos(1.0), np.sin(1.0), 0], [0, 0, 1.0]])
    with pytest.raises(InputError):
        spinless.axis_periods(lat)


def test_bloch_sums_match_hk_direct_and_the_plane_fft():
    m = synthetic_bcc()
    prep = spinless.prepare(m)
    assert list(prep.up) == [0, 1, 2, 3] and list(prep.dn) == [4, 5, 6, 7]    # read from model.spin
    k = np.random.default_rng(0).normal(size=(7, 3))
    for A in (0.0, 0.3):
        (H, dH), = spinless.full_hk(k, prep, [A], "exact")
        H2, dH2 = bloch.hk_direct(k, m.R_cart, m.hamiltonian_R(A), m.centres)
        assert np.abs(H - H2).max() < 1e-12
        assert np.abs(dH[:, :2] - dH2[:, :2]).max() < 1e-12
    # Taylor spin-orbit term: exact at k0, first order around it
    k0 = k[0]
    q = 1e-3 * np.array([[1.0, 0.5, 0.0]])
    (Ht, _), = spinless.full_hk(k0 + q, prep, [1.0], "taylor", k0=k0)
    (He, _), = spinless.full_hk(k0 + q, prep, [1.0], "exact")
    assert np.abs(Ht - He).max() < 1e-5
    geom = spinless.slicing_geometry(m.lattice)
    G, kz = 8, 0.37
    E = spinless.plane_energies(prep, geom["periods"], kz, G)
    ij = np.array([(1, 2), (5, 7), (0, 0)])
    pts = np.column_stack([ij * geom["periods"][:2] / G, np.full(3, kz)])
    assert np.allclose(E[ij[:, 0], ij[:, 1]], spinless.spinless_energies(pts, prep), atol=1e-10)


def test_plane_sea_integral_is_the_kernel_summed_over_the_plane():
    """The finite-A plane integral (FFT-built H, ∂H) equals wannorb's kernel on hk_direct's H(k) at
    every grid point, on a model with the spins listed blockwise and an off-centre site."""
    m = synthetic_bcc()
    prep = spinless.prepare(m)
    geom = spinless.slicing_geometry(m.lattice)
    P = np.asarray(geom["periods"])
    G, kz, A, mu = 12, 0.41, 0.7, 0.2
    I, mp = nodal.plane_sea_integral(prep, P, kz, G, A, mu, 0.05, 1e-5, area_cell=geom["area_2d"],
                                     offset=(0.25, 0.5), rows=5, keep_map=True)
    ii, jj = np.meshgrid(np.arange(G), np.arange(G), indexing="ij")
    k = np.column_stack([(ii.ravel() + 0.25) * P[0] / G, (jj.ravel() + 0.5) * P[1] / G, np.full(G * G, kz)])
    H, dH = bloch.hk_direct(k, m.R_cart, m.hamiltonian_R(A), m.centres)
    dH[:, 2] = 0.0
    val, _ = spinless.orbital_hall_integrand(k, H, dH, prep, mu, 0.05, 1e-5)
    dA = P[0] * P[1] / G ** 2
    assert np.abs(mp.ravel() - val * dA).max() < 1e-9 * max(1.0, np.abs(val * dA).max())
    n_cells = P[0] * P[1] / geom["area_2d"]
    assert I == pytest.approx(val.sum() * dA / n_cells, rel=1e-10, abs=1e-12)
    assert np.abs(val).max() > 1e-3                    # the comparison is not between zeros


def test_plane_sea_integrals_of_the_two_line_model_add_up_to_the_line_constant():
    """Independent of the census's node search and disks: the whole-plane Fermi-sea integral at
    A = 0.1 (clean: tolerance far below the gap λA), summed over k_z planes, gives (e²/ħ)/(π a) for
    the two-line model, and each plane carries the same share (the lines run along k_z)."""
    m = pcubic(ez=10.0)
    prep = spinless.prepare(m)
    geom = spinless.slicing_geometry(m.lattice)
    P = np.asarray(geom["periods"])
    n_planes = 4
    kz = (np.arange(n_planes) + 0.5) * geom["g_z"] / n_planes
    I = [nodal.plane_sea_integral(prep, P, z, 192, 0.1, 0.0, 0.0, 1e-6, area_cell=geom["area_2d"])[0]
         for z in kz]
    sigma = nodal.PREFACTOR * geom["g_z"] / n_planes * sum(I)
    exact = LINE / m.params["a"]
    assert sigma == pytest.approx(exact, rel=0.01), (sigma, exact)
    assert np.ptp(I) < 0.01 * abs(np.mean(I))


def test_adaptive_plane_integral_resolves_a_narrow_spin_orbit_tube():
    """At A = 0.01 the two-line model's tube (width ~ λA/v) is far below a 32² grid: the unrefined
    sum is off by a factor, the gap-driven refinement brings every plane to the line constant; with
    no refinement it is the FFT-built uniform sum (two independent constructions of H(k))."""
    m = pcubic(ez=10.0)
    prep = spinless.prepare(m)
    geom = spinless.slicing_geometry(m.lattice)
    P = np.asarray(geom["periods"])
    per_plane = LINE / m.params["a"] / (nodal.PREFACTOR * geom["g_z"])     # I(k_z) of the exact σ
    r = nodal.plane_sea_adaptive(prep, P, 0.3, 32, 0.01, 0.0, 0.0, 1e-6, area_cell=geom["area_2d"], levels=8)
    assert abs(r["by_level"][0] - per_plane) > 0.5 * per_plane          # the base grid misses the tube
    assert r["I"] == pytest.approx(per_plane, rel=5e-3), (r["I"], per_plane)
    assert not r["capped"] and r["unresolved"] == 0.0          # no finest cell left failing the gap criterion
    for z, A in ((0.3, 0.01), (0.8, 0.4)):
        r0 = nodal.plane_sea_adaptive(prep, P, z, 24, A, 0.3, 0.05, 1e-6, area_cell=geom["area_2d"], levels=0)
        u = nodal.plane_sea_integral(prep, P, z, 24, A, 0.3, 0.05, 1e-6, area_cell=geom["area_2d"])[0]
        assert r0["I"] == pytest.approx(u, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("system, mu", [("pcubic", -0.868), ("Cr", None)])
def test_symmetry_reduced_plane_integral_equals_the_full_box(system, mu):
    """One base cell per orbit of the plane operations and in-plane translations (bcc Cr: two cells
    per box), weighted by the orbit size and refined as its images would be: the same sum as the
    whole box, at a fraction of the points."""
    m = pcubic() if system == "pcubic" else api.load_system(system)
    mu = m.fermi_energy if mu is None else mu
    prep = spinless.prepare(m)
    geom = spinless.slicing_geometry(m.lattice)
    P = np.asarray(geom["periods"])
    ops, _, _ = nodal.plane_operations(m)
    reps, weight, used = nodal.grid_cell_orbits(m.lattice, P, 16, ops)
    assert used == len(ops) == 8 and weight.sum() == 16 * 16
    assert len(reps) < 16 * 16 / (4 * geom["images_per_class"])
    kw = dict(area_cell=geom["area_2d"], levels=3, velocity=10.0)
    a = nodal.plane_sea_adaptive(prep, P, 0.37, 16, 0.3, mu, 0.05, 1e-4, **kw)
    b = nodal.plane_sea_adaptive(prep, P, 0.37, 16, 0.3, mu, 0.05, 1e-4, ops=ops, **kw)
    assert abs(a["I"]) > 1.0 and b["I"] == pytest.approx(a["I"], rel=1e-9)
    assert b["n_points"] < a["n_points"] / 4


def test_spin_mixing_h0_is_refused():
    m = pcubic()
    H0 = np.array(m.H0)
    H0[0, 0, 1] = H0[0, 1, 0] = 0.1
    bad = TBModel(**{**{f: getattr(m, f) for f in m.__dataclass_fields__}, "H0": H0})
    with pytest.raises(InputError):
        spinless.prepare(bad)


# ---------------------------------------------------------------------------------------------
# nodes, windings, disks
# ---------------------------------------------------------------------------------------------

def test_refinement_finds_the_two_lines_and_their_windings():
    m = pcubic(ez=10.0)
    prep = spinless.prepare(m)
    geom = spinless.slicing_geometry(m.lattice)
    kz = 0.3
    def where(found):      # positions in units of π/a, modulo the reciprocal lattice
        return sorted((tuple(np.round(np.mod(c["k"][:2] / (np.pi / 2.5) + 1e-3, 2.0) - 1e-3, 4)), c["n"])
                      for c in found["classes"])

    found = nodal.find_piercings(prep, geom, kz, 20)
    assert where(found) == [((0.0, 0.0), 0), ((1.0, 1.0), 0)]
    assert found["parity_mismatch"] == 0
    for G in (7, 16):                    # other grids, with and without the Berry-phase second search
        for check in (True, False):
            assert where(nodal.find_piercings(prep, geom, kz, G, parity_check=check)) == where(found)
    for c in found["classes"]:
        w = nodal.winding(prep, c["k"], c["n"], 0.01)
        assert abs(w["W"]) == 2 and w["ell"] == pytest.approx(1.0) and w["min_weight"] > 0.99
    W = {tuple(np.round(c["k"][:2], 3)): nodal.winding(prep, c["k"], 0, 0.01)["W"] for c in found["classes"]}
    assert sum(W.values()) == 0                                # opposite windings on the two lines


def test_berry_phase_parity_marks_the_linear_nodes():
    """Crystal-field pcubic: every W = ±1 node is a π flux for both of its bands, so the plaquette
    holding it has odd parity for its pair; the census's nodes agree with the parities everywhere."""
    m = generic_pcubic()
    prep = spinless.prepare(m)
    geom = spinless.slicing_geometry(m.lattice)
    kz, G = 0.9, 24
    found = nodal.find_piercings(prep, geom, kz, G)
    assert found["parity_mismatch"] == 0 and len(found["nodes"]) >= 4
    _, U = np.linalg.eigh(spinless.plane_hamiltonians(prep, geom["periods"], kz, G, nodal.GRID_OFFSET))
    par, rel = nodal.plaquette_parities(U)
    checked = 0
    for nd in found["nodes"]:
        w = nodal.winding(prep, nd["k"], nd["n"], 1e-3)
        u = nd["k"][:2] / geom["periods"][:2] * G - np.asarray(nodal.GRID_OFFSET)
        i, j = np.floor(u).astype(int) % G
        if rel[i, j, nd["n"]] and abs(w["W"]) == 1:
            assert par[i, j, nd["n"]] == 1
            checked += 1
    assert checked >= 2


def test_disk_integral_is_independent_of_A_and_radius_and_equals_the_topological_value():
    m = pcubic(ez=10.0)
    prep = spinless.prepare(m)
    k0 = np.array([np.pi / 2.5, np.pi / 2.5, 0.3])            # the (π, π) line, below μ = 0
    vals = [nodal.disk_integral_at(prep, k0, 0, 0.0, 0.0, r, soc_gap=g)["C"] for r in (0.1, 0.2) for g in (5e-4, 2e-4)]
    assert np.allclose(vals, 4 * np.pi, rtol=2e-3), vals      # −2πWℓ = 4π, whatever A and the radius
    d = nodal.disk_integral(prep, k0, 0, 0.0, 0.0, 0.1)
    assert abs(d["C_half_A"] - d["C"]) < 1e-3 * abs(d["C"]) and abs(d["C_half_r"] - d["C"]) < 5e-3 * abs(d["C"])


def test_linear_crossings_match_their_topological_value():
    """Crystal-field pcubic: generic W = ±1 linear crossings, ℓ_z < 1 (tilted SOC axes)."""
    r = nodal.census(generic_pcubic(), -0.5, 0.05, **FAST)
    integ = [p for p in r["piercings"] if p["integrated"] and abs(p["C"]) > 0.1]
    assert integ and all(abs(p["W"]) == 1 for p in integ)
    assert any(p["ell"] < 0.9 for p in integ)
    for p in integ:
        assert abs(p["C"] - p["C_topo"]) < 2e-3 * abs(p["C_topo"]), p
        assert abs(p["C_half_A"] - p["C"]) < 0.01 * abs(p["C"]) and abs(p["C_half_r"] - p["C"]) < 0.01 * abs(p["C"])
    assert r["prediction"] == pytest.approx(r["prediction_topo"], rel=2e-3)


# ---------------------------------------------------------------------------------------------
# the census against the closed forms
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("params, mu, expected", [
    (dict(ez=10.0), 0.0, LINE / 2.5),           # (π, π) line below μ, (0, 0) above: 3099.2
    (dict(ez=10.0), 3.0, 0.0),                  # both below: windings cancel
    (dict(ez=10.0, a=3.0), 0.0, LINE / 3.0),    # 2582.7
])
def test_two_line_model(params, mu, expected):
    r = nodal.census(pcubic(**params), mu, 0.0, **FAST)
    scale = LINE / pcubic(**params).params["a"]
    assert abs(r["prediction"] - expected) < 0.01 * scale, (r["prediction"], expected)
    assert abs(r["prediction_topo"] - expected) < 1e-6 * scale
    c = r["checks"]
    assert abs(c["prediction_half_A"] - expected) < 0.01 * scale
    assert c["n_A_check_failed"] == c["n_r_check_failed"] == c["n_topo_mismatch"] == 0
    assert c["n_orbit_incomplete"] == 0 and not r["warnings"]
    assert len(r["piercings"]) == 2 * FAST["n_planes"] // 2          # two lines per plane, half the planes


def test_two_line_value_in_numbers():
    assert LINE / 2.5 == pytest.approx(3099.2, abs=0.05)
    assert LINE / 3.0 == pytest.approx(2582.7, abs=0.05)


def test_control_without_spinless_degeneracies_gives_zero():
    r = nodal.census(pcubic(**CONTROL), -4.0, 0.05, **FAST)
    assert r["piercings"] == [] and r["prediction"] == 0.0


def test_bookkeeping_does_not_change_the_number():
    """Full pcubic (lines on the C4 and C3 axes): symmetry orbits and k_z → −k_z folding vs every
    class of every plane; Taylor vs full spin-orbit Bloch sum inside the disks."""
    m = pcubic()
    kw = dict(n_planes=4, grid=24)
    a = nodal.census(m, -0.868, 0.05, **kw)
    b = nodal.census(m, -0.868, 0.05, symmetry=False, time_reversal=False, **kw)
    c = nodal.census(m, -0.868, 0.05, soc_mode="exact", **kw)
    assert a["prediction"] > 1000
    assert b["prediction"] == pytest.approx(a["prediction"], rel=1e-4)
    assert c["prediction"] == pytest.approx(a["prediction"], rel=1e-6)
    assert a["symmetry"]["n_plane_operations"] == 8 and len(b["piercings"]) > len(a["piercings"])


def test_full_pcubic_census_agrees_with_the_full_zone_sum_at_small_A():
    """The census never sums the zone; wannorb's own hall sum does. On full pcubic (lines on the
    C4 and C3 axes; at μ = −0.8649 eV, 2 e/cell, only the (π, π, k_z) line is partly occupied) the
    zone sum at A = 0.1 on 128³ twin meshes (resolving the spin-orbit tube, A² background negligible)
    agrees with the census's A → 0 value. (256³ twins at A = 0.05 give 1838.3.)"""
    m = pcubic()
    mu = -0.8649
    r = nodal.census(m, mu, 0.05, n_planes=32, grid=32)
    zone = [api.hall(m, mu=mu, kT=0.05, nk=128, shift=(s, s, s), soc_scale=0.1, methods=("eq4",),
                     quantities=("orbital",), progress=False).sigma["eq4"]["orbital"][0, 2, 0, 1]
            for s in (0.0, 0.5)]
    assert abs(zone[0] - zone[1]) < 0.002 * abs(zone[0])
    assert r["prediction"] == pytest.approx(np.mean(zone), rel=5e-3), (r["prediction"], zone)
    assert r["checks"]["n_flagged"] == 0


def test_cli_nodal_two_line_model(tmp_path, capsys):
    """``wannorb nodal``: the two-line model's closed form (e²/ħ)/(π a) through the command, its JSON
    (prediction, units) and plot; bad input ends in one line and exit code 2."""
    import json
    from wannorb.cli import main
    out, png = tmp_path / "c.json", tmp_path / "c.png"
    assert main(["nodal", "pcubic", "--param", "ez=10", "--mu", "0", "--kT", "0", "--planes", "4",
                 "--grid", "32", "--plane-check", "0.1", "--plane-grid", "32", "--plane-degen-tol", "1e-6",
                 "--no-progress", "--output", str(out), "--plot", str(png)]) == 0
    data = json.loads(out.read_text())
    exact = LINE / pcubic().params["a"]                  # (e²/ħ)/(π a), (ħ/e) S/cm
    assert data["prediction"] == pytest.approx(exact, rel=0.01)
    pc = data["plane_check"]                             # the whole planes at A = 0.1: the same constant
    assert pc["sigma"]["0.1"] == pytest.approx(exact, rel=0.01) and pc["grid_half"] == 16
    assert pc["sigma_half_grid"]["0.1"] == pytest.approx(exact, rel=0.01) and not pc["capped_planes"]
    assert pc["plane_sum"]["0.1"] == pytest.approx(data["plane_sum"], rel=0.01)
    assert data["units"]["plane_check.sigma, plane_check.sigma_half_grid"] == "(hbar/e) S/cm"
    assert data["prediction_topo"] == pytest.approx(exact, rel=1e-3)
    assert data["units"]["prediction"] == "(hbar/e) S/cm" and data["mu_source"] == "--mu"
    assert png.stat().st_size > 0
    assert "(ħ/e) S/cm" in capsys.readouterr().out
    for bad, word in ((["--planes", "7"], "--planes"), (["--mu", "nan"], "--mu"), (["--grid", "2.5"], "--grid"),
                      (["--plane-check", "-0.1"], "--plane-check"), (["--plane-check", "0.1", "--plane-grid", "x"],
                                                                      "--plane-grid")):
        assert main(["nodal", "pcubic", "--param", "ez=10", "--kT", "0", "--no-progress",
                     "--output", str(out), *(["--mu", "0"] if "--mu" not in bad else []), *bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and word in err[0], err


def test_flagged_disks_take_their_analytic_value(monkeypatch):
    """A disk that fails its own checks (flags) must not enter the prediction: its C_topo does.
    Simulated by corrupting and flagging every disk of the (π, π) line; the disk-only sum then
    misses the closed form, the prediction does not."""
    real = nodal.disk_integral

    def corrupted(*a, **kw):
        res = real(*a, **kw)
        res["C"] *= 0.1
        res["flags"] = res["flags"] + ["simulated failure"]
        return res
    monkeypatch.setattr(nodal, "disk_integral", corrupted)
    r = nodal.census(pcubic(ez=10.0), 0.0, 0.0, **FAST)
    exact = LINE / 2.5
    assert r["checks"]["n_flagged"] == r["checks"]["n_integrated"] > 0
    assert r["checks"]["prediction_disks"] == pytest.approx(0.1 * exact, rel=0.02)
    assert r["prediction"] == pytest.approx(exact, rel=1e-3)
    assert "flagged" in r["prediction_source"]
    dkz = r["geometry"]["g_z"] / FAST["n_planes"]
    assert nodal.PREFACTOR * dkz * sum(r["plane_sum_prediction"]) == pytest.approx(r["prediction"], rel=1e-12)
    assert nodal.PREFACTOR * dkz * sum(r["plane_sum"]) == pytest.approx(r["checks"]["prediction_disks"], rel=1e-12)
