"""Command-line driver: ``wannorb <command> ...``.

Each command lives in its own module exposing ``register(subparsers)``, which adds a
sub-parser and sets ``func(args) -> int``. Errors of type :class:`wannorb.errors.InputError`
(and argparse errors) end in one line on stderr and exit code 2.
"""
import argparse
import importlib
import os
import sys

from .errors import InputError

# module paths of the command modules, each with register(subparsers)
COMMAND_MODULES = [
    "wannorb.commands.info",
    "wannorb.commands.hall",
    "wannorb.commands.screen",
    "wannorb.commands.sweep",
    "wannorb.commands.kmap",
    "wannorb.commands.nodal",
    "wannorb.edge.cli",
]


def build_parser():
    parser = argparse.ArgumentParser(prog="wannorb", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv=None):
    # numba threads are the one level of parallelism; BLAS calls inside kernels stay serial
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        # under MPI every rank meets the same error: rank 0 alone says it
        if os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")) == "0":
            print(f"wannorb: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wannorb: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
