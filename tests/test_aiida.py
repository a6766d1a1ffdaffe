"""AiiDA plugin (``wannorb.aiida``) on a real temporary profile without services.

aiida-core's own pytest fixtures (``aiida.tools.pytest_fixtures``) create a temporary config
folder and a profile with ``core.sqlite_dos`` storage and no broker — what ``verdi presto``
makes — and every process is launched in-process with ``aiida.engine.run``. Skipped, with the
reason, when the optional extra is absent (``pip install ".[aiida]"``); CI installs it.
"""
import functools
import importlib.util
import io
import tarfile
import warnings

import numpy as np
import pytest

with warnings.catch_warnings():
    # a machine without ~/.aiida: aiida warns that it creates the folder when first imported
    warnings.filterwarnings("ignore", message="Creating AiiDA configuration folder", category=UserWarning)
    aiida = pytest.importorskip("aiida", reason="aiida-core not installed: the optional extra "
                                                "`pip install \".[aiida]\"` provides it")
    from aiida import orm
    from aiida.common.links import LinkType
    from aiida.engine import run_get_node
    from aiida.plugins import CalculationFactory, WorkflowFactory
    # the fixtures: a session-wide temporary config + sqlite profile without broker (autouse),
    # and a clean storage per test
    from aiida.tools.pytest_fixtures import (aiida_config, aiida_config_factory,  # noqa: F401
                                             aiida_profile, aiida_profile_clean,
                                             aiida_profile_factory)

from wannorb import api

pytestmark = [
    # warnings aiida-core's own test suite ignores (its pyproject.toml): benign SQLAlchemy
    # session notices of unstored nodes, and the config folder notice
    pytest.mark.filterwarnings("ignore:Creating AiiDA configuration folder:UserWarning"),
    pytest.mark.filterwarnings("ignore:Object of type .* not in session, .* operation along .* "
                               "will not proceed:sqlalchemy.exc.SAWarning"),
    pytest.mark.filterwarnings("ignore:Identity map already had an identity for .* inside of an "
                               "event handler within the flush?:sqlalchemy.exc.SAWarning"),
    pytest.mark.usefixtures("aiida_profile_clean"),
]

PCUBIC = {"name": "pcubic"}
# two electrons per cell in the six pcubic bands: a metal with both Hall responses non-zero
FILLING = 2.0
NK = 4


def hall_process():
    from wannorb.aiida import hall
    return hall


def incoming(node, link_type):
    return {t.link_label: t.node for t in node.base.links.get_incoming(link_type=link_type).all()}


def outgoing(node, link_type):
    return {t.link_label: t.node for t in node.base.links.get_outgoing(link_type=link_type).all()}


def test_profile_needs_no_services(aiida_profile):
    assert aiida_profile.storage_backend == "core.sqlite_dos"
    assert aiida_profile.process_control_backend is None


def test_entry_points_load_the_processes():
    from wannorb.aiida import ConvergeWorkChain, FromStructureWorkChain, build_system, hall, sweep
    assert CalculationFactory("wannorb.hall") is hall
    assert CalculationFactory("wannorb.sweep") is sweep
    assert CalculationFactory("wannorb.build_system") is build_system
    assert WorkflowFactory("wannorb.converge") is ConvergeWorkChain
    assert WorkflowFactory("wannorb.from_structure") is FromStructureWorkChain


