"""calcfunctions: the Python API as AiiDA processes (inputs and outputs are stored data nodes).

Each runs in the calling Python process (``aiida.engine.run``): no daemon, no broker, no
transport. Bad input (an :class:`~wannorb.errors.InputError` of the API) ends the process with
exit status 300 and the message, so a workflow can tell it from a crash (an exception, which
leaves the process "excepted" and re-raises in ``run``).
"""
import importlib
import importlib.util
import sys
import tempfile
from pathlib import Path

from aiida import orm
from aiida.engine import ExitCode, calcfunction

from ..errors import InputError
from .nodes import call_kwargs, hall_outputs, jsonable, load_system_node, sweep_outputs

ERROR_INVALID_INPUT = ExitCode(300, "invalid input: {message}")
ERROR_NO_DFT = ExitCode(320, "the first-principles pipeline needs GPAW: {message}")

SystemNode = orm.FolderData | orm.SinglefileData | orm.Str | orm.Dict


@calcfunction
def hall(system: SystemNode, parameters: orm.Dict | None = None):
    """σ^j_ik by Eq. (4), conventional and conserved Kubo (:func:`wannorb.api.hall`).

    Parameters
    ----------
    system : FolderData, SinglefileData, Str or Dict (see :mod:`wannorb.aiida.nodes`)
    parameters : Dict of :func:`wannorb.api.hall` keyword arguments — mu (eV) or filling
        (electrons per cell), kT (eV), nk (int or 3 ints), shift, methods, quantities,
        soc_scale, degen_tol (eV), operator_phases. Unknown keys: exit status 300.

    Returns
    -------
    result : Dict — the JSON of ``wannorb hall`` (``HallResult.to_dict()``, units included)
    sigma : ArrayData — ``<method>_<quantity>`` (nmu, 3, 3, 3) in (ħ/e) S/cm, ``mu`` (nmu,) eV
    """
    from .. import api
    try:
        model = load_system_node(system)
        result = api.hall(model, progress=False, **call_kwargs(api.hall, parameters))
    except InputError as exc:
        return ERROR_INVALID_INPUT.format(message=str(exc))
    return hall_outputs(result)


@calcfunction
def sweep(system: SystemNode, parameters: orm.Dict):
    """σ at each SOI scale A (H = H0 + A·Hsoc) with exponents (:func:`wannorb.sweep.sweep`).

    Parameters
    ----------
    system : FolderData, SinglefileData, Str or Dict, with a separate spin-orbit term
    parameters : Dict of :func:`wannorb.sweep.sweep` keyword arguments; ``soc_scales`` (list of
        positive floats) is required; e.g. nk, kT, mu/filling/keep_electron_count, refine, rtol.

    Returns
    -------
    result : Dict — the JSON of ``wannorb sweep`` (units included)
    sigma : ArrayData — per method/quantity the component (nscale,), its error estimate and the
        tensor at the first μ (nscale, 3, 3, 3), all (ħ/e) S/cm; ``soc_scales`` (nscale,)
    """
    try:
        sweep_module = importlib.import_module("wannorb.sweep")
    except ModuleNotFoundError:  # pragma: no cover - only in a tree without the sweep
        return ERROR_INVALID_INPUT.format(message="this wannorb has no wannorb.sweep")
    try:
        kwargs = call_kwargs(sweep_module.sweep, parameters)
        if "soc_scales" not in kwargs:
            raise InputError("parameters must give soc_scales (list of positive floats)")
        model = load_system_node(system)
        data = sweep_module.sweep(model, progress=False, **kwargs)
    except InputError as exc:
        return ERROR_INVALID_INPUT.format(message=str(exc))
    return sweep_outputs(data)


def dft_available():
    """(True, "") when GPAW can be imported, else (False, the reason)."""
    if importlib.util.find_spec("gpaw") is None:
        return False, "gpaw is not installed (pip install \".[dft]\")"
    return True, ""


def import_pipeline():
    """``workflows.pipeline`` of this checkout (a folder beside the package, not installed)."""
    try:
        return importlib.import_module("workflows.pipeline")
    except ModuleNotFoundError as exc:
        if exc.name not in ("workflows", "workflows.pipeline"):
            raise
    root = Path(__file__).resolve().parents[2]
    if not (root / "workflows" / "pipeline.py").is_file():
        raise InputError(f"workflows/pipeline.py not found beside the wannorb package ({root}): "
                         "the first-principles pipeline runs from a source checkout")
    sys.path.append(str(root))
    return importlib.import_module("workflows.pipeline")


def structure_element(structure, element=None):
    """The element label the pipeline's settings are looked up by (``workflows/materials.py``)."""
    if element is not None:
        return element
    symbols = sorted(set(structure.get_symbols_set()))
    if len(symbols) != 1:
        raise InputError(f"the structure has elements {symbols}: give `element` to choose the settings")
    return symbols[0]


@calcfunction
def build_system(structure: orm.StructureData, element: orm.Str | None = None,
                 coarse: orm.Bool | None = None):
    """First-principles Wannier data for a structure (``workflows.pipeline.make``: GPAW PBE →
    symmetry-adapted s;p;d Wannier functions → wannierberri ``SystemSOC``).

    Parameters
    ----------
    structure : StructureData (its cell and positions are used as they are)
    element : Str — which settings of ``workflows/materials.py`` to use (default: the structure's
        single element)
    coarse : Bool — the pipeline's quick smoke-test settings (default False)

    Returns
    -------
    system : FolderData — ``system/`` (save_npz), ``provenance.json``, ``bands.png``
    provenance : Dict — the provenance.json (E_F, orbitals, band check, settings, versions)
    """
    ok, why = dft_available()
    if not ok:
        return ERROR_NO_DFT.format(message=why)
    try:
        label = structure_element(structure, element.value if element is not None else None)
        pipeline = import_pipeline()
    except InputError as exc:
        return ERROR_INVALID_INPUT.format(message=str(exc))
    atoms = structure.get_ase()
    with tempfile.TemporaryDirectory(prefix="wannorb-build-") as tmp:
        out = Path(tmp) / label
        try:
            prov = pipeline.make(label, out, coarse=bool(coarse.value) if coarse is not None else False,
                                 workdir=Path(tmp) / "work", atoms=atoms,
                                 command=f"wannorb.aiida.build_system(StructureData<{structure.uuid}>)")
        except ValueError as exc:          # e.g. no settings for this element
            return ERROR_INVALID_INPUT.format(message=str(exc))
        folder = orm.FolderData(tree=out)  # copied into the node's sandbox here
    folder.label = label
    return {"system": folder, "provenance": orm.Dict(jsonable(prov))}
