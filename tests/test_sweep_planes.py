"""refine='planes': σ as ∫dk_z of adaptively refined in-plane integrals (wannorb.planequad)."""
import json

import numpy as np
import pytest

from wannorb import api, planequad as pq, sweep
from wannorb.cli import main
from wannorb.models import pcubic

from helpers import run_example
from test_sweep import MU, SEPARATED

QUICK = dict(n_planes=8, kz_rounds=1, grid=24, levels=6)


def test_kz_rule_follows_a_sharp_peak_and_its_error_covers_the_truth():
    """∫ over one period of a Lorentzian of width 1e-3 (g_z = 1) plus a smooth part: 8 midpoint
    planes miss the peak; the rounds split the intervals around it, and the returned error is an
    upper bound of the true error once it says the target is met."""
    g, w, x0 = 1.0, 1e-3, 0.3137

    def f(kz):
        d = (np.asarray(kz) - x0 + 0.5) % 1.0 - 0.5
        return np.column_stack([1 + 0.5 * np.cos(2 * np.pi * np.asarray(kz)), (w / np.pi) / (d ** 2 + w ** 2)])

    exact = np.array([1.0, 2 * np.arctan(0.5 / w) / np.pi])
    r = pq.kz_adaptive(lambda ks: list(f(ks)), g, 8, 12, np.array([1e-3, 1e-3]), time_reversal=False)
    assert r["rounds"] >= 3
    assert np.all(np.abs(r["sum"] - exact) <= r["error"] + 1e-12)
    assert np.all(r["error"] <= 1e-3)
    assert sum(r["n_planes_per_round"]) < 500          # a uniform rule needs ~1e4 planes for 1e-3
    # the planes tile the period exactly
    c, wd, _ = r["planes"]
    assert wd.sum() == pytest.approx(g, abs=1e-12)


def test_component_operations_keep_the_invariant_subgroup():
    """Only operations mapping each axis of the component to ± itself are kept: the Kubo integrands
    are not antisymmetric in (i, k) point by point, so C4z does not leave σ^z_xy's integrand alone."""
    C4z = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
    C2z, Mx = np.diag([-1.0, -1, 1]), np.diag([-1.0, 1, 1])
    ops = np.array([np.eye(3), C4z, C2z, Mx, C2z @ Mx, C4z @ Mx])
    kept = pq.component_operations(ops, (2, 0, 1))
    assert len(kept) == 4 and not any(np.allclose(M, C4z) for M in kept)
    assert len(pq.component_operations(ops, (0, 1, 2))) == 4


def test_planes_agree_with_a_converged_uniform_mesh_on_pcubic():
    """A = 1: every method and quantity within the reported error (+0.2 %) of hall on 96³."""
    m = pcubic()
    d = sweep.sweep(m, [1.0], mu=[MU], kT=0.05, refine="planes", progress=False,
                    planes=dict(n_planes=8, kz_rounds=1, grid=32, levels=8))
    ref = api.hall(m, mu=[MU], kT=0.05, nk=96, shift=(0.5, 0.5, 0.5), progress=False)
    for meth in d["methods"]:
        for q in d["quantities"]:
            got, err, want = d["sigma"][meth][q][0], d["error_estimate"][meth][q][0], ref.component(meth, q)
            assert abs(got - want) <= err + 0.002 * abs(want), (meth, q, got, want, err)
            assert err < 0.02 * abs(want) + 5.0        # an error bar that says something
    p = d["points"][0]["planes"]
    assert p["n_planes_computed"] == 4 * 3 and d["planes"]["time_reversal_folding"]
    assert d["planes"]["n_plane_operations"] > 1


def test_symmetry_reduced_planes_equal_the_full_planes():
    """One base cell per orbit of the operations that keep the component: the same σ as the whole
    grid (σ^z_xy with C4z and mirrors; σ^x_yz with fewer), and the time-reversal folding of k_z."""
    m = pcubic()
    for comp in ("zxy", "xyz"):
        kw = dict(mu=[MU], kT=0.05, refine="planes", progress=False, component=comp,
                  planes=dict(QUICK, grid=16, levels=4))
        a = sweep.sweep(m, [0.3], symmetry=True, **kw)
        b = sweep.sweep(m, [0.3], symmetry=False, **kw)
        assert a["planes"]["base_cells_computed"] < b["planes"]["base_cells_computed"]
        for meth in a["methods"]:
            for q in a["quantities"]:
                assert a["sigma"][meth][q][0] == pytest.approx(b["sigma"][meth][q][0], rel=1e-9, abs=1e-9)