def test_hall_calcfunction_matches_api_and_records_provenance():
    params = {"filling": FILLING, "nk": NK, "kT": 0.05}
    system, parameters = orm.Dict(PCUBIC), orm.Dict(params)
    out, node = run_get_node(hall_process(), system=system, parameters=parameters)
    assert node.is_finished_ok, node.exit_message

    direct = api.hall(api.load_system("pcubic"), progress=False, **params)
    res = out["result"].get_dict()
    assert res["units"]["sigma"].startswith("(hbar/e) S/cm")
    assert res["nk"] == [NK] * 3 and res["filling"] == FILLING
    arrays = out["sigma"]
    assert arrays.base.attributes.get("units")["sigma"].startswith("(hbar/e) S/cm")
    np.testing.assert_allclose(arrays.get_array("mu"), direct.mu)
    for m in direct.methods:
        for q in direct.quantities:
            sig = arrays.get_array(f"{m}_{q}")
            assert sig.shape == (1, 3, 3, 3)
            np.testing.assert_allclose(sig, direct.sigma[m][q], rtol=1e-10, atol=1e-9)
            np.testing.assert_allclose(res["sigma"][m][q], direct.sigma[m][q], rtol=1e-10, atol=1e-9)
    assert abs(direct.component("eq4", "orbital")) > 1.0

    # provenance: inputs -> calcfunction -> outputs, all stored
    assert incoming(node, LinkType.INPUT_CALC) == {"system": system, "parameters": parameters}
    created = outgoing(node, LinkType.CREATE)
    assert set(created) == {"result", "sigma"}
    assert all(n.is_stored for n in created.values())
    assert out["result"].creator.pk == node.pk
    # the same path through the QueryBuilder: parameters Dict -> CalcFunctionNode -> ArrayData
    qb = orm.QueryBuilder()
    qb.append(orm.Dict, filters={"id": parameters.pk}, tag="p")
    qb.append(orm.CalcFunctionNode, with_incoming="p", tag="c", project="id")
    qb.append(orm.ArrayData, with_incoming="c", project="id")
    assert qb.all() == [[node.pk, arrays.pk]]
    assert node.process_label == "hall"


def test_hall_bad_parameters_end_with_exit_status_300():
    out, node = run_get_node(hall_process(), system=orm.Str("pcubic"),
                             parameters=orm.Dict({"filling": FILLING, "nk": NK, "n_k": 8}))
    assert node.exit_status == 300
    assert "n_k" in node.exit_message and "allowed" in node.exit_message
    assert out == {}
    _, node = run_get_node(hall_process(), system=orm.Str("no-such-system"))
    assert node.exit_status == 300 and "unknown system" in node.exit_message


def _write_tb_dat(model, path):
    """A Wannier90 ``*_tb.dat`` of a model whose centres are all zero (pcubic): H(R) and the
    position blocks (all zero), every degeneracy 1."""
    H = model.H0 + model.Hsoc
    nw = model.num_wann
    assert not np.any(model.centres)
    with open(path, "w") as fh:
        fh.write("pcubic written by test_aiida\n")
        for row in model.lattice:
            fh.write(" ".join(f"{x:.12f}" for x in row) + "\n")
        fh.write(f"{nw}\n{len(model.R)}\n")
        ones = ["1"] * len(model.R)
        for i in range(0, len(ones), 15):
            fh.write(" ".join(ones[i:i + 15]) + "\n")
        for R, h in zip(model.R, H):
            fh.write("\n" + " ".join(str(int(x)) for x in R) + "\n")
            for i in range(nw):
                for j in range(nw):
                    fh.write(f"{j + 1} {i + 1} {h[j, i].real:.15e} {h[j, i].imag:.15e}\n")
        for R in model.R:
            fh.write("\n" + " ".join(str(int(x)) for x in R) + "\n")
            for i in range(nw):
                for j in range(nw):
                    fh.write(f"{j + 1} {i + 1}" + " 0.0" * 6 + "\n")


