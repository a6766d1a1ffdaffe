"""The command-line contract of `wannorb hall` / `wannorb info` (issue 3)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from wannorb.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "wannorb.cli", *args], capture_output=True, text=True)


def test_hall_json_contract(tmp_path):
    out = tmp_path / "o.json"
    assert main(["hall", "pcubic", "--filling", "2", "--kT", "0.05", "--nk", "8", "--no-progress",
                 "--output", str(out)]) == 0
    d = json.loads(out.read_text())
    for key in ("system", "soc_scale", "params", "nk", "kT", "mu", "units", "sigma"):
        assert key in d
    assert d["nk"] == [8, 8, 8] and d["system"] == "pcubic" and d["params"]["lambda"] == 0.2
    assert set(d["sigma"]) == {"eq4", "conventional", "conserved"}
    for m in d["sigma"]:
        assert set(d["sigma"][m]) == {"spin", "orbital"}
        arr = np.array(d["sigma"][m]["spin"])
        assert arr.shape == (1, 3, 3, 3)
        # [j][i][k]: σ^z_xy = −σ^z_yx
        assert np.isclose(arr[0][2][0][1], -arr[0][2][1][0])
    assert "S/cm" in d["units"]["sigma"] and d["units"]["mu"] == "eV"


def test_param_and_soc_scale_multiply_only_soc(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    main(["hall", "pcubic", "--mu", "-0.8", "--nk", "6", "--no-progress", "--quantities", "spin",
          "--param", "lambda=0.1", "--output", str(a)])
    main(["hall", "pcubic", "--mu", "-0.8", "--nk", "6", "--no-progress", "--quantities", "spin",
          "--soc-scale", "0.5", "--output", str(b)])
    sa, sb = (json.loads(p.read_text())["sigma"]["eq4"]["spin"] for p in (a, b))
    assert np.allclose(sa, sb, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("args, words", [
    (["hall", "nosuch", "--mu", "0", "--output", "x.json"], "unknown system"),
    (["hall", "pcubic", "--mu", "nan", "--output", "x.json"], "--mu must be finite"),
    (["hall", "pcubic", "--mu", "0", "--kT", "-1", "--output", "x.json"], "--kT must be >= 0"),
    (["hall", "pcubic", "--mu", "0", "--nk", "0", "--output", "x.json"], "--nk"),
    (["hall", "pcubic", "--mu", "0", "--methods", "kubo", "--output", "x.json"], "--methods"),
    (["hall", "pcubic", "--filling", "9", "--output", "x.json"], "--filling"),
    (["hall", "pcubic", "--mu", "0", "--param", "gamma=1", "--output", "x.json"], "unknown parameter"),
    (["hall", "pcubic", "--mu", "0", "--shift", "0.5,2,0", "--output", "x.json"], "--shift"),
    (["hall", "pcubic", "--output", "x.json"], "no Fermi energy"),
])
def test_bad_input_one_line_exit_2(args, words, tmp_path):
    r = subprocess.run([sys.executable, "-m", "wannorb.cli", *args], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2
    lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in r.stderr


def test_malformed_files_one_line(tmp_path):
    bad = tmp_path / "bad_tb.dat"
    bad.write_text("not a tb file\n1 2\n")
    r = run_cli("hall", str(bad), "--mu", "0", "--output", str(tmp_path / "x.json"))
    assert r.returncode == 2 and "malformed" in r.stderr and "Traceback" not in r.stderr
    orb = tmp_path / "orb.json"
    orb.write_text("{not json")
    r = run_cli("hall", "pcubic", "--mu", "0", "--orbitals", str(orb), "--output", str(tmp_path / "x.json"))
    assert r.returncode == 2 and "malformed JSON" in r.stderr
    orb.write_text(json.dumps({"orbitals": [{"site": 0, "m": "px"}, {"site": 0, "m": "qq"}, {"site": 0, "m": "pz"}]}))
    r = run_cli("hall", "pcubic", "--mu", "0", "--orbitals", str(orb), "--output", str(tmp_path / "x.json"))
    assert r.returncode == 2 and "unknown orbital" in r.stderr


def test_orbital_quantity_without_labels_fails_but_spin_works(tmp_path):
    from wannorb.io.wberri import to_wannierberri
    from wannorb.models import pcubic
    _, wbsys = to_wannierberri(pcubic())
    folder = tmp_path / "pc"
    wbsys.save_npz(str(folder))
    r = run_cli("hall", str(folder), "--mu", "-0.8", "--nk", "4", "--quantities", "orbital",
                "--output", str(tmp_path / "x.json"))
    assert r.returncode == 2 and "no orbital labels" in r.stderr
    r = run_cli("hall", str(folder), "--mu", "-0.8", "--nk", "4", "--quantities", "spin", "--no-progress",
                "--output", str(tmp_path / "s.json"))
    assert r.returncode == 0, r.stderr
    # the same numbers as the built-in model
    ref = tmp_path / "ref.json"
    main(["hall", "pcubic", "--mu", "-0.8", "--nk", "4", "--quantities", "spin", "--no-progress", "--output", str(ref)])
    a, b = (json.loads(p.read_text())["sigma"]["conventional"]["spin"] for p in (tmp_path / "s.json", ref))
    assert np.allclose(a, b, rtol=1e-10)
    # with orbital labels from a file, L works too
    orb = tmp_path / "orb.json"
    orb.write_text(json.dumps({"orbitals": [{"site": 0, "l": 1, "m": m} for m in ("px", "py", "pz")]}))
    r = run_cli("hall", str(folder), "--mu", "-0.8", "--nk", "4", "--orbitals", str(orb), "--no-progress",
                "--output", str(tmp_path / "o.json"))
    assert r.returncode == 0, r.stderr


def test_info(capsys):
    assert main(["info", "pcubic"]) == 0
    out = capsys.readouterr().out
    assert "#221" in out and "px py pz" in out


def write_tb_dat(model, path):
    """Wannier90 *_tb.dat (format of wannier90's hamiltonian.F90 / wannierberri's reader), centres at 0."""
    nw, nR = model.num_wann, len(model.R)
    lines = ["written by wannorb tests"] + [" ".join(f"{x:.10f}" for x in row) for row in model.lattice]
    lines += [str(nw), str(nR)] + [" ".join(["1"] * len(model.R[i:i + 15])) for i in range(0, nR, 15)]
    H = model.hamiltonian_R()
    for block in ("H", "A"):
        for r in range(nR):
            lines += ["", " ".join(str(x) for x in model.R[r])]
            for n in range(nw):
                for m in range(nw):
                    if block == "H":
                        lines.append(f"{m + 1} {n + 1} {H[r, m, n].real:.14e} {H[r, m, n].imag:.14e}")
                    else:
                        lines.append(f"{m + 1} {n + 1} " + " ".join(["0.0"] * 6))
    path.write_text("\n".join(lines) + "\n")


def test_wannier90_tb_file_through_wannierberri(tmp_path):
    """A *_tb.dat is read by wannierberri's reader and gives pcubic's numbers."""
    from wannorb.models import pcubic
    tb = tmp_path / "pc_tb.dat"
    write_tb_dat(pcubic(), tb)
    out = tmp_path / "tb.json"
    assert main(["hall", str(tb), "--mu", "-0.8", "--nk", "4", "--quantities", "spin", "--no-progress",
                 "--output", str(out)]) == 0
    ref = tmp_path / "ref.json"
    main(["hall", "pcubic", "--mu", "-0.8", "--nk", "4", "--quantities", "spin", "--no-progress", "--output", str(ref)])
    a, b = (json.loads(p.read_text())["sigma"]["eq4"]["spin"] for p in (out, ref))
    assert np.abs(a).max() > 1
    assert np.allclose(a, b, rtol=1e-8, atol=1e-8)
