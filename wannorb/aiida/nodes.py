"""Conversions between AiiDA data nodes and wannorb's plain inputs and outputs (no processes here).

The system of a process is one of

* ``orm.FolderData`` — a data folder (``system/`` + ``provenance.json``, what ``workflows/``
  writes) or a wannierberri ``save_npz`` folder, at the root of the node's repository;
* ``orm.SinglefileData`` — a Wannier90 ``*_tb.dat`` file, or a ``.zip`` / ``.tar`` / ``.tar.gz``
  archive of one of the folders above;
* ``orm.Str`` — a built-in model (``pcubic``) or a shipped material (``Pt``) by name;
* ``orm.Dict`` — ``{"name": "pcubic", "params": {...}}``, a built-in model with parameters.

Only the first two put the Hamiltonian itself into the provenance graph; a shipped material
named by a ``Str`` is recorded by name (and its ``provenance.json`` ends up in the result).
"""
import inspect
import math
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from aiida import orm

from ..errors import InputError

SYSTEM_TYPES = (orm.FolderData, orm.SinglefileData, orm.Str, orm.Dict)
# arguments of the API functions a process sets itself: the system, no progress bars, no MPI
# driver, no checkpoint folder (a process's files outside its nodes would not be provenance)
API_FIXED = ("system", "progress", "chunk_runner", "checkpoint")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
SIGMA_UNITS = ("(hbar/e) S/cm; array '<method>_<quantity>' has shape (nmu, 3, 3, 3), "
               "[imu][j][i][k] = sigma^j_ik (j: angular-momentum component, i: current, k: field)")
SWEEP_ARRAY_UNITS = ("(hbar/e) S/cm; '<method>_<quantity>_tensor' (nscale, 3, 3, 3) = sigma^j_ik at the "
                     "first mu per SOI scale; '<method>_<quantity>' (nscale,) the chosen component; "
                     "'<method>_<quantity>_error' (nscale,) its error estimate (nan: not estimated); "
                     "'soc_scales' (nscale,) dimensionless")


def load_system_node(node):
    """A :class:`~wannorb.model.TBModel` from a system node (module docstring).

    Raises
    ------
    InputError for a node of another type or content that wannorb cannot read.
    """
    from .. import api
    if isinstance(node, orm.Str):
        return api.load_system(node.value)
    if isinstance(node, orm.Dict):
        spec = node.get_dict()
        unknown = sorted(set(spec) - {"name", "params"})
        if "name" not in spec or unknown:
            raise InputError(f"a Dict system needs keys 'name' (and optionally 'params'), got {sorted(spec)}")
        return api.load_system(spec["name"], params=spec.get("params") or None)
    if not isinstance(node, (orm.FolderData, orm.SinglefileData)):
        raise InputError(f"the system must be one of {', '.join(t.__name__ for t in SYSTEM_TYPES)}, "
                         f"got {type(node).__name__}")
    # the name wannierberri folders get (data folders take the element of provenance.json)
    name = _safe_name(node.label) or "system"
    with tempfile.TemporaryDirectory(prefix="wannorb-aiida-") as tmp:
        target = Path(tmp) / name
        if isinstance(node, orm.FolderData):
            node.base.repository.copy_tree(target)
        else:
            filename = node.filename
            if filename.lower().endswith(ARCHIVE_SUFFIXES):
                archive = Path(tmp) / filename
                with node.open(mode="rb") as src:
                    archive.write_bytes(src.read())
                target = _extract(archive, target)
            else:
                target = Path(tmp) / filename
                with node.open(mode="rb") as src:
                    target.write_bytes(src.read())
        # every array is read into memory here, before the temporary folder goes
        return api.load_system(str(target))


def _safe_name(label):
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in (label or "")).strip("._")
    return keep or None