def test_file_and_folder_systems_give_the_builtin_model(tmp_path):
    """pcubic as a Wannier90 file (SinglefileData), as a wannierberri save_npz folder (FolderData)
    and as a .tar.gz of it (SinglefileData): the same spin Hall tensor as the built-in model."""
    model = api.load_system("pcubic")
    tb = tmp_path / "pcubic_tb.dat"
    _write_tb_dat(model, tb)
    from wannorb.io.wberri import quiet
    from wannierberri.system.system_tb import get_system_tb
    with quiet():
        get_system_tb(tb_file=str(tb)).save_npz(str(tmp_path / "npz"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(tmp_path / "npz", arcname="pcubic")
    buf.seek(0)
    systems = {
        "tb.dat": orm.SinglefileData(str(tb)),
        "save_npz": orm.FolderData(tree=tmp_path / "npz", label="pcubic"),
        "archive": orm.SinglefileData(buf, filename="pcubic.tar.gz"),
    }
    # wannierberri files carry no orbital labels: the spin Hall response only
    params = {"filling": FILLING, "nk": NK, "quantities": ["spin"], "methods": ["eq4", "conventional"]}
    ref = api.hall(model, progress=False, **params)
    for kind, system in systems.items():
        out, node = run_get_node(hall_process(), system=system, parameters=orm.Dict(params))
        assert node.is_finished_ok, (kind, node.exit_message)
        assert incoming(node, LinkType.INPUT_CALC)["system"].pk == system.pk
        for m in params["methods"]:
            np.testing.assert_allclose(out["sigma"].get_array(f"{m}_spin"), ref.sigma[m]["spin"],
                                       rtol=1e-8, atol=1e-8, err_msg=kind)


def test_sweep_calcfunction_matches_api():
    sweep_api = pytest.importorskip("wannorb.sweep", reason="wannorb.sweep not in this tree yet").sweep
    from wannorb.aiida import sweep
    params = {"soc_scales": [0.5, 1.0], "filling": FILLING, "nk": NK, "refine": "off",
              "methods": ["eq4", "conventional"]}
    out, node = run_get_node(sweep, system=orm.Str("pcubic"), parameters=orm.Dict(params))
    assert node.is_finished_ok, node.exit_message
    direct = sweep_api(api.load_system("pcubic"), progress=False, **params)
    arrays = out["sigma"]
    np.testing.assert_allclose(arrays.get_array("soc_scales"), [0.5, 1.0])
    for m in params["methods"]:
        for q in ("spin", "orbital"):
            np.testing.assert_allclose(arrays.get_array(f"{m}_{q}"), direct["sigma"][m][q], rtol=1e-10)
            assert arrays.get_array(f"{m}_{q}_tensor").shape == (2, 3, 3, 3)
            assert out["result"]["sigma"][m][q] == pytest.approx(direct["sigma"][m][q], rel=1e-10)
    assert out["result"]["units"]["soc_scales"].startswith("dimensionless")
    _, bad = run_get_node(sweep, system=orm.Str("pcubic"), parameters=orm.Dict({"nk": NK}))
    assert bad.exit_status == 300 and "soc_scales" in bad.exit_message
    # refine='planes' (one component, no tensor): stored with its error, provenance intact
    planes = {"soc_scales": [0.5], "mu": -0.86, "refine": "planes", "methods": ["eq4"],
              "planes": {"n_planes": 4, "kz_rounds": 1, "grid": 8, "levels": 2}}
    out, node = run_get_node(sweep, system=orm.Str("pcubic"), parameters=orm.Dict(planes))
    assert node.is_finished_ok, node.exit_message
    assert out["result"]["refine"] == "planes" and "eq4_orbital_tensor" not in out["sigma"].get_arraynames()
    assert np.isfinite(out["sigma"].get_array("eq4_orbital_error")).all()


def test_converge_workchain_agrees_with_api_and_links_every_step():
    Converge = WorkflowFactory("wannorb.converge")
    params = {"filling": FILLING, "methods": ["eq4"], "quantities": ["spin"]}
    out, node = run_get_node(Converge, system=orm.Str("pcubic"), parameters=orm.Dict(params),
                             nk_start=orm.Int(4), max_nk=orm.Int(16), rtol=orm.Float(0.1))
    assert node.is_finished_ok, node.exit_message
    ref = api.converge_nk(api.load_system("pcubic"), nk_start=4, max_nk=16, rtol=0.1, progress=False,
                          **params).to_dict()
    conv = out["convergence"].get_dict()
    assert conv["converged"] is ref["converged"] is True
    assert conv["nk_history"] == ref["nk_history"] == [[4] * 3, [8] * 3, [16] * 3]
    np.testing.assert_allclose(conv["sigma_history"]["eq4"]["spin"], ref["sigma_history"]["eq4"]["spin"],
                               rtol=1e-10)
    assert out["result"]["nk"] == [16] * 3

    # provenance: the WorkChain CALLs one hall per mesh and the history calcfunction, and
    # RETURNs nodes those created
    called = [t.node for t in node.base.links.get_outgoing(link_type=LinkType.CALL_CALC).all()]
    halls = sorted((c for c in called if c.process_label == "hall"), key=lambda c: c.pk)
    assert [c.inputs.parameters["nk"] for c in halls] == [4, 8, 16]
    assert all(c.is_finished_ok for c in called) and len(called) == 4
    returned = outgoing(node, LinkType.RETURN)
    assert set(returned) == {"result", "sigma", "convergence"}
    assert returned["result"].creator.pk == halls[-1].pk
    assert returned["convergence"].creator.process_label == "convergence_history"
    assert conv["hall_results"] == [c.outputs.result.uuid for c in halls]


def test_converge_workchain_not_converged_and_bad_inputs():
    Converge = WorkflowFactory("wannorb.converge")
    params = orm.Dict({"filling": FILLING, "methods": ["eq4"], "quantities": ["spin"]})
    out, node = run_get_node(Converge, system=orm.Str("pcubic"), parameters=params,
                             nk_start=orm.Int(4), max_nk=orm.Int(8), rtol=orm.Float(1e-4))
    assert node.exit_status == 401 and "not converged" in node.exit_message
    assert out["convergence"]["converged"] is False and out["result"]["nk"] == [8] * 3
    # the mesh belongs to the WorkChain: nk in the parameters is refused before anything runs
    with pytest.raises(ValueError, match="unknown parameter"):
        run_get_node(Converge, system=orm.Str("pcubic"), parameters=orm.Dict({"filling": 2.0, "nk": 4}))
    with pytest.raises(ValueError, match="max_nk"):
        run_get_node(Converge, system=orm.Str("pcubic"), nk_start=orm.Int(8), max_nk=orm.Int(4))
    # a failing step ends the WorkChain with the step's message
    _, node = run_get_node(Converge, system=orm.Str("pcubic"), nk_start=orm.Int(4), max_nk=orm.Int(8))
    assert node.exit_status == 301 and "mu" in node.exit_message


def test_converge_workchain_survives_a_crashing_step(monkeypatch):
    @functools.wraps(api.hall)      # same signature: the parameters are still validated
    def crash(*args, **kwargs):
        raise RuntimeError("kernel exploded")
    monkeypatch.setattr(api, "hall", crash)
    _, node = run_get_node(WorkflowFactory("wannorb.converge"), system=orm.Str("pcubic"),
                           parameters=orm.Dict({"filling": FILLING}), nk_start=orm.Int(4), max_nk=orm.Int(8))
    assert node.exit_status == 301 and "RuntimeError: kernel exploded" in node.exit_message
    (step,) = node.base.links.get_outgoing(link_type=LinkType.CALL_CALC).all_nodes()
    assert step.is_excepted and "kernel exploded" in step.exception


def test_from_structure_without_gpaw_stops_with_320(monkeypatch):
    from ase.build import bulk
    from wannorb.aiida import workchains
    monkeypatch.setattr(workchains, "dft_available", lambda: (False, "gpaw is not installed (test)"))
    _, node = run_get_node(WorkflowFactory("wannorb.from_structure"),
                           structure=orm.StructureData(ase=bulk("Pt", "fcc", a=3.92)))
    assert node.exit_status == 320 and "gpaw is not installed" in node.exit_message
    assert not node.base.links.get_outgoing(link_type=LinkType.CALL_CALC).all()


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("gpaw") is None,
                    reason="gpaw not installed: the first-principles step needs the optional extra "
                           "`pip install \".[dft]\"`")
def test_from_structure_pt_coarse_pipeline_then_hall():
    """Coarse Pt through GPAW → Wannier → hall (~1 min on 2 cores): the whole chain is in the graph."""
    from ase.build import bulk
    structure = orm.StructureData(ase=bulk("Pt", "fcc", a=3.92))
    out, node = run_get_node(WorkflowFactory("wannorb.from_structure"), structure=structure,
                             coarse=orm.Bool(True),
                             parameters=orm.Dict({"nk": NK, "methods": ["eq4"], "quantities": ["spin"]}))
    assert node.is_finished_ok, node.exit_message
    assert {"system", "provenance", "result", "sigma"} <= set(out)
    assert set(out["system"].base.repository.list_object_names()) >= {"system", "provenance.json"}
    assert out["result"]["mu"] == [pytest.approx(out["provenance"]["E_F_eV"])]
    # structure -> build_system -> FolderData -> hall -> result
    build = out["system"].creator
    assert build.process_label == "build_system"
    assert incoming(build, LinkType.INPUT_CALC)["structure"].pk == structure.pk
    hall_node = out["result"].creator
    assert incoming(hall_node, LinkType.INPUT_CALC)["system"].pk == out["system"].pk
    # a 4^3 mesh on coarse data: a number, not physics (docs/data.md has the converged Pt values)
    assert np.isfinite(out["sigma"].get_array("eq4_spin")).all()
    assert out["sigma"].get_array("eq4_spin").shape == (1, 3, 3, 3)

