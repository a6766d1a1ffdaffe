"""Peak memory of a rank on a large mesh, measured on a short partial run (run by hand).

    python benchmarks/memory_check.py [--system pt_like|Pt] [--nk 200] [--chunks 3] [--symmetry]

Runs api.hall on the N³ mesh with a chunk runner that stops after --chunks chunks and prints the
peak resident set size (ru_maxrss) with the chunk size: the memory of a run is bounded by the
chunk (kmesh.chunk_points_limit), not by the mesh, so the peak after a few chunks is the peak of
the whole run (with --mu; --filling also keeps the eigenvalues of the evaluated points, see
docs/performance.md).
"""
import argparse
import os
import resource
import sys
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Enough(Exception):
    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--system", default="pt_like")
    ap.add_argument("--nk", type=int, default=200)
    ap.add_argument("--chunks", type=int, default=3)
    ap.add_argument("--symmetry", action="store_true")
    args = ap.parse_args()
    from wannorb import api
    if args.system == "pt_like":
        from benchmarks.models import pt_like
        model = pt_like()
    else:
        model = api.load_system(args.system)
    info = {}

    def partial(n_chunks, compute, **kw):
        info["n_chunks"] = n_chunks
        t = time.perf_counter()
        for c in range(min(args.chunks, n_chunks)):
            compute(c)
        info["s_per_chunk"] = (time.perf_counter() - t) / min(args.chunks, n_chunks)
        raise Enough

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        api.hall(model, mu=[model.fermi_energy or 0.0], kT=0.05, nk=args.nk, progress=False,
                 symmetry=args.symmetry, chunk_runner=partial)
    except Enough:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    N = args.nk ** 3
    print(f"{model.name}: nw={model.num_wann}, nR={len(model.R)}, mesh {args.nk}^3 = {N} points, "
          f"{info['n_chunks']} chunks of ~{N // info['n_chunks']} points; ran {args.chunks} chunks "
          f"({info['s_per_chunk']:.2f} s each)")
    print(f"peak RSS {peak:.0f} MB (after imports: {rss0:.0f} MB); projected wall time of the whole "
          f"mesh on one core: {info['s_per_chunk'] * info['n_chunks'] / 3600:.1f} h")


if __name__ == "__main__":
    main()