def _extract(archive, target):
    """Unpack ``archive`` into ``target``; a single top folder in it becomes the system folder."""
    target.mkdir()
    name = archive.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                if Path(member).is_absolute() or ".." in Path(member).parts:
                    raise InputError(f"{archive.name}: unsafe path {member!r} in the archive")
            zf.extractall(target)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(target, filter="data")
    entries = list(target.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return target


def allowed_keys(func, exclude=API_FIXED):
    """Names of the keyword arguments of ``func`` a ``parameters`` Dict may set."""
    return [p for p in inspect.signature(func).parameters if p not in exclude]


def call_kwargs(func, parameters, exclude=API_FIXED):
    """Keyword arguments of ``func`` from a ``Dict`` node (or None), refusing unknown keys."""
    allowed = allowed_keys(func, exclude)
    values = parameters.get_dict() if parameters is not None else {}
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise InputError(f"unknown parameter(s) {', '.join(unknown)} for {func.__module__}.{func.__name__}; "
                         f"allowed: {', '.join(allowed)}")
    return values


def jsonable(obj):
    """Plain JSON types for a ``Dict`` node: numpy scalars/arrays to Python, non-finite floats
    to None (the storage refuses NaN/inf; the CLI's JSON would write them as NaN/Infinity)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def hall_outputs(result):
    """``{"result": Dict, "sigma": ArrayData}`` of a :class:`~wannorb.results.HallResult`.

    ``result`` is ``HallResult.to_dict()`` (the JSON of ``wannorb hall``, units included);
    ``sigma`` holds one array ``<method>_<quantity>`` of shape (nmu, 3, 3, 3) in (ħ/e) S/cm and
    ``mu`` (nmu,) in eV.
    """
    arrays = orm.ArrayData()
    for m in result.methods:
        for q in result.quantities:
            arrays.set_array(f"{m}_{q}", np.asarray(result.sigma[m][q], dtype=float))
    arrays.set_array("mu", np.asarray(result.mu, dtype=float))
    arrays.base.attributes.set("units", {"sigma": SIGMA_UNITS, "mu": "eV"})
    return {"result": orm.Dict(jsonable(result.to_dict())), "sigma": arrays}


def sweep_outputs(data):
    """``{"result": Dict, "sigma": ArrayData}`` of the dict :func:`wannorb.sweep.sweep` returns."""
    arrays = orm.ArrayData()
    arrays.set_array("soc_scales", np.asarray(data["soc_scales"], dtype=float))
    for m in data["methods"]:
        for q in data["quantities"]:
            arrays.set_array(f"{m}_{q}", np.asarray(data["sigma"][m][q], dtype=float))
            err = [np.nan if e is None else e for e in data["error_estimate"][m][q]]
            arrays.set_array(f"{m}_{q}_error", np.asarray(err, dtype=float))
            if all(p["sigma_tensor_first_mu"] is not None for p in data["points"]):   # refine='planes': one component
                arrays.set_array(f"{m}_{q}_tensor", np.asarray(
                    [p["sigma_tensor_first_mu"][m][q] for p in data["points"]], dtype=float))
    arrays.base.attributes.set("units", {"sigma": SWEEP_ARRAY_UNITS})
    return {"result": orm.Dict(jsonable(data)), "sigma": arrays}


def component(result, method, quantity, jik="zxy", imu=0):
    """σ^j_ik of a stored hall ``result`` dict (as :meth:`HallResult.component`), (ħ/e) S/cm."""
    j, i, k = ("xyz".index(c) for c in jik)
    return float(result["sigma"][method][quantity][imu][j][i][k])


def moved_less_than(old, new, rtol, jik="zxy"):
    """True when every method × quantity component ``jik`` of ``new`` differs from ``old`` by
    <= rtol · max(|σ_new|, 1 % of the largest |σ_new|) — the rule of :func:`wannorb.api.converge_nk`
    (a component that is zero by symmetry does not block convergence)."""
    keys = [(m, q) for m in new["sigma"] for q in new["sigma"][m]]
    vals_new = {key: component(new, *key, jik) for key in keys}
    vals_old = {key: component(old, *key, jik) for key in keys}
    scale = 0.01 * max(abs(v) for v in vals_new.values())
    return all(abs(vals_new[key] - vals_old[key]) <= rtol * max(abs(vals_new[key]), scale, 1e-300)
               for key in keys)
