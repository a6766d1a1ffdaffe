"""examples/nodal_plane_check.py: merging --plane-check runs and extrapolating σ(A) to A → 0."""
import json
import runpy
import sys
from pathlib import Path

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
