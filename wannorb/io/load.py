"""Turn a name or a path into a TBModel. Readers only: wannierberri parses what it writes.

Accepted, in this order:
  1. a built-in model name (``pcubic``), with ``params``;
  2. a shipped material name (``Ti``, ``Cr``, ``Pt``) looked up in the data folder
     ($WANNORB_DATA, then ./data, then the ``data/`` beside the installed package source);
  3. a folder laid out like ``data/<El>``: ``system/`` (wannierberri ``SystemSOC.save_npz``) and
     ``provenance.json`` (E_F, orbitals, positions) — what ``workflows/`` writes;
  4. a folder written by wannierberri's ``save_npz`` (``System_R``; ``SystemSOC`` if it has
     ``system_up/``);
  5. a Wannier90 ``*_tb.dat`` or ``*_hr.dat`` file.
A SystemSOC keeps its spin-orbit term separate: H0 is the model at alpha_soc = 0 and
Hsoc = H(alpha_soc = 1) − H0. Other systems carry no separate term (Hsoc = 0): then a
``soc_scale`` other than 1 is refused by the drivers.
"""
import json
import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..model import TBModel
from ..models import MODELS
from ..operators import canonical_orbital
from .wberri import quiet

MATERIALS_DIR_ENV = "WANNORB_DATA"


def data_folders():
    """Folders searched for shipped materials, in order."""
    out = []
    if os.environ.get(MATERIALS_DIR_ENV):
        out.append(Path(os.environ[MATERIALS_DIR_ENV]))
    out.append(Path.cwd() / "data")
    out.append(Path(__file__).resolve().parents[2] / "data")
    return out


def find_material(name):
    """Path of the shipped material folder ``name`` or None."""
    for folder in data_folders():
        cand = folder / name
        if (cand / "provenance.json").is_file():
            return cand
    return None


def load_system(spec, params=None, orbitals=None):
    """Load a model (see module docstring). ``orbitals``: path of a JSON file with an
    ``orbitals`` list (e.g. a provenance.json) overriding the labels of the data."""
    params = dict(params or {})
    spec = str(spec)
    if spec in MODELS:
        builder, _ = MODELS[spec]
        model = builder(**params)
    else:
        if params:
            raise InputError(f"--param applies to built-in models ({', '.join(MODELS)}), not to {spec}")
        path = Path(spec)
        if not path.exists():
            found = find_material(spec)
            if found is None:
                raise InputError(
                    f"unknown system {spec!r}: not a built-in model ({', '.join(MODELS)}), not a shipped "
                    f"material in {', '.join(str(p) for p in data_folders())}, and no such file or folder")
            path = found
        model = _load_path(path)
    if orbitals is not None:
        model = apply_orbitals(model, read_orbitals_file(orbitals))
    return model


def _load_path(path):
    if path.is_dir() and (path / "provenance.json").is_file() and (path / "system").is_dir():
        return _load_material(path)
    if path.is_dir():
        return _from_npz_folder(path, name=path.name)
    if path.name.endswith("_tb.dat") or path.name.endswith("_hr.dat"):
        return _from_w90_file(path)
    raise InputError(f"{path}: not a wannorb data folder, a wannierberri save_npz folder, "
                     "or a Wannier90 *_tb.dat / *_hr.dat file")


def _load_material(path):
    prov = read_json(path / "provenance.json")
    for key in ("E_F_eV", "orbitals"):
        if key not in prov:
            raise InputError(f"{path / 'provenance.json'}: missing key {key!r}")
    model = _from_npz_folder(path / "system", name=prov.get("element", path.name))
    lattice = np.array(prov.get("lattice", model.lattice), float)
    positions = np.array(prov.get("positions", model.atom_positions), float).reshape(-1, 3)
    if prov.get("positions_unit", "fractional").lower().startswith("cart"):
        positions = positions @ np.linalg.inv(lattice)
    species = prov.get("species") or [prov.get("element", "X")] * len(positions)
    axes = prov.get("site_local_axes")
    # sites come from the orbitals below; until then every function sits on atom 0
    fields = dict(atom_positions=positions, species=tuple(species), site=np.zeros(model.num_wann, int),
                  fermi_energy=float(prov["E_F_eV"]),
                  n_electrons=prov.get("n_electrons"),
                  site_local_axes=None if axes is None else np.array(axes, float))
    model = _replace(model, **fields)
    return apply_orbitals(model, prov["orbitals"])


