"""Checkpoint/restart of chunked mesh sums: every finished chunk is one file in a folder.

Layout of a checkpoint folder::

    DIR/manifest.json        the input hash and the readable inputs it was made from
    DIR/chunk-000042.npz     partial sums of chunk 42 (written to a temporary name, then os.replace)
    DIR/mu.json              chemical potential found for --filling (so a resume needs no μ search)

A rerun with the same inputs loads the finished chunks and computes only the missing ones; a
rerun with different inputs against the same folder is refused (:class:`CheckpointMismatch`,
an :class:`~wannorb.errors.InputError`, so the CLI prints one line and exits with code 2).
Under MPI every rank writes the chunks it computed; the files of a killed run are complete or
absent, never half-written, because each is renamed into place only after it was written and
flushed.

For several runs (a sweep), give each its own sub-folder (:func:`subdir`).
"""
import hashlib
import json
import os
import tempfile

import numpy as np

from . import __version__
from .errors import InputError

MANIFEST = "manifest.json"
FORMAT = 1


class CheckpointMismatch(InputError):
    """The folder holds a checkpoint of a computation with other inputs."""


def input_hash(arrays, values):
    """SHA-256 (hex) of named arrays (bytes, dtype, shape) and JSON-able values, with the code version.

    Parameters
    ----------
    arrays : dict name -> ndarray (model arrays, operators)
    values : dict name -> JSON-able (μ, kT, mesh, shift, soc_scale, ...)
    """
    h = hashlib.sha256()
    h.update(f"wannorb {__version__} checkpoint format {FORMAT}".encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"|{name}:{a.dtype.str}:{a.shape}|".encode())
        h.update(a.tobytes())
    h.update(json.dumps(values, sort_keys=True, default=_jsonable).encode())
    return h.hexdigest()


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return str(x)


def _atomic_write(path, write):
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def subdir(folder, *names):
    """``folder/name/...`` for one run of several (e.g. one SOC scale of a sweep), or None."""
    if folder is None:
        return None
    return os.path.join(os.fspath(folder), *[str(n) for n in names])


class ChunkStore:
    """The checkpoint folder of one computation, identified by ``key`` (see :func:`input_hash`)."""

    def __init__(self, folder, key, description=None):
        self.folder = os.path.abspath(os.fspath(folder))
        self.key = key
        self.loaded = 0
        self.computed = 0
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, MANIFEST)
        if os.path.exists(path):
            try:
                with open(path) as fh:
                    old = json.load(fh)
            except (OSError, ValueError):
                raise CheckpointMismatch(f"checkpoint folder {self.folder} has an unreadable {MANIFEST}; "
                                         "use another folder") from None
            if old.get("input_hash") != key:
                raise CheckpointMismatch(
                    f"checkpoint folder {self.folder} belongs to a run with different inputs "
                    f"(hash {str(old.get('input_hash'))[:12]}…, this run {key[:12]}…): use another "
                    f"folder, or delete it to start over")
        else:
            doc = {"input_hash": key, "format": FORMAT, "wannorb": __version__, "inputs": description or {}}
            text = json.dumps(doc, indent=1, sort_keys=True, default=_jsonable).encode()
            # identical content from every rank: whichever rename lands last, the file is the same
            _atomic_write(path, lambda fh: fh.write(text))

    def chunk_path(self, c):
        """File of chunk c: an index (mesh chunks) or a name (e.g. one k_z plane of a sweep)."""
        return os.path.join(self.folder, f"chunk-{c:06d}.npz" if isinstance(c, (int, np.integer)) else f"chunk-{c}.npz")

    def finished(self):
        """Sorted indices of the (indexed) chunks stored in the folder."""
        out = []
        for name in os.listdir(self.folder):
            if name.startswith("chunk-") and name.endswith(".npz") and name[6:-4].isdigit():
                out.append(int(name[6:-4]))
        return sorted(out)

    def load(self, c):
        """The stored dict of chunk ``c`` or None."""
        path = self.chunk_path(c)
        if not os.path.exists(path):
            return None
        with np.load(path) as data:
            out = {}
            for name in data.files:
                v = data[name]
                out[name] = v.item() if v.ndim == 0 else v
            return out

    def save(self, c, result):
        arrays = {k: np.asarray(v) for k, v in result.items()}
        _atomic_write(self.chunk_path(c), lambda fh: np.savez(fh, **arrays))

    def wrap(self, compute, names=None):
        """``compute(c)`` that loads chunk c when stored and stores it when computed; with ``names``
        (a list), task c is stored under the name names[c] instead of the index c."""
        def key(c):
            return c if names is None else names[c]

        def cached(c):
            got = self.load(key(c))
            if got is not None:
                self.loaded += 1
                return got
            result = compute(c)
            self.save(key(c), result)
            self.computed += 1
            return result
        # for the MPI runner: spread the unfinished chunks evenly over the ranks on a resume
        cached.finished = frozenset(self.finished() if names is None else
                                    [c for c, n in enumerate(names) if os.path.exists(self.chunk_path(n))])
        return cached

    def get_value(self, name):
        """A JSON value stored with :meth:`put_value` (e.g. μ for a filling), or None."""
        path = os.path.join(self.folder, f"{name}.json")
        if not os.path.exists(path):
            return None
        with open(path) as fh:
            return json.load(fh)

    def put_value(self, name, value):
        text = json.dumps(value, default=_jsonable).encode()
        _atomic_write(os.path.join(self.folder, f"{name}.json"), lambda fh: fh.write(text))

    def summary(self):
        return {"dir": self.folder, "input_hash": self.key, "chunks_loaded": self.loaded,
                "chunks_computed": self.computed}


def model_arrays(system, Xops):
    """The arrays of a model (and its operators) that a checkpoint's hash covers."""
    arrays = {f: getattr(system, f) for f in ("lattice", "R", "H0", "Hsoc", "centres", "site", "spin",
                                              "spatial", "atom_positions", "site_local_axes")}
    arrays["operators"] = Xops
    return arrays


def open_hall_checkpoint(folder, system, plan, Xops, *, mu, filling, kT, soc_scale, degen_tol,
                         quantities, operator_phases):
    """The ChunkStore of an :func:`wannorb.api.hall` run in ``folder`` (None: no checkpoint).

    The hash covers the model arrays, the operators, μ (or the filling), kT, the mesh and its
    shift, soc_scale, degen_tol, the quantities, the operator phases, the chunk layout (symmetry
    reduction, chunk size) and the code version. The methods are not in it: every chunk holds all
    three.
    """
    if folder is None:
        return None
    arrays = model_arrays(system, Xops)
    values = {
        "system": system.name, "orbital": system.orbital, "species": system.species,
        "fermi_energy": system.fermi_energy,
        "mu": None if mu is None else [float(m) for m in np.atleast_1d(mu)],
        "filling": filling, "kT": kT, "nk": list(plan.mesh.nk), "shift": [float(s) for s in plan.mesh.shift],
        "soc_scale": soc_scale, "degen_tol": degen_tol, "quantities": list(quantities),
        "operator_phases": bool(operator_phases), "layout": plan.layout(),
    }
    return ChunkStore(folder, input_hash(arrays, values), description=values)
