"""examples/point_scaling.py and examples/kz_profile.py: the k-local scaling diagnostics of Cr's SHE."""
import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(monkeypatch, name, *args):
    monkeypatch.setattr(sys, "argv", [name, *map(str, args)])
    with pytest.raises(SystemExit) as e:
        runpy.run_path(str(ROOT / "examples" / name), run_name="__main__")
    return e.value.code


def test_gamma_triplet_term_scales_as_root_A_on_pcubic(tmp_path, monkeypatch, capsys):
    """pcubic's p triplet at Γ (occupied at μ = 2.5 eV): SOI ξA against a quadratic dispersion, so the
    Eq. (4) − conserved SHE integrand is a function of k/√A and a cube of half-side ∝ √A holds a part
    ∝ √A — the same D/√A at A and 4A (a first-order part would double), and not a vanishing one."""
    out, png = tmp_path / "g.json", tmp_path / "g.png"
    assert run(monkeypatch, "point_scaling.py", "pcubic", "--mu", "2.5", "--soc-scales", "0.001,0.004",
               "--sizes", "1,2", "--scale", "0.3", "--n", "12", "--degen-tol-over-A", "0.01",
               "--output", out, "--plot", png) == 0
    d = json.loads(out.read_text())
    assert png.stat().st_size > 0 and "(hbar/e) S/cm" in capsys.readouterr().out
    for s in (1.0, 2.0):
        a, b = ([r["D"]["eq4-conserved"]["spin"] / np.sqrt(r["A"]) for r in d["rows"] if r["size"] == s and r["A"] == A]
                for A in (0.001, 0.004))
        assert abs(a[0]) > 10.0                       # (ħ/e) S/cm per √A: a real contribution
        assert b[0] == pytest.approx(a[0], rel=2e-3)
        r = [x for x in d["rows"] if x["size"] == s]
        assert r[0]["D"]["eq4-conserved"]["spin"] == pytest.approx(r[0]["D"]["eq4"]["spin"] - r[0]["D"]["conserved"]["spin"])
    assert "--n even" in str(run(monkeypatch, "point_scaling.py", "pcubic", "--mu", "0", "--soc-scales", "0.1",
                                 "--n", "3", "--output", tmp_path / "x.json"))


def test_point_scaling_nested_cubes_share_points(tmp_path, monkeypatch):
    """--n per size keeps the spacing: the cube of half-side 2L on 8³ points is exactly the sum of its
    eight octants (boxes of half-side L on 4³ points around k0 ± L), so D(s2) − D(s1) is a shell of the
    same grid; the rows record n, and a wrong count of --n values is one error line."""
    from wannorb import api
    from wannorb.hall import METHODS, QUANTITIES, operator_stack
    ns = runpy.run_path(str(ROOT / "examples" / "point_scaling.py"))
    system = api.load_system("pcubic")
    Xops, midx = operator_stack(system, QUANTITIES), list(range(len(METHODS)))
    L, k0 = 0.07, np.array([0.01, -0.02, 0.03])
    big = ns["box_sum"](system, 0.3, k0, [2 * L] * 3, 8, 2.5, 0.05, 1e-6, (2, 0, 1), Xops, midx)
    octants = sum(ns["box_sum"](system, 0.3, k0 + L * np.array(sg), [L] * 3, 4, 2.5, 0.05, 1e-6, (2, 0, 1), Xops, midx)
                  for sg in np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T)
    assert np.abs(big).max() > 1e-3 and np.allclose(big, octants, rtol=1e-10, atol=1e-12)
    out = tmp_path / "n.json"
    assert run(monkeypatch, "point_scaling.py", "pcubic", "--mu", "2.5", "--soc-scales", "0.01", "--sizes", "1,2",
               "--n", "4,8", "--scale", "0.3", "--output", out) == 0
    assert [r["n"] for r in json.loads(out.read_text())["rows"]] == [4, 8]
    assert "one per size" in str(run(monkeypatch, "point_scaling.py", "pcubic", "--mu", "0", "--soc-scales", "0.1",
                                     "--sizes", "1,2,4", "--n", "4,8", "--output", out))


def test_kz_window_quadrature_on_an_analytic_profile():
    """The log-trapezoid window of kz_profile.py: s(k_z) = 1/(A(1 + (k_z/A)²)) has 2∫_0^{A u} s = 2 arctan(u)
    whatever A; the estimate covers the error and is small."""
    ns = runpy.run_path(str(ROOT / "examples" / "kz_profile.py"))
    u = ns["nodes"](0.01, 12.0, 1.2)
    assert (len(u) - 1) % 2 == 0 and 12.0 <= u[-1] < 12.0 * 1.2 ** 2
    for A in (0.003, 0.03):
        s = 1.0 / (A * (1.0 + u ** 2))
        w, err = ns["window"](u, s, A)
        exact = 2 * np.arctan(u[-1])
        assert abs(w - exact) <= err and err < 0.02 * exact


