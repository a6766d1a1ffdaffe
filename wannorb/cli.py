"""Command-line driver: ``wannorb <command> ...``.

Each command lives in its own module exposing ``register(subparsers)``, which adds a
sub-parser and sets ``func(args) -> int``. Errors of type :class:`wannorb.errors.InputError`
(and argparse errors) end in one line on stderr and exit code 2.
"""
import argparse
import importlib
import sys

from .errors import InputError

# module paths of the command modules, each with register(subparsers)
COMMAND_MODULES = [
    "wannorb.edge.cli",
]


def build_parser():
    parser = argparse.ArgumentParser(prog="wannorb", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"wannorb: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wannorb: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
