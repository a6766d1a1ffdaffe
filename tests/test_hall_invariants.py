"""Laws the integrands must obey, at random k-points (kernel and numpy reference)."""
import numpy as np

from wannorb import bloch, reference
from wannorb.operators import degenerate_groups

from helpers import generic_pcubic, group_sums, kernel_at

TOL = 1e-5


def random_kpoints(rng, n=4):
    return rng.random((n, 3))


def random_group_unitaries(rng):
    """Rotate eigenvectors by a random unitary inside each degenerate group."""
    def rotate(E, U):
        U = U.copy()
        starts = degenerate_groups(E, TOL)
        for a, b in zip(starts[:-1], starts[1:]):
            z = rng.normal(size=(b - a, b - a)) + 1j * rng.normal(size=(b - a, b - a))
            q, r = np.linalg.qr(z)
            U[:, a:b] = U[:, a:b] @ (q * (np.diag(r) / abs(np.diag(r))))
        return U
    return rotate


def test_kramers_pairs(rng):
    m = generic_pcubic()
    for k in random_kpoints(rng):
        E, *_ = kernel_at(m, k)
        assert np.allclose(E[0::2], E[1::2], atol=1e-10)
        assert len(degenerate_groups(E, TOL)) - 1 == 3


def test_gauge_invariance_random_u2(rng):
    m = generic_pcubic()
    for k in random_kpoints(rng):
        E, out, *_ = kernel_at(m, k)
        _, out_rot, *_ = kernel_at(m, k, U_rotate=random_group_unitaries(rng))
        assert np.abs(out).max() > 1e-3
        # per-state values are gauge dependent; group sums are not
        assert np.allclose(group_sums(out, E, TOL), group_sums(out_rot, E, TOL), atol=1e-10, rtol=1e-9)


def test_kernel_equals_numpy_reference(rng):
    m = generic_pcubic()
    for k in random_kpoints(rng):
        E, out, Hk, dHk, Xk = kernel_at(m, k)
        eps, size, ref = reference.hall_group_integrands(Hk, dHk, Xk, TOL)
        assert np.allclose(group_sums(out, E, TOL), ref, atol=1e-10, rtol=1e-9)


def test_trace_of_curvature_vanishes_on_kramers_pairs(rng):
    m = generic_pcubic()
    for k in random_kpoints(rng):
        k_cart = k[None] @ m.reciprocal
        Hk, dHk = bloch.hk_direct(k_cart, m.R_cart, m.hamiltonian_R(), m.centres)
        E, starts, P, eps = reference.group_projectors(Hk[0], TOL)
        for g in range(len(P)):
            F = reference.nonabelian_curvature(P, eps, dHk[0], g)
            trF = np.trace(F, axis1=2, axis2=3)
            assert np.abs(F).max() > 1e-3          # the curvature itself is not zero
            assert np.allclose(trF, 0, atol=1e-10)
        # and the kernel with X = identity (charge) gives zero eq4 per group
        I = np.tile(np.eye(m.num_wann), (1, 3, 1, 1)).astype(complex)
        out = np.zeros((3, 1, 3, 3, 3, m.num_wann))
        from wannorb.kernels.hall import integrands_at_k
        Ev, U = np.linalg.eigh(Hk[0])
        integrands_at_k(Ev, U, np.ascontiguousarray(dHk[0]), I, TOL, out)
        assert np.allclose(group_sums(out[0], Ev, TOL), 0, atol=1e-10)


