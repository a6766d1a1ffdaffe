"""R-T ribbon edge accumulation (paper Eqs. (5)-(10)): exact kinetics, Eq. (6), hydrodynamics.

Modules: ``model`` (R-T model, Born collision kernel), ``angular`` (angular transfer functions),
``kinetic`` (exact Boltzmann ribbon solver), ``interband`` (Eq. (6)), ``hydro`` (Eqs. (8)-(10)),
``compare`` (both routes for one Kn), ``units`` (physical units), ``plot``, ``cli``.
"""