def test_exact_exponents_with_planes_on_the_separated_model():
    """SHE ∝ A, Eq. (4) OHE ∝ A², conventional OHE finite where no orbital degeneracy exists."""
    d = sweep.sweep(pcubic(ising=1, **SEPARATED), [0.01, 0.02, 0.04], mu=-1.3, kT=0.05, refine="planes",
                    progress=False, planes=QUICK)
    ex = d["exponents"]
    for meth in ("eq4", "conventional", "conserved"):
        assert abs(ex[meth]["spin"]["global"]["value"] - 1.0) < 0.05
    for meth in ("eq4", "conserved"):
        assert abs(ex[meth]["orbital"]["global"]["value"] - 2.0) < 0.05
    assert abs(ex["conventional"]["orbital"]["global"]["value"]) < 0.05


def test_cli_planes_json_and_errors(tmp_path, capsys):
    out, png = tmp_path / "p.json", tmp_path / "p.png"
    rc = main(["sweep", "pcubic", "--soc-scales", "0.5,1", "--mu", str(MU), "--refine", "planes", "--planes", "8",
               "--kz-rounds", "1", "--plane-grid", "16", "--plane-levels", "4", "--no-progress",
               "--output", str(out), "--plot", str(png)])
    assert rc == 0 and png.stat().st_size > 1000
    d = json.loads(out.read_text())
    for key in ("soc_scales", "mu", "component", "sigma", "converged", "error_estimate", "exponents", "units"):
        assert key in d
    assert d["refine"] == "planes" and d["planes"]["grid"] == 16 and d["planes"]["n_planes"] == 8
    p = d["points"][1]["planes"]
    for key in ("error_kz", "error_in_plane_grid", "error_in_plane_velocity", "grid_check_vacuous_planes", "unresolved", "sigma_by_kz_round",
                "plane_kz_invA", "plane_integrand", "plane_unresolved", "plane_points"):
        assert key in p
    text = capsys.readouterr().out
    assert "k_z planes" in text and "(hbar/e) S/cm" in text
    run_example("sweep_report.py", out)          # the report of the docs reads a planes sweep
    report = capsys.readouterr().out
    assert "refine = planes" in report and "planes," in report and "Gap split" in report
    bad = [["--planes", "7"], ["--plane-grid", "15"], ["--plane-velocity", "0"], ["--kz-rounds", "x"],
           ["--plane-flatness", "-1"], ["--plane-flatness", "nan"]]
    for extra in bad:
        assert main(["sweep", "pcubic", "--soc-scales", "1", "--mu", "0", "--refine", "planes", "--no-progress",
                     "--output", str(out)] + extra) == 2
    assert main(["sweep", "pcubic", "--soc-scales", "1", "--mu", "0", "--planes", "8", "--output", str(out)]) == 2
    assert main(["sweep", "pcubic", "--soc-scales", "1", "--mu", "0,1", "--refine", "planes", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("wannorb: error:") == len(bad) + 2 and "Traceback" not in err


@pytest.mark.parametrize("name", ["Ti", "Pt"])
def test_folded_plane_hamiltonian_is_the_direct_bloch_sum(name):
    """The ±p-paired, upper-triangle fold (and the plain sum it falls back to) give H(k) and all
    three ∂H(k) of the direct Bloch sum on a plane, Wannier-centre phases included (Ti: two sites)."""
    from wannorb import bloch, spinless
    m = api.load_system(name)
    P = spinless.slicing_geometry(m.lattice)["periods"]
    HR = m.H0 + 0.37 * m.Hsoc
    kz = 0.2345
    kxy = np.random.default_rng(3).random((7, 2)) * P[:2]
    H, dH = bloch.hk_direct(np.column_stack([kxy, np.full(7, kz)]), m.R_cart, HR, m.centres)
    f = pq.fold(m.R_cart, HR, P, kz, z_derivative=True)
    assert f.paired
    for folded in (f, _unpaired(m.R_cart, HR, P, kz)):
        H2, dH2 = pq.points_hk(kxy, kz, folded, m.centres)
        scale = np.abs(H).max()
        assert np.abs(H2 - H).max() < 1e-10 * scale
        assert np.abs(dH2 - dH).max() < 1e-10 * np.abs(dH).max()


def _unpaired(R_cart, HR, P, kz):
    """The fold's direct-sum form (what non-Hermitian data fall back to), rebuilt from the paired arrays."""
    f = pq.fold(R_cart, HR, P, kz, z_derivative=True)
    # rebuild B_p for all p from C, D, M0: B_p = (C − iD)/2 on p, B_{−p} = (C + iD)/2 conj-transposed
    up = (f.C - 1j * f.D) / 2                      # (B_p)_mn, m ≤ n, for p in the half
    dn = (f.C + 1j * f.D) / 2                      # conj((B_p)_nm) = (B_{−p})_mn
    C = np.concatenate([up, dn, f.M0[None]])
    Rxy = np.concatenate([f.Rxy, -f.Rxy, np.zeros((1, 2))])
    return pq.Folded(Rxy, C, np.zeros((0, 0)), np.zeros(C.shape[1], complex), f.n_blocks, f.nw, False)


def test_planes_checkpoint_resumes_a_killed_sweep(tmp_path, monkeypatch, capsys):
    """A sweep killed after some planes resumes from them: same numbers, only the missing planes
    computed; more k_z rounds reuse the stored planes; other inputs in the same folder are refused."""
    from wannorb import planequad as pq
    from wannorb import sweep as sw
    m = api.load_system("pcubic")
    kw = dict(mu=MU, kT=0.05, refine="planes", planes=dict(n_planes=8, kz_rounds=1, grid=16, levels=4),
              progress=False, checkpoint=tmp_path / "ck")
    real, calls = pq.adaptive_plane, []

    def dying(*a, **k):
        calls.append(1)
        if len(calls) == 7:
            raise KeyboardInterrupt("killed")
        return real(*a, **k)
    monkeypatch.setattr(pq, "adaptive_plane", dying)
    with pytest.raises(KeyboardInterrupt):
        sw.sweep(m, [0.5], **kw)
    monkeypatch.setattr(pq, "adaptive_plane", real)
    resumed = sw.sweep(m, [0.5], **kw)
    ck = resumed["points"][0]["planes"]["checkpoint"]
    assert ck["planes_loaded"] == 6 and ck["planes_computed"] > 0
    fresh = sw.sweep(m, [0.5], **dict(kw, checkpoint=None))
    assert resumed["sigma"] == fresh["sigma"] and resumed["error_estimate"] == fresh["error_estimate"]
    again = sw.sweep(m, [0.5], **dict(kw, planes=dict(kw["planes"], kz_rounds=2)))
    ck2 = again["points"][0]["planes"]["checkpoint"]
    assert ck2["planes_loaded"] == ck["planes_loaded"] + ck["planes_computed"]
    out = tmp_path / "s.json"
    base = ["sweep", "pcubic", "--soc-scales", "0.5", "--mu", str(MU), "--no-progress", "--output", str(out)]
    assert main(base + ["--refine", "planes", "--planes", "8", "--kz-rounds", "1", "--plane-grid", "16",
                        "--plane-levels", "4", "--kT", "0.02", "--checkpoint", str(tmp_path / "ck")]) == 2
    assert main(base + ["--refine", "off", "--nk", "8", "--checkpoint", str(tmp_path / "ck2")]) == 2
    err = capsys.readouterr().err
    assert err.count("wannorb: error:") == 2 and "different inputs" in err and "Traceback" not in err


def test_flatness_rule_skips_flat_near_degeneracies_but_resolves_a_node():
    """A massive 2D Dirac node (gap √(m² + v²r²), Berry-curvature peak of width m/v) beside a pair
    of states 20 meV apart over the whole plane: the velocity criterion alone refines the whole plane
    for the flat pair; the flatness rule refines only around the node, with the same integral."""
    m_gap, vel, k0 = 2e-3, 1.0, np.array([0.37, 0.61])
    P = np.array([1.3, 1.3])

    def values(k, flat_pair=True):
        r2 = ((k - k0) ** 2).sum(1)
        node = np.sqrt(m_gap ** 2 + vel ** 2 * r2)
        peak = m_gap * vel ** 2 / (2 * (m_gap ** 2 + vel ** 2 * r2) ** 1.5)
        smooth = 1.0 + 0.1 * np.cos(2 * np.pi * k[:, 0] / P[0])
        flat = 0.02 * (1 + 0.05 * np.sin(2 * np.pi * k[:, 1] / P[1]))
        gaps = np.column_stack([node, flat if flat_pair else np.full(len(k), np.inf)])
        return np.column_stack([peak, smooth]), gaps

    kw = dict(levels=12, velocity=4.0, max_points=5_000_000)
    plain = pq.adaptive_plane(values, P, 16, **kw)
    rule = pq.adaptive_plane(values, P, 16, flatness=0.3, **kw)
    node_only = pq.adaptive_plane(lambda k: values(k, False), P, 16, **kw)
    assert not plain["capped"] and not rule["capped"]
    assert rule["n_points"] < plain["n_points"] / 20
    assert rule["n_points"] <= 2 * node_only["n_points"]
    # the peak (≈ π over the plane) against a 8× stricter velocity criterion: the rule is as close as
    # the plain criterion (both carry the V = 4 criterion's ~0.4 % error, which the sweep's velocity
    # check measures), and the smooth part is the same
    ref = pq.adaptive_plane(lambda k: values(k, False), P, 64, levels=16, velocity=32.0, max_points=5_000_000)
    assert abs(ref["I"][0] - np.pi) < 0.005 * np.pi
    assert abs(rule["I"][0] - ref["I"][0]) <= abs(plain["I"][0] - ref["I"][0]) + 1e-4 * np.pi < 0.01 * np.pi
    assert np.allclose(rule["I"], plain["I"], rtol=2e-3)
    assert np.all(rule["unresolved"] <= plain["unresolved"] + 1e-12)


def test_flatness_in_a_sweep_reports_its_check_and_agrees_on_pcubic():
    """--plane-flatness through the sweep: the error carries the doubled-rule check, the settings line
    names it, and the values agree with the plain criterion within the two error estimates."""
    m = api.load_system("pcubic")
    kw = dict(mu=MU, kT=0.05, refine="planes", progress=False)
    plain = sweep.sweep(m, [0.3], planes=QUICK, **kw)
    rule = sweep.sweep(m, [0.3], planes=dict(QUICK, flatness=0.3), **kw)
    p = rule["points"][0]["planes"]
    assert "error_in_plane_flatness" in p and "flatness 0.3" in sweep.integration_summary(rule)
    assert all(v == 0 for d in plain["points"][0]["planes"]["error_in_plane_flatness"].values() for v in d.values())
    for meth in rule["sigma"]:
        for q in rule["sigma"][meth]:
            a, b = rule["sigma"][meth][q][0], plain["sigma"][meth][q][0]
            ea, eb = rule["error_estimate"][meth][q][0], plain["error_estimate"][meth][q][0]
            assert abs(a - b) <= ea + eb + 1e-3 * abs(b), (meth, q, a, b, ea, eb)


def test_plane_profile_is_the_sweeps_planes_and_sums_to_its_sigma():
    """plane_profile at the sweep's k_z gives the sweep's plane integrands, and Σ width·density over
    those planes (×2 for the k_z ↔ −k_z folding) is the sweep's σ; bad A is one InputError."""
    m = pcubic()
    planes = dict(QUICK, flatness=0.3)
    d = sweep.sweep(m, [0.3], mu=MU, kT=0.05, refine="planes", progress=False, planes=planes)
    p = d["points"][0]["planes"]
    prof = sweep.plane_profile(m, 0.3, p["plane_kz_invA"], mu=MU, kT=0.05, planes=planes, progress=False)
    fold = 2 if p["kz_time_reversal_folding"] else 1
    w = np.asarray(p["plane_width_invA"])
    for meth in d["methods"]:
        for q in d["quantities"]:
            got = np.asarray(prof["density"][meth][q])
            assert got == pytest.approx(pq.PREFACTOR * np.asarray(p["plane_integrand"][meth][q]), rel=1e-10, abs=1e-12)
            assert fold * (w * got).sum() == pytest.approx(d["sigma"][meth][q][0], rel=1e-9, abs=1e-9)
    with pytest.raises(sweep.InputError, match="SOI scale"):
        sweep.plane_profile(m, 0.0, [0.1], mu=MU, progress=False)