def test_curvature_from_finite_difference_projectors(rng):
    """F = iP[∂P, ∂P]P with ∂P from central differences of exact projectors at k ± h."""
    m = generic_pcubic()
    h = 1e-5
    for k in random_kpoints(rng, 3):
        k_cart = k @ m.reciprocal
        Hk, dHk = bloch.hk_direct(k_cart[None], m.R_cart, m.hamiltonian_R(), m.centres)
        E, starts, P, eps = reference.group_projectors(Hk[0], TOL)

        def projectors_at(kc):
            H = bloch.hk_direct(kc[None], m.R_cart, m.hamiltonian_R(), m.centres)[0][0]
            return reference.group_projectors(H, TOL)[2]

        dP = []
        for a in range(3):
            step = np.zeros(3)
            step[a] = h
            dP.append((projectors_at(k_cart + step) - projectors_at(k_cart - step)) / (2 * h))
        for g in range(len(P)):
            F_sos = reference.nonabelian_curvature(P, eps, dHk[0], g)
            for a in range(3):
                # the sum-over-states derivative equals the finite difference
                assert np.allclose(reference.projector_derivative(P, eps, dHk[0][a], g), dP[a][g], atol=1e-6)
                for b in range(3):
                    F_fd = 1j * P[g] @ (dP[a][g] @ dP[b][g] - dP[b][g] @ dP[a][g]) @ P[g]
                    assert np.allclose(F_sos[a, b], F_fd, atol=1e-6)


def test_velocity_is_derivative_of_H(rng):
    m = generic_pcubic()
    h = 1e-6
    k = rng.random(3) @ m.reciprocal
    _, dH = bloch.hk_direct(k[None], m.R_cart, m.hamiltonian_R(), m.centres)
    for a in range(3):
        s = np.zeros(3)
        s[a] = h
        fd = (bloch.hk_direct((k + s)[None], m.R_cart, m.hamiltonian_R(), m.centres)[0]
              - bloch.hk_direct((k - s)[None], m.R_cart, m.hamiltonian_R(), m.centres)[0]) / (2 * h)
        assert np.allclose(fd[0], dH[0, a], atol=1e-7)


def test_ising_soc_three_methods_coincide(rng):
    """S^z conserved ([H, S^z] = 0): eq4 = conventional = conserved for j = z, per group."""
    m = generic_pcubic(ising=1)
    for k in random_kpoints(rng):
        E, out, *_ = kernel_at(m, k, quantities=("spin",))
        g = group_sums(out[:, 0, 2], E, TOL)            # (method, i, k, group), j = z
        assert np.abs(g).max() > 1e-3
        assert np.allclose(g[0], g[1], atol=1e-10)
        assert np.allclose(g[0], g[2], atol=1e-10)


def test_zero_soc_limits(rng):
    """λ = 0: no SHE in any route; eq4 and conserved OHE integrands vanish at generic k
    (L is purely interband without orbital degeneracy), the conventional OHE does not."""
    m = generic_pcubic()
    conv_max = 0.0
    for k in random_kpoints(rng):
        E, out, *_ = kernel_at(m, k, soc_scale=0.0)
        g = group_sums(out, E, TOL)
        assert np.allclose(g[:, 0], 0, atol=1e-10)       # spin, all methods
        assert np.allclose(g[0, 1], 0, atol=1e-10)       # orbital eq4
        assert np.allclose(g[2, 1], 0, atol=1e-10)       # orbital conserved
        conv_max = max(conv_max, np.abs(g[1, 1]).max())
    assert conv_max > 1e-2


def test_fft_equals_direct_with_offcentre_wannier_centres(rng):
    """Two sites with centres off the origin: the FFT route equals the direct sum, derivatives included."""
    from dataclasses import replace
    m = generic_pcubic()
    centres = rng.normal(scale=0.3, size=(6, 3))
    centres[1::2] = centres[0::2]
    m = replace(m, centres=centres)
    nfft, kappa = (4, 3, 5), np.array([0.013, 0.27, 0.05])
    k_red, Hk, dHk = bloch.hk_fft(m.R, m.lattice, m.hamiltonian_R(), m.centres, nfft, kappa)
    Hd, dHd = bloch.hk_direct(k_red @ m.reciprocal, m.R_cart, m.hamiltonian_R(), m.centres)
    assert np.allclose(Hk, Hd, atol=1e-12)
    assert np.allclose(dHk, dHd, atol=1e-11)


