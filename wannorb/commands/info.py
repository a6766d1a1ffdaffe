"""``wannorb info SYSTEM``: basis, orbitals, R vectors, space group, Fermi energy."""
import numpy as np

from .common import add_system_arguments, load_from_args


def register(sub):
    p = sub.add_parser("info", help="describe a system", description=__doc__)
    add_system_arguments(p)
    p.set_defaults(func=run)


def space_group(model):
    """(international symbol, number) from spglib on the model's atoms."""
    import spglib
    species = {s: i + 1 for i, s in enumerate(dict.fromkeys(model.species))}
    cell = (model.lattice, model.atom_positions, [species[s] for s in model.species])
    ds = spglib.get_symmetry_dataset(cell, symprec=1e-3)
    if ds is None:
        return None, None
    return ds.international, int(ds.number)


def run(args):
    from ..model import hermiticity_error
    m = load_from_args(args)
    symbol, number = space_group(m)
    print(f"system: {m.name}")
    print("lattice (Å, rows):")
    for row in m.lattice:
        print("   " + " ".join(f"{x:10.5f}" for x in row))
    print(f"atoms: {len(m.atom_positions)} ({', '.join(m.species)}); space group {symbol} (#{number}) [spglib]")
    print(f"basis: {m.num_wann} spinor functions ({m.num_wann // 2} spatial orbitals x spin)")
    if m.has_orbitals:
        shells = {}
        for s, o, sp in zip(m.site, m.orbital, m.spin):
            if sp == 0:
                shells.setdefault(int(s), []).append(o)
        for s, labs in shells.items():
            print(f"  site {s}: {' '.join(labs)}")
    else:
        print("  orbital labels: none (spin quantities only; give --orbitals FILE for L)")
    print(f"R vectors: {len(m.R)}")
    soc = np.abs(m.Hsoc).max()
    print(f"spin-orbit term: {'separate, max |Hsoc(R)| = %.4f eV' % soc if soc > 0 else 'none kept separately'}")
    print(f"hermiticity error max|H(R) - H(-R)^+|: {hermiticity_error(m):.2e} eV")
    ef = "unknown" if m.fermi_energy is None else f"{m.fermi_energy:.4f} eV"
    print(f"Fermi energy: {ef}")
    if m.n_electrons is not None:
        print(f"electrons per cell in the basis: {m.n_electrons}")
    return 0
