"""wannorb kmap: integrands at arbitrary k equal the mesh kernel; degeneracies of H0 found."""
import json

import numpy as np

from wannorb import kmap
from wannorb.cli import main
from wannorb.hall import chunk_integrands, fermi_dirac, operator_stack
from wannorb.kmesh import UniformMesh
from wannorb.models import pcubic

from helpers import generic_pcubic


def test_integrand_map_equals_mesh_kernel():
    m = generic_pcubic()
    mesh = UniformMesh((4, 4, 4), (0.1, 0.2, 0.3))
    k, E, omega, _ = chunk_integrands(m, mesh, 0, operator_stack(m, ("spin", "orbital")), soc_scale=0.7)
    mu, kT = -0.4, 0.05
    res = kmap.integrand_map(m, k, 0.7, mu, kT, component="xyz")
    ref = np.einsum("kn,kmqn->kmq", fermi_dirac(E, mu, kT), omega[:, :, :, 0, 1, 2, :])
    assert np.allclose(res["integrand"]["eq4"]["orbital"], ref[:, 0, 1], rtol=1e-9, atol=1e-9)
    assert np.allclose(res["integrand"]["conventional"]["spin"], ref[:, 1, 0], rtol=1e-9, atol=1e-9)
    assert np.allclose(res["energies"], E, atol=1e-10)


def test_spinless_degeneracies_of_pcubic():
    """O_h pcubic: threefold at Γ, twofold on Γ–X (C4v); the crystal-field variant has none at generic k."""
    k = np.array([[0, 0, 0], [0.2, 0, 0], [0.13, 0.27, 0.41]])
    g = kmap.spinless_max_group(pcubic(), k)
    assert list(g) == [6, 4, 2]
    assert list(kmap.spinless_max_group(generic_pcubic(), k[2:])) == [2]


def test_cli_kmap(tmp_path):
    out, png = tmp_path / "k.json", tmp_path / "k.png"
    assert main(["kmap", "pcubic", "--soc-scale", "0.1", "--filling", "2", "--nk", "6", "--npath", "40",
                 "--nplane", "8", "--output", str(out), "--plot", str(png), "--no-progress"]) == 0
    d = json.loads(out.read_text())
    assert len(d["path"]["x"]) == 40 and len(d["path"]["integrand"]["eq4"]["orbital"]) == 40
    assert d["path"]["labels"][0] in ("G", "Γ") and len(d["path"]["spinless_degenerate_points"]) > 0
    assert len(d["plane"]["integrand"]["conventional"]["orbital"]) == 64
    assert png.stat().st_size > 1000
    assert main(["kmap", "pcubic", "--filling", "2", "--plane", "q=1", "--output", str(out)]) == 2
