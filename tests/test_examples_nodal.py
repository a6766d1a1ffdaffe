"""examples/nodal_plane_check.py: merging --plane-check runs and extrapolating σ(A) to A → 0."""
import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from wannorb.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
LINE_A25 = 3099.2          # (e²/ħ)/(π a) at a = 2.5 Å, (ħ/e) S/cm (tests/test_nodal_line.py)


def test_plane_check_example_merges_runs_and_extrapolates(tmp_path, capsys, monkeypatch):
    base = ["nodal", "pcubic", "--param", "ez=10", "--mu", "0", "--kT", "0", "--planes", "2", "--grid", "32",
            "--plane-grid", "32", "--plane-degen-tol", "1e-6", "--no-progress"]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert cli(base + ["--plane-check", "0.2,0.1", "--output", str(a)]) == 0
    assert cli(base + ["--plane-check", "0.05", "--output", str(b)]) == 0
    out, png = tmp_path / "s.json", tmp_path / "s.png"
    monkeypatch.setattr(sys, "argv", ["nodal_plane_check.py", str(a), str(b), "--plot", str(png), "--output", str(out)])
    with pytest.raises(SystemExit) as e:
        runpy.run_path(str(ROOT / "examples" / "nodal_plane_check.py"), run_name="__main__")
    assert e.value.code == 0
    s = json.loads(out.read_text())
    assert s["soc_scales"] == [0.05, 0.1, 0.2] and png.stat().st_size > 0
    assert s["census"] == pytest.approx(LINE_A25, rel=0.01)
    assert s["extrapolation"]["quadratic_3_smallest"] == pytest.approx(LINE_A25, rel=0.01)
    text = capsys.readouterr().out
    assert "σ(A) − census" in text and "(ħ/e) S/cm" in text
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"system": "x"}))
    monkeypatch.setattr(sys, "argv", ["nodal_plane_check.py", str(bad)])
    with pytest.raises(SystemExit) as e:
        runpy.run_path(str(ROOT / "examples" / "nodal_plane_check.py"), run_name="__main__")
    assert "no plane_check block" in str(e.value.code)


def test_census_planes_clean_matches_census_and_dirty_lines_leave(tmp_path, capsys, monkeypatch):
    """examples/census_planes.py: on the census's own planes the sweep's plane quadrature at Γ far below
    the lines' SOI gaps gives the census's constant (the closed form (e²/ħ)/(πa)); at Γ above every
    gap the lines' groups merge and their part leaves (the dirty share says all of it)."""
    census = tmp_path / "c.json"
    assert cli(["nodal", "pcubic", "--param", "ez=10", "--mu", "0", "--kT", "0", "--planes", "4", "--grid", "32",
                "--no-progress", "--output", str(census)]) == 0
    out, png = tmp_path / "p.json", tmp_path / "p.png"

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["census_planes.py", *map(str, args)])
        with pytest.raises(SystemExit) as e:
            runpy.run_path(str(ROOT / "examples" / "census_planes.py"), run_name="__main__")
        return e.value.code
    assert run(census, "--runs", "0.1:1e-6,0.1:0.05", "--plane-grid", "32", "--plane-levels", "8",
               "--output", out, "--plot", png) == 0
    d = json.loads(out.read_text())
    clean, dirty = d["runs"]
    assert d["folded"] and len(d["kz_invA"]) == 2 and png.stat().st_size > 0
    assert d["census_sigma"] == pytest.approx(LINE_A25, rel=0.01)
    assert clean["sigma"] == pytest.approx(LINE_A25, rel=0.01) and clean["dirty_share"] == 0
    assert np.allclose(clean["density"], d["census_density"], rtol=0.02)
    assert dirty["dirty_share"] == 1 and dirty["sigma"] < 0.5 * LINE_A25
    assert "(hbar/e) S/cm" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"system": "x"}))
    assert "cannot read the census" in str(run(bad, "--runs", "0.1:1e-6", "--output", out))
    assert "A:GAMMA" in str(run(census, "--runs", "0.1", "--output", out))
    assert "positive" in str(run(census, "--runs", "0.1:nan", "--output", out))
    assert "--plane-velocity" in str(run(census, "--runs", "0.1:1e-6", "--plane-velocity", "0", "--output", out))
    assert "--plane-flatness" in str(run(census, "--runs", "0.1:1e-6", "--plane-flatness", "-1", "--output", out))


def test_census_planes_reads_the_column_the_prediction_sums():
    """A flagged disk's integral is replaced by its analytic C_topo in the census's prediction; the
    per-plane comparison must use the same numbers (Pt: disk 50.2 against analytic 23.1)."""
    f = runpy.run_path(str(ROOT / "examples" / "census_planes.py"))["census_planes"]
    disk, topo, pred = [1.0, 50.2], [1.1, 23.1], [1.0, 23.1]
    new = {"plane_sum": disk, "plane_sum_topo": topo, "plane_sum_prediction": pred,
           "prediction_source": "disk integrals; analytic C_topo for the 1 flagged disks"}
    old_flagged = {k: v for k, v in new.items() if k != "plane_sum_prediction"}
    old_clean = {"plane_sum": disk, "plane_sum_topo": topo, "prediction_source": "disk integrals"}
    assert f(new)[1] == "plane_sum_prediction" and list(f(new)[0]) == pred
    assert f(old_flagged)[1] == "plane_sum_topo" and list(f(old_flagged)[0]) == topo
    assert f(old_clean)[1] == "plane_sum" and list(f(old_clean)[0]) == disk
