"""workflows.pipeline.patch_irrep_unique_list: the vectorised membership tests of irrep's
UniqueListMod1 give the same answers as irrep's own loop (a 16³ mesh unfolds in minutes, not hours)."""
import numpy as np
import pytest

irrep_utility = pytest.importorskip("irrep.utility")


def _original_methods():
    """irrep 3.2's own loops (as in irrep/utility.py), independent of what the patch did to the class."""
    src = {}
    exec(compile("""
def __contains__(self, item):
    for i in self:
        if all_close_mod1(i, item, tol=self.tol):
            return True
    return False

def index(self, value, start=0, stop=sys.maxsize):
    stop = min(stop, len(self))
    for i in range(start, stop):
        if all_close_mod1(self[i], value):
            return i
    raise ValueError(f"{value} not in list")
""", "irrep_original", "exec"), {"all_close_mod1": irrep_utility.all_close_mod1, "sys": __import__("sys")}, src)
    return irrep_utility.UniqueListMod1, src


def test_vectorised_membership_matches_irrep():
    from workflows.pipeline import patch_irrep_unique_list
    patch_irrep_unique_list()
    cls, orig = _original_methods()
    rng = np.random.default_rng(3)
    grid = [np.array(k) / 6 for k in np.ndindex(6, 6, 6)]
    lst = cls(grid[::3], tol=1e-5)
    assert len(lst) == len(grid[::3])                            # append kept them all (distinct)
    probes = [g + rng.integers(-2, 3, 3) + rng.normal(0, s, 3)   # images mod 1, some off by > tol
              for g in grid for s in (0.0, 3e-6, 1e-3)]
    for p in probes:
        assert (p in lst) == orig["__contains__"](lst, p)
        try:
            want = orig["index"](lst, p)
        except ValueError:
            want = None
        try:
            got = lst.index(p)
        except ValueError:
            got = None
        assert got == want
    dup = cls([grid[0], grid[0] + 1, grid[1]], tol=1e-5)          # equal mod 1: kept once
    assert len(dup) == 2 and dup.appended_indices == [0, 2]
