"""Result objects with units and provenance, and their JSON form (the CLI contract)."""
import json
import os
import platform
import tempfile
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError

from . import __version__

HALL_UNITS = {
    "sigma": "(hbar/e) S/cm, sigma[method][quantity][imu][j][i][k] = sigma^j_ik "
             "(j: angular-momentum component, i: current direction, k: field direction); "
             "S and L in units of hbar (S = sigma_Pauli/2)",
    "mu": "eV",
    "kT": "eV",
    "degen_tol": "eV",
    "soc_scale": "dimensionless multiplier of the spin-orbit term",
    "nk": "k-points per reciprocal lattice vector",
    "shift": "fractions of the mesh spacing",
    "diagnostics.max_point_contribution": "(hbar/e) S/cm: the largest single-k-point contribution to sigma^z_xy",
    "diagnostics.min_group_gap": "eV",
    "diagnostics.kramers_splitting_eV": "eV, largest splitting of a Kramers pair at 8 random k-points (0 for TR+I data)",
    "k_red": "reduced coordinates (units of the reciprocal lattice vectors)",
}


@dataclass
class HallResult:
    """σ^j_ik for each method and quantity at each μ, with the settings that made it."""

    system: str
    soc_scale: float
    params: dict
    nk: tuple
    shift: tuple
    kT: float
    mu: list
    degen_tol: float
    methods: tuple
    quantities: tuple
    sigma: dict                      # sigma[method][quantity] -> (nmu, 3, 3, 3) array, (ħ/e) S/cm
    diagnostics: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def component(self, method, quantity, jik="zxy", imu=0):
        """σ^j_ik for letters like 'zxy' (j, i, k), (ħ/e) S/cm."""
        j, i, k = ("xyz".index(c) for c in jik)
        return float(self.sigma[method][quantity][imu][j][i][k])

    def to_dict(self):
        return {
            "system": self.system,
            "soc_scale": self.soc_scale,
            "params": self.params,
            "nk": list(self.nk),
            "shift": list(self.shift),
            "kT": self.kT,
            "mu": list(self.mu),
            "degen_tol": self.degen_tol,
            "units": HALL_UNITS,
            "sigma": {m: {q: np.asarray(self.sigma[m][q]).tolist() for q in self.quantities}
                      for m in self.methods},
            "diagnostics": _plain(self.diagnostics),
            **_plain(self.extra),
            "provenance": provenance(),
        }


def provenance():
    import numba
    return {"wannorb": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "host": platform.node()}


def _plain(obj):
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def read_json(path, what="JSON file"):
    """A JSON object from ``path``; InputError (one line) when missing, unreadable or malformed."""
    path = os.fspath(path)
    try:
        with open(path) as fh:
            data = json.load(fh)
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(f"{what} {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{what} {path} does not hold a JSON object")
    return data


def write_json(data, path):
    """Write JSON atomically (temporary file + rename) so a killed run never leaves half a file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(_plain(data), fh, indent=1)
        fh.write("\n")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)        # mkstemp makes 0600; results are shared like any file
    os.replace(tmp, path)


@dataclass
class ConvergenceResult:
    """Hall results on growing meshes (``history``) and whether the last step moved < rtol."""

    history: list
    converged: bool
    rtol: float
    component: str = "zxy"

    @property
    def final(self):
        return self.history[-1]

    def to_dict(self):
        comp = self.component
        return {
            "converged": self.converged,
            "rtol": self.rtol,
            "component": comp,
            "nk_history": [list(r.nk) for r in self.history],
            "sigma_history": {m: {q: [r.component(m, q, comp) for r in self.history]
                                  for q in self.final.quantities} for m in self.final.methods},
            "units": {"sigma_history": f"(hbar/e) S/cm, sigma^{comp[0]}_{comp[1:]} at the first mu"},
            "final": self.final.to_dict(),
        }


@dataclass
class SweepResult:
    """A SOI-strength sweep (:func:`wannorb.api.sweep`): the CLI's JSON dict and accessors.

    ``data`` is exactly what ``wannorb sweep --output`` writes (``soc_scales``, ``sigma``,
    ``converged``, ``error_estimate``, ``exponents``, ``units``, ...).
    """

    data: dict

    def sigma(self, method, quantity):
        """σ of the chosen component per scale, (ħ/e) S/cm."""
        return list(self.data["sigma"][method][quantity])

    def exponent(self, method, quantity):
        """Global fitted exponent d ln|σ| / d ln A: dict with ``value`` and ``stderr``."""
        return dict(self.data["exponents"][method][quantity]["global"])

    def to_dict(self):
        return self.data