def _replace(model, **fields):
    from dataclasses import replace
    return replace(model, **fields)


def _from_npz_folder(path, name):
    wb_sys = _wannierberri_npz(path)
    return from_wannierberri(wb_sys, name=name)


def _wannierberri_npz(path):
    from .wberri import import_wannierberri
    import_wannierberri()
    from wannierberri.system.system_R import System_R
    from wannierberri.system.system_soc import SystemSOC
    try:
        with quiet():
            if (path / "system_up").is_dir():
                system = SystemSOC.from_npz(str(path))
                if system.rvec is None:
                    system.rvec = system.system_up.rvec
                system.set_soc_axis(theta=0, phi=0, alpha_soc=1.0)
            else:
                system = System_R.from_npz(str(path))
    except InputError:
        raise
    except Exception as exc:  # wannierberri raises many kinds; one line for the user
        raise InputError(f"{path}: cannot be read as a wannierberri save_npz folder ({type(exc).__name__}: {exc})") from None
    return system


def _from_w90_file(path):
    from .wberri import import_wannierberri
    import_wannierberri()
    from wannierberri.system.system_hr import get_system_hr
    from wannierberri.system.system_tb import get_system_tb
    try:
        with quiet():
            if path.name.endswith("_tb.dat"):
                system = get_system_tb(tb_file=str(path))
            else:
                # wannierberri reads the lattice from seedname.win and centres from
                # seedname_wannier_centre_WT_format.dat beside it
                system = get_system_hr(seedname=str(path)[: -len("_hr.dat")])
    except Exception as exc:
        raise InputError(f"{path}: malformed Wannier90 file ({type(exc).__name__}: {exc})") from None
    return from_wannierberri(system, name=path.name.rsplit("_", 1)[0])


