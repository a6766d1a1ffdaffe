"""1 rank vs ``mpiexec -n 2``: the same numbers (fixed chunk order), rank 0 alone writes."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from wannorb import parallel


def mpiexec():
    exe = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return exe if os.path.exists(exe) else None


def wannorb_cmd():
    return [sys.executable, "-m", "wannorb.cli"]


def run(cmd, env_extra=None, timeout=240):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    for v in parallel.LAUNCHER_VARS:
        env.pop(v, None)          # a test run under a launcher must not leak it into the 1-rank run
    env.update(env_extra or {})
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    assert p.returncode == 0, p.stderr[-2000:]
    return p


def test_no_mpi_without_launcher(monkeypatch):
    for v in parallel.LAUNCHER_VARS:
        monkeypatch.delenv(v, raising=False)
    assert parallel.launcher_comm() is None
    code = ("import sys, wannorb, wannorb.api, wannorb.cli, wannorb.parallel; "
            "assert 'mpi4py.MPI' not in sys.modules, 'MPI imported'")
    run([sys.executable, "-c", code])


def test_owned_chunks_cover_everything_once():
    got = sorted(c for r in range(3) for c in parallel.owned_chunks(10, r, 3))
    assert got == list(range(10))


@pytest.mark.mpi
@pytest.mark.parametrize("extra,nk", [(["--no-symmetry"], "12"), (["--filling", "2"], "14")])
def test_two_ranks_equal_one_rank(tmp_path, extra, nk):
    exe = mpiexec()
    if exe is None:
        pytest.fail("mpiexec not found: the mpich wheel should provide it")
    base = ["hall", "pcubic", "--param", "ex=0.1", "--nk", nk, "--kT", "0.05", "--no-progress"]
    if "--filling" not in extra:
        base += ["--mu=-0.8,0.3"]
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    run(wannorb_cmd() + base + extra + ["--output", str(one)])
    p = run([exe, "-n", "2"] + wannorb_cmd() + base + extra + ["--output", str(two),
                                                                 "--checkpoint", str(tmp_path / "ck")])
    assert p.stdout.count("wrote") == 1               # rank 0 alone reports and writes
    a, b = json.loads(one.read_text()), json.loads(two.read_text())
    assert a["mu"] == pytest.approx(b["mu"], abs=1e-12)
    assert b["diagnostics"]["n_chunks"] >= 4
    for m in a["sigma"]:
        for q in a["sigma"][m]:
            x, y = np.array(a["sigma"][m][q]), np.array(b["sigma"][m][q])
            assert np.abs(x - y).max() <= 1e-12 * np.abs(x).max()
    # both ranks wrote their chunks; a 1-rank rerun on the same folder loads all of them
    assert b["checkpoint"]["chunks_computed"] == b["diagnostics"]["n_chunks"]
    three = tmp_path / "three.json"
    run(wannorb_cmd() + base + extra + ["--output", str(three), "--checkpoint", str(tmp_path / "ck")])
    c = json.loads(three.read_text())
    assert c["checkpoint"]["chunks_computed"] == 0
    assert c["sigma"] == b["sigma"]
    # a 2-rank resume of a partial checkpoint computes exactly the missing chunks
    files = sorted((tmp_path / "ck").glob("chunk-*.npz"))
    for f in files[1::2]:
        f.unlink()
    run([exe, "-n", "2"] + wannorb_cmd() + base + extra + ["--output", str(three), "--checkpoint", str(tmp_path / "ck")])
    d = json.loads(three.read_text())
    assert d["checkpoint"]["chunks_computed"] == len(files[1::2])
    assert d["checkpoint"]["chunks_loaded"] == len(files) - len(files[1::2])
    assert d["sigma"] == b["sigma"]


@pytest.mark.mpi
def test_two_ranks_refuse_other_inputs_with_one_line(tmp_path):
    exe = mpiexec()
    if exe is None:
        pytest.fail("mpiexec not found: the mpich wheel should provide it")
    base = wannorb_cmd() + ["hall", "pcubic", "--nk", "6", "--filling", "2", "--no-progress",
                            "--checkpoint", str(tmp_path / "ck"), "--output", str(tmp_path / "o.json")]
    run(base)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    for v in parallel.LAUNCHER_VARS:
        env.pop(v, None)
    p = subprocess.run([exe, "-n", "2"] + base + ["--kT", "0.01"], capture_output=True, text=True, env=env,
                       timeout=240)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1 and "different inputs" in p.stderr


@pytest.mark.mpi
def test_screen_two_ranks_equal_one_rank(tmp_path):
    """`mpiexec -n 2 wannorb screen`: each Hall run split over the ranks, the same table, one writer."""
    exe = mpiexec()
    if exe is None:
        pytest.fail("mpiexec not found: the mpich wheel should provide it")
    base = ["screen", "Pt", "--nk", "8", "--kT", "0.05", "--no-progress"]
    env = {"WANNORB_CACHE": str(tmp_path / "cache")}
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    run(wannorb_cmd() + base + ["--output", str(one)], env)
    p = run([exe, "-n", "2"] + wannorb_cmd() + base + ["--output", str(two)], env)
    assert p.stdout.count("wrote") == 1
    a, b = json.loads(one.read_text())["rows"][0], json.loads(two.read_text())["rows"][0]
    assert len(list((tmp_path / "two.json.rows").glob("*.json"))) == 1
    for m in a["sigma_zxy"]:
        for q in a["sigma_zxy"][m]:
            assert b["sigma_zxy"][m][q] == pytest.approx(a["sigma_zxy"][m][q], rel=1e-12, abs=1e-9)


@pytest.mark.mpi
@pytest.mark.parametrize("mode", ["uniform", "planes", "adaptive"])
def test_sweep_two_ranks_equal_one_rank(tmp_path, mode):
    """`mpiexec -n 2 wannorb sweep --refine uniform|planes|adaptive`: every mesh pass, every batch of
    planes, or the base chunks and refinement batches, split over the ranks."""
    exe = mpiexec()
    if exe is None:
        pytest.fail("mpiexec not found: the mpich wheel should provide it")
    if mode == "uniform":
        base = ["sweep", "pcubic", "--soc-scales", "0.1,1", "--filling", "2", "--kT", "0.05", "--nk", "6",
                "--nk-max", "12", "--refine", "uniform", "--no-progress"]
    elif mode == "adaptive":
        # 8³ → 16³ with refinement down to level 4: several refinement steps of several batches each
        base = ["sweep", "pcubic", "--soc-scales", "0.05,0.5", "--filling", "2", "--kT", "0.05", "--nk", "8",
                "--nk-max", "16", "--no-progress"]
    else:
        base = ["sweep", "pcubic", "--soc-scales", "0.3", "--mu", "-0.86", "--kT", "0.05", "--refine", "planes",
                "--planes", "6", "--kz-rounds", "2", "--plane-grid", "12", "--plane-levels", "3", "--no-progress"]
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    run(wannorb_cmd() + base + ["--output", str(one)], {})
    p = run([exe, "-n", "2"] + wannorb_cmd() + base + ["--output", str(two)], {})
    assert p.stdout.count("wrote") == 1
    a, b = json.loads(one.read_text()), json.loads(two.read_text())
    assert np.allclose(a["mu_per_scale"], b["mu_per_scale"], rtol=0, atol=1e-12)
    for m in a["sigma"]:
        for q in a["sigma"][m]:
            assert b["sigma"][m][q] == pytest.approx(a["sigma"][m][q], rel=1e-12, abs=1e-9)
    assert b["mpi_ranks"] == 2 and a["mpi_ranks"] == 1
    if mode == "adaptive":
        # partial sums merged in batch order, flagged cells gathered in batch order: the same
        # refinement and bit for bit the same numbers as one rank
        assert a["sigma"] == b["sigma"] and a["error_estimate"] == b["error_estimate"]
        refined = [[m["n_refined_points"] for m in p["meshes"]] for p in a["points"]]
        assert refined == [[m["n_refined_points"] for m in p["meshes"]] for p in b["points"]]
        assert max(max(r) for r in refined) > 16 * 512           # several batches per step


def test_nodal_two_ranks_equal_one_rank(tmp_path):
    """`mpiexec -n 2 wannorb nodal`: the k_z planes dealt out over the ranks, the same census, one writer."""
    exe = mpiexec()
    if exe is None:
        pytest.fail("mpiexec not found: the mpich wheel should provide it")
    base = ["nodal", "pcubic", "--filling", "2", "--filling-nk", "16", "--planes", "6", "--grid", "24",
            "--plane-check", "0.1", "--plane-grid", "32", "--no-progress"]
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    run(wannorb_cmd() + base + ["--output", str(one)], {})
    p = run([exe, "-n", "2"] + wannorb_cmd() + base + ["--output", str(two)], {})
    assert p.stdout.count("wrote") == 1
    a, b = json.loads(one.read_text()), json.loads(two.read_text())
    assert b["mpi_ranks"] == 2 and len(b["planes"]) == len(a["planes"]) == 3
    assert b["prediction"] == pytest.approx(a["prediction"], rel=1e-12)
    assert b["plane_sum"] == pytest.approx(a["plane_sum"], rel=1e-12, abs=1e-12)
    assert b["plane_check"]["plane_sum"]["0.1"] == pytest.approx(a["plane_check"]["plane_sum"]["0.1"], rel=1e-10)
    assert b["plane_check"]["sigma"]["0.1"] == pytest.approx(a["plane_check"]["sigma"]["0.1"], rel=1e-10)
