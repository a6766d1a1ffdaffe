"""Shared test utilities: models with generic parameters, k-point helpers."""
import numpy as np

from wannorb import bloch
from wannorb.hall import operator_stack
from wannorb.kernels.hall import integrands_at_k
from wannorb.models import pcubic


def generic_pcubic(**extra):
    """pcubic with lowered symmetry (crystal field) so no accidental degeneracies at random k."""
    params = dict(ex=0.05, ey=-0.11, ez=0.13, vsigma2=0.37, vpi2=-0.09)
    params.update(extra)
    return pcubic(**params)


def kernel_at(model, k_red, quantities=("spin", "orbital"), tol=1e-5, soc_scale=1.0, U_rotate=None):
    """Kernel integrands at one k-point: E, omega (3, nq, 3, 3, 3, nw), and the group starts."""
    k_cart = np.atleast_2d(k_red) @ model.reciprocal
    Hk, dHk = bloch.hk_direct(k_cart, model.R_cart, model.hamiltonian_R(soc_scale), model.centres)
    phi = bloch.centre_phases(k_cart, model.centres)[0]
    X = operator_stack(model, quantities)
    Xk = X * (phi.conj()[:, None] * phi[None, :])
    E, U = np.linalg.eigh(Hk[0])
    if U_rotate is not None:
        U = U_rotate(E, U)
    out = np.zeros((3, len(quantities), 3, 3, 3, model.num_wann))
    integrands_at_k(E, np.ascontiguousarray(U), np.ascontiguousarray(dHk[0]), np.ascontiguousarray(Xk), tol, out)
    return E, out, Hk[0], dHk[0], Xk


def group_sums(values, E, tol):
    """Sum the last axis of ``values`` over degenerate groups of E."""
    from wannorb.operators import degenerate_groups
    starts = degenerate_groups(E, tol)
    return np.stack([values[..., a:b].sum(-1) for a, b in zip(starts[:-1], starts[1:])], axis=-1)


def run_example(name, *args):
    """Run ``examples/<name>`` as a script with the given arguments (its output goes to stdout)."""
    import runpy
    import sys
    from pathlib import Path
    argv = sys.argv
    try:
        sys.argv = [name, *map(str, args)]
        runpy.run_path(str(Path(__file__).parents[1] / "examples" / name), run_name="__main__")
    finally:
        sys.argv = argv
