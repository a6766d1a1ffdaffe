"""``wannorb edge`` command-line contract (issue 7)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from wannorb.cli import main

KEYS = {"kn", "y_over_lambda", "j_kinetic", "j_hydro", "lz_kinetic", "lz_hydro", "summary", "units",
        "resolution"}
SUMMARY = {"j_edge_kinetic", "j_edge_hydro", "j_mean_kinetic", "j_mean_hydro", "B",
           "half_ribbon_accumulation_kinetic", "half_ribbon_accumulation_hydro"}


def test_cli_writes_contract_json_and_plot(tmp_path):
    out, png = tmp_path / "edge.json", tmp_path / "edge.png"
    assert main(["edge", "--kn", "0.5", "--output", str(out), "--plot", str(png), "--refine", "1",
                 "--quiet"]) == 0
    d = json.loads(out.read_text())
    assert KEYS <= set(d) and SUMMARY <= set(d["summary"])
    assert d["kn"] == 0.5
    y = np.array(d["y_over_lambda"])
    assert y[0] == pytest.approx(-1.0) and y[-1] == pytest.approx(1.0)
    assert np.array_equal(y, -y[::-1])                       # y_i = -y_{n-1-i}
    n = y.size
    for key in ("j_kinetic", "j_hydro", "lz_kinetic", "lz_hydro"):
        assert len(d[key]) == n
    j = np.array(d["j_kinetic"])
    assert np.allclose(j, j[::-1], atol=1e-12)
    lz = np.array(d["lz_kinetic"][1:-1], dtype=float)
    assert d["lz_kinetic"][0] is None and d["lz_kinetic"][-1] is None   # log-divergent at the edges
    assert np.allclose(lz, -lz[::-1], atol=1e-10)
    s = d["summary"]
    assert s["j_edge_kinetic"] == j[-1]
    assert set(d["units"]) >= {"j_kinetic", "lz_kinetic", "y_over_lambda"}
    assert d["resolution"]["n_y"] == n
    assert png.stat().st_size > 1000


def test_cli_physical_units(tmp_path):
    out = tmp_path / "ti.json"
    args = ["edge", "--lambda-nm", "7", "--width-nm", "7", "--eps-f", "1", "--mass", "1", "--rho", "40",
            "--field", "1e4", "--output", str(out), "--refine", "0", "--quiet"]
    assert main(args) == 0
    d = json.loads(out.read_text())
    assert d["kn"] == 1.0
    ph = d["physical"]
    assert len(ph["lz_hydro_per_nm2"]) == len(d["y_over_lambda"])
    assert ph["y_nm"][-1] == pytest.approx(3.5)


@pytest.mark.parametrize("bad", [
    ["--kn", "0"], ["--kn", "-0.1"], ["--kn", "nan"], ["--kn", "inf"], ["--kn", "1e-6"],
    ["--lambda-nm", "7", "--width-nm", "-10"], ["--lambda-nm", "-7", "--width-nm", "10"],
    ["--kn", "0.1", "--slip", "-1"], ["--kn", "0.1", "--refine", "-1"], [],
])
def test_cli_bad_input_exit_code_2(tmp_path, bad, capsys):
    assert main(["edge", *bad, "--output", str(tmp_path / "x.json"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("wannorb: error:")


def test_cli_subprocess_exit_code(tmp_path):
    r = subprocess.run([sys.executable, "-m", "wannorb.cli", "edge", "--kn", "-1", "--output",
                        str(tmp_path / "x.json")], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Knudsen" in r.stderr