def test_kz_profile_runs_and_writes_windows(tmp_path, monkeypatch, capsys):
    out = tmp_path / "p.json"
    assert run(monkeypatch, "kz_profile.py", "pcubic", "--mu", "-0.868", "--soc-scales", "0.2",
               "--plane-grid", "8", "--plane-levels", "2", "--u-min", "0.5", "--u-max", "2", "--ratio", "1.5",
               "--output", out, "--plot", tmp_path / "p.png") == 0
    d = json.loads(out.read_text())
    w = d["windows"]["0.2"]
    assert set(w) == {"eq4", "conventional", "conserved", "eq4-conserved"}
    assert w["eq4-conserved"]["spin"]["value"] == pytest.approx(w["eq4"]["spin"]["value"] - w["conserved"]["spin"]["value"])
    assert len(d["profiles"][0]["kz_invA"]) == len(d["u_invA"]) and "(hbar/e) S/cm" in capsys.readouterr().out


def test_sqrt_term_fit_recovers_a_root_A_part(capsys):
    """The sweep's Eq. (4) − conserved SHE fit a·A + b·√A (wannorb.scaling.sqrt_term_fit, printed by
    sweep_report): exact on synthetic data, b ≈ 0 for a first-order difference, only A ≤ 0.1 used."""
    from wannorb.scaling import sqrt_term, sqrt_term_fit
    ns = runpy.run_path(str(ROOT / "examples" / "sweep_report.py"))
    A = [0.003, 0.01, 0.03, 0.1, 1.0]
    cons = [-300.0 * a for a in A]

    def sweep(a_coef, b_coef):
        eq4 = [c + a_coef * a + b_coef * np.sqrt(a) for c, a in zip(cons, A)]
        eq4[-1] += 1e3          # A = 1 lies outside the fit: it must not move it
        return {"soc_scales": A, "methods": ["eq4", "conserved"], "quantities": ["spin"],
                "sigma": {"eq4": {"spin": eq4}, "conserved": {"spin": cons}},
                "error_estimate": {"eq4": {"spin": [0.05] * 5}, "conserved": {"spin": [0.01] * 5}}}
    st = ns["two_term_fit"](sweep(-50.0, 30.0))
    assert [st["a"], st["b"]] == pytest.approx([-50.0, 30.0], rel=1e-9) and st["chi2"] < 1e-12
    assert st["n_points"] == 4 and st["dof"] == 2 and "b = 30" in capsys.readouterr().out
    d = sweep(-50.0, 0.0)
    st = sqrt_term(d["methods"], d["quantities"], A, d["sigma"], d["error_estimate"])
    assert abs(st["b"]) < 1e-9 and st["stderr"]["b"] > 0
    alt = st["alternatives"]            # a first-order difference: a·A fits exactly, b·√A does not
    assert alt["a*A"]["coefficients"] == pytest.approx([-50.0]) and alt["a*A"]["chi2"] < 1e-12
    assert alt["b*sqrt(A)"]["chi2"] > 100 and alt["a*A"]["dof"] == 3
    d = sweep(0.0, 30.0)
    alt = sqrt_term(d["methods"], d["quantities"], A, d["sigma"], d["error_estimate"])["alternatives"]
    assert alt["b*sqrt(A)"]["coefficients"] == pytest.approx([30.0]) and alt["a*A"]["chi2"] > 100
    lnA = [-50.0 * a + 7.0 * a * np.log(1 / a) for a in A]       # A ln(1/A): only its own form is exact
    d["sigma"]["eq4"]["spin"] = [c + x for c, x in zip(cons, lnA)]
    alt = sqrt_term(d["methods"], d["quantities"], A, d["sigma"], d["error_estimate"])["alternatives"]
    assert alt["a*A + c*A*ln(1/A)"]["coefficients"] == pytest.approx([-50.0, 7.0]) and alt["a*A"]["chi2"] > 10
    assert sqrt_term_fit(A[2:], [1.0] * 3, [0.0] * 3, [0.1] * 3, [0.1] * 3) is None     # 2 scales ≤ 0.1
    assert sqrt_term_fit([0.01, 0.01, 0.03], [1.0] * 3, [0.0] * 3, [0.1] * 3, [0.1] * 3) is None  # 2 distinct
    assert sqrt_term(["eq4", "conventional"], ["spin"], A, d["sigma"], d["error_estimate"]) is None
