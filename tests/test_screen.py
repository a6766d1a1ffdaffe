"""`wannorb screen`: rows, failures that don't stop others, resume, outputs (on pcubic-made data)."""
import json

import numpy as np
import pytest

from wannorb import screen as scr


def fake_material(folder, fermi=-0.86):
    """A data folder in the shipped layout made from pcubic (system/ + provenance.json)."""
    from wannorb.io.wberri import to_wannierberri
    from wannorb.models import pcubic
    _, wbsys = to_wannierberri(pcubic())
    folder.mkdir(parents=True, exist_ok=True)
    wbsys.save_npz(str(folder / "system"))
    prov = {"element": folder.name, "E_F_eV": fermi, "lattice": (2.5 * np.eye(3)).tolist(),
            "positions": [[0, 0, 0]], "orbitals": [{"site": 0, "l": 1, "m": m} for m in ("px", "py", "pz")]}
    (folder / "provenance.json").write_text(json.dumps(prov))


def test_screen_rows_failures_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("WANNORB_CACHE", str(tmp_path / "cache"))
    calls = []

    def builder(element, target):
        calls.append(element)
        if element == "Bad":
            raise RuntimeError("DFT did not converge")
        fake_material(target, fermi={"Aa": -0.86, "Cc": 0.3}[element])

    rows_dir = tmp_path / "rows"
    table = scr.screen(["Aa", "Bad", "Cc"], nk=4, kT=0.05, rows_dir=rows_dir, builder=builder, progress=False)
    status = {r["element"]: r["status"] for r in table["rows"]}
    assert status == {"Aa": "ok", "Bad": "failed", "Cc": "ok"}
    bad = [r for r in table["rows"] if r["element"] == "Bad"][0]
    assert "DFT did not converge" in bad["reason"]
    ok = [r for r in table["rows"] if r["status"] == "ok"]
    assert abs(ok[0]["sigma_zxy"]["eq4"]["orbital"]) >= abs(ok[1]["sigma_zxy"]["eq4"]["orbital"])
    assert table["rows"][-1]["element"] == "Bad"
    assert set(ok[0]["converged"]["eq4"]) == {"spin", "orbital"}
    # rerun: finished elements are neither rebuilt nor recomputed
    calls.clear()
    again = scr.screen(["Aa", "Bad", "Cc"], nk=4, kT=0.05, rows_dir=rows_dir, builder=builder, progress=False)
    assert calls == ["Bad"]
    assert again["rows"][0] == table["rows"][0]
    # outputs
    scr.write_csv(table, tmp_path / "s.csv")
    scr.plot(table, tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 1000
    assert len((tmp_path / "s.csv").read_text().splitlines()) == 4


def test_build_skips_shipped_data_and_reuses_the_cache(tmp_path, monkeypatch):
    """--build: a shipped element (Pt) is built by the pipeline instead, once; later calls reuse it."""
    monkeypatch.setenv("WANNORB_CACHE", str(tmp_path / "cache"))
    calls = []

    def builder(element, target):
        calls.append(element)
        fake_material(target)

    path, how = scr.material_source("Pt", builder=builder)
    assert how == "shipped data" and calls == []
    path, how = scr.material_source("Pt", builder=builder, build=True)
    assert how == "built by the pipeline now" and calls == ["Pt"] and path == tmp_path / "cache" / "Pt"
    path, how = scr.material_source("Pt", builder=builder, build=True)
    assert how == "cached pipeline build" and calls == ["Pt"]


def test_screen_tier_settings_of_the_light_transition_metals():
    """Every element of the campaign has a structure of the right space group and sane settings."""
    spglib = pytest.importorskip("spglib")
    from workflows import materials
    expected = {"hcp": 194, "bcc": 229, "fcc": 225}
    assert set(materials.LIGHT_TM) == set(scr.LIGHT_TRANSITION_METALS)
    for el in materials.LIGHT_TM + ["Pt"]:
        atoms = materials.structure(el)
        crystal = materials.STRUCTURES[el]["crystal"]
        cell = (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers)
        assert spglib.get_symmetry_dataset(cell).number == expected[crystal], el
        st = materials.settings_for(el, tier="screen")
        nat = len(atoms)
        assert st["tier"] == "screen" and st["ibstart"] == materials.SEMICORE_BANDS_PER_ATOM[el] * nat
        assert st["nbands"] >= st["ibstart"] + 2 * 9 * nat        # room above the s, p, d manifold
        assert st.get("symmetrize_pt", False) == (crystal == "hcp")
        if crystal == "hcp":
            n1, n2, n3 = st["gpts"]
            assert n1 == n2 and n1 % 6 == 0 and n3 % 4 == 0
    with pytest.raises(ValueError, match="tier"):
        materials.settings_for("Ti", tier="quick")
