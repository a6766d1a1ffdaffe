"""Nodal-line census: the clean-limit Eq. (4) OHE σ^z_xy as a sum over spinless nodal lines.

This example is the command ``wannorb nodal`` (wannorb/commands/nodal.py; the method is in
``wannorb.nodal``, the physics in docs/sweep.md). Examples (one core):

    # two-line model: (e²/ħ)/(π a) = 3099.2 (ħ/e) S/cm at μ = 0 (tests/test_nodal_line.py)
    wannorb nodal pcubic --param ez=10 --mu 0 --kT 0 --planes 8 --grid 32 --output two_line.json
    # full pcubic at 2 e/cell, kT = 0.05 (docs/sweep.md: census 1837.6, full-zone sums 1838–1841)
    wannorb nodal pcubic --filling 2 --kT 0.05 --planes 64 --grid 64 --reference 1790,1840 \\
        --output pcubic_census.json --plot pcubic_census.png
    # shipped materials at μ = E_F of the data
    wannorb nodal Cr --kT 0.05 --planes 32 --grid 64 --output cr_census.json --plot cr_census.png

    python examples/nodal_census.py ARGS...   is the same as   wannorb nodal ARGS...
"""
import sys

from wannorb.cli import main

if __name__ == "__main__":
    sys.exit(main(["nodal", *sys.argv[1:]]))