def test_component_kernel_equals_full_kernel(rng):
    """hall_component (the plane quadrature's kernel) is the full kernel's [:, :, q, j, i, k] for
    every component, with Wannier-centre phases (Ti: two centres) and at a near-degenerate gap."""
    from wannorb import api
    from wannorb.hall import operator_stack
    from wannorb.kernels.hall import (allocate_component_outputs, allocate_outputs, hall_component,
                                      hall_integrands)
    for m in (generic_pcubic(), api.load_system("Ti")):
        k_cart = rng.random((5, 3)) @ m.reciprocal
        Hk, dHk = bloch.hk_direct(k_cart, m.R_cart, m.hamiltonian_R(0.05), m.centres)
        phase = bloch.centre_phases(k_cart, m.centres)
        X = operator_stack(m, ("spin", "orbital"))
        E, omega, gap = allocate_outputs(len(Hk), m.num_wann, 2)
        hall_integrands(Hk, dHk, phase, X, TOL, E, omega, gap)
        assert np.abs(omega).max() > 1e-3
        for j in range(3):
            for i in range(3):
                for kd in range(3):
                    E1, om1, gap1 = allocate_component_outputs(len(Hk), m.num_wann, 2)
                    hall_component(Hk, dHk, phase, np.ascontiguousarray(X[:, j]), i, kd, TOL, E1, om1, gap1)
                    assert np.array_equal(E1, E) and np.array_equal(gap1, gap)
                    assert np.allclose(om1, omega[:, :, :, j, i, kd], atol=1e-12, rtol=1e-10)


def test_eq4_minus_conserved_is_the_gradient_of_the_projected_operator(rng):
    """Per group: eq4 − conserved = −Im Tr[(∂_i X_bp)(∂_k P_a) P_a], with X_bp = Σ_b P_b X P_b and both
    derivatives by central differences of exact projectors at k ± h — a route that never forms the
    kernel's energy denominators. Ti has two Wannier centres, so X(k) itself carries k-dependent phases."""
    from wannorb import api
    from wannorb.hall import operator_stack
    h = 1e-5
    for m, A in ((generic_pcubic(), 1.0), (api.load_system("Ti"), 0.3)):
        X = operator_stack(m, ("spin", "orbital"))

        def at(kc):
            H, dH = bloch.hk_direct(kc[None], m.R_cart, m.hamiltonian_R(A), m.centres)
            phi = bloch.centre_phases(kc[None], m.centres)[0]
            Xk = X * (phi.conj()[:, None] * phi[None, :])
            E, starts, P, eps = reference.group_projectors(H[0], TOL)
            Xbp = np.array([[reference.band_projected_operator(P, Xk[q, j]) for j in range(3)]
                            for q in range(len(X))])
            return H[0], dH[0], Xk, P, Xbp

        for k in random_kpoints(rng, 2):
            kc = k @ m.reciprocal
            Hk, dHk, Xk, P, _ = at(kc)
            _, _, ref = reference.hall_group_integrands(Hk, dHk, Xk, TOL)
            dP, dX = [], []
            for a in range(3):
                s = np.zeros(3)
                s[a] = h
                plus, minus = at(kc + s), at(kc - s)
                assert plus[3].shape == minus[3].shape == P.shape      # same groups at k ± h
                dP.append((plus[3] - minus[3]) / (2 * h))
                dX.append((plus[4] - minus[4]) / (2 * h))
            dP, dX = np.array(dP), np.array(dX)                       # (3, ng, nw, nw), (3, nq, 3, nw, nw)
            diff = ref[0] - ref[2]                                     # (nq, j, i, k, group)
            assert np.abs(diff[0]).max() > 1e-4                        # the spin term is not zero here
            for q in range(len(X)):
                for j in range(3):
                    fd = reference.eq4_minus_conserved(P, dP, dX[:, q, j])
                    assert np.allclose(fd, diff[q, j], atol=2e-6 * np.abs(diff).max() + 1e-8)