def from_wannierberri(system, name="system"):
    """TBModel from a wannierberri System_R or SystemSOC (spin-orbit part kept separate)."""
    from wannierberri.system.system_soc import SystemSOC
    with quiet():
        if isinstance(system, SystemSOC) and system.nspin == 1:
            # non-magnetic: one spatial Hamiltonian and one SOC vector V^c(R);
            # H = H0 ⊗ 1 + Σ_c V^c ⊗ σ^c in the interleaved (↑, ↓) basis, as wannierberri's Data_K_soc
            up = system.system_up
            from wannierberri.w90files.soc import SOC
            pauli = SOC.get_pauli_rotated(theta=0, phi=0)               # (2, 2, 3): σ^c_ij
            Hs = up.get_R_mat("Ham")
            V = up.get_R_mat("dV_soc")
            nR, ns, _ = Hs.shape
            H0 = np.zeros((nR, 2 * ns, 2 * ns), complex)
            Hsoc = np.zeros_like(H0)
            for i in range(2):
                H0[:, i::2, i::2] = Hs
                for j in range(2):
                    Hsoc[:, i::2, j::2] = np.einsum("rmnc,c->rmn", V, pauli[i, j])
            R = up.rvec.iRvec
            centres = np.repeat(up.wannier_centers_cart, 2, axis=0)
            nw = 2 * ns
            lattice = up.real_lattice
        elif isinstance(system, SystemSOC):
            alpha = system.alpha_soc
            system.set_soc_axis(theta=0, phi=0, alpha_soc=0.0)
            sys0 = system.get_system_R()
            system.set_soc_axis(theta=0, phi=0, alpha_soc=1.0)
            sys1 = system.get_system_R()
            system.set_soc_axis(theta=0, phi=0, alpha_soc=alpha)
            if not np.array_equal(sys0.rvec.iRvec, sys1.rvec.iRvec):
                raise InputError(f"{name}: R vectors of the SOC and non-SOC parts differ")
            H0 = sys0.get_R_mat("Ham")
            Hsoc = sys1.get_R_mat("Ham") - H0
            R = sys0.rvec.iRvec
            centres = sys0.wannier_centers_cart
            nw = sys0.num_wann
            lattice = sys0.real_lattice
        else:
            H0 = system.get_R_mat("Ham")
            Hsoc = np.zeros_like(H0)
            R = system.rvec.iRvec
            centres = system.wannier_centers_cart
            nw = system.num_wann
            lattice = system.real_lattice
    if nw % 2:
        raise InputError(f"{name}: {nw} Wannier functions; a spinor basis needs an even number")
    # spinor order: (orbital 0 up, orbital 0 down, orbital 1 up, ...) as in wannierberri's SystemSOC
    spin = np.tile([0, 1], nw // 2)
    spatial = np.repeat(np.arange(nw // 2), 2)
    frac = np.asarray(centres) @ np.linalg.inv(lattice)
    uniq, site = np.unique(np.round(frac[::2] % 1.0, 3), axis=0, return_inverse=True)
    return TBModel(name=name, lattice=lattice, R=np.array(R), H0=np.array(H0), Hsoc=np.array(Hsoc),
                   centres=np.array(centres), site=np.repeat(site.ravel(), 2), orbital=None, spin=spin,
                   spatial=spatial, atom_positions=uniq, species=("X",) * len(uniq),
                   params={"source": "wannierberri"})


def read_json(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: malformed JSON ({exc})") from None


def read_orbitals_file(path):
    """The ``orbitals`` list of a JSON file (a provenance.json or {"orbitals": [...]})."""
    data = read_json(path)
    if isinstance(data, dict):
        if "orbitals" not in data:
            raise InputError(f"{path}: no 'orbitals' key")
        data = data["orbitals"]
    if not isinstance(data, list):
        raise InputError(f"{path}: 'orbitals' must be a list")
    return data


def apply_orbitals(model, entries):
    """Set orbital labels, sites and spins from entries {"site", "l", "m", "spin"}.

    One entry per spinor function (with "spin": "up"/"down"), or one per spatial orbital
    (spin null or absent), then expanded to the (up, down) pairs of the spinor basis.
    """
    nw = model.num_wann
    if len(entries) == nw // 2:
        entries = [dict(e, spin=s) for e in entries for s in ("up", "down")]
    if len(entries) != nw:
        raise InputError(f"{model.name}: {len(entries)} orbital entries for {nw} spinor functions "
                         f"(need {nw} or {nw // 2})")
    labels, sites, spins = [], [], []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or "m" not in e or "site" not in e:
            raise InputError(f"{model.name}: orbital entry {i} needs keys 'site' and 'm', got {e!r}")
        labels.append(canonical_orbital(e["m"]))
        sites.append(int(e["site"]))
        s = str(e.get("spin")).lower()
        if s not in ("up", "down", "0", "1"):
            raise InputError(f"{model.name}: orbital entry {i}: spin must be 'up' or 'down', got {e.get('spin')!r}")
        spins.append(0 if s in ("up", "0") else 1)
    spins = np.array(spins)
    # spatial index: the same (site, label) with opposite spins
    keys = {}
    spatial = np.array([keys.setdefault((s, l), len(keys)) for s, l in zip(sites, labels)])
    sites = np.array(sites)
    positions = model.atom_positions
    if sites.max() >= len(positions):
        raise InputError(f"{model.name}: orbital site index {sites.max()} but only {len(positions)} atoms")
    return _replace(model, orbital=tuple(labels), site=sites, spin=spins, spatial=spatial)
