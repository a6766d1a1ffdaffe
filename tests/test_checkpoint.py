"""Checkpoint/restart: SIGKILL a run mid-way, rerun, same result; nothing finished recomputed;
a run with other inputs is refused with one line."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from wannorb import api, checkpoint
from wannorb.models import pcubic

ARGS = dict(mu=[-0.7, 0.2], kT=0.05, nk=12, symmetry=False, progress=False)

# The interrupted run: the real api.hall with a chunk runner that pauses after each chunk, so
# that the kill lands while chunks remain (the checkpoint layer sits inside api.hall, under it).
SLOW_RUN = textwrap.dedent("""
    import sys, time
    from wannorb import api
    from wannorb.integration import run_chunks
    from wannorb.models import pcubic

    def slow(n, compute, **kw):
        def paced(c):
            out = compute(c)
            time.sleep(0.3)
            return out
        return run_chunks(n, paced, **kw)

    api.hall(pcubic(), mu=[-0.7, 0.2], kT=0.05, nk=12, symmetry=False, progress=False,
             chunk_runner=slow, checkpoint=sys.argv[1])
    print("finished")
""")


def sigma_arrays(res):
    return {(m, q): np.array(res.sigma[m][q]) for m in res.methods for q in res.quantities}


def chunk_files(folder):
    return sorted(p for p in os.listdir(folder) if p.startswith("chunk-"))


def test_kill_and_resume(tmp_path):
    ck = tmp_path / "ck"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_RUN, str(ck)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    deadline = time.time() + 120
    while time.time() < deadline:
        if ck.is_dir() and len(chunk_files(ck)) >= 3:
            break
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = chunk_files(ck)
    stamps = {f: os.stat(ck / f).st_mtime_ns for f in done}
    assert 3 <= len(done) < 8 and proc.returncode == -signal.SIGKILL

    resumed = api.hall(pcubic(), checkpoint=ck, **ARGS)
    fresh = api.hall(pcubic(), **ARGS)
    info = resumed.extra["checkpoint"]
    assert info["chunks_loaded"] == len(done)
    assert info["chunks_computed"] == resumed.diagnostics["n_chunks"] - len(done)
    assert {f: os.stat(ck / f).st_mtime_ns for f in done} == stamps        # not rewritten
    for key, a in sigma_arrays(fresh).items():
        b = sigma_arrays(resumed)[key]
        assert np.abs(a - b).max() <= 1e-12 * np.abs(a).max(), key

    again = api.hall(pcubic(), checkpoint=ck, **ARGS)
    assert again.extra["checkpoint"]["chunks_computed"] == 0


def test_other_inputs_refused(tmp_path):
    ck = tmp_path / "ck"
    api.hall(pcubic(), checkpoint=ck, **ARGS)
    with pytest.raises(checkpoint.CheckpointMismatch, match="different inputs"):
        api.hall(pcubic(), checkpoint=ck, **{**ARGS, "kT": 0.02})
    with pytest.raises(checkpoint.CheckpointMismatch):
        api.hall(pcubic(**{"lambda": 0.3}), checkpoint=ck, **ARGS)
    # the CLI: one line on stderr, exit code 2
    cmd = [sys.executable, "-m", "wannorb.cli", "hall", "pcubic", "--mu=-0.7,0.2", "--nk", "12",
           "--kT", "0.03", "--no-symmetry", "--no-progress", "--checkpoint", str(ck), "--output", str(tmp_path / "o.json")]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1 and "different inputs" in p.stderr


def test_filling_mu_is_stored(tmp_path):
    ck = tmp_path / "ck"
    a = api.hall(pcubic(), filling=2, kT=0.05, nk=6, progress=False, checkpoint=ck)
    assert json.loads((ck / "mu.json").read_text()) == a.mu
    b = api.hall(pcubic(), filling=2, kT=0.05, nk=6, progress=False, checkpoint=ck)
    assert b.mu == a.mu and b.extra["checkpoint"]["chunks_computed"] == 0
    assert b.sigma["eq4"]["spin"].tolist() == a.sigma["eq4"]["spin"].tolist()


def test_hash_covers_inputs():
    base = dict(arrays={"H": np.arange(4.0)}, values={"kT": 0.05, "nk": [4, 4, 4]})
    h0 = checkpoint.input_hash(**base)
    assert h0 == checkpoint.input_hash(**base)
    assert h0 != checkpoint.input_hash({"H": np.arange(4.0) + 1e-15}, base["values"])
    assert h0 != checkpoint.input_hash(base["arrays"], {"kT": 0.05, "nk": [4, 4, 5]})


def test_write_json_permissions_follow_umask(tmp_path):
    """Atomic writes go through mkstemp (mode 0600); the result must get the usual umask mode."""
    import os
    from wannorb.results import write_json
    old = os.umask(0o022)
    try:
        write_json({"a": 1}, tmp_path / "r.json")
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644
